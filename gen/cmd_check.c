/*
** cmd_check.c -- `osconv check CONFIG [--unsandboxed]`: run the config,
** validate every layer and plan it, so a config that passes here will
** generate. One summary line per network on stdout; the first error on
** stderr, exit 1.
*/
#include <stdio.h>
#include <string.h>

#include "osccli.h"
#include "osconv.h"

static int check_network(const osc_network *n) {
  for (int i = 0; i < n->n_layers; i++) {
    osc_plan plan;
    osc_error err;
    if (osc_plan_layer(&n->layers[i], &plan, &err)) return osc_cli_fail("%s", err.msg);
  }
  printf("%s: %d layer%s OK\n", n->name, n->n_layers, n->n_layers == 1 ? "" : "s");
  return 0;
}

int osc_cmd_check(int argc, char **argv) {
  osc_config_options opt = {0};
  const char *path = NULL;
  osc_config *cfg;
  osc_error err;
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--unsandboxed") == 0) opt.unsandboxed = 1;
    else if (argv[i][0] == '-' && argv[i][1] != '\0') return osc_cli_usage("check");
    else if (path) return osc_cli_usage("check");
    else path = argv[i];
  }
  if (!path) return osc_cli_usage("check");
  if (osc_config_load(path, &opt, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  for (int i = 0; i < cfg->n_networks && rc == 0; i++) rc = check_network(&cfg->networks[i]);
  osc_config_free(cfg);
  return rc;
}

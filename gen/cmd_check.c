/*
** cmd_check.c -- `osconv check CONFIG [--unsandboxed]`: run the config and
** everything `gen` checks before writing (names across networks, every
** layer planned, the plans and names each network generates), so a config
** that passes here generates. One summary line per network on stdout; the
** first error on stderr, exit 1.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osccli.h"
#include "osconv.h"
#include "oscemit.h"

static int check_config(const osc_config *cfg) {
  osc_error err;
  if (osc_emit_check_config(cfg, &err)) return osc_cli_fail("%s", err.msg);
  for (int i = 0; i < cfg->n_networks; i++) {
    const osc_network *n = &cfg->networks[i];
    osc_plan *plans;
    if (osc_cli_plan_network(n, &plans, &err)) return osc_cli_fail("%s", err.msg);
    free(plans);
    printf("%s: %d layer%s OK\n", n->name, n->n_layers, n->n_layers == 1 ? "" : "s");
  }
  return 0;
}

int osc_cmd_check(int argc, char **argv) {
  osc_config_options opt = {0};
  const char *path = NULL;
  osc_config *cfg;
  osc_error err;
  int rc;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--unsandboxed") == 0) opt.unsandboxed = 1;
    else if (argv[i][0] == '-' && argv[i][1] != '\0') return osc_cli_usage("check");
    else if (path) return osc_cli_usage("check");
    else path = argv[i];
  }
  if (!path) return osc_cli_usage("check");
  if (osc_config_load(path, &opt, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  rc = check_config(cfg);
  osc_config_free(cfg);
  return rc;
}

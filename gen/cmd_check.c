/*
** cmd_check.c -- `osconv check CONFIG [--unsandboxed]`: run the config and
** everything `gen` checks before writing (names across networks, every
** layer planned, the plans and names each network generates, and the size
** of the code against gen's output budget, emitted and dropped), so a
** config that passes here generates. One summary line per network on
** stdout; the first error on stderr, exit 1.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osccli.h"
#include "osconv.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscisa.h"

static osc_status no_sink(void *ctx, const char *data, size_t len, osc_error *err) {
  (void)ctx, (void)data, (void)len, (void)err;
  return OSC_OK;
}

/* What gen would write, counted against its output budget and dropped. */
static osc_status emit_counted(const osc_network *n, const osc_plan *plans,
                               osc_emit_budget *budget, osc_error *err) {
  osc_buf h;
  osc_status s;
  osc_buf_init(&h);
  s = osc_emit_network_budget(n, plans, OSC_ISA_AUTO, no_sink, NULL, &h, budget, err);
  if (!s && osc_buf_failed(&h)) s = osc_error_set(err, OSC_ENOMEM, "out of memory");
  osc_buf_free(&h);
  return s;
}

static int check_config(const osc_config *cfg) {
  osc_emit_budget budget = {osc_emit_output_cap(), 0};
  osc_error err;
  if (osc_emit_check_config(cfg, &err)) return osc_cli_fail("%s", err.msg);
  for (int i = 0; i < cfg->n_networks; i++) {
    const osc_network *n = &cfg->networks[i];
    osc_plan *plans;
    osc_status s;
    if (osc_cli_plan_network(n, &plans, &err)) return osc_cli_fail("%s", err.msg);
    s = emit_counted(n, plans, &budget, &err);
    free(plans);
    if (s) return osc_cli_fail("%s", err.msg);
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
  const osc_cli_opt opts[] = {{"unsandboxed", 0, &opt.unsandboxed, NULL}, {NULL, 0, NULL, NULL}};
  if ((rc = osc_cli_parse(argc, argv, opts, &path))) return rc;
  if (osc_config_load(path, &opt, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  rc = check_config(cfg);
  osc_config_free(cfg);
  return rc;
}

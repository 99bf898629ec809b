/*
** cmd_shared.c -- steps several subcommands take the same way, so that
** they accept and refuse the same configs and name the same layers.
*/
#include <stdlib.h>
#include <string.h>

#include "osccli.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscplanner.h"

/* One planner for the process: a command plans one config, and all of it
** shares the planning budget (osc_plan_budget_default). */
static osc_planner *planner(void) {
  static osc_planner *p;
  if (!p) p = osc_planner_new(osc_plan_budget_default());
  return p;   /* NULL (out of memory) plans unbudgeted: still correct */
}

osc_status osc_cli_plan(const osc_layer *l, osc_mode mode, osc_plan *out, osc_error *err) {
  return osc_planner_plan(planner(), l, mode, out, err);
}

osc_status osc_cli_plan_network(const osc_network *net, osc_plan **plans, osc_error *err) {
  osc_plan *p = calloc(net->n_layers > 0 ? (size_t)net->n_layers : 1, sizeof *p);
  osc_status s = OSC_OK;
  *plans = NULL;
  if (!p) return osc_error_set(err, OSC_ENOMEM, "out of memory planning network '%s'", net->name);
  for (int i = 0; i < net->n_layers && !s; i++) s = osc_cli_plan(&net->layers[i], net->layers[i].mode, &p[i], err);
  if (!s) s = osc_emit_check_network(net, p, err);
  if (s) free(p);
  else *plans = p;
  return s;
}

/* The networks holding a layer called `name`: how many, the first two. */
static int networks_with(const osc_config *cfg, const char *name, const osc_network *with[2]) {
  int n = 0;
  for (int i = 0; i < cfg->n_networks; i++)
    for (int k = 0; k < cfg->networks[i].n_layers; k++)
      if (!strcmp(cfg->networks[i].layers[k].name, name)) {
        if (n < 2) with[n] = &cfg->networks[i];
        n++;
        break;
      }
  return n;
}

const osc_layer *osc_cli_find_layer(const osc_config *cfg, const char *name) {
  const osc_network *with[2] = {NULL, NULL};
  const osc_layer *l;
  int n = strchr(name, '.') ? 1 : networks_with(cfg, name, with);
  if (n > 1) {
    osc_cli_fail("%s: layer '%s' is in networks '%s' and '%s'%s: say %s.%s or %s.%s", cfg->file,
                 name, with[0]->name, with[1]->name, n > 2 ? " (and more)" : "", with[0]->name,
                 name, with[1]->name, name);
    return NULL;
  }
  if (!(l = osc_config_find_layer(cfg, name, NULL)))
    osc_cli_fail("%s: no layer named '%s' (write LAYER or NETWORK.LAYER)", cfg->file, name);
  return l;
}

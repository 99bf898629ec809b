/*
** oscsearch.c -- the exact search for the cheapest valid chain.
** Placeholder: the conventional chain, until the real search lands.
*/
#include "oscsearch.h"

#include <string.h>

#include "oscplan.h"

osc_status osc_search_optimal(const osc_layer *l, osc_search_report *report,
                              osc_plan *out, osc_error *err) {
  osc_stage_spec s = {l->out_channels, 1, l->k_h, l->k_w};
  if (report) {
    memset(report, 0, sizeof *report);
    report->max_stages = l->max_stages;
  }
  return osc_plan_build(l, OSC_MODE_OPTIMAL, 1, &s, out, err);
}

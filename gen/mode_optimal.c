/*
** mode_optimal.c -- the cheapest chain of at most max_stages stages.
*/
#include "oscmode.h"
#include "oscsearch.h"

static const char *inapplicable(const osc_layer *l) {
  (void)l;
  return NULL;
}

static osc_status make(const osc_layer *l, osc_plan *out, osc_error *err) {
  return osc_search_optimal(l, NULL, out, err);
}

const osc_mode_class osc_mode_optimal_class = {
    OSC_MODE_OPTIMAL, "optimal", "cheapest valid chain of at most max_stages stages",
    inapplicable, make};

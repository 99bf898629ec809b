/*
** mode_fixed.c -- the chain the user wrote out, checked like any other.
*/
#include "oscmode.h"
#include "oscplan.h"

static const char *inapplicable(const osc_layer *l) {
  if (l->n_fixed < 1) return "mode 'fixed' needs a list of stages";
  return NULL;
}

static osc_status make(const osc_layer *l, osc_plan *out, osc_error *err) {
  return osc_plan_build(l, OSC_MODE_FIXED, l->n_fixed, l->fixed, out, err);
}

const osc_mode_class osc_mode_fixed_class = {
    OSC_MODE_FIXED, "fixed", "the chain written in the config", inapplicable, make};

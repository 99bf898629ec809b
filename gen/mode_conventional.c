/*
** mode_conventional.c -- the layer as it is: one KxK stage (grouped if the
** layer is).
*/
#include "oscmode.h"
#include "oscplan.h"

static const char *inapplicable(const osc_layer *l) {
  (void)l;
  return NULL;
}

static osc_status make(const osc_layer *l, osc_plan *out, osc_error *err) {
  osc_stage_spec s = {l->out_channels, l->groups, l->k_h, l->k_w};
  return osc_plan_build(l, OSC_MODE_CONVENTIONAL, 1, &s, out, err);
}

const osc_mode_class osc_mode_conventional_class = {
    OSC_MODE_CONVENTIONAL, "conventional", "one KxK convolution", inapplicable, make};

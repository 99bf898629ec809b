/*
** mode_depthwise.c -- depthwise-separable: a KxK depthwise stage, then a
** dense 1x1 stage. Cost C_in*K^2 + C_in*C_out per pixel.
*/
#include "oscmode.h"
#include "oscplan.h"

static const char *inapplicable(const osc_layer *l) {
  if (l->k_h == 1 && l->k_w == 1) return "a 1x1 layer has no spatial part to separate";
  return NULL;
}

static osc_status make(const osc_layer *l, osc_plan *out, osc_error *err) {
  osc_stage_spec s[2] = {{l->in_channels, l->in_channels, l->k_h, l->k_w},
                         {l->out_channels, 1, 1, 1}};
  return osc_plan_build(l, OSC_MODE_DEPTHWISE, 2, s, out, err);
}

const osc_mode_class osc_mode_depthwise_class = {
    OSC_MODE_DEPTHWISE, "depthwise", "depthwise KxK, then pointwise 1x1", inapplicable,
    make};

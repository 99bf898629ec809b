/*
** mode_spatial.c -- spatial-separable: K_h x 1 then 1 x K_w, both dense.
** The middle width is the cheapest of the layer's width candidates.
*/
#include "oscmode.h"
#include "oscplan.h"

static const char *inapplicable(const osc_layer *l) {
  if (l->k_h == 1 || l->k_w == 1)
    return "spatial separation needs a kernel larger than 1 in both dimensions";
  return NULL;
}

static osc_status make(const osc_layer *l, osc_plan *out, osc_error *err) {
  int w[2 + OSC_MAX_WIDTHS], n = osc_layer_width_candidates(l, w), found = 0;
  osc_status s = OSC_OK;
  for (int i = 0; i < n; i++) {
    osc_stage_spec st[2] = {{w[i], 1, l->k_h, 1}, {l->out_channels, 1, 1, l->k_w}};
    osc_plan p;
    if ((s = osc_plan_build(l, OSC_MODE_SPATIAL, 2, st, &p, err))) return s;
    /* widths ascend, so a strict improvement keeps the narrowest on ties */
    if (!found || osc_plan_cost(&p, l->objective) < osc_plan_cost(out, l->objective)) {
      *out = p;
      found = 1;
    }
  }
  return s;
}

const osc_mode_class osc_mode_spatial_class = {
    OSC_MODE_SPATIAL, "spatial", "K_h x 1, then 1 x K_w", inapplicable, make};

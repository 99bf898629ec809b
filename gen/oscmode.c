/*
** oscmode.c -- the table of modes, and planning a layer through it.
*/
#include "oscmode.h"

#include "oscerr.h"

static const osc_mode_class *const mode_table[OSC_MODE_COUNT] = {
    [OSC_MODE_CONVENTIONAL] = &osc_mode_conventional_class,
    [OSC_MODE_DEPTHWISE] = &osc_mode_depthwise_class,
    [OSC_MODE_SPATIAL] = &osc_mode_spatial_class,
    [OSC_MODE_OPTIMAL] = &osc_mode_optimal_class,
    [OSC_MODE_FIXED] = &osc_mode_fixed_class,
};

const osc_mode_class *osc_mode_class_of(osc_mode m) {
  return (unsigned)m < OSC_MODE_COUNT ? mode_table[m] : NULL;
}

int osc_layer_width_candidates(const osc_layer *l, int *w) {
  int n = 0, all[2 + OSC_MAX_WIDTHS];
  all[n++] = l->in_channels;
  all[n++] = l->out_channels;
  for (int i = 0; i < l->n_widths; i++) all[n++] = l->widths[i];
  /* insertion sort, dropping repeats */
  int m = 0;
  for (int i = 0; i < n; i++) {
    int v = all[i], j = m, dup = 0;
    for (int k = 0; k < m; k++) dup |= w[k] == v;
    if (dup) continue;
    while (j > 0 && w[j - 1] > v) { w[j] = w[j - 1]; j--; }
    w[j] = v;
    m++;
  }
  return m;
}

osc_status osc_plan_layer_mode(const osc_layer *l, osc_mode mode, osc_plan *out,
                               osc_error *err) {
  const osc_mode_class *mc = osc_mode_class_of(mode);
  const char *why;
  osc_layer copy;
  osc_status s;
  if (!l || !out) return osc_error_set(err, OSC_EINVAL, "osc_plan_layer: NULL layer or plan");
  if (!mc) return osc_error_layer(err, OSC_EINVAL, l, "unknown mode %d", (int)mode);
  /* a baseline of a grouped layer is judged as that mode, not the layer's own */
  copy = *l;
  copy.mode = mode;
  if ((s = osc_layer_validate(&copy, err))) return s;
  if ((why = mc->inapplicable(&copy)))
    return osc_error_layer(err, OSC_ENOPLAN, l, "mode '%s' does not apply: %s", mc->name,
                           why);
  return mc->make(&copy, out, err);
}

osc_status osc_plan_layer(const osc_layer *l, osc_plan *out, osc_error *err) {
  if (!l) return osc_error_set(err, OSC_EINVAL, "osc_plan_layer: NULL layer");
  return osc_plan_layer_mode(l, l->mode, out, err);
}

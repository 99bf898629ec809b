/*
** oscmode.h -- separation modes as strategies (FFTW's "solvers"): each mode
** lives in gen/mode_<name>.c, says whether it applies to a layer and makes
** its plan, and is registered once in the table in oscmode.c.
*/
#ifndef OSCMODE_H
#define OSCMODE_H

#include "osconv.h"

typedef struct osc_mode_class {
  osc_mode id;
  const char *name;
  const char *summary;
  /* NULL when the mode applies to the layer, else the reason it does not */
  const char *(*inapplicable)(const osc_layer *l);
  /* make the mode's plan for a valid, applicable layer */
  osc_status (*make)(const osc_layer *l, osc_plan *out, osc_error *err);
} osc_mode_class;

const osc_mode_class *osc_mode_class_of(osc_mode m);

extern const osc_mode_class osc_mode_conventional_class;
extern const osc_mode_class osc_mode_depthwise_class;
extern const osc_mode_class osc_mode_spatial_class;
extern const osc_mode_class osc_mode_optimal_class;
extern const osc_mode_class osc_mode_fixed_class;

/* The internal widths a layer lets a chain use: in, out, then `widths`,
** distinct, ascending. Returns the count (at most 2 + OSC_MAX_WIDTHS). */
int osc_layer_width_candidates(const osc_layer *l, int *w);

#endif

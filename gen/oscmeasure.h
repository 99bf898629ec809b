/*
** oscmeasure.h -- measuring kernels, and planning by measurement (README,
** "Autotuning"): the candidate plans of a layer, a kernel's median time,
** a check against the reference backend. The Lua module and
** `--rigor measure` (osc_plan_layer_rigor in osconv.h) share these.
*/
#ifndef OSCMEASURE_H
#define OSCMEASURE_H

#include <stdint.h>

#include "osconv.h"

/* The most candidates osc_candidates makes: three baselines, one optimal
** plan per stage count, the fixed chain. */
#define OSC_MAX_CANDIDATES (3 + OSC_MAX_STAGES + 1)

/* The baselines that apply (conventional, depthwise, spatial), the optimal
** plan for each stage count 1..max_stages, the layer's fixed chain; each
** distinct chain once, the first mode to find it naming it. Returns how
** many went to out[], or -1 with err (a planning error other than "no
** plan", such as the planning budget). */
int osc_candidates(const osc_layer *l, int max_stages, osc_plan out[OSC_MAX_CANDIDATES],
                   osc_error *err);

typedef struct osc_measure_options {
  int batch, warmup, min_reps, max_reps;   /* images per run; runs */
  double budget_s;                          /* timed runs stop after it, past min_reps */
} osc_measure_options;

#define OSC_MEASURE_DEFAULTS {1, 1, 3, 1000, 0.2}
#define OSC_MEASURE_MAX_REPS 100000

typedef struct osc_timing {
  double median, spread, min, max;   /* seconds per run; spread: interquartile range */
  int reps;
} osc_timing;

double osc_clock(void);   /* monotonic seconds */
/* Deterministic data in [-1, 1) (the same as `osconv run`'s). */
void osc_fill_random(float *x, size_t n, uint64_t seed);

/* Time k on seeded data: the warm-up runs, then runs until max_reps, or
** the budget is spent with at least min_reps. */
osc_status osc_measure_kernel(const osc_kernel *k, const osc_measure_options *o, osc_timing *t,
                           osc_error *err);

/* k against the reference backend on seeded random data: relative L2
** error and max abs error. */
osc_status osc_verify_kernel(const osc_kernel *k, int batch, uint64_t seed, double *rel,
                             double *max_abs, osc_error *err);
#define OSC_VERIFY_TOLERANCE 1e-5   /* relative L2, as `osconv run` */

#endif

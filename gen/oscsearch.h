/*
** oscsearch.h -- the exact search for the cheapest valid chain (optimal mode).
*/
#ifndef OSCSEARCH_H
#define OSCSEARCH_H

#include "osconv.h"

#define OSC_SEARCH_TOP 3   /* candidates kept per stage count, for --explain */

/* What the search saw, per stage count, for `osconv plan --explain`. */
typedef struct osc_search_level {
  int n_best;                         /* how many of best[] are filled */
  osc_plan best[OSC_SEARCH_TOP];      /* cheapest chains with exactly this many stages */
  int64_t rejected_coverage;          /* complete chains whose fan-in cannot reach all inputs */
  int64_t rejected_structure;         /* passed the product formula, failed the walk */
  int64_t rejected_field;             /* kernel splits that overshoot the receptive field */
  int64_t rejected_divisibility;      /* group counts that do not divide both widths */
  int64_t pruned_bound;               /* branches cut because they cannot beat the best */
} osc_search_level;

typedef struct osc_search_report {
  int max_stages;
  osc_search_level level[OSC_MAX_STAGES + 1];   /* index = stage count */
} osc_search_report;

/* Find the optimum of l->objective over chains of 1..l->max_stages stages.
** Ties: fewer stages, then the other metric (params for macs and back),
** then a fixed order. `report` may be NULL. */
osc_status osc_search_optimal(const osc_layer *l, osc_search_report *report,
                              osc_plan *out, osc_error *err);

#endif

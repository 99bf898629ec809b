/*
** oscsearch.h -- the exact search for the cheapest valid chain (optimal mode).
**
** Search space: chains of 1..max_stages stages; internal widths from
** osc_layer_width_candidates(); stage i has g_i groups (g_i divides both of
** its widths) and a k_h x k_w kernel whose extents sum to the layer's kernel;
** stride and padding placed by osc_plan_build's rule.
**
** Objective time (gen/osctime.h): a stage's modelled time depends only on
** the stage (its widths, groups, kernel, and the sizes, stride and padding
** osc_plan_build's rule gives it, which follow from the extents before and
** after it and, in a dimension with K = 1, from being the first), so time is
** a sum of per-stage costs like MACs, in integer picoseconds, and the same
** dynamic program and bound are exact for it; every chain the search
** returns is costed again from its built plan and must agree.
**
** Order of chains: the objective, then fewer stages, then the other metric
** (params when optimizing macs, MACs when optimizing params or time), then the stages compared first to
** last, each by (internal width ascending, groups ascending, kernel height
** descending, kernel width descending) -- so the N = 2 optimum of SPEC.md
** comes out as K x 1 -> 1 x K.
**
** Method: a dynamic program over (stages left, width, kernel extent used so
** far in each dimension, channel coverage still missing) gives, for every
** partial chain, the exact cheapest completion under the fan-in product
** rule; a best-first branch and bound per stage count adds it to the cost
** so far, and every complete chain is verified by the structural coverage
** walk before it counts.
*/
#ifndef OSCSEARCH_H
#define OSCSEARCH_H

#include "osconv.h"

#define OSC_SEARCH_TOP 3   /* candidates kept per stage count, for --explain */

/* What the search saw, per stage count, for `osconv plan --explain`.
** The rejection counters count candidate stages the branch and bound looked
** at, as if it enumerated every (width, groups, k_h, k_w) per stage. */
typedef struct osc_search_level {
  int n_best;                         /* how many of best[] are filled */
  osc_plan best[OSC_SEARCH_TOP];      /* cheapest chains with exactly this many stages */
  int64_t rejected_coverage;          /* stages after which the remaining stages cannot
                                         reach all inputs (fan-in product) */
  int64_t rejected_structure;         /* complete chains that passed the product formula
                                         but failed the structural walk */
  int64_t rejected_field;             /* kernels that overshoot the receptive field (or, on
                                         the last stage, do not complete it) */
  int64_t rejected_divisibility;      /* divisors of a stage's input width that do not
                                         divide its output width */
  int64_t pruned_bound;               /* branches cut because they cannot beat the best */
  int64_t nodes;                      /* partial chains the branch and bound expanded */
} osc_search_level;

typedef struct osc_search_report {
  int max_stages;
  osc_search_level level[OSC_MAX_STAGES + 1];   /* index = stage count */
} osc_search_report;

/* Find the optimum of l->objective over chains of 1..l->max_stages stages
** (l->groups must be 1). `report` may be NULL (then only the best chain per
** stage count is tracked, which is faster). A chain whose MACs or params do
** not fit 64 bits is not a plan and is skipped; OSC_EINVAL when every chain
** is. OSC_ELIMIT when the layer's search space is too large to search
** exactly (kernels near 64 with many stages and widths). */
osc_status osc_search_optimal(const osc_layer *l, osc_search_report *report,
                              osc_plan *out, osc_error *err);

#endif

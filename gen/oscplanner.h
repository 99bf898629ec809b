/*
** oscplanner.h -- planning the many layers of a config within a budget:
** identical layers are planned once, and all planning together gets a
** budget of CPU time, reported as "file:line: layer 'x': ..." at the layer
** where it ran out. A config's script is bounded by the sandbox, but one
** optimal search may take a second, so 100000 copies of one layer would
** otherwise plan for hours after the script has finished.
*/
#ifndef OSCPLANNER_H
#define OSCPLANNER_H

#include "osconv.h"

typedef struct osc_planner osc_planner;

/* The default budget: OSCONV_PLAN_SECONDS (a positive number) or 10 s. */
#define OSC_PLAN_BUDGET_NS 10000000000LL
long long osc_plan_budget_default(void);

/* budget_ns: CPU time of this thread spent planning, at most; 0 = none.
** NULL when out of memory. */
osc_planner *osc_planner_new(long long budget_ns);
void osc_planner_free(osc_planner *p);

/* osc_plan_layer_mode, remembered: a layer identical to one planned
** before (every field but the name, file and line) gets a copy of that
** plan, with its own name, file and line. OSC_ELIMIT once the budget is
** spent; a single layer may overrun it by what its own search costs
** (bounded by the search's limits). A NULL planner plans unbudgeted. */
osc_status osc_planner_plan(osc_planner *p, const osc_layer *l, osc_mode mode, osc_plan *out,
                            osc_error *err);

/* Layers planned (cache misses) and copied (hits), for tests. */
void osc_planner_counts(const osc_planner *p, long *planned, long *copied);

#endif

/*
** oscplan.h -- building a plan from a chain of stages: divisibility, the
** receptive-field sums, stride/padding placement, shapes and cost.
** Every mode ends here, so every plan obeys the same rules.
*/
#ifndef OSCPLAN_H
#define OSCPLAN_H

#include "osconv.h"

/* Chain given as (out_channels, groups, k_h, k_w) per stage; out_channels 0
** as in osc_stage_spec. Checks the chain against the layer (divisibility,
** receptive field, final width, channel coverage) and fills `out` with
** shapes, placement and cost. Messages name the stage ("stage 2: ...").  */
osc_status osc_plan_build(const osc_layer *l, osc_mode mode, int n,
                          const osc_stage_spec *chain, osc_plan *out,
                          osc_error *err);

/* The activation's bounds: -1 none; 0 a lower bound only (*lo: ReLU); 2
** both (*lo, *hi: relu6, clamp). */
int osc_layer_act_bounds(const osc_layer *l, float *lo, float *hi);

/* The activation in words: "" (none), "relu", "relu6", "clamp(-1, 1)". */
const char *osc_act_describe(const osc_layer *l, char *buf, size_t size);

/* Output size of one dimension of a stage (floor division, PyTorch). */
int osc_conv_out(int in, int k, int stride, int pad);

/* Cost of a stage, in the objective's unit (weights, or MACs per image). */
int64_t osc_stage_params(const osc_stage *s);
int64_t osc_stage_macs(const osc_stage *s);
/* The group count of the ChannelShuffle after stage i, or 0 where there is
** none: after the last stage, and where it is the identity (one group, or
** one channel per group), which is neither printed nor emitted. */
int osc_plan_shuffle_after(const osc_plan *p, int i);
/* objective value of a whole plan (time: modelled, ps, gen/osctime.h) */
int64_t osc_plan_cost(const osc_plan *p, osc_objective obj);

/* Short human form of a chain: "3x1/g8 -> 1x3/g8". */
void osc_plan_describe(const osc_plan *p, char *buf, size_t size);

/* The fields of p its generated code depends on (layer shape, stages,
** flags; not the name, file or line) as ints into v, how many returned: two
** plans with the same fields emit the same code but for the symbol prefix. */
#define OSC_PLAN_CODE_FIELDS (24 + OSC_MAX_STAGES * 13)
int osc_plan_code_fields(const osc_plan *p, int32_t *v);
/* A 64-bit hash of the plan's structure: of osc_plan_code_fields. */
uint64_t osc_plan_hash(const osc_plan *p);

#endif

/*
** kernel_unrolled.c -- tiny stages unrolled completely (stage_unrolled.c.in):
** one flat statement per output, constant indices, taps that fall into the
** padding dropped at generation time. No loops and no checks, so it wins
** wherever it fits the knob full_unroll_terms; code size grows with the
** stage's whole work, which is why it is limited to tiny stages.
*/
#include "osckernel.h"

static int64_t outputs(const osc_stage *s) {
  return (int64_t)s->c_out * s->h_out * s->w_out;
}

static const char *inapplicable(const osc_stage_job *j) {
  int64_t limit = j->knobs->full_unroll_terms;
  if (limit < 0) return "full unrolling is switched off";
  if (osc_kernel_valid_macs(j->s) > limit || outputs(j->s) > limit)
    return "the stage is larger than full_unroll_terms";
  return NULL;
}

/* No loop or index overhead: cheaper per product than the direct kernel. */
static double cost(const osc_stage_job *j) {
  return 0.7 * (double)osc_kernel_valid_macs(j->s) + 0.5 * (double)outputs(j->s);
}

static osc_status emit(const osc_stage_job *j, osc_buf *out, osc_error *err) {
  osc_tmpl_params ps;
  osc_tmpl_params_init(&ps);
  osc_kernel_stage_params(j, &ps);
  return osc_tmpl_expand(osc_kernel_unrolled.template_name, &ps, out, err);
}

/* A tile: one output channel (a case of the switch). */
static int tiles(const osc_stage_job *j) { return j->s->c_out; }

const osc_stage_kernel osc_kernel_unrolled = {"unrolled", "stage_unrolled.c.in",
                                              inapplicable, cost, emit, OSC_ISA_C, tiles};

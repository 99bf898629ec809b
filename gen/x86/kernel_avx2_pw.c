/*
** kernel_avx2_pw.c -- AVX2 + FMA, the pointwise shape (oscpx.h): 1x1 stages of
** stride 1 without padding, each channel's plane read and written as one
** run of pixels (8 to a vector, no lane idle but in the run's last
** vector), with the instructions of kernel_avx2_px.c (its loads, multiply-
** adds, and its store, which holds the bias, the residual and the activation).
*/
#include "oscpx.h"

static const char *inapplicable(const osc_stage_job *j) {
  return osc_px_inapplicable(&osc_px_avx2, 1, j);
}
static double cost(const osc_stage_job *j) { return osc_px_cost(&osc_px_avx2, 1, j); }
static osc_status emit(const osc_stage_job *j, osc_buf *out, osc_error *err) {
  return osc_px_emit(&osc_px_avx2, 1, j, out, err);
}
static int tiles(const osc_stage_job *j) { return osc_px_tiles(&osc_px_avx2, 1, j); }

const osc_stage_kernel osc_kernel_avx2_pw = {"avx2_pw", "(encoded: gen/x86/kernel_avx2_pw.c)",
                                             inapplicable, cost, emit, OSC_ISA_AVX2, tiles};

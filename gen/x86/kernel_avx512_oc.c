/*
** kernel_avx512_oc.c -- AVX-512F, lanes over output channels (the shape:
** oscoc.h): 16 output channels of a group per zmm at one output pixel,
** the weights packed. An explicit opt-in, since a layer using it takes
** its weights packed (README "ABI"), through the kernel knob
** (osc_emit_knobs.kernel, a config's `kernel`):
** - "avx512_oc": every stage the shape takes (tests, benchmarks);
** - "avx512_oc_auto": the stages where its cost is below every other
**   kernel's the ISA allows (the pixel shapes': oscpx.c), the rest as
**   without the knob.
*/
#include "oscoc.h"
#include "oscsimd.h"

#include <string.h>

static int named(const osc_stage_job *j, const char *name) {
  return j->knobs && j->knobs->kernel && !strcmp(j->knobs->kernel, name);
}

static const char *forced(const osc_stage_job *j) {
  if (!named(j, "avx512_oc")) return "an opt-in: chosen only when named (its layer takes packed weights)";
  return osc_oc_inapplicable(j);
}

/* The cheapest other kernel's cost; 0 when none applies. */
static double others(const osc_stage_job *j) {
  osc_isa cap = osc_simd_cap(j);
  double best = 0;
  for (int i = 0; osc_stage_kernels[i]; i++) {
    const osc_stage_kernel *k = osc_stage_kernels[i];
    double c;
    if (osc_oc_kernel(k) || k->isa > cap || k->inapplicable(j)) continue;
    c = k->cost(j);
    if (best == 0 || c < best) best = c;
  }
  return best;
}

static const char *by_cost(const osc_stage_job *j) {
  const char *why;
  double o;
  if (!named(j, "avx512_oc_auto"))
    return "an opt-in: chosen only when named (its layer takes packed weights)";
  if ((why = osc_oc_inapplicable(j))) return why;
  o = others(j);
  return o > 0 && o <= osc_oc_cost(j) ? "another kernel costs less" : NULL;
}

const osc_stage_kernel osc_kernel_avx512_oc = {
    "avx512_oc", "(encoded: gen/x86/kernel_avx512_oc.c)", forced, osc_oc_cost,
    osc_oc_emit, OSC_ISA_AVX512, osc_oc_tiles};
const osc_stage_kernel osc_kernel_avx512_oc_auto = {
    "avx512_oc_auto", "(encoded: gen/x86/kernel_avx512_oc.c)", by_cost, osc_oc_cost,
    osc_oc_emit, OSC_ISA_AVX512, osc_oc_tiles};

int osc_oc_kernel(const osc_stage_kernel *k) {
  return k == &osc_kernel_avx512_oc || k == &osc_kernel_avx512_oc_auto;
}

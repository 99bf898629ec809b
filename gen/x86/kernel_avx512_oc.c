/*
** kernel_avx512_oc.c -- AVX-512F, lanes over output channels (the shape:
** oscoc.h): 16 output channels of a group per zmm at one output pixel,
** the weights packed. Chosen only when named (osc_emit_knobs.kernel
** "avx512_oc", the config's kernel = "avx512_oc"): an explicit opt-in,
** since a layer using it takes its weights packed (README "ABI").
*/
#include "oscoc.h"

static const char *inapplicable(const osc_stage_job *j) { return osc_oc_inapplicable(j); }

const osc_stage_kernel osc_kernel_avx512_oc = {
    "avx512_oc", "(encoded: gen/x86/kernel_avx512_oc.c)", inapplicable, osc_oc_cost,
    osc_oc_emit, OSC_ISA_AVX512, osc_oc_tiles};

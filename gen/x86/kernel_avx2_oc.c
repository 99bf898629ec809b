/*
** kernel_avx2_oc.c -- AVX2 + FMA, lanes over output channels (the shape:
** oscoc.h): 8 output channels of a group per ymm at one output pixel, the
** weights packed in the same 16-wide blocks as avx512_oc (a block's
** halves are two ymm), so one packed buffer serves both. 16 registers: a
** tile is one block (2 ymm) x up to 6 pixels, 12 accumulators, 2 weight
** vectors, 1 broadcast. No scatter or gather in AVX2: the store spills the
** vector to the stack and moves its 8 lanes to their channels by scalar
** movs; the residual comes in by vmovss / vinsertps / vinsertf128 (no
** store-forwarding stall, as 8 scalar stores read back as a vector have:
** up to 1.9x slower on store-bound stages, README); lo and hi, on the
** stack, are broadcast into the weight registers
** once a tile, which its stores no longer need. The opt-in as avx512_oc's
** ("avx2_oc", "avx2_oc_auto": kernel_avx512_oc.c).
*/
#include "oscoc.h"

#define RSP ZYDIS_REGISTER_RSP
#define FRAME 64   /* [rsp, +32): the spill; +32: lo's bits, +36: hi's */

static ZydisRegister ymm(int i) { return (ZydisRegister)(ZYDIS_REGISTER_YMM0 + i); }
static ZydisRegister xmm(int i) { return (ZydisRegister)(ZYDIS_REGISTER_XMM0 + i); }

static void zero(osc_x86 *a, int r) {
  OSC_X86(a, VXORPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_r(ymm(r)));
}

static void prologue(const oc_gen *g, osc_x86 *a) {
  OSC_X86(a, SUB, osc_x86_r(RSP), osc_x86_i(FRAME));
  if (g->relu)
    OSC_X86(a, MOV, osc_x86_m(RSP, 32, 4), osc_x86_i((int32_t)osc_oc_bits(g->lo)));
  if (g->clamped)
    OSC_X86(a, MOV, osc_x86_m(RSP, 36, 4), osc_x86_i((int32_t)osc_oc_bits(g->hi)));
}

static void epilogue(const oc_gen *g, osc_x86 *a) {
  (void)g;
  OSC_X86(a, ADD, osc_x86_r(RSP), osc_x86_i(FRAME));
}

/* lo into ymm(free), hi into ymm(free + 1) */
static void stores(const oc_gen *g, osc_x86 *a, int free) {
  if (g->relu && osc_oc_bits(g->lo) == 0) zero(a, free);
  else if (g->relu) OSC_X86(a, VBROADCASTSS, osc_x86_r(ymm(free)), osc_x86_m(RSP, 32, 4));
  if (g->clamped) OSC_X86(a, VBROADCASTSS, osc_x86_r(ymm(free + 1)), osc_x86_m(RSP, 36, 4));
}

/* xmm(r) = RROW[at + l x the stride], l = 0..3 */
static void four(const oc_gen *g, osc_x86 *a, int r, long long at) {
  OSC_X86(a, VMOVSS, osc_x86_r(xmm(r)), osc_x86_m(OSC_OC_RROW, at, 4));
  for (int l = 1; l < 4; l++)
    OSC_X86(a, VINSERTPS, osc_x86_r(xmm(r)), osc_x86_r(xmm(r)),
            osc_x86_m(OSC_OC_RROW, at + l * g->o_oc, 4), osc_x86_i(l << 4));
}

static void store(const oc_gen *g, osc_x86 *a, int r, int v, long long at, int free) {
  int t0 = free + 2, t1 = free + 3;
  if (g->bias)
    OSC_X86(a, VADDPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_m(OSC_OC_BIAS, 32LL * v, 32));
  if (g->residual) {   /* the residual is laid out as the output (last stage) */
    four(g, a, t0, at);
    four(g, a, t1, at + 4 * g->o_oc);
    OSC_X86(a, VINSERTF128, osc_x86_r(ymm(t0)), osc_x86_r(ymm(t0)), osc_x86_r(xmm(t1)),
            osc_x86_i(1));
    OSC_X86(a, VADDPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_r(ymm(t0)));
  }
  if (g->relu)   /* the second operand comes back when either is NaN */
    OSC_X86(a, VMAXPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(free)), osc_x86_r(ymm(r)));
  if (g->clamped)
    OSC_X86(a, VMINPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(free + 1)), osc_x86_r(ymm(r)));
  OSC_X86(a, VMOVUPS, osc_x86_m(RSP, 0, 32), osc_x86_r(ymm(r)));
  for (int l = 0; l < 8; l++) {
    OSC_X86(a, MOV, osc_x86_r(OSC_OC_TMP32), osc_x86_m(RSP, 4LL * l, 4));
    OSC_X86(a, MOV, osc_x86_m(OSC_OC_OROW, at + l * g->o_oc, 4), osc_x86_r(OSC_OC_TMP32));
  }
}

/* 2 x 6 accumulators + 2 weights + 1 broadcast: 15 of 16; the stores use
** lo, hi and two residual halves from the weights' registers up */
static const int px_max[] = {0, 6};

/* store_cost: fitted as avx512_oc's (README Figures, "Lanes over output channels") */
const osc_oc_isa osc_oc_avx2 = {"avx2_oc", "avx2_oc_auto", OSC_ISA_AVX2, 2, 1, px_max, 0,
                                20.0, 20, ymm, osc_x86_ins, zero, prologue, stores, store, epilogue};

OSC_OC_STAGE_KERNELS(avx2, osc_oc_avx2, OSC_ISA_AVX2);

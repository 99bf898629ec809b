/*
** kernel_avx512_oc.c -- AVX-512F, lanes over output channels (the shape:
** oscoc.h): 16 output channels of a group per zmm at one output pixel,
** the weights packed; tiles of up to 4 zmm x 6 pixels. The store gathers
** the residual and scatters with zmm31's channel offsets (lo, hi in zmm30,
** zmm29). An explicit opt-in, since a layer using it takes its weights
** packed (README "ABI"), through the kernel knob (osc_emit_knobs.kernel, a
** config's `kernel`):
** - "avx512_oc": every stage the shape takes (tests, benchmarks);
** - "avx512_oc_auto": the stages where its cost is below every other
**   kernel's the ISA allows (the pixel shapes': oscpx.c), the rest as
**   without the knob.
*/
#include "oscoc.h"

#define IDX 31
#define LO 30
#define HI 29
#define K1 ZYDIS_REGISTER_K1

static ZydisRegister zmm(int i) { return (ZydisRegister)(ZYDIS_REGISTER_ZMM0 + i); }

static void vec(osc_x86 *a, ZydisMnemonic mn, int n, const osc_x86_op *ops) {
  osc_x86_evex(a, mn, ZYDIS_REGISTER_K0, 0, n, ops);
}

static void zero(osc_x86 *a, int r) {
  OSC_X86_EVEX(a, VPXORD, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(r)),
               osc_x86_r(zmm(r)));
}

static void all_lanes(osc_x86 *a) {   /* gathers and scatters clear their mask */
  OSC_X86(a, KXNORW, osc_x86_r(K1), osc_x86_r(K1), osc_x86_r(K1));
}

static void splat(osc_x86 *a, int r, float v) {
  uint32_t b = osc_oc_bits(v);
  if (b == 0) {
    zero(a, r);
    return;
  }
  OSC_X86(a, MOV, osc_x86_r(OSC_OC_TMP32), osc_x86_i((int32_t)b));
  OSC_X86_EVEX(a, VPBROADCASTD, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(OSC_OC_TMP32));
}

static void prologue(const oc_gen *g, osc_x86 *a) {
  OSC_X86_EVEX(a, VMOVUPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(IDX)),
               osc_x86_m(OSC_OC_IDXP, 0, 64));
  if (g->relu) splat(a, LO, g->lo);
  if (g->clamped) splat(a, HI, g->hi);
}

/* Post-ops and the scatter of accumulator r to OROW[at]; `tmp` free. */
static void store(const oc_gen *g, osc_x86 *a, int r, int v, long long at, int tmp) {
  if (g->bias)
    OSC_X86_EVEX(a, VADDPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(r)),
                 osc_x86_m(OSC_OC_BIAS, 64LL * v, 64));
  if (g->residual) {   /* the residual is laid out as the output (last stage) */
    all_lanes(a);
    OSC_X86_EVEX(a, VGATHERDPS, K1, 0, osc_x86_r(zmm(tmp)),
                 osc_x86_mi(OSC_OC_RROW, zmm(IDX), 4, at, 4));
    OSC_X86_EVEX(a, VADDPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(r)),
                 osc_x86_r(zmm(tmp)));
  }
  if (g->relu)   /* the second operand comes back when either is NaN */
    OSC_X86_EVEX(a, VMAXPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(LO)),
                 osc_x86_r(zmm(r)));
  if (g->clamped)
    OSC_X86_EVEX(a, VMINPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(HI)),
                 osc_x86_r(zmm(r)));
  all_lanes(a);
  OSC_X86_EVEX(a, VSCATTERDPS, K1, 0, osc_x86_mi(OSC_OC_OROW, zmm(IDX), 4, at, 4),
               osc_x86_r(zmm(r)));
}

static const int px_max[] = {0, OSC_OC_MAX_PX, 13, 8, 6};

/* store_cost 40: the scatter's (README Figures, "Lanes over output channels") */
const osc_oc_isa osc_oc_avx512 = {"avx512_oc", "avx512_oc_auto", OSC_ISA_AVX512, 1,
                                  OSC_OC_MAX_OCV, px_max, 1, 40.0, 6, zmm, vec, zero,
                                  prologue, NULL, store, NULL};

OSC_OC_STAGE_KERNELS(avx512, osc_oc_avx512, OSC_ISA_AVX512);

/*
** kernel_avx2_px.c -- AVX2 + FMA, lanes over pixels (the shape: oscpx.h):
** 8 pixels per ymm, 16 registers: tiles of up to 4 output channels x 3
** vectors, at stride 2 and in the pointwise shape 6 x 2 (12 accumulators,
** the x vectors, ymm15 for the weight broadcast and masks); up to 7
** vectors when the tile has fewer channels. Per input channel, tap and
** weight: `vbroadcastss ymm15, dword [w]`, then `vfmadd231ps acc, x,
** ymm15` per vector. Masked loads and stores are
** vmaskmovps with the lane mask read into ymm15 from the stage's table
** (args[4], 32 bytes a mask): masked-off lanes read zero and cannot fault.
** Stride 2 in width: two loads (masked where they would leave the plane),
** a vshufps keeps the even lanes (the store's vpermpd puts the pixels in
** order), a vandps zeroes the padding's.
*/
#include "oscpx.h"

#include <assert.h>

#define TMP 15

static ZydisRegister ymm(int i) { return (ZydisRegister)(ZYDIS_REGISTER_YMM0 + i); }

/* ymm15 = the table's row for mask m. */
static void mask_to_tmp(osc_px *g, osc_x86 *a, unsigned m) {
  OSC_X86(a, VMOVUPS, osc_x86_r(ymm(TMP)),
          osc_x86_m(OSC_PX_MASKS, 32LL * osc_px_mask_index(g, m), 32));
}

static void zero(osc_px *g, osc_x86 *a, int r) {
  (void)g;
  OSC_X86(a, VXORPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_r(ymm(r)));
}

static void load(osc_px *g, osc_x86 *a, int r, unsigned m, long long off) {
  if (m == osc_px_full(g)) {
    OSC_X86(a, VMOVUPS, osc_x86_r(ymm(r)), osc_x86_m(OSC_PX_X, off, 32));
    return;
  }
  mask_to_tmp(g, a, m);
  OSC_X86(a, VMASKMOVPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(TMP)), osc_x86_m(OSC_PX_X, off, 32));
}

/* The lanes of r outside keep zeroed: a vandps with keep's row of the table. */
static void zero_outside(osc_px *g, osc_x86 *a, int r, unsigned keep) {
  OSC_X86(a, VANDPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)),
          osc_x86_m(OSC_PX_MASKS, 32LL * osc_px_mask_index(g, keep), 32));
}

/* Stride 2: the even lanes of two loads, by one vshufps, which keeps lanes
** 0, 2 of each 128-bit half of both: [A0 A2 B0 B2 | A4 A6 B4 B6], output
** pixels 0 1 4 5 2 3 6 7 (even_order). Every tap's vectors come in that
** order, so the sums do too, and the store's vpermpd puts them in order:
** one lane-crossing shuffle per output vector instead of one per vector and
** tap. With keep (the loads unmasked: oscpx.c's even_keep), a vandps with
** keep's row of the table (in that order) zeroes the other lanes. */
static const unsigned char even_order[8] = {0, 1, 4, 5, 2, 3, 6, 7};

static void load_even(osc_px *g, osc_x86 *a, int r, unsigned m0, unsigned m1, long long off,
                      unsigned keep) {
  assert(!keep || ((m0 == 0 || m0 == osc_px_full(g)) && (m1 == 0 || m1 == osc_px_full(g))));
  if (m0) load(g, a, r, m0, off);
  else zero(g, a, r);
  if (m1 == osc_px_full(g)) {
    OSC_X86(a, VMOVUPS, osc_x86_r(ymm(TMP)), osc_x86_m(OSC_PX_X, off + 32, 32));
  } else if (m1) {   /* the mask register is the destination too */
    mask_to_tmp(g, a, m1);
    OSC_X86(a, VMASKMOVPS, osc_x86_r(ymm(TMP)), osc_x86_r(ymm(TMP)),
            osc_x86_m(OSC_PX_X, off + 32, 32));
  } else {
    zero(g, a, TMP);
  }
  OSC_X86(a, VSHUFPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_r(ymm(TMP)), osc_x86_i(0x88));
  if (keep && keep != osc_px_full(g)) zero_outside(g, a, r, keep);
}

/* Two taps from one pair of loads (oscpx.c's tap_pair_of): the odd lanes
** by vshufps 0xdd (the same lane order as the even ones), then the even. */
static void load_even_pair(osc_px *g, osc_x86 *a, int r, int r2, long long off, unsigned keep,
                           unsigned keep2) {
  OSC_X86(a, VMOVUPS, osc_x86_r(ymm(r)), osc_x86_m(OSC_PX_X, off, 32));
  OSC_X86(a, VMOVUPS, osc_x86_r(ymm(TMP)), osc_x86_m(OSC_PX_X, off + 32, 32));
  OSC_X86(a, VSHUFPS, osc_x86_r(ymm(r2)), osc_x86_r(ymm(r)), osc_x86_r(ymm(TMP)), osc_x86_i(0xdd));
  OSC_X86(a, VSHUFPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_r(ymm(TMP)), osc_x86_i(0x88));
  if (keep && keep != osc_px_full(g)) zero_outside(g, a, r, keep);
  if (keep2 && keep2 != osc_px_full(g)) zero_outside(g, a, r2, keep2);
}

static void madd(osc_px *g, osc_x86 *a, const int *acc, const int *x, const int *live, int pv,
                long long w_off, const int *k) {
  int any = 0;
  (void)g;
  assert(k == NULL);   /* no fma_masks: no masked multiply-adds */
  for (int i = 0; i < pv; i++) any |= live[i];
  if (!any) return;
  OSC_X86(a, VBROADCASTSS, osc_x86_r(ymm(TMP)), osc_x86_m(OSC_PX_WK, w_off, 4));
  for (int i = 0; i < pv; i++)
    if (live[i])
      OSC_X86(a, VFMADD231PS, osc_x86_r(ymm(acc[i])), osc_x86_r(ymm(x[i])), osc_x86_r(ymm(TMP)));
}

/* +0.0 by xor, else the bits through r13d and the low lane */
static void splat(osc_px *g, osc_x86 *a, int r, float v) {
  ZydisRegister x = (ZydisRegister)(ZYDIS_REGISTER_XMM0 + r);
  if (!osc_px_splat_bits(g, a, r, v)) return;
  OSC_X86(a, VMOVD, osc_x86_r(x), osc_x86_r(OSC_PX_TMP32));
  OSC_X86(a, VBROADCASTSS, osc_x86_r(ymm(r)), osc_x86_r(x));
}

static void store(osc_px *g, osc_x86 *a, int r, int lo, int hi, long long b_off, unsigned m,
                  long long off) {
  if (g->s->stride_w == 2 && !g->split)   /* the pixels of load_even's order in place */
    OSC_X86(a, VPERMPD, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_i(0xd8));
  if (g->bias) {
    OSC_X86(a, VBROADCASTSS, osc_x86_r(ymm(TMP)), osc_x86_m(OSC_PX_BIAS, b_off, 4));
    OSC_X86(a, VADDPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_r(ymm(TMP)));
  }
  if (g->residual && m == osc_px_full(g)) {
    OSC_X86(a, VADDPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_m(OSC_PX_RROW, off, 32));
  } else if (g->residual) {   /* a masked load: the lanes past the row's end are not read */
    mask_to_tmp(g, a, m);
    OSC_X86(a, VMASKMOVPS, osc_x86_r(ymm(TMP)), osc_x86_r(ymm(TMP)),
            osc_x86_m(OSC_PX_RROW, off, 32));
    OSC_X86(a, VADDPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(r)), osc_x86_r(ymm(TMP)));
  }
  if (g->relu)   /* the second operand comes back when either is NaN */
    OSC_X86(a, VMAXPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(lo)), osc_x86_r(ymm(r)));
  if (g->clamped)   /* likewise */
    OSC_X86(a, VMINPS, osc_x86_r(ymm(r)), osc_x86_r(ymm(hi)), osc_x86_r(ymm(r)));
  if (m == osc_px_full(g)) {
    OSC_X86(a, VMOVUPS, osc_x86_m(OSC_PX_OROW, off, 32), osc_x86_r(ymm(r)));
    return;
  }
  mask_to_tmp(g, a, m);
  OSC_X86(a, VMASKMOVPS, osc_x86_m(OSC_PX_OROW, off, 32), osc_x86_r(ymm(TMP)), osc_x86_r(ymm(r)));
}

static void epilogue(osc_px *g, osc_x86 *a) {
  (void)g;
  osc_x86_ins(a, ZYDIS_MNEMONIC_VZEROUPPER, 0, NULL);
}

/* accumulators + vectors <= 15 (ymm15 is the broadcast); 5 and 6 channels
** at stride 2 and in the pointwise shape only (max_oct_pv2): at stride 2
** a vector's load costs two loads and a shuffle, so more channels share
** it (6 x 2 ran 1.25x faster than 4 x 2 on C128->256 28x28 s2); a
** pointwise tile passes over its group's input once per 6 channels, not
** 4 (0.84-0.95x on six of eight 1x1 stages); stride-1 KxK stages keep
** 4 x 3 (6 x 2 was 0.95-1.09x) */
static const int pv_max[OSC_PX_MAX_OCT + 1] = {0, 7, 5, 3, 3, 2, 2};

const osc_px_isa osc_px_avx2 = {
    .kernel = "avx2_px", .pw_kernel = "avx2_pw", .isa = OSC_ISA_AVX2, .lanes = 8, .max_oct = 4,
    .pv_max = pv_max, .max_oct_pv2 = 6, .mask_table = 1, .max_stride_w = 2, .keep_even = 1,
    .pw_ahead = 1, .even_order = even_order, .zero = zero, .load = load, .load_even = load_even,
    .load_even_pair = load_even_pair, .pair_regs = 15, .fma = madd, .splat = splat,
    .store = store, .epilogue = epilogue};

OSC_PX_STAGE_KERNEL(avx2, px, osc_px_avx2, OSC_ISA_AVX2, 0);

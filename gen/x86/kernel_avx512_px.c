/*
** kernel_avx512_px.c -- AVX-512F, lanes over pixels (the shape: oscpx.h):
** 16 pixels per zmm, tiles of up to 8 output channels x 3 vectors (24
** accumulators; up to 8 vectors when the tile has fewer channels), the
** x vectors after the accumulators, below zmm32. Per input channel, tap
** and weight: `vfmadd231ps acc, x, dword [w]{1to16}`, the weight broadcast
** from memory. Masks are k registers: the first six partial masks of the
** stage live in k1..k6 for the whole function, others go through k7.
*/
#include "oscpx.h"

#include <assert.h>

static ZydisRegister zmm(int i) { return (ZydisRegister)(ZYDIS_REGISTER_ZMM0 + i); }
static ZydisRegister kreg(int i) { return (ZydisRegister)(ZYDIS_REGISTER_K0 + i); }

static void set_k(osc_x86 *a, int k, unsigned m) {
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_TMP32), osc_x86_i(m));
  OSC_X86(a, KMOVW, osc_x86_r(kreg(k)), osc_x86_r(OSC_PX_TMP32));
}

#define PERM 31   /* stride 2: the index of the even lanes */
#define PAIR 30   /* stride 2: the second vector */

static void prologue(osc_px *g, osc_x86 *a) {
  for (int i = 0; i < g->n_masks && i < OSC_PX_KREGS; i++) set_k(a, 1 + i, g->mask[i]);
  if (g->s->stride_w == 2)
    OSC_X86_EVEX(a, VMOVUPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(PERM)),
                 osc_x86_m(OSC_PX_MASKS, 0, 64));
}

/* The k register holding mask m: k0 when full, k1..k6, or k7 loaded now. */
static ZydisRegister mask_reg(osc_px *g, osc_x86 *a, unsigned m) {
  int i = osc_px_mask_index(g, m);
  if (m == osc_px_full(g)) return ZYDIS_REGISTER_K0;
  if (i >= 0 && i < OSC_PX_KREGS) return kreg(1 + i);
  set_k(a, 7, m);
  return kreg(7);
}

static void zero(osc_px *g, osc_x86 *a, int r) {
  (void)g;
  OSC_X86_EVEX(a, VPXORD, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(r)),
               osc_x86_r(zmm(r)));
}

static void load(osc_px *g, osc_x86 *a, int r, unsigned m, long long off) {
  OSC_X86_EVEX(a, VMOVUPS, mask_reg(g, a, m), m == osc_px_full(g) ? 0 : OSC_X86_ZERO,
               osc_x86_r(zmm(r)), osc_x86_m(OSC_PX_X, off, 64));
}

static void load_even(osc_px *g, osc_x86 *a, int r, unsigned m0, unsigned m1, long long off,
                      unsigned keep) {
  /* masked-off lanes are zero: a load with no lane on may stay out */
  if (m0) load(g, a, r, m0, off);
  else zero(g, a, r);
  if (m1) load(g, a, PAIR, m1, off + 64);
  else zero(g, a, PAIR);
  if (keep && keep != osc_px_full(g))   /* zero-masking: free on the permute */
    OSC_X86_EVEX(a, VPERMT2PS, mask_reg(g, a, keep), OSC_X86_ZERO, osc_x86_r(zmm(r)),
                 osc_x86_r(zmm(PERM)), osc_x86_r(zmm(PAIR)));
  else
    OSC_X86_EVEX(a, VPERMT2PS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(PERM)),
                 osc_x86_r(zmm(PAIR)));
}

/* The polyphase split (oscpx.c, "Polyphase"). Before the row loop
** (`setup`): the permutation indices of the even and of the odd lanes into
** zmm28, zmm29, the masks of a row's last 32 columns into k1, k2 (the last
** row must not read past the tensor). A row: per 32 input columns three
** loads (the first vector twice: the permute overwrites it), two
** vpermt2ps, two whole-vector stores, each phase at a vector boundary of
** the copy (the lanes past the row's end are zero, never read). */
static void split_row(osc_px *g, osc_x86 *a, int setup) {
  int w = g->s->w_in, chunks = (int)g->xw / 32, tail = w % 32;
  if (setup) {
    OSC_X86_EVEX(a, VMOVUPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(28)), osc_x86_m(OSC_PX_MASKS, 0, 64));
    OSC_X86_EVEX(a, VMOVUPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(29)), osc_x86_m(OSC_PX_MASKS, 64, 64));
    if (tail && tail < 16) set_k(a, 1, (1u << tail) - 1);
    if (tail > 16) set_k(a, 2, (1u << (tail - 16)) - 1);
    return;
  }
  for (int c = 0; c < chunks; c++) {
    int left = w - 32 * c;
    ZydisRegister k0 = left < 16 ? kreg(1) : ZYDIS_REGISTER_K0;
    ZydisRegister k1 = left > 16 && left < 32 ? kreg(2) : ZYDIS_REGISTER_K0;
    for (int r = 0; r < 2; r++)
      OSC_X86_EVEX(a, VMOVUPS, k0, k0 == ZYDIS_REGISTER_K0 ? 0 : OSC_X86_ZERO, osc_x86_r(zmm(r)),
                   osc_x86_m(OSC_PX_X, 128LL * c, 64));
    if (left > 16)
      OSC_X86_EVEX(a, VMOVUPS, k1, k1 == ZYDIS_REGISTER_K0 ? 0 : OSC_X86_ZERO, osc_x86_r(zmm(2)),
                   osc_x86_m(OSC_PX_X, 128LL * c + 64, 64));
    else
      zero(g, a, 2);
    for (int r = 0; r < 2; r++) {
      OSC_X86_EVEX(a, VPERMT2PS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(28 + r)),
                   osc_x86_r(zmm(2)));
      OSC_X86_EVEX(a, VMOVUPS, ZYDIS_REGISTER_K0, 0,
                   osc_x86_m(OSC_PX_XROW, 64LL * c + r * 2 * g->xw, 64), osc_x86_r(zmm(r)));
    }
  }
}

/* A weight that multiplies two vectors or more is broadcast once into the
** register after the tile's (when one is free: at stride 2 zmm30, the
** second load's, is free once the tap's loads are done; zmm31 is not),
** then register FMAs: 8 + 3 loads for a tile of 8 x 3 instead of 24 + 3,
** which measured 1.2-1.5x faster on Zen 5 (README Figures). A weight of
** one vector stays a broadcast from memory. */
static void madd(osc_px *g, osc_x86 *a, const int *acc, const int *x, const int *live, int pv,
                long long w_off, const int *k) {
  int n = 0, b = x[pv - 1] + 1;
  for (int i = 0; i < pv; i++) n += live[i];
  if (n > 1 && b < (g->s->stride_w == 2 ? PERM : 32)) {
    OSC_X86_EVEX(a, VBROADCASTSS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(b)), osc_x86_m(OSC_PX_WK, w_off, 4));
    for (int i = 0; i < pv; i++)
      if (live[i])
        OSC_X86_EVEX(a, VFMADD231PS, kreg(k ? k[i] : 0), 0, osc_x86_r(zmm(acc[i])),
                     osc_x86_r(zmm(x[i])), osc_x86_r(zmm(b)));
    return;
  }
  for (int i = 0; i < pv; i++)
    if (live[i])
      OSC_X86_EVEX(a, VFMADD231PS, kreg(k ? k[i] : 0), OSC_X86_BCST, osc_x86_r(zmm(acc[i])),
                   osc_x86_r(zmm(x[i])), osc_x86_m(OSC_PX_WK, w_off, 4));
}

/* Merge-masked multiply-adds (oscpx.c, "Masked multiply-adds"): each
** partial mask's register, k7 loaded for the one that has none. */
static void fma_masks(osc_px *g, osc_x86 *a, const unsigned *lanes, int pv, int *k) {
  int in_k7 = 0;
  for (int i = 0; i < pv; i++) {
    ZydisRegister r = lanes[i] ? mask_reg(g, a, lanes[i]) : ZYDIS_REGISTER_K0;
    k[i] = (int)(r - ZYDIS_REGISTER_K0);
    in_k7 += k[i] == 7;
  }
  assert(in_k7 <= 1);   /* k7 holds one mask at a time */
  (void)in_k7;
}

/* +0.0 by xor, else the bits through r13d */
static void splat(osc_px *g, osc_x86 *a, int r, float v) {
  if (osc_px_splat_bits(g, a, r, v))
    OSC_X86_EVEX(a, VPBROADCASTD, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)),
                 osc_x86_r(OSC_PX_TMP32));
}

static void store(osc_px *g, osc_x86 *a, int r, int lo, int hi, long long b_off, unsigned m,
                  long long off) {
  if (g->bias)
    OSC_X86_EVEX(a, VADDPS, ZYDIS_REGISTER_K0, OSC_X86_BCST, osc_x86_r(zmm(r)), osc_x86_r(zmm(r)),
                 osc_x86_m(OSC_PX_BIAS, b_off, 4));
  if (g->residual)   /* masked: the lanes past the row's end are not read */
    OSC_X86_EVEX(a, VADDPS, mask_reg(g, a, m), 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(r)),
                 osc_x86_m(OSC_PX_RROW, off, 64));
  if (g->relu)   /* the second operand comes back when either is NaN */
    OSC_X86_EVEX(a, VMAXPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(lo)),
                 osc_x86_r(zmm(r)));
  if (g->clamped)   /* likewise */
    OSC_X86_EVEX(a, VMINPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(r)), osc_x86_r(zmm(hi)),
                 osc_x86_r(zmm(r)));
  OSC_X86_EVEX(a, VMOVUPS, mask_reg(g, a, m), 0, osc_x86_m(OSC_PX_OROW, off, 64),
               osc_x86_r(zmm(r)));
}

static void epilogue(osc_px *g, osc_x86 *a) {
  (void)g;
  osc_x86_ins(a, ZYDIS_MNEMONIC_VZEROUPPER, 0, NULL);
}

/* accumulators + vectors <= 30 (zmm30, 31 for stride 2), accumulators <= 24 */
static const int pv_max[OSC_PX_MAX_OCT + 1] = {0, 8, 8, 7, 6, 4, 4, 3, 3};

const osc_px_isa osc_px_avx512 = {
    .kernel = "avx512_px", .pw_kernel = "avx512_pw", .isa = OSC_ISA_AVX512, .lanes = 16,
    .max_oct = 8, .pv_max = pv_max, .max_stride_w = 2, .keep_even = 1, .prologue = prologue,
    .zero = zero, .load = load, .load_even = load_even, .split_row = split_row, .fma = madd,
    .fma_masks = fma_masks, .splat = splat, .store = store, .epilogue = epilogue};

OSC_PX_STAGE_KERNEL(avx512, px, osc_px_avx512, OSC_ISA_AVX512, 0);

/*
** kernel_avx512_px.c -- AVX-512F, lanes over pixels: stride-1 stages of any
** kernel (grouped KxK, Kx1, 1xK, pointwise 1x1, depthwise) on NCHW.
**
** A zmm holds 16 consecutive output pixels of one output row of one channel
** (a row is ceil(w_out/16) such vectors, the last one masked). A register
** tile is OCT output channels (up to 8) x PV pixel vectors (OCT*PV <= 24
** accumulators; PV up to 8 when OCT is small): consecutive rows x a run of
** a row's vectors. Per input channel and tap: PV loads, then OCT*PV
** `vfmadd231ps acc, x, dword [w]{1to16}` (the weight broadcast from memory).
** Zero padding is lane masks on the loads ({z}: masked lanes read nothing
** and cannot fault), tails are masks on the loads and stores; a vector
** whose lanes are all padding for a tap is left out of that tap. Rows whose
** taps fall above or below the input get their own code with those taps
** left out; the interior rows loop. The input channels loop (unrolled by a
** divisor of the fan-in, up to about MAX_BODY instructions a body). Bias
** (a broadcast add), ReLU (vmaxps acc, 0, acc: a NaN stays NaN, like
** torch.relu) and the folded shuffle (the tile's channels stored at the
** stride of the shuffled layout) are in the store.
**
** One machine-code function covers one tile of output channels over the
** whole plane; a C loop over groups and tiles calls it with pointers
** (args: in, out, w, bias of the tile). A group whose outputs do not fill
** whole tiles gets a second function for the smaller last tile.
*/
#include "osckernel.h"

#include <stdio.h>

#include "oscerr.h"
#include "oscsimd.h"
#include "oscx86.h"

#define LANES 16
#define MAX_OCT 8
#define MAX_PV 8
#define MAX_BODY 480     /* instructions in one input-channel loop body */
#define BYTE_LIMIT 2147483647LL

/* General registers (all saved by the code itself). */
#define R_ARGS ZYDIS_REGISTER_RDI
#define R_IN ZYDIS_REGISTER_RSI
#define R_OUT ZYDIS_REGISTER_RDX
#define R_W ZYDIS_REGISTER_RCX
#define R_BIAS ZYDIS_REGISTER_R8
#define R_ROWS ZYDIS_REGISTER_R9
#define R_XROW ZYDIS_REGISTER_R10
#define R_OROW ZYDIS_REGISTER_R11
#define R_X ZYDIS_REGISTER_RAX
#define R_WK ZYDIS_REGISTER_RBX
#define R_IC ZYDIS_REGISTER_R12
#define R_TMP ZYDIS_REGISTER_R13
#define R_TMP32 ZYDIS_REGISTER_R13D

static const ZydisRegister saved[] = {R_X,    R_WK,   R_W,    R_OUT,  R_IN, R_BIAS,
                                      R_ROWS, R_XROW, R_OROW, R_IC,   R_TMP};

static ZydisRegister zmm(int i) { return (ZydisRegister)(ZYDIS_REGISTER_ZMM0 + i); }
static ZydisRegister kreg(int i) { return (ZydisRegister)(ZYDIS_REGISTER_K0 + i); }

/* Accumulators per tile by tile channels: OCT*PV <= 24, PV x vectors in zmm24.. */
static int pv_max(int oct) {
  static const int pv[MAX_OCT + 1] = {0, 8, 8, 7, 6, 4, 4, 3, 3};
  return pv[oct];
}

typedef struct px_vec { int dr, c0, width; } px_vec;

typedef struct px_gen {
  const osc_stage *s;
  int n, m, khkw, oct, bias, relu;
  int cpr;                        /* vectors per output row */
  int tr;                         /* rows per interior tile */
  int nseg, seg[MAX_PV + 1];      /* a row's vectors in segments [seg[i], seg[i+1]) */
  long long x_ic, w_oc, o_oc;     /* bytes between input channels, weight rows, outputs */
  unsigned kval[8];               /* mask values preloaded in k1..k6 */
  int nk;
} px_gen;

/* ---- shape ------------------------------------------------------------------------- */

/* Tiles of a group's m outputs: as few as fit MAX_OCT, as even as can be. */
static int tile_oct(int m) {
  int tiles = (m + MAX_OCT - 1) / MAX_OCT;
  return (m + tiles - 1) / tiles;
}

static void setup(const osc_stage_job *j, int oct, px_gen *g) {
  const osc_stage *s = j->s;
  int pvm = pv_max(oct);
  g->s = s;
  g->n = s->c_in / s->groups;
  g->m = s->c_out / s->groups;
  g->khkw = s->k_h * s->k_w;
  g->oct = oct;
  g->bias = j->bias;
  g->relu = j->relu;
  g->cpr = (s->w_out + LANES - 1) / LANES;
  if (g->cpr <= pvm) {
    g->tr = pvm / g->cpr;
    g->nseg = 1;
  } else {
    g->tr = 1;
    g->nseg = (g->cpr + pvm - 1) / pvm;
  }
  if (g->nseg > MAX_PV) g->nseg = MAX_PV;   /* never: cpr is bounded by applies() */
  for (int i = 0; i <= g->nseg; i++) g->seg[i] = i * g->cpr / g->nseg;
  g->x_ic = 4LL * s->h_in * s->w_in;
  g->w_oc = 4LL * g->n * g->khkw;
  g->o_oc = 4LL * s->h_out * s->w_out * (j->last ? 1 : s->groups);
  g->nk = 0;
}

/* Lanes of vector v that read real input at tap column sc. */
static unsigned load_mask(const px_gen *g, const px_vec *v, int sc) {
  unsigned m = 0;
  for (int l = 0; l < v->width; l++) {
    int iw = v->c0 + l + sc - g->s->pad_w;
    if (iw >= 0 && iw < g->s->w_in) m |= 1u << l;
  }
  return m;
}

static unsigned store_mask(const px_vec *v) { return (1u << v->width) - 1; }

/* ---- code ------------------------------------------------------------------------- */

/* The k register holding mask value m: k0 when full, a preloaded one, or k7
** loaded here. */
static ZydisRegister mask_reg(px_gen *g, osc_x86 *a, unsigned m) {
  if (m == 0xffff) return ZYDIS_REGISTER_K0;
  for (int i = 0; i < g->nk; i++)
    if (g->kval[i] == m) return kreg(1 + i);
  OSC_X86(a, MOV, osc_x86_r(R_TMP32), osc_x86_i(m));
  OSC_X86(a, KMOVW, osc_x86_r(kreg(7)), osc_x86_r(R_TMP32));
  return kreg(7);
}

static void note_mask(px_gen *g, unsigned m, unsigned *seen, int *n_seen) {
  if (m == 0 || m == 0xffff) return;
  for (int i = 0; i < *n_seen; i++)
    if (seen[i] == m) return;
  if (*n_seen < 64) seen[(*n_seen)++] = m;
  (void)g;
}

/* Masks the code uses most (every vector x tap column, every store): the
** first six distinct ones live in k1..k6 for the whole function. */
static void preload_masks(px_gen *g, osc_x86 *a) {
  unsigned seen[64];
  int n_seen = 0;
  for (int c = 0; c < g->cpr; c++) {
    px_vec v = {0, c * LANES, g->s->w_out - c * LANES < LANES ? g->s->w_out - c * LANES : LANES};
    note_mask(g, store_mask(&v), seen, &n_seen);
    for (int sc = 0; sc < g->s->k_w; sc++) note_mask(g, load_mask(g, &v, sc), seen, &n_seen);
  }
  for (int i = 0; i < n_seen && i < 6; i++) {
    OSC_X86(a, MOV, osc_x86_r(R_TMP32), osc_x86_i(seen[i]));
    OSC_X86(a, KMOVW, osc_x86_r(kreg(1 + i)), osc_x86_r(R_TMP32));
    g->kval[g->nk++] = seen[i];
  }
}

/* The largest divisor u of the fan-in with u bodies of taps within MAX_BODY. */
static int ic_unroll(const px_gen *g, int taps, int pv) {
  int per = taps * (pv + g->oct * pv), u = per > 0 ? MAX_BODY / per : g->n;
  return osc_kernel_largest_divisor(g->n, u < 1 ? 1 : u);
}

/* One tile: nrows rows from R_XROW / R_OROW (the tile's first output row,
** R_XROW at its input row minus the padding), vectors [c_lo, c_hi) of each
** row, kernel rows [r_lo, r_hi) (the ones inside the input). */
static void tile(px_gen *g, osc_x86 *a, int nrows, int r_lo, int r_hi, int c_lo, int c_hi) {
  const osc_stage *s = g->s;
  px_vec v[MAX_PV];
  int pv = 0, oct = g->oct, taps = (r_hi - r_lo) * s->k_w, u, iters, top = 0;
  for (int dr = 0; dr < nrows; dr++)
    for (int c = c_lo; c < c_hi; c++)
      v[pv++] = (px_vec){dr, c * LANES, s->w_out - c * LANES < LANES ? s->w_out - c * LANES : LANES};
  for (int i = 0; i < oct * pv; i++)
    OSC_X86_EVEX(a, VPXORD, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(i)), osc_x86_r(zmm(i)),
                 osc_x86_r(zmm(i)));
  u = ic_unroll(g, taps, pv);
  iters = taps ? g->n / u : 0;
  if (iters) {
    OSC_X86(a, MOV, osc_x86_r(R_X), osc_x86_r(R_XROW));
    OSC_X86(a, MOV, osc_x86_r(R_WK), osc_x86_r(R_W));
  }
  if (iters > 1) {
    OSC_X86(a, MOV, osc_x86_r(R_IC), osc_x86_i(iters));
    top = osc_x86_label(a);
  }
  for (int ic = 0; ic < u && iters; ic++)
    for (int r = r_lo; r < r_hi; r++)
      for (int sc = 0; sc < s->k_w; sc++) {
        int live[MAX_PV];
        for (int i = 0; i < pv; i++) {
          unsigned m = load_mask(g, &v[i], sc);
          long long off = ic * g->x_ic + 4LL * ((v[i].dr + r) * s->w_in + v[i].c0 + sc - s->pad_w);
          if (!(live[i] = m != 0)) continue;
          OSC_X86_EVEX(a, VMOVUPS, mask_reg(g, a, m), m == 0xffff ? 0 : OSC_X86_ZERO,
                       osc_x86_r(zmm(24 + i)), osc_x86_m(R_X, off, 64));
        }
        for (int t = 0; t < oct; t++)
          for (int i = 0; i < pv; i++) {
            long long off = t * g->w_oc + 4LL * (ic * g->khkw + r * s->k_w + sc);
            if (!live[i]) continue;
            OSC_X86_EVEX(a, VFMADD231PS, ZYDIS_REGISTER_K0, OSC_X86_BCST, osc_x86_r(zmm(t * pv + i)),
                         osc_x86_r(zmm(24 + i)), osc_x86_m(R_WK, off, 4));
          }
      }
  if (iters > 1) {
    OSC_X86(a, ADD, osc_x86_r(R_X), osc_x86_i(u * g->x_ic));
    OSC_X86(a, ADD, osc_x86_r(R_WK), osc_x86_i(4LL * u * g->khkw));
    OSC_X86(a, DEC, osc_x86_r(R_IC));
    osc_x86_jnz(a, top);
  }
  if (g->relu)
    OSC_X86_EVEX(a, VPXORD, ZYDIS_REGISTER_K0, 0, osc_x86_r(zmm(24)), osc_x86_r(zmm(24)),
                 osc_x86_r(zmm(24)));
  for (int t = 0; t < oct; t++)
    for (int i = 0; i < pv; i++) {
      ZydisRegister acc = zmm(t * pv + i);
      long long off = t * g->o_oc + 4LL * (v[i].dr * s->w_out + v[i].c0);
      if (g->bias)
        OSC_X86_EVEX(a, VADDPS, ZYDIS_REGISTER_K0, OSC_X86_BCST, osc_x86_r(acc), osc_x86_r(acc),
                     osc_x86_m(R_BIAS, 4LL * t, 4));
      if (g->relu)
        OSC_X86_EVEX(a, VMAXPS, ZYDIS_REGISTER_K0, 0, osc_x86_r(acc), osc_x86_r(zmm(24)),
                     osc_x86_r(acc));
      OSC_X86_EVEX(a, VMOVUPS, mask_reg(g, a, store_mask(&v[i])), 0, osc_x86_m(R_OROW, off, 64),
                   osc_x86_r(acc));
    }
}

/* Every segment of nrows rows at the current row pointers. */
static void row_tiles(px_gen *g, osc_x86 *a, int nrows, int r_lo, int r_hi) {
  for (int i = 0; i < g->nseg; i++) tile(g, a, nrows, r_lo, r_hi, g->seg[i], g->seg[i + 1]);
}

/* Point R_XROW / R_OROW at output row oh. */
static void rows_at(px_gen *g, osc_x86 *a, int oh) {
  const osc_stage *s = g->s;
  OSC_X86(a, LEA, osc_x86_r(R_XROW), osc_x86_m(R_IN, 4LL * (oh - s->pad_h) * s->w_in, 8));
  OSC_X86(a, LEA, osc_x86_r(R_OROW), osc_x86_m(R_OUT, 4LL * oh * s->w_out, 8));
}

/* A border row: only the kernel rows that land inside the input. */
static void border_row(px_gen *g, osc_x86 *a, int oh) {
  const osc_stage *s = g->s;
  int r_lo = s->pad_h - oh > 0 ? s->pad_h - oh : 0;
  int r_hi = s->h_in + s->pad_h - oh < s->k_h ? s->h_in + s->pad_h - oh : s->k_h;
  if (r_hi < r_lo) r_hi = r_lo;
  rows_at(g, a, oh);
  row_tiles(g, a, 1, r_lo, r_hi);
}

/* The whole function for tiles of `oct` output channels. */
static void gen_function(const osc_stage_job *j, int oct, osc_x86 *a) {
  const osc_stage *s = j->s;
  px_gen g;
  int lo, hi, full, rem;
  setup(j, oct, &g);
  osc_kernel_interior(s->h_in, s->k_h, 1, s->pad_h, s->h_out, &lo, &hi);
  osc_x86_save(a, saved, (int)(sizeof saved / sizeof saved[0]));
  OSC_X86(a, MOV, osc_x86_r(R_IN), osc_x86_m(R_ARGS, 0, 8));
  OSC_X86(a, MOV, osc_x86_r(R_OUT), osc_x86_m(R_ARGS, 8, 8));
  OSC_X86(a, MOV, osc_x86_r(R_W), osc_x86_m(R_ARGS, 16, 8));
  OSC_X86(a, MOV, osc_x86_r(R_BIAS), osc_x86_m(R_ARGS, 24, 8));
  preload_masks(&g, a);
  for (int oh = 0; oh < lo; oh++) border_row(&g, a, oh);
  if (g.tr > hi - lo) g.tr = hi - lo > 0 ? hi - lo : 1;
  full = (hi - lo) / g.tr;
  rem = (hi - lo) % g.tr;
  if (hi > lo) {
    int top = 0;
    rows_at(&g, a, lo);
    if (full > 1) {
      OSC_X86(a, MOV, osc_x86_r(R_ROWS), osc_x86_i(full));
      top = osc_x86_label(a);
    }
    row_tiles(&g, a, g.tr, 0, s->k_h);
    if (full > 1 || rem) {
      OSC_X86(a, ADD, osc_x86_r(R_XROW), osc_x86_i(4LL * g.tr * s->w_in));
      OSC_X86(a, ADD, osc_x86_r(R_OROW), osc_x86_i(4LL * g.tr * s->w_out));
    }
    if (full > 1) {
      OSC_X86(a, DEC, osc_x86_r(R_ROWS));
      osc_x86_jnz(a, top);
    }
    if (rem) row_tiles(&g, a, rem, 0, s->k_h);
  }
  for (int oh = hi; oh < s->h_out; oh++) border_row(&g, a, oh);
  osc_x86_restore(a, saved, (int)(sizeof saved / sizeof saved[0]));
  osc_x86_ins(a, ZYDIS_MNEMONIC_VZEROUPPER, 0, NULL);
}

/* ---- the strategy --------------------------------------------------------------------- */

static const char *inapplicable(const osc_stage_job *j) {
  const osc_stage *s = j->s;
  if (osc_simd_cap(j) < OSC_ISA_AVX512) return "the ISA is below avx512";
  if (s->stride_h != 1 || s->stride_w != 1) return "the stage is strided";
  if ((s->w_out + LANES - 1) / LANES > MAX_PV * pv_max(MAX_OCT)) return "the rows are too wide";
  if (4LL * s->c_in * s->h_in * s->w_in > BYTE_LIMIT ||
      4LL * s->c_out * s->h_out * s->w_out > BYTE_LIMIT)
    return "a tensor is beyond 2 GiB";
  if (s->h_out > 512) return "more than 512 output rows";
  return NULL;
}

/* Vector instructions executed (FMAs and loads), padded lanes included: one
** vector instruction costs about one scalar multiply-add of the portable
** kernels under tcc, so this is well below them wherever it applies. */
static double cost(const osc_stage_job *j) {
  const osc_stage *s = j->s;
  double vecs = (double)s->h_out * ((s->w_out + LANES - 1) / LANES);
  int oct = tile_oct(s->c_out / s->groups);
  double per = (double)(s->c_in / s->groups) * s->k_h * s->k_w;
  return vecs * per * ((double)s->c_out + (double)s->c_out / oct);
}

static void c_params(osc_buf *out, const osc_stage_job *j) {
  osc_buf_printf(out, "const float *restrict in, float *restrict out, const float *restrict w%s",
                 j->bias ? ", const float *restrict bias" : "");
}

/* The C loop over groups and tiles of output channels. */
static void glue(osc_buf *out, const osc_stage_job *j, int oct, int tail) {
  const osc_stage *s = j->s;
  int n = s->c_in / s->groups, m = s->c_out / s->groups;
  osc_buf_printf(out, "static void %s(", j->fname);
  c_params(out, j);
  osc_buf_printf(out, ") {\n  static void (*const volatile full)(const void *) = %s_t%d;\n",
                 j->fname, oct);
  if (tail != oct)
    osc_buf_printf(out, "  static void (*const volatile tail)(const void *) = %s_t%d;\n",
                   j->fname, tail);
  osc_buf_printf(out,
                 "  const void *a[4];\n  int gr, j;\n"
                 "  for (gr = 0; gr < %d; gr++)\n"
                 "    for (j = 0; j < %d; j += %d) {\n"
                 "      a[0] = in + gr * %lld;\n", s->groups, m, oct,
                 (long long)n * s->h_in * s->w_in);
  if (j->last)
    osc_buf_printf(out, "      a[1] = out + (gr * %d + j) * %lld;\n", m,
                   (long long)s->h_out * s->w_out);
  else
    osc_buf_printf(out, "      a[1] = out + (j * %d + gr) * %lld;\n", s->groups,
                   (long long)s->h_out * s->w_out);
  osc_buf_printf(out, "      a[2] = w + (gr * %d + j) * %lld;\n", m, (long long)n * s->k_h * s->k_w);
  if (j->bias) osc_buf_printf(out, "      a[3] = bias + gr * %d + j;\n", m);
  else osc_buf_puts(out, "      a[3] = 0;\n");
  if (tail != oct) osc_buf_printf(out, "      if (j + %d <= %d) full(a); else tail(a);\n", oct, m);
  else osc_buf_puts(out, "      full(a);\n");
  osc_buf_puts(out, "    }\n}\n");
}

static osc_status emit(const osc_stage_job *j, osc_buf *out, osc_error *err) {
  const osc_stage *s = j->s;
  int m = s->c_out / s->groups, oct = tile_oct(m), tiles = (m + oct - 1) / oct;
  int sizes[2] = {oct, m - (tiles - 1) * oct};
  char name[300];
  osc_buf_printf(out, "/* stage %d: avx512_px -- %d output channel%s x up to %d vectors of 16 "
                 "pixels per tile (gen/x86/kernel_avx512_px.c) */\n#if defined(__x86_64__)\n",
                 j->index + 1, oct, oct > 1 ? "s" : "", pv_max(oct));
  for (int i = 0; i < (sizes[1] != oct ? 2 : 1); i++) {
    osc_x86 a;
    const char *why;
    osc_x86_init(&a);
    gen_function(j, sizes[i], &a);
    if ((why = osc_x86_error(&a))) {
      osc_status st = osc_error_layer(err, OSC_EINTERNAL, &j->plan->layer,
                                      "stage %d: encoding failed: %s", j->index + 1, why);
      osc_x86_free(&a);
      return st;
    }
    snprintf(name, sizeof name, "%s_t%d", j->fname, sizes[i]);
    osc_simd_asm_function(out, name, &a);
    osc_x86_free(&a);
  }
  glue(out, j, oct, sizes[1]);
  if (!j->dispatched)
    osc_buf_puts(out, "#else\n#error \"generated for x86-64 avx512 (osconv gen --isa avx512)\"\n");
  osc_buf_puts(out, "#endif\n");
  return OSC_OK;
}

const osc_stage_kernel osc_kernel_avx512_px = {"avx512_px", "(encoded: gen/x86/kernel_avx512_px.c)",
                                               inapplicable, cost, emit, OSC_ISA_AVX512};

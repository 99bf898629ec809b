/*
** oscoc.c -- lanes over output channels (oscoc.h), for an ISA table
** (osc_oc_isa): the tiling of the plane into blocks of rows and tiles of
** pixels, the per-pixel taps, the fan-in loop, the C glue over groups and
** channel blocks, the opt-in, and the pack function.
*/
#include "oscoc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscerr.h"
#include "oscsimd.h"

#define LANES OSC_OC_LANES
#define MAX_BODY 480          /* instructions in one input-channel loop body */
#define FLAT_CODE 12000.0     /* a plane whose tiles fit in this many instructions is one block */
#define MAX_CODE_INS 60000.0  /* past this, the portable kernels (as oscpx.c) */
#define MAX_ROWS 8            /* rows of an interior block */
#define BYTE_LIMIT 2147483647LL

/* General registers (all saved by the code itself). */
#define ARGS OSC_OC_ARGS
#define IN ZYDIS_REGISTER_RSI
#define OUT ZYDIS_REGISTER_RDX
#define W ZYDIS_REGISTER_RCX
#define BIAS OSC_OC_BIAS
#define ROWS ZYDIS_REGISTER_R9
#define XROW ZYDIS_REGISTER_R10
#define OROW OSC_OC_OROW
#define X ZYDIS_REGISTER_RAX
#define WK ZYDIS_REGISTER_RBX
#define IC ZYDIS_REGISTER_R12
#define IDXP OSC_OC_IDXP
#define RES ZYDIS_REGISTER_RBP
#define RROW OSC_OC_RROW

static const ZydisRegister saved[] = {X, WK, W, OUT, IN, BIAS, ROWS, XROW, OROW, IC,
                                      ZYDIS_REGISTER_R13, IDXP, RES, RROW};
#define N_SAVED ((int)(sizeof saved / sizeof saved[0]) - 2)   /* the last two: a residual */

/* Vector registers: accumulators (v, p) at v*npx + p, the NV weight
** vectors and the broadcast after them; the store's constants where the
** ISA keeps them (kernel_avx512_oc.c: zmm29-31; kernel_avx2_oc.c: the
** weights' registers, free by then). */

typedef struct oc_pix { int dr, ow, oh; } oc_pix;   /* row in the block, column, absolute row */

/* ---- the shape ------------------------------------------------------------------------ */

/* Channel vectors per tile: as many as divide the group's (up to 4, the
** most accumulators), but few enough that the tile's weights stay in L2
** (every pixel tile of the plane streams them again: C512 7x7 ran at
** 0.96x the pixel shape with 4 vectors, 1.2 MB, 1.24x with 2). */
#define L2_WEIGHTS (640 * 1024)
static int tile_ocv(const osc_oc_isa *x, const osc_stage *s) {
  long long per = 64LL * (s->c_in / s->groups) * s->k_h * s->k_w;
  int cap = x->max_ocv;
  while (cap > 1 && cap * per > L2_WEIGHTS) cap--;
  return osc_kernel_largest_divisor(s->c_out / s->groups / LANES, cap);
}

/* Tiles for p pixels, at most px_max each. */
static int tiles_for(const osc_oc_isa *x, int p, int ocv) {
  return (p + x->px_max[ocv] - 1) / x->px_max[ocv];
}

/* Instructions of one tile's code, roughly: the fan-in body (within
** MAX_BODY but for one input channel's taps) and the store. */
static double tile_code(const osc_oc_isa *x, const osc_stage *s, int ocv) {
  int npx = x->px_max[ocv], nv = ocv * x->vpb;
  double per = (double)s->k_h * s->k_w * (nv + npx + (nv > 1 ? nv * npx : npx));
  double body = per * (s->c_in / s->groups);
  if (body > MAX_BODY) body = per > MAX_BODY ? per : MAX_BODY;
  return body + 8.0 + nv * npx * (double)x->store_ins;
}

/* The interior block's rows: the fewest (up to MAX_ROWS) whose pixels
** fill their tiles best. */
static int block_rows(const osc_oc_isa *x, const osc_stage *s, int ocv) {
  int best = 1;
  double best_fill = 0;
  for (int r = 1; r <= MAX_ROWS; r++) {
    int p = r * s->w_out;
    double fill = (double)p / (tiles_for(x, p, ocv) * x->px_max[ocv]);
    if (fill > best_fill + 1e-9) best = r, best_fill = fill;
  }
  return best;
}

/* The plane as one block (every pixel's taps its own). */
static int is_flat(const osc_oc_isa *x, const osc_stage *s, int ocv) {
  return tiles_for(x, s->h_out * s->w_out, ocv) * tile_code(x, s, ocv) <= FLAT_CODE;
}

static double code_estimate(const osc_oc_isa *x, const osc_stage *s) {
  int ocv = tile_ocv(x, s), lo, hi, r = block_rows(x, s, ocv);
  double rows;
  if (is_flat(x, s, ocv)) return tiles_for(x, s->h_out * s->w_out, ocv) * tile_code(x, s, ocv);
  osc_kernel_interior(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out, &lo, &hi);
  rows = hi > lo ? lo + (s->h_out - hi) + 2.0 * r : s->h_out;
  return rows * tiles_for(x, s->w_out, ocv) * tile_code(x, s, ocv);
}

/* ---- one tile ------------------------------------------------------------------------- */

static int tap_in(const oc_gen *g, const oc_pix *p, int r, int c) {
  const osc_stage *s = g->s;
  int ih = p->oh * s->stride_h + r - s->pad_h, iw = p->ow * s->stride_w + c - s->pad_w;
  return ih >= 0 && ih < s->h_in && iw >= 0 && iw < s->w_in;
}

/* The largest divisor u of the fan-in with u bodies within MAX_BODY. */
static int ic_unroll(const oc_gen *g, int per) {
  int u = per > 0 ? MAX_BODY / per : g->n;
  return osc_kernel_largest_divisor(g->n, u < 1 ? 1 : u);
}

/* One tile of pixels p[0..npx), XROW / OROW at the block's first row. */
static void tile_of(const oc_gen *g, osc_x86 *a, const oc_pix *p, int npx) {
  const osc_stage *s = g->s;
  const osc_oc_isa *x = g->isa;
  int nv = g->nv, wr = nv * npx, b = wr + nv, per = 0, u, iters, top = 0;
  int vb = 64 / x->vpb;   /* a vector's bytes */
  for (int r = 0; r < s->k_h; r++)
    for (int c = 0; c < s->k_w; c++) {
      int live = 0;
      for (int i = 0; i < npx; i++) live += tap_in(g, &p[i], r, c);
      if (live) per += nv + live * (nv > 1 || !x->fma_bcst ? nv + 1 : 1);
    }
  for (int i = 0; i < wr; i++) x->zero(a, i);
  u = ic_unroll(g, per);
  iters = per ? g->n / u : 0;
  if (iters) {
    OSC_X86(a, MOV, osc_x86_r(X), osc_x86_r(XROW));
    OSC_X86(a, MOV, osc_x86_r(WK), osc_x86_r(W));
  }
  if (iters > 1) {
    OSC_X86(a, MOV, osc_x86_r(IC), osc_x86_i(iters));
    top = osc_x86_label(a);
  }
  for (int ic = 0; ic < u && iters; ic++)
    for (int r = 0; r < s->k_h; r++)
      for (int c = 0; c < s->k_w; c++) {
        int t = r * s->k_w + c, live = 0;
        for (int i = 0; i < npx; i++) live += tap_in(g, &p[i], r, c);
        if (!live) continue;
        for (int v = 0; v < nv; v++)   /* vector v: block v / vpb, its part v % vpb */
          OSC_OC_VEC(x, a, VMOVUPS, osc_x86_r(x->vreg(wr + v)),
                     osc_x86_m(WK, v / x->vpb * g->w_blk + 64LL * (ic * g->taps + t) +
                                       v % x->vpb * vb, vb));
        for (int i = 0; i < npx; i++) {
          long long off;
          if (!tap_in(g, &p[i], r, c)) continue;
          off = ic * g->x_ic + 4LL * ((p[i].dr * s->stride_h + r) * (long long)s->w_in +
                                      (long long)p[i].ow * s->stride_w + c - s->pad_w);
          if (nv == 1 && x->fma_bcst) {
            osc_x86_evex(a, ZYDIS_MNEMONIC_VFMADD231PS, ZYDIS_REGISTER_K0, OSC_X86_BCST,
                         OSC_X86_OPS(osc_x86_r(x->vreg(i)), osc_x86_r(x->vreg(wr)),
                                     osc_x86_m(X, off, 4)));
            continue;
          }
          OSC_OC_VEC(x, a, VBROADCASTSS, osc_x86_r(x->vreg(b)), osc_x86_m(X, off, 4));
          for (int v = 0; v < nv; v++)
            OSC_OC_VEC(x, a, VFMADD231PS, osc_x86_r(x->vreg(v * npx + i)),
                       osc_x86_r(x->vreg(wr + v)), osc_x86_r(x->vreg(b)));
        }
      }
  if (iters > 1) {
    OSC_X86(a, ADD, osc_x86_r(X), osc_x86_i(u * g->x_ic));
    OSC_X86(a, ADD, osc_x86_r(WK), osc_x86_i(64LL * u * g->taps));
    OSC_X86(a, DEC, osc_x86_r(IC));
    osc_x86_jnz(a, top);
  }
  if (x->stores) x->stores(g, a, wr);
  for (int v = 0; v < nv; v++)
    for (int i = 0; i < npx; i++)
      x->store(g, a, v * npx + i, v,
               4LL * ((long long)p[i].dr * s->w_out + p[i].ow) + v * (LANES / x->vpb) * g->o_oc,
               wr);
}

/* Rows [r0, r0 + nrows) as one block: its pixels in tiles as even as fit. */
static void block(const oc_gen *g, osc_x86 *a, int r0, int nrows) {
  int w = g->s->w_out, np = nrows * w, nt = tiles_for(g->isa, np, g->ocv);
  for (int t = 0; t < nt; t++) {
    oc_pix p[OSC_OC_MAX_PX];
    int lo = t * np / nt, hi = (t + 1) * np / nt;
    assert(hi - lo <= OSC_OC_MAX_PX);
    for (int q = lo; q < hi; q++) {
      p[q - lo].dr = q / w;
      p[q - lo].ow = q % w;
      p[q - lo].oh = r0 + q / w;
    }
    tile_of(g, a, p, hi - lo);
  }
}

/* XROW / OROW / RROW at output row oh. */
static void rows_at(const oc_gen *g, osc_x86 *a, int oh) {
  const osc_stage *s = g->s;
  OSC_X86(a, LEA, osc_x86_r(XROW),
          osc_x86_m(IN, 4LL * (oh * s->stride_h - s->pad_h) * s->w_in, 8));
  OSC_X86(a, LEA, osc_x86_r(OROW), osc_x86_m(OUT, 4LL * oh * s->w_out, 8));
  if (g->residual) OSC_X86(a, LEA, osc_x86_r(RROW), osc_x86_m(RES, 4LL * oh * s->w_out, 8));
}

/* Interior rows [lo, hi): a loop of blocks of R rows, then the rest. */
static void interior(const oc_gen *g, osc_x86 *a, int lo, int hi) {
  const osc_stage *s = g->s;
  int r = block_rows(g->isa, s, g->ocv), full, rem, top = 0;
  if (hi <= lo) return;
  if (r > hi - lo) r = hi - lo;
  full = (hi - lo) / r;
  rem = (hi - lo) % r;
  rows_at(g, a, lo);
  if (full > 1) {
    OSC_X86(a, MOV, osc_x86_r(ROWS), osc_x86_i(full));
    top = osc_x86_label(a);
  }
  block(g, a, lo, r);
  if (full > 1) {
    OSC_X86(a, ADD, osc_x86_r(XROW), osc_x86_i(4LL * r * s->stride_h * s->w_in));
    OSC_X86(a, ADD, osc_x86_r(OROW), osc_x86_i(4LL * r * s->w_out));
    if (g->residual) OSC_X86(a, ADD, osc_x86_r(RROW), osc_x86_i(4LL * r * s->w_out));
    OSC_X86(a, DEC, osc_x86_r(ROWS));
    osc_x86_jnz(a, top);
  }
  if (rem) {
    rows_at(g, a, lo + full * r);
    block(g, a, lo + full * r, rem);
  }
}

uint32_t osc_oc_bits(float v) {
  union { float f; uint32_t u; } b = {v};
  return b.u;
}

static void gen_function(const oc_gen *g, osc_x86 *a) {
  const osc_stage *s = g->s;
  int lo, hi, n_saved = N_SAVED + (g->residual ? 2 : 0);
  osc_kernel_interior(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out, &lo, &hi);
  osc_x86_save(a, saved, n_saved);
  OSC_X86(a, MOV, osc_x86_r(IN), osc_x86_m(ARGS, 0, 8));
  OSC_X86(a, MOV, osc_x86_r(OUT), osc_x86_m(ARGS, 8, 8));
  OSC_X86(a, MOV, osc_x86_r(W), osc_x86_m(ARGS, 16, 8));
  OSC_X86(a, MOV, osc_x86_r(BIAS), osc_x86_m(ARGS, 24, 8));
  OSC_X86(a, MOV, osc_x86_r(IDXP), osc_x86_m(ARGS, 32, 8));
  if (g->residual) OSC_X86(a, MOV, osc_x86_r(RES), osc_x86_m(ARGS, 40, 8));
  g->isa->prologue(g, a);
  if (is_flat(g->isa, s, g->ocv) || hi <= lo) {
    rows_at(g, a, 0);
    block(g, a, 0, s->h_out);
  } else {
    if (lo) rows_at(g, a, 0), block(g, a, 0, lo);
    interior(g, a, lo, hi);
    if (hi < s->h_out) rows_at(g, a, hi), block(g, a, hi, s->h_out - hi);
  }
  if (g->isa->epilogue) g->isa->epilogue(g, a);
  osc_x86_restore(a, saved, n_saved);
  osc_x86_ins(a, ZYDIS_MNEMONIC_VZEROUPPER, 0, NULL);
}

/* ---- the strategy --------------------------------------------------------------------- */

const char *osc_oc_inapplicable(const osc_oc_isa *x, const osc_stage_job *j) {
  const osc_stage *s = j->s;
  int m = s->c_out / s->groups;
  if (osc_simd_cap(j) < x->isa) return "the ISA allowed is below the kernel's";
  if (m % LANES) return "a group's outputs are not a whole number of 16-channel vectors";
  if (4LL * s->c_in * s->h_in * s->w_in > BYTE_LIMIT ||
      4LL * s->c_out * s->h_out * s->w_out > BYTE_LIMIT)
    return "a tensor is beyond 2 GiB";
  if (s->h_out > 4096 || s->w_out > 4096) return "the plane is beyond 4096 in a dimension";
  if (code_estimate(x, s) > MAX_CODE_INS) return "the unrolled code would be too large";
  return NULL;
}

/* Vector instructions executed, counted as osc_px_cost counts them: the
** multiply-adds of real taps (16 or 8 a vector) and the vector loads that
** feed them (NV per NV x PX; the broadcasts, like the pixel shapes' weight
** broadcasts, are not counted), and the store per output vector (the
** ISA's store_cost: fitted on bench_oc's 1x1 stages of low fan-in, where
** the store decides; README Figures, "Lanes over output channels"). */
double osc_oc_cost(const osc_oc_isa *x, const osc_stage_job *j) {
  const osc_stage *s = j->s;
  double lanes = (double)LANES / x->vpb;
  double fmas = (double)osc_kernel_valid_macs(s) / lanes;
  return fmas * (1.0 + 1.0 / x->px_max[tile_ocv(x, s)]) +
         (double)s->c_out / lanes * s->h_out * s->w_out * x->store_cost;
}

int osc_oc_tiles(const osc_oc_isa *x, const osc_stage_job *j) {
  const osc_stage *s = j->s;
  return s->groups * (s->c_out / s->groups / LANES / tile_ocv(x, s));
}

static void setup(const osc_oc_isa *x, const osc_stage_job *j, oc_gen *g) {
  const osc_stage *s = j->s;
  memset(g, 0, sizeof *g);
  g->s = s;
  g->isa = x;
  g->n = s->c_in / s->groups;
  g->m = s->c_out / s->groups;
  g->taps = s->k_h * s->k_w;
  g->ocv = tile_ocv(x, s);
  g->nv = g->ocv * x->vpb;
  g->bias = j->bias;
  g->relu = j->relu;
  g->clamped = j->clamped;
  g->residual = j->residual;
  g->lo = strtof(j->act_lo, NULL);   /* %.9g literals: exact */
  g->hi = j->clamped ? strtof(j->act_hi, NULL) : 0.0f;
  g->x_ic = 4LL * s->h_in * s->w_in;
  g->w_blk = 4LL * LANES * g->n * g->taps;
  g->o_oc = 4LL * s->h_out * s->w_out * (j->last ? 1 : s->groups);
}

/* The C loop over tiles [t0, t1): a tile is OCV channel vectors of a group. */
static void glue(osc_buf *out, const osc_stage_job *j, const oc_gen *g) {
  const osc_stage *s = j->s;
  int oct = g->ocv * LANES;
  long long hw = (long long)s->h_out * s->w_out;
  osc_buf_printf(out, "static const int %s_idx[%d] = {", j->fname, LANES);
  for (int l = 0; l < LANES; l++)
    osc_buf_printf(out, "%s%lld", l ? ", " : "", l * g->o_oc / 4);
  osc_buf_puts(out, "};\n");
  osc_buf_printf(out, "static void %s(", j->fname);
  osc_simd_params(out, j);
  osc_buf_printf(out, ") {\n  static void (*const volatile tile)(const void *) = %s_t;\n",
                 j->fname);
  osc_buf_printf(out, "  const void *a[%d];\n  a[4] = %s_idx;\n", j->residual ? 6 : 5, j->fname);
  osc_buf_puts(out, "  for (int t = t0; t < t1; t++) {\n");
  osc_buf_puts(out, "    const int ");
  osc_simd_tile_index(out, s, oct, "t", "gr", "j");
  osc_buf_puts(out, ";\n");
  osc_buf_printf(out, "    a[0] = in + gr * %lld;\n", (long long)g->n * s->h_in * s->w_in);
  if (j->last) osc_buf_printf(out, "    a[1] = out + (gr * %d + j) * %lld;\n", g->m, hw);
  else osc_buf_printf(out, "    a[1] = out + (j * %d + gr) * %lld;\n", s->groups, hw);
  if (j->residual) osc_buf_printf(out, "    a[5] = res + (gr * %d + j) * %lld;\n", g->m, hw);
  osc_buf_printf(out, "    a[2] = w + (gr * %d + j) * %lld;   /* packed: blocks of %d outputs */\n",
                 g->m, (long long)g->n * g->taps, LANES);
  if (j->bias) osc_buf_printf(out, "    a[3] = bias + gr * %d + j;\n", g->m);
  else osc_buf_puts(out, "    a[3] = 0;\n");
  osc_buf_puts(out, "    tile(a);\n  }\n}\n");
}

osc_status osc_oc_emit(const osc_oc_isa *x, const osc_stage_job *j, osc_buf *out,
                       osc_error *err) {
  const osc_stage *s = j->s;
  char name[300];
  const char *why;
  oc_gen g;
  osc_x86 a;
  int lo, hi;
  setup(x, j, &g);
  osc_kernel_interior(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out, &lo, &hi);
  osc_buf_printf(out, "/* stage %d: %s -- tiles of %d x %d output channels x up to %d "
                 "pixels, %s (gen/x86/oscoc.c); its weights packed (%s_pack) */\n"
                 "#if defined(__x86_64__)\n", j->index + 1, x->kernel, g.ocv, LANES,
                 x->px_max[g.ocv],
                 is_flat(x, s, g.ocv) || hi <= lo ? "the plane one block" : "a loop of row blocks",
                 j->prefix);
  osc_x86_init(&a);
  gen_function(&g, &a);
  if ((why = osc_x86_error(&a))) {
    osc_status st = osc_error_layer(err, OSC_EINTERNAL, &j->plan->layer,
                                    "stage %d: encoding failed: %s", j->index + 1, why);
    osc_x86_free(&a);
    return st;
  }
  snprintf(name, sizeof name, "%s_t", j->fname);
  osc_simd_asm_function(out, name, &a);
  osc_x86_free(&a);
  glue(out, j, &g);
  if (!j->dispatched)
    osc_buf_printf(out, "#else\n#error \"generated for x86-64 %s (osconv gen --isa %s)\"\n",
                   osc_isa_name(x->isa), osc_isa_name(x->isa));
  osc_buf_puts(out, "#endif\n");
  return OSC_OK;
}

void osc_oc_emit_pack(const osc_stage_job *j, osc_buf *out) {
  const osc_stage *s = j->s;
  int m = s->c_out / s->groups, n = s->c_in / s->groups, taps = s->k_h * s->k_w;
  osc_buf_printf(out,
    "/* stage %d's weights for the oc kernels: p[((gr*%d + b)*%d + c)*%d + t][l] = w[gr*%d + b*%d + l][c][t] */\n"
    "static void %s_pack(const float *w, float *p) {\n"
    "  for (int gr = 0; gr < %d; gr++)\n"
    "    for (int b = 0; b < %d; b++)\n"
    "      for (int k = 0; k < %d; k++)\n"
    "        for (int l = 0; l < %d; l++)\n"
    "          p[((long)(gr * %d + b) * %d + k) * %d + l] = w[((long)gr * %d + b * %d + l) * %d + k];\n"
    "}\n", j->index + 1, m / LANES, n, taps, m, LANES, j->fname, s->groups, m / LANES, n * taps,
    LANES, m / LANES, n * taps, LANES, m, LANES, n * taps);
}

/* ---- the opt-in ----------------------------------------------------------------------- */

static int named(const osc_stage_job *j, const char *name) {
  return j->knobs && j->knobs->kernel && !strcmp(j->knobs->kernel, name);
}

#define OPT_IN "an opt-in: chosen only when named (its layer takes packed weights)"

const char *osc_oc_forced(const osc_oc_isa *x, const osc_stage_job *j) {
  if (!named(j, x->kernel)) return OPT_IN;
  return osc_oc_inapplicable(x, j);
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

/* Either ISA's by-cost name lets every ISA's by-cost kernel compete (a
** layer with oc_lanes names avx512_oc_auto; on an AVX2 CPU, or under
** OSCONV_ISA=avx2, avx2_oc_auto is the one its cap allows). */
const char *osc_oc_by_cost(const osc_oc_isa *x, const osc_stage_job *j) {
  const char *why;
  double o;
  if (!named(j, osc_oc_avx512.auto_kernel) && !named(j, osc_oc_avx2.auto_kernel)) return OPT_IN;
  if ((why = osc_oc_inapplicable(x, j))) return why;
  o = others(j);
  return o > 0 && o <= osc_oc_cost(x, j) ? "another kernel costs less" : NULL;
}

int osc_oc_kernel(const osc_stage_kernel *k) {
  return k == &osc_kernel_avx512_oc || k == &osc_kernel_avx512_oc_auto ||
         k == &osc_kernel_avx2_oc || k == &osc_kernel_avx2_oc_auto;
}

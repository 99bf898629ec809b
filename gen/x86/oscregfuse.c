/*
** oscregfuse.c -- two pointwise stages fused in registers (oscregfuse.h):
** which pairs, the tile (chunk of the component, vectors a pass) within
** the 32 zmm, the machine code (the pointwise shape's loads, zeroing and
** store from kernel_avx512_px.c through osc_px_isa, its own multiply-adds)
** and the C loop over tiles.
*/
#include "oscregfuse.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscerr.h"
#include "oscpx.h"
#include "oscsimd.h"

#define ZMMS 32
#define MAX_PV 4      /* vectors of pixels a pass */
#define MAX_FANIN 16  /* nA, nB: bounds the unrolled body */

typedef struct pair_shape { int nA, mA, gA, nB, mB, gB, q, last; long long hw; } pair_shape;

static pair_shape shape_of(const osc_stage *A, const osc_stage *B, int last) {
  pair_shape sh;
  sh.gA = A->groups, sh.nA = A->c_in / A->groups, sh.mA = A->c_out / A->groups;
  sh.gB = B->groups, sh.nB = B->c_in / B->groups, sh.mB = B->c_out / B->groups;
  sh.q = sh.nB && sh.gA % sh.nB == 0 ? sh.gA / sh.nB : 0;
  sh.hw = (long long)B->h_out * B->w_out;
  sh.last = last;
  return sh;
}

/* zmm registers of a tile: accumulators, inputs, intermediates */
static int zmms(const pair_shape *sh, int jc, int pv) { return (jc * sh->mB + sh->nA + 1) * pv; }

/* The largest chunk of A outputs (a divisor of mA: every tile alike) that
** fits with one vector, then as many vectors as fit with it: the fewest
** reloads of the inputs first. */
static int choose(const pair_shape *sh, int *jc, int *pv) {
  for (int c = sh->mA; c >= 1; c--) {
    int v = 1;
    if (sh->mA % c || zmms(sh, c, 1) > ZMMS) continue;
    while (v < MAX_PV && zmms(sh, c, v + 1) <= ZMMS) v++;
    *jc = c, *pv = v;
    return 1;
  }
  return 0;
}

/* The rule (README, "Fused pointwise runs"): by default a pair fuses when
** one tile takes all of its component's intermediates (jc = mA: each A
** group's inputs are loaded once a pass). Measured on the bench set at
** max_stages 3, 4 and 16 (Zen 5): layers with those pairs (fan-in 4, 4
** outputs a group: every pair of the 16-stage chains, c64_56_k3's at 4)
** ran 0.84-0.97x the unfused code; with pairs whose component takes 2-4
** tiles (fan-in 8: the inputs reloaded per tile) 1.05-1.38x. OSC_FUSE_REG fuses
** every pair that fits (tests, benchmarks); OSC_FUSE_OFF and block runs
** (knob > 0) none. */
int osc_regfuse_on(int knob) { return knob == OSC_FUSE_REG || knob == 0; }

/* Whether the rule takes r at this knob. */
static int by_rule(int knob, const osc_plan *p, const osc_regfuse *r) {
  const osc_stage *A = &p->stage[r->first];
  return knob == OSC_FUSE_REG || r->jc == A->c_out / A->groups;
}

int osc_regfuse_fits(const osc_plan *p, int i, const osc_stage_kernel *ka,
                     const osc_stage_kernel *kb, long long src, long long dst, int knob,
                     osc_regfuse *r) {
  pair_shape sh;
  memset(r, 0, sizeof *r);
  if (i + 1 >= p->n_stages || ka != &osc_kernel_avx512_pw || kb != ka) return 0;
  if (src >= 0 && src == dst) return 0;   /* the tiles would overwrite others' inputs */
  sh = shape_of(&p->stage[i], &p->stage[i + 1], i + 2 == p->n_stages);
  if (!sh.q || sh.nA > MAX_FANIN || sh.nB > MAX_FANIN || !choose(&sh, &r->jc, &r->pv)) return 0;
  r->first = i;
  r->tiles = sh.q * (sh.mA / r->jc);
  return by_rule(knob, p, r);
}

/* ---- the machine code ---------------------------------------------------------------- */

static ZydisRegister zmm(int i) { return (ZydisRegister)(ZYDIS_REGISTER_ZMM0 + i); }

static const ZydisRegister saved[] = {OSC_PX_X,    OSC_PX_OROW, OSC_PX_W,  OSC_PX_WK,
                                      OSC_PX_BIAS, OSC_PX_ROWS, OSC_PX_TMP, OSC_PX_RROW};

/* acc += x * [base + off]{1to16} */
static void fma_bcst(osc_x86 *a, int acc, int x, ZydisRegister base, long long off) {
  OSC_X86_EVEX(a, VFMADD231PS, ZYDIS_REGISTER_K0, OSC_X86_BCST, osc_x86_r(zmm(acc)),
               osc_x86_r(zmm(x)), osc_x86_m(base, off, 4));
}

/* Channel (from the tile's first) of the B output o of the tile's A output jj. */
static long long out_channel(const pair_shape *sh, int jj, int o) {
  return sh->last ? (long long)jj * sh->q * sh->mB + o : (long long)o * sh->gB + jj * sh->q;
}

/* pv vectors from OSC_PX_X / OSC_PX_OROW (lanes `mask`): the tile's
** component through both stages. Weights: A's from OSC_PX_W, B's from
** OSC_PX_WK. Registers: accumulator (jj, o, v) (jj*mB + o)*pv + v, input
** (i, v) after them, the intermediates last. */
static void body(osc_px *g, osc_x86 *a, const pair_shape *sh, int jc, int pv, unsigned mask) {
  const osc_px_isa *x = g->isa;
  int nacc = jc * sh->mB * pv, xr = nacc, tr = nacc + sh->nA * pv;
  long long plane = 4 * sh->hw;
  for (int r = 0; r < nacc; r++) x->zero(g, a, r);
  for (int ai = 0; ai < sh->nB; ai++) {   /* A group ai of the component: B's input ai */
    for (int i = 0; i < sh->nA; i++)
      for (int v = 0; v < pv; v++)
        x->load(g, a, xr + i * pv + v, mask, (ai * sh->nA + i) * plane + 64LL * v);
    for (int jj = 0; jj < jc; jj++) {
      for (int v = 0; v < pv; v++) x->zero(g, a, tr + v);
      for (int i = 0; i < sh->nA; i++)
        for (int v = 0; v < pv; v++)
          fma_bcst(a, tr + v, xr + i * pv + v, OSC_PX_W, 4LL * ((ai * sh->mA + jj) * sh->nA + i));
      for (int o = 0; o < sh->mB; o++)
        for (int v = 0; v < pv; v++)
          fma_bcst(a, (jj * sh->mB + o) * pv + v, tr + v, OSC_PX_WK,
                   4LL * (((long long)jj * sh->q * sh->mB + o) * sh->nB + ai));
    }
  }
  /* the bounds in the intermediate and first input registers, free now */
  if (g->relu) x->splat(g, a, tr, g->lo);
  if (g->clamped) x->splat(g, a, xr, g->hi);
  for (int jj = 0; jj < jc; jj++)
    for (int o = 0; o < sh->mB; o++)
      for (int v = 0; v < pv; v++)
        x->store(g, a, (jj * sh->mB + o) * pv + v, tr, xr,
                 4LL * ((long long)jj * sh->q * sh->mB + o), mask,
                 out_channel(sh, jj, o) * plane + 64LL * v);
}

static void advance(osc_px *g, osc_x86 *a, int bytes) {
  OSC_X86(a, ADD, osc_x86_r(OSC_PX_X), osc_x86_i(bytes));
  OSC_X86(a, ADD, osc_x86_r(OSC_PX_OROW), osc_x86_i(bytes));
  if (g->residual) OSC_X86(a, ADD, osc_x86_r(OSC_PX_RROW), osc_x86_i(bytes));
}

/* The whole plane: a loop of passes of pv vectors, the whole vectors
** left, the last partial vector masked (its mask in k1, the prologue's). */
static void gen_function(osc_px *g, osc_x86 *a, const pair_shape *sh, int jc, int pv) {
  long long nfull = sh->hw / 16, iters = nfull / pv;
  int rem = (int)(nfull % pv), rest = (int)(sh->hw % 16), top = 0;
  osc_x86_save(a, saved, (int)(sizeof saved / sizeof saved[0]));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_X), osc_x86_m(OSC_PX_ARGS, 0, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_OROW), osc_x86_m(OSC_PX_ARGS, 8, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_W), osc_x86_m(OSC_PX_ARGS, 16, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_BIAS), osc_x86_m(OSC_PX_ARGS, 24, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_WK), osc_x86_m(OSC_PX_ARGS, 32, 8));
  if (g->residual) OSC_X86(a, MOV, osc_x86_r(OSC_PX_RROW), osc_x86_m(OSC_PX_ARGS, 40, 8));
  g->isa->prologue(g, a);
  if (iters > 1) {
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_ROWS), osc_x86_i(iters));
    top = osc_x86_label(a);
  }
  if (iters) body(g, a, sh, jc, pv, osc_px_full(g));
  if (iters && (iters > 1 || rem || rest)) advance(g, a, 64 * pv);
  if (iters > 1) {
    OSC_X86(a, DEC, osc_x86_r(OSC_PX_ROWS));
    osc_x86_jnz(a, top);
  }
  if (rem) body(g, a, sh, jc, rem, osc_px_full(g));
  if (rem && rest) advance(g, a, 64 * rem);
  if (rest) body(g, a, sh, jc, 1, (1u << rest) - 1);
  osc_x86_restore(a, saved, (int)(sizeof saved / sizeof saved[0]));
  g->isa->epilogue(g, a);
}

/* The store's state (osc_px) for B's job: its post-ops, the tail's mask. */
static void store_state(const osc_stage_job *jb, const pair_shape *sh, osc_px *g) {
  memset(g, 0, sizeof *g);
  g->isa = &osc_px_avx512;
  g->s = jb->s;
  g->bias = jb->bias;
  g->relu = jb->relu;
  g->clamped = jb->clamped;
  g->residual = jb->residual;
  g->lo = strtof(jb->act_lo, NULL);
  g->hi = jb->clamped ? strtof(jb->act_hi, NULL) : 0.0f;
  if (sh->hw % 16) g->mask[g->n_masks++] = (1u << (sh->hw % 16)) - 1;
}

/* The C loop over tiles: tile t is component t / chunks, A outputs from
** j0 = t % chunks * jc. */
static void glue(const osc_regfuse *r, const pair_shape *sh, const osc_stage_job *j,
                 const long long *woff, osc_buf *out) {
  const osc_stage_job *jb = &j[1];
  int chunks = sh->mA / r->jc;
  long long hw = sh->hw;
  osc_buf_printf(out, "static void %s(const float *in, float *out, "
                 "const float *restrict weights%s%s, float *buf, int t0, int t1) {\n",
                 j[0].fname, jb->bias ? ", const float *restrict bias" : "",
                 jb->residual ? ", const float *res" : "");
  osc_buf_printf(out, "  static void (*const volatile pair)(const void *) = %s_r;\n"
                 "  const void *a[%d];\n  (void)buf;\n", j[0].fname, jb->residual ? 6 : 5);
  osc_buf_printf(out, "  for (int t = t0; t < t1; t++) {\n"
                 "    const int comp = t / %d, j0 = t %% %d * %d;\n", chunks, chunks, r->jc);
  osc_buf_printf(out, "    a[0] = in + comp * %lld;\n", (long long)sh->nB * sh->nA * hw);
  osc_buf_printf(out, "    a[1] = out + (j0 * %d + comp) * %lld;\n", sh->q,
                 sh->last ? sh->mB * hw : hw);
  osc_buf_printf(out, "    a[2] = weights + %lld + (comp * %d + j0) * %d;\n", woff[0],
                 sh->nB * sh->mA, sh->nA);
  if (jb->bias) osc_buf_printf(out, "    a[3] = bias + (j0 * %d + comp) * %d;\n", sh->q, sh->mB);
  else osc_buf_puts(out, "    a[3] = 0;\n");
  osc_buf_printf(out, "    a[4] = weights + %lld + (j0 * %d + comp) * %d;\n", woff[1], sh->q,
                 sh->mB * sh->nB);
  if (jb->residual)
    osc_buf_printf(out, "    a[5] = res + (j0 * %d + comp) * %lld;\n", sh->q, sh->mB * hw);
  osc_buf_puts(out, "    pair(a);\n  }\n}\n");
}

osc_status osc_regfuse_emit(const osc_regfuse *r, const osc_stage_job *j, const long long *woff,
                            osc_buf *out, osc_error *err) {
  pair_shape sh = shape_of(j[0].s, j[1].s, j[1].last);
  char name[300];
  const char *why;
  osc_px g;
  osc_x86 a;
  assert(sh.q && r->jc > 0 && r->pv > 0 && !j[0].bias && !j[0].relu && !j[0].residual);
  osc_buf_printf(out, "/* stages %d-%d fused in registers (gen/x86/oscregfuse.c): %d components "
                 "of %d groups 1x1/g%d -> %d groups 1x1/g%d; tiles of %d intermediate%s x %d "
                 "vector%s of 16 pixels, %d tiles */\n#if defined(__x86_64__)\n", r->first + 1,
                 r->first + 2, sh.q, sh.nB, sh.gA, sh.mA, sh.gB, r->jc, r->jc > 1 ? "s" : "",
                 r->pv, r->pv > 1 ? "s" : "", r->tiles);
  store_state(&j[1], &sh, &g);
  osc_x86_init(&a);
  gen_function(&g, &a, &sh, r->jc, r->pv);
  if ((why = osc_x86_error(&a))) {
    osc_status st = osc_error_layer(err, OSC_EINTERNAL, &j[0].plan->layer,
                                    "stages %d-%d: encoding failed: %s", r->first + 1,
                                    r->first + 2, why);
    osc_x86_free(&a);
    return st;
  }
  snprintf(name, sizeof name, "%s_r", j[0].fname);
  osc_simd_asm_function(out, name, &a);
  osc_x86_free(&a);
  glue(r, &sh, j, woff, out);
  osc_buf_puts(out, "#else\n#error \"generated for x86-64 (osconv gen --isa avx512)\"\n#endif\n");
  return OSC_OK;
}

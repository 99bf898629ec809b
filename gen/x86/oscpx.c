/*
** oscpx.c -- the lanes-over-pixels stage kernels' common part (oscpx.h):
** the tiling of the plane, the row walk (border rows, the interior loop and
** its remainder), the input-channel loop, masks, the C glue over groups
** and tiles. The ISA files give the instructions.
*/
#include "oscpx.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscerr.h"
#include "oscsimd.h"
#include "oscvariant.h"

/* Instructions in one input-channel loop body, the fan-in unrolled up to
** it. Small: the machine code is fetched from L3 or DRAM at every call
** that follows other kernels (`make bench`), so bodies of 480 (16.8 KB a
** tile function for C256 14x14 3x1; 5.8 KB at 120 and at 40) cost more
** there than the loop overhead they saved, and hot the smaller code
** measured as fast or faster; 40 (one fan-in channel a body for all but
** the smallest 1x1 tiles) beat 120 on the pointwise stages (README
** Figures, "Cold data"). */
#define MAX_BODY OSC_VARIANT_BODY
#define BYTE_LIMIT 2147483647LL
/* Past this many encoded instructions per stage the unrolled machine code
** costs more to emit, hold and compile than it saves (a 63x63 kernel with
** 62 border rows of its own would be ~2M instructions, 150 MB of source):
** the portable kernels, which loop over taps, take such stages. */
#define MAX_CODE_INS 60000.0
/* Cold data: a call of `make bench` finds a stage's input and weights in
** DRAM, not L2 (README Figures, "Cold"); the hardware prefetchers do not
** follow a tile's many short planes (a 14x14 plane is 12 lines), and the
** load misses stall the multiply-adds. So each tile prefetches what the
** next one will read: the next group's input (its group's input is fetched
** once, by the group's first tile; the others find it in L1/L2) by one
** prefetch per vector and fan-in channel, at the centre tap, in the fan-in
** loop beside the loads, and the next tile's weights at the start (they
** follow this tile's in memory). Not past a group input of PF_MAX_GROUP
** bytes (it would push the group's own input out of L2), nor past
** PF_MAX_W_LINES lines of weights; no input prefetches in the other 1x1
** stages (lanes over pixels at stride 2), whose one-tap bodies they
** lengthened by a sixth (ResNet-50's stride-2 downsample layers measured
** 10% slower hot with them on Zen 5, and mixed, 0.94-1.08x, on the Xeon).
** The pointwise shape does prefetch: each of its tiles sweeps the group's
** whole plane, the last tile of a group fetching the next group's, and
** on the Xeon (bench_profile --flush, interleaved A/B) that made
** ResNet-50's 1x1 layers 1.07-1.25x faster DRAM-cold and up to 1.3x after
** another layer's call (C512->256 28x28: 411 -> 328 us cold), at a cost
** of 1-2.5% where the input sat in L2 (C128->256 s2's second stage). Its
** `_fetch` takes only the first PF_PW_FIRST_LINES lines of the first
** group's input (a group's plane is up to PF_MAX_GROUP): a longer run of
** prefetches waits on DRAM before the first tile starts. */
#define PF_MAX_GROUP (256 * 1024)
#define PF_MAX_W_LINES 64
/* Ahead (the pointwise shape, where the ISA asks: pw_ahead): a tile of pv
** vectors reads pv vectors from each of the group's n planes, n streams
** the hardware prefetchers do not keep up with once the group's input is
** past L1 and L2 hold (C64 56x56 1x1/g2 on Zen 3: 401 KB, 46 GFLOP/s
** against 65 on 16x16). So each fan-in channel's load is preceded by a
** prefetch of the same plane PF_AHEAD bytes on (2-3 tiles), a line per 64
** bytes of the tile's: hot on Zen 3 (README Figures, "Pointwise on AVX2")
** C64 56x56 g2 0.80-0.86x, C64->256 56x56 0.83x, C128 28x28 g4 0.96x; but
** 1.09-1.17x slower where the lines a tile prefetches over its fan-in
** (n x pv vectors) pass PF_AHEAD_MAX_TILE, which L1 does not keep until
** their use (fan-in 256 and more), and no gain where the group's input
** fits PF_AHEAD_MIN_GROUP. */
#define PF_AHEAD 256
#define PF_AHEAD_MAX_TILE (8 * 1024)
#define PF_AHEAD_MIN_GROUP (64 * 1024)
#define PF_PW_FIRST_LINES 256
#define PF_IN ZYDIS_MNEMONIC_PREFETCHT0
#define PF_W ZYDIS_MNEMONIC_PREFETCHT0
/* And each tile asks for its own output lines for writing before its
** fan-in loop (prefetch_out): on the Xeon, DRAM-cold (bench_profile
** --flush; interleaved A/B in one process), the make-bench layers ran
** 1.02-1.19x faster with it (C128->256 s2 84.5 -> 71.1 us, C256 14x14 K3
** 86.3 -> 79.4) and hot within 1-3% either way. PREFETCHW (0F 0D /1) runs
** on every x86-64: a NOP where it is not implemented (Haswell), hence
** Zydis's ISA set PREFETCH_NOP (oscx86.c's ISA check). */
#define PF_OUT ZYDIS_MNEMONIC_PREFETCHW
/* Polyphase: at stride 2 in width every vector and tap takes two loads and
** a permute that keeps the even lanes. Split instead, once per tile, the
** group's input rows into their even columns, then their odd ones (each
** phase whole vectors, so the copy's stores are aligned; on the stack
** below the saved registers), and each tap becomes one load from one
** phase: tap column sc of output column ow reads input column 2*ow + sc -
** pad_w, column ow + floor((sc - pad_w) / 2) of phase (sc - pad_w) mod 2.
** The same values in the same sums: the bits do not change. Not past
** SPLIT_MAX_BYTES of copy (the stack), and only where the loads and
** permutes it saves outweigh the copy. Measured hot on Zen 5 (README
** Figures, "Stride-2 stages"): the taps after the split ran 1.3x faster
** (C128 28x28 3x3/g32: 8.5 against 11.7 us), but the copy, bound by its
** reads of the group's input from L2 which the unsplit code overlaps with
** its multiply-adds, cost as much as that for 3x3 kernels: one row and
** phase vector about SPLIT_ROW_COST vector instructions. So 3x3 stays
** unsplit and 5x5 and 7x7 split (1.4x on C64 28x28 5x5/g32). */
#define SPLIT_MAX_BYTES (64 * 1024)
#define SPLIT_ROW_COST 16.0
/* bytes the compiler puts before a tile function's asm (its prologue) */
#define CODE_SLACK 64

static const ZydisRegister saved[] = {OSC_PX_X,    OSC_PX_WK,   OSC_PX_W,   OSC_PX_OUT,
                                      OSC_PX_IN,   OSC_PX_BIAS, OSC_PX_ROWS, OSC_PX_XROW,
                                      OSC_PX_OROW, OSC_PX_IC,   OSC_PX_TMP, OSC_PX_MASKS,
                                      OSC_PX_RES,  OSC_PX_RROW};   /* the last two: a residual */
#define N_SAVED ((int)(sizeof saved / sizeof saved[0]) - 2)

/* The ISA as the stage and the job's code variant shape it: at stride 2
** (unsplit) and in the pointwise shape, tiles of up to max_oct_pv2 output
** channels where the ISA has them (AVX2: 6 x 2 vectors, where stride-1
** KxK stages keep 4 x 3; README Figures, "Stride 2 on AVX2", "Pointwise
** on AVX2"); then the knobs simd_oct, simd_pv (gen/oscvariant.h) narrow
** it: tiles of at most that many output channels and vectors. Everything
** below reads the tile budget from the view, so the tile count, the cost
** and the code agree. */
typedef struct px_view {
  osc_px_isa isa;
  int pv[OSC_PX_MAX_OCT + 1];
} px_view;

static const osc_px_isa *variant(const osc_px_isa *x, int pw, const osc_stage_job *j,
                                 px_view *v) {
  int oct = j->knobs ? j->knobs->simd_oct : 0, pv = j->knobs ? j->knobs->simd_pv : 0;
  int rows_fit = (j->s->w_out + x->lanes - 1) / x->lanes <= OSC_PX_MAX_PV * x->pv_max[x->max_oct_pv2];
  int wide = x->max_oct_pv2 > x->max_oct && !x->split_row &&
             (pw || (j->s->stride_w == 2 && rows_fit));   /* pw: rows of LANES pixels */
  if (!oct && !pv && !wide) return x;
  v->isa = *x;
  if (wide) v->isa.max_oct = x->max_oct_pv2;
  if (oct && oct < v->isa.max_oct) v->isa.max_oct = oct;
  for (int o = 0; o <= OSC_PX_MAX_OCT; o++)
    v->pv[o] = o > v->isa.max_oct ? 0 : pv && pv < x->pv_max[o] ? pv : x->pv_max[o];
  v->isa.pv_max = v->pv;
  return &v->isa;
}

/* Vectors of the flattened plane, when it could be one flat tile (stride
** 1, rows as wide as the input's, fewer vectors than row by row); else 0. */
static int flat_vectors(const osc_px_isa *x, const osc_stage *s) {
  int nv = (s->h_out * s->w_out + x->lanes - 1) / x->lanes;
  int rows = s->h_out * ((s->w_out + x->lanes - 1) / x->lanes);
  if (s->stride_h != 1 || s->stride_w != 1 || s->w_in != s->w_out || nv >= rows) return 0;
  return nv <= x->pv_max[1] ? nv : 0;
}

/* Tiles of a group's outputs: as few as fit, as even as can be; on a plane
** that can be flat, small enough tiles that its vectors fit beside. */
static int tile_oct(const osc_px_isa *x, int pw, const osc_stage *s) {
  int m = s->c_out / s->groups, cap = x->max_oct, nv = pw ? 0 : flat_vectors(x, s), tiles;
  while (nv && cap > 1 && x->pv_max[cap] < nv) cap--;
  tiles = (m + cap - 1) / cap;
  return (m + tiles - 1) / tiles;
}

/* The run shape (oscpx.h), when the plane is not one flat tile, is flat
** in fewer vectors than row by row (with no whole pass, all unrolled). */
#define MAX_PERIOD 16
#define MAX_UNROLLED 48   /* vectors outside the passes (rows of padding); else row by row */
static int run_shape(const osc_px_isa *x, const osc_stage *s, osc_px_run *r) {
  int lanes = x->lanes, w = s->w_out, lo, hi, v1, p = 1;
  int rows = s->h_out * ((w + lanes - 1) / lanes);
  if (s->stride_h != 1 || s->stride_w != 1 || s->w_in != w || flat_vectors(x, s)) return 0;
  r->nv = (s->h_out * w + lanes - 1) / lanes;
  if (r->nv >= rows) return 0;
  while ((p * lanes) % w) p++;
  if (p > MAX_PERIOD) return 0;
  osc_kernel_interior(s->h_in, s->k_h, 1, s->pad_h, s->h_out, &lo, &hi);
  r->p = p;
  r->v0 = (lo * w + lanes - 1) / lanes;
  v1 = hi * w / lanes;
  r->iters = v1 > r->v0 ? (v1 - r->v0) / p : 0;
  return r->nv - r->iters * p <= MAX_UNROLLED;
}

/* Vectors of one phase of a split row. */
static int split_chunks(const osc_px_isa *x, const osc_stage *s) {
  return ((s->w_in + 1) / 2 + x->lanes - 1) / x->lanes;
}

/* Vector instructions a tile's split would save (a load and a permute
** per vector and tap) less what it costs (SPLIT_ROW_COST per row and
** vector of a phase); > 0: split. The knob simd_split forces it either way. */
static double split_gain(const osc_px_isa *x, const osc_stage_job *j) {
  const osc_stage *s = j->s;
  int n = s->c_in / s->groups, cpr = (s->w_out + x->lanes - 1) / x->lanes;
  int chunks = split_chunks(x, s), force = j->knobs ? j->knobs->simd_split : 0;
  if (!x->split_row || s->stride_w != 2 || force < 0 ||
      8LL * x->lanes * chunks * n * s->h_in > SPLIT_MAX_BYTES)
    return 0;
  if (force > 0) return 1;
  return 2.0 * s->h_out * cpr * n * s->k_h * s->k_w - SPLIT_ROW_COST * n * s->h_in * chunks;
}

/* Column d of the tap (sc - pad_w): its phase's first column in the split
** row (even phase, then odd, each split_chunks vectors: aligned stores)
** and the column within the phase of output column 0. */
static int split_col(const osc_px *g, int sc) {
  int d = sc - g->s->pad_w, fl = d >= 0 ? d / 2 : -((1 - d) / 2);
  return (d - 2 * fl ? (int)g->xw / 2 : 0) + fl;
}

static osc_px_vec vec_at(const osc_px *g, int dr, int c) {
  int left = (g->flat ? g->s->h_out : 1) * g->s->w_out - c * g->isa->lanes;
  osc_px_vec v = {dr, c * g->isa->lanes, left < g->isa->lanes ? left : g->isa->lanes, 0};
  return v;
}

/* Lanes of the load `half` (0, or 1: the second vector at stride 2) for
** vector v that read real input at tap column sc: at stride 2 the even
** lanes l, which hold output lane half*LANES/2 + l/2. */
static unsigned load_mask(const osc_px *g, const osc_px_vec *v, int r, int sc, int half) {
  const osc_stage *s = g->s;
  unsigned m = 0;
  int sw = s->stride_w, lanes = g->isa->lanes;
  for (int l = 0; l < lanes; l++) {
    int o = sw == 1 ? l : half * lanes / 2 + l / 2;
    int iw = (v->c0 + o) * sw + sc - s->pad_w, ih = 0;
    if (g->row0 >= 0) ih = (g->row0 + v->dr) * s->stride_h + r - s->pad_h;   /* banded */
    if (g->flat) {   /* the flat pixel's row and column */
      ih = (v->c0 + l) / s->w_out + r - s->pad_h;
      iw = (v->c0 + l) % s->w_out + sc - s->pad_w;
    }
    if (g->split) {   /* lane l of one load from the tap's phase */
      o = l;
      iw = (v->c0 + o) * 2 + sc - s->pad_w;
    }
    if ((sw == 1 || g->split || l % 2 == 0) && (sw == 2 || half == 0) && !(g->split && half) &&
        o < v->width && iw >= 0 && iw < s->w_in && ih >= 0 && ih < s->h_in)
      m |= 1u << l;
  }
  return m;
}

/* A split tap's load needs no mask when every lane it reads lies in its
** own row of the copy and each lane that must be zero (an output's tap in
** the padding) falls on a phase's tail, which the copy zeroed: the lanes
** past the output row's end read copied values nobody stores. An unmasked
** load is one uop; a masked one on this Intel core two, the second on the
** FMA ports (README Figures, "Stride-2 loads on the Xeon"). */
static unsigned split_load_mask(const osc_px *g, const osc_px_vec *v, int r, int sc) {
  const osc_stage *s = g->s;
  int half = (int)g->xw / 2, lanes = g->isa->lanes;
  unsigned m = load_mask(g, v, r, sc, 0);
  for (int l = 0; l < lanes; l++) {
    int pos = v->c0 + split_col(g, sc) + l, iw = (v->c0 + l) * 2 + sc - s->pad_w;
    if (pos < 0 || pos >= (int)g->xw) return m;
    if (l < v->width && (iw < 0 || iw >= s->w_in) && 2 * (pos % half) + pos / half < s->w_in)
      return m;
  }
  return m ? osc_px_full(g) : 0;
}

/* The lanes of a stride-2 vector whose outputs a tap's two loads read
** input for: output o from the even lane 2o of the first load (o <
** LANES/2) or of the second, in lane even_order[o]'s place (the ISA's
** order until the store; natural where it has none). Where zeroing costs
** an instruction (AVX2's vandps), the lanes past v's outputs, which no
** store writes, count as kept; AVX-512's zero-masking is free and zeroes
** them. */
static unsigned even_lanes(const osc_px *g, const osc_px_vec *v, unsigned m0, unsigned m1) {
  const unsigned char *order = g->isa->even_order;
  unsigned keep = 0;
  int h = g->isa->lanes / 2;
  for (int l = 0; l < 2 * h; l++) {
    int o = order ? order[l] : l;
    if ((o < h ? m0 >> (2 * o) : m1 >> (2 * (o - h))) & 1) keep |= 1u << l;
    if (g->isa->mask_table && o >= v->width) keep |= 1u << l;
  }
  return keep;
}

/* Whether the n floats a tap reads for v, from column cs of its input row
** as the code addresses it (from v's base: a run's pass), stay inside the
** channel's plane every time the code runs: for the rows the code serves
** (banded, border row, interior loop) or, flat, every pass of a run. Then
** a load may go unmasked: what it reads past the tap's real lanes is the
** plane's own data. */
static int reads_in_plane(const osc_px *g, const osc_px_vec *v, int r, long long cs, long long n) {
  const osc_stage *s = g->s;
  long long lo, hi;
  if (g->flat) {
    lo = (long long)(r - s->pad_h) * s->w_in + v->base + cs;   /* the first pass */
    hi = lo + n + (long long)(g->passes - 1) * g->runp.p * g->isa->lanes;
  } else {
    int oh_lo = g->row0 >= 0 ? g->row0 + v->dr : g->oh_lo;
    int oh_hi = g->row0 >= 0 ? oh_lo + 1 : g->oh_hi;
    if (oh_lo < 0 || oh_hi <= oh_lo) return 0;
    lo = ((long long)oh_lo * s->stride_h + r - s->pad_h) * s->w_in + cs;
    hi = ((long long)(oh_hi - 1) * s->stride_h + r - s->pad_h) * s->w_in + cs + n;
  }
  return lo >= 0 && hi <= (long long)s->h_in * s->w_in;
}

/* Stride 2, unsplit: a tap's two loads may go unmasked wherever both stay
** inside the channel's plane, the lanes that must be zero zeroed after the
** permute. AVX-512: zero-masking, free on the permute (a masked load is two
** uops on the Xeon, the second on the FMA ports: README Figures, "Stride-2
** loads on the Xeon"); AVX2: a vandps with the mask table's row, one uop
** where the masked loads were two vmaskmovps and two mask loads (README
** Figures, "Stride 2 on AVX2"). even_unmasked: whether they may;
** even_keep: the lanes to keep, or 0: the loads keep their masks. */
static int even_unmasked(const osc_px *g, const osc_px_vec *v, int r, int sc) {
  long long cs = 2LL * (v->c0 - v->base) + sc - g->s->pad_w;
  return g->isa->keep_even && !g->flat && !v->base &&
         reads_in_plane(g, v, r, cs, 2LL * g->isa->lanes);
}

static unsigned even_keep(const osc_px *g, const osc_px_vec *v, int r, int sc, unsigned m0,
                          unsigned m1) {
  return even_unmasked(g, v, r, sc) ? even_lanes(g, v, m0, m1) : 0;
}

static unsigned store_mask(const osc_px_vec *v) {
  assert(v->width > 0 && v->width <= 16);
  return (1u << v->width) - 1;
}

static void note_mask(osc_px *g, unsigned m) {
  if (m == 0 || m == osc_px_full(g)) return;
  for (int i = 0; i < g->n_masks; i++)
    if (g->mask[i] == m) return;
  if (g->n_masks < OSC_PX_MAX_MASKS) g->mask[g->n_masks++] = m;
  else g->mask_overflow = 1;
}

/* The masks of flat vectors [lo, hi), every tap. */
static void note_flat_masks(osc_px *g, int lo, int hi) {
  for (int c = lo; c < hi; c++) {
    osc_px_vec v = vec_at(g, 0, c);
    note_mask(g, store_mask(&v));
    for (int r = 0; r < g->s->k_h; r++)
      for (int sc = 0; sc < g->s->k_w; sc++) note_mask(g, load_mask(g, &v, r, sc, 0));
  }
}

int osc_px_splat_bits(osc_px *g, osc_x86 *a, int reg, float v) {
  union { float f; uint32_t u; } b = {v};
  if (b.u == 0) {
    g->isa->zero(g, a, reg);
    return 0;
  }
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_TMP32), osc_x86_i((int32_t)b.u));   /* Zydis: signed */
  return 1;
}

int osc_px_mask_index(const osc_px *g, unsigned mask) {
  for (int i = 0; i < g->n_masks; i++)
    if (g->mask[i] == mask) return i;
  return -1;
}

/* The pointwise shape's views of the plane: rows of LANES pixels, then the
** last partial vector (its own one-row stage). */
static void pw_views(osc_px *g) {
  const osc_stage *s = g->s;
  int hw = s->h_out * s->w_out, lanes = g->isa->lanes;
  g->pw = 1;
  g->view = g->tail = *s;
  g->view.h_in = g->view.h_out = hw / lanes;
  g->view.w_in = g->view.w_out = lanes;
  g->tail.h_in = g->tail.h_out = 1;
  g->tail.w_in = g->tail.w_out = hw % lanes;
  g->s = &g->tail;   /* its masks */
  {
    osc_px_vec v = vec_at(g, 0, 0);
    if (v.width > 0) note_mask(g, store_mask(&v)), note_mask(g, load_mask(g, &v, 0, 0, 0));
  }
  g->s = &g->view;
  g->xw = g->view.w_in;
  g->cpr = 1;
  g->tr = g->isa->pv_max[g->oct];
  g->nseg = 1;
  g->seg[0] = 0, g->seg[1] = 1;
}

static void setup(const osc_px_isa *x, int pw, int run, const osc_stage_job *j, int oct,
                  osc_px *g) {
  const osc_stage *s = j->s;
  int pvm = x->pv_max[oct];
  memset(g, 0, sizeof *g);
  g->isa = x;
  g->s = s;
  g->row0 = g->oh_lo = -1;
  g->passes = 1;
  g->xw = s->w_in;
  g->max_body = j->knobs && j->knobs->simd_body ? j->knobs->simd_body : MAX_BODY;
  g->n = s->c_in / s->groups;
  g->m = s->c_out / s->groups;
  g->khkw = s->k_h * s->k_w;
  g->oct = oct;
  g->bias = j->bias;
  g->relu = j->relu;
  g->residual = j->residual;
  g->clamped = j->clamped;
  g->lo = strtof(j->act_lo, NULL);   /* "0.0f", "-0.25f": %.9g, so exact */
  g->hi = j->clamped ? strtof(j->act_hi, NULL) : 0.0f;
  g->x_ic = 4LL * s->h_in * s->w_in;
  g->w_oc = 4LL * g->n * g->khkw;
  g->o_oc = 4LL * s->h_out * s->w_out * (j->last ? 1 : s->groups);
  g->pf_in = s->groups > 1 && (g->khkw > 1 || pw) && g->n * g->x_ic <= PF_MAX_GROUP;
  g->pf_ahead = pw && x->pw_ahead && g->n * g->x_ic > PF_AHEAD_MIN_GROUP &&
                4LL * g->n * pvm * x->lanes <= PF_AHEAD_MAX_TILE;
  {   /* as many lines as the smallest tile has, the stage's last (the tail) */
    int full = tile_oct(x, pw, s), tail = g->m - (g->m + full - 1) / full * full + full;
    g->pf_w_lines = (int)(((oct < tail ? oct : tail) * g->w_oc + 63) / 64);
  }
  if (g->pf_w_lines > PF_MAX_W_LINES) g->pf_w_lines = PF_MAX_W_LINES;
  g->split = !pw && split_gain(x, j) > 0;
  if (g->split)   /* its copy reads this group's input: the taps stream the next group's in
                  ** (prefetch_stream; prefetching them in the copy measured 10% slower) */
    g->pf_split = g->pf_in, g->pf_in = 0;
  if (g->split) g->xw = 2 * g->isa->lanes * split_chunks(g->isa, s), g->x_ic = 4LL * s->h_in * g->xw;
  if (pw) {   /* before the row segments: a pointwise stage's rows may be of any width */
    pw_views(g);
    return;
  }
  g->cpr = (s->w_out + x->lanes - 1) / x->lanes;
  g->flat = flat_vectors(x, s) && flat_vectors(x, s) <= pvm;
  if (g->flat) g->cpr = flat_vectors(x, s);
  g->tr = g->cpr <= pvm ? pvm / g->cpr : 1;
  g->nseg = g->cpr <= pvm ? 1 : (g->cpr + pvm - 1) / pvm;
  assert(g->nseg <= OSC_PX_MAX_PV);   /* osc_px_inapplicable bounds the row */
  for (int i = 0; i <= g->nseg; i++) g->seg[i] = i * g->cpr / g->nseg;
  if (run && run_shape(x, s, &g->runp)) {   /* the loop's masks first: k1..k6 */
    const osc_px_run *r = &g->runp;
    g->flat = g->run = 1;
    if (r->iters) note_flat_masks(g, r->v0, r->v0 + r->p);   /* no pass: none of its own */
    note_flat_masks(g, 0, r->v0);
    note_flat_masks(g, r->v0 + r->iters * r->p, r->nv);
    return;
  }
  for (int c = 0; c < g->cpr && s->stride_w == 2 && !g->split && !g->flat; c++) {
    osc_px_vec v = vec_at(g, 0, c);   /* even_keep's: the interior's, so first */
    for (int sc = 0; sc < s->k_w; sc++)
      note_mask(g, even_lanes(g, &v, load_mask(g, &v, 0, sc, 0), load_mask(g, &v, 0, sc, 1)));
  }
  for (int c = 0; c < g->cpr; c++) {
    osc_px_vec v = vec_at(g, 0, c);
    note_mask(g, store_mask(&v));
    for (int r = 0; r < (g->flat ? s->k_h : 1); r++)
      for (int sc = 0; sc < s->k_w; sc++)
        for (int half = 0; half < (g->split ? 1 : s->stride_w); half++)
          note_mask(g, load_mask(g, &v, r, sc, half));
  }
}

/* The largest divisor u of the fan-in with u bodies of taps within MAX_BODY. */
static int ic_unroll(const osc_px *g, int taps, int pv) {
  int per = taps * (pv + g->oct * pv + g->oct), u = per > 0 ? g->max_body / per : g->n;
  return osc_kernel_largest_divisor(g->n, u < 1 ? 1 : u);
}

/* The next group's input where tile_of's vectors v[0..pv) read fan-in
** channel ic (of the loop body) at the centre tap: a line per vector, the
** first lane that reads input (two vectors' worth at stride 2). */
static void prefetch_next(osc_px *g, osc_x86 *a, const osc_px_vec *v, int pv, int ic, int r_lo,
                          int r_hi) {
  const osc_stage *s = g->s;
  int r = s->k_h / 2, sc = s->k_w / 2;
  long long last = -1;
  if (r < r_lo) r = r_lo;
  if (r >= r_hi) r = r_hi - 1;
  for (int i = 0; i < pv; i++) {
    unsigned m = load_mask(g, &v[i], r, sc, 0) | load_mask(g, &v[i], r, sc, 1);
    long long off = ic * g->x_ic + 4LL * ((v[i].dr * s->stride_h + r) * s->w_in +
                                          (v[i].c0 - v[i].base) * s->stride_w + sc - s->pad_w);
    if (!m) continue;
    off += 4LL * __builtin_ctz(m) * (s->stride_w == 1);
    for (int h = 0; h < s->stride_w; h++, off += 64)
      if (last < 0 || off < last || off - last >= 64) {   /* avx2: two vectors a line */
        osc_x86_ins(a, PF_IN, OSC_X86_OPS(osc_x86_mx(OSC_PX_X, OSC_PX_PFD, off, 1)));
        last = off;
      }
  }
}

/* Split (stride 2, "Polyphase"): the copy reads the group's input, so the
** next group's input is fetched while this group's taps run, a share of its
** lines per fan-in pass through OSC_PX_PFD, which walks them (any tile or
** loop order covers the lines in turn; past the end, a prefetch is only
** wasted). A tile of pv vectors takes its share of the plane's, spread
** over its n fan-in channels (the body's u unrolled ones, iters times). */
static void prefetch_stream(osc_px *g, osc_x86 *a, int pv) {
  const osc_stage *s = g->s;
  long long lines = (4LL * g->n * s->h_in * s->w_in + 63) / 64;
  long long vecs = (long long)s->h_out * g->cpr, per = (lines * pv + vecs * g->n - 1) / (vecs * g->n);
  for (long long k = 0; k < per; k++)
    osc_x86_ins(a, PF_IN, OSC_X86_OPS(osc_x86_m(OSC_PX_PFD, 64 * k, 1)));
  OSC_X86(a, ADD, osc_x86_r(OSC_PX_PFD), osc_x86_i(64 * per));
}

/* Pointwise, fan-in channel ic of the loop body: its plane PF_AHEAD bytes
** past tile_of's vectors v[0..pv) (contiguous in the run), a line per 64
** bytes of them, so consecutive tiles cover every line. */
static void prefetch_ahead(osc_px *g, osc_x86 *a, const osc_px_vec *v, int pv, int ic) {
  long long off = ic * g->x_ic + 4LL * (v[0].dr * g->s->w_in + v[0].c0) + PF_AHEAD;
  for (long long k = 0; k < (4LL * pv * g->isa->lanes + 63) / 64; k++)
    osc_x86_ins(a, PF_IN, OSC_X86_OPS(osc_x86_m(OSC_PX_X, off + 64 * k, 1)));
}

/* The output lines tile_of's stores will write, for writing (prefetchw),
** before its fan-in loop: a cold output line costs its store a read for
** ownership from DRAM, which then overlaps the multiply-adds instead of
** holding up the stores at the end (oscpx.c, "Cold": PF_OUT). Per output
** channel, each run of contiguous vectors, every 64 bytes from its first
** written byte and its last: whatever the row's alignment, each line the
** stores touch, and none they do not. */
static void prefetch_out(osc_px *g, osc_x86 *a, const osc_px_vec *v, int pv) {
  for (int t = 0; t < g->oct; t++)
    for (int i = 0; i < pv;) {
      long long lo = t * g->o_oc + 4LL * (v[i].dr * g->s->w_out + v[i].c0 - v[i].base), hi;
      int k = i;
      while (k + 1 < pv && v[k + 1].dr == v[k].dr && v[k + 1].c0 == v[k].c0 + v[k].width &&
             v[k + 1].base == v[k].base)
        k++;
      hi = lo + 4LL * (v[k].c0 + v[k].width - v[i].c0) - 1;
      for (long long d = lo; d <= hi; d += 64)
        osc_x86_ins(a, PF_OUT, OSC_X86_OPS(osc_x86_m(OSC_PX_OROW, d, 1)));
      if ((hi - lo) % 64) osc_x86_ins(a, PF_OUT, OSC_X86_OPS(osc_x86_m(OSC_PX_OROW, hi, 1)));
      i = k + 1;
    }
}

/* Masked multiply-adds (AVX-512, stride 1): a tap's load whose lanes are
** partly padding goes unmasked where it stays inside the channel's plane,
** and its multiply-adds take the mask instead (merge-masking: the lanes
** outside keep their sums, as the zeros of a masked load left them): on
** the Xeon a masked load is two uops, one on the FMA ports, and a masked
** multiply-add one (README Figures, "Masked multiply-adds"). Of a tap's
** vectors whose mask is not preloaded only the last (k7 holds it through
** the tap's multiply-adds) does so; the others keep their masked loads.
** fm[i]: the lanes of vector i's multiply-adds, 0 when its load is masked. */
static void fma_lanes(const osc_px *g, const osc_px_vec *v, int pv, int r, int sc,
                      const unsigned *m, unsigned *fm) {
  int last = -1;
  for (int i = 0; i < pv; i++) {
    int k;
    fm[i] = 0;
    if (!g->isa->fma_masks || g->s->stride_w != 1 || g->split || !m[i] ||
        m[i] == osc_px_full(g) ||
        !reads_in_plane(g, &v[i], r, v[i].c0 - v[i].base + sc - g->s->pad_w, g->isa->lanes))
      continue;
    fm[i] = m[i];
    k = osc_px_mask_index(g, m[i]);
    if (k < 0 || k >= OSC_PX_KREGS) {
      if (last >= 0) fm[last] = 0;
      last = i;
    }
  }
}

/* The byte offset from OSC_PX_X of vector v's load for tap (r, sc) of
** fan-in channel ic of the loop body (stride 2: the first of its two). */
static long long tap_offset(const osc_px *g, const osc_px_vec *v, int ic, int r, int sc) {
  const osc_stage *s = g->s;
  if (g->split)
    return ic * g->x_ic +
           4LL * ((v->dr * s->stride_h + r) * g->xw + v->c0 - v->base + split_col(g, sc));
  return ic * g->x_ic + 4LL * ((v->dr * s->stride_h + r) * s->w_in +
                               (v->c0 - v->base) * s->stride_w + sc - s->pad_w);
}

/* Tap (r, sc) of fan-in channel ic of the loop body for tile_of's vectors
** (loaded into xr): their loads, then the multiply-adds of each output
** channel. */
static void tap_of(osc_px *g, osc_x86 *a, const osc_px_vec *v, const int *xr, int pv, int ic,
                   int r, int sc) {
  const osc_stage *s = g->s;
  const osc_px_isa *x = g->isa;
  int live[OSC_PX_MAX_PV], acc[OSC_PX_MAX_PV], k[OSC_PX_MAX_PV], masked = 0;
  unsigned m[OSC_PX_MAX_PV], m1[OSC_PX_MAX_PV], fm[OSC_PX_MAX_PV], full = osc_px_full(g);
  for (int i = 0; i < pv; i++) {
    m[i] = load_mask(g, &v[i], r, sc, 0), m1[i] = load_mask(g, &v[i], r, sc, 1);
    if (g->split && !g->flat && v[i].base == 0) m[i] = split_load_mask(g, &v[i], r, sc);
    live[i] = m[i] != 0 || m1[i] != 0;
  }
  fma_lanes(g, v, pv, r, sc, m, fm);
  for (int i = 0; i < pv; i++) {
    long long off = tap_offset(g, &v[i], ic, r, sc);
    if (!live[i]) continue;
    if (s->stride_w == 2 && !g->split) {
      unsigned keep = even_keep(g, &v[i], r, sc, m[i], m1[i]);
      if (keep) m[i] = m[i] ? full : 0, m1[i] = m1[i] ? full : 0;   /* a load no lane needs stays out */
      x->load_even(g, a, xr[i], m[i], m1[i], off, keep);
    } else {
      x->load(g, a, xr[i], fm[i] ? full : m[i], off);
    }
    masked |= fm[i] != 0;
  }
  if (masked) x->fma_masks(g, a, fm, pv, k);
  for (int t = 0; t < g->oct; t++) {
    for (int i = 0; i < pv; i++) acc[i] = t * pv + i;
    x->fma(g, a, acc, xr, live, pv, t * g->w_oc + 4LL * (ic * g->khkw + r * s->k_w + sc),
           masked ? k : NULL);
  }
}

/* Stride 2, unsplit, where the ISA pairs taps (load_even_pair: AVX2) and
** the tile leaves pv registers free: taps sc and sc + 1 of kernel row r
** from one pair of loads. Tap sc + 1 reads input column 2 ow + sc + 1 -
** pad_w, the odd lanes of tap sc's two loads, so where those go unmasked
** for every vector (inside the plane: even_keep's rule) one shuffle more
** gives tap sc + 1 its vectors, each zeroed outside its own lanes: two
** loads a vector saved (README Figures, "Stride 2 on AVX2"). The same
** values in the same sums. Returns 0 (nothing emitted) where it cannot. */
static int tap_pair_of(osc_px *g, osc_x86 *a, const osc_px_vec *v, const int *xr, int pv, int ic,
                       int r, int sc) {
  const osc_stage *s = g->s;
  const osc_px_isa *x = g->isa;
  int live[2][OSC_PX_MAX_PV], acc[OSC_PX_MAX_PV], xr2[OSC_PX_MAX_PV];
  unsigned keep[2][OSC_PX_MAX_PV];
  if (!x->load_even_pair || s->stride_w != 2 || g->split || g->flat || sc + 1 >= s->k_w ||
      g->oct * pv + 2 * pv > x->pair_regs)
    return 0;
  for (int i = 0; i < pv; i++) {
    for (int d = 0; d < 2; d++) {
      unsigned m0 = load_mask(g, &v[i], r, sc + d, 0), m1 = load_mask(g, &v[i], r, sc + d, 1);
      live[d][i] = m0 != 0 || m1 != 0;
      keep[d][i] = even_lanes(g, &v[i], m0, m1);
    }
    if ((live[0][i] || live[1][i]) && !even_unmasked(g, &v[i], r, sc)) return 0;
    xr2[i] = xr[pv - 1] + 1 + i;
  }
  for (int i = 0; i < pv; i++)
    if (live[0][i] || live[1][i])
      x->load_even_pair(g, a, xr[i], xr2[i], tap_offset(g, &v[i], ic, r, sc),
                        live[0][i] ? keep[0][i] : 0, live[1][i] ? keep[1][i] : 0);
  for (int d = 0; d < 2; d++)
    for (int t = 0; t < g->oct; t++) {
      for (int i = 0; i < pv; i++) acc[i] = t * pv + i;
      x->fma(g, a, acc, d ? xr2 : xr, live[d], pv,
             t * g->w_oc + 4LL * (ic * g->khkw + r * s->k_w + sc + d), NULL);
    }
  return 1;
}

/* One tile of vectors v[0..pv) from OSC_PX_XROW / OSC_PX_OROW (the tile's
** first output row; XROW at its input row minus the padding), kernel rows
** [r_lo, r_hi) (the ones inside the input).
** Registers: accumulator (t, i) is t*pv + i, x vector i is oct*pv + i. */
static void tile_of(osc_px *g, osc_x86 *a, const osc_px_vec *v, int pv, int r_lo, int r_hi) {
  const osc_stage *s = g->s;
  const osc_px_isa *x = g->isa;
  int oct = g->oct, taps = (r_hi - r_lo) * s->k_w, u, iters, top = 0;
  int xr[OSC_PX_MAX_PV];
  for (int i = 0; i < pv; i++) xr[i] = oct * pv + i;
  for (int i = 0; i < oct * pv; i++) x->zero(g, a, i);
  prefetch_out(g, a, v, pv);
  u = ic_unroll(g, taps, pv);
  iters = taps ? g->n / u : 0;
  if (iters) {
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_X), osc_x86_r(OSC_PX_XROW));
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_WK), osc_x86_r(OSC_PX_W));
  }
  if (iters > 1) {
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_IC), osc_x86_i(iters));
    top = osc_x86_label(a);
  }
  for (int ic = 0; ic < u && iters; ic++) {
    if (g->pf_in) prefetch_next(g, a, v, pv, ic, r_lo, r_hi);
    if (g->pf_split) prefetch_stream(g, a, pv);
    if (g->pf_ahead) prefetch_ahead(g, a, v, pv, ic);
    for (int r = r_lo; r < r_hi; r++)
      for (int sc = 0; sc < s->k_w; sc++)
        if (tap_pair_of(g, a, v, xr, pv, ic, r, sc)) sc++;
        else tap_of(g, a, v, xr, pv, ic, r, sc);
  }
  if (iters > 1) {
    OSC_X86(a, ADD, osc_x86_r(OSC_PX_X), osc_x86_i(u * g->x_ic));
    OSC_X86(a, ADD, osc_x86_r(OSC_PX_WK), osc_x86_i(4LL * u * g->khkw));
    OSC_X86(a, DEC, osc_x86_r(OSC_PX_IC));
    osc_x86_jnz(a, top);
  }
  /* the bounds in x registers (free now; with one, the register after it) */
  if (g->relu) x->splat(g, a, xr[0], g->lo);
  if (g->clamped) x->splat(g, a, pv > 1 ? xr[1] : xr[0] + 1, g->hi);
  for (int t = 0; t < oct; t++)
    for (int i = 0; i < pv; i++)
      x->store(g, a, t * pv + i, xr[0], pv > 1 ? xr[1] : xr[0] + 1, 4LL * t, store_mask(&v[i]),
               t * g->o_oc + 4LL * (v[i].dr * s->w_out + v[i].c0 - v[i].base));
}

/* One tile: nrows rows, vectors [c_lo, c_hi) of each row. */
static void tile(osc_px *g, osc_x86 *a, int nrows, int r_lo, int r_hi, int c_lo, int c_hi) {
  osc_px_vec v[OSC_PX_MAX_PV];
  int pv = 0;
  for (int dr = 0; dr < nrows; dr++)
    for (int c = c_lo; c < c_hi; c++) v[pv++] = vec_at(g, dr, c);
  tile_of(g, a, v, pv, r_lo, r_hi);
}

static void row_tiles(osc_px *g, osc_x86 *a, int nrows, int r_lo, int r_hi) {
  for (int i = 0; i < g->nseg; i++) tile(g, a, nrows, r_lo, r_hi, g->seg[i], g->seg[i + 1]);
}

/* Point OSC_PX_XROW / OSC_PX_OROW at output row oh. */
static void rows_at(osc_px *g, osc_x86 *a, int oh) {
  const osc_stage *s = g->s;
  OSC_X86(a, LEA, osc_x86_r(OSC_PX_XROW),
          osc_x86_m(OSC_PX_IN, 4LL * (oh * s->stride_h - s->pad_h) * g->xw, 8));
  OSC_X86(a, LEA, osc_x86_r(OSC_PX_OROW), osc_x86_m(OSC_PX_OUT, 4LL * oh * s->w_out, 8));
  if (g->residual)
    OSC_X86(a, LEA, osc_x86_r(OSC_PX_RROW), osc_x86_m(OSC_PX_RES, 4LL * oh * s->w_out, 8));
}

/* A border row: only the kernel rows that land inside the input. */
static void border_row(osc_px *g, osc_x86 *a, int oh) {
  const osc_stage *s = g->s;
  int ih = oh * s->stride_h - s->pad_h;   /* the input row of kernel row 0 */
  int r_lo = -ih > 0 ? -ih : 0;
  int r_hi = s->h_in - ih < s->k_h ? s->h_in - ih : s->k_h;
  if (r_hi < r_lo) r_hi = r_lo;
  rows_at(g, a, oh);
  g->oh_lo = oh, g->oh_hi = oh + 1;
  row_tiles(g, a, 1, r_lo, r_hi);
  g->oh_lo = -1;
}

/* The interior rows [lo, hi): a loop of tr-row tiles, then the remainder. */
static void interior(osc_px *g, osc_x86 *a, int lo, int hi) {
  const osc_stage *s = g->s;
  int full, rem, top = 0;
  if (hi <= lo) return;
  if (g->tr > hi - lo) g->tr = hi - lo;
  full = (hi - lo) / g->tr;
  rem = (hi - lo) % g->tr;
  rows_at(g, a, lo);
  g->oh_lo = lo, g->oh_hi = hi;
  if (full > 1) {
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_ROWS), osc_x86_i(full));
    top = osc_x86_label(a);
  }
  row_tiles(g, a, g->tr, 0, s->k_h);
  if (full > 1 || rem) {
    OSC_X86(a, ADD, osc_x86_r(OSC_PX_XROW), osc_x86_i(4LL * g->tr * s->stride_h * g->xw));
    OSC_X86(a, ADD, osc_x86_r(OSC_PX_OROW), osc_x86_i(4LL * g->tr * s->w_out));
    if (g->residual) OSC_X86(a, ADD, osc_x86_r(OSC_PX_RROW), osc_x86_i(4LL * g->tr * s->w_out));
  }
  if (full > 1) {
    OSC_X86(a, DEC, osc_x86_r(OSC_PX_ROWS));
    osc_x86_jnz(a, top);
  }
  if (rem) row_tiles(g, a, rem, 0, s->k_h);
  g->oh_lo = -1;
}

/* Banded rows (stride 2 in width): at stride 2 a row of 14-28 outputs is one
** or two vectors, so a border row alone is a tile of 1-2 vectors whose
** 4-8 accumulators wait on the multiply-add latency at every tap; and the
** interior's remainder likewise. Instead every tile has about the same
** rows, ceil(h_out / tiles): the first tile (the top border rows and the
** first interior ones) and the last ones (the remainder and the bottom
** border rows) unrolled at known rows, a kernel row outside the input left
** out vector by vector (load_mask, row0), the interior loop between them.
** The same taps in the same order: the bits do not change. AVX-512 only:
** AVX2 (12 accumulators at most) measured no faster (README Figures,
** "Stride-2 stages"). */
static int band_rows(const osc_px *g, int lo) {
  int h = g->s->h_out, tiles = (h + g->tr - 1) / g->tr, t = (h + tiles - 1) / tiles;
  return g->isa->isa == OSC_ISA_AVX512 && g->s->stride_w == 2 && g->tr > 1 && t >= lo ? t : 0;
}

static void banded(osc_px *g, osc_x86 *a, int t, int hi) {
  int h = g->s->h_out, end = t + (hi > t ? (hi - t) / t * t : 0), n;
  rows_at(g, a, 0);
  g->row0 = 0;
  row_tiles(g, a, t, 0, g->s->k_h);
  g->row0 = -1;
  g->tr = t;
  interior(g, a, t, end);
  n = (h - end + t - 1) / t;
  for (int i = 0; i < n; i++) {
    int r0 = end + i * (h - end) / n, r1 = end + (i + 1) * (h - end) / n;
    rows_at(g, a, r0);
    g->row0 = r0;
    row_tiles(g, a, r1 - r0, 0, g->s->k_h);
    g->row0 = -1;
  }
}

/* Flat vectors [first, first + n) in tiles as even as fit, addressed from
** pixel `base` (the loop pass's first). */
static void run_tiles(osc_px *g, osc_x86 *a, int first, int n, int base) {
  int pvm = g->isa->pv_max[g->oct], nt = (n + pvm - 1) / pvm;
  for (int t = 0; t < nt; t++) {
    osc_px_vec v[OSC_PX_MAX_PV];
    int lo = first + t * n / nt, hi = first + (t + 1) * n / nt;
    for (int c = lo; c < hi; c++) v[c - lo] = vec_at(g, 0, c), v[c - lo].base = base;
    tile_of(g, a, v, hi - lo, 0, g->s->k_h);
  }
}

/* The run shape: the vectors above the loop, its passes, the rest. */
static void run_body(osc_px *g, osc_x86 *a) {
  const osc_stage *s = g->s;
  const osc_px_run *r = &g->runp;
  long long at = (long long)r->v0 * g->isa->lanes, step = 4LL * r->p * g->isa->lanes;
  int end = r->v0 + r->iters * r->p, top;
  rows_at(g, a, 0);
  if (r->iters == 0) {   /* too short for a pass: every vector unrolled */
    run_tiles(g, a, 0, r->nv, 0);
    return;
  }
  run_tiles(g, a, 0, r->v0, 0);
  OSC_X86(a, LEA, osc_x86_r(OSC_PX_XROW), osc_x86_m(OSC_PX_IN, 4 * (at - s->pad_h * s->w_in), 8));
  OSC_X86(a, LEA, osc_x86_r(OSC_PX_OROW), osc_x86_m(OSC_PX_OUT, 4 * at, 8));
  if (g->residual) OSC_X86(a, LEA, osc_x86_r(OSC_PX_RROW), osc_x86_m(OSC_PX_RES, 4 * at, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_ROWS), osc_x86_i(r->iters));
  top = osc_x86_label(a);
  g->passes = r->iters;
  run_tiles(g, a, r->v0, r->p, (int)at);
  g->passes = 1;
  OSC_X86(a, ADD, osc_x86_r(OSC_PX_XROW), osc_x86_i(step));
  OSC_X86(a, ADD, osc_x86_r(OSC_PX_OROW), osc_x86_i(step));
  if (g->residual) OSC_X86(a, ADD, osc_x86_r(OSC_PX_RROW), osc_x86_i(step));
  OSC_X86(a, DEC, osc_x86_r(OSC_PX_ROWS));
  osc_x86_jnz(a, top);
  rows_at(g, a, 0);
  run_tiles(g, a, end, r->nv - end, 0);
}

/* The pointwise shape: the rows of the run, then its partial vector. */
static void pw_body(osc_px *g, osc_x86 *a) {
  long long at = 4LL * g->view.h_out * g->view.w_out;
  interior(g, a, 0, g->view.h_out);
  if (!g->tail.w_out) return;
  g->s = &g->tail;
  OSC_X86(a, LEA, osc_x86_r(OSC_PX_XROW), osc_x86_m(OSC_PX_IN, at, 8));
  OSC_X86(a, LEA, osc_x86_r(OSC_PX_OROW), osc_x86_m(OSC_PX_OUT, at, 8));
  if (g->residual) OSC_X86(a, LEA, osc_x86_r(OSC_PX_RROW), osc_x86_m(OSC_PX_RES, at, 8));
  tile(g, a, 1, 0, 1, 0, 1);
  g->s = &g->view;
}

/* Bytes of a tile's split copy on the stack. */
static long long split_bytes(const osc_px *g) { return g->n * g->x_ic; }

/* The polyphase split: the group's input rows, phase by phase, into the
** stack below the saved registers; then OSC_PX_IN points at the copy. */
static void split_input(osc_px *g, osc_x86 *a) {
  const osc_stage *s = g->s;
  int top;
  OSC_X86(a, SUB, osc_x86_r(ZYDIS_REGISTER_RSP), osc_x86_i(split_bytes(g)));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_X), osc_x86_r(OSC_PX_IN));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_XROW), osc_x86_r(ZYDIS_REGISTER_RSP));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_ROWS), osc_x86_i(g->n * s->h_in));
  g->isa->split_row(g, a, 1);
  top = osc_x86_label(a);
  g->isa->split_row(g, a, 0);
  OSC_X86(a, ADD, osc_x86_r(OSC_PX_X), osc_x86_i(4LL * s->w_in));
  OSC_X86(a, ADD, osc_x86_r(OSC_PX_XROW), osc_x86_i(4LL * g->xw));
  OSC_X86(a, DEC, osc_x86_r(OSC_PX_ROWS));
  osc_x86_jnz(a, top);
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_IN), osc_x86_r(ZYDIS_REGISTER_RSP));
}

/* The whole function for tiles of `oct` output channels. */
static void gen_function(osc_px *g, osc_x86 *a) {
  const osc_stage *s = g->s;
  ZydisRegister regs[N_SAVED + 3];
  int lo, hi, band, n_saved = N_SAVED + (g->residual ? 2 : 0);
  osc_kernel_interior(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out, &lo, &hi);
  band = g->pw || g->run || g->flat ? 0 : band_rows(g, lo);   /* 0: not banded */
  memcpy(regs, saved, sizeof saved);
  if (g->pf_in || g->pf_split) regs[n_saved++] = OSC_PX_PFD;   /* rdi: the asm's input, kept */
  osc_x86_save(a, regs, n_saved);
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_IN), osc_x86_m(OSC_PX_ARGS, 0, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_OUT), osc_x86_m(OSC_PX_ARGS, 8, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_W), osc_x86_m(OSC_PX_ARGS, 16, 8));
  OSC_X86(a, MOV, osc_x86_r(OSC_PX_BIAS), osc_x86_m(OSC_PX_ARGS, 24, 8));
  if (g->isa->mask_table || s->stride_w == 2)
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_MASKS), osc_x86_m(OSC_PX_ARGS, 32, 8));
  if (g->residual) OSC_X86(a, MOV, osc_x86_r(OSC_PX_RES), osc_x86_m(OSC_PX_ARGS, 40, 8));
  if (g->pf_w_lines) {   /* the next tile's weights, while this one starts */
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_TMP), osc_x86_m(OSC_PX_ARGS, 56, 8));
    for (int i = 0; i < g->pf_w_lines; i++)
      osc_x86_ins(a, PF_W, OSC_X86_OPS(osc_x86_m(OSC_PX_TMP, 64LL * i, 1)));
  }
  if (g->pf_in || g->pf_split) {   /* the last use of args */
    OSC_X86(a, MOV, osc_x86_r(OSC_PX_PFD), osc_x86_m(OSC_PX_ARGS, 48, 8));
    if (g->pf_in) OSC_X86(a, SUB, osc_x86_r(OSC_PX_PFD), osc_x86_r(OSC_PX_IN));
  }
  if (g->split) split_input(g, a);
  if (g->isa->prologue) g->isa->prologue(g, a);
  if (g->pw) {
    pw_body(g, a);
  } else if (g->run) {
    run_body(g, a);
  } else if (g->flat) {   /* one tile, every tap, the masks do the borders */
    rows_at(g, a, 0);
    row_tiles(g, a, 1, 0, s->k_h);
  } else if (band) {
    banded(g, a, band, hi);
  } else {
    for (int oh = 0; oh < lo; oh++) border_row(g, a, oh);
    interior(g, a, lo, hi);
    for (int oh = hi; oh < s->h_out; oh++) border_row(g, a, oh);
  }
  if (g->split) OSC_X86(a, ADD, osc_x86_r(ZYDIS_REGISTER_RSP), osc_x86_i(split_bytes(g)));
  osc_x86_restore(a, regs, n_saved);
  if (g->isa->epilogue) g->isa->epilogue(g, a);
}

/* ---- the strategy --------------------------------------------------------------------- */

/* Instructions emitted, roughly: a body per border row (one in all for a
** flat tile) plus the interior's, each tap of each body loading the row's
** vectors and multiplying them into the tile's output channels. */
static double code_estimate(const osc_px_isa *x, const osc_stage *s) {
  int lo, hi;
  double bodies, vecs = (s->w_out + x->lanes - 1) / x->lanes;
  osc_px_run r;
  if (run_shape(x, s, &r))   /* the unrolled vectors and one pass */
    return (r.nv - r.iters * r.p + r.p) * s->k_h * s->k_w * (1.0 + tile_oct(x, 0, s));
  osc_kernel_interior(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out, &lo, &hi);
  bodies = hi > lo ? lo + (s->h_out - hi) + 1.0 : s->h_out;
  return bodies * s->k_h * s->k_w * vecs * (1.0 + tile_oct(x, 0, s));
}

const char *osc_px_inapplicable(const osc_px_isa *x, int pw, const osc_stage_job *j) {
  const osc_stage *s = j->s;
  px_view view;
  x = variant(x, pw, j, &view);
  if (osc_simd_cap(j) < x->isa) return "the ISA allowed is below the kernel's";
  if (pw && (s->k_h != 1 || s->k_w != 1 || s->stride_h != 1 || s->stride_w != 1 ||
             s->pad_h || s->pad_w))
    return "the pointwise shape takes 1x1 stages of stride 1 without padding";
  if (pw) return 4LL * s->c_in * s->h_in * s->w_in > BYTE_LIMIT ||
                 4LL * s->c_out * s->h_out * s->w_out > BYTE_LIMIT ? "a tensor is beyond 2 GiB" : NULL;
  if (s->stride_w > x->max_stride_w) return "the stage's stride in width is beyond the kernel's";
  if (s->stride_h > 8) return "the stage's stride in height is beyond 8";
  if ((s->w_out + x->lanes - 1) / x->lanes > OSC_PX_MAX_PV * x->pv_max[x->max_oct])
    return "the rows are too wide";
  if (4LL * s->c_in * s->h_in * s->w_in > BYTE_LIMIT ||
      4LL * s->c_out * s->h_out * s->w_out > BYTE_LIMIT)
    return "a tensor is beyond 2 GiB";
  if (s->h_out > 512) return "more than 512 output rows";
  if (code_estimate(x, s) > MAX_CODE_INS) return "the unrolled code would be too large";
  return NULL;
}

/* Vector instructions executed (multiply-adds, loads, broadcasts), padded
** lanes included: one costs about one scalar multiply-add of the portable
** kernels under tcc, so this is well below them wherever it applies. */
double osc_px_cost(const osc_px_isa *x, int pw, const osc_stage_job *j) {
  const osc_stage *s = j->s;
  px_view view;
  x = variant(x, pw, j, &view);
  double vecs = pw ? (s->h_out * s->w_out + x->lanes - 1) / x->lanes
                   : (double)s->h_out * ((s->w_out + x->lanes - 1) / x->lanes);
  int oct = tile_oct(x, pw, s);
  osc_px_run r;
  if (!pw && run_shape(x, s, &r)) vecs = r.nv;
  double per = (double)(s->c_in / s->groups) * s->k_h * s->k_w;
  double gain = pw ? 0 : split_gain(x, j);   /* per tile */
  double base = vecs * per * ((double)s->c_out + (double)s->stride_w * s->c_out / oct);
  return gain > 0 ? base - gain * osc_px_tiles(x, pw, j) : base;
}

int osc_px_tiles(const osc_px_isa *x, int pw, const osc_stage_job *j) {
  px_view view;
  x = variant(x, pw, j, &view);
  int m = j->s->c_out / j->s->groups, oct = tile_oct(x, pw, j->s);
  return j->s->groups * ((m + oct - 1) / oct);
}

/* The lane masks as a table of ints (-1 on, 0 off), LANES per mask. */
static void mask_table(osc_buf *out, const osc_stage_job *j, const osc_px *g) {
  osc_buf_printf(out, "static const int %s_masks[%d] = {", j->fname,
                 (g->n_masks ? g->n_masks : 1) * g->isa->lanes);
  for (int i = 0; i < g->n_masks; i++)
    for (int l = 0; l < g->isa->lanes; l++)
      osc_buf_printf(out, "%s%s%d", i || l ? "," : "", l ? "" : "\n  ", g->mask[i] >> l & 1 ? -1 : 0);
  osc_buf_puts(out, g->n_masks ? "};\n" : "0};\n");
}

/* The stage's start (FNAME_fetch, called by the glue before its tiles):
** prefetcht1 of the tile functions' machine code (args[0], args[1]: the
** full and the tail function; code_lines[i] lines each) and of the first
** tile's group input and weights (args[2], args[3]), which no tile before
** it prefetched. After other kernels have run, the code comes from L3 or
** DRAM, fetched line by line as it runs: about 10 us of a 60 us call of
** C256 14x14 K3 in `make bench` (README Figures, "Cold data"). A loop of
** prefetches per region, so the function itself is a few lines. */
static void stage_prefetch(osc_buf *out, const osc_stage_job *j, const osc_px *g,
                           const int *code_lines) {
  static const ZydisRegister regs[] = {ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX};
  long long lines[4];
  char name[300];
  osc_x86 a;
  lines[0] = code_lines[0], lines[1] = code_lines[1];
  lines[2] = g->pf_in ? (g->n * g->x_ic + 63) / 64 : 0;
  if (g->pw && lines[2] > PF_PW_FIRST_LINES) lines[2] = PF_PW_FIRST_LINES;
  lines[3] = g->pf_w_lines;
  osc_x86_init(&a);
  osc_x86_save(&a, regs, 2);
  for (int i = 0; i < 4; i++) {
    int top;
    if (lines[i] <= 0) continue;
    OSC_X86(&a, MOV, osc_x86_r(ZYDIS_REGISTER_RAX), osc_x86_m(OSC_PX_ARGS, 8 * i, 8));
    OSC_X86(&a, MOV, osc_x86_r(ZYDIS_REGISTER_ECX), osc_x86_i(lines[i]));
    top = osc_x86_label(&a);
    osc_x86_ins(&a, ZYDIS_MNEMONIC_PREFETCHT1, OSC_X86_OPS(osc_x86_m(ZYDIS_REGISTER_RAX, 0, 1)));
    OSC_X86(&a, ADD, osc_x86_r(ZYDIS_REGISTER_RAX), osc_x86_i(64));
    OSC_X86(&a, DEC, osc_x86_r(ZYDIS_REGISTER_ECX));
    osc_x86_jnz(&a, top);
  }
  osc_x86_restore(&a, regs, 2);
  snprintf(name, sizeof name, "%s_fetch", j->fname);
  osc_simd_asm_function(out, name, &a);
  osc_x86_free(&a);
}

/* What the tile prefetches (args[6], args[7]: input, weights): the next
** tile's of the stage, whatever the range (the last one: its own). */
static void prefetch_args(osc_buf *out, const osc_stage_job *j, int oct) {
  const osc_stage *s = j->s;
  int n = s->c_in / s->groups, m = s->c_out / s->groups, per = (m + oct - 1) / oct;
  osc_buf_printf(out, "    const int u = t + 1 < %d ? t + 1 : t, ", s->groups * per);
  osc_simd_tile_index(out, s, oct, "u", "gu", "ju");
  osc_buf_printf(out, ";\n    a[6] = in + gu * %lld;\n", (long long)n * s->h_in * s->w_in);
  osc_buf_printf(out, "    a[7] = w + (gu * %d + ju) * %lld;\n", m, (long long)n * s->k_h * s->k_w);
}

/* The glue's call of FNAME_fetch: the code's addresses through a union
** (ISO C has no conversion of a function pointer to void *), the first
** tile's input and weights. */
static void fetch_call(osc_buf *out, const osc_stage_job *j, int oct, int tail) {
  const osc_stage *s = j->s;
  int n = s->c_in / s->groups, m = s->c_out / s->groups;
  osc_buf_printf(out, "  if (t0 < t1) {\n"
                 "    static void (*const volatile fetch)(const void *) = %s_fetch;\n"
                 "    union { void (*f)(const void *); const void *p; } full_code, tail_code;\n"
                 "    const int ", j->fname);
  osc_simd_tile_index(out, s, oct, "t0", "gr", "j");
  osc_buf_printf(out, ";\n    const void *c[4];\n    full_code.f = full;\n    tail_code.f = %s;\n"
                 "    c[0] = full_code.p;\n    c[1] = tail_code.p;\n"
                 "    c[2] = in + gr * %lld;\n    c[3] = w + (gr * %d + j) * %lld;\n"
                 "    fetch(c);\n  }\n", tail != oct ? "tail" : "full",
                 (long long)n * s->h_in * s->w_in, m, (long long)n * s->k_h * s->k_w);
}

/* The C loop over tiles [t0, t1), a tile being oct output channels of a
** group (the tail tile fewer). */
static void glue(osc_buf *out, const osc_stage_job *j, const osc_px *g, int oct, int tail) {
  const osc_stage *s = j->s;
  int n = s->c_in / s->groups, m = s->c_out / s->groups;
  long long hw_out = (long long)s->h_out * s->w_out;
  if (g->isa->mask_table) mask_table(out, j, g);
  else if (s->stride_w == 2) {   /* vpermt2ps: the even lanes of two vectors (split: odd too) */
    int len = g->isa->lanes * (g->split ? 2 : 1);
    osc_buf_printf(out, "static const int %s_masks[%d] = {", j->fname, len);
    for (int l = 0; l < len; l++)
      osc_buf_printf(out, "%s%d", l ? ", " : "", 2 * (l % g->isa->lanes) + l / g->isa->lanes);
    osc_buf_puts(out, "};\n");
  }
  osc_buf_printf(out, "static void %s(", j->fname);
  osc_simd_params(out, j);
  osc_buf_printf(out, ") {\n  static void (*const volatile full)(const void *) = %s_t%d;\n",
                 j->fname, oct);
  if (tail != oct)
    osc_buf_printf(out, "  static void (*const volatile tail)(const void *) = %s_t%d;\n",
                   j->fname, tail);
  osc_buf_puts(out, "  const void *a[8];\n");
  if (!j->residual) osc_buf_puts(out, "  a[5] = 0;\n");
  if (g->isa->mask_table || s->stride_w == 2)
    osc_buf_printf(out, "  a[4] = %s_masks;\n", j->fname);
  else osc_buf_puts(out, "  a[4] = 0;\n");
  fetch_call(out, j, oct, tail);
  osc_buf_puts(out, "  for (int t = t0; t < t1; t++) {\n    const int ");
  osc_simd_tile_index(out, s, oct, "t", "gr", "j");
  osc_buf_puts(out, ";\n");
  osc_buf_printf(out, "    a[0] = in + gr * %lld;\n", (long long)n * s->h_in * s->w_in);
  if (j->last) osc_buf_printf(out, "    a[1] = out + (gr * %d + j) * %lld;\n", m, hw_out);
  else osc_buf_printf(out, "    a[1] = out + (j * %d + gr) * %lld;\n", s->groups, hw_out);
  if (j->residual)   /* the tile's residual: at the output's offset */
    osc_buf_printf(out, "    a[5] = res + (gr * %d + j) * %lld;\n", m, hw_out);
  osc_buf_printf(out, "    a[2] = w + (gr * %d + j) * %lld;\n", m,
                 (long long)n * s->k_h * s->k_w);
  if (j->bias) osc_buf_printf(out, "    a[3] = bias + gr * %d + j;\n", m);
  else osc_buf_puts(out, "    a[3] = 0;\n");
  prefetch_args(out, j, oct);
  if (tail != oct) osc_buf_printf(out, "    if (j + %d <= %d) full(a); else tail(a);\n", oct, m);
  else osc_buf_puts(out, "    full(a);\n");
  osc_buf_puts(out, "  }\n}\n");
}

/* The machine-code functions j->fname "_t<oct>" of a stage: one per tile
** width (the group's last tile may be narrower). x_ic / o_oc > 0 replace
** the bytes between input channels / output channels (a fused run's
** block buffers, gen/x86/oscfuse.c); 0 keeps the stage's own. code_lines
** (NULL: not wanted): each function's size in cache lines, for the
** stage's code prefetch. */
static osc_status tile_functions(const osc_px_isa *x, int pw, const osc_stage_job *j,
                                 long long x_ic, long long o_oc, osc_buf *out, osc_error *err,
                                 osc_px *g, int *code_lines) {
  const osc_stage *s = j->s;
  int m = s->c_out / s->groups, oct = tile_oct(x, pw, s), tiles = (m + oct - 1) / oct;
  int sizes[2] = {oct, m - (tiles - 1) * oct};
  char name[300];
  for (int i = 0; i < (sizes[1] != oct ? 2 : 1); i++) {
    osc_x86 a;
    const char *why;
    osc_x86_init(&a);
    a.no_listing = j->no_listing;
    setup(x, pw, 1, j, sizes[i], g);
    if (g->mask_overflow) setup(x, pw, 0, j, sizes[i], g);   /* row by row, then */
    if (x_ic > 0) g->x_ic = x_ic;
    if (o_oc > 0) g->o_oc = o_oc;
    gen_function(g, &a);
    if ((why = osc_x86_error(&a))) {
      osc_status st = osc_error_layer(err, OSC_EINTERNAL, &j->plan->layer,
                                      "stage %d: encoding failed: %s", j->index + 1, why);
      osc_x86_free(&a);
      return st;
    }
    snprintf(name, sizeof name, "%s_t%d", j->fname, sizes[i]);
    osc_simd_asm_function(out, name, &a);
    if (code_lines) code_lines[i] = (int)((a.len + CODE_SLACK + 63) / 64);
    osc_x86_free(&a);
  }
  return OSC_OK;
}

int osc_px_pw_oct(const osc_px_isa *x, const osc_stage *s) { return tile_oct(x, 1, s); }

osc_status osc_px_emit_pw_block(const osc_px_isa *x, const osc_stage_job *j, long long in_stride,
                                long long out_stride, osc_buf *out, osc_error *err) {
  osc_px g;
  osc_status st = tile_functions(x, 1, j, 4 * in_stride,
                                 4 * out_stride * (j->last ? 1 : j->s->groups), out, err, &g, NULL);
  if (!st && x->mask_table) mask_table(out, j, &g);
  return st;
}

osc_status osc_px_emit(const osc_px_isa *x, int pw, const osc_stage_job *j, osc_buf *out,
                       osc_error *err) {
  const osc_stage *s = j->s;
  px_view view;
  x = variant(x, pw, j, &view);
  int m = s->c_out / s->groups, oct = tile_oct(x, pw, s), tiles = (m + oct - 1) / oct;
  int sizes[2] = {oct, m - (tiles - 1) * oct};
  char run[96] = "";
  int code_lines[2] = {0, 0};
  osc_px g;
  osc_px_run r;
  if (pw) snprintf(run, sizeof run, ", the plane as one run");
  else if (split_gain(x, j) > 0) snprintf(run, sizeof run, ", the input split into column phases");
  else if (run_shape(x, s, &r) && r.iters)
    snprintf(run, sizeof run, ", the plane flat: a loop of %d passes of %d vectors", r.iters, r.p);
  else if (run_shape(x, s, &r))
    snprintf(run, sizeof run, ", the plane flat: %d vectors unrolled", r.nv);
  osc_buf_printf(out, "/* stage %d: %s -- tiles of %d output channel%s x up to %d vectors of "
                 "%d pixels%s (gen/x86/oscpx.c) */\n#if defined(__x86_64__)\n", j->index + 1,
                 pw ? x->pw_kernel : x->kernel, oct, oct > 1 ? "s" : "", x->pv_max[oct],
                 x->lanes, run);
  osc_status st = tile_functions(x, pw, j, 0, 0, out, err, &g, code_lines);
  if (st) return st;
  stage_prefetch(out, j, &g, code_lines);
  glue(out, j, &g, oct, sizes[1]);
  if (!j->dispatched)
    osc_buf_printf(out, "#else\n#error \"generated for x86-64 %s (osconv gen --isa %s)\"\n",
                   osc_isa_name(x->isa), osc_isa_name(x->isa));
  osc_buf_puts(out, "#endif\n");
  return OSC_OK;
}

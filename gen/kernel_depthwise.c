/*
** kernel_depthwise.c -- stages whose fan-in is one channel
** (stage_depthwise.c.in): depthwise KxK with any channel multiplier
** (outputs per group), stride and padding.
**
** Per group (one input channel) and block of OCB of its outputs, the
** block's weights are hoisted into locals. The output splits into regions
** of one row class (each border row alone, the interior rows together) x
** one column class, each with its taps fixed at generation time: the
** interior has all of them and no checks, border rows and columns leave
** out the taps in the padding. A region is a loop over blocks of
** row_block rows around a loop over its columns, one output column of the
** block per pass with every tap unrolled: gcc -O3 vectorizes that loop
** across columns, tcc shares the loop's overhead among the block's rows
** and saves a load per product. x and o step along the row, unless the
** last step would take x past the end of the input (a stride wider than
** the kernel): such a region computes x from the column instead.
** Border regions are unrolled while they fit max_border_terms (the most
** pixels first; the corners all or none); the rest go through one checked
** function per output pixel.
**
** The stage function's pointers are restrict, as in kernel_pointwise.c.
*/
#include "osckernel.h"

#include <stdlib.h>

#include "oscplan.h"

#define LIVE_WEIGHT_SHARE 4   /* as in kernel_pointwise.c */
#define REGION_OVERHEAD 4     /* budget a region costs beyond its products */

typedef struct dw_shape {
  int oh_lo, oh_hi, ow_lo, ow_hi;   /* interior */
  int ocb, row_block;               /* a block: outputs of a group x rows */
  int hoist;                        /* the block's weights are locals */
  /* regions: unrolled, 8 numbers each (rows [a, b), taps ky [k0, k1),
  ** columns [a, b), taps kx [k0, k1)); checked, 4 each (rows, columns) */
  long long *unrolled, *checked;    /* NULL: only counted */
  int n_unrolled, n_checked;
  double unrolled_macs, checked_pixels;   /* per output channel */
} dw_shape;

/* The taps [*k0, *k1) of output r that fall inside the input, one dimension. */
static void taps(int r, int k, int stride, int pad, int in, int *k0, int *k1) {
  int start = r * stride - pad;
  *k0 = start < 0 ? -start : 0;
  *k1 = in - start < k ? in - start : k;
  if (*k1 < *k0) *k1 = *k0;
}

typedef struct dim {
  int out, k, stride, pad, in, lo, hi;
} dim;

static int n_border(const dim *d) { return d->lo + d->out - d->hi; }
/* The i-th border row (or column): the ones before the interior, then after. */
static int border_at(const dim *d, int i) { return i < d->lo ? i : d->hi + i - d->lo; }

static void add_unrolled(dw_shape *s, int ra, int rb, int ky0, int ky1, int ca, int cb, int kx0,
                         int kx1) {
  if (s->unrolled) {
    long long *r = s->unrolled + 8 * s->n_unrolled;
    r[0] = ra, r[1] = rb, r[2] = ky0, r[3] = ky1, r[4] = ca, r[5] = cb, r[6] = kx0, r[7] = kx1;
  }
  s->n_unrolled++;
  s->unrolled_macs += (double)(rb - ra) * (cb - ca) * (ky1 - ky0) * (kx1 - kx0);
}

static void add_checked(dw_shape *s, int ra, int rb, int ca, int cb) {
  if (ra >= rb || ca >= cb) return;
  if (s->checked) {
    long long *r = s->checked + 4 * s->n_checked;
    r[0] = ra, r[1] = rb, r[2] = ca, r[3] = cb;
  }
  s->n_checked++;
  s->checked_pixels += (double)(rb - ra) * (cb - ca);
}

/* Budget of an unrolled region of `rows` rows with `taps` taps: its bodies
** (a block of row_block rows and one of the rest) and their setup. */
static long long region_cost(const dw_shape *s, int rows, int taps) {
  int body_rows = rows <= s->row_block ? rows : s->row_block + rows % s->row_block;
  return (long long)s->ocb * ((long long)taps * body_rows + REGION_OVERHEAD);
}

/* Border rows (rows = 1) or columns (rows = 0) x the other dimension's
** interior, within *budget. */
static void edges(dw_shape *s, const dim *h, const dim *w, int rows, long long *budget) {
  const dim *b = rows ? h : w, *o = rows ? w : h;
  if (o->lo >= o->hi) return;   /* no interior across: all corners */
  for (int i = 0; i < n_border(b); i++) {
    int r = border_at(b, i), k0, k1;
    long long cost;
    taps(r, b->k, b->stride, b->pad, b->in, &k0, &k1);
    cost = region_cost(s, rows ? 1 : o->hi - o->lo, (k1 - k0) * o->k);
    if (cost <= *budget) {
      *budget -= cost;
      if (rows) add_unrolled(s, r, r + 1, k0, k1, o->lo, o->hi, 0, o->k);
      else add_unrolled(s, o->lo, o->hi, 0, o->k, r, r + 1, k0, k1);
    } else if (rows) {
      add_checked(s, r, r + 1, o->lo, o->hi);
    } else {
      add_checked(s, o->lo, o->hi, r, r + 1);
    }
  }
}

/* The corners (border rows x border columns): all unrolled if they fit
** the budget, else four checked blocks. */
static void corners(dw_shape *s, const dim *h, const dim *w, long long budget) {
  long long need = 0;
  for (int i = 0; i < n_border(h) && need <= budget; i++)
    for (int q = 0; q < n_border(w) && need <= budget; q++) {
      int ky0, ky1, kx0, kx1;
      taps(border_at(h, i), h->k, h->stride, h->pad, h->in, &ky0, &ky1);
      taps(border_at(w, q), w->k, w->stride, w->pad, w->in, &kx0, &kx1);
      need += region_cost(s, 1, (ky1 - ky0) * (kx1 - kx0));
    }
  if (need > budget) {
    add_checked(s, 0, h->lo, 0, w->lo);
    add_checked(s, 0, h->lo, w->hi, w->out);
    add_checked(s, h->hi, h->out, 0, w->lo);
    add_checked(s, h->hi, h->out, w->hi, w->out);
    return;
  }
  for (int i = 0; i < n_border(h); i++)
    for (int q = 0; q < n_border(w); q++) {
      int r = border_at(h, i), c = border_at(w, q), ky0, ky1, kx0, kx1;
      taps(r, h->k, h->stride, h->pad, h->in, &ky0, &ky1);
      taps(c, w->k, w->stride, w->pad, w->in, &kx0, &kx1);
      add_unrolled(s, r, r + 1, ky0, ky1, c, c + 1, kx0, kx1);
    }
}

/* The regions in emission order: interior, border rows and columns (the
** kind with more pixels per region first), corners; into s's arrays when
** they are set, counted either way. */
static void regions(const osc_stage_job *j, dw_shape *s) {
  const osc_stage *st = j->s;
  dim h = {st->h_out, st->k_h, st->stride_h, st->pad_h, st->h_in, s->oh_lo, s->oh_hi};
  dim w = {st->w_out, st->k_w, st->stride_w, st->pad_w, st->w_in, s->ow_lo, s->ow_hi};
  long long budget = j->knobs->max_border_terms < 0 ? -1 : j->knobs->max_border_terms;
  int rows_first = s->ow_hi - s->ow_lo >= s->oh_hi - s->oh_lo;
  s->n_unrolled = s->n_checked = 0;
  s->unrolled_macs = s->checked_pixels = 0;
  if (h.lo < h.hi && w.lo < w.hi) add_unrolled(s, h.lo, h.hi, 0, h.k, w.lo, w.hi, 0, w.k);
  edges(s, &h, &w, rows_first, &budget);
  edges(s, &h, &w, !rows_first, &budget);
  corners(s, &h, &w, budget);
}

static void shape_of(const osc_stage_job *j, dw_shape *d) {
  const osc_stage *s = j->s;
  int m = s->c_out / s->groups, kk = s->k_h * s->k_w;
  int live = j->knobs->max_body_terms / LIVE_WEIGHT_SHARE;
  osc_kernel_interior(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out, &d->oh_lo, &d->oh_hi);
  osc_kernel_interior(s->w_in, s->k_w, s->stride_w, s->pad_w, s->w_out, &d->ow_lo, &d->ow_hi);
  /* a block of OCB outputs x row_block rows must fit the body budget:
  ** fewer rows first, then fewer outputs (as direct shrinks its blocks) */
  d->ocb = osc_kernel_largest_divisor(m, j->knobs->max_oc_block);
  d->row_block = j->knobs->max_px_block;
  while (d->row_block > 1 && d->ocb * d->row_block * kk > j->knobs->max_body_terms) d->row_block--;
  while (d->ocb > 1 && d->ocb * d->row_block * kk > j->knobs->max_body_terms)
    d->ocb = osc_kernel_largest_divisor(m, d->ocb - 1);
  d->hoist = d->ocb * kk <= live;
  d->unrolled = d->checked = NULL;
  regions(j, d);
}

static const char *inapplicable(const osc_stage_job *j) {
  if (j->s->c_in != j->s->groups) return "the fan-in is more than one channel";
  /* the taps are never chunked: one output's sum is one body */
  if (j->s->k_h * j->s->k_w > j->knobs->max_body_terms)
    return "the kernel window is larger than max_body_terms";
  return NULL;
}

/* In direct's units (its cost is the stage's MACs): 0.75 per multiply-add
** where unrolled, the worst ratio measured on tcc, which gains least
** (bench/bench_jit; gcc -O3 gains 1.5-3x, bench_emit); a checked pixel
** costs about four times. */
static double cost(const osc_stage_job *j) {
  const osc_stage *s = j->s;
  dw_shape d;
  shape_of(j, &d);
  return (double)s->c_out * (0.75 * d.unrolled_macs + 4.0 * d.checked_pixels * s->k_h * s->k_w);
}

static osc_status emit(const osc_stage_job *j, osc_buf *out, osc_error *err) {
  osc_tmpl_params ps;
  dw_shape d;
  osc_status st;
  shape_of(j, &d);
  d.unrolled = malloc(8 * (size_t)(d.n_unrolled + 1) * sizeof *d.unrolled);
  d.checked = malloc(4 * (size_t)(d.n_checked + 1) * sizeof *d.checked);
  if (!d.unrolled || !d.checked) {
    free(d.unrolled);
    free(d.checked);
    return osc_error_set(err, OSC_ENOMEM, "out of memory emitting stage %d", j->index + 1);
  }
  regions(j, &d);
  osc_tmpl_params_init(&ps);
  osc_kernel_stage_params(j, &ps);
  osc_tmpl_int(&ps, "ocb", d.ocb);
  osc_tmpl_int(&ps, "row_block", d.row_block);
  osc_tmpl_int(&ps, "hoist", d.hoist);
  osc_tmpl_ints(&ps, "unrolled", d.unrolled, 8 * d.n_unrolled);
  osc_tmpl_ints(&ps, "checked", d.checked, 4 * d.n_checked);
  st = osc_tmpl_expand(osc_kernel_depthwise.template_name, &ps, out, err);
  free(d.unrolled);
  free(d.checked);
  return st;
}

/* A tile: one block of OCB output channels of one group. */
static int tiles(const osc_stage_job *j) {
  dw_shape d;
  shape_of(j, &d);
  return j->s->c_out / d.ocb;
}

const osc_stage_kernel osc_kernel_depthwise = {"depthwise", "stage_depthwise.c.in",
                                               inapplicable, cost, emit, OSC_ISA_C, tiles};

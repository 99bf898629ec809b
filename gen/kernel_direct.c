/*
** kernel_direct.c -- the portable scalar stage kernel (stage_direct.c.in).
**
** Loops: groups -> blocks of OCB output channels -> interior rows -> tiles
** of OWB output pixels; the body of a tile is unrolled completely into one
** flat sum of products per output (at most max_expr_terms per statement).
** When a body would exceed max_body_terms the fan-in channels are walked in
** chunks of CC channels by a loop around an unrolled chunk body (plus an
** unrolled tail when CC does not divide the fan-in). Outputs whose taps
** reach into the padding (the border) go through a compact bounds-checked
** function, one pixel at a time; nothing is ever read out of bounds and the
** input is never copied into a padded buffer. Border rows and columns (not
** the corners) get unrolled bodies of their own, their taps clipped at
** generation time, as long as they fit max_border_terms; those go first
** that cover the most pixels.
**
** 1x1 kernels in width with unit stride and no width padding are walked as
** one flat span of pixels (rows are contiguous then), which keeps tiles
** full on narrow images.
*/
#include "osckernel.h"

#include "oscplan.h"

typedef struct direct_shape {
  int oh_lo, oh_hi, ow_lo, ow_hi;   /* interior */
  int flat;                         /* interior walked as one span of pixels */
  int span;                         /* pixels per interior row (or the flat span) */
  int ocb, owb, cc;                 /* blocks: channels, pixels, fan-in chunk */
} direct_shape;

static void shape_of(const osc_stage_job *j, direct_shape *d) {
  const osc_stage *s = j->s;
  const osc_emit_knobs *k = j->knobs;
  int n = s->c_in / s->groups, m = s->c_out / s->groups, kk = s->k_h * s->k_w;
  int budget = k->max_body_terms;
  osc_kernel_interior(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out, &d->oh_lo, &d->oh_hi);
  osc_kernel_interior(s->w_in, s->k_w, s->stride_w, s->pad_w, s->w_out, &d->ow_lo, &d->ow_hi);
  d->flat = s->k_w == 1 && s->stride_w == 1 && s->pad_w == 0 && s->stride_h == 1;
  d->span = d->flat ? (d->oh_hi - d->oh_lo) * s->w_out : d->ow_hi - d->ow_lo;
  d->ocb = osc_kernel_largest_divisor(m, k->max_oc_block);
  d->owb = d->span < k->max_px_block ? d->span : k->max_px_block;
  if (d->owb < 1) d->owb = 1;
  /* a block of single-channel bodies must fit the budget: shrink the
  ** pixel block first (tcc gains nothing from it), then the channel block */
  while (d->ocb * d->owb * kk > budget && d->owb > 1) d->owb--;
  while (d->ocb * d->owb * kk > budget && d->ocb > 1)
    d->ocb = osc_kernel_largest_divisor(m, d->ocb - 1);
  int per_output = budget / (d->ocb * d->owb);
  if (n * kk <= per_output) {
    d->cc = n;
  } else {
    int lim = per_output / kk < 1 ? 1 : per_output / kk;
    int div = osc_kernel_largest_divisor(n, lim);
    /* a divisor avoids the tail body; take it unless it halves the chunk */
    d->cc = 2 * div > lim ? div : lim;
  }
}

static const char *inapplicable(const osc_stage_job *j) {
  (void)j;
  return NULL;
}

/* One multiply-add per MAC where unrolled; the checked corners cost about
** four. (Border rows and columns beyond max_border_terms are counted as
** unrolled: a small error on a small fraction.) */
static double cost(const osc_stage_job *j) {
  direct_shape d;
  const osc_stage *s = j->s;
  double per_pixel = (double)osc_stage_params(s), corners;
  shape_of(j, &d);
  corners = (double)(s->h_out - (d.oh_hi - d.oh_lo)) * (s->w_out - (d.ow_hi - d.ow_lo));
  return per_pixel * ((double)s->h_out * s->w_out + 3.0 * corners);
}

static osc_status emit(const osc_stage_job *j, osc_buf *out, osc_error *err) {
  osc_tmpl_params ps;
  direct_shape d;
  shape_of(j, &d);
  osc_tmpl_params_init(&ps);
  osc_kernel_stage_params(j, &ps);
  osc_kernel_region_params(&ps, d.oh_lo, d.oh_hi, d.ow_lo, d.ow_hi, d.flat);
  osc_tmpl_int(&ps, "ocb", d.ocb);
  osc_tmpl_int(&ps, "owb", d.owb);
  osc_tmpl_int(&ps, "cc", d.cc);
  osc_tmpl_int(&ps, "max_border_terms", j->knobs->max_border_terms);
  return osc_tmpl_expand(osc_kernel_direct.template_name, &ps, out, err);
}

/* A tile: one block of OCB output channels of one group. */
static int tiles(const osc_stage_job *j) {
  direct_shape d;
  shape_of(j, &d);
  return j->s->c_out / d.ocb;
}

const osc_stage_kernel osc_kernel_direct = {"direct", "stage_direct.c.in", inapplicable,
                                            cost, emit, OSC_ISA_C, tiles};

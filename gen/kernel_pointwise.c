/*
** kernel_pointwise.c -- 1x1 stages (stage_pointwise.c.in): per group, a
** block of OCB output channels x a run of pixels. The run is a plain loop,
** one pixel per pass (the whole interior as one span when the stride is 1
** and there is no width padding: x and o then step along it); the body is
** the block's OCB sums of the fan-in, unrolled. The pixel's fan-in values
** are loaded once into locals shared by the block, the block's weights are
** locals hoisted out of the loop: gcc -O3 vectorizes the loop across
** pixels, tcc saves a load per product. Fan-ins larger than one body are
** walked in chunks of CC channels (the first chunk stores, the middle ones
** loop and add, the last adds and applies bias and ReLU), so a stage has
** at most three bodies.
**
** The stage function's pointers are restrict: a stage's input, output,
** weights and bias never overlap (the scratch regions are disjoint; the
** caller's in/out/weights must not overlap either). Without it gcc needs a
** run-time alias check per input and output row of a body, and gives up
** beyond ten.
**
** A 1x1 stage gets padding only from a 1x1 layer with padding: those
** outputs read no input at all and are filled with their bias (or zero).
*/
#include "osckernel.h"

#include "oscplan.h"

/* Weights of one body stay live across the pixel loop as locals: more than
** a quarter of max_body_terms (128 by default) and gcc -O3 spills them and
** stops vectorizing well (measured on mobilenet's 1x1 stages). */
#define LIVE_WEIGHT_SHARE 4

typedef struct pw_shape {
  int oh_lo, oh_hi, ow_lo, ow_hi;   /* the outputs that read the input */
  int flat;                         /* ... as one span of pixels */
  int ocb, cc;                      /* blocks: output channels, fan-in chunk */
} pw_shape;

static void shape_of(const osc_stage_job *j, pw_shape *d) {
  const osc_stage *s = j->s;
  int n = s->c_in / s->groups, m = s->c_out / s->groups;
  int budget = j->knobs->max_body_terms / LIVE_WEIGHT_SHARE, per_output;
  if (budget < 1) budget = 1;
  osc_kernel_interior(s->h_in, 1, s->stride_h, s->pad_h, s->h_out, &d->oh_lo, &d->oh_hi);
  osc_kernel_interior(s->w_in, 1, s->stride_w, s->pad_w, s->w_out, &d->ow_lo, &d->ow_hi);
  d->flat = s->stride_h == 1 && s->stride_w == 1 && s->pad_w == 0;
  /* no pixel block here, so twice direct's channel block: the fan-in
  ** values loaded for a pixel are shared by more outputs */
  d->ocb = osc_kernel_largest_divisor(m, 2 * j->knobs->max_oc_block);
  while (d->ocb > budget) d->ocb = osc_kernel_largest_divisor(m, d->ocb - 1);
  per_output = budget / d->ocb;
  if (n <= per_output) {
    d->cc = n;
  } else {
    int div = osc_kernel_largest_divisor(n, per_output);
    /* a divisor makes the last chunk a full one; take it unless it halves the chunk */
    d->cc = 2 * div > per_output ? div : per_output;
  }
}

static const char *inapplicable(const osc_stage_job *j) {
  if (j->s->k_h != 1 || j->s->k_w != 1) return "the kernel is not 1x1";
  return NULL;
}

/* In direct's units (its cost is the stage's MACs), calibrated on tcc,
** which gains least (bench/bench_jit; gcc -O3 gains 2-5x, bench_emit): a
** multiply-add costs 0.63 of direct's, each pass of the pixel loop two
** more (the fan-in loads and the stores of OCB outputs). So a fan-in of
** two or less in blocks of one or two outputs stays with direct (or the
** depthwise kernel). Padded outputs, stores only, are not counted. */
static double cost(const osc_stage_job *j) {
  const osc_stage *s = j->s;
  pw_shape d;
  int n = s->c_in / s->groups, chunks;
  double reads;
  shape_of(j, &d);
  chunks = (n + d.cc - 1) / d.cc;
  reads = (double)(d.oh_hi - d.oh_lo) * (d.ow_hi - d.ow_lo);
  return 0.63 * (double)osc_kernel_valid_macs(s) + 2.0 * reads * chunks * s->c_out / d.ocb;
}

static osc_status emit(const osc_stage_job *j, osc_buf *out, osc_error *err) {
  osc_tmpl_params ps;
  pw_shape d;
  shape_of(j, &d);
  osc_tmpl_params_init(&ps);
  osc_kernel_stage_params(j, &ps);
  osc_kernel_region_params(&ps, d.oh_lo, d.oh_hi, d.ow_lo, d.ow_hi, d.flat);
  osc_tmpl_int(&ps, "ocb", d.ocb);
  osc_tmpl_int(&ps, "cc", d.cc);
  return osc_tmpl_expand(osc_kernel_pointwise.template_name, &ps, out, err);
}

/* A tile: one block of OCB output channels of one group. */
static int tiles(const osc_stage_job *j) {
  pw_shape d;
  shape_of(j, &d);
  return j->s->c_out / d.ocb;
}

const osc_stage_kernel osc_kernel_pointwise = {"pointwise", "stage_pointwise.c.in",
                                               inapplicable, cost, emit, OSC_ISA_C, tiles};

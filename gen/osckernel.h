/*
** osckernel.h -- stage kernels as strategies (FFTW's "codelets"/"solvers"):
** each way of turning one stage into C lives in gen/kernel_<name>.c with
** its template templates/stage_<name>.c.in, says whether it applies to a
** stage and what it would cost, and emits the stage function. The emitter
** (oscemit.c) asks every registered kernel and takes the cheapest.
**
** The contract every kernel meets: emit one (or more, all static, named
** after job->fname) C function
**   static void FNAME(const float *in, float *out, const float *w
**                     [, const float *bias], int t0, int t1);   -- bias iff job->bias
** computing tiles [t0, t1) of stage job->index for one image, of the
** kernel's tiles(job) in all: the tiles partition the stage's outputs (each
** output is written by exactly one tile, by the same instructions whatever
** the range), so any split of 0..tiles-1 between threads gives the same
** bits; a tile reads any of the input. `in` is the stage's input
** (C_{i-1} x h_in x w_in), `out` its output (C_i x h_out x w_out), `w` the
** stage's weights [C_i][C_{i-1}/g][k_h][k_w] (PyTorch layout). The output
** channel of the j-th output of group gr is gr*m + j on the last stage and
** j*g + gr otherwise (the channel shuffle folded into the store). On the
** last stage the bias and the activation are applied before the store.
*/
#ifndef OSCKERNEL_H
#define OSCKERNEL_H

#include "oscbuf.h"
#include "oscemit.h"
#include "osconv.h"
#include "osctmpl.h"
#include "oscisa.h"

/* One stage to be emitted. */
typedef struct osc_stage_job {
  const osc_plan *plan;
  int index;                  /* which stage */
  const osc_stage *s;         /* plan->stage[index] */
  int last;                   /* writes the layer's output: no shuffle */
  int bias, relu;             /* fused into the store (last stage only); relu: any
                              ** activation, clamped below at act_lo */
  int clamped;                /* relu6 or clamp: also bounded above, at act_hi */
  int residual;               /* last stage of a residual layer: adds res[] (at the
                              ** output's offset) after the bias, before the activation */
  char act_lo[32], act_hi[32];  /* the bounds as C float literals ("0.0f") */
  const char *fname;          /* the stage function's name */
  const osc_emit_knobs *knobs;  /* resolved: no zero fields */
  const char *prefix;         /* the layer's symbol prefix */
  osc_isa isa;                /* what the stage may use; OSC_ISA_AUTO: any, behind a
                              ** run-time dispatch (oscsimd.h) */
  int dispatched;             /* this is one variant of a dispatching stage */
  int no_listing;             /* asm blocks without their instruction listings */
} osc_stage_job;

typedef struct osc_stage_kernel {
  const char *name;           /* "direct" */
  const char *template_name;  /* "stage_direct.c.in" */
  /* NULL when the kernel can emit the stage, else why not */
  const char *(*inapplicable)(const osc_stage_job *j);
  /* estimated run time, in units of one scalar multiply-add */
  double (*cost)(const osc_stage_job *j);
  osc_status (*emit)(const osc_stage_job *j, osc_buf *out, osc_error *err);
  osc_isa isa;                /* OSC_ISA_C: portable C; else the x86-64 ISA its code needs */
  /* how many tiles the emitted function splits the stage into (>= 1) */
  int (*tiles)(const osc_stage_job *j);
} osc_stage_kernel;

extern const osc_stage_kernel osc_kernel_direct;
extern const osc_stage_kernel osc_kernel_unrolled;
extern const osc_stage_kernel osc_kernel_pointwise;
extern const osc_stage_kernel osc_kernel_depthwise;
extern const osc_stage_kernel osc_kernel_avx512_px;   /* gen/x86/ */
extern const osc_stage_kernel osc_kernel_avx2_px;
extern const osc_stage_kernel osc_kernel_avx512_pw;   /* 1x1 stages, the plane as one run */
extern const osc_stage_kernel osc_kernel_avx2_pw;
/* lanes over output channels, weights packed (oscoc.h: forced by name, or by cost) */
extern const osc_stage_kernel osc_kernel_avx512_oc, osc_kernel_avx512_oc_auto;
extern const osc_stage_kernel osc_kernel_avx2_oc, osc_kernel_avx2_oc_auto;

/* The registered kernels, NULL-terminated (oscemit.c). */
extern const osc_stage_kernel *const osc_stage_kernels[];

/* Template parameters every stage template gets: fname, c_in, c_out,
** groups, n (fan-in per group), m (outputs per group), kh, kw, sh, sw, ph,
** pw, h_in, w_in, h_out, w_out, last, bias, relu, max_expr_terms. */
void osc_kernel_stage_params(const osc_stage_job *j, osc_tmpl_params *ps);

/* The output rows/columns whose taps all fall inside the input, for one
** dimension: [*lo, *hi), empty when *lo == *hi. */
void osc_kernel_interior(int in, int k, int stride, int pad, int out, int *lo, int *hi);
/* The largest divisor of n that is at most cap (at least 1): block sizes
** that divide a group's channels leave no tail body. */
int osc_kernel_largest_divisor(int n, int cap);
/* The interior region [oh_lo, oh_hi) x [ow_lo, ow_hi) and the flat flag, as
** the template parameters every region-splitting kernel reads. */
void osc_kernel_region_params(osc_tmpl_params *ps, int oh_lo, int oh_hi, int ow_lo, int ow_hi,
                              int flat);

/* Multiply-adds that read real input (not padding) in a stage. */
int64_t osc_kernel_valid_macs(const osc_stage *s);

#endif

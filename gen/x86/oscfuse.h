/*
** oscfuse.h -- fused runs of pointwise stages (issue #10 item 2): a run of
** consecutive 1x1 stride-1 unpadded stages, each given the pointwise SIMD
** shape (avx512_pw / avx2_pw, oscpx.h) on one ISA, computed block by block
** over the pixels: for each block of P pixels every stage of the run, the
** intermediates in block buffers in the scratch (plane stride P, C x P
** floats a stage) instead of whole C x H x W planes. The arithmetic of
** every output is the unfused stage's (the same fan-in order, one
** accumulator), so fused and unfused code give the same bits.
**
** The tile ABI: the run's blocks are its tiles, reported on the run's
** first stage (tile t: blocks [t*NB/NT, (t+1)*NB/NT)); every later stage
** of the run reports 1 tile, which does nothing. A call of tiles [t0, t1)
** uses block buffer slot t0, so concurrent calls (disjoint ranges) never
** share one; NT is as many slots as the free scratch regions hold (the
** ones neither the run's input nor its output is in).
*/
#ifndef OSCFUSE_H
#define OSCFUSE_H

#include "osckernel.h"

/* One fused run: stages [first, last] (0-based). */
typedef struct osc_fuse_run {
  int first, last;
  int block;            /* P: pixels a block */
  int blocks;           /* NB = ceil(H*W / P) */
  int tiles;            /* NT <= NB: slots of block buffers */
  int cmax;             /* the widest intermediate of the run, channels */
  long long buf_off;    /* the slots' first float in the scratch */
  long long slot;       /* floats from one slot to the next */
  long long b1_off;     /* the second buffer's, from the first's (runs of 3+) */
} osc_fuse_run;

/* The fusion knob (osc_emit_layer_fuse): 0 the rule below, -1 never,
** P > 0 every eligible run in blocks of P pixels (tests, benchmarks). */
#define OSC_FUSE_OFF (-1)

/* Decides the fused runs of plan p. kern[i] is stage i's one kernel, or
** NULL when it has several (dispatched variants: never fused); src / dst /
** region1 as the layer's buffers (oscemit.c: -1 input, -2 output, 0 / 1
** the scratch regions). Writes up to OSC_MAX_STAGES / 2 runs, returns how
** many. */
int osc_fuse_runs(const osc_plan *p, const osc_stage_kernel *const *kern, const long long *src,
                  const long long *dst, long long region1, int knob, osc_fuse_run *runs);

/* The run's function j[0].fname (the jobs of its stages, j[k] for stage
** first + k; weights at woff[k] floats of the layer's weights):
**   static void FNAME(const float *in, float *out, const float *weights
**                     [, const float *bias][, const float *res], float *buf, int t0, int t1)
** with in the run's input, out its output (they may be one buffer: each
** block reads and writes its own pixels only), buf the slots. */
osc_status osc_fuse_emit(const osc_fuse_run *r, const osc_stage_kernel *kern,
                         const osc_stage_job *j, const long long *woff, osc_buf *out,
                         osc_error *err);

#endif

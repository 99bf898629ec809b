/*
** oscfallback.h -- the reference backend: a plain-loop interpreter of a
** plan (grouped convolutions, an explicit channel shuffle between stages,
** bias and activation at the end). Slow and obviously right; it runs when
** the JIT cannot, and is what the JIT is checked against.
*/
#ifndef OSCFALLBACK_H
#define OSCFALLBACK_H

#include "osconv.h"

/* Run n images. scratch holds osc_plan_scratch_size(p) floats and is reused
** for every image. residual: NULL, or (a residual layer) n outputs' worth,
** added after the bias; it may be out. */
void osc_fallback_run(const osc_plan *p, int n, const float *in, const float *residual,
                      float *out, const float *weights, float *scratch);

#endif

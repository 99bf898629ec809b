/*
** oscemit.h -- turning plans into C: the narrow interface the runtime and
** the CLI use. (Owner of the implementation: oscemit.c + templates/.)
*/
#ifndef OSCEMIT_H
#define OSCEMIT_H

#include "oscbuf.h"
#include "osconv.h"

typedef struct osc_emit_options {
  const char *prefix;   /* symbol prefix, a C identifier: "<net>_<layer>" */
  int batch;            /* images per call of the 4-argument function; 0 = 1 */
} osc_emit_options;

/* One self-contained translation unit for one layer (no #include of
** osconv headers; libc/libm only), defining
**   void <prefix>(const float *in, float *out, const float *weights, float *scratch);
**       -- runs `batch` images
**   void <prefix>_n(int n, const float *in, float *out, const float *weights,
**                   float *scratch);   -- runs n images
** Deterministic: the same plan and options give the same bytes. */
osc_status osc_emit_layer(const osc_plan *p, const osc_emit_options *o, osc_buf *out,
                          osc_error *err);

/* Knobs of the unroll policy (described at the top of oscemit.c). Zero
** fields take the defaults, so `osc_emit_knobs k = {0}` is the default. */
typedef struct osc_emit_knobs {
  int max_expr_terms;     /* products per C statement; default 64 */
  int max_body_terms;     /* products per unrolled loop body; default 512 */
  int full_unroll_terms;  /* stages with at most this many products are
                          ** unrolled completely (no loops); default 1024,
                          ** negative: never */
  int max_oc_block;       /* output channels per block; default 4 */
  int max_px_block;       /* output pixels per block; default 4 */
  const char *kernel;     /* use this stage kernel where it applies (tests,
                          ** benchmarks); NULL: the cheapest applicable */
  int max_border_terms;   /* products unrolled for border rows and columns
                          ** (their taps clipped); the rest of the border
                          ** goes through a checked loop; default 2048,
                          ** negative: none */
} osc_emit_knobs;

/* osc_emit_layer with knobs; k may be NULL (defaults). */
osc_status osc_emit_layer_knobs(const osc_plan *p, const osc_emit_options *o,
                                const osc_emit_knobs *k, osc_buf *out, osc_error *err);

/* A network: one .c and one .h (sizes as macros, prototypes). plans[i]
** belongs to net->layers[i]. */
osc_status osc_emit_network(const osc_network *net, const osc_plan *plans,
                            osc_buf *c_file, osc_buf *h_file, osc_error *err);

#endif

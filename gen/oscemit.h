/*
** oscemit.h -- turning plans into C: the narrow interface the runtime and
** the CLI use. (Owner of the implementation: oscemit.c + templates/.)
*/
#ifndef OSCEMIT_H
#define OSCEMIT_H

#include "oscbuf.h"
#include "oscconfig.h"
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

/* A network: one .c and one .h (sizes as macros, prototypes). plans[i]
** belongs to net->layers[i]. */
osc_status osc_emit_network(const osc_network *net, const osc_plan *plans,
                            osc_buf *c_file, osc_buf *h_file, osc_error *err);

#endif

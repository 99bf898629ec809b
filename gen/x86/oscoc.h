/*
** oscoc.h -- lanes over output channels, the shape of the avx512_oc stage
** kernel (oscoc.c, kernel_avx512_oc.c), for stages whose planes are small
** or strided, where lanes over pixels (oscpx.h) leave lanes idle or pay
** two loads and a permute per vector at stride 2.
**
** A vector holds LANES consecutive output channels of one group at one
** output pixel. A register tile is OCV channel vectors x up to PX output
** pixels (4 x 6, 3 x 8, 2 x 13 or 1 x 24 accumulators). Per input channel
** and tap: OCV weight-vector loads from the packed weights, then per pixel
** one vbroadcastss of its input and OCV register FMAs (one vector: the
** FMA broadcasts from memory). The input is addressed per pixel, so any
** stride costs nothing; zero padding is leaving out the taps of the pixels
** whose input they miss, per pixel (no masks, no padded copy).
**
** The plane is walked in blocks of output rows, the pixels of a block
** (rows x the whole width, flattened) cut into tiles as even as fit: a
** small plane is one block (7x7: 49 pixels in 9 tiles of 5-6), else the
** rows whose taps miss the input above (below) are a block each, unrolled,
** and the interior rows a loop of blocks of R rows (R chosen to fill the
** tiles), then the remainder. The input channels loop, unrolled by a
** divisor of the fan-in up to about MAX_BODY instructions a body.
**
** The store, per vector: the bias (a vector load: a group's outputs are
** consecutive in the bias), the residual (vgatherdps at the outputs'
** offsets), the activation (as oscpx.h: max(lo, acc), then min(hi, acc),
** acc second, so a NaN stays NaN), then vscatterdps with a channel-offset
** index vector (zmm31, lane l: l x the channel stride, the folded
** shuffle's: the plane on the last stage, g planes otherwise).
**
** The weights are packed (osc_oc_pack_index): per group gr, per block b
** of LANES outputs, per input channel c and tap t, the LANES weights of
** outputs gr*m + b*LANES + l, l = 0..LANES-1, consecutive. The packed
** stage has as many floats as PyTorch's, at the same offset in the
** layer's weights; the layer gets PREFIX_pack (README "ABI").
*/
#ifndef OSCOC_H
#define OSCOC_H

#include "osckernel.h"
#include "oscx86.h"

#define OSC_OC_LANES 16
#define OSC_OC_MAX_OCV 4
#define OSC_OC_MAX_PX 24

/* The index in a stage's packed weights of PyTorch's w[co][c][t] (co =
** gr*m + j, c < n input channels of the group, t < taps): the layout the
** emitted pack function writes, spelled once here for tests and docs. */
static inline long long osc_oc_pack_index(long long co, long long c, long long t, int m,
                                          int n, int taps) {
  long long gr = co / m, j = co % m, b = j / OSC_OC_LANES, l = j % OSC_OC_LANES;
  return (((gr * (m / OSC_OC_LANES) + b) * n + c) * taps + t) * OSC_OC_LANES + l;
}

/* The shape's applicability (the kernels add the opt-in: kernel_avx512_oc.c). */
const char *osc_oc_inapplicable(const osc_stage_job *j);
/* Whether k is one of the oc kernels (its stage reads packed weights). */
int osc_oc_kernel(const osc_stage_kernel *k);
double osc_oc_cost(const osc_stage_job *j);
int osc_oc_tiles(const osc_stage_job *j);
osc_status osc_oc_emit(const osc_stage_job *j, osc_buf *out, osc_error *err);
/* `static void FNAME_pack(const float *w, float *p)`: the stage's weights
** into the packed layout. */
void osc_oc_emit_pack(const osc_stage_job *j, osc_buf *out);

#endif

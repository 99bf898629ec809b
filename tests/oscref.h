/*
** oscref.h -- the reference the generated kernels are checked against:
** plain loops, written from SPEC.md and PyTorch's definitions, sharing no
** code with the emitter. One image, NCHW, float in and out, double sums.
*/
#ifndef OSCREF_H
#define OSCREF_H

#include <stddef.h>

#include "osconv.h"

/* torch.nn.functional.conv2d on one image: in [c_in][h][w], wt
** [c_out][c_in/groups][kh][kw], bias [c_out] or NULL, zero padding, out
** [c_out][ho][wo] with ho = (h + 2*ph - kh)/sh + 1 (likewise wo). */
void oscref_conv2d(const float *in, int c_in, int h, int w, const float *wt, const float *bias,
                   int c_out, int groups, int kh, int kw, int sh, int sw, int ph, int pw,
                   float *out);

/* The same for groups = 1, written out separately (the receptive-field test
** compares a chain against it). */
void oscref_conv2d_dense(const float *in, int c_in, int h, int w, const float *wt,
                         const float *bias, int c_out, int kh, int kw, int sh, int sw, int ph,
                         int pw, float *out);

/* torch.nn.ChannelShuffle(groups): view (groups, c/groups), transpose,
** flatten. in and out are [c][hw] and must not overlap. */
void oscref_shuffle(const float *in, float *out, int c, int groups, int hw);

/* x[c][hw] += bias[c] (bias may be NULL), then max(x, 0) if relu. */
void oscref_bias_relu(float *x, const float *bias, int c, int hw, int relu);

/* The plan's chain on n images: per image, stage after stage (grouped
** conv with the stage's own stride and padding), the explicit shuffle
** between stages, then the layer's bias and activation. weights as in
** osconv.h. Returns 0, or -1 if memory ran out. */
int oscref_chain(const osc_plan *p, int n, const float *in, const float *weights, float *out);

/* oscref_chain plus a residual (n outputs, as out) added after the bias and
** before the activation: torch's act(conv(x) + r). NULL: oscref_chain. */
int oscref_chain_residual(const osc_plan *p, int n, const float *in, const float *residual,
                          const float *weights, float *out);

/* oscref_chain where every padded tap multiplies its weight by a zero
** (im2col style) instead of being left out. The two differ only where a
** NaN or infinite weight meets the padding: 0 x inf is NaN. PyTorch's own
** CPU paths differ there too (its dense conv multiplies, its depthwise conv
** skips), so kernels may give either. Not thread-safe. */
int oscref_chain_padded(const osc_plan *p, int n, const float *in, const float *residual,
                        const float *weights, float *out);

#endif

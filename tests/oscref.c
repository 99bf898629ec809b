/*
** oscref.c -- reference convolutions: obviously correct, not fast.
*/
#include "oscref.h"

#include <stdlib.h>
#include <string.h>

static int out_size(int in, int k, int stride, int pad) {
  return (in + 2 * pad - k) / stride + 1;
}

/* 1 while oscref_chain_padded runs: padded taps add weight x 0.0f */
static int pad_products;

void oscref_conv2d(const float *in, int c_in, int h, int w, const float *wt, const float *bias,
                   int c_out, int groups, int kh, int kw, int sh, int sw, int ph, int pw,
                   float *out) {
  int ho = out_size(h, kh, sh, ph), wo = out_size(w, kw, sw, pw);
  int n = c_in / groups, m = c_out / groups;
  for (int oc = 0; oc < c_out; oc++) {
    int g = oc / m;
    for (int y = 0; y < ho; y++)
      for (int x = 0; x < wo; x++) {
        double s = bias ? bias[oc] : 0.0;
        for (int c = 0; c < n; c++) {
          int ic = g * n + c;
          for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
              int iy = y * sh - ph + ky, ix = x * sw - pw + kx;
              int pad = iy < 0 || iy >= h || ix < 0 || ix >= w;   /* zero padding */
              if (pad && !pad_products) continue;
              s += (double)wt[((size_t)(oc * n + c) * kh + ky) * kw + kx] *
                   (pad ? 0.0f : in[((size_t)ic * h + iy) * w + ix]);
            }
        }
        out[((size_t)oc * ho + y) * wo + x] = (float)s;
      }
  }
}

void oscref_conv2d_dense(const float *in, int c_in, int h, int w, const float *wt,
                         const float *bias, int c_out, int kh, int kw, int sh, int sw, int ph,
                         int pw, float *out) {
  int ho = out_size(h, kh, sh, ph), wo = out_size(w, kw, sw, pw);
  for (int oc = 0; oc < c_out; oc++)
    for (int y = 0; y < ho; y++)
      for (int x = 0; x < wo; x++) {
        double s = bias ? bias[oc] : 0.0;
        for (int ic = 0; ic < c_in; ic++)
          for (int ky = 0; ky < kh; ky++) {
            int iy = y * sh - ph + ky;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < kw; kx++) {
              int ix = x * sw - pw + kx;
              if (ix < 0 || ix >= w) continue;
              s += (double)wt[(((size_t)oc * c_in + ic) * kh + ky) * kw + kx] *
                   in[((size_t)ic * h + iy) * w + ix];
            }
          }
        out[((size_t)oc * ho + y) * wo + x] = (float)s;
      }
}

void oscref_shuffle(const float *in, float *out, int c, int groups, int hw) {
  int per = c / groups;
  /* input channel g*per + j (row g, column j of the (groups, per) view)
  ** lands at j*groups + g after the transpose */
  for (int g = 0; g < groups; g++)
    for (int j = 0; j < per; j++)
      memcpy(out + (size_t)(j * groups + g) * hw, in + (size_t)(g * per + j) * hw,
             (size_t)hw * sizeof *in);
}

void oscref_bias_relu(float *x, const float *bias, int c, int hw, int relu) {
  for (int ch = 0; ch < c; ch++)
    for (int i = 0; i < hw; i++) {
      float *v = &x[(size_t)ch * hw + i];
      if (bias) *v += bias[ch];
      if (relu && *v < 0.0f) *v = 0.0f;
    }
}

static size_t max_tensor(const osc_plan *p) {
  size_t m = (size_t)p->layer.in_channels * p->layer.in_h * p->layer.in_w;
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    size_t sz = (size_t)s->c_out * s->h_out * s->w_out;
    if (sz > m) m = sz;
  }
  return m;
}

int oscref_chain_padded(const osc_plan *p, int n, const float *in, const float *residual,
                        const float *weights, float *out) {
  int r;
  pad_products = 1;
  r = oscref_chain_residual(p, n, in, residual, weights, out);
  pad_products = 0;
  return r;
}

int oscref_chain(const osc_plan *p, int n, const float *in, const float *weights, float *out) {
  return oscref_chain_residual(p, n, in, NULL, weights, out);
}

int oscref_chain_residual(const osc_plan *p, int n, const float *in, const float *residual,
                          const float *weights, float *out) {
  const osc_layer *l = &p->layer;
  size_t cap = max_tensor(p), in_size = (size_t)l->in_channels * l->in_h * l->in_w;
  const osc_stage *last = &p->stage[p->n_stages - 1];
  size_t out_size_ = (size_t)last->c_out * last->h_out * last->w_out;
  float *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
  if (!a || !b) { free(a); free(b); return -1; }
  for (int img = 0; img < n; img++) {
    const float *w = weights;
    memcpy(a, in + img * in_size, in_size * sizeof *a);
    for (int i = 0; i < p->n_stages; i++) {
      const osc_stage *s = &p->stage[i];
      oscref_conv2d(a, s->c_in, s->h_in, s->w_in, w, NULL, s->c_out, s->groups, s->k_h, s->k_w,
                    s->stride_h, s->stride_w, s->pad_h, s->pad_w, b);
      w += (size_t)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w;
      if (i + 1 < p->n_stages)
        oscref_shuffle(b, a, s->c_out, s->groups, s->h_out * s->w_out);
      else
        memcpy(a, b, out_size_ * sizeof *a);
    }
    oscref_bias_relu(a, l->bias ? w : NULL, last->c_out, last->h_out * last->w_out,
                     !residual && (l->act == OSC_ACT_RELU || l->act == OSC_ACT_RELU6));
    if (residual) {   /* y = act(conv + bias + r): the sum first, then the ReLU */
      for (size_t k = 0; k < out_size_; k++) a[k] += residual[img * out_size_ + k];
      oscref_bias_relu(a, NULL, last->c_out, last->h_out * last->w_out,
                       l->act == OSC_ACT_RELU || l->act == OSC_ACT_RELU6);
    }
    if (l->act == OSC_ACT_RELU6 || l->act == OSC_ACT_CLAMP)   /* torch.clamp: NaN stays */
      for (size_t k = 0; k < out_size_; k++) {
        float lo = l->act == OSC_ACT_RELU6 ? 0.0f : l->clamp_min;
        float hi = l->act == OSC_ACT_RELU6 ? 6.0f : l->clamp_max;
        if (a[k] < lo) a[k] = lo;
        if (a[k] > hi) a[k] = hi;
      }
    memcpy(out + img * out_size_, a, out_size_ * sizeof *a);
  }
  free(a);
  free(b);
  return 0;
}

/*
** oscfallback.c -- the plan, interpreted with plain loops.
*/
#include "oscfallback.h"

#include "oscplan.h"

/* Intermediates ping-pong like osc_plan_scratch_size lays them out: stage i
** (not the last) writes region i % 2; region 1 starts after region 0. */
static size_t region0_size(const osc_plan *p) {
  size_t r = 0;
  for (int i = 0; i + 1 < p->n_stages; i += 2) {
    const osc_stage *s = &p->stage[i];
    size_t sz = (size_t)s->c_out * s->h_out * s->w_out;
    if (sz > r) r = sz;
  }
  return r;
}

/* ChannelShuffle(groups) as a map from a channel to where it goes: view the
** channels as (groups, c/groups), transpose, flatten. Channel a*(c/groups)+b
** lands at b*groups + a. */
static int shuffled(int channel, int channels, int groups) {
  int per = channels / groups;
  return channel % per * groups + channel / per;
}

/* The last stage's finish of one output (its index i in out): the bias,
** the residual, then the activation; the comparisons are false for NaN,
** which stays. f NULL: a middle stage, the sum as it is. */
typedef struct finish {
  const osc_plan *p;
  const float *bias, *res;   /* NULL when the layer has none */
} finish;

static float finished(const finish *f, float v, int c, size_t i) {
  float lo = 0.0f, hi = 0.0f;
  int kind;
  if (!f) return v;
  kind = osc_layer_act_bounds(&f->p->layer, &lo, &hi);
  if (f->bias) v += f->bias[c];
  if (f->res) v += f->res[i];
  if (kind >= 0 && v < lo) v = lo;
  if (kind == 2 && v > hi) v = hi;
  return v;
}

/* One grouped convolution: src [c_in][h_in][w_in] -> dst [c_out][h_out][w_out],
** zero padding, weights [c_out][c_in/groups][k_h][k_w]. With `shuffle`, output
** channel co is stored at its shuffled place. Each output is written once,
** finished (f) as it is: its residual is read just before, so res may be dst. */
static void conv_stage(const osc_stage *s, const float *src, float *dst, const float *w,
                       int shuffle, const finish *f) {
  int fan_in = s->c_in / s->groups, per_group = s->c_out / s->groups;
  for (int co = 0; co < s->c_out; co++) {
    int ci0 = co / per_group * fan_in;
    int place = shuffle ? shuffled(co, s->c_out, s->groups) : co;
    for (int oy = 0; oy < s->h_out; oy++)
      for (int ox = 0; ox < s->w_out; ox++) {
        double acc = 0;
        for (int ci = 0; ci < fan_in; ci++)
          for (int ky = 0; ky < s->k_h; ky++) {
            int iy = oy * s->stride_h - s->pad_h + ky;
            if (iy < 0 || iy >= s->h_in) continue;
            for (int kx = 0; kx < s->k_w; kx++) {
              int ix = ox * s->stride_w - s->pad_w + kx;
              if (ix < 0 || ix >= s->w_in) continue;
              acc += (double)w[(((size_t)co * fan_in + ci) * s->k_h + ky) * s->k_w + kx] *
                     src[((size_t)(ci0 + ci) * s->h_in + iy) * s->w_in + ix];
            }
          }
        size_t at = ((size_t)place * s->h_out + oy) * s->w_out + ox;
        dst[at] = finished(f, (float)acc, place, at);
      }
  }
}

static void image(const osc_plan *p, const float *in, const float *res, float *out,
                  const float *weights, float *scratch) {
  size_t r0 = region0_size(p);
  const float *src = in;
  finish f = {p, p->layer.bias ? weights + osc_plan_stage_weights_offset(p, p->n_stages) : NULL,
              res};
  for (int i = 0; i < p->n_stages; i++) {
    const float *w = weights + osc_plan_stage_weights_offset(p, i);
    int last = i == p->n_stages - 1;
    float *dst = last ? out : scratch + (i % 2 ? r0 : 0);
    conv_stage(&p->stage[i], src, dst, w, !last, last ? &f : NULL);
    src = dst;
  }
}

void osc_fallback_run(const osc_plan *p, int n, const float *in, const float *residual,
                      float *out, const float *weights, float *scratch) {
  size_t in_size = osc_plan_input_size(p), out_size = osc_plan_output_size(p);
  for (int b = 0; b < n; b++)
    image(p, in + (size_t)b * in_size, residual ? residual + (size_t)b * out_size : NULL,
          out + (size_t)b * out_size, weights, scratch);
}

/*
** rt_test.h -- helpers shared by the runtime tests (suites jit, kernel):
** random plans, data, a plain-loop C source for any plan (a fixture for the
** JIT, not an oracle), and an independent reference written the way PyTorch
** composes the layer: each stage a grouped convolution scattered from its
** inputs, then an explicit ChannelShuffle pass over the whole tensor.
*/
#ifndef RT_TEST_H
#define RT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osc_test.h"
#include "oscbuf.h"
#include "osconv.h"

/* A random small layer, planned in a random applicable mode. 0 if the mode
** does not apply (the caller draws again). */
static inline int rt_random_plan(uint64_t *rng, osc_plan *p) {
  static const int chans[] = {1, 2, 3, 4, 6, 8, 9, 12, 16};
  osc_layer l;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "rand");
  l.in_channels = chans[osc_test_range(rng, 0, 8)];
  l.out_channels = chans[osc_test_range(rng, 0, 8)];
  l.k_h = osc_test_range(rng, 1, 4);
  l.k_w = osc_test_range(rng, 1, 4);
  l.pad_h = osc_test_range(rng, 0, l.k_h / 2 + 1);
  l.pad_w = osc_test_range(rng, 0, l.k_w / 2 + 1);
  l.in_h = osc_test_range(rng, l.k_h, 9);
  l.in_w = osc_test_range(rng, l.k_w, 9);
  l.stride_h = osc_test_range(rng, 1, 2);
  l.stride_w = osc_test_range(rng, 1, 2);
  l.bias = osc_test_range(rng, 0, 1);
  l.act = osc_test_range(rng, 0, 1) ? OSC_ACT_RELU : OSC_ACT_NONE;
  l.mode = (osc_mode)osc_test_range(rng, 0, 3);   /* conventional..optimal */
  l.max_stages = osc_test_range(rng, 1, 3);
  return osc_plan_layer(&l, p, NULL) == OSC_OK;
}

static inline uint64_t rt_rng(void) { return osc_test_seed() ^ 0x5eed5eedull; }

static inline float *rt_random_floats(size_t n, uint64_t *rng) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  for (size_t i = 0; x && i < n; i++)
    x[i] = (float)osc_test_range(rng, -1000, 1000) / 1000.0f;
  return x;
}

static inline double rt_rel_l2(const float *got, const float *want, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)got[i] - want[i];
    num += d * d;
    den += (double)want[i] * want[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ---- the independent reference ------------------------------------------ */

static inline void rt_ref_stage(const osc_stage *s, const float *src, double *acc,
                                const float *w) {
  int n_in = s->c_in / s->groups, m = s->c_out / s->groups;
  memset(acc, 0, (size_t)s->c_out * s->h_out * s->w_out * sizeof *acc);
  /* scatter: every input sample adds into every output that sees it */
  for (int ci = 0; ci < s->c_in; ci++) {
    int g = ci / n_in;
    for (int y = 0; y < s->h_in; y++)
      for (int x = 0; x < s->w_in; x++) {
        double v = src[((size_t)ci * s->h_in + y) * s->w_in + x];
        for (int j = 0; j < m; j++) {
          int co = g * m + j;
          for (int ky = 0; ky < s->k_h; ky++) {
            int ty = y + s->pad_h - ky, oy = ty / s->stride_h;
            if (ty < 0 || ty % s->stride_h || oy >= s->h_out) continue;
            for (int kx = 0; kx < s->k_w; kx++) {
              int tx = x + s->pad_w - kx, ox = tx / s->stride_w;
              if (tx < 0 || tx % s->stride_w || ox >= s->w_out) continue;
              acc[((size_t)co * s->h_out + oy) * s->w_out + ox] +=
                  v * w[(((size_t)co * n_in + ci % n_in) * s->k_h + ky) * s->k_w + kx];
            }
          }
        }
      }
  }
}

/* torch.nn.ChannelShuffle(g) on [c][plane]: view (g, c/g, plane), swap the
** first two axes, flatten. */
static inline void rt_ref_shuffle(const double *src, float *dst, int c, int g, size_t plane) {
  int per = c / g;
  for (int i = 0; i < per; i++)
    for (int j = 0; j < g; j++)
      for (size_t k = 0; k < plane; k++)
        dst[((size_t)i * g + j) * plane + k] = (float)src[((size_t)j * per + i) * plane + k];
}

/* n images through the plan. */
static inline void rt_reference(const osc_plan *p, int n, const float *in, float *out,
                                const float *w) {
  size_t big = osc_plan_input_size(p);
  for (int i = 0; i < p->n_stages; i++) {
    size_t sz = (size_t)p->stage[i].c_out * p->stage[i].h_out * p->stage[i].w_out;
    if (sz > big) big = sz;
  }
  double *acc = malloc(big * sizeof *acc);
  float *cur = malloc(big * sizeof *cur);
  for (int b = 0; b < n; b++) {
    memcpy(cur, in + b * osc_plan_input_size(p), osc_plan_input_size(p) * sizeof *cur);
    for (int i = 0; i < p->n_stages; i++) {
      const osc_stage *s = &p->stage[i];
      size_t plane = (size_t)s->h_out * s->w_out;
      rt_ref_stage(s, cur, acc, w + osc_plan_stage_weights_offset(p, i));
      if (i + 1 < p->n_stages) {
        rt_ref_shuffle(acc, cur, s->c_out, s->groups, plane);
        continue;
      }
      for (int c = 0; c < s->c_out; c++)
        for (size_t k = 0; k < plane; k++) {
          double v = acc[c * plane + k];
          if (p->layer.bias) v += w[osc_plan_stage_weights_offset(p, p->n_stages) + c];
          if (p->layer.act == OSC_ACT_RELU && v < 0) v = 0;
          out[b * osc_plan_output_size(p) + c * plane + k] = (float)v;
        }
    }
  }
  free(acc);
  free(cur);
}

/* ---- a plain-loop source for any plan, in the kernel ABI ------------------ */

/* "void <prefix>_n(int n, const float *in, float *out, const float *w,
** float *scratch)"; the intermediates use osc_plan_scratch_size floats. */
static inline char *rt_loop_source(const osc_plan *p, const char *prefix) {
  osc_buf b;
  size_t r0 = 0;
  for (int i = 0; i + 1 < p->n_stages; i += 2) {
    const osc_stage *s = &p->stage[i];
    size_t sz = (size_t)s->c_out * s->h_out * s->w_out;
    if (sz > r0) r0 = sz;
  }
  osc_buf_init(&b);
  osc_buf_puts(&b,
      "static void stage(int ci_, int co_, int g, int kh, int kw, int sh, int sw, int ph,\n"
      "                  int pw, int hi, int wi, int ho, int wo, int shuf,\n"
      "                  const float *src, float *dst, const float *w) {\n"
      "  int n = ci_ / g, m = co_ / g;\n"
      "  for (int co = 0; co < co_; co++) {\n"
      "    int at = shuf ? co % m * g + co / m : co;\n"
      "    for (int oy = 0; oy < ho; oy++)\n"
      "      for (int ox = 0; ox < wo; ox++) {\n"
      "        float acc = 0.0f;\n"
      "        for (int ci = 0; ci < n; ci++)\n"
      "          for (int ky = 0; ky < kh; ky++)\n"
      "            for (int kx = 0; kx < kw; kx++) {\n"
      "              int iy = oy * sh - ph + ky, ix = ox * sw - pw + kx;\n"
      "              if (iy < 0 || iy >= hi || ix < 0 || ix >= wi) continue;\n"
      "              acc += w[((co * n + ci) * kh + ky) * kw + kx] *\n"
      "                     src[((co / m * n + ci) * hi + iy) * wi + ix];\n"
      "            }\n"
      "        dst[(at * ho + oy) * wo + ox] = acc;\n"
      "      }\n"
      "  }\n"
      "}\n\n");
  osc_buf_printf(&b,
                 "void %s_n(int n, const float *in, float *out, const float *w, "
                 "float *scratch) {\n  for (int b = 0; b < n; b++) {\n"
                 "    const float *src = in + b * %zu;\n    float *dst;\n",
                 prefix, osc_plan_input_size(p));
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    int last = i + 1 == p->n_stages;
    if (last)
      osc_buf_printf(&b, "    dst = out + b * %zu;\n", osc_plan_output_size(p));
    else
      osc_buf_printf(&b, "    dst = scratch + %zu;\n", i % 2 ? r0 : 0);
    osc_buf_printf(&b,
                   "    stage(%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, src, "
                   "dst, w + %zu);\n    src = dst;\n",
                   s->c_in, s->c_out, s->groups, s->k_h, s->k_w, s->stride_h, s->stride_w,
                   s->pad_h, s->pad_w, s->h_in, s->w_in, s->h_out, s->w_out, !last,
                   osc_plan_stage_weights_offset(p, i));
  }
  osc_buf_printf(&b,
                 "    for (int i = 0; i < %zu; i++) {\n"
                 "      float v = dst[i]%s;\n"
                 "      dst[i] = %s;\n    }\n  }\n}\n",
                 osc_plan_output_size(p), p->layer.bias ? " + w[BIAS + i / PLANE]" : "",
                 p->layer.act == OSC_ACT_RELU ? "v < 0.0f ? 0.0f : v" : "v");
  {
    /* defines first would be tidier; appending keeps the text simple */
    char defs[128];
    const osc_stage *s = &p->stage[p->n_stages - 1];
    char *body = osc_buf_take(&b), *all;
    snprintf(defs, sizeof defs, "#define BIAS %zu\n#define PLANE %d\n",
             osc_plan_stage_weights_offset(p, p->n_stages), s->h_out * s->w_out);
    all = body ? malloc(strlen(defs) + strlen(body) + 1) : NULL;
    if (all) strcat(strcpy(all, defs), body);
    free(body);
    osc_buf_free(&b);
    return all;
  }
}

#endif

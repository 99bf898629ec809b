/*
** rt_test.h -- helpers shared by the runtime tests (suites jit, kernel):
** random plans, random data, the relative L2 error. The oracle is
** tests/oscref.h.
*/
#ifndef RT_TEST_H
#define RT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osc_test.h"
#include "osconv.h"

/* A random common divisor of a and b. */
static inline int rt_common_divisor(uint64_t *rng, int a, int b) {
  int d[32], n = 0;
  for (int g = 1; g <= a && n < 32; g++)
    if (a % g == 0 && b % g == 0) d[n++] = g;
  return d[osc_test_range(rng, 0, n - 1)];
}

/* Makes `l` a fixed-mode layer with a random chain of 1 to 3 stages: the
** stages split the kernel's extent, inner widths are the in or the out
** channels, groups divide both sides. Chains that miss input channels are
** left for the planner to reject. */
static inline void rt_random_chain(uint64_t *rng, osc_layer *l) {
  int n = osc_test_range(rng, 1, 3), left_h = l->k_h - 1, left_w = l->k_w - 1;
  int c_prev = l->in_channels;
  l->mode = OSC_MODE_FIXED;
  l->n_fixed = n;
  for (int i = 0; i < n; i++) {
    int last = i == n - 1;
    int dh = last ? left_h : osc_test_range(rng, 0, left_h);
    int dw = last ? left_w : osc_test_range(rng, 0, left_w);
    int c = last || osc_test_range(rng, 0, 1) ? l->out_channels : l->in_channels;
    left_h -= dh;
    left_w -= dw;
    l->fixed[i] = (osc_stage_spec){c, rt_common_divisor(rng, c_prev, c), 1 + dh, 1 + dw};
    c_prev = c;
  }
}

/* A random small layer, planned in a random mode (fixed: a random chain).
** 0 if the mode does not apply or the chain is rejected (draw again). */
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
  l.mode = (osc_mode)osc_test_range(rng, 0, 4);   /* conventional..fixed */
  l.max_stages = osc_test_range(rng, 1, 3);
  if (l.mode == OSC_MODE_FIXED) rt_random_chain(rng, &l);
  return osc_plan_layer(&l, p, NULL) == OSC_OK;
}

static inline uint64_t rt_rng(void) { return osc_test_seed() ^ 0x5eed5eedull; }

static inline float *rt_random_floats(size_t n, uint64_t *rng) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  for (size_t i = 0; x && i < n; i++)
    x[i] = (float)osc_test_range(rng, -1000, 1000) / 1000.0f;
  return x;
}

/* n floats between RT_GUARD guard values each side (a NaN no kernel
** writes); free with rt_guarded_free. */
#define RT_GUARD 16
#define RT_GUARD_BITS 0x7fc0beefu
static inline float *rt_guarded(size_t n) {
  const uint32_t bits = RT_GUARD_BITS;
  float *b = malloc((n + 2 * RT_GUARD) * sizeof *b);
  if (!b) return NULL;
  for (size_t i = 0; i < n + 2 * RT_GUARD; i++) memcpy(&b[i], &bits, sizeof bits);
  return b + RT_GUARD;
}

static inline int rt_guards_intact(const float *p, size_t n) {
  const uint32_t bits = RT_GUARD_BITS;
  for (size_t i = 0; i < RT_GUARD; i++)
    if (memcmp(&p[-1 - (long)i], &bits, 4) || memcmp(&p[n + i], &bits, 4)) return 0;
  return 1;
}

static inline void rt_guarded_free(float *p) {
  if (p) free(p - RT_GUARD);
}

/* Copies the file `from` to `to`; 0 on success. */
static inline int rt_copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
  char buf[8192];
  size_t n;
  int bad = !in || !out;
  while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0) bad = fwrite(buf, 1, n, out) != n;
  if (in && ferror(in)) bad = 1;
  if (in) fclose(in);
  if (out && fclose(out) != 0) bad = 1;
  return bad ? -1 : 0;
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

/* A c -> c layer named `name` on a hw x hw image, k x k kernel with same
** padding, planned in `mode`. Planning it must succeed. */
static inline osc_plan rt_square_plan(const char *name, int c, int hw, int k, osc_mode mode,
                                      int bias, osc_activation act) {
  osc_layer l;
  osc_plan p;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "%s", name);
  l.in_channels = l.out_channels = c;
  l.in_h = l.in_w = hw;
  l.k_h = l.k_w = k;
  l.pad_h = l.pad_w = k / 2;
  l.bias = bias;
  l.act = act;
  l.mode = mode;
  CU_ASSERT_EQUAL(osc_plan_layer(&l, &p, NULL), OSC_OK);
  return p;
}

#endif

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

#endif

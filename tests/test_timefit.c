/*
** test_timefit.c -- the time model's fit (gen/osctimefit.h) on synthetic
** data with known answers, and the model's own invariants (gen/osctime.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "osc_test.h"
#include "oscplan.h"
#include "osctime.h"
#include "osctimefit.h"

#define NV OSC_TIMEFIT_VARS
#define N 200

/* Features spread over decades, like stages from 1 us to 10 ms. */
static void features(uint64_t *rng, double (*x)[NV], int n) {
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < NV - 1; j++) x[i][j] = pow(10.0, osc_test_range(rng, 20, 70) / 10.0);
    x[i][NV - 1] = 1;
  }
}

static double dot(const double *c, const double *x) {
  double s = 0;
  for (int j = 0; j < NV; j++) s += c[j] * x[j];
  return s;
}

/* Exact data: the fit recovers the coefficients, residual 0. */
static void test_exact(void) {
  static double x[N][NV], y[N];
  const double want[NV] = {0.13, 0.0, 0.02, 0.005, 60.0};
  double got[NV];
  uint64_t rng = osc_test_seed() ^ 0x71f17u;
  features(&rng, x, N);
  for (int i = 0; i < N; i++) y[i] = dot(want, x[i]);
  CU_ASSERT(osc_timefit(N, NV, (const double(*)[NV])x, y, got) < 1e-18);
  for (int j = 0; j < NV; j++) CU_ASSERT(fabs(got[j] - want[j]) <= 1e-9 * (1 + want[j]));
}

/* A true coefficient below zero: the constrained optimum sets it to zero
** and fits the rest; no feasible point has a smaller residual (checked
** against random non-negative perturbations of the answer). */
static void test_non_negative(void) {
  static double x[N][NV], y[N];
  const double truth[NV] = {0.2, -0.01, 0.03, 0.0, 100.0};
  double got[NV], med, worst;
  uint64_t rng = osc_test_seed() ^ 0xa11fu;
  features(&rng, x, N);
  for (int i = 0; i < N; i++) y[i] = fmax(1.0, dot(truth, x[i]));
  double r = osc_timefit(N, NV, (const double(*)[NV])x, y, got);
  CU_ASSERT(r >= 0);
  for (int j = 0; j < NV; j++) CU_ASSERT(got[j] >= 0);
  for (int t = 0; t < 200; t++) {
    double c[NV], rc = 0;
    for (int j = 0; j < NV; j++)
      c[j] = fmax(0.0, got[j] * (1 + (osc_test_range(&rng, 0, 200) - 100) / 1000.0) +
                           (osc_test_range(&rng, 0, 1) ? 1e-4 : 0));
    for (int i = 0; i < N; i++) rc += pow((dot(c, x[i]) - y[i]) / y[i], 2);
    CU_ASSERT(rc >= r * (1 - 1e-12));
  }
  osc_timefit_error(N, NV, (const double(*)[NV])x, y, got, &med, &worst);
  CU_ASSERT(med <= worst && worst > 0);
}

/* Relative, not absolute: 5% multiplicative noise on data spanning four
** decades, and the small samples count as much as the large. */
static void test_relative_noise(void) {
  static double x[N][NV], y[N];
  const double want[NV] = {0.5, 0.0, 0.0, 0.0, 200.0};
  double got[NV], med, worst;
  uint64_t rng = osc_test_seed() ^ 0x0153u;
  features(&rng, x, N);
  for (int i = 0; i < N; i++)
    y[i] = dot(want, x[i]) * (1 + (osc_test_range(&rng, 0, 100) - 50) / 1000.0);
  CU_ASSERT(osc_timefit(N, NV, (const double(*)[NV])x, y, got) >= 0);
  osc_timefit_error(N, NV, (const double(*)[NV])x, y, got, &med, &worst);
  CU_ASSERT(worst < 0.1);   /* the noise is at most 5%; a bad fit has more */
  CU_ASSERT(fabs(got[0] - 0.5) < 0.05 && fabs(got[NV - 1] - 200) < 40);
}

static void test_bad_input(void) {
  double x[2][NV] = {{1, 1, 1, 1, 1}, {2, 2, 2, 2, 1}}, y[2] = {1, 0}, c[NV];
  CU_ASSERT(osc_timefit(2, NV, (const double(*)[NV])x, y, c) < 0);   /* y = 0 */
  CU_ASSERT(osc_timefit(0, NV, (const double(*)[NV])x, y, c) < 0);
  CU_ASSERT(osc_timefit(1, NV + 1, (const double(*)[NV])x, y, c) < 0);
}

/* The model: a plan's time is its stages' sum; a stage's time grows with
** its channels (more work, same kernel kind); never negative. */
static void test_model(void) {
  osc_layer l;
  osc_plan p;
  osc_layer_init(&l);
  l.in_channels = l.out_channels = 64;
  l.in_h = l.in_w = 28;
  l.k_h = l.k_w = 3;
  l.pad_h = l.pad_w = 1;
  l.mode = OSC_MODE_DEPTHWISE;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &p, NULL), OSC_OK);
  for (osc_isa isa = OSC_ISA_C; isa <= OSC_ISA_AVX512; isa++) {
    int64_t sum = 0;
    for (int i = 0; i < p.n_stages; i++) {
      int64_t t = osc_time_stage_ps(&p.stage[i], i == p.n_stages - 1, 0, isa);
      CU_ASSERT(t > 0);
      sum += t;
    }
    CU_ASSERT_EQUAL(osc_time_plan_ps(&p, isa), sum);
    osc_stage wide = p.stage[1];
    wide.c_out *= 4;
    CU_ASSERT(osc_time_stage_ps(&wide, 1, 0, isa) > osc_time_stage_ps(&p.stage[1], 1, 0, isa));
  }
}

static CU_TestInfo tests[] = {
    {"exact data: the coefficients come back", test_exact},
    {"a negative truth: the non-negative optimum", test_non_negative},
    {"relative error under multiplicative noise", test_relative_noise},
    {"bad input is refused", test_bad_input},
    {"the model: sums, monotone in work", test_model},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("timefit", tests)

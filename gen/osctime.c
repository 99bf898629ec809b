/*
** osctime.c -- the time model (see osctime.h). The coefficients come from
** gen/osctime_coef.h, written by bench/fit_time.c; a kernel without fitted
** coefficients falls back to one nanosecond per unit of its estimate.
*/
#include "osctime.h"

#include <math.h>
#include <string.h>

#include "oscemit.h"
#include "oscplan.h"

typedef struct time_coef {
  const char *kernel;
  double c[OSC_TIME_VARS];   /* ns per unit of each feature */
} time_coef;

#include "osctime_coef.h"

static const time_coef fallback = {"", {1.0, 0, 0, 0, 0}};

static const time_coef *coef_of(const char *kernel) {
  for (size_t i = 0; i < sizeof osc_time_coefs / sizeof osc_time_coefs[0]; i++)
    if (kernel && !strcmp(osc_time_coefs[i].kernel, kernel)) return &osc_time_coefs[i];
  return &fallback;
}

int osc_time_features(const osc_stage *s, int last, int clamped, osc_isa isa,
                      double x[OSC_TIME_VARS]) {
  double outs = (double)s->c_out * s->h_out * s->w_out;
  int k = osc_emit_stage_kernel(s, last, clamped, isa, &x[0]);
  x[1] = (double)osc_stage_macs(s);
  x[2] = (double)s->c_in * s->h_in * s->w_in + outs;
  x[3] = outs * s->k_h * s->k_w;
  x[4] = 1;
  return k;
}

int64_t osc_time_stage_ps(const osc_stage *s, int last, int clamped, osc_isa isa) {
  double x[OSC_TIME_VARS], ns = 0;
  const time_coef *c = coef_of(osc_emit_kernel_name(osc_time_features(s, last, clamped, isa, x)));
  for (int i = 0; i < OSC_TIME_VARS; i++) ns += c->c[i] * x[i];
  return ns <= 0 ? 0 : ns >= 1e12 ? (int64_t)1e15 : llround(ns * 1000.0);
}

double osc_time_stage(const osc_stage *s, osc_isa isa) {
  return (double)osc_time_stage_ps(s, 0, 0, isa) / 1000.0;
}

int64_t osc_time_plan_ps(const osc_plan *p, osc_isa isa) {
  float lo, hi;
  int clamped = osc_layer_act_bounds(&p->layer, &lo, &hi) == 2;
  int64_t ps = 0;
  for (int i = 0; i < p->n_stages; i++)
    ps += osc_time_stage_ps(&p->stage[i], i == p->n_stages - 1, clamped, isa);
  return ps;
}

double osc_time_plan_isa(const osc_plan *p, osc_isa isa) {
  return (double)osc_time_plan_ps(p, isa) / 1000.0;
}

osc_isa osc_time_isa(void) {
  osc_isa isa;
  return osc_isa_runtime(&isa, NULL) ? OSC_ISA_C : isa;
}

double osc_time_plan(const osc_plan *p) { return osc_time_plan_isa(p, osc_time_isa()); }

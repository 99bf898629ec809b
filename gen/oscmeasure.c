/*
** oscmeasure.c -- candidate plans, kernel timing and verification, and
** planning by measurement (osc_plan_layer_rigor).
*/
#include "oscmeasure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oscerr.h"
#include "oscisa.h"
#include "oscplan.h"
#include "oscpool.h"
#include "oscvariant.h"

static int same_chain(const osc_plan *a, const osc_plan *b) {
  if (a->n_stages != b->n_stages) return 0;
  for (int i = 0; i < a->n_stages; i++)
    if (a->stage[i].c_out != b->stage[i].c_out || a->stage[i].groups != b->stage[i].groups ||
        a->stage[i].k_h != b->stage[i].k_h || a->stage[i].k_w != b->stage[i].k_w)
      return 0;
  return 1;
}

static void add(const osc_plan *p, osc_plan *out, int *n) {
  for (int i = 0; i < *n; i++)
    if (same_chain(&out[i], p)) return;
  out[(*n)++] = *p;
}

int osc_candidates(const osc_layer *l, int max_stages, osc_plan out[OSC_MAX_CANDIDATES],
                   osc_error *err) {
  static const osc_mode base[] = {OSC_MODE_CONVENTIONAL, OSC_MODE_DEPTHWISE, OSC_MODE_SPATIAL};
  osc_plan p;
  osc_error why;
  int n = 0;
  if (max_stages < 1 || max_stages > OSC_MAX_STAGES) {
    osc_error_set(err, OSC_EINVAL, "max_stages must be 1 to %d, got %d", OSC_MAX_STAGES,
                  max_stages);
    return -1;
  }
  for (int i = 0; i < 3; i++)
    if (!osc_plan_layer_mode(l, base[i], &p, &why)) add(&p, out, &n);
  for (int s = 1; s <= max_stages && l->groups == 1; s++) {
    osc_layer o = *l;
    o.mode = OSC_MODE_OPTIMAL, o.max_stages = s;
    if (!osc_plan_layer(&o, &p, &why)) add(&p, out, &n);
    else if (why.code != OSC_ENOPLAN) {
      if (err) *err = why;
      return -1;
    }
  }
  if (l->n_fixed > 0 && !osc_plan_layer_mode(l, OSC_MODE_FIXED, &p, &why)) add(&p, out, &n);
  return n;
}

double osc_clock(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void osc_fill_random(float *x, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((seed >> 40) % 2000001) / 1000000.0f - 1.0f;
  }
}

/* The buffers for `batch` images of p, in one allocation; res (a residual
** layer's residual, else NULL) after the scratch and `extra` floats. */
typedef struct bufs { float *mem, *in, *out, *w, *scratch, *res; size_t in_n, out_n, w_n; } bufs;

static osc_status alloc_bufs(const osc_plan *p, int batch, size_t extra, bufs *b,
                             osc_error *err) {
  size_t s_n = osc_plan_scratch_size(p), total;
  b->in_n = (size_t)batch * osc_plan_input_size(p);
  b->out_n = (size_t)batch * osc_plan_output_size(p);
  b->w_n = osc_plan_weights_size(p);
  total = b->in_n + b->out_n + b->w_n + s_n + extra + (p->layer.residual ? b->out_n : 0) + 1;
  if (total > ((size_t)1 << 31) || !(b->mem = malloc(total * sizeof *b->mem)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory for the layer's data (%zu floats)", total);
  b->in = b->mem, b->out = b->in + b->in_n, b->w = b->out + b->out_n, b->scratch = b->w + b->w_n;
  b->res = p->layer.residual ? b->scratch + s_n + extra : NULL;
  if (b->res) osc_fill_random(b->res, b->out_n, 3);
  return OSC_OK;
}

/* One run of k into out, through the entry point of its layer's kind. */
static osc_status run_into(const osc_kernel *k, int batch, const bufs *b, float *out,
                           osc_error *err) {
  if (b->res) return osc_kernel_run_residual(k, batch, b->in, b->res, out, b->w, b->scratch, err);
  return osc_kernel_run(k, batch, b->in, out, b->w, b->scratch, err);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(const double *t, int n, double q) {
  double pos = q * (n - 1);
  int i = (int)pos;
  return i + 1 < n ? t[i] + (pos - i) * (t[i + 1] - t[i]) : t[i];
}

osc_status osc_measure_kernel(const osc_kernel *k, const osc_measure_options *o, osc_timing *t,
                           osc_error *err) {
  const osc_plan *p = osc_kernel_plan(k);
  double start, *times;
  osc_status s = OSC_OK;
  int n = 0;
  bufs b;
  if (!p || !o || !t) return osc_error_set(err, OSC_EINVAL, "time: NULL kernel, options or result");
  if (o->batch < 1 || o->warmup < 0 || o->min_reps < 1 || o->max_reps < o->min_reps ||
      o->max_reps > OSC_MEASURE_MAX_REPS || !(o->budget_s >= 0))
    return osc_error_set(err, OSC_EINVAL, "time: need batch >= 1, warmup >= 0, "
                         "1 <= min_reps <= reps <= %d, budget >= 0", OSC_MEASURE_MAX_REPS);
  if (!(times = malloc(sizeof *times * (size_t)o->max_reps)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory for the timings");
  if ((s = alloc_bufs(p, o->batch, 0, &b, err))) {
    free(times);
    return s;
  }
  osc_fill_random(b.in, b.in_n, 1), osc_fill_random(b.w, b.w_n, 2);
  for (int i = 0; i < o->warmup && !s; i++) s = run_into(k, o->batch, &b, b.out, err);
  start = osc_clock();
  while (!s && n < o->max_reps && (n < o->min_reps || osc_clock() - start < o->budget_s)) {
    double t0 = osc_clock();
    s = run_into(k, o->batch, &b, b.out, err);
    times[n++] = osc_clock() - t0;
  }
  if (!s) {
    qsort(times, (size_t)n, sizeof *times, cmp_double);
    *t = (osc_timing){quantile(times, n, 0.5), quantile(times, n, 0.75) - quantile(times, n, 0.25),
                      times[0], times[n - 1], n};
  }
  free(times), free(b.mem);
  return s;
}

osc_status osc_verify_kernel(const osc_kernel *k, int batch, uint64_t seed, double *rel,
                             double *max_abs, osc_error *err) {
  const osc_plan *p = osc_kernel_plan(k);
  osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE};
  osc_kernel *ref = NULL;
  double num = 0, den = 0, max = 0;
  float *want;
  osc_status s;
  bufs b;
  if (!p || !rel || !max_abs || batch < 1)
    return osc_error_set(err, OSC_EINVAL, "verify: NULL kernel or result, or batch < 1");
  if ((s = alloc_bufs(p, batch, (size_t)batch * osc_plan_output_size(p), &b, err))) return s;
  want = b.scratch + osc_plan_scratch_size(p);
  osc_fill_random(b.in, b.in_n, seed), osc_fill_random(b.w, b.w_n, seed ^ 0x9e3779b97f4a7c15ull);
  if (!(s = run_into(k, batch, &b, b.out, err)) && !(s = osc_kernel_create(p, &ro, &ref, err)))
    s = run_into(ref, batch, &b, want, err);
  osc_kernel_free(ref);
  for (size_t i = 0; !s && i < b.out_n; i++) {
    double d = fabs((double)b.out[i] - want[i]);
    if (!(d <= max)) max = d;   /* NaN counts */
    num += d * d;
    den += (double)want[i] * want[i];
  }
  *rel = den > 0 ? sqrt(num / den) : sqrt(num);
  *max_abs = max;
  free(b.mem);
  return s;
}

/* ---- planning by measurement ----------------------------------------------------- */

/* The measurement so far: the fastest (plan, variant) that passed. */
typedef struct rigor_run {
  osc_measure_options to;
  double best, start, budget_s;
  int timed;
  const osc_plan *plan;      /* the best's */
  osc_kernel_options ko;     /* the best's variant */
} rigor_run;

static int budget_left(const rigor_run *r) {
  return r->timed < 1 || osc_clock() - r->start < r->budget_s;
}

/* Time plan p as variant ko; the best if it is faster and passes the
** reference check (checked only then: one check per new best). */
static void try_variant(rigor_run *r, const osc_plan *p, const osc_kernel_options *ko) {
  osc_kernel *k = NULL;
  osc_timing t;
  osc_error why;
  double rel, max_abs;
  if (osc_kernel_create(p, ko, &k, &why) || osc_measure_kernel(k, &r->to, &t, &why)) {
    osc_kernel_free(k);
    return;   /* a candidate that does not build is no candidate */
  }
  r->timed++;
  if (t.median < r->best &&
      !osc_verify_kernel(k, 1, 1, &rel, &max_abs, &why) && rel < OSC_VERIFY_TOLERANCE) {
    r->best = t.median, r->plan = p;
    r->ko = *ko;
  }
  osc_kernel_free(k);
}

/* The best plan's variants, one axis at a time from the best so far: the
** other ISAs the JIT may run, the thread counts 1, 2, 4, ... below the
** CPUs this process may use (the default: all of them), then the best
** ISA's code variants (gen/oscvariant.h). */
static int n_thread_counts(int cpus) {
  int n = 0;
  for (int t = 1; t < cpus; t *= 2) n++;
  return n;
}

static void try_variants(rigor_run *r, osc_isa cap, int cpus) {
  const osc_plan *p = r->plan;
  osc_kernel_options ko = r->ko;
  const char *const *codes;
  for (int isa = (int)cap - 1; isa >= (int)OSC_ISA_C && budget_left(r); isa--) {
    ko = r->ko;
    ko.isa = osc_isa_name((osc_isa)isa);
    try_variant(r, p, &ko);
  }
  for (int t = 1; t < cpus && budget_left(r); t *= 2) {
    ko = r->ko;
    ko.threads = t;
    try_variant(r, p, &ko);
  }
  if (osc_isa_parse(r->ko.isa, &cap)) return;
  codes = osc_variant_list((int)cap);
  for (int i = 1; codes[i] && budget_left(r); i++) {   /* codes[0]: "auto", timed */
    ko = r->ko;
    ko.code = codes[i];
    try_variant(r, p, &ko);
  }
}

osc_status osc_plan_layer_rigor(const osc_layer *l, osc_rigor rigor, double budget_s,
                                osc_plan *out, char *note, size_t note_size, osc_error *err) {
  osc_kernel_options unused = {0};
  return osc_plan_layer_rigor_options(l, rigor, budget_s, out, &unused, note, note_size, err);
}

osc_status osc_plan_layer_rigor_options(const osc_layer *l, osc_rigor rigor, double budget_s,
                                        osc_plan *out, osc_kernel_options *ko, char *note,
                                        size_t note_size, osc_error *err) {
  osc_plan *c;
  rigor_run r = {.to = OSC_MEASURE_DEFAULTS, .best = INFINITY, .start = osc_clock()};
  osc_isa cap;
  int n, cpus = osc_pool_default_threads(), extra, plans;
  if (note && note_size) note[0] = '\0';
  if (!l || !out || !ko)
    return osc_error_set(err, OSC_EINVAL, "osc_plan_layer_rigor: NULL layer, out or options");
  if (rigor == OSC_RIGOR_ESTIMATE) return osc_plan_layer(l, out, err);
  if (rigor != OSC_RIGOR_MEASURE || !(budget_s > 0))
    return osc_error_set(err, OSC_EINVAL, "osc_plan_layer_rigor: rigor estimate or measure, "
                         "and a budget > 0 seconds");
  if (osc_isa_runtime(&cap, err)) return err ? err->code : OSC_EINVAL;
  if (!(c = malloc(sizeof *c * OSC_MAX_CANDIDATES)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory");
  if ((n = osc_candidates(l, l->max_stages, c, err)) < 0) {
    free(c);
    return err ? err->code : OSC_EINVAL;
  }
  r.budget_s = budget_s;
  r.ko.isa = osc_isa_name(cap);   /* the JIT's default ISA and threads, named */
  extra = (int)cap - (int)OSC_ISA_C + n_thread_counts(cpus);
  for (int i = 0; osc_variant_list((int)cap)[i + 1]; i++) extra++;
  r.to.budget_s = budget_s / (n + extra);   /* even shares of the whole */
  for (int i = 0; i < n && budget_left(&r); i++) {
    osc_kernel_options first = {.isa = r.ko.isa};
    try_variant(&r, &c[i], &first);
  }
  plans = r.timed;
  if (r.plan) try_variants(&r, cap, cpus);
  if (!r.plan) {
    free(c);
    return osc_error_layer(err, OSC_ENOPLAN, l, "rigor measure: no candidate compiled and "
                           "passed verification");
  }
  *out = *r.plan;
  ko->isa = r.ko.isa;
  if (r.ko.threads) ko->threads = r.ko.threads;
  ko->code = r.ko.code && strcmp(r.ko.code, "auto") ? r.ko.code : NULL;
  if (note) {
    char chain[256], threads[32] = "all CPUs' threads";
    osc_plan_describe(out, chain, sizeof chain);
    if (r.ko.threads) snprintf(threads, sizeof threads, "%d thread%s", r.ko.threads,
                               r.ko.threads == 1 ? "" : "s");
    snprintf(note, note_size, "measured %d of %d candidates, then %d of its variants: %s %s, "
             "isa %s, %s%s%s, %.3g us", plans, n, r.timed - plans, osc_mode_name(out->mode),
             chain, ko->isa, threads,
             ko->code ? ", variant " : "", ko->code ? ko->code : "", r.best * 1e6);
  }
  free(c);
  return OSC_OK;
}

/*
** cmd_run.c -- `osconv run CONFIG`: plan every layer, JIT-compile it, run
** it on seeded random data and check it against the reference backend.
** Prints one row per layer; exits 1 if any layer fails to plan, compile or
** match (relative L2 error >= 1e-5).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osccli.h"
#include "oscerr.h"
#include "osconv.h"
#include "oscplan.h"

#define RUNS 5            /* timed runs per layer; the median is printed */
#define TOLERANCE 1e-5    /* relative L2 error allowed against the reference */
#define PLAN_COL 38       /* width of the plan column (longer plans push the row) */

typedef struct run_row {
  double compile_ms, run_ms, max_err, rel_err;
  osc_backend backend;
  int cache_hit;
} run_row;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Deterministic data in [-1, 1): the same layer always gets the same numbers. */
static void fill(float *x, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((seed >> 40) % 2000001) / 1000000.0f - 1.0f;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void compare(const float *got, const float *want, size_t n, run_row *r) {
  double num = 0, den = 0;
  r->max_err = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (d > r->max_err) r->max_err = d;
    num += d * d;
    den += (double)want[i] * want[i];
  }
  r->rel_err = den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Time RUNS runs of k (after one warm-up) and check its output. */
static osc_status measure(const osc_kernel *k, const osc_kernel *ref, int n, uint64_t seed,
                          run_row *r, osc_error *err) {
  const osc_plan *p = osc_kernel_plan(k);
  size_t in_n = (size_t)n * osc_plan_input_size(p), out_n = (size_t)n * osc_plan_output_size(p);
  size_t w_n = osc_plan_weights_size(p), s_n = osc_plan_scratch_size(p);
  float *in = malloc(in_n * sizeof *in), *w = malloc(w_n * sizeof *w);
  float *got = malloc(out_n * sizeof *got), *want = malloc(out_n * sizeof *want);
  float *scratch = malloc((s_n ? s_n : 1) * sizeof *scratch);
  double t[RUNS];
  osc_status st = OSC_OK;
  if (!in || !w || !got || !want || !scratch) {
    st = osc_error_set(err, OSC_ENOMEM, "out of memory for the layer's data");
    goto done;
  }
  fill(in, in_n, seed);
  fill(w, w_n, seed ^ 0x9e3779b97f4a7c15ull);
  if ((st = osc_kernel_run(k, n, in, got, w, scratch, err))) goto done;   /* warm-up */
  for (int i = 0; i < RUNS && !st; i++) {
    double t0 = now_ms();
    st = osc_kernel_run(k, n, in, got, w, scratch, err);
    t[i] = now_ms() - t0;
  }
  if (st || (st = osc_kernel_run(ref, n, in, want, w, scratch, err))) goto done;
  qsort(t, RUNS, sizeof t[0], cmp_double);
  r->run_ms = t[RUNS / 2];
  compare(got, want, out_n, r);
done:
  free(in), free(w), free(got), free(want), free(scratch);
  return st;
}

static osc_status run_layer(const osc_layer *l, int batch, uint64_t seed, osc_plan *p,
                            run_row *r, osc_error *err) {
  osc_kernel *k = NULL, *ref = NULL;
  osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE};
  osc_kernel_info info;
  osc_status st;
  if ((st = osc_cli_plan(l, l->mode, p, err))) return st;
  if ((st = osc_kernel_create(p, NULL, &k, err))) return st;
  osc_kernel_get_info(k, &info);
  /* emitting plus libtcc, as the kernel measured it: a cache hit costs ~0 */
  r->compile_ms = info.emit_ms + info.compile_ms;
  r->cache_hit = info.cache_hit;
  r->backend = info.backend;
  if (!(st = osc_kernel_create(p, &ro, &ref, err)))
    st = measure(k, ref, batch, seed, r, err);
  osc_kernel_free(k);
  osc_kernel_free(ref);
  return st;
}

static int name_col = 5;   /* width of the layer column: the longest name */

static void header(void) {
  printf("%-*s %-*s %12s %10s %-5s %10s %10s %10s %-9s %s\n", name_col, "layer", PLAN_COL,
         "plan", "MACs", "compile ms", "cache", "run ms", "max err", "rel L2", "backend",
         "check");
}

static int run_network(const osc_network *net, int *layer_no, double *totals) {
  int failed = 0;
  for (int i = 0; i < net->n_layers; i++) {
    const osc_layer *l = &net->layers[i];
    char name[2 * OSC_NAME_MAX + 2], plan[256] = "";
    run_row r = {0, 0, 0, 0, OSC_BACKEND_JIT, 0};
    osc_plan p;
    osc_error err;
    osc_status st;
    snprintf(name, sizeof name, "%s.%s", net->name, l->name);
    st = run_layer(l, net->batch, 0x05c0de00ull + (uint64_t)(*layer_no)++, &p, &r, &err);
    if (st) {
      printf("%-*s %s\n", name_col, name, err.msg);
      failed = 1;
      continue;
    }
    osc_plan_describe(&p, plan, sizeof plan);
    printf("%-*s %-*s %12lld %10.2f %-5s %10.3f %10.2e %10.2e %-9s %s\n", name_col, name,
           PLAN_COL, plan, (long long)p.macs * net->batch, r.compile_ms,
           r.backend != OSC_BACKEND_JIT ? "-" : r.cache_hit ? "hit" : "miss", r.run_ms,
           r.max_err, r.rel_err, osc_backend_name(r.backend),
           r.rel_err < TOLERANCE ? "ok" : "FAIL");
    failed |= !(r.rel_err < TOLERANCE);
    totals[0] += (double)p.macs * net->batch;
    totals[1] += r.compile_ms;
    totals[2] += r.run_ms;
  }
  return failed;
}

int osc_cmd_run(int argc, char **argv) {
  osc_config *cfg = NULL;
  osc_error err;
  double totals[3] = {0, 0, 0};
  osc_config_options opt = {0, 0, 0};
  const char *path = NULL;
  int failed = 0, layer_no = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--unsandboxed")) opt.unsandboxed = 1;
    else if (argv[i][0] == '-' || path) return osc_cli_usage("run");
    else path = argv[i];
  }
  if (!path) return osc_cli_usage("run");
  if (osc_config_load(path, &opt, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  printf("%s: MACs per call (batch images; 1 MAC = 2 FLOPs), median of %d runs, checked "
         "against the reference backend (relative L2 < %g); compile = emitting + libtcc, "
         "about 0 on a cache hit (the code of an identical earlier layer)\n\n",
         path, RUNS, TOLERANCE);
  for (int i = 0; i < cfg->n_networks; i++)
    for (int j = 0; j < cfg->networks[i].n_layers; j++) {
      int w = (int)(strlen(cfg->networks[i].name) + 1 + strlen(cfg->networks[i].layers[j].name));
      if (w > name_col) name_col = w;
    }
  header();
  for (int i = 0; i < cfg->n_networks; i++)
    failed |= run_network(&cfg->networks[i], &layer_no, totals);
  printf("%-*s %-*s %12.0f %10.2f %-5s %10.3f\n", name_col, "total", PLAN_COL, "", totals[0],
         totals[1], "", totals[2]);
  if (failed) fprintf(stderr, "osconv: run: some layers failed (see the table)\n");
  osc_config_free(cfg);
  return failed;
}

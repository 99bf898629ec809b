/*
** cmd_run.c -- `osconv run CONFIG`: plan every layer, JIT-compile it, run
** it on seeded random data and check it against the reference backend.
** Prints one row per layer (or, with --json, one document); exits 1 if any
** layer fails to plan, compile or match (relative L2 error >= 1e-5).
**
** Timing: one warm-up run, then runs until both MIN_RUNS runs and
** --min-time milliseconds (default 100) are done, at most MAX_RUNS; min,
** median and max are printed, so a noisy machine shows as a wide spread
** rather than as a wrong number.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "osccli.h"
#include "oscerr.h"
#include "oscjson.h"
#include "osconv.h"
#include "oscplan.h"

#define MIN_RUNS 5        /* timed runs per layer, at least... */
#define MAX_RUNS 2000     /* ...and at most */
#define TOLERANCE 1e-5    /* relative L2 error allowed against the reference */
#define PLAN_COL 38       /* width of the plan column (longer plans push the row) */

typedef struct run_row {
  double compile_ms, min_ms, run_ms, max_ms, max_err, rel_err;   /* run_ms: the median */
  int runs;
  osc_backend backend;
  int cache_hit;
} run_row;

static double min_time_ms = 100;   /* --min-time */

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

/* One run; a residual layer adds res (a buffer of its own: runs repeat). */
static osc_status run_once(const osc_kernel *k, int n, const float *in, const float *res,
                           float *out, const float *w, float *scratch, osc_error *err) {
  if (osc_kernel_plan(k)->layer.residual)
    return osc_kernel_run_residual(k, n, in, res, out, w, scratch, err);
  return osc_kernel_run(k, n, in, out, w, scratch, err);
}

/* Runs of k after one warm-up, as many as the module comment says. */
static osc_status time_runs(const osc_kernel *k, int n, const float *in, const float *res,
                            float *out, const float *w, float *scratch, run_row *r,
                            osc_error *err) {
  static double t[MAX_RUNS];   /* the CLI runs one layer at a time */
  double total = 0;
  osc_status st = run_once(k, n, in, res, out, w, scratch, err);
  int i;
  for (i = 0; !st && i < MAX_RUNS && (i < MIN_RUNS || total < min_time_ms); i++) {
    double t0 = now_ms();
    st = run_once(k, n, in, res, out, w, scratch, err);
    total += t[i] = now_ms() - t0;
  }
  if (st) return st;
  qsort(t, (size_t)i, sizeof t[0], cmp_double);
  r->runs = i;
  r->min_ms = t[0];
  r->run_ms = i % 2 ? t[i / 2] : (t[i / 2 - 1] + t[i / 2]) / 2;
  r->max_ms = t[i - 1];
  return OSC_OK;
}

/* Time k and check its output against ref. */
static osc_status measure(const osc_kernel *k, const osc_kernel *ref, int n, uint64_t seed,
                          run_row *r, osc_error *err) {
  const osc_plan *p = osc_kernel_plan(k);
  size_t in_n = (size_t)n * osc_plan_input_size(p), out_n = (size_t)n * osc_plan_output_size(p);
  size_t w_n = osc_plan_weights_size(p), s_n = osc_plan_scratch_size(p);
  float *in = malloc(in_n * sizeof *in), *w = malloc(w_n * sizeof *w);
  float *packed = malloc(w_n * sizeof *packed);   /* the weights as k's code reads them */
  float *got = malloc(out_n * sizeof *got), *want = malloc(out_n * sizeof *want);
  float *scratch = malloc((s_n ? s_n : 1) * sizeof *scratch);
  float *res = p->layer.residual ? malloc(out_n * sizeof *res) : NULL;
  osc_status st = OSC_OK;
  if (!in || !w || !packed || !got || !want || !scratch || (p->layer.residual && !res)) {
    st = osc_error_set(err, OSC_ENOMEM, "out of memory for the layer's data");
    goto done;
  }
  fill(in, in_n, seed);
  fill(w, w_n, seed ^ 0x9e3779b97f4a7c15ull);
  if (res) fill(res, out_n, seed ^ 0x5851f42d4c957f2dull);
  if ((st = osc_kernel_pack(k, w, packed, err)) ||
      (st = time_runs(k, n, in, res, got, packed, scratch, r, err)))
    goto done;
  if ((st = run_once(ref, n, in, res, want, w, scratch, err))) goto done;
  compare(got, want, out_n, r);
done:
  free(in), free(w), free(packed), free(got), free(want), free(scratch), free(res);
  return st;
}

static osc_status run_layer(const osc_layer *l, int batch, uint64_t seed, osc_plan *p,
                            run_row *r, osc_error *err) {
  osc_kernel *k = NULL, *ref = NULL;
  osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE}, ko = {0};
  osc_kernel_info info;
  osc_status st;
  /* a tuning record's ISA and threads, if one is used */
  if ((st = osc_cli_plan_chosen_options(l, p, &ko, err))) return st;
  if ((st = osc_kernel_create(p, &ko, &k, err))) return st;
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
  printf("%-*s %-*s %12s %10s %-5s %9s %9s %9s %6s %9s %9s %-9s %s\n", name_col, "layer",
         PLAN_COL, "plan", "MACs", "compile ms", "cache", "min ms", "median", "max ms", "runs",
         "max err", "rel L2", "backend", "check");
}

static const char *cache_word(const run_row *r) {
  return r->backend != OSC_BACKEND_JIT ? "-" : r->cache_hit ? "hit" : "miss";
}

static void print_row(const char *name, const char *plan, long long macs, const run_row *r) {
  printf("%-*s %-*s %12lld %10.2f %-5s %9.3f %9.3f %9.3f %6d %9.2e %9.2e %-9s %s\n", name_col,
         name, PLAN_COL, plan, macs, r->compile_ms, cache_word(r), r->min_ms, r->run_ms,
         r->max_ms, r->runs, r->max_err, r->rel_err, osc_backend_name(r->backend),
         r->rel_err < TOLERANCE ? "ok" : "FAIL");
}

static json_t *row_json(const osc_network *net, const osc_layer *l, const osc_plan *p,
                        const run_row *r, const osc_error *failure) {
  json_t *o = json_pack("{s:s, s:s}", "network", net->name, "layer", l->name);
  if (failure) {
    json_object_set_new(o, "error", json_string(failure->msg));
    json_object_set_new(o, "ok", json_false());
    return o;
  }
  json_object_set_new(o, "plan", osc_json_plan(p));
  json_object_set_new(o, "macs", json_integer((json_int_t)p->macs * net->batch));
  json_object_set_new(
      o, "timing",
      json_pack("{s:f, s:s, s:f, s:f, s:f, s:i}", "compile_ms", r->compile_ms, "cache",
                cache_word(r), "min_ms", r->min_ms, "median_ms", r->run_ms, "max_ms", r->max_ms,
                "runs", r->runs));
  json_object_set_new(o, "check", json_pack("{s:f, s:f, s:f}", "max_err", r->max_err, "rel_l2",
                                            r->rel_err, "tolerance", TOLERANCE));
  json_object_set_new(o, "backend", json_string(osc_backend_name(r->backend)));
  json_object_set_new(o, "ok", json_boolean(r->rel_err < TOLERANCE));
  return o;
}

/* rows: a JSON array to append to, or NULL to print the table. */
static int run_network(const osc_network *net, int *layer_no, double *totals, json_t *rows) {
  int failed = 0;
  for (int i = 0; i < net->n_layers; i++) {
    const osc_layer *l = &net->layers[i];
    char name[2 * OSC_NAME_MAX + 2], plan[256] = "";
    run_row r = {0};
    osc_plan p;
    osc_error err;
    osc_status st;
    snprintf(name, sizeof name, "%s.%s", net->name, l->name);
    r.backend = OSC_BACKEND_JIT;
    st = run_layer(l, net->batch, 0x05c0de00ull + (uint64_t)(*layer_no)++, &p, &r, &err);
    failed |= st || !(r.rel_err < TOLERANCE);
    if (rows) json_array_append_new(rows, row_json(net, l, &p, &r, st ? &err : NULL));
    if (st) {
      if (!rows) printf("%-*s %s\n", name_col, name, err.msg);
      continue;
    }
    osc_plan_describe(&p, plan, sizeof plan);
    if (!rows) print_row(name, plan, (long long)p.macs * net->batch, &r);
    totals[0] += (double)p.macs * net->batch;
    totals[1] += r.compile_ms;
    totals[2] += r.run_ms;
  }
  return failed;
}

static void fit_name_column(const osc_config *cfg) {
  for (int i = 0; i < cfg->n_networks; i++)
    for (int j = 0; j < cfg->networks[i].n_layers; j++) {
      int w = (int)(strlen(cfg->networks[i].name) + 1 + strlen(cfg->networks[i].layers[j].name));
      if (w > name_col) name_col = w;
    }
}

static int run_table(const osc_config *cfg, const char *path) {
  double totals[3] = {0, 0, 0};
  int failed = 0, layer_no = 0;
  printf("%s: MACs per call (batch images; 1 MAC = 2 FLOPs); times in ms after a warm-up, "
         "at least %d runs and %g ms per layer; checked against the reference backend "
         "(relative L2 < %g); compile = emitting + libtcc, about 0 on a cache hit (the code of "
         "an identical earlier layer)\n\n",
         path, MIN_RUNS, min_time_ms, TOLERANCE);
  fit_name_column(cfg);
  header();
  for (int i = 0; i < cfg->n_networks; i++)
    failed |= run_network(&cfg->networks[i], &layer_no, totals, NULL);
  printf("%-*s %-*s %12.0f %10.2f %-5s %9s %9.3f   (sum of medians)\n", name_col, "total",
         PLAN_COL, "", totals[0], totals[1], "", "", totals[2]);
  return failed;
}

static int run_json(const osc_config *cfg, const char *path) {
  double totals[3] = {0, 0, 0};
  int failed = 0, layer_no = 0;
  json_t *rows = json_array(), *root;
  char *text;
  for (int i = 0; i < cfg->n_networks; i++)
    failed |= run_network(&cfg->networks[i], &layer_no, totals, rows);
  root = json_pack("{s:s, s:s, s:{s:i, s:f}, s:o, s:{s:f, s:f, s:f}, s:b}", "osconv",
                   OSC_VERSION, "config", path, "method", "min_runs", MIN_RUNS, "min_time_ms",
                   min_time_ms, "layers", rows, "totals", "macs", totals[0], "compile_ms",
                   totals[1], "median_ms", totals[2], "ok", !failed);
  text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(root);
  if (!text) return osc_cli_fail("could not build the JSON output (out of memory)");
  puts(text);
  free(text);
  return failed;
}

int osc_cmd_run(int argc, char **argv) {
  osc_config *cfg = NULL;
  osc_error err;
  osc_config_options opt = {0, 0, 0};
  const char *path = NULL, *min_time = NULL, *tuning = NULL;
  int failed, json = 0;
  const osc_cli_opt opts[] = {{"json", 0, &json, NULL},
                              {"min-time", 0, NULL, &min_time},
                              {"tuning", 0, NULL, &tuning},
                              {"unsandboxed", 0, &opt.unsandboxed, NULL},
                              {NULL, 0, NULL, NULL}};
  if ((failed = osc_cli_parse(argc, argv, opts, &path))) return failed;
  if (min_time) {
    char *end;
    min_time_ms = strtod(min_time, &end);
    if (*end || end == min_time || !(min_time_ms >= 0 && min_time_ms <= 60000)) {
      fprintf(stderr, "osconv run: --min-time takes milliseconds, 0 to 60000, got '%s'\n",
              min_time);
      return osc_cli_usage("run");
    }
  }
  if (osc_cli_tuning_open(tuning, &err)) return osc_cli_fail("%s", err.msg);
  if (osc_config_load(path, &opt, &cfg, &err)) {
    osc_cli_tuning_close();
    return osc_cli_fail("%s", err.msg);
  }
  failed = json ? run_json(cfg, path) : run_table(cfg, path);
  if (failed) fprintf(stderr, "osconv: run: some layers failed (see the %s)\n",
                      json ? "JSON" : "table");
  osc_config_free(cfg);
  osc_cli_tuning_close();
  return failed;
}

/*
** bench_jit.c -- per layer of the example configs: how long the JIT takes
** to make a kernel (emit + libtcc, cache off, median of several), and how
** fast the JIT kernel runs against gcc -O3 of the same source (interleaved
** runs after a warm-up, medians, ratio).
**   build/bench/bench_jit [--quick] [CONFIG...]     (default: every examples/ config)
** Target: compile (emit + libtcc) under 20 ms per layer.
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "osconv.h"
#include "oscplan.h"
#include "oscrt.h"

#define TARGET_MS 20.0

static int compiles = 5, samples = 7;
static char tmpdir[] = "/tmp/osc-bench-XXXXXX";

typedef struct stats {
  int layers, over_target;
  double worst_compile, sum_compile, sum_jit, sum_aot;
  double compile_ms[4096];
} stats;

static void fill(float *x, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    x[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
  }
}

/* Median emit and libtcc times of `compiles` fresh kernels (cache off). */
static int time_compile(const osc_plan *p, double *emit, double *jit) {
  double e[16], j[16];
  osc_kernel_options o = {.no_cache = 1};
  for (int i = 0; i < compiles; i++) {
    osc_kernel *k = NULL;
    osc_kernel_info info;
    osc_error err;
    if (osc_kernel_create(p, &o, &k, &err)) {
      fprintf(stderr, "bench_jit: %s\n", err.msg);
      return -1;
    }
    osc_kernel_get_info(k, &info);
    e[i] = info.emit_ms;
    j[i] = info.compile_ms;
    osc_kernel_free(k);
  }
  *emit = median(e, compiles);
  *jit = median(j, compiles);
  return 0;
}

/* gcc -O3 of the JIT's own source, loaded; NULL on failure. */
static osc_kernel_fn aot_build(const osc_plan *p, int id, void **so, double *cc_ms) {
  char c_path[128], so_path[128], cmd[512], *src = NULL;
  osc_error err;
  FILE *f;
  double t0;
  if (osc_kernel_source(p, &src, &err)) return NULL;
  snprintf(c_path, sizeof c_path, "%s/k%d.c", tmpdir, id);
  snprintf(so_path, sizeof so_path, "%s/k%d.so", tmpdir, id);
  f = fopen(c_path, "w");
  if (f) fputs(src, f);
  free(src);
  if (!f || fclose(f)) return NULL;
  snprintf(cmd, sizeof cmd, "cc -O3 -shared -fPIC -o %s %s", so_path, c_path);
  t0 = now_ms();
  if (system(cmd) != 0) return NULL;
  *cc_ms = now_ms() - t0;
  if (!(*so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL))) return NULL;
  return (osc_kernel_fn)dlsym(*so, OSC_JIT_SYMBOL);
}

/* One run each way; a residual layer (its entry points take r) adds r. */
static void run_both(const osc_kernel *k, osc_kernel_fn aot, int n, const float *in,
                     const float *r, float *out, const float *w, float *scratch, int jit) {
  if (!osc_kernel_plan(k)->layer.residual) {
    if (jit) osc_kernel_run(k, n, in, out, w, scratch, NULL);
    else aot(n, in, out, w, scratch);
  } else if (jit) {
    osc_kernel_run_residual(k, n, in, r, out, w, scratch, NULL);
  } else {
    ((osc_kernel_res_fn)(void (*)(void))aot)(n, in, r, out, w, scratch);
  }
}

/* Interleaved: one JIT run, one AOT run, `samples` times after a warm-up. */
static void time_runs(const osc_kernel *k, osc_kernel_fn aot, int n, double *jit_ms,
                      double *aot_ms) {
  const osc_plan *p = osc_kernel_plan(k);
  size_t in_n = (size_t)n * osc_plan_input_size(p), out_n = (size_t)n * osc_plan_output_size(p);
  float *in = malloc(in_n * sizeof *in), *out = malloc(out_n * sizeof *out);
  float *w = malloc(osc_plan_weights_size(p) * sizeof *w);
  float *scratch = malloc((osc_plan_scratch_size(p) + 1) * sizeof *scratch);
  double tj[64], ta[64];
  float *r = malloc(out_n * sizeof *r);
  fill(in, in_n, 1);
  fill(w, osc_plan_weights_size(p), 2);
  fill(r, out_n, 3);
  run_both(k, aot, n, in, r, out, w, scratch, 1);
  run_both(k, aot, n, in, r, out, w, scratch, 0);
  for (int i = 0; i < samples; i++) {
    double t0 = now_ms();
    run_both(k, aot, n, in, r, out, w, scratch, 1);
    tj[i] = now_ms() - t0;
    t0 = now_ms();
    run_both(k, aot, n, in, r, out, w, scratch, 0);
    ta[i] = now_ms() - t0;
  }
  *jit_ms = median(tj, samples);
  *aot_ms = median(ta, samples);
  free(in), free(out), free(w), free(scratch), free(r);
}

static void bench_layer(const osc_network *net, const osc_layer *l, int id, stats *s) {
  osc_plan p;
  osc_kernel *k = NULL;
  osc_error err;
  double emit, jit, jit_run = 0, aot_run = 0, cc_ms = 0;
  void *so = NULL;
  osc_kernel_fn aot;
  char plan[256], name[2 * OSC_NAME_MAX + 2];
  osc_kernel_options one = {.threads = 1};   /* against a 1-thread AOT call */
  snprintf(name, sizeof name, "%s.%s", net->name, l->name);
  if (osc_plan_layer(l, &p, &err) || time_compile(&p, &emit, &jit) ||
      osc_kernel_create(&p, &one, &k, &err)) {
    printf("%-34s %s\n", name, err.msg);
    return;
  }
  osc_plan_describe(&p, plan, sizeof plan);
  if (!(aot = aot_build(&p, id, &so, &cc_ms))) {
    printf("%-34s AOT build failed\n", name);
    osc_kernel_free(k);
    return;
  }
  time_runs(k, aot, net->batch, &jit_run, &aot_run);
  printf("%-34s %-30s %11.3g %7.2f %7.2f %7.2f %8.0f %10.3f %10.3f %6.2f %7.2f\n", name, plan,
         (double)p.macs * net->batch, emit, jit, emit + jit, cc_ms, jit_run, aot_run,
         jit_run / aot_run, (double)p.macs * net->batch / (jit_run * 1e6));
  fflush(stdout);
  if (s->layers < 4096) s->compile_ms[s->layers] = emit + jit;
  s->layers++;
  s->over_target += emit + jit >= TARGET_MS;
  if (emit + jit > s->worst_compile) s->worst_compile = emit + jit;
  s->sum_compile += emit + jit;
  s->sum_jit += jit_run;
  s->sum_aot += aot_run;
  osc_kernel_free(k);
  dlclose(so);
}

static void bench_config(const char *path, stats *s) {
  osc_config *cfg = NULL;
  osc_error err;
  static int id;
  if (osc_config_load(path, NULL, &cfg, &err)) {
    fprintf(stderr, "bench_jit: %s\n", err.msg);
    return;
  }
  printf("\n%s\n", path);
  for (int i = 0; i < cfg->n_networks; i++)
    for (int j = 0; j < cfg->networks[i].n_layers; j++)
      bench_layer(&cfg->networks[i], &cfg->networks[i].layers[j], id++, s);
  osc_config_free(cfg);
}

int main(int argc, char **argv) {
  stats *s = calloc(1, sizeof *s);
  glob_t g = {0};
  int first = 1, n;
  char cmd[64];
  if (argc > 1 && !strcmp(argv[1], "--quick")) compiles = 3, samples = 3, first = 2;
  if (!s || !mkdtemp(tmpdir)) return 1;
  printf("bench_jit: compile = emit + libtcc, median of %d with the cache off; run = median "
         "of %d interleaved runs (ms, one call of the network's batch); ratio = JIT / gcc -O3\n",
         compiles, samples);
  printf("%-34s %-30s %11s %7s %7s %7s %8s %10s %10s %6s %7s\n", "layer", "plan", "MACs",
         "emit", "libtcc", "compile", "gcc -O3", "JIT run", "AOT run", "ratio", "GMAC/s");
  if (argc > first) {
    for (int i = first; i < argc; i++) bench_config(argv[i], s);
  } else if (glob("examples/*.lua", 0, NULL, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++) bench_config(g.gl_pathv[i], s);
    globfree(&g);
  }
  n = s->layers < 4096 ? s->layers : 4096;
  if (n)
    printf("\n%d layers: compile median %.2f ms, mean %.2f ms, worst %.2f ms, %d at or over "
           "the %.0f ms target; run time JIT/AOT over all layers %.2f\n",
           s->layers, median(s->compile_ms, n), s->sum_compile / s->layers, s->worst_compile,
           s->over_target, TARGET_MS, s->sum_jit / s->sum_aot);
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "bench_jit: could not remove %s\n", tmpdir);
  free(s);
  return 0;
}

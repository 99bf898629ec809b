/*
** bench_emit.c -- what the emitted kernels cost and give, per layer and per
** mode (conventional, depthwise, spatial, optimal, and the layer's own):
** emit time, C size, run time of the gcc -O3 build (median of runs, one
** image), GMAC/s, and the wall-clock speedup over the conventional kernel
** beside the MAC ratio that the plan promises.
**   build/bench/bench_emit [--runs N] [CONFIG...]   (default: examples/default.lua)
** All kernels of a config go into one translation unit, compiled once with
** $CC (default cc) -std=c99 -O3 -shared -fPIC. Measured, not asserted.
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "oscemit.h"
#include "osconv.h"
#include "oscplan.h"

#define MAX_KERNELS 4096

typedef void (*layer_fn)(int, const float *, float *, const float *, float *);

typedef struct kernel {
  const osc_layer *layer;
  const char *net;
  osc_plan plan;
  char prefix[32];
  double emit_ms, run_ms;
  size_t bytes;
} kernel;

static kernel kernels[MAX_KERNELS];
static int runs = 9;

/* Plan every layer in every mode that applies; emit each into `src`. */
static int collect(const osc_config *cfg, osc_buf *src) {
  static const osc_mode modes[] = {OSC_MODE_CONVENTIONAL, OSC_MODE_DEPTHWISE, OSC_MODE_SPATIAL,
                                   OSC_MODE_OPTIMAL, OSC_MODE_FIXED};
  int n = 0;
  for (int i = 0; i < cfg->n_networks; i++)
    for (int k = 0; k < cfg->networks[i].n_layers; k++)
      for (size_t m = 0; m < sizeof modes / sizeof modes[0] && n < MAX_KERNELS; m++) {
        const osc_layer *l = &cfg->networks[i].layers[k];
        kernel *kr = &kernels[n];
        osc_error err;
        osc_emit_options o = {NULL, 1, 0};   /* every ISA, dispatched: what gen writes */
        size_t before = src->len;
        double t0;
        if (modes[m] == OSC_MODE_FIXED && l->mode != OSC_MODE_FIXED) continue;
        if (osc_plan_layer_mode(l, modes[m], &kr->plan, &err)) continue;
        kr->layer = l;
        kr->net = cfg->networks[i].name;
        snprintf(kr->prefix, sizeof kr->prefix, "bench%d", n);
        o.prefix = kr->prefix;
        o.batch = 1;
        t0 = now_ms();
        if (osc_emit_layer(&kr->plan, &o, src, &err)) {
          fprintf(stderr, "bench_emit: %s\n", err.msg);
          continue;
        }
        kr->emit_ms = now_ms() - t0;
        kr->bytes = src->len - before;
        n++;
      }
  return n;
}

static double run_ms(layer_fn fn, const osc_plan *p) {
  size_t ni = osc_plan_input_size(p), no = osc_plan_output_size(p);
  size_t nw = osc_plan_weights_size(p), ns = osc_plan_scratch_size(p);
  float *in = malloc(ni * sizeof *in), *out = malloc(no * sizeof *out);
  float *w = malloc(nw * sizeof *w), *s = malloc((ns + 1) * sizeof *s);
  double t[64], med = -1;
  int r = runs < 64 ? runs : 64;
  if (in && out && w && s) {
    for (size_t i = 0; i < ni; i++) in[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)((i * 104729) % 1000) / 10000.0f - 0.05f;
    fn(1, in, out, w, s);   /* warm up */
    for (int i = 0; i < r; i++) {
      double t0 = now_ms();
      fn(1, in, out, w, s);
      t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)r, sizeof *t, cmp_double);
    med = t[r / 2];
  }
  free(in); free(out); free(w); free(s);
  return med;
}

static int bench_config(const char *path) {
  osc_config *cfg = NULL;
  osc_error err;
  osc_buf src;
  char dir[] = "/tmp/osconv-bench-emit-XXXXXX", c_path[128], so_path[128], cmd[512];
  const char *cc = getenv("CC");
  double t0, compile_s;
  void *h;
  int n;
  if (osc_config_load(path, NULL, &cfg, &err)) {
    fprintf(stderr, "bench_emit: %s\n", err.msg);
    return 1;
  }
  osc_buf_init(&src);
  n = collect(cfg, &src);
  if (!mkdtemp(dir)) { osc_config_free(cfg); osc_buf_free(&src); return 1; }
  snprintf(c_path, sizeof c_path, "%s/k.c", dir);
  snprintf(so_path, sizeof so_path, "%s/k.so", dir);
  {
    FILE *f = fopen(c_path, "w");
    if (!f || fwrite(src.data, 1, src.len, f) != src.len) { if (f) fclose(f); return 1; }
    fclose(f);
  }
  snprintf(cmd, sizeof cmd, "%s -std=c99 -O3 -shared -fPIC -o %s %s", cc && *cc ? cc : "cc",
           so_path, c_path);
  t0 = now_ms();
  if (system(cmd) != 0) { fprintf(stderr, "bench_emit: compile failed\n"); return 1; }
  compile_s = (now_ms() - t0) / 1e3;
  printf("\n%s: %d kernels, %.0f KB of C, cc -O3 %.1f s for all\n", path, n,
         (double)src.len / 1024, compile_s);
  printf("%-28s %-13s %-34s %10s %7s %6s %9s %7s %8s %8s\n", "layer", "mode", "plan", "MACs",
         "emit ms", "C KB", "run ms", "GMAC/s", "speedup", "MAC gain");
  h = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  for (int i = 0; h && i < n; i++) {
    char sym[64];
    layer_fn fn;
    snprintf(sym, sizeof sym, "%s_n", kernels[i].prefix);
    fn = (layer_fn)(uintptr_t)dlsym(h, sym);
    kernels[i].run_ms = fn ? run_ms(fn, &kernels[i].plan) : -1;
  }
  for (int i = 0; h && i < n; i++) {
    const kernel *k = &kernels[i], *conv = NULL;
    char chain[128], name[160], speed[32] = "", gain[32] = "";
    /* the conventional kernel of the same layer (collect() puts it first) */
    for (int j = i; j >= 0 && kernels[j].layer == k->layer; j--)
      if (kernels[j].plan.mode == OSC_MODE_CONVENTIONAL) conv = &kernels[j];
    if (conv && k->run_ms > 0 && conv->run_ms > 0) {
      snprintf(speed, sizeof speed, "%.2fx", conv->run_ms / k->run_ms);
      snprintf(gain, sizeof gain, "%.2fx", (double)conv->plan.macs / (double)k->plan.macs);
    }
    osc_plan_describe(&k->plan, chain, sizeof chain);
    snprintf(name, sizeof name, "%s.%s", k->net, k->layer->name);
    printf("%-28s %-13s %-34s %10lld %7.2f %6.1f %9.3f %7.2f %8s %8s\n", name,
           osc_mode_name(k->plan.mode), chain, (long long)k->plan.macs, k->emit_ms,
           (double)k->bytes / 1024, k->run_ms, (double)k->plan.macs / (k->run_ms * 1e6), speed,
           gain);
  }
  if (h) dlclose(h);
  unlink(c_path);
  unlink(so_path);
  rmdir(dir);
  osc_buf_free(&src);
  osc_config_free(cfg);
  return 0;
}

int main(int argc, char **argv) {
  int rc = 0, any = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = atoi(argv[++i]);
      if (runs < 1) runs = 1;
      continue;
    }
    rc |= bench_config(argv[i]);
    any = 1;
  }
  if (!any) rc = bench_config("examples/default.lua");
  return rc;
}

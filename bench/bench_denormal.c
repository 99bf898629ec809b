/*
** bench_denormal.c -- what denormal inputs cost a kernel, before and after
** flush-to-zero: each layer runs on normal inputs (uniform in [-1, 1]) and on
** denormal ones (the same times 1e-39), through the JIT with keep_denormals
** (the caller's IEEE state: "before") and by default (FTZ|DAZ: "after"), and
** the gcc -O3 build of the same source without and with
** -DOSCONV_FLUSH_DENORMALS. Medians (and minima, steadier on a shared
** machine) of interleaved runs after a warm-up.
**   taskset -c 1 build/bench/bench_denormal [--quick]
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "osconv.h"
#include "oscplan.h"
#include "oscrt.h"

enum { JIT_KEEP, JIT_FLUSH, AOT_KEEP, AOT_FLUSH, VARIANTS };
static const char *const variant_names[VARIANTS] = {
    "jit, keep_denormals (before)", "jit, default FTZ|DAZ (after)",
    "gcc -O3 (before)", "gcc -O3 -DOSCONV_FLUSH_DENORMALS (after)"};

static int samples = 21;

static void fill(float *x, size_t n, unsigned seed, float scale) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    x[i] = ((float)((seed >> 8) % 2001) / 1000.0f - 1.0f) * scale;
  }
}

/* gcc -O3 of the kernel's own source, with `flags`; NULL on failure. */
static osc_kernel_fn aot_build(const char *dir, const char *src, const char *flags, int id,
                               void **handle) {
  char c_path[256], so_path[256], cmd[1024];
  const char *cc = getenv("CC");
  FILE *f;
  snprintf(c_path, sizeof c_path, "%s/k%d.c", dir, id);
  snprintf(so_path, sizeof so_path, "%s/k%d.so", dir, id);
  if (!(f = fopen(c_path, "w")) || fputs(src, f) < 0 || fclose(f)) return NULL;
  snprintf(cmd, sizeof cmd, "%s -std=c99 -O3 -shared -fPIC %s -o %s %s", cc && *cc ? cc : "cc",
           flags, so_path, c_path);
  if (system(cmd) != 0 || !(*handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL))) return NULL;
  unlink(c_path);
  unlink(so_path);
  return (osc_kernel_fn)(uintptr_t)dlsym(*handle, OSC_JIT_SYMBOL);
}

typedef struct runner {
  osc_kernel *k;      /* JIT variants */
  osc_kernel_fn fn;   /* AOT variants */
  void *handle;
} runner;

static double time_one(const runner *r, const float *in, float *out, const float *w,
                       float *scratch) {
  double t0 = now_ms();
  if (r->k) osc_kernel_run(r->k, 1, in, out, w, scratch, NULL);
  else r->fn(1, in, out, w, scratch);
  return now_ms() - t0;
}

static int bench_layer(const osc_layer *l, const char *dir, int id) {
  osc_plan p;
  osc_error err;
  runner r[VARIANTS];
  char *src = NULL, chain[128];
  float *in[2], *w, *out, *scratch;
  double t[VARIANTS][2][64], med[VARIANTS][2], lo[VARIANTS][2];
  size_t in_n, out_n, w_n;
  if (osc_plan_layer(l, &p, &err) || osc_kernel_source(&p, &src, &err)) {
    fprintf(stderr, "bench_denormal: %s\n", err.msg);
    return 1;
  }
  memset(r, 0, sizeof r);
  for (int v = JIT_KEEP; v <= JIT_FLUSH; v++) {
    osc_kernel_options o = {.no_cache = 1, .keep_denormals = v == JIT_KEEP, .threads = 1};
    if (osc_kernel_create(&p, &o, &r[v].k, &err)) {
      fprintf(stderr, "bench_denormal: %s\n", err.msg);
      return 1;
    }
  }
  r[AOT_KEEP].fn = aot_build(dir, src, "", 2 * id, &r[AOT_KEEP].handle);
  r[AOT_FLUSH].fn = aot_build(dir, src, "-DOSCONV_FLUSH_DENORMALS", 2 * id + 1,
                              &r[AOT_FLUSH].handle);
  free(src);
  if (!r[AOT_KEEP].fn || !r[AOT_FLUSH].fn) {
    fprintf(stderr, "bench_denormal: the gcc build failed\n");
    return 1;
  }
  in_n = osc_plan_input_size(&p), out_n = osc_plan_output_size(&p), w_n = osc_plan_weights_size(&p);
  in[0] = malloc(in_n * sizeof *in[0]);
  in[1] = malloc(in_n * sizeof *in[1]);
  w = malloc(w_n * sizeof *w);
  out = malloc(out_n * sizeof *out);
  scratch = malloc((osc_plan_scratch_size(&p) + 1) * sizeof *scratch);
  if (!in[0] || !in[1] || !w || !out || !scratch) return 1;
  fill(in[0], in_n, 1, 1.0f);
  fill(in[1], in_n, 1, 1e-39f);   /* every nonzero value denormal */
  fill(w, w_n, 2, 1.0f);
  for (int v = 0; v < VARIANTS; v++)   /* warm-up */
    for (int d = 0; d < 2; d++) time_one(&r[v], in[d], out, w, scratch);
  for (int s = 0; s < samples; s++)
    for (int v = 0; v < VARIANTS; v++)
      for (int d = 0; d < 2; d++) t[v][d][s] = time_one(&r[v], in[d], out, w, scratch);
  osc_plan_describe(&p, chain, sizeof chain);
  printf("\n%s %d->%d %dx%d k%dx%d [%s] %s, %.1f MMAC\n", l->name, l->in_channels,
         l->out_channels, l->in_h, l->in_w, l->k_h, l->k_w, osc_mode_name(p.mode), chain,
         (double)p.macs / 1e6);
  printf("  %-42s %11s %13s %7s   %9s %9s %7s\n", "variant", "normal ms", "denormal ms",
         "ratio", "min norm", "min den", "ratio");
  for (int v = 0; v < VARIANTS; v++) {
    for (int d = 0; d < 2; d++) {
      med[v][d] = median(t[v][d], samples);   /* sorts: the minimum is first */
      lo[v][d] = t[v][d][0];
    }
    printf("  %-42s %11.3f %13.3f %6.1fx   %9.3f %9.3f %6.1fx\n", variant_names[v], med[v][0],
           med[v][1], med[v][1] / med[v][0], lo[v][0], lo[v][1], lo[v][1] / lo[v][0]);
  }
  for (int v = 0; v < VARIANTS; v++) {
    osc_kernel_free(r[v].k);
    if (r[v].handle) dlclose(r[v].handle);
  }
  free(in[0]); free(in[1]); free(w); free(out); free(scratch);
  return 0;
}

static osc_layer make_layer(const char *name, int c, int size, int k, osc_mode mode) {
  osc_layer l;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "%s", name);
  l.in_channels = l.out_channels = c;
  l.in_h = l.in_w = size;
  l.k_h = l.k_w = k;
  l.pad_h = l.pad_w = k / 2;
  l.bias = 1;
  l.act = OSC_ACT_RELU;
  l.mode = mode;
  return l;
}

int main(int argc, char **argv) {
  char dir[] = "/tmp/osconv-bench-denormal-XXXXXX";
  osc_layer layers[3];
  int bad = 0;
  if (argc > 1 && !strcmp(argv[1], "--quick")) samples = 3;
  layers[0] = make_layer("conv3x3", 32, 32, 3, OSC_MODE_CONVENTIONAL);
  layers[1] = make_layer("optimal3x3", 64, 32, 3, OSC_MODE_OPTIMAL);
  layers[2] = make_layer("depthwise5x5", 32, 32, 5, OSC_MODE_DEPTHWISE);
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
  printf("denormal inputs vs normal inputs; median of %d interleaved runs, 1 image\n", samples);
  for (int i = 0; i < 3 && !bad; i++) bad = bench_layer(&layers[i], dir, i);
  rmdir(dir);
  return bad;
}

/*
** bench_simd.c -- the SIMD stage kernels against the portable ones, per layer
** and per stage (each stage of the plan timed as a layer of its own), JIT
** (libtcc, OSCONV_ISA=c / avx2 / avx512) and AOT (cc -O3 -march=native of what
** `osconv gen --isa c` / the default writes). GFLOP/s = 2 MACs / time; the
** median of --runs interleaved runs after a warm-up. Pin it: taskset -c 1.
**   build/bench/bench_simd [--runs N]
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "osconv.h"
#include "oscplan.h"
#include "oscrt.h"

#define JITS 3       /* OSCONV_ISA = c, avx2, avx512 */
#define VARIANTS 5   /* the JITs, then aot c, aot auto */
static const char *const vname[VARIANTS] = {"jit c", "jit avx2", "jit avx512", "aot c",
                                            "aot auto"};
static const char *const jit_isa[JITS] = {"c", "avx2", "avx512"};

typedef struct job {
  char name[96];
  osc_plan plan;
  osc_kernel_fn fn[VARIANTS];
  osc_kernel *k[JITS];
  void *so[2];
  double t[VARIANTS][64];
} job;

static int runs = 11;
static char dir[] = "/tmp/osc-bench-simd-XXXXXX";

static void *aot(const osc_plan *p, int isa, int id) {
  char *src, c[256], so[256], cmd[700];
  FILE *f;
  if (osc_kernel_source_isa(p, isa, &src, NULL)) return NULL;
  snprintf(c, sizeof c, "%s/k%d.c", dir, id);
  snprintf(so, sizeof so, "%s/k%d.so", dir, id);
  if (!(f = fopen(c, "w"))) return NULL;
  fputs(src, f);
  fclose(f);
  free(src);
  snprintf(cmd, sizeof cmd, "${CC:-cc} -O3 -march=native -shared -fPIC -o %s %s", so, c);
  return system(cmd) == 0 ? dlopen(so, RTLD_NOW | RTLD_LOCAL) : NULL;
}

static int prepare(job *j, int id) {
  osc_kernel_options o = {.threads = 1};   /* one thread, as the AOT variants */
  osc_error err;
  for (int i = 0; i < JITS; i++) {
    setenv("OSCONV_ISA", jit_isa[i], 1);
    if (osc_kernel_create(&j->plan, &o, &j->k[i], &err)) {
      fprintf(stderr, "%s: %s\n", j->name, err.msg);
      return 0;
    }
  }
  for (int i = 0; i < 2; i++) {   /* gen --isa c, and the default */
    j->so[i] = aot(&j->plan, i ? 0 : 1, 2 * id + i);
    if (!j->so[i]) return 0;
    j->fn[JITS + i] = (osc_kernel_fn)dlsym(j->so[i], OSC_JIT_SYMBOL);
  }
  unsetenv("OSCONV_ISA");
  return 1;
}

static double run(job *j, int v, const float *in, float *out, const float *w, float *s) {
  double t0 = now_ms();
  if (v < JITS) osc_kernel_run(j->k[v], 1, in, out, w, s, NULL);
  else j->fn[v](1, in, out, w, s);
  return now_ms() - t0;
}

static void measure(job *j) {
  const osc_plan *p = &j->plan;
  float *in = calloc(osc_plan_input_size(p), sizeof *in);
  float *out = calloc(osc_plan_output_size(p), sizeof *out);
  float *w = calloc(osc_plan_weights_size(p), sizeof *w);
  float *s = calloc(osc_plan_scratch_size(p) + 1, sizeof *s);
  for (size_t i = 0; i < osc_plan_input_size(p); i++) in[i] = (float)(i % 7) * 0.25f;
  for (size_t i = 0; i < osc_plan_weights_size(p); i++) w[i] = (float)(i % 5) * 0.1f;
  for (int v = 0; v < VARIANTS; v++) run(j, v, in, out, w, s);
  for (int r = 0; r < runs; r++)
    for (int v = 0; v < VARIANTS; v++) j->t[v][r] = run(j, v, in, out, w, s);
  printf("| %-40s | %5.1f |", j->name, (double)p->macs / 1e6);
  for (int v = 0; v < VARIANTS; v++)
    printf(" %6.1f |", 2.0 * (double)p->macs / median(j->t[v], runs) / 1e6);
  printf("\n");
  free(in); free(out); free(w); free(s);
}

static void layer(osc_layer *l, const char *name, int c, int hw, int k, int groups, int kh,
                  int kw, int ph, int pw) {
  osc_layer_init(l);
  snprintf(l->name, sizeof l->name, "%s", name);
  l->in_channels = l->out_channels = c;
  l->in_h = l->in_w = hw;
  l->k_h = kh ? kh : k;
  l->k_w = kw ? kw : k;
  l->pad_h = ph;
  l->pad_w = pw;
  l->groups = groups;
  l->bias = 1;
  l->act = OSC_ACT_RELU;
  if (groups > 1) l->mode = OSC_MODE_CONVENTIONAL;
}

int main(int argc, char **argv) {
  static job jobs[32];
  int n = 0;
  struct { const char *name; int c, hw, k; } L[] = {
      {"C64 56x56 K3", 64, 56, 3}, {"C256 14x14 K3", 256, 14, 3}, {"C256 14x14 K7", 256, 14, 7},
      {"C512 7x7 K3", 512, 7, 3}};
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
  if (runs < 1 || runs > 64) runs = 11;
  if (!mkdtemp(dir)) return 1;
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    osc_layer l;
    osc_plan p;
    char chain[64];
    layer(&l, L[i].name, L[i].c, L[i].hw, L[i].k, 1, 0, 0, L[i].k / 2, L[i].k / 2);
    if (osc_plan_layer_mode(&l, OSC_MODE_OPTIMAL, &p, NULL)) return 1;
    osc_plan_describe(&p, chain, sizeof chain);
    snprintf(jobs[n].name, sizeof jobs[n].name, "%s optimal %s", L[i].name, chain);
    jobs[n++].plan = p;
    for (int s = 0; s < p.n_stages; s++) {   /* each stage as a layer of its own */
      const osc_stage *st = &p.stage[s];
      osc_layer sl;
      layer(&sl, "stage", st->c_in, st->h_in, 0, st->groups, st->k_h, st->k_w, st->pad_h,
            st->pad_w);
      sl.out_channels = st->c_out;
      if (osc_plan_layer_mode(&sl, OSC_MODE_CONVENTIONAL, &jobs[n].plan, NULL)) return 1;
      snprintf(jobs[n].name, sizeof jobs[n].name, "  stage %d: %dx%d/g%d", s + 1, st->k_h,
               st->k_w, st->groups);
      n++;
    }
  }
  printf("| GFLOP/s (median of %d) | MMAC |", runs);
  for (int v = 0; v < VARIANTS; v++) printf(" %s |", vname[v]);
  printf("\n|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < n; i++)
    if (prepare(&jobs[i], i)) measure(&jobs[i]);
  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
  }
}

/*
** bench_oc.c -- lanes over output channels (avx512_oc, packed weights)
** against what the emitter picks today (avx512_px / avx512_pw), per stage:
** each stage of a layer's plan as a conventional layer of its own, emitted
** for --isa avx512 twice (default knobs; kernel = "avx512_oc"), built with
** cc -O2 (the SIMD code is encoded bytes: the same instructions the JIT
** runs), the median of --runs interleaved runs after a warm-up, GFLOP/s =
** 2 MACs / time. A stage the oc shape does not take prints "-". --isa avx2:
** avx2_oc against avx2_px / avx2_pw. Pin it:
**   flock /tmp/osconv-core1.lock taskset -c 1 build/bench/bench_oc [--runs N] [--isa avx2]
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "oscbuf.h"
#include "oscemit.h"
#include "oscisa.h"
#include "oscoc.h"
#include "osconv.h"
#include "oscplan.h"

typedef void (*layer_fn)(const float *, float *, const float *, float *);
typedef void (*pack_fn)(const float *, float *);

static int runs = 15;
static osc_isa isa = OSC_ISA_AVX512;
static const osc_oc_isa *ox = &osc_oc_avx512;
static char dir[] = "/tmp/osc-bench-oc-XXXXXX";

/* The stage as a layer, built; NULL when the kernel named is not used. */
static layer_fn build(const osc_plan *p, const char *kernel, int id, pack_fn *pack, char *kern) {
  osc_emit_options o = {"b", 1, isa};
  char head[64];
  osc_emit_knobs k = {0};
  osc_buf b;
  char c[256], so[256], cmd[700];
  FILE *f;
  void *h;
  k.kernel = kernel;
  osc_buf_init(&b);
  snprintf(head, sizeof head, "stage 1: %s ", ox->kernel);
  if (osc_emit_layer_knobs(p, &o, &k, &b, NULL) ||
      (kernel && !strcmp(kernel, ox->kernel) && !strstr(b.data, head))) {
    osc_buf_free(&b);
    return NULL;
  }
  if (sscanf(strstr(b.data, "/* stage 1: "), "/* stage 1: %39[a-z0-9_]", kern) != 1) kern[0] = 0;
  snprintf(c, sizeof c, "%s/k%d.c", dir, id);
  snprintf(so, sizeof so, "%s/k%d.so", dir, id);
  if (!(f = fopen(c, "w"))) return NULL;
  fputs(b.data, f);
  fclose(f);
  osc_buf_free(&b);
  snprintf(cmd, sizeof cmd, "${CC:-cc} -O2 -shared -fPIC -o %s %s", so, c);
  if (system(cmd) || !(h = dlopen(so, RTLD_NOW | RTLD_LOCAL))) return NULL;
  *pack = (pack_fn)(uintptr_t)dlsym(h, "b_pack");
  return (layer_fn)(uintptr_t)dlsym(h, "b");
}

static void stage(const char *name, const osc_stage *st, int id) {
  osc_layer l;
  osc_plan p;
  layer_fn fn[3];
  pack_fn pk[3] = {NULL, NULL, NULL};
  char kern[3][40] = {"", "", ""};
  double t[3][64];
  float *in, *out, *w, *pw, *s;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "stage");
  l.in_channels = st->c_in, l.out_channels = st->c_out, l.in_h = st->h_in, l.in_w = st->w_in;
  l.k_h = st->k_h, l.k_w = st->k_w, l.stride_h = st->stride_h, l.stride_w = st->stride_w;
  l.pad_h = st->pad_h, l.pad_w = st->pad_w, l.groups = st->groups;
  l.mode = OSC_MODE_CONVENTIONAL;
  if (osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &p, NULL)) return;
  fn[0] = build(&p, NULL, 3 * id, &pk[0], kern[0]);
  fn[1] = build(&p, ox->kernel, 3 * id + 1, &pk[1], kern[1]);
  fn[2] = build(&p, ox->auto_kernel, 3 * id + 2, &pk[2], kern[2]);
  in = calloc(osc_plan_input_size(&p), sizeof *in);
  out = calloc(osc_plan_output_size(&p), sizeof *out);
  w = calloc(osc_plan_weights_size(&p), sizeof *w);
  pw = calloc(osc_plan_weights_size(&p), sizeof *pw);
  s = calloc(osc_plan_scratch_size(&p) + 1, sizeof *s);
  for (size_t i = 0; i < osc_plan_input_size(&p); i++) in[i] = (float)(i % 7) * 0.25f;
  for (size_t i = 0; i < osc_plan_weights_size(&p); i++) w[i] = (float)(i % 5) * 0.1f;
  if (pk[1]) pk[1](w, pw);   /* the auto build packs the same way where it picks oc */
  for (int r = -2; r < runs; r++)
    for (int v = 0; v < 3; v++) {
      double t0;
      if (!fn[v]) continue;
      t0 = now_ms();
      fn[v](in, out, pk[v] ? pw : w, s);
      if (r >= 0) t[v][r] = now_ms() - t0;
    }
  printf("| %-40s | %7.2f |", name, (double)p.macs / 1e6);
  for (int v = 0; v < 3; v++)
    if (fn[v]) printf(" %6.1f %s |", 2.0 * (double)p.macs / median(t[v], runs) / 1e6, kern[v]);
    else printf(" - |");
  if (fn[0] && fn[1]) printf(" %.2f |", median(t[0], runs) / median(t[1], runs));
  else printf(" |");
  {   /* the cost model's view: what it would pick */
    osc_stage_job j;
    double c0 = 0;
    memset(&j, 0, sizeof j);
    j.s = &p.stage[0];
    osc_emit_stage_kernel(&p.stage[0], 1, 0, isa, &c0);
    printf(" %.3g | %.3g |\n", c0, fn[1] ? osc_oc_cost(ox, &j) : 0.0);
  }
  fflush(stdout);
  free(in), free(out), free(w), free(pw), free(s);
}

int main(int argc, char **argv) {
  static const struct { const char *name; int c_in, c_out, size, k, stride; osc_mode mode; } L[] = {
      {"c128to256_28_k3_s2", 128, 256, 28, 3, 2, OSC_MODE_OPTIMAL},
      {"c128to256_28_k3_s2", 128, 256, 28, 3, 2, OSC_MODE_CONVENTIONAL},
      {"c512_7_k3", 512, 512, 7, 3, 1, OSC_MODE_OPTIMAL},
      {"c512_7_k3", 512, 512, 7, 3, 1, OSC_MODE_CONVENTIONAL},
      {"c256_14_k3", 256, 256, 14, 3, 1, OSC_MODE_OPTIMAL},
      {"c256_14_k3", 256, 256, 14, 3, 1, OSC_MODE_CONVENTIONAL},
      /* ResNet-50's strided 3x3s and its 7x7 / 14x14 1x1s */
      {"r50 layer2.0 3x3 s2", 128, 128, 56, 3, 2, OSC_MODE_OPTIMAL},
      {"r50 layer3.0 3x3 s2", 256, 256, 28, 3, 2, OSC_MODE_OPTIMAL},
      {"r50 layer4.0 3x3 s2", 512, 512, 14, 3, 2, OSC_MODE_OPTIMAL},
      {"r50 layer4 1x1 2048->512 7x7", 2048, 512, 7, 1, 1, OSC_MODE_OPTIMAL},
      {"r50 layer4 1x1 512->2048 7x7", 512, 2048, 7, 1, 1, OSC_MODE_OPTIMAL},
      {"r50 layer3 1x1 1024->256 14x14", 1024, 256, 14, 1, 1, OSC_MODE_OPTIMAL},
      /* the strided 1x1 downsamples, and the strided 3x3s' dense plans */
      {"r50 layer2.0 downsample", 256, 512, 56, 1, 2, OSC_MODE_OPTIMAL},
      {"r50 layer3.0 downsample", 512, 1024, 28, 1, 2, OSC_MODE_OPTIMAL},
      {"r50 layer4.0 downsample", 1024, 2048, 14, 1, 2, OSC_MODE_OPTIMAL},
      {"r50 layer2.0 3x3 s2", 128, 128, 56, 3, 2, OSC_MODE_CONVENTIONAL},
      {"r50 layer3.0 3x3 s2", 256, 256, 28, 3, 2, OSC_MODE_CONVENTIONAL},
      {"r50 layer4.0 3x3 s2", 512, 512, 14, 3, 2, OSC_MODE_CONVENTIONAL},
      {"r50 layer4 3x3 7x7", 512, 512, 7, 3, 1, OSC_MODE_OPTIMAL},
  };
  int id = 0;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--isa") && i + 1 < argc && !strcmp(argv[++i], "avx2"))
      isa = OSC_ISA_AVX2, ox = &osc_oc_avx2;
  if (runs < 1 || runs > 64) runs = 15;
  if (!mkdtemp(dir)) return 1;
  printf("| stage (cc -O2, --isa %s; median of %d) | MMAC | GFLOP/s today | GFLOP/s "
         "%s | GFLOP/s %s | oc speed-up | cost today | cost oc |\n|---|---|---|---|---|---|---|---|\n",
         osc_isa_name(isa), runs, ox->kernel, ox->auto_kernel);
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    osc_layer l;
    osc_plan p;
    char chain[96], name[160];
    osc_layer_init(&l);
    l.in_channels = L[i].c_in, l.out_channels = L[i].c_out, l.in_h = l.in_w = L[i].size;
    l.k_h = l.k_w = L[i].k, l.stride_h = l.stride_w = L[i].stride, l.pad_h = l.pad_w = L[i].k / 2;
    if (osc_plan_layer_mode(&l, L[i].mode, &p, NULL)) continue;
    osc_plan_describe(&p, chain, sizeof chain);
    for (int s = 0; s < p.n_stages; s++) {
      const osc_stage *st = &p.stage[s];
      snprintf(name, sizeof name, "%s %s `%s` %d: %dx%d/g%d %dx%d", L[i].name,
               osc_mode_name(L[i].mode), chain, s + 1, st->k_h, st->k_w, st->groups, st->h_out,
               st->w_out);
      stage(name, st, id++);
    }
  }
  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
  }
}

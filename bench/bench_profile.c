/*
** bench_profile.c -- where the time of an optimal plan goes: each layer's
** plan (max_stages 2) JIT-compiled for the best ISA of the CPU, then each of
** its stages as a layer of its own (a conventional layer of the stage's
** shape: no shuffle in its store), with the kernel the emitter chose,
** milliseconds, GFLOP/s (2 FLOPs a MAC) and the fraction of --peak
** (GFLOP/s, default 263: this machine's AVX-512 FMA peak, README Figures).
** The median of --runs interleaved runs after a warm-up. Pin it:
**   flock /tmp/osconv-core1.lock taskset -c 1 build/bench/bench_profile \
**     [--runs N] [--peak G] [--resnet] [--min-mmac M] [--conventional]
**     [--layer c_in=..,c_out=..,size=..,k=..[,stride=..]] [--cold MB] [--cold-conv]
**     [--oc-lanes] [--flush]
** Without --layer or --resnet: the make-bench layer set. --resnet: the
** distinct layers of examples/resnet50.lua with at least --min-mmac
** million dense MACs (default 100). --conventional: the layers' dense
** plans instead (one stage). --cold MB: before each timed call, write a
** buffer of MB MiB (4 is well past this machine's 1 MiB L2, well within its
** L3), so the call finds its input and weights in L3, as a call does in
** `make bench` after the variants before it (README Figures, "Cold");
** --cold-conv: before each, run the layer's dense conventional plan, as
** `make bench` runs other variants between two calls of one (a sweep of a
** buffer up to 8 MiB leaves the time as hot; this one makes it colder
** than `make bench`, varying from run to run). --oc-lanes: every layer
** and stage with oc_lanes = true (lanes over output channels where
** cheaper; the weights packed once, before the runs). --flush: DRAM-cold,
** the same every time: before each timed call the call's own buffers (input,
** output, weights, scratch) are flushed from every cache level (clflush),
** after --cold-conv's call if both are given; each round also times the
** call hot (the second of two calls) and the table gains the hot time, the
** ratio and the buffers' footprint: what a call moves from DRAM at least.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <emmintrin.h>   /* _mm_clflush, _mm_mfence: SSE2, every x86-64 */
#endif

#include "bench.h"
#include "osconv.h"
#include "oscplan.h"
#include "oscrt.h"

#define MAX_RUNS 64

static int runs = 15;
static osc_mode plan_mode = OSC_MODE_OPTIMAL;
static double peak = 263;
static size_t cold_bytes;   /* --cold: evict L1 and L2 before each timed call */
static unsigned char *cold_buf;
static int cold_conv;       /* --cold-conv */
static int oc_lanes;
static int flush;           /* --flush: the call's buffers out of every cache */

typedef struct timed {
  osc_kernel *k;
  osc_plan p;
  float *in, *out, *w, *s;
  double t[MAX_RUNS], hot[MAX_RUNS];   /* hot: --flush's second of two calls */
} timed;

static int timed_init(timed *x, const osc_layer *l, osc_mode mode) {
  osc_kernel_options o = {0};
  osc_error err;
  osc_layer lo = *l;
  memset(x, 0, sizeof *x);
  lo.oc_lanes = oc_lanes;
  if (osc_plan_layer_mode(&lo, mode, &x->p, &err) || osc_kernel_create(&x->p, &o, &x->k, &err)) {
    fprintf(stderr, "bench_profile: %s\n", err.msg);
    return -1;
  }
  x->in = calloc(osc_plan_input_size(&x->p), sizeof(float));
  x->out = calloc(osc_plan_output_size(&x->p), sizeof(float));
  x->w = calloc(osc_plan_weights_size(&x->p), sizeof(float));
  x->s = calloc(osc_plan_scratch_size(&x->p) + 1, sizeof(float));
  for (size_t i = 0; i < osc_plan_input_size(&x->p); i++) x->in[i] = (float)(i % 7) * 0.25f;
  for (size_t i = 0; i < osc_plan_weights_size(&x->p); i++) x->w[i] = (float)(i % 5) * 0.1f;
  if (osc_kernel_packs(x->k)) {   /* oc_lanes: the code reads them packed */
    float *pk = calloc(osc_plan_weights_size(&x->p), sizeof(float));
    osc_kernel_pack(x->k, x->w, pk, NULL);
    free(x->w);
    x->w = pk;
  }
  return 0;
}

static timed evictor;       /* --cold-conv: the layer's dense plan */

/* Bytes of the buffers a call touches: input, output, weights, scratch. */
static size_t footprint(const timed *x) {
  return 4 * (osc_plan_input_size(&x->p) + osc_plan_output_size(&x->p) +
              osc_plan_weights_size(&x->p) + osc_plan_scratch_size(&x->p));
}

static void flush_buffer(const float *p, size_t floats) {
#if defined(__x86_64__)
  for (size_t i = 0; i < floats; i += 16) _mm_clflush(p + i);
  if (floats) _mm_clflush(p + floats - 1);   /* the last line, when p is not aligned */
#else
  (void)p, (void)floats;
#endif
}

static void flush_buffers(const timed *x) {
  flush_buffer(x->in, osc_plan_input_size(&x->p));
  flush_buffer(x->out, osc_plan_output_size(&x->p));
  flush_buffer(x->w, osc_plan_weights_size(&x->p));
  flush_buffer(x->s, osc_plan_scratch_size(&x->p));
#if defined(__x86_64__)
  _mm_mfence();
#endif
}

static double timed_run(timed *x) {
  double t0;
  if (evictor.k) osc_kernel_run(evictor.k, 1, evictor.in, evictor.out, evictor.w, evictor.s, NULL);
  for (size_t i = 0; i < cold_bytes; i += 64) cold_buf[i]++;
  if (flush) flush_buffers(x);
  t0 = now_ms();
  osc_kernel_run(x->k, 1, x->in, x->out, x->w, x->s, NULL);
  return now_ms() - t0;
}

static void timed_free(timed *x) {
  osc_kernel_free(x->k);
  free(x->in), free(x->out), free(x->w), free(x->s);
}

/* --flush: the same call hot, the second of two. */
static double hot_run(timed *x) {
  double t0;
  osc_kernel_run(x->k, 1, x->in, x->out, x->w, x->s, NULL);
  t0 = now_ms();
  osc_kernel_run(x->k, 1, x->in, x->out, x->w, x->s, NULL);
  return now_ms() - t0;
}

/* The table's head, before its first row (the flags are read by then). */
static void header(void) {
  static int done;
  if (done++) return;
  printf("| layer / stage (JIT, best ISA) | MMAC | ms%s | GFLOP/s | peak | kernels |%s\n"
         "|---|---|---|---|---|---|%s\n", flush ? " flushed" : "",
         flush ? " ms hot | flushed / hot | KB |" : "", flush ? "---|---|---|" : "");
}

static void row(const char *name, timed *x) {
  double ms = median(x->t, runs), gf = 2.0 * (double)x->p.macs / ms / 1e6;
  header();
  char kern[128] = "", *src = NULL;
  /* the kernels the emitter chose, from the source's stage comments */
  if (osc_kernel_source(&x->p, &src, NULL) == OSC_OK)
    for (const char *c = src; (c = strstr(c, "/* stage ")); c++) {
      char k[40];
      if (sscanf(c, "/* stage %*d: %39[a-z0-9_]", k) == 1 && strlen(kern) + strlen(k) + 2 < sizeof kern)
        strcat(strcat(kern, kern[0] ? " " : ""), k);
    }
  free(src);
  printf("| %-34s | %7.2f | %8.4f | %6.1f | %4.0f%% | %s |", name, (double)x->p.macs / 1e6, ms,
         gf, 100 * gf / peak, kern);
  if (flush) {
    double hot = median(x->hot, runs);
    printf(" %8.4f | %5.2f | %6.0f |", hot, ms / hot, footprint(x) / 1024.0);
  }
  printf("\n");
}

/* The layer's plan, then each stage as a conventional layer of its own. */
static void bench_layer(const char *name, const osc_layer *l0) {
  timed x[1 + OSC_MAX_STAGES];
  osc_layer l = *l0;
  int n = 0;
  char chain[96], label[160];
  l.bias = 0, l.act = OSC_ACT_NONE;
  if (cold_conv && timed_init(&evictor, &l, OSC_MODE_CONVENTIONAL)) return;
  if (timed_init(&x[n++], &l, plan_mode)) return;
  for (int i = 0; i < x[0].p.n_stages; i++) {
    const osc_stage *st = &x[0].p.stage[i];
    osc_layer sl;
    osc_layer_init(&sl);
    snprintf(sl.name, sizeof sl.name, "stage%d", i + 1);
    sl.in_channels = st->c_in, sl.out_channels = st->c_out;
    sl.in_h = st->h_in, sl.in_w = st->w_in;
    sl.k_h = st->k_h, sl.k_w = st->k_w, sl.stride_h = st->stride_h, sl.stride_w = st->stride_w;
    sl.pad_h = st->pad_h, sl.pad_w = st->pad_w, sl.groups = st->groups;
    sl.mode = OSC_MODE_CONVENTIONAL;
    if (timed_init(&x[n], &sl, OSC_MODE_CONVENTIONAL)) break;
    n++;
  }
  for (int r = 0; r < 2; r++)
    for (int i = 0; i < n; i++) timed_run(&x[i]);
  for (int r = 0; r < runs; r++)
    for (int i = 0; i < n; i++) {
      x[i].t[r] = timed_run(&x[i]);
      if (flush) x[i].hot[r] = hot_run(&x[i]);
    }
  osc_plan_describe(&x[0].p, chain, sizeof chain);
  snprintf(label, sizeof label, "%s `%s`", name, chain);
  row(label, &x[0]);
  for (int i = 1; i < n; i++) {
    const osc_stage *st = &x[0].p.stage[i - 1];
    snprintf(label, sizeof label, "  %d: %d->%d %dx%d/g%d %dx%d", i, st->c_in, st->c_out,
             st->k_h, st->k_w, st->groups, st->h_out, st->w_out);
    row(label, &x[i]);
  }
  for (int i = 0; i < n; i++) timed_free(&x[i]);
  if (evictor.k) timed_free(&evictor), memset(&evictor, 0, sizeof evictor);
  fflush(stdout);
}

static void spec_layer(osc_layer *l, int c_in, int c_out, int size, int k, int stride) {
  osc_layer_init(l);
  l->in_channels = c_in, l->out_channels = c_out, l->in_h = l->in_w = size;
  l->k_h = l->k_w = k, l->stride_h = l->stride_w = stride, l->pad_h = l->pad_w = k / 2;
}

static int same_shape(const osc_layer *a, const osc_layer *b) {
  return a->in_channels == b->in_channels && a->out_channels == b->out_channels &&
         a->in_h == b->in_h && a->in_w == b->in_w && a->k_h == b->k_h && a->k_w == b->k_w &&
         a->stride_h == b->stride_h && a->pad_h == b->pad_h;
}

static int resnet(double min_mmac) {
  osc_config *cfg = NULL;
  osc_error err;
  const osc_network *net;
  if (osc_config_load("examples/resnet50.lua", NULL, &cfg, &err)) {
    fprintf(stderr, "bench_profile: %s\n", err.msg);
    return 1;
  }
  net = &cfg->networks[0];
  for (int i = 0; i < net->n_layers; i++) {
    const osc_layer *l = &net->layers[i];
    double dense = (double)l->in_channels * l->out_channels * l->k_h * l->k_w *
                   osc_layer_out_h(l) * osc_layer_out_w(l) / 1e6;
    int dup = 0, times = 0;
    char name[96];
    for (int k = 0; k < i && !dup; k++) dup = same_shape(l, &net->layers[k]);
    for (int k = i; k < net->n_layers; k++) times += same_shape(l, &net->layers[k]);
    snprintf(name, sizeof name, "%s (x%d)", l->name, times);
    if (!dup && dense >= min_mmac) bench_layer(name, l);
  }
  osc_config_free(cfg);
  return 0;
}

int main(int argc, char **argv) {
  static const struct { const char *name; int c_in, c_out, size, k, stride; } set[] = {
      {"c64_56_k3", 64, 64, 56, 3, 1},     {"c128_28_k3", 128, 128, 28, 3, 1},
      {"c256_14_k3", 256, 256, 14, 3, 1},  {"c512_7_k3", 512, 512, 7, 3, 1},
      {"c256_14_k5", 256, 256, 14, 5, 1},  {"c256_14_k7", 256, 256, 14, 7, 1},
      {"c128to256_28_k3_s2", 128, 256, 28, 3, 2}, {"c64to128_56_k3", 64, 128, 56, 3, 1}};
  int any = 0, do_resnet = 0;
  double min_mmac = 100;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--runs") && v) runs = atoi(argv[++i]);
    else if (!strcmp(a, "--peak") && v) peak = atof(argv[++i]);
    else if (!strcmp(a, "--min-mmac") && v) min_mmac = atof(argv[++i]);
    else if (!strcmp(a, "--resnet")) do_resnet = 1;
    else if (!strcmp(a, "--cold-conv")) cold_conv = 1;
    else if (!strcmp(a, "--cold") && v) {   /* before --layer, which runs at once */
      free(cold_buf);
      cold_bytes = (size_t)(atof(argv[++i]) * 1048576);
      if (cold_bytes && !(cold_buf = calloc(cold_bytes, 1)))
        return fprintf(stderr, "bench_profile: --cold: out of memory\n"), 1;
    }
    else if (!strcmp(a, "--conventional")) plan_mode = OSC_MODE_CONVENTIONAL;
    else if (!strcmp(a, "--oc-lanes")) oc_lanes = 1;
    else if (!strcmp(a, "--flush")) flush = 1;   /* before --layer, which runs at once */
    else if (!strcmp(a, "--layer") && v) {
      int c_in = 0, c_out = 0, size = 0, k = 0, stride = 1;
      osc_layer l;
      for (char *t = strtok(argv[++i], ","); t; t = strtok(NULL, ","))
        if (sscanf(t, "c_in=%d", &c_in) != 1 && sscanf(t, "c_out=%d", &c_out) != 1 &&
            sscanf(t, "size=%d", &size) != 1 && sscanf(t, "k=%d", &k) != 1 &&
            sscanf(t, "stride=%d", &stride) != 1)
          return fprintf(stderr, "bench_profile: --layer: bad field '%s'\n", t), 2;
      spec_layer(&l, c_in, c_out ? c_out : c_in, size, k, stride);
      bench_layer(v, &l);
      any = 1;
    } else {
      return fprintf(stderr, "bench_profile: bad flag '%s' (see bench/bench_profile.c)\n", a), 2;
    }
  }
  if (runs < 1 || runs > MAX_RUNS) runs = 15;
  if (do_resnet) return resnet(min_mmac);
  if (!any)
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
      osc_layer l;
      spec_layer(&l, set[i].c_in, set[i].c_out, set[i].size, set[i].k, set[i].stride);
      bench_layer(set[i].name, &l);
    }
  return 0;
}

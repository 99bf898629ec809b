/*
** bench_stages.c -- time per stage and per chain, JIT-compiled through the
** public API, as CSV for the time model (gen/osctime.h, bench/fit_time.c).
**   build/bench/bench_stages --layers [--runs N]
**     the bench layer set (bench/ob_main.c), its optimal plans at max_stages
**     2, 3, 4 and 16 (objective macs, and time), and its baselines
**     (depthwise, spatial, conventional): a "layer" row per plan, a "stage"
**     row per stage timed alone (a one-stage conventional plan of its shape).
**   build/bench/bench_stages --sweep N [--seed S] [--first I] [--isa ISA]
**     N stage shapes drawn from seed S (kind 1x1, Kx1, 1xK, KxK, depthwise;
**     channels, groups, plane, stride), shapes I .. I+N-1 of that sequence,
**     so a sweep runs in chunks.
**   build/bench/bench_stages --compare MAX_STAGES [--only LAYER | --config FILE]
**     objective time against the MACs plan and the depthwise-separable one
**     (the set, or a config's distinct layers), interleaved, with the time
**     plan compiled twice: the spread between the two is the noise.
**   build/bench/bench_stages --fuse MAX_STAGES [--only LAYER] [--blocks P,P,...]
**     fused pointwise runs (gen/x86/oscfuse.h) against unfused: the set's
**     MACs plan at MAX_STAGES unfused, fused in blocks of each P (default
**     256; `reg`: the pairs fused in registers, gen/x86/oscregfuse.h),
**     unfused again (the noise), and the 2-stage plan, interleaved.
** Each time: a warm-up, then the median of --runs samples (default 9), a
** sample being the mean of enough calls to last 0.3 ms. Columns: see HEADER.
** Pin it: flock /tmp/osconv-core1.lock taskset -c 1 build/bench/bench_stages ...
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "oscemit.h"
#include "osconv.h"
#include "oscfuse.h"
#include "oscregfuse.h"
#include "oscplan.h"
#include "oscrt.h"
#include "osctime.h"

#define HEADER                                                                            \
  "row,layer,plan,stage,isa,kernel,c_in,c_out,groups,k_h,k_w,stride_h,stride_w,pad_h,pad_w," \
  "h_in,w_in,h_out,w_out,macs,ns,model_ns"
#define MAX_RUNS 64

static int runs = 9;
static int failures;   /* plans that did not build: the exit status */

/* A JIT-compiled plan with its buffers, and how many calls make a sample. */
typedef struct timed {
  osc_kernel *k;
  float *in, *w, *out, *s;
  int calls;
} timed;

static void timed_free(timed *t) {
  osc_kernel_free(t->k);
  free(t->in); free(t->w); free(t->out); free(t->s);
  memset(t, 0, sizeof *t);
}

/* Mean ns of one run over t->calls runs. */
static double sample(const timed *t) {
  double t0 = now_ms();
  for (int c = 0; c < t->calls; c++) osc_kernel_run(t->k, 1, t->in, t->out, t->w, t->s, NULL);
  return (now_ms() - t0) * 1e6 / t->calls;
}

/* The runs fused with knob `knob` (256: blocks, OSC_FUSE_REG: register
** pairs), "1-2 3-4" (none: "-"). */
static void fused_runs(const osc_plan *p, int knob, char *buf, size_t size) {
  osc_emit_options eo = {OSC_JIT_PREFIX, 1, (int)osc_time_isa()};
  osc_buf src;
  size_t n = 0;
  osc_buf_init(&src);
  snprintf(buf, size, "-");
  if (osc_emit_layer_fuse(p, &eo, NULL, knob, &src, NULL) == OSC_OK)
    for (const char *c = src.data; (c = strstr(c, "/* stages ")) && n + 1 < size; c++) {
      int a, b;
      if (sscanf(c, "/* stages %d-%d fused", &a, &b) == 2)
        n += (size_t)snprintf(buf + n, size - n, "%s%d-%d", n ? " " : "", a, b);
    }
  osc_buf_free(&src);
}

/* p's JIT kernel; with fuse != 0, emitted with that fusion knob (oscfuse.h). */
static osc_status make_kernel(const osc_plan *p, int fuse, osc_kernel **k, osc_error *err) {
  osc_kernel_options o = {.no_cache = 1};
  osc_emit_options eo = {OSC_JIT_PREFIX, 1, (int)osc_time_isa()};
  osc_buf src;
  osc_status st;
  if (!fuse) return osc_kernel_create(p, &o, k, err);
  osc_buf_init(&src);
  st = osc_emit_layer_fuse(p, &eo, NULL, fuse, &src, err);
  if (!st) st = osc_kernel_create_from_source(p, src.data, OSC_JIT_SYMBOL, &o, k, err);
  osc_buf_free(&src);
  return st;
}

/* Compile p (fusion knob `fuse`, 0: as osc_kernel_create), fill its inputs,
** warm it up and size its samples; 0 if it does not build. */
static int timed_init_fuse(timed *t, const osc_plan *p, int fuse) {
  osc_error err;
  size_t ni = osc_plan_input_size(p), nw = osc_plan_weights_size(p);
  memset(t, 0, sizeof *t);
  t->in = malloc(ni * sizeof *t->in), t->w = malloc(nw * sizeof *t->w);
  t->out = malloc(osc_plan_output_size(p) * sizeof *t->out);
  t->s = malloc((osc_plan_scratch_size(p) + 1) * sizeof *t->s);
  if (!t->in || !t->w || !t->out || !t->s || make_kernel(p, fuse, &t->k, &err)) {
    fprintf(stderr, "bench_stages: %s: %s\n", p->layer.name, t->k ? "out of memory" : err.msg);
    timed_free(t);
    failures++;
    return 0;
  }
  for (size_t i = 0; i < ni; i++) t->in[i] = (float)(i % 7) * 0.25f - 0.5f;
  for (size_t i = 0; i < nw; i++) t->w[i] = (float)(i % 5) * 0.05f - 0.1f;
  for (t->calls = 1; sample(t) * t->calls < 3e5 && t->calls < 1 << 20;) t->calls *= 2;
  return 1;
}

static int timed_init(timed *t, const osc_plan *p) { return timed_init_fuse(t, p, 0); }

/* Median time of one run of plan p, ns; -1 if it does not build. */
static double time_plan(const osc_plan *p) {
  timed t;
  double v[MAX_RUNS], r;
  if (!timed_init(&t, p)) return -1;
  for (int i = 0; i < runs; i++) v[i] = sample(&t);
  r = median(v, runs);
  timed_free(&t);
  return r;
}

/* Stage s of a plan as a layer of its own: a one-stage conventional plan. */
static int stage_plan(const osc_stage *s, osc_plan *out) {
  osc_layer l;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "stage");
  l.in_channels = s->c_in, l.out_channels = s->c_out;
  l.in_h = s->h_in, l.in_w = s->w_in;
  l.k_h = s->k_h, l.k_w = s->k_w;
  l.stride_h = s->stride_h, l.stride_w = s->stride_w;
  l.pad_h = s->pad_h, l.pad_w = s->pad_w;
  l.groups = s->groups;
  l.mode = OSC_MODE_CONVENTIONAL;
  return osc_plan_layer(&l, out, NULL) == OSC_OK;
}

static void stage_row(const char *row, const char *layer, const char *plan, int i,
                      const osc_stage *s, double ns) {
  osc_isa isa = osc_time_isa();
  int k = osc_emit_stage_kernel(s, 1, 0, isa, NULL);
  printf("%s,%s,%s,%d,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%lld,%.1f,%.1f\n", row, layer,
         plan, i, osc_isa_name(isa), osc_emit_kernel_name(k), s->c_in, s->c_out, s->groups,
         s->k_h, s->k_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->h_in, s->w_in,
         s->h_out, s->w_out, (long long)osc_stage_macs(s), ns,
         (double)osc_time_stage_ps(s, 1, 0, isa) / 1000.0);
}

static void measure_stage(const char *layer, const char *plan, int i, const osc_stage *s) {
  osc_plan one;
  if (!stage_plan(s, &one)) return;
  stage_row("stage", layer, plan, i, &one.stage[0], time_plan(&one));
  fflush(stdout);
}

/* ---- --layers: the bench layer set ----------------------------------------------- */
static const struct { const char *name; int c_in, c_out, size, k, stride, pad; } set[] = {
    {"c64_56_k3", 64, 64, 56, 3, 1, 1},      {"c128_28_k3", 128, 128, 28, 3, 1, 1},
    {"c256_14_k3", 256, 256, 14, 3, 1, 1},   {"c512_7_k3", 512, 512, 7, 3, 1, 1},
    {"c256_14_k5", 256, 256, 14, 5, 1, 2},   {"c256_14_k7", 256, 256, 14, 7, 1, 3},
    {"c128to256_28_k3_s2", 128, 256, 28, 3, 2, 1}, {"c64to128_56_k3", 64, 128, 56, 3, 1, 1}};

static const struct { const char *name; osc_mode mode; int max_stages; osc_objective obj; }
    plans[] = {{"optimal2", OSC_MODE_OPTIMAL, 2, OSC_OBJ_MACS},
               {"optimal3", OSC_MODE_OPTIMAL, 3, OSC_OBJ_MACS},
               {"optimal4", OSC_MODE_OPTIMAL, 4, OSC_OBJ_MACS},
               {"optimal16", OSC_MODE_OPTIMAL, OSC_MAX_STAGES, OSC_OBJ_MACS},
               {"time2", OSC_MODE_OPTIMAL, 2, OSC_OBJ_TIME},
               {"time4", OSC_MODE_OPTIMAL, 4, OSC_OBJ_TIME},
               {"time16", OSC_MODE_OPTIMAL, OSC_MAX_STAGES, OSC_OBJ_TIME},
               {"depthwise", OSC_MODE_DEPTHWISE, 2, OSC_OBJ_MACS},
               {"spatial", OSC_MODE_SPATIAL, 2, OSC_OBJ_MACS},
               {"conventional", OSC_MODE_CONVENTIONAL, 2, OSC_OBJ_MACS}};

static void set_layer(size_t i, osc_layer *l) {
  osc_layer_init(l);
  snprintf(l->name, sizeof l->name, "%s", set[i].name);
  l->in_channels = set[i].c_in, l->out_channels = set[i].c_out;
  l->in_h = l->in_w = set[i].size;
  l->k_h = l->k_w = set[i].k;
  l->stride_h = l->stride_w = set[i].stride;
  l->pad_h = l->pad_w = set[i].pad;
}

static void bench_layers(const char *only) {
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
    if (only && strcmp(only, set[i].name)) continue;
    for (size_t m = 0; m < sizeof plans / sizeof plans[0]; m++) {
      osc_layer l;
      osc_plan p;
      osc_error err;
      char chain[256];
      set_layer(i, &l);
      l.max_stages = plans[m].max_stages;
      l.objective = plans[m].obj;
      if (osc_plan_layer_mode(&l, plans[m].mode, &p, &err)) {
        fprintf(stderr, "bench_stages: %s %s: %s\n", l.name, plans[m].name, err.msg);
        continue;
      }
      osc_plan_describe(&p, chain, sizeof chain);
      for (char *c = chain; *c; c++)
        if (*c == ',') *c = ';';
      printf("layer,%s,%s %s,%d,%s,,%d,%d,1,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%lld,%.1f,%.1f\n",
             l.name, plans[m].name, chain, p.n_stages, osc_isa_name(osc_time_isa()),
             l.in_channels, l.out_channels, l.k_h, l.k_w, l.stride_h, l.stride_w, l.pad_h,
             l.pad_w, l.in_h, l.in_w, osc_layer_out_h(&l), osc_layer_out_w(&l),
             (long long)p.macs, time_plan(&p), osc_time_plan(&p));
      fflush(stdout);
      for (int s = 0; s < p.n_stages; s++)
        measure_stage(l.name, plans[m].name, s + 1, &p.stage[s]);
    }
  }
}

/* ---- --compare: objective time against the MACs plan and depthwise ---------------- */

/* One layer at one max_stages: the time plan, the MACs plan, the
** depthwise-separable plan and the time plan compiled a second time (its
** spread is the run-to-run noise), sampled in interleaved rounds. */
static void compare_layer(const osc_layer *base, int max_stages) {
  osc_plan p[4];
  timed t[4];
  double v[4][MAX_RUNS], med[4];
  char chain[4][256];
  osc_layer l = *base;
  int ok = 1;
  l.max_stages = max_stages;
  l.objective = OSC_OBJ_TIME;
  ok &= osc_plan_layer_mode(&l, OSC_MODE_OPTIMAL, &p[0], NULL) == OSC_OK;
  l.objective = OSC_OBJ_MACS;
  ok &= osc_plan_layer_mode(&l, OSC_MODE_OPTIMAL, &p[1], NULL) == OSC_OK;
  if (osc_plan_layer_mode(&l, OSC_MODE_DEPTHWISE, &p[2], NULL)) p[2] = p[1];   /* 1x1: none */
  p[3] = p[0];
  if (!ok) return;
  for (int i = 0; i < 4; i++) {
    osc_plan_describe(&p[i], chain[i], sizeof chain[i]);
    if (!timed_init(&t[i], &p[i])) {
      while (i--) timed_free(&t[i]);
      return;
    }
  }
  for (int r = 0; r < runs; r++)
    for (int i = 0; i < 4; i++) v[i][r] = sample(&t[i]);
  for (int i = 0; i < 4; i++) {
    med[i] = median(v[i], runs);
    timed_free(&t[i]);
  }
  {
    double best = med[1] < med[2] ? med[1] : med[2];
    printf("%s,%d,%s,%s,%s,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.4f,%.4f\n", l.name, max_stages,
           chain[0], chain[1], chain[2], med[0], med[1], med[2], med[3], osc_time_plan(&p[0]),
           osc_time_plan(&p[1]), med[0] / best, fabs(med[3] - med[0]) / med[0]);
  }
  fflush(stdout);
}

static void compare_header(void) {
  printf("layer,max_stages,time_chain,macs_chain,depthwise_chain,time_ns,macs_ns,depthwise_ns,"
         "time_again_ns,time_model_ns,macs_model_ns,time_over_best,noise\n");
}

static void compare_set(const char *only, int max_stages) {
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
    osc_layer l;
    if (only && strcmp(only, set[i].name)) continue;
    set_layer(i, &l);
    compare_layer(&l, max_stages);
  }
}

/* The distinct layers of a config (shape, stride, padding, bias, activation). */
static int compare_config(const char *path, int max_stages) {
  osc_config *cfg;
  osc_error err;
  osc_layer seen[512];
  int n_seen = 0;
  if (osc_config_load(path, NULL, &cfg, &err)) {
    fprintf(stderr, "bench_stages: %s\n", err.msg);
    return 1;
  }
  for (int n = 0; n < cfg->n_networks; n++)
    for (int i = 0; i < cfg->networks[n].n_layers; i++) {
      osc_layer l = cfg->networks[n].layers[i];
      int dup = 0;
      for (int j = 0; j < n_seen && !dup; j++) {
        osc_layer a = seen[j];
        dup = a.in_channels == l.in_channels && a.out_channels == l.out_channels &&
              a.in_h == l.in_h && a.in_w == l.in_w && a.k_h == l.k_h && a.k_w == l.k_w &&
              a.stride_h == l.stride_h && a.pad_h == l.pad_h && a.bias == l.bias &&
              a.act == l.act;
      }
      if (dup || n_seen == 512 || l.groups != 1) continue;
      seen[n_seen++] = l;
      compare_layer(&l, max_stages);
    }
  osc_config_free(cfg);
  return 0;
}

/* ---- --fuse: fused pointwise runs against unfused -------------------------------- */

#define MAX_FUSE 8

/* One layer: the MACs plan at max_stages unfused (the default code: the
** rule fuses nothing), fused in blocks of each P, unfused again (its
** spread from the first is the noise), and the 2-stage plan, interleaved. */
static void fuse_layer(const osc_layer *base, int max_stages, const int *blocks, int nb) {
  osc_plan p, two;
  osc_layer l = *base;
  timed t[MAX_FUSE + 3];
  double v[MAX_FUSE + 3][MAX_RUNS], med[MAX_FUSE + 3], best;
  int knob[MAX_FUSE + 3], n = 0;
  char chain[256], fused[64], reg[64], dflt[64];
  l.max_stages = max_stages;
  if (osc_plan_layer_mode(&l, OSC_MODE_OPTIMAL, &p, NULL)) return;
  l.max_stages = 2;
  if (osc_plan_layer_mode(&l, OSC_MODE_OPTIMAL, &two, NULL)) return;
  osc_plan_describe(&p, chain, sizeof chain);
  fused_runs(&p, 256, fused, sizeof fused);
  fused_runs(&p, OSC_FUSE_REG, reg, sizeof reg);
  fused_runs(&p, 0, dflt, sizeof dflt);
  knob[n++] = OSC_FUSE_OFF;   /* unfused, whatever the default rule */
  for (int i = 0; i < nb; i++) knob[n++] = blocks[i];
  knob[n++] = OSC_FUSE_OFF;
  for (int i = 0; i <= n; i++)
    if (!(i < n ? timed_init_fuse(&t[i], &p, knob[i]) : timed_init(&t[i], &two))) {
      while (i--) timed_free(&t[i]);
      return;
    }
  for (int r = 0; r < runs; r++)
    for (int i = 0; i <= n; i++) v[i][r] = sample(&t[i]);
  printf("%s,%d,%s,%s,%s,%s,%.3f", l.name, max_stages, chain, fused, reg, dflt, (double)p.macs / 1e6);
  for (int i = 0; i <= n; i++) {
    med[i] = median(v[i], runs);
    timed_free(&t[i]);
    printf(",%.1f", med[i]);
  }
  best = med[1];
  for (int i = 1; i <= nb; i++) best = med[i] < best ? med[i] : best;
  printf(",%.1f,%.1f,%.3f,%.3f,%.3f,%.3f\n", 1000.0 * med[0] / (double)p.macs,
         1000.0 * best / (double)p.macs, best / med[0], med[n] / med[0], med[n] / best,
         fabs(med[n - 1] - med[0]) / med[0]);
  fflush(stdout);
}

static void fuse_set(const char *only, int max_stages, const char *list) {
  int blocks[MAX_FUSE], nb = 0;
  for (const char *c = list ? list : "256"; *c && nb < MAX_FUSE;
       c = strchr(c, ',') ? strchr(c, ',') + 1 : "")
    if ((blocks[nb] = strncmp(c, "reg", 3) ? atoi(c) : OSC_FUSE_REG) > 0 ||
        blocks[nb] == OSC_FUSE_REG)
      nb++;
  printf("layer,max_stages,chain,fused_stages,reg_pairs,default_pairs,mmac,unfused_ns");
  for (int i = 0; i < nb; i++)
    if (blocks[i] == OSC_FUSE_REG) printf(",fused_reg_ns");
    else printf(",fused_p%d_ns", blocks[i]);
  printf(",unfused_again_ns,two_stage_ns,unfused_ps_mac,best_fused_ps_mac,best_fused_over_unfused,"
         "two_over_unfused,two_over_best_fused,noise\n");
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
    osc_layer l;
    if (only && strcmp(only, set[i].name)) continue;
    set_layer(i, &l);
    if (nb) fuse_layer(&l, max_stages, blocks, nb);
  }
}

/* ---- --sweep: random stage shapes ----------------------------------------------- */
static uint64_t rng_next(uint64_t *x) {   /* splitmix64 */
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static int pick(uint64_t *x, int n) { return (int)(rng_next(x) % (uint64_t)n); }

/* One stage shape: kind 0 1x1, 1 Kx1, 2 1xK, 3 KxK, 4 depthwise KxK; grouped
** variants of the first four; padded (first stage) or valid; strided or not. */
static void draw(uint64_t *x, osc_stage *s) {
  static const int chans[] = {8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
  static const int planes[] = {7, 10, 14, 20, 28, 40, 56};
  static const int ks[] = {3, 3, 5, 7};
  int kind = pick(x, 5), k = ks[pick(x, 4)], pad = pick(x, 2) ? k / 2 : 0;
  int64_t macs;
  do {
    memset(s, 0, sizeof *s);
    s->c_in = chans[pick(x, 12)];
    s->c_out = kind == 4 ? s->c_in : chans[pick(x, 12)];
    s->groups = kind == 4 ? s->c_in : 1;
    if (kind != 4 && pick(x, 2)) {   /* grouped: fan-in 1 .. c_in */
      int g = 1 << pick(x, 7);
      while (g > 1 && (s->c_in % g || s->c_out % g)) g /= 2;
      s->groups = g;
    }
    s->k_h = kind == 0 || kind == 2 ? 1 : k;
    s->k_w = kind == 0 || kind == 1 ? 1 : k;
    s->h_in = s->w_in = planes[pick(x, 7)];
    s->stride_h = s->stride_w = pick(x, 4) ? 1 : 2;
    s->pad_h = s->k_h > 1 ? pad : 0;
    s->pad_w = s->k_w > 1 ? pad : 0;
    s->h_out = osc_conv_out(s->h_in, s->k_h, s->stride_h, s->pad_h);
    s->w_out = osc_conv_out(s->w_in, s->k_w, s->stride_w, s->pad_w);
    macs = s->h_out > 0 && s->w_out > 0 ? osc_stage_macs(s) : 0;
  } while (macs <= 0 || macs > 60000000);   /* a second or less per shape */
}

static void sweep(int n, uint64_t seed, int first) {
  uint64_t x = seed;
  for (int i = 0; i < first + n; i++) {
    osc_stage s;
    char name[32];
    draw(&x, &s);
    if (i < first) continue;
    snprintf(name, sizeof name, "sweep%llu_%d", (unsigned long long)seed, i);
    measure_stage(name, "sweep", 1, &s);
  }
}

int main(int argc, char **argv) {
  int n = 0, first = 0, layers = 0, compare = 0, fuse = 0;
  const char *config = NULL, *blocks = NULL;
  uint64_t seed = 1;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--layers")) layers = 1;
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--compare") && i + 1 < argc) compare = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
    else if (!strcmp(argv[i], "--fuse") && i + 1 < argc) fuse = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--blocks") && i + 1 < argc) blocks = argv[++i];
    else if (!strcmp(argv[i], "--sweep") && i + 1 < argc) n = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--first") && i + 1 < argc) first = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--isa") && i + 1 < argc) setenv("OSCONV_ISA", argv[++i], 1);
    else if (!strcmp(argv[i], "--header")) { printf("%s\n", HEADER); return 0; }
    else {
      fprintf(stderr, "usage: bench_stages [--header] [--layers [--only LAYER]] [--sweep N "
                      "[--seed S] [--first I]] [--compare MAX_STAGES [--only LAYER | --config "
                      "FILE]] [--fuse MAX_STAGES [--only LAYER] [--blocks P,...]] [--isa ISA] [--runs N]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > MAX_RUNS) runs = 9;
  if (compare) {
    compare_header();
    if (config) return compare_config(config, compare);
    compare_set(only, compare);
  }
  if (fuse) fuse_set(only, fuse, blocks);
  if (layers) bench_layers(only);
  if (n > 0) sweep(n, seed, first);
  return failures != 0;
}

/*
** ob_main.c -- osconv-bench: osconv against oneDNN, side by side, in one
** process, one pinned core, one thread (`make bench`; README "Figures").
**   build/bench/osconv-bench [--layers NAME,...] [--layer SPEC]... [--cpu N]
**       [--rounds N] [--budget SECONDS] [--csv PATH] [--json PATH] [--quick]
**       [--only SUBSTRING] [--hot] [--user-flags FLAGS] [--cc CC]
**       [--threads N --cpus A,B,...]
** Per layer: every variant's output is checked against osconv's reference
** backend (relative L2 < 1e-5) before it is timed; then warm-up rounds, and
** rounds that visit the variants in a fresh random order each time; the
** table gives medians and the inter-quartile spread. Each timed call
** follows other variants, so its weights and input are not in cache;
** --hot times the second of two calls in a row instead. --threads N adds the
** optimal plan's JIT kernel on a pool of N threads ("osconv optimal jit-tN")
** and a line with its speed-up over the 1-thread JIT; --cpus pins the run to
** those CPUs instead of one (the pool's threads inherit them; gcc runs on
** the others, or on them when there are no others). Exit 1 when a check
** failed (that variant is not timed), 2 on bad flags.
*/
#define _GNU_SOURCE   /* sched_setaffinity */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "obench.h"
#include "oscplan.h"

#define MAX_VARIANTS 24
#define TOL 1e-5

/* ---- helpers ------------------------------------------------------------ */
double ob_now_ms(void) { return now_ms(); }

void ob_fill(float *x, size_t n, unsigned seed, float scale) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    x[i] = ((float)((seed >> 8) % 20001) / 10000.0f - 1.0f) * scale;
  }
}

double ob_rel_l2(const float *a, const float *ref, size_t n) {
  double d = 0, r = 0;
  for (size_t i = 0; i < n; i++) {
    double e = (double)a[i] - ref[i];
    d += e * e;
    r += (double)ref[i] * ref[i];
  }
  return r > 0 ? sqrt(d / r) : sqrt(d);
}

void *ob_alloc(size_t floats) {
  size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
  void *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) {
    fprintf(stderr, "osconv-bench: out of memory (%zu floats)\n", floats);
    exit(3);
  }
  memset(p, 0, bytes);
  return p;
}

void ob_variant_init(ob_variant *v, const ob_layer *L, const struct ob_plan *P,
                     const char *family, const char *mode, const char *backend,
                     void (*run)(void *), const float *(*result)(void *),
                     void (*free_fn)(void *), void *ctx) {
  memset(v, 0, sizeof *v);
  snprintf(v->name, sizeof v->name, "%s %s %s", family, mode, backend);
  snprintf(v->family, sizeof v->family, "%s", family);
  snprintf(v->mode, sizeof v->mode, "%s", mode);
  snprintf(v->backend, sizeof v->backend, "%s", backend);
  v->macs = P->plan.macs;
  v->run = run, v->result = result, v->free = free_fn, v->ctx = ctx;
  v->ref = P->ref;
  v->out_n = L->out_n;
}

/* ---- flags and the layer set ---------------------------------------------- */
typedef struct spec {
  char name[64];
  int c_in, c_out, size, k, stride, pad;
} spec;

static const spec fixed_set[] = {
    {"c64_56_k3", 64, 64, 56, 3, 1, 1},      {"c128_28_k3", 128, 128, 28, 3, 1, 1},
    {"c256_14_k3", 256, 256, 14, 3, 1, 1},   {"c512_7_k3", 512, 512, 7, 3, 1, 1},
    {"c256_14_k5", 256, 256, 14, 5, 1, 2},   {"c256_14_k7", 256, 256, 14, 7, 1, 3},
    {"c128to256_28_k3_s2", 128, 256, 28, 3, 2, 1}, {"c64to128_56_k3", 64, 128, 56, 3, 1, 1}};
#define N_FIXED (int)(sizeof fixed_set / sizeof fixed_set[0])
static const spec quick_set[] = {{"q_c16_12_k3", 16, 16, 12, 3, 1, 1},
                                 {"q_c8to16_12_k3_s2", 8, 16, 12, 3, 2, 1}};

static struct {
  int cpu, rounds, quick, warm, resnet, any_layer_flag, hot;
  double budget_ms;
  const char *csv, *json, *only, *cpus;
  spec layers[64];
  int n_layers;
} opt = {.cpu = -2, .rounds = 31, .warm = 2, .budget_ms = 6000};

static FILE *csv, *json;
static int failures, json_rows;
static unsigned rng = 12345u;
static ob_peak peak;

static int add_layer(const spec *s) {
  if (opt.n_layers == 64) return 1;
  opt.layers[opt.n_layers++] = *s;
  return 0;
}

static int select_layers(char *list) {
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    int found = !strcmp(tok, "resnet50");
    if (found) opt.resnet = 1;
    for (int i = 0; i < N_FIXED && !found; i++)
      if (!strcmp(tok, fixed_set[i].name)) found = !add_layer(&fixed_set[i]);
    if (!found) {
      fprintf(stderr, "osconv-bench: --layers: no layer '%s' (names:", tok);
      for (int i = 0; i < N_FIXED; i++) fprintf(stderr, " %s", fixed_set[i].name);
      fprintf(stderr, " resnet50)\n");
      return 1;
    }
  }
  return 0;
}

/* "c_in=64,c_out=128,size=56,k=3,stride=1,pad=1"; c_out, stride, pad optional */
static int parse_layer(const char *arg) {
  spec s = {"", 0, 0, 0, 0, 1, -1};
  char buf[256], *save = NULL;
  snprintf(buf, sizeof buf, "%s", arg);
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    int *f = NULL;
    if (!eq) goto bad;
    *eq = '\0';
    if (!strcmp(tok, "c_in")) f = &s.c_in;
    else if (!strcmp(tok, "c_out")) f = &s.c_out;
    else if (!strcmp(tok, "size")) f = &s.size;
    else if (!strcmp(tok, "k")) f = &s.k;
    else if (!strcmp(tok, "stride")) f = &s.stride;
    else if (!strcmp(tok, "pad")) f = &s.pad;
    else goto bad;
    *f = atoi(eq + 1);
  }
  if (!s.c_out) s.c_out = s.c_in;
  if (s.pad < 0) s.pad = s.k / 2;
  if (s.c_in < 1 || s.c_out < 1 || s.size < 1 || s.k < 1 || s.stride < 1) goto bad;
  {
    char big[128];
    snprintf(big, sizeof big, "c%dto%d_%d_k%d_s%d_p%d", s.c_in, s.c_out, s.size, s.k, s.stride,
             s.pad);
    memcpy(s.name, big, sizeof s.name - 1);   /* spec is zeroed: stays terminated */
  }
  return add_layer(&s);
bad:
  fprintf(stderr, "osconv-bench: --layer '%s': want c_in=N,c_out=N,size=N,k=N[,stride=N]"
          "[,pad=N]\n", arg);
  return 1;
}

static int parse_flags(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (!strcmp(a, "--quick")) opt.quick = 1, takes = 0;
    else if (!strcmp(a, "--hot")) opt.hot = 1, takes = 0;
    else if (!v) takes = -1;
    else if (!strcmp(a, "--layers")) { if (select_layers(argv[i + 1])) return 1; opt.any_layer_flag = 1; }
    else if (!strcmp(a, "--layer")) { if (parse_layer(v)) return 1; opt.any_layer_flag = 1; }
    else if (!strcmp(a, "--cpu")) opt.cpu = atoi(v);
    else if (!strcmp(a, "--cpus")) opt.cpus = v;
    else if (!strcmp(a, "--threads")) ob_threads = atoi(v);
    else if (!strcmp(a, "--rounds")) opt.rounds = atoi(v);
    else if (!strcmp(a, "--budget")) opt.budget_ms = atof(v) * 1e3;
    else if (!strcmp(a, "--csv")) opt.csv = v;
    else if (!strcmp(a, "--json")) opt.json = v;
    else if (!strcmp(a, "--cc")) ob_cc = v;
    else if (!strcmp(a, "--only")) opt.only = v;
    else if (!strcmp(a, "--user-flags")) ob_aot_user_flags = v;
    else takes = -1;
    if (takes < 0) {
      fprintf(stderr, "osconv-bench: bad flag '%s' (see the top of bench/ob_main.c)\n", a);
      return 1;
    }
    i += takes;
  }
  if (opt.rounds < 3 || opt.rounds > OB_MAX_ROUNDS) {
    fprintf(stderr, "osconv-bench: --rounds must be 3..%d\n", OB_MAX_ROUNDS);
    return 1;
  }
  if (ob_threads < 1 || ob_threads > 64) {
    fprintf(stderr, "osconv-bench: --threads must be 1..64\n");
    return 1;
  }
  if (opt.quick) opt.rounds = 3, opt.warm = 1, opt.budget_ms = 200;
  if (!opt.any_layer_flag) {
    if (opt.quick)
      add_layer(&quick_set[0]), add_layer(&quick_set[1]);
    else
      for (int i = 0; i < N_FIXED; i++) add_layer(&fixed_set[i]), opt.resnet = 1;
  }
  return 0;
}

static cpu_set_t time_set, build_set;

void ob_affinity_build(void) {
  if (opt.cpu >= 0) sched_setaffinity(0, sizeof build_set, &build_set);
}
void ob_affinity_time(void) {
  if (opt.cpu >= 0) sched_setaffinity(0, sizeof time_set, &time_set);
}

/* --cpus A,B,...: the timing set; 1 if a CPU is out of range. */
static int parse_cpus(const char *list, long n) {
  char buf[256], *save = NULL;
  snprintf(buf, sizeof buf, "%s", list);
  CPU_ZERO(&time_set);
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    long c = strtol(tok, NULL, 10);
    if (c < 0 || c >= n || c >= CPU_SETSIZE) return 1;
    CPU_SET((int)c, &time_set);
  }
  return CPU_COUNT(&time_set) == 0;
}

/* One core, one thread: default core 1 where there is one, else 0; or the
** --cpus set. gcc runs on the others (on all when there are no others). */
static int pin(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (opt.cpu == -2) opt.cpu = n > 1 ? 1 : 0;
  if (opt.cpus) {
    if (parse_cpus(opt.cpus, n)) {
      fprintf(stderr, "osconv-bench: --cpus '%s': not a list of CPUs 0..%ld\n", opt.cpus, n - 1);
      return 1;
    }
    opt.cpu = 0;   /* pinned: the build set below applies */
  } else if (opt.cpu >= 0) {
    CPU_ZERO(&time_set);
    CPU_SET(opt.cpu, &time_set);
  }
  if (opt.cpu < 0) return 0;
  CPU_ZERO(&build_set);   /* not the inherited mask: `taskset -c 1` would keep gcc on 1 */
  for (long i = 0; i < n && i < CPU_SETSIZE; i++)
    if (!CPU_ISSET(i, &time_set)) CPU_SET(i, &build_set);
  if (CPU_COUNT(&build_set) == 0) build_set = time_set;
  if (sched_setaffinity(0, sizeof time_set, &time_set)) {
    fprintf(stderr, "osconv-bench: cannot pin to cpu %d\n", opt.cpu);
    return 1;
  }
  return 0;
}

/* ---- one layer ------------------------------------------------------------ */
static void layer_init(ob_layer *L, const char *name, const osc_layer *src) {
  memset(L, 0, sizeof *L);
  snprintf(L->name, sizeof L->name, "%s", name);
  L->layer = *src;
  L->layer.bias = 0;
  L->layer.act = OSC_ACT_NONE;
  L->in_n = (size_t)src->in_channels * src->in_h * src->in_w;
  L->out_n = (size_t)src->out_channels * osc_layer_out_h(src) * osc_layer_out_w(src);
  L->in = ob_alloc(L->in_n);
  ob_fill(L->in, L->in_n, 1, 1);
}

static void layer_free(ob_layer *L) {
  free(L->in);
  for (int m = 0; m < L->n_plans; m++) free(L->plans[m].w), free(L->plans[m].ref);
}

static void spec_layer(const spec *s, osc_layer *l) {
  osc_layer_init(l);
  snprintf(l->name, sizeof l->name, "%s", s->name);
  l->in_channels = s->c_in, l->out_channels = s->c_out;
  l->in_h = l->in_w = s->size;
  l->k_h = l->k_w = s->k;
  l->stride_h = l->stride_w = s->stride;
  l->pad_h = l->pad_w = s->pad;
}

/* Run once, compare with the reference; a variant that fails is dropped.
** OSCONV_BENCH_CORRUPT=NAME adds an error to one element of that variant's
** output first (test-bench proves the check catches it). */
static int check(ob_variant *v, const char *where) {
  const char *bad = getenv("OSCONV_BENCH_CORRUPT");
  const float *out;
  double e;
  v->run(v->ctx);
  out = v->result(v->ctx);
  if (bad && !strcmp(bad, v->name)) {
    float *copy = ob_alloc(v->out_n);
    memcpy(copy, out, v->out_n * sizeof *copy);
    copy[v->out_n / 2] += 1.0f;
    e = ob_rel_l2(copy, v->ref, v->out_n);
    free(copy);
  } else {
    e = ob_rel_l2(out, v->ref, v->out_n);
  }
  if (e < TOL) return 0;
  printf("  CHECK FAILED: %s %s: relative L2 %.3g >= %g; not timed\n", where, v->name, e, TOL);
  failures++;
  return 1;
}

/* Variant selection bits. */
enum { V_DNNL_BLOCKED = 1, V_DNNL_DENSE = 2, V_DNNL_CHAIN = 4, V_ALL = 0xffff };

/* --only SUBSTRING: the variants whose name holds it */
static int wanted(const char *name) { return !opt.only || strstr(name, opt.only); }

/* The variants of L picked by the bits (oneDNN kinds; osconv modes x
** backends) and by --only into v. */
static int make_variants(ob_layer *L, int dnnl_bits, int mode_bits, int backends,
                         ob_variant *v) {
  int n = 0;
  for (int k = 0; k < 3; k++) {
    if (!(dnnl_bits & (1 << k)) || !ob_dnnl_available() || !wanted(ob_dnnl_names[k])) continue;
    if (ob_dnnl_variant(L, k, &v[n])) {
      printf("  %s: %s\n", L->name, v[n].name);
      continue;
    }
    if (check(&v[n], L->name))
      v[n].free(v[n].ctx);
    else
      n++;
  }
  for (int m = 0; m < L->n_plans; m++) {
    int got, bits = 0;
    if (!(mode_bits & (1 << m))) continue;
    for (int b = 0; b < 3; b++) {
      char name[64];
      snprintf(name, sizeof name, "osconv %s %s", L->plans[m].mode, ob_osc_backends[b]);
      if (wanted(name)) bits |= backends & (1 << b);
    }
    if (backends & 8) {
      char name[64];
      snprintf(name, sizeof name, "osconv %s jit-t%d", L->plans[m].mode, ob_threads);
      if (wanted(name)) bits |= 8;
    }
    got = ob_osc_variants(L, m, bits, &v[n]);
    if (got < 0) {
      failures++;
      continue;
    }
    for (int i = 0; i < got; i++) {
      if (check(&v[n], L->name)) {
        v[n].free(v[n].ctx);
        memmove(&v[n], &v[n + 1], (size_t)(got - i - 1) * sizeof *v);
      } else {
        n++;
      }
    }
  }
  return n;
}

/* ---- timing: rounds in random order --------------------------------------- */
static unsigned next_rand(void) {
  rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
  return rng;
}

static void run_all(ob_variant *v, int n, int *order, int record) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(next_rand() % (unsigned)(i + 1)), t = order[i];
    order[i] = order[j], order[j] = t;
  }
  for (int i = 0; i < n; i++) {
    ob_variant *x = &v[order[i]];
    double t0;
    if (opt.hot) x->run(x->ctx);   /* --hot: time the second of two calls */
    t0 = now_ms();
    x->run(x->ctx);
    t0 = now_ms() - t0;
    if (record && x->n_t < OB_MAX_ROUNDS) x->t[x->n_t++] = t0;
  }
}

static double quantile(const double *sorted, int n, double q) {
  double pos = q * (n - 1);
  int i = (int)pos;
  return i + 1 < n ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/* Warm-up, then as many rounds as the budget allows (at least 5). */
static int time_variants(ob_variant *v, int n, double budget_ms) {
  int order[MAX_VARIANTS], rounds;
  double t0, round_ms;
  for (int i = 0; i < n; i++) order[i] = i, v[i].n_t = 0;
  for (int w = 0; w < opt.warm - 1; w++) run_all(v, n, order, 0);
  t0 = now_ms();
  run_all(v, n, order, 0);
  round_ms = now_ms() - t0;
  rounds = round_ms > 0 ? (int)(budget_ms / round_ms) : opt.rounds;
  if (rounds > opt.rounds) rounds = opt.rounds;
  if (rounds < 5) rounds = opt.rounds < 5 ? opt.rounds : 5;
  for (int r = 0; r < rounds; r++) run_all(v, n, order, 1);
  for (int i = 0; i < n; i++) {
    double s[OB_MAX_ROUNDS];
    memcpy(s, v[i].t, (size_t)v[i].n_t * sizeof *s);
    v[i].med = median(s, v[i].n_t);   /* sorts s */
    v[i].min = s[0];
    v[i].p25 = quantile(s, v[i].n_t, 0.25);
    v[i].p75 = quantile(s, v[i].n_t, 0.75);
  }
  return rounds;
}

/* ---- the table ------------------------------------------------------------ */
static ob_variant *find(ob_variant *v, int n, const char *family, const char *mode,
                        const char *backend) {
  for (int i = 0; i < n; i++)
    if (!strcmp(v[i].family, family) && !strcmp(v[i].mode, mode) &&
        (!backend || !strcmp(v[i].backend, backend)))
      return &v[i];
  return NULL;
}

/* What "vs dense" divides: oneDNN's dense NCHW conv, else osconv's
** conventional plan built by gcc -O3 -march=native. */
static ob_variant *baseline(ob_variant *v, int n) {
  ob_variant *b = find(v, n, "dnnl", "dense", NULL);
  return b ? b : find(v, n, "osconv", "conventional", "aot-native");
}

static double peak_gflops(void) {
  return peak.avx512_gflops > peak.avx2_gflops ? peak.avx512_gflops : peak.avx2_gflops;
}

typedef struct summary {
  int n;
  double log_vs_dense, log_realized, log_vs_chain, log_jit_aot, log_chain_vs_dense,
      log_conv_vs_dense;
  int n_chain, n_dnnl;
} summary;
static summary sum_fixed;

static void print_header(void) {
  printf("%-30s %-26s %8s %9s %6s %8s %6s %7s %7s %8s %8s %7s %9s\n", "variant", "plan",
         "MMAC", "ms", "iqr%", "GFLOP/s", "%peak", "vsdense", "MACred", "realized",
         "vschain", "JIT/AOT", "compile");
}

static void row(const char *layer, ob_variant *x, const char *plan, ob_variant *v, int n,
                int64_t dense_macs) {
  ob_variant *base = baseline(v, n), *chain = find(v, n, "dnnl", "chain", NULL);
  ob_variant *aot = !strcmp(x->backend, "jit") ? find(v, n, "osconv", x->mode, "aot-native")
                                                : NULL;
  double gflops = 2.0 * (double)x->macs / (x->med * 1e6);
  double vs_dense = base ? base->med / x->med : NAN;
  double red = (double)dense_macs / (double)x->macs;
  double vs_chain = chain && !strcmp(x->mode, "optimal") ? chain->med / x->med : NAN;
  double jit_aot = aot ? x->med / aot->med : NAN;
  double iqr = 100 * (x->p75 - x->p25) / x->med;
  char c_ms[16] = "-", vc[16] = "-", ja[16] = "-";
  if (x->compile_ms >= 0) snprintf(c_ms, sizeof c_ms, "%.1f", x->compile_ms);
  if (!isnan(vs_chain)) snprintf(vc, sizeof vc, "%.2f", vs_chain);
  if (!isnan(jit_aot)) snprintf(ja, sizeof ja, "%.2f", jit_aot);
  printf("%-30s %-26.26s %8.1f %9.3f %6.1f %8.1f %6.1f %7.2f %7.1f %8.2f %8s %7s %9s\n",
         x->name, plan, x->macs / 1e6, x->med, iqr, gflops, 100 * gflops / peak_gflops(),
         vs_dense, red, vs_dense / red, vc, ja, c_ms);
  if (csv)
    fprintf(csv, "%s,%s,%s,%s,%s,\"%s\",%lld,%.6f,%.6f,%.6f,%.6f,%.3f,%.3f,%.4f,%.3f,%.4f,%.4f,"
            "%.4f,%.3f,%d\n", layer, x->name, x->family, x->mode, x->backend, plan,
            (long long)x->macs, x->med, x->min, x->p25, x->p75, gflops,
            100 * gflops / peak_gflops(), vs_dense, red, vs_dense / red, vs_chain, jit_aot,
            x->compile_ms, x->n_t);
  if (json)
    fprintf(json, "%s\n    {\"layer\": \"%s\", \"variant\": \"%s\", \"family\": \"%s\", "
            "\"mode\": \"%s\", \"backend\": \"%s\", \"plan\": \"%s\", \"macs\": %lld, "
            "\"ms\": %.6f, \"min_ms\": %.6f, \"p25_ms\": %.6f, \"p75_ms\": %.6f, "
            "\"gflops\": %.3f, \"pct_peak\": %.3f, \"vs_dense\": %.4f, \"mac_reduction\": "
            "%.3f, \"realized\": %.4f, \"vs_chain\": %.4f, \"jit_over_aot\": %.4f, "
            "\"compile_ms\": %.3f, \"rounds\": %d}", json_rows++ ? "," : "", layer, x->name,
            x->family, x->mode, x->backend, plan, (long long)x->macs, x->med, x->min, x->p25,
            x->p75, gflops, 100 * gflops / peak_gflops(), isnan(vs_dense) ? -1 : vs_dense,
            red, isnan(vs_dense) ? -1 : vs_dense / red, isnan(vs_chain) ? -1 : vs_chain,
            isnan(jit_aot) ? -1 : jit_aot, x->compile_ms, x->n_t);
}

static void add_summary(summary *s, ob_variant *v, int n, int64_t dense_macs) {
  ob_variant *base = baseline(v, n), *chain = find(v, n, "dnnl", "chain", NULL);
  ob_variant *opt_aot = find(v, n, "osconv", "optimal", "aot-native");
  ob_variant *opt_jit = find(v, n, "osconv", "optimal", "jit");
  ob_variant *conv = find(v, n, "osconv", "conventional", "aot-native");
  if (!base || !opt_aot || !opt_jit) return;
  s->n++;
  s->log_vs_dense += log(base->med / opt_aot->med);
  s->log_realized += log(base->med / opt_aot->med / ((double)dense_macs / opt_aot->macs));
  s->log_jit_aot += log(opt_jit->med / opt_aot->med);
  if (chain) {
    s->n_chain++;
    s->log_vs_chain += log(chain->med / opt_aot->med);
    s->log_chain_vs_dense += log(base->med / chain->med);
  }
  if (conv && find(v, n, "dnnl", "dense", NULL)) {
    s->n_dnnl++;
    s->log_conv_vs_dense += log(base->med / conv->med);
  }
}

static void report(const char *name, const char *title, ob_variant *v, int n, int rounds,
                   int64_t dense_macs, const ob_layer *L) {
  ob_variant *base = baseline(v, n);
  printf("\n== %s: %s, dense %.1f MMAC, %d rounds; vsdense = %s ms / ms ==\n", name, title,
         dense_macs / 1e6, rounds, base ? base->name : "-");
  print_header();
  for (int i = 0; i < n; i++) {
    char plan[128] = "";
    for (int m = 0; L && m < L->n_plans; m++)
      if (L->plans[m].ok && (!strcmp(v[i].mode, L->plans[m].mode) ||
                             (!strcmp(v[i].mode, "chain") && m == OB_MODE_OPT) ||
                             (!strcmp(v[i].family, "dnnl") && m == OB_MODE_CONV &&
                              strcmp(v[i].mode, "chain"))))
        osc_plan_describe(&L->plans[m].plan, plan, sizeof plan);
    row(name, &v[i], plan, v, n, dense_macs);
  }
  fflush(stdout);
}

/* --threads N: the optimal JIT on N threads against 1, in the same rounds. */
static void report_threads(ob_variant *v, int n) {
  ob_variant *one = find(v, n, "osconv", "optimal", "jit"), *many = NULL;
  char backend[16];
  snprintf(backend, sizeof backend, "jit-t%d", ob_threads);
  if (ob_threads > 1) many = find(v, n, "osconv", "optimal", backend);
  if (one && many)
    printf("  threads: osconv optimal jit, %d threads against 1: %.2fx (%.3f ms -> %.3f ms)\n",
           ob_threads, one->med / many->med, one->med, many->med);
}

static void free_variants(ob_variant *v, int n) {
  for (int i = 0; i < n; i++) v[i].free(v[i].ctx);
}

static void bench_layer(const spec *s) {
  ob_layer L;
  osc_layer l;
  ob_variant v[MAX_VARIANTS];
  char title[128];
  int n, rounds;
  spec_layer(s, &l);
  layer_init(&L, s->name, &l);
  snprintf(title, sizeof title, "C%d->%d %dx%d K%d s%d p%d", s->c_in, s->c_out, s->size,
           s->size, s->k, s->stride, s->pad);
  if (ob_osc_prepare(&L, V_ALL)) {
    failures++;
    layer_free(&L);
    return;
  }
  n = make_variants(&L, V_ALL, V_ALL, ob_threads > 1 ? 15 : 7, v);
  rounds = time_variants(v, n, opt.budget_ms);
  report(s->name, title, v, n, rounds, L.dense_macs, &L);
  report_threads(v, n);
  add_summary(&sum_fixed, v, n, L.dense_macs);
  free_variants(v, n);
  layer_free(&L);
}

/* ---- ResNet-50: its 53 convolutions one after another ---------------------- */
typedef struct net_ctx {
  ob_variant *parts;
  int n;
} net_ctx;

static void net_run(void *c) {
  net_ctx *x = c;
  for (int i = 0; i < x->n; i++) x->parts[i].run(x->parts[i].ctx);
}
static void net_free(void *c) {
  net_ctx *x = c;
  free_variants(x->parts, x->n);
  free(x->parts);
  free(x);
}

static void bench_resnet(const char *path) {
  osc_config *cfg = NULL;
  osc_error err;
  const osc_network *net;
  ob_layer *L;
  ob_variant v[MAX_VARIANTS], tmp[MAX_VARIANTS];
  int nv = 0, nl, rounds;
  int64_t dense = 0;
  if (osc_config_load(path, NULL, &cfg, &err)) {
    fprintf(stderr, "osconv-bench: %s\n", err.msg);
    failures++;
    return;
  }
  net = &cfg->networks[0];
  nl = net->n_layers;
  L = calloc((size_t)nl, sizeof *L);
  printf("\nResNet-50 (%s, %d convolutions, bias and ReLU dropped): planning, references, "
         "builds...\n", path, nl);
  fflush(stdout);
  for (int i = 0; i < nl && L; i++) {
    layer_init(&L[i], net->layers[i].name, &net->layers[i]);
    if (ob_osc_prepare(&L[i], 1 << OB_MODE_OPT)) {
      failures++;
      goto done;
    }
    dense += L[i].dense_macs;
    /* oneDNN dense (blocked, NCHW) and chain; osconv optimal, JIT and gcc native */
    int got = make_variants(&L[i], V_DNNL_BLOCKED | V_DNNL_DENSE | V_DNNL_CHAIN, 1 << OB_MODE_OPT, 1 | 4, tmp);
    for (int k = 0; k < got; k++) {
      ob_variant *nv_ = find(v, nv, tmp[k].family, tmp[k].mode, tmp[k].backend);
      net_ctx *c;
      if (!nv_) {
        nv_ = &v[nv++];
        *nv_ = tmp[k];
        c = calloc(1, sizeof *c);
        c->parts = calloc((size_t)nl, sizeof *c->parts);
        nv_->ctx = c, nv_->run = net_run, nv_->free = net_free;
        nv_->macs = 0, nv_->compile_ms = tmp[k].compile_ms < 0 ? -1 : 0;
      }
      c = nv_->ctx;
      c->parts[c->n++] = tmp[k];
      nv_->macs += tmp[k].macs;
      if (nv_->compile_ms >= 0) nv_->compile_ms += tmp[k].compile_ms;
    }
  }
  /* a variant that failed a layer's check is not the whole network */
  for (int i = 0; i < nv; i++)
    if (((net_ctx *)v[i].ctx)->n != nl) {
      printf("  %s: dropped, not every layer passed its check\n", v[i].name);
      v[i].free(v[i].ctx);
      memmove(&v[i], &v[i + 1], (size_t)(nv - i - 1) * sizeof *v);
      nv--, i--;
    }
  rounds = time_variants(v, nv, opt.budget_ms * 2);
  report("resnet50", "ResNet-50 at 224x224, sum of its 53 convolutions", v, nv, rounds, dense,
         NULL);
  free_variants(v, nv);
done:
  for (int i = 0; i < nl && L; i++) layer_free(&L[i]);
  free(L);
  osc_config_free(cfg);
}

static void print_machine(void) {
  char line[256], model[256] = "unknown", where[32];
  FILE *f = fopen("/proc/cpuinfo", "r");
  time_t t = time(NULL);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
      model[strcspn(model, "\n")] = '\0';
      break;
    }
  if (f) fclose(f);
  strftime(line, sizeof line, "%Y-%m-%d %H:%M UTC", gmtime(&t));
  snprintf(where, sizeof where, opt.cpu < 0 ? "unpinned" : "cpu %d", opt.cpu);
  printf("osconv-bench %s, %s, %s, 1 thread, oneDNN %s, AOT: %s %s | %s\n", line, model, where,
         ob_dnnl_available() ? "yes" : "not built in (osconv alone)", ob_cc, ob_aot_user_flags,
         ob_aot_native_flags);
  printf("peak on this core: AVX-512 FMA %.0f GFLOP/s, AVX2 FMA %.0f GFLOP/s, triad %.1f GB/s"
         " (%%peak uses the larger FMA figure)\n",
         peak.avx512_gflops, peak.avx2_gflops, peak.triad_gbs);
}

static void print_summary(void) {
  summary *s = &sum_fixed;
  if (!s->n) return;
  printf("\nsummary (geometric means over %d layers, ResNet-50 not included): osconv optimal "
         "gcc-native vs %s %.2fx, realized fraction %.2f, JIT/AOT %.2f", s->n,
         ob_dnnl_available() ? "oneDNN dense NCHW" : "osconv conventional gcc-native",
         exp(s->log_vs_dense / s->n), exp(s->log_realized / s->n), exp(s->log_jit_aot / s->n));
  if (s->n_chain)
    printf(", vs oneDNN's chain %.2fx, oneDNN chain vs dense %.2fx",
           exp(s->log_vs_chain / s->n_chain), exp(s->log_chain_vs_dense / s->n_chain));
  if (s->n_dnnl)
    printf(", osconv conventional gcc-native vs oneDNN dense %.2fx",
           exp(s->log_conv_vs_dense / s->n_dnnl));
  printf("\n");
}

static FILE *open_out(const char *path) {
  FILE *f = path ? fopen(path, "w") : NULL;
  if (path && !f) {
    fprintf(stderr, "osconv-bench: cannot write %s\n", path);
    exit(2);
  }
  return f;
}

int main(int argc, char **argv) {
  const char *cc = getenv("CC");
  if (cc && *cc) ob_cc = cc;
#ifdef OSC_HAVE_DNNL
  /* oneDNN's OpenMP reads this when it loads, before main: one thread means
  ** the variable must be there from the start, so set it and start again. */
  if (!getenv("OMP_NUM_THREADS") || strcmp(getenv("OMP_NUM_THREADS"), "1")) {
    setenv("OMP_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "osconv-bench: could not restart with OMP_NUM_THREADS=1\n");
    return 2;
  }
#endif
  if (parse_flags(argc, argv)) return 2;   /* after: it cuts --layers up in place */
  if (pin()) return 2;
  csv = open_out(opt.csv);
  json = open_out(opt.json);
  if (csv)
    fprintf(csv, "layer,variant,family,mode,backend,plan,macs,ms,min_ms,p25_ms,p75_ms,gflops,"
            "pct_peak,vs_dense,mac_reduction,realized,vs_chain,jit_over_aot,compile_ms,"
            "rounds\n");
  ob_peak_measure(&peak, opt.quick);
  print_machine();
  if (json)
    fprintf(json, "{\n  \"cpu\": %d, \"dnnl\": %d, \"avx512_gflops\": %.2f, \"avx2_gflops\": "
            "%.2f, \"triad_gbs\": %.2f,\n  \"rows\": [", opt.cpu, ob_dnnl_available(),
            peak.avx512_gflops, peak.avx2_gflops, peak.triad_gbs);
  failures += ob_dnnl_shuffle_check();
  for (int i = 0; i < opt.n_layers; i++) bench_layer(&opt.layers[i]);
  if (opt.resnet) bench_resnet("examples/resnet50.lua");
  print_summary();
  if (json) fprintf(json, "\n  ],\n  \"failures\": %d\n}\n", failures), fclose(json);
  if (csv) fclose(csv);
  ob_osc_cleanup();
  printf("%s\n", failures ? "osconv-bench: SOME CHECKS FAILED" : "osconv-bench: every variant "
         "matched the reference (relative L2 < 1e-5) before it was timed");
  return failures ? 1 : 0;
}

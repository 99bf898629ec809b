/*
** ob_osc.c -- osconv's variants of a layer: its plan in every mode, run by
** the JIT (osc_kernel_create, libtcc) and by the same source built ahead of
** time with gcc (the user's plain flags, and -O3 -march=native), loaded with
** dlopen. What runs is whatever osconv's public API produces, so new stage
** kernels show up here without a change.
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obench.h"
#include "oscplan.h"
#include "oscrt.h"

const char *ob_aot_user_flags = "-O2", *ob_aot_native_flags = "-O3 -march=native";
const char *ob_cc = "gcc";
int ob_threads = 1;
const char *const ob_osc_backends[3] = {"jit", "aot-user", "aot-native"};

static const struct { const char *name; osc_mode mode; int max_stages; } modes[5] = {
    {"conventional", OSC_MODE_CONVENTIONAL, 2}, {"depthwise", OSC_MODE_DEPTHWISE, 2},
    {"spatial", OSC_MODE_SPATIAL, 2},           {"optimal", OSC_MODE_OPTIMAL, 2},
    {"optimal4", OSC_MODE_OPTIMAL, 4}};

int ob_osc_prepare(ob_layer *L, int mode_bits) {
  L->n_plans = 5;
  for (int m = 0; m < 5; m++) {
    struct ob_plan *P = &L->plans[m];
    osc_layer l = L->layer;
    osc_kernel *ref = NULL;
    osc_kernel_options o = {.backend = OSC_BACKEND_REFERENCE};
    osc_error err;
    snprintf(P->mode, sizeof P->mode, "%s", modes[m].name);
    if (m != OB_MODE_CONV && !(mode_bits & (1 << m))) continue;
    l.max_stages = modes[m].max_stages;
    if (osc_plan_layer_mode(&l, modes[m].mode, &P->plan, &err)) {
      printf("  %s: no %s plan: %s\n", L->name, modes[m].name, err.msg);
      continue;
    }
    P->w = ob_alloc(osc_plan_weights_size(&P->plan));
    /* uniform in +-1/sqrt(fan-in) per stage keeps every stage's output O(1) */
    for (int s = 0; s < P->plan.n_stages; s++) {
      const osc_stage *st = &P->plan.stage[s];
      size_t off = osc_plan_stage_weights_offset(&P->plan, s);
      size_t n = osc_plan_stage_weights_offset(&P->plan, s + 1) - off;
      int fan = st->c_in / st->groups * st->k_h * st->k_w;
      ob_fill(P->w + off, n, 100u + (unsigned)(m * 17 + s), 1.0f / (float)fan);
    }
    P->ref = ob_alloc(L->out_n);
    if (osc_kernel_create(&P->plan, &o, &ref, &err) ||
        osc_kernel_run(ref, 1, L->in, P->ref, P->w, NULL, &err)) {
      fprintf(stderr, "osconv-bench: %s %s reference: %s\n", L->name, P->mode, err.msg);
      osc_kernel_free(ref);
      return 1;
    }
    osc_kernel_free(ref);
    P->ok = 1;
  }
  if (!L->plans[OB_MODE_CONV].ok) return 1;
  L->dense_macs = L->plans[OB_MODE_CONV].plan.macs;
  return 0;
}

/* ---- running a plan: JIT kernel or dlopen'ed function --------------------- */
typedef struct osc_ctx {
  osc_kernel *k;            /* JIT, or NULL */
  osc_kernel_fn fn;         /* AOT, or NULL */
  const float *in, *w;
  float *out, *scratch;
} osc_ctx;

static void osc_run(void *c) {
  osc_ctx *x = c;
  if (x->k)
    osc_kernel_run(x->k, 1, x->in, x->out, x->w, x->scratch, NULL);
  else
    x->fn(1, x->in, x->out, x->w, x->scratch);
}
static const float *osc_result(void *c) { return ((osc_ctx *)c)->out; }
static void osc_free(void *c) {
  osc_ctx *x = c;
  osc_kernel_free(x->k);
  free(x->out);
  free(x->scratch);
  free(x);
}

/* ---- AOT builds, shared between identical sources (ResNet's repeats) ------ */
typedef struct aot_entry {
  struct aot_entry *next;
  char *src;
  const char *flags;
  void *so;
  osc_kernel_fn fn;
} aot_entry;
static aot_entry *aot_cache;
static char aot_dir[] = "/tmp/osconv-bench-XXXXXX";
static int aot_dir_made, aot_count;

/* gcc `flags` -shared of src; *ms = gcc's wall time (0 when reused). */
static osc_kernel_fn aot_build(char *src, const char *flags, double *ms) {
  char c_path[96], so_path[96], cmd[512];
  aot_entry *e;
  FILE *f;
  double t0;
  int rc;
  *ms = 0;
  for (e = aot_cache; e; e = e->next)
    if (e->flags == flags && !strcmp(e->src, src)) return free(src), e->fn;
  if (!aot_dir_made && !mkdtemp(aot_dir)) return free(src), NULL;
  aot_dir_made = 1;
  snprintf(c_path, sizeof c_path, "%s/k%d.c", aot_dir, aot_count);
  snprintf(so_path, sizeof so_path, "%s/k%d.so", aot_dir, aot_count++);
  if (!(f = fopen(c_path, "w"))) return free(src), NULL;
  fputs(src, f);
  if (fclose(f)) return free(src), NULL;
  snprintf(cmd, sizeof cmd, "%s -std=c99 %s -shared -fPIC -o %s %s", ob_cc, flags, so_path,
           c_path);
  ob_affinity_build();
  t0 = ob_now_ms();
  rc = system(cmd);
  *ms = ob_now_ms() - t0;
  ob_affinity_time();
  if (rc != 0) {
    fprintf(stderr, "osconv-bench: failed: %s\n", cmd);
    return free(src), NULL;
  }
  e = calloc(1, sizeof *e);
  if (!e || !(e->so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL))) return free(src), free(e), NULL;
  e->fn = (osc_kernel_fn)dlsym(e->so, OSC_JIT_SYMBOL);
  e->src = src;
  e->flags = flags;
  e->next = aot_cache;
  aot_cache = e;
  unlink(c_path);
  unlink(so_path);
  return e->fn;
}

void ob_osc_cleanup(void) {
  while (aot_cache) {
    aot_entry *e = aot_cache;
    aot_cache = e->next;
    dlclose(e->so);
    free(e->src);
    free(e);
  }
  if (aot_dir_made) rmdir(aot_dir);
}

static void osc_variant_init(ob_layer *L, struct ob_plan *P, const char *backend,
                             ob_variant *v, osc_ctx *c) {
  ob_variant_init(v, L, P, "osconv", P->mode, backend, osc_run, osc_result, osc_free, c);
  c->in = L->in;
  c->w = P->w;
  c->out = ob_alloc(L->out_n);
  c->scratch = ob_alloc(osc_plan_scratch_size(&P->plan) + 1);
}

int ob_osc_variants(ob_layer *L, int m, int backends, ob_variant *v) {
  struct ob_plan *P = &L->plans[m];
  int n = 0;
  osc_error err;
  if (!P->ok) return 0;
  if (backends & 1) {
    osc_ctx *c = calloc(1, sizeof *c);
    osc_kernel_info info;
    /* cache off: every compile time is a real one, even for a plan that
    ** another mode or layer also chose */
    osc_kernel_options o = {.no_cache = 1, .threads = 1};   /* one thread: the bench's rule */
    if (!c) return -1;
    osc_variant_init(L, P, "jit", &v[n], c);
    if (osc_kernel_create(&P->plan, &o, &c->k, &err)) {
      fprintf(stderr, "osconv-bench: %s %s JIT: %s\n", L->name, P->mode, err.msg);
      osc_free(c);
      return -1;
    }
    osc_kernel_get_info(c->k, &info);
    v[n++].compile_ms = info.emit_ms + info.compile_ms;
  }
  if ((backends & 8) && ob_threads > 1 && m == OB_MODE_OPT) {   /* --threads N */
    osc_ctx *c = calloc(1, sizeof *c);
    osc_kernel_options o = {.no_cache = 1, .threads = ob_threads};
    char backend[16];
    if (!c) return -1;
    snprintf(backend, sizeof backend, "jit-t%d", ob_threads);
    osc_variant_init(L, P, backend, &v[n], c);
    if (osc_kernel_create(&P->plan, &o, &c->k, &err)) {
      fprintf(stderr, "osconv-bench: %s %s JIT, %d threads: %s\n", L->name, P->mode,
              ob_threads, err.msg);
      osc_free(c);
      return -1;
    }
    v[n++].compile_ms = -1;   /* the same code as the jit row */
  }
  for (int b = 1; b <= 2; b++) {
    osc_ctx *c;
    char *src = NULL;
    if (!(backends & (1 << b))) continue;
    if (!(c = calloc(1, sizeof *c))) return -1;
    osc_variant_init(L, P, ob_osc_backends[b], &v[n], c);
    if (osc_kernel_source(&P->plan, &src, &err) ||
        !(c->fn = aot_build(src, b == 1 ? ob_aot_user_flags : ob_aot_native_flags,
                            &v[n].compile_ms))) {
      fprintf(stderr, "osconv-bench: %s %s: no AOT build\n", L->name, P->mode);
      osc_free(c);
      return -1;
    }
    n++;
  }
  return n;
}

/*
** test_emit.c -- the generated kernels against the reference (oscref.c).
**
** Cases are emitted into one .c per batch, compiled by the system compiler
** (`cc -std=c99 -O1 -shared -fPIC -Wall -Wextra -pedantic -Werror`) into a
** temp dir, dlopened and run on seeded random data; every output must match
** the reference chain to a relative L2 error below 1e-5.
*/
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "osc_test.h"
#include "oscemit.h"
#include "oscfault.h"
#include "oscfpenv.h"
#include "oscisa.h"
#include "oscplan.h"
#include "oscoc.h"
#include "oscref.h"

#define TOL 1e-5

typedef void (*layer_fn)(int, const float *, float *, const float *, float *);
typedef void (*res_layer_fn)(int, const float *, const float *, float *, const float *, float *);

typedef struct kcase {
  osc_plan plan;
  int n;                   /* images per run */
  osc_emit_knobs knobs;
  int isa;                 /* an osc_isa; 0: every variant, dispatched on cpuid */
  char prefix[32];
} kcase;

/* ---- building and loading ----------------------------------------------------- */

typedef struct so {
  char dir[256];
  void *handle;
} so;

static int write_text(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(text, 1, len, f) == len;
  if (f && fclose(f)) ok = 0;
  return ok ? 0 : -1;
}

static void show_log(const char *path) {
  char buf[4096];
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  buf[n] = '\0';
  if (f) fclose(f);
  fprintf(stderr, "\n--- compiler said:\n%s\n---\n", buf);
}

static void remove_dir(const char *dir) {
  const char *names[] = {"k.c", "k.so", "k.o", "cc.log"};
  char path[300];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

static const char *cc(void) {
  const char *c = getenv("CC");
  return c && *c ? c : "cc";
}

#define GCC_FLAGS "-std=c99 -O1 -shared -fPIC -Wall -Wextra -pedantic -Werror " \
                  "-Wshadow -Wstrict-prototypes -Wmissing-prototypes"

/* Compile `src` with `cmd_fmt` (printf format taking compiler, output,
** input) and load it. Returns 0 with s->handle set, or -1 (after printing
** the compiler's output). */
static int build(so *s, const char *src, size_t len, const char *tool, const char *flags,
                 int load) {
  char cmd[1024], c_path[300], so_path[300], log[300];
  const char *tmp = getenv("TMPDIR");
  snprintf(s->dir, sizeof s->dir, "%s/osconv-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  s->handle = NULL;
  if (!mkdtemp(s->dir)) { perror("mkdtemp"); return -1; }
  snprintf(c_path, sizeof c_path, "%s/k.c", s->dir);
  snprintf(so_path, sizeof so_path, "%s/%s", s->dir, load ? "k.so" : "k.o");
  snprintf(log, sizeof log, "%s/cc.log", s->dir);
  if (write_text(c_path, src, len)) { remove_dir(s->dir); return -1; }
  snprintf(cmd, sizeof cmd, "%s %s -o %s %s > %s 2>&1", tool, flags, so_path, c_path, log);
  if (system(cmd) != 0) {
    fprintf(stderr, "\ncommand failed: %s", cmd);
    show_log(log);
    if (getenv("OSCONV_TEST_KEEP")) fprintf(stderr, "kept %s\n", s->dir);
    else remove_dir(s->dir);
    return -1;
  }
  if (load && !(s->handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL))) {
    fprintf(stderr, "\ndlopen: %s\n", dlerror());
    remove_dir(s->dir);
    return -1;
  }
  return 0;
}

static void unload(so *s) {
  if (s->handle) dlclose(s->handle);
  s->handle = NULL;
  remove_dir(s->dir);
}

/* ---- data and comparison ---------------------------------------------------------- */

static void fill(float *x, size_t n, uint64_t *st) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((int)(osc_test_rand(st) % 2001) - 1000) / 1000.0f;
}

static double rel_l2(const float *got, const float *want, size_t n) {
  double d = 0, r = 0;
  for (size_t i = 0; i < n; i++) {
    double e = (double)got[i] - want[i];
    if (e != e) return INFINITY;   /* NaN */
    d += e * e;
    r += (double)want[i] * want[i];
  }
  return r > 1e-30 ? sqrt(d / r) : sqrt(d);
}

static void describe(const kcase *c, char *buf, size_t size) {
  const osc_layer *l = &c->plan.layer;
  char chain[256];
  osc_plan_describe(&c->plan, chain, sizeof chain);
  snprintf(buf, size, "%s: %d->%d %dx%d k%dx%d s%dx%d p%dx%d g%d bias%d relu%d%s n%d mode %s [%s] "
           "knobs expr %d body %d full %d kernel %s", c->prefix, l->in_channels, l->out_channels,
           l->in_h, l->in_w, l->k_h, l->k_w, l->stride_h, l->stride_w, l->pad_h, l->pad_w,
           l->groups, l->bias, (int)l->act, l->residual ? " residual" : "", c->n,
           osc_mode_name(c->plan.mode), chain,
           c->knobs.max_expr_terms, c->knobs.max_body_terms, c->knobs.full_unroll_terms,
           c->knobs.kernel ? c->knobs.kernel : "-");
}

/* Calls c's <prefix>_n from the object: a residual layer's with `res`
** (which may be out), another's without. 0, or -1 if the symbol is missing. */
static int call_layer(void *handle, const kcase *c, const float *in, const float *res,
                      float *out, const float *w, float *scratch) {
  char sym[64];
  void *f;
  snprintf(sym, sizeof sym, "%s_n", c->prefix);
  if (!(f = dlsym(handle, sym))) return -1;
  if (c->plan.layer.residual) ((res_layer_fn)(uintptr_t)f)(c->n, in, res, out, w, scratch);
  else ((layer_fn)(uintptr_t)f)(c->n, in, out, w, scratch);
  return 0;
}

/* The weights as c's code reads them: w itself, or where the layer has
** <prefix>_pack (a stage of avx512_oc), w packed into a buffer of the same
** size (kept for the next case; NULL on failure, which the run reports). */
static const float *packed_weights(void *handle, const kcase *c, const float *w, size_t w_n) {
  static float *buf;
  char sym[64];
  void *f;
  snprintf(sym, sizeof sym, "%s_pack", c->prefix);
  if (!(f = dlsym(handle, sym))) return w;
  free(buf);
  if (!(buf = malloc(w_n * sizeof *buf))) return NULL;
  ((void (*)(const float *, float *))(uintptr_t)f)(w, buf);
  return buf;
}

/* Run case c from the loaded object against the reference chain. The
** scratch, the output and the residual are surrounded by canaries: a kernel
** must stay inside them. A residual layer runs in place (the residual in
** out) on odd seeds, from a buffer of its own on even ones. */
static int check_case(void *handle, const kcase *c, uint64_t seed) {
  const osc_plan *p = &c->plan;
  size_t in_n = osc_plan_input_size(p) * c->n, out_n = osc_plan_output_size(p) * c->n;
  size_t w_n = osc_plan_weights_size(p), s_n = osc_plan_scratch_size(p);
  float *in = malloc((in_n + 1) * sizeof *in), *w = malloc((w_n + 1) * sizeof *w);
  float *out = malloc((out_n + 2) * sizeof *out), *ref = malloc((out_n + 1) * sizeof *ref);
  float *scratch = malloc((s_n + 2) * sizeof *scratch), *res = malloc((out_n + 2) * sizeof *res);
  const int with_res = p->layer.residual, in_place = with_res && seed % 2;
  char desc[512];
  int ok = 0, called = -1;
  describe(c, desc, sizeof desc);
  if (in && w && out && ref && scratch && res) {
    uint64_t st = seed;
    double e;
    fill(in, in_n, &st);
    fill(w, w_n, &st);
    fill(res + 1, out_n, &st);
    out[0] = out[out_n + 1] = scratch[0] = scratch[s_n + 1] = res[0] = res[out_n + 1] = 1234.5f;
    if (in_place) memcpy(out + 1, res + 1, out_n * sizeof *out);
    called = call_layer(handle, c, in, in_place ? out + 1 : res + 1, out + 1,
                        packed_weights(handle, c, w, w_n), scratch + 1);
    if (called == 0 && oscref_chain_residual(p, c->n, in, with_res ? res + 1 : NULL, w, ref) == 0) {
      e = rel_l2(out + 1, ref, out_n);
      ok = e < TOL && out[0] == 1234.5f && out[out_n + 1] == 1234.5f &&
           scratch[0] == 1234.5f && scratch[s_n + 1] == 1234.5f && res[0] == 1234.5f &&
           res[out_n + 1] == 1234.5f;
      if (!ok) fprintf(stderr, "\nMISMATCH %s%s: rel L2 %g (canaries %g %g %g %g)\n", desc,
                       in_place ? " (in place)" : "", e, out[0], out[out_n + 1], scratch[0],
                       scratch[s_n + 1]);
    }
  }
  if (called) fprintf(stderr, "\n%s: %s\n", desc, res ? "symbol missing" : "out of memory");
  free(in); free(w); free(out); free(ref); free(scratch); free(res);
  return ok;
}

/* Emit all cases into one translation unit. Returns NULL on failure. */
static char *emit_all(kcase *cs, int count, size_t *len) {
  osc_buf b;
  osc_buf_init(&b);
  for (int i = 0; i < count; i++) {
    osc_emit_options o = {cs[i].prefix, cs[i].n, cs[i].isa};
    osc_error err;
    char desc[512];
    if (osc_emit_layer_knobs(&cs[i].plan, &o, &cs[i].knobs, &b, &err)) {
      describe(&cs[i], desc, sizeof desc);
      fprintf(stderr, "\nemit failed for %s: %s\n", desc, err.msg);
      osc_buf_free(&b);
      return NULL;
    }
  }
  *len = b.len;
  return osc_buf_take(&b);
}

/* Compile and check a batch; returns the number of cases that passed. */
static int run_batch(kcase *cs, int count, const char *tool, const char *flags, uint64_t seed) {
  size_t len = 0;
  char *src = emit_all(cs, count, &len);
  int passed = 0;
  so s;
  struct timespec t0, t1;
  if (!src) return 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (build(&s, src, len, tool, flags, 1) == 0) {
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (getenv("OSCONV_TEST_VERBOSE"))
      fprintf(stderr, "\n[%d cases, %zu bytes of C, %s: %.2f s]", count, len, tool,
              (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    for (int i = 0; i < count; i++) passed += check_case(s.handle, &cs[i], seed + (uint64_t)i);
    unload(&s);
  }
  free(src);
  return passed;
}

/* ---- building cases ---------------------------------------------------------------- */

static void layer_of(osc_layer *l, int cin, int cout, int h, int w, int kh, int kw, int sh,
                     int sw, int ph, int pw) {
  osc_layer_init(l);
  snprintf(l->name, sizeof l->name, "t");
  l->in_channels = cin; l->out_channels = cout; l->in_h = h; l->in_w = w;
  l->k_h = kh; l->k_w = kw; l->stride_h = sh; l->stride_w = sw; l->pad_h = ph; l->pad_w = pw;
}

/* Add a case for a plan that was just made (status st); 0 if it failed. */
static int add_planned(kcase *cs, int *count, osc_status st, const osc_error *err, int n,
                       const osc_emit_knobs *k) {
  kcase *c = &cs[*count];
  if (st) {
    fprintf(stderr, "\nplan failed: %s\n", err->msg);
    return 0;
  }
  c->n = n;
  memset(&c->knobs, 0, sizeof c->knobs);
  if (k) c->knobs = *k;
  snprintf(c->prefix, sizeof c->prefix, "k%d", *count);
  (*count)++;
  return 1;
}

/* Add a case planned in `mode`; 0 if the mode does not apply. */
static int add_mode(kcase *cs, int *count, const osc_layer *l, osc_mode mode, int n,
                    const osc_emit_knobs *k) {
  osc_error err;
  osc_status st = osc_plan_layer_mode(l, mode, &cs[*count].plan, &err);
  return add_planned(cs, count, st, &err, n, k);
}

static int add_chain(kcase *cs, int *count, const osc_layer *l, int ns,
                     const osc_stage_spec *chain, int n, const osc_emit_knobs *k) {
  osc_error err;
  osc_status st = osc_plan_build(l, OSC_MODE_FIXED, ns, chain, &cs[*count].plan, &err);
  return add_planned(cs, count, st, &err, n, k);
}

static const osc_emit_knobs direct_knobs = {.kernel = "direct"};
static const osc_emit_knobs tiny_knobs = {.max_expr_terms = 3, .max_body_terms = 20,
                                          .full_unroll_terms = -1, .max_oc_block = 3,
                                          .max_px_block = 3, .max_border_terms = 60};
static const osc_emit_knobs checked_knobs = {.full_unroll_terms = -1, .max_border_terms = -1};
static const osc_emit_knobs pointwise_knobs = {.kernel = "pointwise"};
static const osc_emit_knobs pointwise_tiny = {.max_expr_terms = 3, .max_body_terms = 20,
                                              .full_unroll_terms = -1, .max_oc_block = 3,
                                              .max_px_block = 3, .kernel = "pointwise"};
static const osc_emit_knobs depthwise_knobs = {.kernel = "depthwise"};
static const osc_emit_knobs depthwise_tiny = {.max_expr_terms = 3, .max_body_terms = 20,
                                              .full_unroll_terms = -1, .max_oc_block = 3,
                                              .max_px_block = 3, .kernel = "depthwise",
                                              .max_border_terms = 60};
static const osc_emit_knobs depthwise_checked = {.full_unroll_terms = -1, .kernel = "depthwise",
                                                 .max_border_terms = -1};

/* ---- tests ------------------------------------------------------------------------ */

/* Every mode x stride 1/2 x padding 0/same on odd, non-square shapes with
** C_in != C_out, bias and relu, batch > 1; each with the default knobs and
** again with tiny ones (short statements, small bodies: chunk loops, tails). */
static int grid_cases(kcase *cs) {
  int count = 0;
  struct { int cin, cout, h, w, kh, kw; } shapes[] = {{6, 4, 7, 7, 3, 3}, {4, 6, 13, 9, 3, 5}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int stride = 1; stride <= 2; stride++)
      for (int same = 0; same <= 1; same++)
        for (int mode = 0; mode < OSC_MODE_COUNT; mode++)
          for (int tiny = 0; tiny <= 1; tiny++) {
            osc_layer l;
            layer_of(&l, shapes[s].cin, shapes[s].cout, shapes[s].h, shapes[s].w, shapes[s].kh,
                     shapes[s].kw, stride, stride, same ? shapes[s].kh / 2 : 0,
                     same ? shapes[s].kw / 2 : 0);
            l.bias = (int)(s + (size_t)mode) % 2;
            l.act = (s + (size_t)stride) % 2 ? OSC_ACT_RELU : OSC_ACT_NONE;
            if (mode == OSC_MODE_FIXED) {
              /* a three-stage chain through a wider middle */
              l.n_fixed = 3;
              l.fixed[0] = (osc_stage_spec){12, l.in_channels % 2 ? 1 : 2, 1, shapes[s].kw};
              l.fixed[1] = (osc_stage_spec){12, 6, shapes[s].kh, 1};
              l.fixed[2] = (osc_stage_spec){0, l.out_channels % 2 ? 1 : 2, 1, 1};
            }
            if (mode == OSC_MODE_SPATIAL && (l.k_h == 1 || l.k_w == 1)) continue;
            add_mode(cs, &count, &l, (osc_mode)mode, 1 + same + (int)s % 2,
                     tiny ? &tiny_knobs : NULL);
          }
  return count;
}

static void test_modes_gcc(void) {
  kcase *cs = calloc(200, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = grid_cases(cs);
  CU_ASSERT_EQUAL(count, 2 * 2 * 2 * OSC_MODE_COUNT * 2);
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, osc_test_seed()), count);
  free(cs);
}

/* The same grid built by tcc: it must accept the code warning-free, and the
** object it makes must compute the same numbers. */
static void test_modes_tcc(void) {
  kcase *cs = calloc(200, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = grid_cases(cs);
  size_t len;
  char *src = emit_all(cs, count, &len);
  so s;
  CU_ASSERT_PTR_NOT_NULL_FATAL(src);
  CU_ASSERT_EQUAL(build(&s, src, len, "tcc", "-Wall -Werror -c", 0), 0);
  remove_dir(s.dir);
  free(src);
  CU_ASSERT_EQUAL(run_batch(cs, count, "tcc", "-Wall -Werror -shared", osc_test_seed() + 1),
                  count);
  free(cs);
}

/* 1x1 layers, strided and padded 1x1s (pure padding outputs), a grouped
** conventional layer, fan-in larger than the body budget (chunk loop and
** its tail), a 1x1 input, padding larger than the kernel, SPEC's optimal
** chains, and borders unrolled or all checked. */
static void test_edge_shapes(void) {
  kcase *cs = calloc(64, sizeof *cs);
  int count = 0;
  osc_layer l;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  layer_of(&l, 5, 3, 6, 4, 1, 1, 1, 1, 0, 0);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 2, NULL);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 2, &direct_knobs);
  add_mode(cs, &count, &l, OSC_MODE_OPTIMAL, 1, &direct_knobs);
  layer_of(&l, 4, 6, 7, 5, 1, 1, 2, 3, 1, 2);
  l.bias = 1;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, NULL);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, &direct_knobs);
  layer_of(&l, 8, 12, 9, 7, 3, 3, 1, 1, 1, 1);
  l.groups = 4;
  l.mode = OSC_MODE_CONVENTIONAL;
  l.act = OSC_ACT_RELU;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 2, &direct_knobs);
  layer_of(&l, 37, 5, 6, 6, 3, 3, 1, 1, 1, 1);   /* fan-in 333 > 512/16: chunks + tail */
  l.bias = 1;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, &direct_knobs);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, &tiny_knobs);
  layer_of(&l, 3, 4, 1, 1, 1, 1, 1, 1, 0, 0);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 3, &direct_knobs);
  layer_of(&l, 3, 4, 1, 1, 3, 3, 1, 1, 1, 1);    /* one pixel, all border */
  add_mode(cs, &count, &l, OSC_MODE_SPATIAL, 1, &direct_knobs);
  add_mode(cs, &count, &l, OSC_MODE_DEPTHWISE, 1, NULL);
  layer_of(&l, 2, 3, 3, 4, 2, 3, 3, 2, 4, 5);    /* padding beyond the kernel */
  l.bias = 1;
  l.act = OSC_ACT_RELU;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, &direct_knobs);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, NULL);
  add_mode(cs, &count, &l, OSC_MODE_SPATIAL, 1, &direct_knobs);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, &checked_knobs);
  layer_of(&l, 16, 16, 10, 11, 3, 3, 1, 1, 1, 1);   /* SPEC's N=2 optimum for C=16, K=3 */
  {
    osc_stage_spec chain[2] = {{16, 4, 3, 1}, {16, 4, 1, 3}};
    add_chain(cs, &count, &l, 2, chain, 2, NULL);
    add_chain(cs, &count, &l, 2, chain, 2, &direct_knobs);
    add_chain(cs, &count, &l, 2, chain, 1, &checked_knobs);
  }
  {
    /* C (2K + 2 log2 C): depthwise Kx1, 1xK, then fan-in-2 1x1 stages */
    osc_stage_spec chain[6] = {{16, 16, 3, 1}, {16, 16, 1, 3}, {16, 8, 1, 1},
                               {16, 8, 1, 1},  {16, 8, 1, 1},  {16, 8, 1, 1}};
    add_chain(cs, &count, &l, 6, chain, 1, &direct_knobs);
  }
  CU_ASSERT_EQUAL(count, 19);
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, osc_test_seed() + 2), count);
  free(cs);
}

/* ---- the pointwise and depthwise kernels, forced ------------------------------------ */

/* Case c emitted with its knobs uses the kernel its knobs name (a forced
** kernel that does not apply would silently test another one). */
static int uses_forced_kernel(const kcase *c) {
  osc_emit_options o = {c->prefix, c->n, c->isa};
  osc_error err;
  osc_buf b;
  char tag[64];
  int ok;
  osc_buf_init(&b);
  snprintf(tag, sizeof tag, "(%s)", c->knobs.kernel);
  ok = osc_emit_layer_knobs(&c->plan, &o, &c->knobs, &b, &err) == OSC_OK && strstr(b.data, tag);
  if (!ok) fprintf(stderr, "\n%s: kernel %s not used\n", c->prefix, c->knobs.kernel);
  osc_buf_free(&b);
  return ok;
}

/* A conventional layer with `groups` groups (1x1: pointwise; groups ==
** in_channels: depthwise). */
static int add_grouped(kcase *cs, int *count, int cin, int cout, int g, int h, int w, int kh,
                       int kw, int sh, int sw, int ph, int pw, int bias, int relu, int n,
                       const osc_emit_knobs *k) {
  osc_layer l;
  layer_of(&l, cin, cout, h, w, kh, kw, sh, sw, ph, pw);
  l.groups = g;
  l.mode = OSC_MODE_CONVENTIONAL;
  l.bias = bias;
  l.act = relu ? OSC_ACT_RELU : OSC_ACT_NONE;
  return add_mode(cs, count, &l, OSC_MODE_CONVENTIONAL, n, k);
}

/* 1x1 stages: flat spans and strided rows, padding (a ring of pure-bias
** outputs, and a layer whose every output is padding), fan-in chunks with
** a middle loop, shuffled stores of a middle stage. Depthwise stages:
** strides 1/2/3, channel multipliers 2 and 3, non-square kernels, padding
** beyond the kernel, borders checked or in a small budget, a kernel larger
** than the image, stride wider than the kernel (x must not step past the
** input), a depthwise middle stage. Bias/ReLU and batch > 1 throughout. */
static int new_kernel_cases(kcase *cs) {
  int count = 0;
  osc_layer l;
  add_grouped(cs, &count, 12, 8, 4, 7, 5, 1, 1, 1, 1, 0, 0, 1, 1, 2, &pointwise_knobs);
  add_grouped(cs, &count, 40, 6, 2, 5, 3, 1, 1, 1, 1, 0, 0, 1, 0, 1, &pointwise_tiny);
  add_grouped(cs, &count, 37, 5, 1, 6, 6, 1, 1, 1, 1, 0, 0, 1, 1, 1, &pointwise_knobs);
  add_grouped(cs, &count, 9, 6, 3, 11, 7, 1, 1, 2, 3, 0, 0, 0, 1, 1, &pointwise_knobs);
  add_grouped(cs, &count, 6, 4, 1, 5, 6, 1, 1, 1, 1, 2, 1, 1, 1, 2, &pointwise_knobs);
  add_grouped(cs, &count, 4, 6, 2, 6, 4, 1, 1, 1, 1, 1, 0, 1, 0, 1, &pointwise_tiny);
  add_grouped(cs, &count, 3, 4, 1, 1, 1, 1, 1, 3, 3, 2, 2, 1, 1, 2, &pointwise_knobs);
  add_grouped(cs, &count, 6, 6, 6, 13, 9, 3, 3, 1, 1, 1, 1, 1, 1, 2, &depthwise_knobs);
  add_grouped(cs, &count, 4, 8, 4, 9, 11, 3, 5, 2, 2, 1, 2, 0, 1, 1, &depthwise_knobs);
  add_grouped(cs, &count, 3, 9, 3, 10, 10, 3, 3, 3, 3, 1, 1, 1, 0, 2, &depthwise_knobs);
  add_grouped(cs, &count, 2, 2, 2, 3, 4, 2, 3, 3, 2, 4, 5, 1, 1, 1, &depthwise_knobs);
  add_grouped(cs, &count, 5, 5, 5, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, &depthwise_checked);
  add_grouped(cs, &count, 4, 8, 4, 12, 10, 5, 3, 1, 1, 2, 1, 1, 1, 2, &depthwise_tiny);
  add_grouped(cs, &count, 3, 3, 3, 5, 8, 1, 2, 1, 3, 0, 0, 1, 0, 1, &depthwise_knobs);
  add_grouped(cs, &count, 4, 4, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1, 1, 1, &depthwise_knobs);
  add_grouped(cs, &count, 3, 3, 3, 4, 5, 7, 7, 1, 1, 3, 3, 1, 1, 1, &depthwise_knobs);
  layer_of(&l, 6, 10, 9, 8, 3, 3, 2, 1, 1, 1);
  l.bias = 1;
  l.act = OSC_ACT_RELU;
  add_mode(cs, &count, &l, OSC_MODE_DEPTHWISE, 2, &depthwise_knobs);
  add_mode(cs, &count, &l, OSC_MODE_DEPTHWISE, 2, &pointwise_knobs);
  {
    /* multiplier 2 in the middle, then 1x1 stages, the middle one shuffled */
    osc_stage_spec chain[3] = {{12, 6, 3, 3}, {8, 4, 1, 1}, {0, 2, 1, 1}};
    add_chain(cs, &count, &l, 3, chain, 1, &depthwise_knobs);
    add_chain(cs, &count, &l, 3, chain, 1, &pointwise_knobs);
  }
  return count;
}

static void test_new_kernels(void) {
  kcase *cs = calloc(32, sizeof *cs);
  int count, used = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = new_kernel_cases(cs);
  CU_ASSERT_EQUAL(count, 20);
  for (int i = 0; i < count; i++) used += uses_forced_kernel(&cs[i]);
  CU_ASSERT_EQUAL(used, count);
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, osc_test_seed() + 3), count);
  CU_ASSERT_EQUAL(run_batch(cs, count, "tcc", "-Wall -Werror -shared", osc_test_seed() + 4), count);
  free(cs);
}

/* ---- the x86 SIMD kernels (gen/x86/) ------------------------------------------------ */

/* The best ISA this CPU runs, C if it has no SIMD code osconv emits. */
static osc_isa simd_isa(void) { return osc_isa_host(); }

static const osc_emit_knobs avx512_knobs = {.kernel = "avx512_px"};
static const osc_emit_knobs avx2_knobs = {.kernel = "avx2_px"};
static const osc_emit_knobs avx512_pw_knobs = {.kernel = "avx512_pw"};
static const osc_emit_knobs avx2_pw_knobs = {.kernel = "avx2_pw"};

/* A lanes-over-pixels kernel alone (explicit ISA: no portable code to fall
** back on): padding 0..3 on either side, kernels 1x1 to 7x7 and larger than
** the image, rows of 1, 15, 16, 17, 33 and 130 pixels (tails, masks across
** two vectors, rows split into segments), output channels per group that
** fill no tile (1, 3, 5, 9, 12, 17), fan-ins that loop and unroll, grouped,
** depthwise with multipliers, 1x1 layers with padding (rings of pure
** bias), a middle stage storing shuffled, bias/ReLU, batch > 1; under gcc
** and tcc. */
static int simd_cases(kcase *cs, const osc_emit_knobs *k, osc_isa isa) {
  int count = 0;
  osc_layer l;
  add_grouped(cs, &count, 3, 16, 1, 12, 17, 3, 3, 1, 1, 1, 1, 1, 1, 2, k);
  add_grouped(cs, &count, 4, 5, 1, 9, 15, 3, 3, 1, 1, 0, 0, 0, 1, 1, k);
  add_grouped(cs, &count, 6, 9, 3, 7, 16, 1, 3, 1, 1, 0, 1, 1, 0, 1, k);
  add_grouped(cs, &count, 8, 24, 2, 20, 33, 3, 1, 1, 1, 1, 0, 1, 1, 1, k);
  add_grouped(cs, &count, 5, 17, 1, 5, 130, 3, 5, 1, 1, 1, 2, 1, 1, 1, k);
  add_grouped(cs, &count, 2, 3, 1, 7, 7, 7, 7, 1, 1, 3, 3, 1, 1, 1, k);
  add_grouped(cs, &count, 2, 6, 1, 3, 4, 5, 5, 1, 1, 3, 3, 1, 0, 1, k);   /* kernel > image */
  add_grouped(cs, &count, 3, 4, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 2, k);   /* one pixel */
  add_grouped(cs, &count, 70, 12, 1, 6, 18, 1, 1, 1, 1, 0, 0, 1, 1, 1, k);  /* fan-in loop */
  add_grouped(cs, &count, 37, 8, 1, 5, 9, 3, 3, 1, 1, 1, 1, 1, 0, 1, k);
  add_grouped(cs, &count, 6, 4, 1, 5, 6, 1, 1, 1, 1, 2, 1, 1, 1, 2, k);   /* 1x1, padded */
  add_grouped(cs, &count, 6, 6, 6, 13, 21, 3, 3, 1, 1, 1, 1, 1, 1, 2, k); /* depthwise */
  add_grouped(cs, &count, 4, 12, 4, 9, 11, 3, 5, 1, 1, 2, 2, 0, 1, 1, k); /* multiplier 3 */
  add_grouped(cs, &count, 3, 1, 1, 4, 40, 2, 3, 1, 1, 0, 1, 1, 1, 1, k);  /* one output */
  add_grouped(cs, &count, 2, 3, 1, 40, 3, 3, 2, 1, 1, 2, 0, 1, 1, 1, k);  /* tall, narrow */
  add_grouped(cs, &count, 8, 16, 1, 23, 37, 3, 3, 2, 1, 1, 1, 1, 1, 2, k); /* stride 2x1 */
  add_grouped(cs, &count, 5, 9, 1, 13, 41, 3, 3, 3, 1, 1, 1, 0, 1, 1, k);  /* stride 3x1 */
  add_grouped(cs, &count, 16, 10, 2, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 2, k);  /* flat 7x7 plane */
  /* flat planes too long for a tile: the run shape's loop of passes */
  add_grouped(cs, &count, 3, 5, 1, 40, 20, 3, 3, 1, 1, 1, 1, 1, 1, 2, k);
  add_grouped(cs, &count, 4, 9, 1, 30, 28, 3, 1, 1, 1, 1, 0, 0, 1, 1, k);
  add_grouped(cs, &count, 8, 8, 2, 26, 14, 5, 5, 1, 1, 2, 2, 1, 1, 1, k);
  add_grouped(cs, &count, 3, 4, 1, 30, 20, 3, 3, 1, 1, 0, 1, 1, 0, 1, k);  /* no rows of padding */
  add_grouped(cs, &count, 2, 17, 1, 12, 28, 1, 3, 1, 1, 0, 1, 1, 1, 2, k);
  add_grouped(cs, &count, 16, 16, 1, 14, 14, 7, 1, 1, 1, 3, 0, 1, 1, 1, k);  /* no whole pass */
  add_grouped(cs, &count, 3, 5, 1, 10, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, k);  /* a pass longer than the plane */
  layer_of(&l, 16, 16, 10, 19, 3, 3, 1, 1, 1, 1);
  l.bias = 1;
  l.act = OSC_ACT_RELU;
  {
    osc_stage_spec chain[2] = {{16, 4, 3, 1}, {16, 4, 1, 3}};   /* shuffled middle */
    add_chain(cs, &count, &l, 2, chain, 2, k);
  }
  {
    osc_stage_spec chain[3] = {{12, 4, 3, 3}, {8, 4, 1, 1}, {0, 2, 1, 1}};
    add_chain(cs, &count, &l, 3, chain, 1, k);
  }
  add_mode(cs, &count, &l, OSC_MODE_OPTIMAL, 1, k);
  add_mode(cs, &count, &l, OSC_MODE_DEPTHWISE, 2, k);
  {   /* stride 2 in width: pairs of loads, even lanes */
    add_grouped(cs, &count, 8, 16, 1, 24, 37, 3, 3, 2, 2, 1, 1, 1, 1, 2, k);
    add_grouped(cs, &count, 6, 12, 3, 9, 70, 1, 1, 2, 2, 0, 0, 1, 0, 1, k);
    add_grouped(cs, &count, 4, 4, 4, 15, 33, 5, 5, 1, 2, 2, 2, 1, 1, 1, k);
    add_grouped(cs, &count, 3, 5, 1, 7, 7, 3, 3, 2, 2, 1, 1, 0, 1, 1, k);
  }
  for (int i = 0; i < count; i++) cs[i].isa = isa;
  return count;
}

/* Every stage of c's code is the forced SIMD kernel (the header comment
** names each stage's kernel: "(avx512_pw)", or "(avx512_pw, fused in
** registers)" for a pair the default rule fuses, gen/x86/oscregfuse.h). */
static int all_stages_use(const kcase *c, const char *name) {
  osc_emit_options o = {c->prefix, c->n, c->isa};
  osc_error err;
  osc_buf b;
  char tag[64];
  int ok, n = 0;
  osc_buf_init(&b);
  snprintf(tag, sizeof tag, "(%s", name);
  ok = osc_emit_layer_knobs(&c->plan, &o, &c->knobs, &b, &err) == OSC_OK;
  for (const char *at = ok ? b.data : ""; (at = strstr(at, tag)); at++)
    n += at[strlen(tag)] == ')' || !strncmp(at + strlen(tag), ", fused in registers)", 21);
  osc_buf_free(&b);
  if (n != c->plan.n_stages) fprintf(stderr, "\n%s: %d of %d stages use %s\n", c->prefix, n,
                                     c->plan.n_stages, name);
  return n == c->plan.n_stages;
}

/* Cases whose code has `mark` (a stage comment's words). */
static int marked_in(const kcase *cs, int count, const char *mark) {
  int n = 0;
  for (int i = 0; i < count; i++) {
    osc_emit_options o = {cs[i].prefix, cs[i].n, cs[i].isa};
    osc_error err;
    osc_buf b;
    osc_buf_init(&b);
    if (osc_emit_layer_knobs(&cs[i].plan, &o, &cs[i].knobs, &b, &err) == OSC_OK)
      n += strstr(b.data, mark) != NULL;
    osc_buf_free(&b);
  }
  return n;
}

/* Cases whose code has the run shape (the stage comment says so). */
static int runs_in(const kcase *cs, int count) { return marked_in(cs, count, "the plane flat: "); }

/* A forced kernel's cases: every stage uses it, and every case matches
** the reference under gcc and tcc. */
static void check_forced(kcase *cs, int count, const osc_emit_knobs *k, uint64_t seed) {
  int used = 0;
  for (int i = 0; i < count; i++) used += all_stages_use(&cs[i], k->kernel);
  CU_ASSERT_EQUAL(used, count);
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, seed), count);
  CU_ASSERT_EQUAL(run_batch(cs, count, "tcc", "-Wall -Werror -shared", seed + 1), count);
  /* again with a residual: the store adds it from memory (masked on tails),
  ** in place on every other case (check_case) */
  for (int i = 0; i < count; i++) cs[i].plan.layer.residual = 1;
  used = 0;
  for (int i = 0; i < count; i++) used += all_stages_use(&cs[i], k->kernel);
  CU_ASSERT_EQUAL(used, count);
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, seed + 2), count);
  CU_ASSERT_EQUAL(run_batch(cs, count, "tcc", "-Wall -Werror -shared", seed + 3), count);
}

static void check_simd(const osc_emit_knobs *k, osc_isa isa, uint64_t seed) {
  kcase *cs = calloc(40, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = simd_cases(cs, k, isa);
  CU_ASSERT_EQUAL(count, 33);
  CU_ASSERT(runs_in(cs, count) >= (isa == OSC_ISA_AVX512 ? 7 : 3));
  check_forced(cs, count, k, seed);
  free(cs);
}

/* ReLU keeps NaN, as torch.relu does: a NaN input pixel of a 1x1 layer
** makes that pixel's outputs NaN through max(0, acc) with acc second; every
** other output stays finite. Each SIMD ISA the CPU runs, gcc-built. */
static void check_relu_nan(const osc_emit_knobs *k, osc_isa isa) {
  kcase c;
  int count = 0, bad = 0;
  so sh;
  char *src;
  size_t len;
  memset(&c, 0, sizeof c);
  CU_ASSERT_FATAL(add_grouped(&c, &count, 3, 20, 1, 5, 19, 1, 1, 1, 1, 0, 0, 1, 1, 1, k));
  c.isa = isa;
  src = emit_all(&c, 1, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(src);
  if (build(&sh, src, len, cc(), GCC_FLAGS, 1) == 0) {
    layer_fn fn = (layer_fn)(uintptr_t)dlsym(sh.handle, "k0_n");
    float in[3 * 95], w[3 * 20 + 20], out[20 * 95];
    for (int i = 0; i < 3 * 95; i++) in[i] = 0.5f;
    for (int i = 0; i < 80; i++) w[i] = i % 2 ? -1.0f : 0.25f;   /* most sums negative */
    in[95 + 17] = NAN;   /* channel 1, pixel 17 */
    fn(1, in, out, w, NULL);
    for (int o = 0; o < 20; o++)
      for (int p = 0; p < 95; p++) bad += (p == 17) != (out[o * 95 + p] != out[o * 95 + p]);
    unload(&sh);
  } else {
    bad = -1;
  }
  free(src);
  CU_ASSERT_EQUAL(bad, 0);
}

/* The pointwise shape alone (1x1 stages of stride 1, no padding: the
** plane as one run): planes of 1 pixel (the partial vector only), 16 (one
** or two whole vectors, no partial one), 49 (rows then a partial vector),
** 108, 168 and 273 pixels (the row loop and its remainder), fan-ins that
** loop and unroll, outputs per group that fill no tile (1, 3, 9, 17),
** grouped with multipliers, a chain of two whose middle stage stores
** shuffled, bias, ReLU, relu6 and clamp, batch > 1; under gcc and tcc. */
static int pw_cases(kcase *cs, const osc_emit_knobs *k, osc_isa isa) {
  int count = 0;
  osc_layer l;
  add_grouped(cs, &count, 3, 17, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 2, k);
  add_grouped(cs, &count, 5, 9, 1, 4, 4, 1, 1, 1, 1, 0, 0, 1, 0, 1, k);
  add_grouped(cs, &count, 12, 8, 4, 7, 7, 1, 1, 1, 1, 0, 0, 1, 1, 2, k);
  add_grouped(cs, &count, 70, 12, 1, 6, 18, 1, 1, 1, 1, 0, 0, 0, 1, 1, k);
  add_grouped(cs, &count, 16, 24, 2, 13, 21, 1, 1, 1, 1, 0, 0, 1, 1, 1, k);
  add_grouped(cs, &count, 8, 3, 1, 56, 3, 1, 1, 1, 1, 0, 0, 1, 0, 1, k);
  add_grouped(cs, &count, 6, 18, 6, 5, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1, k);   /* multiplier 3 */
  add_grouped(cs, &count, 64, 64, 8, 10, 10, 1, 1, 1, 1, 0, 0, 1, 1, 2, k);
  layer_of(&l, 16, 16, 9, 11, 1, 1, 1, 1, 0, 0);
  l.bias = 1;
  l.act = OSC_ACT_RELU6;
  {
    osc_stage_spec chain[2] = {{16, 4, 1, 1}, {16, 4, 1, 1}};   /* shuffled middle */
    add_chain(cs, &count, &l, 2, chain, 2, k);
  }
  l.act = OSC_ACT_CLAMP;
  l.clamp_min = -0.25f;
  l.clamp_max = 0.3f;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, k);
  for (int i = 0; i < count; i++) cs[i].isa = isa;
  return count;
}

static void check_pw(const osc_emit_knobs *k, osc_isa isa, uint64_t seed) {
  kcase *cs = calloc(16, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = pw_cases(cs, k, isa);
  CU_ASSERT_EQUAL(count, 10);
  check_forced(cs, count, k, seed);
  free(cs);
}

static void test_pw_avx512(void) { check_pw(&avx512_pw_knobs, OSC_ISA_AVX512, osc_test_seed() + 11); }
static void test_pw_avx2(void) { check_pw(&avx2_pw_knobs, OSC_ISA_AVX2, osc_test_seed() + 13); }

static void test_relu_nan(void) {
  check_relu_nan(&avx512_knobs, OSC_ISA_AVX512);
}
static void test_relu_nan_avx2(void) { check_relu_nan(&avx2_knobs, OSC_ISA_AVX2); }

static void test_avx512(void) { check_simd(&avx512_knobs, OSC_ISA_AVX512, osc_test_seed() + 7); }

/* ---- stride 2 split into column phases (gen/x86/oscpx.c, "Polyphase") ------------------ */

static const osc_emit_knobs avx512_split_knobs = {.kernel = "avx512_px", .simd_split = 1};

/* Cases whose code has the split (the stage comment says so). */
static int splits_in(const kcase *cs, int count) {
  return marked_in(cs, count, "the input split into column phases");
}

/* Stride-2 stages forced through the split: odd and even input widths
** (one to three vectors a phase, a width of 32 without a tail mask),
** padding 0-2, kernels 1x1, 2x2, 3x3, 5x5, 3x1, 1x5, stride 1 in height, a
** 7x7 plane and a one-row one, a fan-in loop, outputs that fill no tile (5,
** 17), grouped and depthwise, bias, ReLU, relu6, clamp, batch 2; and the
** copy's size limit: 16 channels x 32 rows x 32 floats (64 KB) split, 17
** do not. */
static int split_cases(kcase *cs, const osc_emit_knobs *k) {
  int count = 0;
  osc_layer l;
  add_grouped(cs, &count, 8, 16, 1, 24, 37, 3, 3, 2, 2, 1, 1, 1, 1, 2, k);
  add_grouped(cs, &count, 4, 6, 1, 11, 24, 3, 3, 2, 2, 0, 0, 1, 0, 1, k);
  add_grouped(cs, &count, 6, 12, 3, 9, 70, 1, 1, 2, 2, 0, 0, 1, 0, 1, k);
  add_grouped(cs, &count, 4, 4, 4, 15, 33, 5, 5, 1, 2, 2, 2, 1, 1, 1, k);
  add_grouped(cs, &count, 3, 5, 1, 7, 7, 3, 3, 2, 2, 1, 1, 0, 1, 1, k);
  add_grouped(cs, &count, 37, 5, 1, 9, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, k);
  add_grouped(cs, &count, 2, 17, 1, 10, 31, 2, 2, 2, 2, 0, 1, 1, 1, 2, k);
  add_grouped(cs, &count, 8, 24, 2, 13, 15, 3, 1, 2, 2, 1, 0, 1, 0, 1, k);
  add_grouped(cs, &count, 8, 8, 2, 8, 45, 1, 5, 2, 2, 0, 2, 1, 1, 1, k);
  add_grouped(cs, &count, 3, 4, 1, 1, 3, 3, 3, 2, 2, 1, 1, 1, 1, 2, k);
  add_grouped(cs, &count, 4, 8, 1, 30, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, k);
  add_grouped(cs, &count, 16, 8, 1, 32, 31, 3, 3, 2, 2, 1, 1, 1, 1, 1, k);
  add_grouped(cs, &count, 17, 8, 1, 32, 31, 3, 3, 2, 2, 1, 1, 1, 1, 1, k);
  layer_of(&l, 8, 12, 12, 27, 3, 3, 2, 2, 1, 1);
  l.bias = 1;
  l.act = OSC_ACT_RELU6;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, k);
  l.act = OSC_ACT_CLAMP;
  l.clamp_min = -0.25f, l.clamp_max = 0.3f;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 2, k);
  for (int i = 0; i < count; i++) cs[i].isa = OSC_ISA_AVX512;
  return count;
}

/* Each case computes the same bits split and unsplit (knob -1), gcc-built. */
static int split_bits_equal(const kcase *cs, int count) {
  kcase *both = calloc(2 * (size_t)count, sizeof *both);
  size_t len;
  char *src;
  int same = 0;
  so sh;
  if (!both) return 0;
  for (int i = 0; i < count; i++) {
    both[2 * i] = both[2 * i + 1] = cs[i];
    both[2 * i + 1].knobs.simd_split = -1;
    snprintf(both[2 * i + 1].prefix, sizeof both[0].prefix, "u%d", i);
  }
  src = emit_all(both, 2 * count, &len);
  if (src && build(&sh, src, len, cc(), GCC_FLAGS, 1) == 0) {
    for (int i = 0; i < count; i++) {
      const osc_plan *p = &cs[i].plan;
      size_t in_n = osc_plan_input_size(p) * cs[i].n, out_n = osc_plan_output_size(p) * cs[i].n;
      size_t w_n = osc_plan_weights_size(p), s_n = osc_plan_scratch_size(p) + 1;
      float *in = malloc(in_n * 4), *w = malloc(w_n * 4), *res = malloc(out_n * 4);
      float *a = malloc(out_n * 4), *b = malloc(out_n * 4), *scratch = malloc(s_n * 4);
      uint64_t st = osc_test_seed() + (uint64_t)i;
      if (in && w && res && a && b && scratch) {
        fill(in, in_n, &st), fill(w, w_n, &st), fill(res, out_n, &st);
        if (call_layer(sh.handle, &both[2 * i], in, res, a, w, scratch) == 0 &&
            call_layer(sh.handle, &both[2 * i + 1], in, res, b, w, scratch) == 0)
          same += memcmp(a, b, out_n * 4) == 0;
      }
      free(in), free(w), free(res), free(a), free(b), free(scratch);
    }
    unload(&sh);
  }
  free(src);
  free(both);
  return same;
}

static void test_split(void) {
  kcase *cs = calloc(24, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = split_cases(cs, &avx512_split_knobs);
  CU_ASSERT_EQUAL(count, 15);
  CU_ASSERT_EQUAL(splits_in(cs, count), count - 1);   /* all but the one past the limit */
  CU_ASSERT_EQUAL(split_bits_equal(cs, count), count);
  check_forced(cs, count, &avx512_split_knobs, osc_test_seed() + 17);
  CU_ASSERT_EQUAL(split_bits_equal(cs, count), count);   /* with the residual */
  free(cs);
}

/* The cost's choice: 5x5 and 7x7 stride-2 stages split, 3x3 and 1x1 do not
** (README Figures, "Stride-2 stages"), nor a stride-1 one. */
static void test_split_by_cost(void) {
  static const osc_emit_knobs px = {.kernel = "avx512_px"};
  kcase *cs = calloc(8, sizeof *cs);
  int count = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  add_grouped(cs, &count, 64, 64, 32, 28, 28, 5, 5, 2, 2, 2, 2, 1, 1, 1, &px);
  add_grouped(cs, &count, 16, 16, 8, 28, 28, 7, 7, 2, 2, 3, 3, 1, 1, 1, &px);
  CU_ASSERT_EQUAL(count, 2);
  for (int i = 0; i < count; i++) cs[i].isa = OSC_ISA_AVX512;
  CU_ASSERT_EQUAL(splits_in(cs, count), 2);
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, osc_test_seed() + 19), count);
  count = 0;
  add_grouped(cs, &count, 128, 128, 32, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 1, &px);
  add_grouped(cs, &count, 64, 64, 8, 28, 28, 1, 1, 2, 2, 0, 0, 1, 1, 1, &px);
  add_grouped(cs, &count, 64, 64, 32, 28, 28, 5, 5, 1, 1, 2, 2, 1, 1, 1, &px);
  for (int i = 0; i < count; i++) cs[i].isa = OSC_ISA_AVX512;
  CU_ASSERT_EQUAL(splits_in(cs, count), 0);
  free(cs);
}

/* ---- lanes over output channels (gen/x86/oscoc.c), weights packed ---------------------- */

/* An ISA of the oc shape as the tests drive it. */
typedef struct oc_target {
  osc_isa isa;
  osc_emit_knobs forced, by_cost;   /* "ISA_oc", "ISA_oc_auto" */
  const char *tag;                  /* its stage comments' ": ISA_oc -- " */
} oc_target;

static const oc_target oc_avx512 = {OSC_ISA_AVX512, {.kernel = "avx512_oc"},
                                    {.kernel = "avx512_oc_auto"}, ": avx512_oc -- "};
static const oc_target oc_avx2 = {OSC_ISA_AVX2, {.kernel = "avx2_oc"},
                                  {.kernel = "avx2_oc_auto"}, ": avx2_oc -- "};

/* The oc shape alone (explicit ISA): small planes as one block, larger
** ones as border blocks and a loop of row blocks with its remainder,
** strides 1-3 (and 2x1, 1x3), padding 0-3, kernels larger than the image,
** channel vectors per tile 1-4 (AVX2: one block of two ymm, tiles of 1-6
** pixels), fan-ins that loop and unroll, grouped, a shuffled middle stage,
** bias, ReLU / ReLU6 / clamp, batch > 1. */
static int oc_cases(kcase *cs, const oc_target *x) {
  const osc_emit_knobs *k = &x->forced;
  int count = 0;
  osc_layer l;
  add_grouped(cs, &count, 8, 64, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 2, k);     /* flat 7x7, 4 x 6 */
  add_grouped(cs, &count, 16, 16, 1, 14, 14, 3, 3, 2, 2, 1, 1, 1, 1, 1, k);  /* stride 2, 1 x 24 */
  add_grouped(cs, &count, 8, 48, 1, 13, 11, 3, 3, 3, 3, 1, 1, 0, 1, 1, k);   /* stride 3, 3 x 8 */
  add_grouped(cs, &count, 70, 32, 1, 6, 18, 1, 1, 1, 1, 0, 0, 1, 1, 1, k);   /* fan-in loop, 2 x 13 */
  add_grouped(cs, &count, 2, 32, 1, 3, 4, 5, 5, 1, 1, 3, 3, 1, 0, 2, k);     /* kernel > image */
  add_grouped(cs, &count, 32, 64, 1, 30, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, k);  /* row blocks, loop */
  add_grouped(cs, &count, 24, 32, 1, 40, 9, 5, 3, 1, 1, 2, 1, 1, 0, 1, k);   /* rows of 2-3, remainder */
  add_grouped(cs, &count, 32, 64, 2, 9, 9, 3, 3, 2, 1, 1, 1, 1, 1, 2, k);    /* grouped, stride 2x1 */
  add_grouped(cs, &count, 16, 64, 4, 11, 23, 1, 3, 1, 3, 0, 2, 0, 1, 1, k);  /* groups of 4, 1x3 */
  add_grouped(cs, &count, 5, 16, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 2, k);     /* one pixel */
  add_grouped(cs, &count, 3, 16, 1, 2, 2, 1, 1, 2, 2, 1, 1, 1, 1, 1, k);     /* pure-bias pixels */
  add_grouped(cs, &count, 256, 64, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, k);   /* C256 7x7 */
  layer_of(&l, 64, 64, 10, 12, 3, 3, 1, 1, 1, 1);
  l.bias = 1;
  l.act = OSC_ACT_RELU6;
  {
    osc_stage_spec chain[2] = {{64, 2, 3, 3}, {64, 2, 1, 1}};   /* shuffled middle */
    add_chain(cs, &count, &l, 2, chain, 2, k);
  }
  l.act = OSC_ACT_CLAMP;
  l.clamp_min = -0.25f, l.clamp_max = 0.5f;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, k);
  for (int i = 0; i < count; i++) cs[i].isa = x->isa;
  return count;
}

/* The stages of c's code that use the oc kernel of x (its stage comments). */
static int oc_stages(const kcase *c, const oc_target *x) {
  osc_emit_options o = {c->prefix, c->n, c->isa};
  osc_error err;
  osc_buf b;
  int n = 0;
  osc_buf_init(&b);
  if (osc_emit_layer_knobs(&c->plan, &o, &c->knobs, &b, &err) == OSC_OK)
    for (const char *at = b.data; (at = strstr(at, x->tag)); at++) n++;
  osc_buf_free(&b);
  return n;
}

/* PREFIX_pack against the layout spelled by osc_oc_pack_index, element by
** element: a chain whose first stage is oc (packed) and whose second is
** not (copied), then the bias; weights w[i] = i, so every value says where
** it came from. Explicit ISA, and auto (the pack asks the dispatcher's
** cpuid check: on this CPU it packs too). */
static void check_oc_pack(const oc_target *x) {
  osc_layer l;
  kcase c[2];
  int count = 0;
  memset(c, 0, sizeof c);
  layer_of(&l, 32, 32, 6, 5, 3, 3, 1, 1, 1, 1);
  l.bias = 1;
  {
    osc_stage_spec chain[2] = {{64, 2, 3, 3}, {32, 4, 1, 1}};   /* m = 32, then m = 8 */
    add_chain(c, &count, &l, 2, chain, 1, &x->forced);
    add_chain(c, &count, &l, 2, chain, 1, &x->forced);
  }
  CU_ASSERT_EQUAL_FATAL(count, 2);
  c[0].isa = x->isa;
  c[1].isa = OSC_ISA_AUTO;
  for (int k = 0; k < 2; k++) {
    const osc_plan *p = &c[k].plan;
    const osc_stage *st = &p->stage[0];
    int m = st->c_out / st->groups, n = st->c_in / st->groups, taps = st->k_h * st->k_w;
    size_t w_n = osc_plan_weights_size(p), s0 = osc_plan_stage_weights_offset(p, 1);
    size_t len, bad = 0;
    char *src, sym[64];
    so sh;
    CU_ASSERT_EQUAL(oc_stages(&c[k], x), 1);
    src = emit_all(&c[k], 1, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    if (build(&sh, src, len, cc(), GCC_FLAGS, 1) == 0) {
      float *w = malloc(w_n * sizeof *w), *pk = malloc(w_n * sizeof *pk);
      void (*pack)(const float *, float *);
      snprintf(sym, sizeof sym, "%s_pack", c[k].prefix);
      pack = (void (*)(const float *, float *))(uintptr_t)dlsym(sh.handle, sym);
      CU_ASSERT_PTR_NOT_NULL_FATAL(pack);
      for (size_t i = 0; i < w_n; i++) w[i] = (float)i, pk[i] = -1.0f;
      pack(w, pk);
      for (int co = 0; co < st->c_out; co++)
        for (int ci = 0; ci < n; ci++)
          for (int t = 0; t < taps; t++)
            bad += pk[osc_oc_pack_index(co, ci, t, m, n, taps)] !=
                   (float)(((long long)co * n + ci) * taps + t);
      for (size_t i = s0; i < w_n; i++) bad += pk[i] != (float)i;   /* stage 2, the bias */
      CU_ASSERT_EQUAL(bad, 0);
      free(w), free(pk);
      unload(&sh);
    }
    free(src);
  }
}

/* avx512_oc_auto: the oc shape where its cost is lower (a dense 3x3 of
** fan-in 576 on a 6x6 plane), the pixel shapes elsewhere (a 1x1 stage of
** fan-in 8 and a grouped stage of 8 outputs a group); every case against
** the reference, the layer with a stage of each kind packing only one. */
static void check_oc_auto(const oc_target *x) {
  const osc_emit_knobs *k = &x->by_cost;
  kcase *cs = calloc(4, sizeof *cs);
  int count = 0;
  osc_layer l;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  layer_of(&l, 64, 64, 6, 6, 3, 3, 1, 1, 1, 1);
  l.bias = 1;
  l.act = OSC_ACT_RELU;
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 2, k);
  {
    osc_stage_spec chain[2] = {{64, 1, 3, 3}, {64, 8, 1, 1}};   /* dense, then fan-in 8 */
    add_chain(cs, &count, &l, 2, chain, 1, k);
  }
  add_grouped(cs, &count, 16, 64, 8, 12, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, k);
  CU_ASSERT_EQUAL_FATAL(count, 3);
  for (int i = 0; i < count; i++) cs[i].isa = x->isa;
  CU_ASSERT_EQUAL(oc_stages(&cs[0], x), 1);
  CU_ASSERT_EQUAL(oc_stages(&cs[1], x), 1);
  CU_ASSERT_EQUAL(oc_stages(&cs[2], x), 0);
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, osc_test_seed() + 41), count);
  CU_ASSERT_EQUAL(run_batch(cs, count, "tcc", "-Wall -Werror -shared", osc_test_seed() + 42), count);
  free(cs);
}

static void check_oc(const oc_target *x, uint64_t seed) {
  kcase *cs = calloc(24, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = oc_cases(cs, x);
  CU_ASSERT_EQUAL(count, 14);
  check_forced(cs, count, &x->forced, seed);
  free(cs);
}
/* --isa auto on layers with oc_lanes: the pack repacks exactly where the
** dispatcher picks an oc variant, both asking PREFIX_isa(). A 1x1 64->32
** on 5x5 picks avx512_pw, else avx2_oc_auto (packed on AVX2 CPUs only);
** a dense 3x3 on 6x6 picks oc on both. Each runs against the reference
** on this CPU (packing or copying as its dispatcher does). */
static void test_oc_dispatch(void) {
  static const struct { int cin, cout, h, k; const char *kerns, *cond; } L[] = {
      {64, 32, 5, 1, "avx512_pw, else avx2_oc_auto, else pointwise", "  if ((isa >= 2 && isa < 3))"},
      {64, 64, 6, 3, "avx512_oc_auto, else avx2_oc_auto, else direct",
       "  if (isa >= 3 || (isa >= 2 && isa < 3))"}};
  kcase cs[2];
  int count = 0;
  memset(cs, 0, sizeof cs);
  for (int i = 0; i < 2; i++) {
    osc_layer l;
    osc_emit_options o;
    osc_error err;
    osc_buf b;
    layer_of(&l, L[i].cin, L[i].cout, L[i].h, L[i].h, L[i].k, L[i].k, 1, 1, L[i].k / 2, L[i].k / 2);
    l.bias = 1, l.oc_lanes = 1, l.act = OSC_ACT_RELU;
    CU_ASSERT_FATAL(add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 2, NULL));
    cs[i].isa = OSC_ISA_AUTO;
    o = (osc_emit_options){cs[i].prefix, cs[i].n, OSC_ISA_AUTO};
    osc_buf_init(&b);
    CU_ASSERT_FATAL(osc_emit_layer_knobs(&cs[i].plan, &o, &cs[i].knobs, &b, &err) == OSC_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, L[i].kerns));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, L[i].cond));
    osc_buf_free(&b);
  }
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, osc_test_seed() + 43), count);
  CU_ASSERT_EQUAL(run_batch(cs, count, "tcc", "-Wall -Werror -shared", osc_test_seed() + 44), count);
}

static void test_avx512_oc(void) { check_oc(&oc_avx512, osc_test_seed() + 31); }
static void test_avx2_oc(void) { check_oc(&oc_avx2, osc_test_seed() + 33); }
static void test_oc_pack(void) { check_oc_pack(&oc_avx512); }
static void test_oc_pack_avx2(void) { check_oc_pack(&oc_avx2); }
static void test_oc_auto(void) { check_oc_auto(&oc_avx512); }
static void test_oc_auto_avx2(void) { check_oc_auto(&oc_avx2); }
static void test_avx2(void) { check_simd(&avx2_knobs, OSC_ISA_AVX2, osc_test_seed() + 9); }

/* ---- random specs ------------------------------------------------------------------- */

static int pick(uint64_t *st, int lo, int hi) { return osc_test_range(st, lo, hi); }

static int random_divisor(uint64_t *st, int a, int b) {
  int d[64] = {1}, n = 0;   /* 1 divides both: n ends >= 1 */
  for (int g = 1; g <= a && n < 64; g++)
    if (a % g == 0 && b % g == 0) d[n++] = g;
  return d[pick(st, 0, n - 1)];
}

/* A random fixed chain for l: spread the kernel extents over the stages,
** pick widths and groups; retried until it covers every input channel. */
static int random_chain(uint64_t *st, osc_layer *l, osc_plan *out) {
  for (int attempt = 0; attempt < 40; attempt++) {
    int ns = pick(st, 1, 4), eh = l->k_h - 1, ew = l->k_w - 1, c = l->in_channels;
    osc_stage_spec s[4];
    osc_error err;
    for (int i = 0; i < ns; i++) {
      int last = i == ns - 1, w = last ? l->out_channels
                                       : (pick(st, 0, 2) == 0 ? pick(st, 1, 12) : l->in_channels);
      int dh = last ? eh : pick(st, 0, eh), dw = last ? ew : pick(st, 0, ew);
      eh -= dh;
      ew -= dw;
      /* early stages may stay narrow in groups: coverage decides */
      s[i] = (osc_stage_spec){w, random_divisor(st, c, w), dh + 1, dw + 1};
      c = w;
    }
    if (osc_plan_build(l, OSC_MODE_FIXED, ns, s, out, &err) == OSC_OK) return 1;
  }
  return 0;
}

/* Small random knobs: short statements and bodies, small blocks and
** border budgets force chunk loops, tails and checked borders. */
static void random_knobs(uint64_t *st, osc_emit_knobs *k) {
  k->max_expr_terms = pick(st, 1, 8);
  k->max_body_terms = pick(st, 1, 60);
  k->max_oc_block = pick(st, 1, 5);
  k->max_px_block = pick(st, 1, 6);
  k->full_unroll_terms = -1;
  k->max_border_terms = pick(st, -1, 200);
}

static int random_case(uint64_t *st, kcase *c, int index) {
  osc_layer l;
  osc_error err;
  int mode = pick(st, 0, OSC_MODE_COUNT - 1);
  /* 0: default knobs, 1: direct, 2: random knobs, 3: unrolled, 4: a 1x1
  ** layer, pointwise; 5: a depthwise layer (or stage), depthwise */
  int kind = pick(st, 0, 5);
  int kh = pick(st, 1, 5), kw = pick(st, 1, 5), ph = pick(st, 0, kh), pw = pick(st, 0, kw);
  int h = pick(st, 1, 13), w = pick(st, 1, 13);
  if (h + 2 * ph < kh) h = kh;
  if (w + 2 * pw < kw) w = kw;
  layer_of(&l, pick(st, 1, 9), pick(st, 1, 9), h, w, kh, kw, pick(st, 1, 3), pick(st, 1, 3),
           ph, pw);
  l.bias = pick(st, 0, 1);
  l.act = pick(st, 0, 1) ? OSC_ACT_RELU : OSC_ACT_NONE;
  l.max_stages = pick(st, 1, 3);
  l.residual = index / 4 % 2;   /* from the index: every ISA below gets both, the stream is kept */
  if (mode == OSC_MODE_CONVENTIONAL && pick(st, 0, 2) == 0) {
    l.groups = random_divisor(st, l.in_channels, l.out_channels);
    l.mode = OSC_MODE_CONVENTIONAL;
  }
  if (kind == 4) {
    l.k_h = l.k_w = 1;
    l.pad_h = l.pad_h > 2 ? 2 : l.pad_h;
    l.pad_w = l.pad_w > 2 ? 2 : l.pad_w;
  }
  if (kind == 5 && pick(st, 0, 1)) {   /* channel multiplier 1..3 */
    mode = OSC_MODE_CONVENTIONAL;
    l.mode = OSC_MODE_CONVENTIONAL;
    l.groups = l.in_channels;
    l.out_channels = l.in_channels * pick(st, 1, 3);
  }
  memset(c, 0, sizeof *c);
  if (mode == OSC_MODE_FIXED) {
    if (!random_chain(st, &l, &c->plan)) return 0;
  } else if (osc_plan_layer_mode(&l, (osc_mode)mode, &c->plan, &err)) {
    return 0;   /* the mode does not apply to this layer */
  }
  c->n = pick(st, 1, 3);
  /* the knobs walk every code shape: tiny statements and bodies force
  ** chunk loops, tails and small blocks on small layers */
  switch (kind) {
  case 0: break;
  case 1:
    c->knobs.kernel = "direct";
    c->knobs.max_expr_terms = 16;
    c->knobs.max_body_terms = 100;
    break;
  case 2: random_knobs(st, &c->knobs); break;
  case 3: c->knobs.kernel = "unrolled"; c->knobs.full_unroll_terms = 1500; break;
  default:
    if (pick(st, 0, 1)) random_knobs(st, &c->knobs);
    c->knobs.kernel = kind == 4 ? "pointwise" : "depthwise";
    break;
  }
  snprintf(c->prefix, sizeof c->prefix, "r%d", index);
  /* a quarter each: every variant dispatched, the portable C alone, the
  ** best SIMD code alone and AVX2 alone (where the CPU runs them; else C) */
  c->isa = index % 4 == 0 ? OSC_ISA_AUTO : index % 4 == 1 ? OSC_ISA_C : index % 4 == 2 ? simd_isa()
           : simd_isa() >= OSC_ISA_AVX2 ? OSC_ISA_AVX2 : OSC_ISA_C;
  return 1;
}

/* Each batch under gcc and under tcc (the JIT's compiler). */
static void test_random_specs(void) {
  int total = osc_test_quick() ? 40 : 300, per_batch = 60, done = 0, passed = 0, tcc_passed = 0;
  uint64_t st = osc_test_seed() ^ 0x5eed;
  kcase *cs = calloc((size_t)per_batch, sizeof *cs);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  while (done < total) {
    int count = 0;
    while (count < per_batch && done + count < total)
      if (random_case(&st, &cs[count], done + count)) count++;
    passed += run_batch(cs, count, cc(), GCC_FLAGS, st);
    tcc_passed += run_batch(cs, count, "tcc", "-Wall -Werror -shared", st + 1);
    done += count;
  }
  CU_ASSERT_EQUAL(passed, total);
  CU_ASSERT_EQUAL(tcc_passed, total);
  free(cs);
}

/* ---- NaN and Inf: what a convolution followed by torch.relu gives ------------------ */

/* Every mode, and every stage kernel forced (direct, unrolled, pointwise with
** pure-bias padding outputs, depthwise, borders checked), bias and ReLU;
** one case without ReLU. */
static int act_cases(kcase *cs, osc_activation act, float lo, float hi) {
  static const osc_emit_knobs unrolled_knobs = {.full_unroll_terms = 1500, .kernel = "unrolled"};
  int count = 0;
  osc_layer l;
  layer_of(&l, 6, 4, 7, 6, 3, 3, 1, 1, 1, 1);
  l.bias = 1;
  l.act = act;
  l.clamp_min = lo;
  l.clamp_max = hi;
  l.n_fixed = 2;
  l.fixed[0] = (osc_stage_spec){6, 2, 3, 1};
  l.fixed[1] = (osc_stage_spec){0, 2, 1, 3};
  for (int mode = 0; mode < OSC_MODE_COUNT; mode++)
    add_mode(cs, &count, &l, (osc_mode)mode, 2, NULL);
  add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 1, &direct_knobs);
  add_mode(cs, &count, &l, OSC_MODE_SPATIAL, 1, &unrolled_knobs);
  add_mode(cs, &count, &l, OSC_MODE_OPTIMAL, 1, &checked_knobs);
  add_mode(cs, &count, &l, OSC_MODE_DEPTHWISE, 1, &depthwise_knobs);
  add_mode(cs, &count, &l, OSC_MODE_DEPTHWISE, 1, &pointwise_knobs);
  add_grouped(cs, &count, 4, 6, 1, 5, 4, 1, 1, 1, 1, 1, 1, 1, 1, 2, &pointwise_knobs);
  add_grouped(cs, &count, 4, 8, 4, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, &depthwise_knobs);
  {   /* the SIMD stores: explicit ISA, so no portable code can stand in */
    const osc_emit_knobs *simd[4] = {&avx512_knobs, &avx512_pw_knobs, &avx2_knobs, &avx2_pw_knobs};
    osc_layer pw = l;
    pw.k_h = pw.k_w = 1, pw.pad_h = pw.pad_w = 0, pw.n_fixed = 0;
    for (int k = 0; k < 4; k++) {
      osc_isa isa = k < 2 ? OSC_ISA_AVX512 : OSC_ISA_AVX2;
      if (osc_isa_host() < isa) continue;
      if (add_mode(cs, &count, k % 2 ? &pw : &l, k % 2 ? OSC_MODE_CONVENTIONAL : OSC_MODE_FIXED,
                   2, simd[k]))
        cs[count - 1].isa = isa;
    }
  }
  l.act = OSC_ACT_NONE;
  add_mode(cs, &count, &l, OSC_MODE_OPTIMAL, 1, NULL);
  return count;
}

static int nonfinite_cases(kcase *cs) { return act_cases(cs, OSC_ACT_RELU, 0.0f, 0.0f); }

/* Poisons x[0..n) at three random places with NaN, +inf and -inf. */
static void poison(float *x, size_t n, uint64_t *st) {
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  for (int i = 0; i < 3; i++) x[osc_test_rand(st) % n] = bad[i];
}

/* Scenario 0: NaN and Inf in the input; 1: in the weights of every stage;
** 2: in the bias, NaN, -inf and +inf on channels 0, 1, 2 (or, without one,
** +inf and -inf in the input, which meet as inf - inf). Values stay small, so no finite sum overflows and which
** outputs are NaN or Inf does not depend on the order of the sums. */
static void nonfinite_data(const osc_plan *p, int n, int scenario, uint64_t seed, float *in,
                           float *w) {
  size_t in_n = osc_plan_input_size(p) * (size_t)n, w_n = osc_plan_weights_size(p);
  size_t bias_at = osc_plan_stage_weights_offset(p, p->n_stages);
  uint64_t st = seed;
  fill(in, in_n, &st);
  fill(w, w_n, &st);
  if (scenario == 0) poison(in, in_n, &st);
  for (int i = 0; scenario == 1 && i < p->n_stages; i++) {
    size_t lo = osc_plan_stage_weights_offset(p, i);
    poison(w + lo, osc_plan_stage_weights_offset(p, i + 1) - lo, &st);
  }
  if (scenario == 2 && p->layer.bias) {
    const float bad[3] = {NAN, -INFINITY, INFINITY};
    for (int c = 0; c < 3 && c < p->layer.out_channels; c++) w[bias_at + (size_t)c] = bad[c];
  } else if (scenario == 2) {
    in[osc_test_rand(&st) % in_n] = INFINITY;
    in[osc_test_rand(&st) % in_n] = -INFINITY;
  }
}

/* A residual: random, and in scenario 3 NaN, +inf and -inf at random places. */
static void residual_data(size_t n, int scenario, uint64_t seed, float *r) {
  uint64_t st = seed ^ 0x2e51d0a1ull;
  fill(r, n, &st);
  if (scenario == 3) poison(r, n, &st);
}

typedef struct ieee_tally { size_t nan, inf, finite; } ieee_tally;

/* got is of want's IEEE class: NaN, the same infinity, or finite. */
static int same_class(float got, float want) {
  return isnan(want) ? isnan(got) : isinf(want) ? got == want : isfinite(got);
}

/* got equals want position by position: NaN where want is NaN, the same
** infinity where it is infinite, finite elsewhere and within TOL in
** relative L2 over the finite positions. Where a NaN or infinite weight
** meets the padding, `alt` (the padding multiplied, oscref_chain_padded)
** is as right as want. */
static int same_ieee(const float *got, const float *want, const float *alt, size_t n,
                     ieee_tally *t, const char *what) {
  double d = 0, r = 0;
  for (size_t i = 0; i < n; i++) {
    int ok = same_class(got[i], want[i]) || same_class(got[i], alt[i]);
    if (ok && isfinite(want[i]) && !isfinite(got[i])) continue;   /* took alt's NaN */
    if (!ok) {
      fprintf(stderr, "\n%s: output %zu is %g, want %g\n", what, i, got[i], want[i]);
      return 0;
    }
    if (isnan(want[i])) t->nan++;
    else if (isinf(want[i])) t->inf++;
    else {
      t->finite++;
      d += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
      r += (double)want[i] * want[i];
    }
  }
  if (r > 1e-30 ? sqrt(d / r) < TOL : sqrt(d) < TOL) return 1;
  fprintf(stderr, "\n%s: finite outputs differ (rel L2 %g)\n", what,
          r > 1e-30 ? sqrt(d / r) : sqrt(d));
  return 0;
}

/* Runs case c with the AOT object `handle`, or (handle NULL) through
** osc_kernel_run (a residual layer: osc_kernel_run_residual with res, which
** may be out) with backend `be`. 0 on success. */
static int run_on(void *handle, osc_backend be, const kcase *c, const float *in,
                  const float *res, float *out, const float *w) {
  size_t w_n = osc_plan_weights_size(&c->plan);
  float *scratch = malloc((osc_plan_scratch_size(&c->plan) + 1) * sizeof *scratch);
  float *pk = malloc(w_n * sizeof *pk);   /* the weights as the code reads them */
  osc_kernel_options o = {.backend = be, .no_cache = 1};
  osc_kernel *k = NULL;
  osc_error err;
  int bad = !scratch || !pk;
  if (handle && !bad) {
    const float *pw = packed_weights(handle, c, w, w_n);
    bad = !pw || call_layer(handle, c, in, res, out, pw, scratch) != 0;
  } else if (handle) {
    bad = 1;
  } else if (!bad) {
    bad = osc_kernel_create(&c->plan, &o, &k, &err) || osc_kernel_pack(k, w, pk, &err) ||
          (c->plan.layer.residual
               ? osc_kernel_run_residual(k, c->n, in, res, out, pk, scratch, &err)
               : osc_kernel_run(k, c->n, in, out, pk, scratch, &err));
  }
  osc_kernel_free(k);
  free(scratch);
  free(pk);
  return bad;
}

/* Every case, every scenario, on one backend; returns the cases that passed. */
static int nonfinite_backend(kcase *cs, int count, void *handle, osc_backend be,
                             const char *name, ieee_tally *t) {
  int passed = 0;
  for (int i = 0; i < count; i++) {
    const osc_plan *p = &cs[i].plan;
    size_t in_n = osc_plan_input_size(p) * cs[i].n, out_n = osc_plan_output_size(p) * cs[i].n;
    float *in = malloc(in_n * sizeof *in), *w = malloc(osc_plan_weights_size(p) * sizeof *w);
    float *got = malloc(out_n * sizeof *got), *want = malloc(out_n * sizeof *want);
    float *alt = malloc(out_n * sizeof *alt), *res = malloc(out_n * sizeof *res);
    int ok = in && w && got && want && alt && res, with_res = p->layer.residual;
    char what[600], desc[512];
    describe(&cs[i], desc, sizeof desc);
    for (int s = 0; ok && s < (with_res ? 4 : 3); s++) {
      const int in_place = with_res && (i + s) % 2;   /* the residual in out, or apart */
      uint64_t seed = osc_test_seed() + (uint64_t)(i * 4 + s);
      nonfinite_data(p, cs[i].n, s, seed, in, w);
      residual_data(out_n, s, seed, res);
      if (in_place) memcpy(got, res, out_n * sizeof *got);
      snprintf(what, sizeof what, "%s, %s, scenario %d%s", name, desc, s,
               in_place ? ", in place" : "");
      ok = run_on(handle, be, &cs[i], in, in_place ? got : res, got, w) == 0 &&
           oscref_chain_residual(p, cs[i].n, in, with_res ? res : NULL, w, want) == 0 &&
           oscref_chain_padded(p, cs[i].n, in, with_res ? res : NULL, w, alt) == 0 &&
           same_ieee(got, want, alt, out_n, t, what);
    }
    passed += ok;
    free(in); free(w); free(got); free(want); free(alt); free(res);
  }
  return passed;
}

/* The cases' source built by gcc and by tcc, every case and scenario on each. */
static void nonfinite_gcc_tcc(kcase *cs, int count, const char *src, size_t len, ieee_tally *t) {
  for (int a = 0; a < 2; a++) {
    so s;
    CU_ASSERT_EQUAL_FATAL(build(&s, src, len, a ? "tcc" : cc(), a ? "-Wall -Werror -shared"
                                                              : GCC_FLAGS, 1), 0);
    CU_ASSERT_EQUAL(nonfinite_backend(cs, count, s.handle, OSC_BACKEND_JIT, a ? "tcc" : "gcc",
                                      t), count);
    unload(&s);
  }
}

/* Every case and scenario under gcc -O1 and -O3, tcc, the JIT and the
** reference backend; the data must reach NaN and Inf outputs, and finite ones. */
static void nonfinite_everywhere(kcase *cs, int count) {
  static const struct { const char *tool, *flags; } aot[] = {
      {NULL, GCC_FLAGS}, {NULL, GCC_FLAGS " -O3"}, {"tcc", "-Wall -Werror -shared"}};
  ieee_tally t = {0, 0, 0};
  size_t len;
  char *src = emit_all(cs, count, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(src);
  for (size_t a = 0; a < sizeof aot / sizeof aot[0]; a++) {
    so s;
    const char *tool = aot[a].tool ? aot[a].tool : cc();
    CU_ASSERT_EQUAL_FATAL(build(&s, src, len, tool, aot[a].flags, 1), 0);
    CU_ASSERT_EQUAL(nonfinite_backend(cs, count, s.handle, OSC_BACKEND_JIT, aot[a].flags, &t),
                    count);
    unload(&s);
  }
  CU_ASSERT_EQUAL(nonfinite_backend(cs, count, NULL, OSC_BACKEND_JIT, "jit", &t), count);
  CU_ASSERT_EQUAL(nonfinite_backend(cs, count, NULL, OSC_BACKEND_REFERENCE, "reference", &t),
                  count);
  CU_ASSERT(t.nan > 0 && t.inf > 0 && t.finite > 0);
  free(src);
}

/* gcc -O1 and -O3, tcc, the JIT and the reference backend all give what
** the plain convolution then a NaN-keeping ReLU gives (oscref.c). */
static void test_nonfinite(void) {
  kcase *cs = calloc(32, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = nonfinite_cases(cs);
  /* 13 portable, two SIMD stores per ISA the CPU runs */
  CU_ASSERT_EQUAL(count, 13 + 2 * (osc_isa_host() >= OSC_ISA_AVX512) +
                             2 * (osc_isa_host() >= OSC_ISA_AVX2));
  nonfinite_everywhere(cs, count);
  free(cs);
}

/* The oc shape's store with NaN and Inf (input, weights, bias, residual:
** the scenarios of nonfinite_data) and ReLU, relu6, clamp: forced and
** explicit under gcc and tcc, and through the JIT of the same layers with
** oc_lanes (each packing its own way; AVX2 under OSCONV_ISA=avx2), against
** oscref. */
static void check_oc_nonfinite(const oc_target *x) {
  static const struct { osc_activation act; float lo, hi; } acts[] = {
      {OSC_ACT_RELU, 0.0f, 0.0f}, {OSC_ACT_RELU6, 0.0f, 0.0f}, {OSC_ACT_CLAMP, -0.25f, 0.3f}};
  kcase *cs = calloc(8, sizeof *cs);
  ieee_tally t = {0, 0, 0};
  int count = 0;
  size_t len;
  char *src;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  for (size_t q = 0; q < sizeof acts / sizeof acts[0]; q++) {
    osc_layer l;
    layer_of(&l, 64, 32, 7, 6, 3, 3, 1 + (int)q % 2, 1, 1, 1);   /* the JIT takes oc too */
    l.bias = 1, l.act = acts[q].act, l.clamp_min = acts[q].lo, l.clamp_max = acts[q].hi;
    l.oc_lanes = 1, l.residual = (int)q % 2;
    add_mode(cs, &count, &l, OSC_MODE_CONVENTIONAL, 2, &x->forced);
  }
  CU_ASSERT_EQUAL_FATAL(count, 3);
  for (int i = 0; i < count; i++) {
    kcase jit = cs[i];
    jit.knobs.kernel = NULL, jit.isa = x->isa;   /* as the JIT emits it */
    CU_ASSERT_EQUAL(oc_stages(&jit, x), 1);
    cs[i].isa = x->isa;
  }
  src = emit_all(cs, count, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(src);
  nonfinite_gcc_tcc(cs, count, src, len, &t);
  if (x->isa == OSC_ISA_AVX2) setenv("OSCONV_ISA", "avx2", 1);
  CU_ASSERT_EQUAL(nonfinite_backend(cs, count, NULL, OSC_BACKEND_JIT, "jit", &t), count);
  if (x->isa == OSC_ISA_AVX2) unsetenv("OSCONV_ISA");
  CU_ASSERT(t.nan > 0 && t.inf > 0 && t.finite > 0);
  free(src);
  free(cs);
}
static void test_oc_nonfinite(void) { check_oc_nonfinite(&oc_avx512); }
static void test_oc_nonfinite_avx2(void) { check_oc_nonfinite(&oc_avx2); }

/* relu6 and clamp, every mode and forced kernel, gcc, tcc, JIT and the
** reference, against oscref (NaN and Inf scenarios included: clamp keeps
** NaN as torch.clamp does); the bounds are tight enough that both are hit. */
static void test_relu6_clamp(void) {
  static const struct { osc_activation act; float lo, hi; } acts[] = {
      {OSC_ACT_RELU6, 0.0f, 0.0f}, {OSC_ACT_CLAMP, -0.25f, 0.3f}};
  for (size_t q = 0; q < sizeof acts / sizeof acts[0]; q++) {
    kcase *cs = calloc(32, sizeof *cs);
    ieee_tally t = {0, 0, 0};
    int count;
    size_t len, at_hi = 0;
    char *src;
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    count = act_cases(cs, acts[q].act, acts[q].lo, acts[q].hi);
    src = emit_all(cs, count, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    nonfinite_gcc_tcc(cs, count, src, len, &t);
    CU_ASSERT_EQUAL(nonfinite_backend(cs, count, NULL, OSC_BACKEND_JIT, "jit", &t), count);
    CU_ASSERT_EQUAL(nonfinite_backend(cs, count, NULL, OSC_BACKEND_REFERENCE, "reference", &t),
                    count);
    if (acts[q].act == OSC_ACT_CLAMP) {   /* the upper bound was reached somewhere */
      const osc_plan *p = &cs[0].plan;
      size_t in_n = osc_plan_input_size(p) * cs[0].n, out_n = osc_plan_output_size(p) * cs[0].n;
      float *in = malloc(in_n * sizeof *in), *w = malloc(osc_plan_weights_size(p) * sizeof *w);
      float *want = malloc(out_n * sizeof *want);
      CU_ASSERT_FATAL(in && w && want);
      nonfinite_data(p, cs[0].n, 2, osc_test_seed(), in, w);
      CU_ASSERT_EQUAL(oscref_chain(p, cs[0].n, in, w, want), 0);
      for (size_t i = 0; i < out_n; i++) at_hi += want[i] == acts[q].hi;
      CU_ASSERT(at_hi > 0);
      free(in); free(w); free(want);
    }
    free(src);
    free(cs);
  }
}

/* ---- the residual: y = act(conv(x) + bias + r) --------------------------------------- */

/* act_cases with a residual (every mode and forced kernel, ReLU, relu6 and
** none), plus pointwise fan-in chunks (the residual goes in with the first
** partial store) and a 1x1 layer whose every output is padding. */
static int residual_cases(kcase *cs) {
  int count = act_cases(cs, OSC_ACT_RELU, 0.0f, 0.0f);
  count += act_cases(cs + count, OSC_ACT_RELU6, 0.0f, 0.0f);
  add_grouped(cs, &count, 37, 8, 1, 5, 9, 1, 1, 1, 1, 0, 1, 1, 1, 2, &pointwise_tiny);
  add_grouped(cs, &count, 19, 6, 1, 4, 7, 1, 1, 2, 1, 1, 0, 0, 1, 1, &pointwise_tiny);
  add_grouped(cs, &count, 3, 4, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, &pointwise_knobs);
  for (int i = 0; i < count; i++) {
    cs[i].plan.layer.residual = 1;
    snprintf(cs[i].prefix, sizeof cs[i].prefix, "k%d", i);   /* act_cases numbers from 0 */
  }
  return count;
}

/* gcc -O1 and -O3, tcc, the JIT and the reference backend against oscref,
** the residual read from a buffer of its own and in place (the residual in
** out), with NaN and Inf in the input, the weights, the bias and (scenario
** 3) the residual. */
static void test_residual(void) {
  kcase *cs = calloc(40, sizeof *cs);
  int count;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  count = residual_cases(cs);
  /* act_cases twice (its SIMD stores, px and pw, per ISA the CPU runs), 3 more */
  CU_ASSERT_EQUAL(count, 29 + 4 * (osc_isa_host() >= OSC_ISA_AVX512) +
                             4 * (osc_isa_host() >= OSC_ISA_AVX2));
  nonfinite_everywhere(cs, count);
  /* the guard values around out, the residual and the scratch */
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, osc_test_seed() + 11), count);
  free(cs);
}

/* The check bites: a residual layer's code run as if the residual were zero
** (its buffer all zero) does not match the reference with a real one. */
static void test_residual_detects(void) {
  kcase c;
  int count = 0;
  size_t len;
  char *src;
  so s;
  memset(&c, 0, sizeof c);
  CU_ASSERT_FATAL(add_grouped(&c, &count, 4, 6, 1, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, NULL));
  c.plan.layer.residual = 1;
  CU_ASSERT_PTR_NOT_NULL_FATAL(src = emit_all(&c, 1, &len));
  CU_ASSERT_EQUAL_FATAL(build(&s, src, len, cc(), GCC_FLAGS, 1), 0);
  {
    size_t in_n = osc_plan_input_size(&c.plan), out_n = osc_plan_output_size(&c.plan);
    float *in = malloc(in_n * sizeof *in), *w = malloc(osc_plan_weights_size(&c.plan) * sizeof *w);
    float *zero = calloc(out_n, sizeof *zero), *r = malloc(out_n * sizeof *r);
    float *got = malloc(out_n * sizeof *got), *want = malloc(out_n * sizeof *want);
    float *scratch = malloc((osc_plan_scratch_size(&c.plan) + 1) * sizeof *scratch);
    uint64_t st = osc_test_seed();
    CU_ASSERT_FATAL(in && w && zero && r && got && want && scratch);
    fill(in, in_n, &st);
    fill(w, osc_plan_weights_size(&c.plan), &st);
    fill(r, out_n, &st);
    CU_ASSERT_EQUAL(call_layer(s.handle, &c, in, zero, got, w, scratch), 0);
    CU_ASSERT_EQUAL(oscref_chain_residual(&c.plan, 1, in, r, w, want), 0);
    CU_ASSERT(rel_l2(got, want, out_n) > 1e-2);
    CU_ASSERT_EQUAL(call_layer(s.handle, &c, in, r, got, w, scratch), 0);
    CU_ASSERT(rel_l2(got, want, out_n) < TOL);
    free(in); free(w); free(zero); free(r); free(got); free(want); free(scratch);
  }
  unload(&s);
  free(src);
}

/* ---- denormals: flush-to-zero and denormals-are-zero ------------------------------ */

#if defined(__x86_64__)
/* The caller's state for these tests: round toward zero (so a control bit
** that is not FTZ or DAZ shows if it is lost), every exception masked, no
** flag raised. */
#define CALLER_CSR 0x7f80u

/* A 1x1 layer, 1 -> 2 channels, weights 1 and 1e-20, on four pixels: a
** denormal, 1e-20 (whose product with 1e-20, 1e-40, is denormal), 3 and a
** negative denormal. */
static void tiny_case(kcase *c, float in[4], float w[2]) {
  osc_layer l;
  int count = 0;
  memset(c, 0, sizeof *c);   /* isa and the rest: defaults (add_mode sets what it sets) */
  layer_of(&l, 1, 2, 1, 4, 1, 1, 1, 1, 0, 0);
  add_mode(c, &count, &l, OSC_MODE_CONVENTIONAL, 1, NULL);
  snprintf(c->prefix, sizeof c->prefix, "tiny");
  in[0] = 1e-39f; in[1] = 1e-20f; in[2] = 3.0f; in[3] = -1e-39f;
  w[0] = 1.0f; w[1] = 1e-20f;
}

/* What the tiny case gives, closed form: with FTZ|DAZ the denormal inputs
** read as 0 and the denormal product 1e-40 becomes 0; without, IEEE
** gradual underflow (1e-39 * 1e-20 underflows to 0 either way). */
static int tiny_is(const float out[8], int flushed) {
  const float *a = out, *b = out + 4;
  float kept = (float)((double)1e-20f * (double)1e-20f);   /* exact product, rounded once */
  if (kept == 0.0f) return 0;                              /* it is a denormal, not 0 */
  if (b[0] != 0.0f || b[2] != 3.0f * 1e-20f || b[3] != 0.0f || a[1] != 1e-20f || a[2] != 3.0f)
    return 0;
  if (flushed) return a[0] == 0.0f && a[3] == 0.0f && b[1] == 0.0f;
  return a[0] == 1e-39f && a[3] == -1e-39f && b[1] == kept;
}

/* 0 (after saying so) where FTZ|DAZ are not honoured: valgrind, for one,
** ignores them, so the tests that expect flushed values skip. */
__attribute__((noinline)) static float product(const volatile float *x) { return x[0] * x[1]; }

static int ftz_honoured(void) {
  volatile float x[2] = {1e-39f, 1.0f};
  float y;
  /* a call: gcc may move plain arithmetic across _mm_setcsr */
  _mm_setcsr(0x1f80u | OSC_MXCSR_FTZ | OSC_MXCSR_DAZ);
  y = product(x);
  _mm_setcsr(0x1f80u);
  if (y != 0.0f) fprintf(stderr, "\n(skipped: FTZ|DAZ are not honoured here) ");
  return y == 0.0f;
}

/* The caller's MXCSR after a run is its own, with only exception flags added. */
static int csr_kept(unsigned int after) {
  return (after & ~OSC_MXCSR_FLAGS) == CALLER_CSR;
}

static int run_tiny_kernel(const kcase *c, const osc_kernel_options *o, const float *in,
                           const float *w, float *out, unsigned int *after) {
  osc_kernel *k = NULL;
  osc_status st = osc_kernel_create(&c->plan, o, &k, NULL);
  if (!st) {
    _mm_setcsr(CALLER_CSR);
    st = osc_kernel_run(k, 1, in, out, w, NULL, NULL);
    *after = _mm_getcsr();
    _mm_setcsr(0x1f80u);
  }
  osc_kernel_free(k);
  return st == OSC_OK;
}

/* JIT and reference kernels flush by default and keep denormals when asked,
** with the caller's MXCSR back either way. */
static void test_denormals_runtime(void) {
  static const osc_kernel_options opts[4] = {
      {.backend = OSC_BACKEND_JIT, .no_cache = 1},
      {.backend = OSC_BACKEND_REFERENCE},
      {.backend = OSC_BACKEND_JIT, .no_cache = 1, .keep_denormals = 1},
      {.backend = OSC_BACKEND_REFERENCE, .keep_denormals = 1}};
  kcase c;
  float in[4], w[2], out[8];
  if (!ftz_honoured()) return;
  for (int i = 0; i < 4; i++) {
    unsigned int after = 0;
    tiny_case(&c, in, w);
    CU_ASSERT_FATAL(run_tiny_kernel(&c, &opts[i], in, w, out, &after));
    if (!tiny_is(out, i < 2)) fprintf(stderr, "\ndenormals, options %d: %g %g %g %g / %g %g "
                                      "%g %g\n", i, out[0], out[1], out[2], out[3], out[4],
                                      out[5], out[6], out[7]);
    CU_ASSERT(tiny_is(out, i < 2));
    CU_ASSERT(csr_kept(after));
  }
}

/* A run that fails leaves MXCSR exactly as it was, flags included. */
static void test_denormals_failed_run(void) {
  osc_layer l;
  kcase c;
  int count = 0;
  osc_kernel *k = NULL;
  float x[64] = {0};
  osc_status st[2];
  unsigned int after[2];
  layer_of(&l, 2, 2, 4, 4, 3, 3, 1, 1, 1, 1);
  add_mode(&c, &count, &l, OSC_MODE_SPATIAL, 1, NULL);   /* needs scratch */
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&c.plan, NULL, &k, NULL), OSC_OK);
  _mm_setcsr(CALLER_CSR | 0x21u);   /* two flags raised before */
  st[0] = osc_kernel_run(k, 1, NULL, x, x, NULL, NULL);
  after[0] = _mm_getcsr();
  osc_rt_fault_inject(0);           /* the scratch allocation fails */
  st[1] = osc_kernel_run(k, 1, x, x, x, NULL, NULL);
  after[1] = _mm_getcsr();
  osc_rt_fault_inject(-1);
  _mm_setcsr(0x1f80u);
  CU_ASSERT_EQUAL(st[0], OSC_EINVAL);
  CU_ASSERT_EQUAL(st[1], OSC_ENOMEM);
  CU_ASSERT_EQUAL(after[0], CALLER_CSR | 0x21u);
  CU_ASSERT_EQUAL(after[1], CALLER_CSR | 0x21u);
  osc_kernel_free(k);
}

/* Every mode and kernel, through the JIT, the reference and the AOT builds
** with OSCONV_FLUSH_DENORMALS: denormal inputs (normal weights) count as
** zero, so every output is the ReLU of its bias, exactly. */
static void test_denormals_every_kernel(void) {
  static const struct { const char *tool, *flags; } aot[] = {
      {NULL, GCC_FLAGS " -O3 -DOSCONV_FLUSH_DENORMALS"},
      {"tcc", "-Wall -Werror -shared -DOSCONV_FLUSH_DENORMALS"}};
  kcase *cs = calloc(32, sizeof *cs);
  int count, good = 0, runs = 0;
  size_t len;
  char *src;
  so s[2];
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  if (!ftz_honoured()) { free(cs); return; }
  count = nonfinite_cases(cs);
  CU_ASSERT_PTR_NOT_NULL_FATAL(src = emit_all(cs, count, &len));
  for (int a = 0; a < 2; a++)
    CU_ASSERT_EQUAL_FATAL(build(&s[a], src, len, aot[a].tool ? aot[a].tool : cc(),
                                aot[a].flags, 1), 0);
  for (int i = 0; i < count; i++) {
    const osc_plan *p = &cs[i].plan;
    size_t in_n = osc_plan_input_size(p) * cs[i].n, out_n = osc_plan_output_size(p) * cs[i].n;
    size_t w_n = osc_plan_weights_size(p), hw = osc_plan_output_size(p) / p->layer.out_channels;
    float *in = malloc(in_n * sizeof *in), *w = malloc(w_n * sizeof *w);
    float *out = malloc(out_n * sizeof *out);
    uint64_t st = osc_test_seed() + (uint64_t)i;
    CU_ASSERT_FATAL(in && w && out);
    fill(in, in_n, &st);
    fill(w, w_n, &st);
    for (size_t j = 0; j < in_n; j++) in[j] = in[j] * 1e-38f * 0.5f;   /* |x| <= 5e-39 */
    for (int b = 0; b < 4; b++) {   /* gcc, tcc, JIT, reference */
      int ok = 1;
      unsigned int after;
      _mm_setcsr(CALLER_CSR);
      if (run_on(b < 2 ? s[b].handle : NULL, b == 3 ? OSC_BACKEND_REFERENCE : OSC_BACKEND_JIT,
                 &cs[i], in, NULL, out, w))
        ok = 0;
      after = _mm_getcsr();
      _mm_setcsr(0x1f80u);
      for (size_t j = 0; ok && j < out_n; j++) {
        float bias = p->layer.bias ? w[w_n - (size_t)p->layer.out_channels +
                                       j / hw % (size_t)p->layer.out_channels] : 0.0f;
        float want = p->layer.act == OSC_ACT_RELU && bias < 0.0f ? 0.0f : bias;
        ok = out[j] == want;
      }
      if (!ok || !csr_kept(after)) fprintf(stderr, "\ncase %d backend %d: not flushed\n", i, b);
      good += ok && csr_kept(after);
      runs++;
    }
    free(in); free(w); free(out);
  }
  CU_ASSERT_EQUAL(good, runs);
  for (int a = 0; a < 2; a++) unload(&s[a]);
  free(src);
  free(cs);
}

/* AOT: with OSCONV_FLUSH_DENORMALS the generated entry flushes and puts
** the caller's MXCSR back; without it, it runs in the caller's state. */
static void test_denormals_aot(void) {
  static const struct { const char *tool, *flags; int flushed; } builds[] = {
      {NULL, GCC_FLAGS " -DOSCONV_FLUSH_DENORMALS", 1}, {NULL, GCC_FLAGS, 0},
      {"tcc", "-Wall -Werror -shared -DOSCONV_FLUSH_DENORMALS", 1},
      {"tcc", "-Wall -Werror -shared", 0}};
  kcase c;
  float in[4], w[2], out[8];
  size_t len;
  char *src;
  if (!ftz_honoured()) return;
  tiny_case(&c, in, w);
  CU_ASSERT_PTR_NOT_NULL_FATAL(src = emit_all(&c, 1, &len));
  for (size_t b = 0; b < sizeof builds / sizeof builds[0]; b++) {
    so s;
    layer_fn fn;
    unsigned int after;
    CU_ASSERT_EQUAL_FATAL(build(&s, src, len, builds[b].tool ? builds[b].tool : cc(),
                                builds[b].flags, 1), 0);
    fn = (layer_fn)(uintptr_t)dlsym(s.handle, "tiny_n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
    _mm_setcsr(CALLER_CSR);
    fn(1, in, out, w, NULL);
    after = _mm_getcsr();
    _mm_setcsr(0x1f80u);
    CU_ASSERT(tiny_is(out, builds[b].flushed));
    CU_ASSERT(csr_kept(after));
    unload(&s);
  }
  free(src);
}
#else
static void test_denormals_runtime(void) {}
static void test_denormals_failed_run(void) {}
static void test_denormals_every_kernel(void) {}
static void test_denormals_aot(void) {}
#endif

/* ---- the receptive field: a chain is one conventional convolution ------------------ */

/* Dense weights [C_out][C_in][K_h][K_w] of p's chain: unit impulses pushed
** through the reference chain on a K_h x K_w input without padding. */
static float *compose_dense(const osc_plan *p, const float *weights) {
  const osc_layer *l = &p->layer;
  int kh = l->k_h, kw = l->k_w, cin = l->in_channels, cout = l->out_channels;
  osc_stage_spec chain[OSC_MAX_STAGES];
  osc_layer hl = *l;
  osc_plan hp;
  osc_error err;
  float *dense = calloc((size_t)cout * cin * kh * kw, sizeof *dense);
  float *x = calloc((size_t)cin * kh * kw, sizeof *x), *y = calloc((size_t)cout, sizeof *y);
  hl.in_h = kh; hl.in_w = kw; hl.stride_h = hl.stride_w = 1; hl.pad_h = hl.pad_w = 0;
  hl.bias = 0; hl.act = OSC_ACT_NONE;
  for (int i = 0; i < p->n_stages; i++)
    chain[i] = (osc_stage_spec){p->stage[i].c_out, p->stage[i].groups, p->stage[i].k_h,
                                p->stage[i].k_w};
  if (!dense || !x || !y || osc_plan_build(&hl, p->mode, p->n_stages, chain, &hp, &err)) {
    free(dense); free(x); free(y);
    return NULL;
  }
  for (int i = 0; i < cin * kh * kw; i++) {
    x[i] = 1.0f;
    if (oscref_chain(&hp, 1, x, weights, y)) break;
    x[i] = 0.0f;
    for (int o = 0; o < cout; o++) dense[(size_t)o * cin * kh * kw + i] = y[o];
  }
  free(x); free(y);
  return dense;
}

/* Chain == dense conv with the composed kernel, at every output (borders
** included): placement of stride and padding makes it exact. */
static int chain_is_dense(const osc_plan *p, uint64_t seed) {
  const osc_layer *l = &p->layer;
  size_t in_n = osc_plan_input_size(p), out_n = osc_plan_output_size(p);
  size_t w_n = osc_plan_weights_size(p);
  float *in = malloc(in_n * sizeof *in), *w = malloc(w_n * sizeof *w);
  float *a = malloc(out_n * sizeof *a), *b = malloc(out_n * sizeof *b), *dense;
  uint64_t st = seed;
  int ok = 0;
  fill(in, in_n, &st);
  fill(w, w_n, &st);
  dense = compose_dense(p, w);
  if (dense && oscref_chain(p, 1, in, w, a) == 0) {
    oscref_conv2d_dense(in, l->in_channels, l->in_h, l->in_w, dense,
                        l->bias ? w + osc_plan_stage_weights_offset(p, p->n_stages) : NULL,
                        l->out_channels, l->k_h, l->k_w, l->stride_h, l->stride_w, l->pad_h,
                        l->pad_w, b);
    oscref_bias_relu(b, NULL, l->out_channels, (int)(out_n / l->out_channels),
                     l->act == OSC_ACT_RELU);
    ok = rel_l2(a, b, out_n) < TOL;
    if (!ok) {
      char d[256];
      osc_plan_describe(p, d, sizeof d);
      fprintf(stderr, "\nchain %s differs from its dense conv: %g\n", d, rel_l2(a, b, out_n));
    }
  }
  free(in); free(w); free(a); free(b); free(dense);
  return ok;
}

static void test_receptive_field(void) {
  int total = osc_test_quick() ? 30 : 150, count = 0, good = 0;
  uint64_t st = osc_test_seed() ^ 0xf1e1d;
  kcase *cs = calloc((size_t)total, sizeof *cs);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  while (count < total)
    if (random_case(&st, &cs[count], count)) {
      good += chain_is_dense(&cs[count].plan, st);
      count++;
    }
  CU_ASSERT_EQUAL(good, total);
  /* and the kernels of some of these plans, through gcc (the random specs
  ** check many more kernels against the reference chain) */
  count = total / 5;
  CU_ASSERT_EQUAL(run_batch(cs, count, cc(), GCC_FLAGS, st), count);
  free(cs);
}

/* A chain that is NOT one dense conv must be caught by the check above:
** moving the padding off the placement rule breaks the borders. */
static void test_receptive_field_detects(void) {
  osc_layer l;
  osc_plan p;
  osc_error err;
  osc_stage_spec chain[2] = {{4, 1, 3, 3}, {4, 1, 3, 3}};
  layer_of(&l, 4, 4, 8, 8, 5, 5, 1, 1, 2, 2);
  CU_ASSERT_EQUAL_FATAL(osc_plan_build(&l, OSC_MODE_FIXED, 2, chain, &p, &err), OSC_OK);
  CU_ASSERT(chain_is_dense(&p, 7));
  /* pad each stage by 1 instead of the first by 2: same shapes, wrong borders */
  p.stage[0].pad_h = p.stage[0].pad_w = 1;
  p.stage[0].h_out = p.stage[0].w_out = 8;
  p.stage[1].h_in = p.stage[1].w_in = 8;
  p.stage[1].pad_h = p.stage[1].pad_w = 1;
  fprintf(stderr, "\n(expected) ");
  CU_ASSERT(!chain_is_dense(&p, 7));
}

/* ---- determinism and errors ---------------------------------------------------------- */

static void test_deterministic(void) {
  osc_layer l;
  osc_plan *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  osc_error err;
  osc_buf x, y;
  osc_emit_options o = {"net_layer", 2, 0};
  layer_of(&l, 8, 12, 13, 9, 3, 5, 2, 1, 1, 2);
  l.bias = 1;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_DEPTHWISE, a, &err), OSC_OK);
  memcpy(b, a, sizeof *a);   /* another address: nothing may depend on it */
  osc_buf_init(&x);
  osc_buf_init(&y);
  CU_ASSERT_EQUAL(osc_emit_layer(a, &o, &x, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_emit_layer(b, &o, &y, &err), OSC_OK);
  CU_ASSERT_EQUAL(x.len, y.len);
  CU_ASSERT(x.len > 0 && memcmp(x.data, y.data, x.len) == 0);
  CU_ASSERT(strncmp(x.data, "/*\n * Generated by osconv " OSC_VERSION " from template(s) ",
                    strlen("/*\n * Generated by osconv " OSC_VERSION " from template(s) ")) == 0);
  {
    char hash[64];
    snprintf(hash, sizeof hash, "plan hash: 0x%016llx", (unsigned long long)osc_plan_hash(a));
    CU_ASSERT_PTR_NOT_NULL(strstr(x.data, hash));
  }
  osc_buf_free(&x);
  osc_buf_free(&y);
  free(a);
  free(b);
}

static void test_emit_errors(void) {
  osc_layer l;
  osc_plan p;
  osc_error err;
  osc_buf b;
  osc_emit_options o = {"ok_name", 1, 0};
  osc_emit_knobs k = {0};
  layer_of(&l, 4, 4, 5, 5, 3, 3, 1, 1, 1, 1);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &p, &err), OSC_OK);
  osc_buf_init(&b);
  o.prefix = "9lives";
  CU_ASSERT_EQUAL(osc_emit_layer(&p, &o, &b, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "9lives"));
  o.prefix = "a-b";
  CU_ASSERT_EQUAL(osc_emit_layer(&p, &o, &b, &err), OSC_EINVAL);
  o.prefix = "ok_name";
  o.batch = -1;
  CU_ASSERT_EQUAL(osc_emit_layer(&p, &o, &b, &err), OSC_EINVAL);
  o.batch = 1;
  k.kernel = "nonesuch";
  CU_ASSERT_EQUAL(osc_emit_layer_knobs(&p, &o, &k, &b, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nonesuch"));
  k.kernel = NULL;
  k.max_expr_terms = 500;
  CU_ASSERT_EQUAL(osc_emit_layer_knobs(&p, &o, &k, &b, &err), OSC_EINVAL);
  p.stage[0].h_out = 4;   /* inconsistent with its input and kernel */
  CU_ASSERT_EQUAL(osc_emit_layer(&p, &o, &b, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "stage 1"));
  p.stage[0].h_out = 5;
  p.n_stages = 0;
  CU_ASSERT_EQUAL(osc_emit_layer(&p, &o, &b, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(b.len, 0);   /* nothing was appended on any error */
  osc_buf_free(&b);
}

/* A network of layers named `names`, all the same small shape. */
static osc_status emit_net(const char *net_name, const char *const *names, int n,
                           osc_buf *c, osc_buf *h, osc_error *err) {
  osc_network net;
  osc_layer layers[4];
  osc_plan plans[4];
  memset(&net, 0, sizeof net);
  snprintf(net.name, sizeof net.name, "%s", net_name);
  net.batch = 2;
  net.n_layers = n;
  net.layers = layers;
  for (int i = 0; i < n; i++) {
    layer_of(&layers[i], 2, 3, 4, 4, 3, 3, 1, 1, 1, 1);
    snprintf(layers[i].name, sizeof layers[i].name, "%s", names[i]);
    if (osc_plan_layer_mode(&layers[i], OSC_MODE_CONVENTIONAL, &plans[i], err)) return err->code;
  }
  return osc_emit_network(&net, plans, c, h, err);
}

/* Names that would make the generated file fail to compile are refused. */
static void test_network_names(void) {
  struct { const char *net, *a, *b; const char *why; } bad[] = {
      {"net", "conv", "conv_n", "already a function of layer 'conv'"},
      {"net", "a_s0", "a", "already a function of layer 'a'"},
      {"net", "a", "a_s12_edge", "already a function of layer 'a'"},
      {"net", "conv", "CONV", "differ in more than case"},
      {"1net", "a", "b", "not a C identifier"},
      {"net", "a-b", "b", "C identifier"},
  };
  struct { const char *a, *b; } good[] = {{"a", "a_sx"}, {"a", "a_n2"}, {"conv", "conv2"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *names[2] = {bad[i].a, bad[i].b};
    osc_buf c, h;
    osc_error err;
    osc_buf_init(&c);
    osc_buf_init(&h);
    CU_ASSERT_EQUAL(emit_net(bad[i].net, names, 2, &c, &h, &err), OSC_EINVAL);
    if (!strstr(err.msg, bad[i].why)) fprintf(stderr, "\n'%s' lacks '%s'\n", err.msg, bad[i].why);
    CU_ASSERT(strstr(err.msg, bad[i].why) != NULL);
    CU_ASSERT(c.len == 0 && h.len == 0);
    osc_buf_free(&c);
    osc_buf_free(&h);
  }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    const char *names[2] = {good[i].a, good[i].b};
    osc_buf c, h;
    osc_error err;
    char want[128];
    osc_buf_init(&c);
    osc_buf_init(&h);
    CU_ASSERT_EQUAL(emit_net("net", names, 2, &c, &h, &err), OSC_OK);
    snprintf(want, sizeof want, "void net_%s_n(int n, const float *in", good[i].b);
    CU_ASSERT(c.data && strstr(c.data, want) && h.data && strstr(h.data, want));
    CU_ASSERT(h.data && strstr(h.data, "_BATCH 2\n") != NULL);
    osc_buf_free(&c);
    osc_buf_free(&h);
  }
}

/* ---- the checks gen and check share ------------------------------------------------------ */

/* A network of small conventional layers named `names`, declared in
** "f.lua" at lines 2, 3, ... (the network at line 1). */
typedef struct small_net {
  osc_network net;
  osc_layer layers[8];
  osc_plan plans[8];
} small_net;

static void small_net_make(small_net *s, const char *name, const char *const *names, int n) {
  osc_error err;
  memset(s, 0, sizeof *s);
  snprintf(s->net.name, sizeof s->net.name, "%s", name);
  s->net.line = 1;
  s->net.n_layers = n;
  s->net.layers = s->layers;
  for (int i = 0; i < n; i++) {   /* distinct: a repeated plan would share its code */
    layer_of(&s->layers[i], 2, 2 + i, 4, 4, 3, 3, 1, 1, 1, 1);
    snprintf(s->layers[i].name, sizeof s->layers[i].name, "%s", names[i]);
    s->layers[i].file = "f.lua";
    s->layers[i].line = i + 2;
    CU_ASSERT_EQUAL(osc_plan_layer_mode(&s->layers[i], OSC_MODE_CONVENTIONAL, &s->plans[i], &err),
                    OSC_OK);
  }
}

/* Every refusal names the file, the line and the layer or network. */
static void test_check_network_messages(void) {
  static const struct { const char *a, *b, *why; } cases[] = {
      {"a", "a_n",
       "f.lua:3: layer 'a_n': its function net_a_n is already a function of layer 'a' (line 2)"},
      {"a_s1", "a",
       "f.lua:2: layer 'a_s1': its function net_a_s1 is already a function of layer 'a' (line 3)"},
      {"A", "a", "f.lua:3: layer 'a': its macros would be those of layer 'A' (line 2)"},
      {"a", "a",
       "f.lua:3: layer 'a': a second layer of that name in network 'net' (the first is at line 2)"},
      {"a", "b-c", "f.lua:3: layer 'b-c': the name must be a C identifier"},
  };
  small_net *s = malloc(sizeof *s);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *names[2] = {cases[i].a, cases[i].b};
    osc_error err;
    small_net_make(s, "net", names, 2);
    CU_ASSERT_EQUAL(osc_emit_check_network(&s->net, NULL, &err), OSC_EINVAL);
    if (strncmp(err.msg, cases[i].why, strlen(cases[i].why)))
      fprintf(stderr, "\n'%s' is not '%s...'\n", err.msg, cases[i].why);
    CU_ASSERT(strncmp(err.msg, cases[i].why, strlen(cases[i].why)) == 0);
  }
  {
    const char *names[2] = {"a", "b"};
    osc_error err;
    small_net_make(s, "9net", names, 2);
    CU_ASSERT_EQUAL(osc_emit_check_network(&s->net, s->plans, &err), OSC_EINVAL);
    CU_ASSERT(strncmp(err.msg, "f.lua:1: network '9net': the name is not a C identifier", 55) == 0);
    small_net_make(s, "net", names, 2);
    CU_ASSERT_EQUAL(osc_emit_check_network(&s->net, s->plans, &err), OSC_OK);
    s->plans[1].stage[0].h_out = 9;   /* a plan the code cannot run */
    CU_ASSERT_EQUAL(osc_emit_check_network(&s->net, s->plans, &err), OSC_EINVAL);
    CU_ASSERT(strncmp(err.msg, "f.lua:3: layer 'b': stage 1 of the plan is inconsistent", 55) == 0);
    CU_ASSERT_EQUAL(osc_emit_check_network(&s->net, NULL, &err), OSC_OK);   /* names only */
  }
  free(s);
}

/* Each class of reserved name, refused with the line of the culprit (the
** network at line 1, layers from line 2); near misses pass. */
static void test_reserved_names(void) {
  static const struct { const char *net, *layer, *why; } bad[] = {
      {"size", "t", "f.lua:2: layer 't': its function size_t is a reserved name: POSIX reserves "
                    "names ending in _t for types"},
      {"net", "off_t", "f.lua:2: layer 'off_t': its function net_off_t is a reserved name"},
      {"static", "assert", "f.lua:2: layer 'assert': its function static_assert is a reserved "
                           "name: a C23 keyword"},
      {"thread", "local", "f.lua:2: layer 'local': its function thread_local is a reserved "
                          "name: a C23 keyword"},
      {"aligned", "alloc", "f.lua:2: layer 'alloc': its function aligned_alloc is a reserved "
                           "name: a function of <stdlib.h>"},
      {"jmp", "buf", "f.lua:2: layer 'buf': its function jmp_buf is a reserved name: a type"},
      {"memory", "order_seq_cst", "f.lua:2: layer 'order_seq_cst': its function "
                                  "memory_order_seq_cst is a reserved name: a constant"},
      {"__net", "a", "f.lua:1: network '__net': the name is reserved: names beginning with '_'"},
      {"_Net", "a", "f.lua:1: network '_Net': the name is reserved: names beginning with '_'"},
      {"_net", "a", "f.lua:1: network '_net': the name is reserved: names beginning with '_'"},
      {"net_", "a", "f.lua:2: layer 'a': its function net__a is a reserved name: C++ reserves"},
      {"net", "_a", "f.lua:2: layer '_a': its function net__a is a reserved name: C++ reserves"},
      {"pthread", "create", "f.lua:1: network 'pthread': the name is reserved: every generated "
                            "name would begin with pthread_ or PTHREAD_, which <pthread.h>"},
      {"Sig", "a", "f.lua:1: network 'Sig': the name is reserved: every generated name would "
                   "begin with sig_ or SIG_, which <signal.h>"},
  };
  static const struct { const char *net, *layer; } good[] = {
      {"size", "tt"}, {"size", "to"}, {"net", "t_x"}, {"total", "a"}, {"memory", "a"},
      {"sigma", "a"}, {"pthreads", "a"}, {"static", "asserts"}};
  small_net *s = malloc(sizeof *s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    osc_error err;
    small_net_make(s, bad[i].net, &bad[i].layer, 1);
    CU_ASSERT_EQUAL(osc_emit_check_network(&s->net, NULL, &err), OSC_EINVAL);
    if (strncmp(err.msg, bad[i].why, strlen(bad[i].why)))
      fprintf(stderr, "\n'%s' is not '%s...'\n", err.msg, bad[i].why);
    CU_ASSERT(strncmp(err.msg, bad[i].why, strlen(bad[i].why)) == 0);
  }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    osc_error err;
    small_net_make(s, good[i].net, &good[i].layer, 1);
    CU_ASSERT_EQUAL(osc_emit_check_network(&s->net, NULL, &err), OSC_OK);
  }
  free(s);
}

/* Across networks: hand-made configs (the loader refuses some of these
** itself), each clash reported on the later layer or network. */
static void test_check_config_messages(void) {
  static const struct { const char *n1, *l1, *n2, *l2, *why; } cases[] = {
      {"net", "a", "net", "b", "f.lua:1: network 'net': a second network of that name"},
      {"net", "a", "Net", "b",
       "f.lua:1: network 'Net': its name differs from network 'net' (line 1) only in case"},
      {"a", "b_c", "a_b", "c",
       "f.lua:2: layer 'c': it and layer 'b_c' of network 'a' (line 2) would both define the "
       "function a_b_c"},
      {"a", "b_C", "A_b", "c",
       "f.lua:2: layer 'c': its macros A_B_C_* are also those of layer 'b_C' of network 'a' "
       "(line 2)"},
      {"a_b", "n", "a", "b",
       "f.lua:2: layer 'b': its n-image entry a_b_n is also the function of layer 'n' of "
       "network 'a_b' (line 2)"},
      {"x", "a", "y", "a_n", NULL},   /* x_a, x_a_n and y_a_n, y_a_n_n: no clash */
  };
  small_net *s = malloc(2 * sizeof *s);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    osc_network nets[2];
    osc_config cfg = {(char *)"f.lua", 2, nets};
    osc_error err;
    osc_status want = cases[i].why ? OSC_ECONFIG : OSC_OK;
    small_net_make(&s[0], cases[i].n1, &cases[i].l1, 1);
    small_net_make(&s[1], cases[i].n2, &cases[i].l2, 1);
    nets[0] = s[0].net;
    nets[1] = s[1].net;
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(osc_emit_check_config(&cfg, &err), want);
    if (!want && err.code) fprintf(stderr, "\nunexpected: %s\n", err.msg);
    if (want && strncmp(err.msg, cases[i].why, strlen(cases[i].why)))
      fprintf(stderr, "\n'%s' is not '%s...'\n", err.msg, cases[i].why);
    CU_ASSERT(!want || strncmp(err.msg, cases[i].why, strlen(cases[i].why)) == 0);
  }
  free(s);
}

/* Plans with a tensor or weights beyond 2^31-1 floats are refused when
** they are made, naming the stage and the size. */
static void test_plan_size_limit(void) {
  static const struct { int cin, cout, size, k; osc_mode mode; const char *why; } cases[] = {
      {1024, 1024, 2048, 3, OSC_MODE_DEPTHWISE, "stage 1: its input has 4294967296 floats"},
      {1, 1024, 2048, 1, OSC_MODE_CONVENTIONAL, "stage 1: its output has 4294967296 floats"},
      {16384, 16384, 3, 3, OSC_MODE_CONVENTIONAL, "the chain has 2415919104 weights"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    osc_layer l;
    osc_plan p;
    osc_error err;
    layer_of(&l, cases[i].cin, cases[i].cout, cases[i].size, cases[i].size, cases[i].k, cases[i].k,
             1, 1, cases[i].k / 2, cases[i].k / 2);
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(osc_plan_layer_mode(&l, cases[i].mode, &p, &err), OSC_EINVAL);
    if (!strstr(err.msg, cases[i].why))
      fprintf(stderr, "\n'%s' lacks '%s'\n", err.msg, cases[i].why);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].why));
  }
  {
    /* just inside: 2^31-1 is not a product of these sizes, 2^31 - 2^20 is */
    osc_layer l;
    osc_plan p;
    osc_error err;
    layer_of(&l, 2047, 2047, 1024, 1024, 1, 1, 1, 1, 0, 0);
    CU_ASSERT_EQUAL(osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &p, &err), OSC_OK);
  }
}

/* The .c goes to the sink a layer at a time, and the pieces make exactly
** the file osc_emit_network builds in memory; a failing sink stops it. */
typedef struct recorder {
  osc_buf all;
  int pieces, fail_at;
  size_t largest;
} recorder;

static osc_status record(void *ctx, const char *data, size_t len, osc_error *err) {
  recorder *r = ctx;
  if (++r->pieces == r->fail_at) return osc_error_set(err, OSC_EIO, "disk full");
  osc_buf_add(&r->all, data, len);
  if (len > r->largest) r->largest = len;
  return OSC_OK;
}

static void test_network_streamed(void) {
  const char *names[6] = {"a", "b", "c", "d", "e", "f"};
  small_net *s = malloc(sizeof *s);
  recorder r;
  osc_buf c, h, h2;
  osc_error err;
  small_net_make(s, "net", names, 6);
  osc_buf_init(&c);
  osc_buf_init(&h);
  osc_buf_init(&h2);
  memset(&r, 0, sizeof r);
  osc_buf_init(&r.all);
  CU_ASSERT_EQUAL_FATAL(osc_emit_network(&s->net, s->plans, &c, &h, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_emit_network_to(&s->net, s->plans, record, &r, &h2, &err), OSC_OK);
  CU_ASSERT_EQUAL(r.pieces, 1 + 6 + 1);   /* the head, one per layer, the layer table */
  CU_ASSERT(r.all.len == c.len && memcmp(r.all.data, c.data, c.len) == 0);
  CU_ASSERT(h.len == h2.len && memcmp(h.data, h2.data, h.len) == 0);
  CU_ASSERT(r.largest < c.len / 4);   /* never the whole file at once */
  /* the sink fails on the third piece: the error comes back, h is untouched */
  osc_buf_reset(&r.all);
  r.pieces = 0;
  r.fail_at = 3;
  osc_buf_reset(&h2);
  osc_buf_puts(&h2, "keep");
  CU_ASSERT_EQUAL(osc_emit_network_to(&s->net, s->plans, record, &r, &h2, &err), OSC_EIO);
  CU_ASSERT_EQUAL(r.pieces, 3);
  CU_ASSERT_STRING_EQUAL(h2.data, "keep");
  osc_buf_free(&c);
  osc_buf_free(&h);
  osc_buf_free(&h2);
  osc_buf_free(&r.all);
  free(s);
}

static CU_TestInfo tests[] = {
    {"every mode, stride, padding (gcc)", test_modes_gcc},
    {"every mode, stride, padding (tcc)", test_modes_tcc},
    {"edge shapes", test_edge_shapes},
    {"pointwise and depthwise kernels, forced (gcc, tcc)", test_new_kernels},
    {"random specs (gcc, tcc)", test_random_specs},
    {"NaN and Inf as conv then torch.relu (gcc, tcc, JIT, reference)", test_nonfinite},
    {"relu6 and clamp as torch does (gcc, tcc, JIT, reference)", test_relu6_clamp},
    {"residual: every mode and kernel, in place or not, NaN/Inf (gcc, tcc, JIT, reference)",
     test_residual},
    {"residual check can fail", test_residual_detects},
    {"denormals: JIT and reference flush unless kept, MXCSR restored", test_denormals_runtime},
    {"denormals: a failed run leaves MXCSR alone", test_denormals_failed_run},
    {"denormals: every mode and kernel flushes (gcc, tcc, JIT, reference)",
     test_denormals_every_kernel},
    {"denormals: AOT with and without OSCONV_FLUSH_DENORMALS", test_denormals_aot},
    {"receptive field: chain == dense conv", test_receptive_field},
    {"receptive field check can fail", test_receptive_field_detects},
    {"deterministic output", test_deterministic},
    {"argument errors", test_emit_errors},
    {"network names", test_network_names},
    {"network check: file:line: layer messages", test_check_network_messages},
    {"config check: clashes across networks", test_check_config_messages},
    {"names C or POSIX reserve are refused", test_reserved_names},
    {"plans beyond 2^31-1 floats are refused", test_plan_size_limit},
    {"network .c streamed a layer at a time", test_network_streamed},
    CU_TEST_INFO_NULL,
};

/* Tests of SIMD code this CPU cannot run are left out and said so: never
** counted as passed. */
static CU_TestInfo avx512_tests[] = {
    {"avx512_px kernel, explicit ISA (gcc, tcc)", test_avx512},
    {"avx512_oc kernel, packed weights, explicit ISA (gcc, tcc)", test_avx512_oc},
    {"avx512_oc pack == osc_oc_pack_index, explicit and auto ISA", test_oc_pack},
    {"avx512_oc_auto: oc where it costs less, against the reference", test_oc_auto},
    {"avx512_oc store: NaN and Inf with ReLU, relu6, clamp (gcc, tcc, JIT)", test_oc_nonfinite},
    {"avx512_px stride 2 split into column phases (gcc, tcc, same bits)", test_split},
    {"avx512_px split by cost: 5x5 and 7x7 at stride 2", test_split_by_cost},
    {"avx512_px ReLU keeps NaN", test_relu_nan},
    {"avx512_pw kernel, explicit ISA (gcc, tcc)", test_pw_avx512},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo avx2_tests[] = {
    {"avx2_px kernel, explicit ISA (gcc, tcc)", test_avx2},
    {"avx2_px ReLU keeps NaN", test_relu_nan_avx2},
    {"avx2_pw kernel, explicit ISA (gcc, tcc)", test_pw_avx2},
    {"avx2_oc kernel, packed weights, explicit ISA (gcc, tcc)", test_avx2_oc},
    {"avx2_oc pack == osc_oc_pack_index, explicit and auto ISA", test_oc_pack_avx2},
    {"avx2_oc_auto: oc where it costs less, against the reference", test_oc_auto_avx2},
    {"avx2_oc store: NaN and Inf with ReLU, relu6, clamp (gcc, tcc, JIT)", test_oc_nonfinite_avx2},
    {"--isa auto, oc_lanes: the pack follows the dispatcher (avx512 and avx2)", test_oc_dispatch},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("emit", tests)

__attribute__((constructor)) static void register_simd(void) {
  if (osc_isa_host() >= OSC_ISA_AVX512)
    osc_test_add_suite("emit-avx512", avx512_tests);
  else
    fprintf(stderr, "emit-avx512: SKIPPED, this CPU has no AVX-512F\n");
  if (osc_isa_host() >= OSC_ISA_AVX2)
    osc_test_add_suite("emit-avx2", avx2_tests);
  else
    fprintf(stderr, "emit-avx2: SKIPPED, this CPU has no AVX2 + FMA\n");
}

/*
** test_kernel.c -- the kernel API: results against an independent
** reference, the cache (hits, OSCONV_CACHE=0, eviction with kernels still
** held), many threads creating and running kernels, fallback, and every
** failure path (bad plan, bad arguments, bad source, no libtcc, no memory).
*/
#define _DEFAULT_SOURCE   /* setenv, mkdtemp, popen */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osccache.h"
#include "osconv.h"
#include "oscnpy.h"
#include "osc_cli.h"
#include "osc_test.h"
#include "oscisa.h"
#include "oscfault.h"
#include "oscref.h"
#include "oscplan.h"
#include "oscrt.h"
#include "rt_test.h"

static osc_status make(const osc_plan *p, const osc_kernel_options *o, osc_kernel **k,
                       osc_error *err) {
  return osc_kernel_create(p, o, k, err);
}

/* Run k on random data; 1 if it matches the reference (rel L2 < 1e-5). */
static int matches_reference(const osc_kernel *k, int n, uint64_t *rng) {
  const osc_plan *p = osc_kernel_plan(k);
  size_t out_n = (size_t)n * osc_plan_output_size(p);
  float *in = rt_random_floats(n * osc_plan_input_size(p), rng);
  float *w = rt_random_floats(osc_plan_weights_size(p), rng);
  float *got = calloc(out_n + 1, sizeof *got), *want = calloc(out_n + 1, sizeof *want);
  osc_error err;
  int ok = osc_kernel_run(k, n, in, got, w, NULL, &err) == OSC_OK &&
           oscref_chain(p, n, in, w, want) == 0 && rt_rel_l2(got, want, out_n) < 1e-5;
  free(in), free(w), free(got), free(want);
  return ok;
}

/* A c -> c layer on a 6x6 image, k x k, bias and ReLU, planned in `mode`. */
static osc_plan small_plan(int c, int k, osc_mode mode) {
  char name[32];
  snprintf(name, sizeof name, "small%d_%d", c, k);
  return rt_square_plan(name, c, 6, k, mode, 1, OSC_ACT_RELU);
}

/* ---- results ------------------------------------------------------------------ */

static void test_backends_match_reference(void) {
  uint64_t rng = rt_rng();
  int want = osc_test_quick() ? 4 : 16;
  for (int done = 0; done < want;) {
    osc_plan p;
    osc_kernel *jit = NULL, *ref = NULL;
    osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE};
    osc_error err;
    int n = osc_test_range(&rng, 1, 3);
    if (!rt_random_plan(&rng, &p)) continue;
    done++;
    CU_ASSERT_EQUAL_FATAL(make(&p, NULL, &jit, &err), OSC_OK);
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &ro, &ref, &err), OSC_OK);
    CU_ASSERT_EQUAL(osc_kernel_backend(jit), OSC_BACKEND_JIT);
    CU_ASSERT_EQUAL(osc_kernel_backend(ref), OSC_BACKEND_REFERENCE);
    if (!matches_reference(jit, n, &rng) || !matches_reference(ref, n, &rng)) {
      char d[256];
      osc_plan_describe(&p, d, sizeof d);
      fprintf(stderr, "\n  mismatch for %dx%dx%dx%d k%dx%d s%d,%d p%d,%d: %s\n",
              p.layer.in_channels, p.layer.out_channels, p.layer.in_h, p.layer.in_w,
              p.layer.k_h, p.layer.k_w, p.layer.stride_h, p.layer.stride_w, p.layer.pad_h,
              p.layer.pad_w, d);
      CU_FAIL("a kernel differs from the reference");
    }
    osc_kernel_free(jit);
    osc_kernel_free(ref);
  }
}

/* The shuffle, by hand: C=4, two 1x1 stages with 2 groups each; stage 1
** copies channel c to c (weights pick the matching input), so the shuffle
** alone moves the channels: (g=2, 2) transposed sends 0 1 2 3 to 0 2 1 3.
** Stage 2 then sums its group's two inputs with weights 1 and 10. */
static void test_shuffle_by_hand(void) {
  osc_layer l;
  osc_plan p;
  osc_kernel *k = NULL;
  osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE};
  float in[4] = {1, 2, 3, 4}, out[4], scratch[8];
  /* stage 1: [4][2] one-hot: out c = in c; stage 2: [4][2] = {1, 10} */
  float w[16] = {1, 0, 0, 1, 1, 0, 0, 1, 1, 10, 1, 10, 1, 10, 1, 10};
  osc_error err;
  osc_layer_init(&l);
  l.in_channels = l.out_channels = 4;
  l.in_h = l.in_w = l.k_h = l.k_w = 1;
  l.mode = OSC_MODE_FIXED;
  l.n_fixed = 2;
  l.fixed[0] = (osc_stage_spec){4, 2, 1, 1};
  l.fixed[1] = (osc_stage_spec){4, 2, 1, 1};
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &p, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &ro, &k, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in, out, w, scratch, &err), OSC_OK);
  /* after the shuffle the channels hold 1 3 2 4; group 0 sees (1,3), group 1 (2,4) */
  CU_ASSERT_EQUAL(out[0], 1 + 10 * 3);
  CU_ASSERT_EQUAL(out[1], 1 + 10 * 3);
  CU_ASSERT_EQUAL(out[2], 2 + 10 * 4);
  CU_ASSERT_EQUAL(out[3], 2 + 10 * 4);
  osc_kernel_free(k);
}

static void test_batches(void) {
  osc_plan p = small_plan(4, 3, OSC_MODE_DEPTHWISE);
  osc_kernel *k = NULL;
  uint64_t rng = rt_rng();
  size_t is = osc_plan_input_size(&p), os = osc_plan_output_size(&p);
  float *in = rt_random_floats(3 * is, &rng);
  float *w = rt_random_floats(osc_plan_weights_size(&p), &rng);
  float *all = calloc(3 * os, sizeof *all), *one = calloc(os, sizeof *one);
  osc_error err;
  CU_ASSERT_EQUAL_FATAL(make(&p, NULL, &k, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_kernel_run(k, 3, in, all, w, NULL, &err), OSC_OK);
  for (int b = 0; b < 3; b++) {
    CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in + b * is, one, w, NULL, &err), OSC_OK);
    CU_ASSERT_EQUAL(memcmp(one, all + b * os, os * sizeof *one), 0);
  }
  CU_ASSERT_EQUAL(osc_kernel_run(k, 0, NULL, NULL, NULL, NULL, &err), OSC_OK);
  osc_kernel_free(k);
  free(in), free(w), free(all), free(one);
}

/* ---- the cache ------------------------------------------------------------------ */

static void test_cache_hit(void) {
  osc_plan p = small_plan(8, 3, OSC_MODE_SPATIAL), renamed = p;
  osc_kernel *a = NULL, *b = NULL, *c = NULL;
  osc_cache_stats s0, s1;
  osc_kernel_info ia, ib;
  osc_error err;
  uint64_t rng = rt_rng();
  osc_cache_clear();
  osc_cache_get_stats(&s0);
  CU_ASSERT_EQUAL_FATAL(make(&p, NULL, &a, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(make(&p, NULL, &b, &err), OSC_OK);
  /* a different name, the same structure: the same code */
  strcpy(renamed.layer.name, "other");
  CU_ASSERT_EQUAL_FATAL(make(&renamed, NULL, &c, &err), OSC_OK);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.compiles - s0.compiles, 1);
  CU_ASSERT_EQUAL(s1.misses - s0.misses, 1);
  CU_ASSERT_EQUAL(s1.hits - s0.hits, 2);
  CU_ASSERT_EQUAL(s1.entries, 1);
  osc_kernel_get_info(a, &ia);
  osc_kernel_get_info(b, &ib);
  CU_ASSERT_EQUAL(ia.cache_hit, 0);
  CU_ASSERT_EQUAL(ib.cache_hit, 1);
  CU_ASSERT(ia.code_size > 0 && ia.code_size == ib.code_size);
  CU_ASSERT_EQUAL(ib.compile_ms, 0);
  CU_ASSERT_EQUAL(ib.emit_ms, 0);   /* a plan seen before is not emitted again */
  CU_ASSERT(matches_reference(b, 2, &rng));
  CU_ASSERT(matches_reference(c, 1, &rng));
  osc_kernel_free(a);
  osc_kernel_free(b);
  osc_kernel_free(c);
}

static void test_cache_off(void) {
  osc_plan p = small_plan(4, 3, OSC_MODE_CONVENTIONAL);
  osc_kernel *k[4] = {0};
  osc_kernel_options nc = {.no_cache = 1};
  osc_cache_stats s0, s1;
  osc_error err;
  osc_cache_clear();
  osc_cache_get_stats(&s0);
  setenv("OSCONV_CACHE", "0", 1);
  CU_ASSERT_EQUAL(make(&p, NULL, &k[0], &err), OSC_OK);
  CU_ASSERT_EQUAL(make(&p, NULL, &k[1], &err), OSC_OK);
  unsetenv("OSCONV_CACHE");
  CU_ASSERT_EQUAL(make(&p, &nc, &k[2], &err), OSC_OK);
  CU_ASSERT_EQUAL(make(&p, &nc, &k[3], &err), OSC_OK);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.compiles - s0.compiles, 4);
  CU_ASSERT_EQUAL(s1.hits - s0.hits, 0);
  CU_ASSERT_EQUAL(s1.entries, 0);
  for (int i = 0; i < 4; i++) osc_kernel_free(k[i]);
}

/* OSCONV_CACHE: 0, off, false, no (any case) turn the cache off; any other
** non-empty value leaves it on, as does an empty one. */
static void test_cache_env_values(void) {
  static const struct { const char *value; int on; } cases[] = {
      {"0", 0}, {"off", 0}, {"OFF", 0}, {"false", 0}, {"False", 0}, {"no", 0}, {"NO", 0},
      {"1", 1}, {"on", 1}, {"yes", 1}, {"true", 1}, {"2", 1}, {"", 1}, {"offf", 1},
  };
  osc_plan p = small_plan(3, 1, OSC_MODE_CONVENTIONAL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    osc_kernel *k[2] = {0};
    osc_cache_stats s0, s1;
    osc_error err;
    osc_cache_clear();
    osc_cache_get_stats(&s0);
    setenv("OSCONV_CACHE", cases[i].value, 1);
    CU_ASSERT_EQUAL(make(&p, NULL, &k[0], &err), OSC_OK);
    CU_ASSERT_EQUAL(make(&p, NULL, &k[1], &err), OSC_OK);
    unsetenv("OSCONV_CACHE");
    osc_cache_get_stats(&s1);
    if (s1.compiles - s0.compiles != (cases[i].on ? 1u : 2u))
      fprintf(stderr, "\n  OSCONV_CACHE='%s': %llu compiles\n", cases[i].value,
              (unsigned long long)(s1.compiles - s0.compiles));
    CU_ASSERT_EQUAL(s1.compiles - s0.compiles, cases[i].on ? 1u : 2u);
    CU_ASSERT_EQUAL(s1.entries, cases[i].on ? 1u : 0u);
    osc_kernel_free(k[0]);
    osc_kernel_free(k[1]);
  }
}

/* libtcc1.a is linked into the code: another runtime directory, another
** entry, for the same plan (emitted source included). */
static void test_cache_key_has_lib_path(void) {
  osc_plan p = small_plan(4, 3, OSC_MODE_SPATIAL);
  char dir[] = "/tmp/osc-tcclib-XXXXXX", lib_a[64];
  osc_kernel_options other = {.tcc_lib_path = dir};
  osc_kernel *k[4] = {0};
  osc_cache_stats s0, s1;
  osc_error err;
  uint64_t rng = rt_rng();
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  snprintf(lib_a, sizeof lib_a, "%s/libtcc1.a", dir);
  CU_ASSERT_EQUAL_FATAL(rt_copy_file(OSC_TCC_DEBIAN_LIB_PATH "/libtcc1.a", lib_a), 0);
  osc_cache_clear();
  osc_cache_get_stats(&s0);
  CU_ASSERT_EQUAL(make(&p, NULL, &k[0], &err), OSC_OK);
  CU_ASSERT_EQUAL(make(&p, &other, &k[1], &err), OSC_OK);
  CU_ASSERT_EQUAL(make(&p, NULL, &k[2], &err), OSC_OK);
  CU_ASSERT_EQUAL(make(&p, &other, &k[3], &err), OSC_OK);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.compiles - s0.compiles, 2);
  CU_ASSERT_EQUAL(s1.hits - s0.hits, 2);
  CU_ASSERT_EQUAL(s1.entries, 2);
  for (int i = 0; i < 4; i++) {
    if (k[i]) CU_ASSERT(matches_reference(k[i], 1, &rng));
    osc_kernel_free(k[i]);
  }
  remove(lib_a);
  rmdir(dir);
}

static void test_cache_eviction(void) {
  osc_plan p[3] = {small_plan(2, 3, OSC_MODE_CONVENTIONAL), small_plan(3, 3, OSC_MODE_CONVENTIONAL),
                   small_plan(4, 3, OSC_MODE_CONVENTIONAL)};
  osc_kernel *k[3] = {0}, *again = NULL;
  osc_cache_stats s0, s1;
  osc_error err;
  uint64_t rng = rt_rng();
  osc_cache_clear();
  osc_cache_set_limits(2, 0);
  osc_cache_get_stats(&s0);
  for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL_FATAL(make(&p[i], NULL, &k[i], &err), OSC_OK);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.evictions - s0.evictions, 1);
  CU_ASSERT_EQUAL(s1.entries, 2);
  /* the evicted code still belongs to k[0] */
  CU_ASSERT(matches_reference(k[0], 1, &rng));
  /* the least recently used went: p[0] compiles again, p[2] is a hit */
  CU_ASSERT_EQUAL(make(&p[0], NULL, &again, &err), OSC_OK);
  osc_kernel_free(again);
  CU_ASSERT_EQUAL(make(&p[2], NULL, &again, &err), OSC_OK);
  osc_kernel_free(again);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.compiles - s0.compiles, 4);
  CU_ASSERT_EQUAL(s1.hits - s0.hits, 1);
  /* a byte budget below one entry: shrinking empties the cache at once; from
  ** then on each new entry stays alone, as the newest is never evicted */
  osc_cache_set_limits(0, 1);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.entries, 0);
  for (int i = 1; i < 3; i++) {
    CU_ASSERT_EQUAL(make(&p[i], NULL, &again, &err), OSC_OK);
    osc_kernel_free(again);
  }
  osc_cache_get_stats(&s0);
  CU_ASSERT_EQUAL(s0.entries, 1);
  CU_ASSERT_EQUAL(make(&p[2], NULL, &again, &err), OSC_OK);   /* the newest: a hit */
  osc_kernel_free(again);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.hits - s0.hits, 1);
  CU_ASSERT_EQUAL(s1.compiles - s0.compiles, 0);
  osc_cache_set_limits(0, 0);
  for (int i = 0; i < 3; i++) {
    CU_ASSERT(matches_reference(k[i], 1, &rng));
    osc_kernel_free(k[i]);
  }
}

/* ---- threads ---------------------------------------------------------------------- */

#define THREADS 4
#define PLANS 5

typedef struct create_job {
  const osc_plan *plans;
  osc_kernel *k[PLANS];
  int bad;
} create_job;

static void *create_worker(void *arg) {
  create_job *j = arg;
  for (int i = 0; i < PLANS; i++)
    if (make(&j->plans[i], NULL, &j->k[i], NULL) != OSC_OK) j->bad = 1;
  return NULL;
}

/* Every thread asks for the same PLANS plans at once: each compiles once. */
static void test_concurrent_create(void) {
  osc_plan plans[PLANS];
  create_job jobs[THREADS];
  pthread_t th[THREADS];
  osc_cache_stats s0, s1;
  uint64_t rng = rt_rng();
  for (int i = 0; i < PLANS; i++) plans[i] = small_plan(i + 2, 3, OSC_MODE_CONVENTIONAL);
  osc_cache_clear();
  osc_cache_get_stats(&s0);
  for (int t = 0; t < THREADS; t++) {
    memset(&jobs[t], 0, sizeof jobs[t]);
    jobs[t].plans = plans;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, create_worker, &jobs[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  osc_cache_get_stats(&s1);
  CU_ASSERT_EQUAL(s1.compiles - s0.compiles, PLANS);
  CU_ASSERT_EQUAL(s1.hits - s0.hits, (THREADS - 1) * PLANS);
  for (int t = 0; t < THREADS; t++) {
    CU_ASSERT_EQUAL(jobs[t].bad, 0);
    for (int i = 0; i < PLANS; i++) {
      if (t == 0 && jobs[t].k[i]) CU_ASSERT(matches_reference(jobs[t].k[i], 1, &rng));
      osc_kernel_free(jobs[t].k[i]);
    }
  }
}

typedef struct run_job {
  const osc_kernel *k;
  const float *in, *w, *want;
  size_t out_n;
  int use_null_scratch, bad;
} run_job;

static void *run_worker(void *arg) {
  run_job *j = arg;
  const osc_plan *p = osc_kernel_plan(j->k);
  float *out = malloc(j->out_n * sizeof *out);
  float *scratch = malloc((osc_plan_scratch_size(p) + 1) * sizeof *scratch);
  for (int r = 0; r < 20; r++) {
    if (osc_kernel_run(j->k, 2, j->in, out, j->w, j->use_null_scratch ? NULL : scratch,
                       NULL) != OSC_OK ||
        memcmp(out, j->want, j->out_n * sizeof *out) != 0)
      j->bad = 1;
  }
  free(out);
  free(scratch);
  return NULL;
}

/* One kernel, run from several threads at once: each gets what one thread alone gets. */
static void test_concurrent_runs(void) {
  osc_plan p = small_plan(8, 3, OSC_MODE_OPTIMAL);
  osc_kernel *k[2] = {0};
  osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE};
  uint64_t rng = rt_rng();
  size_t out_n = 2 * osc_plan_output_size(&p);
  float *in = rt_random_floats(2 * osc_plan_input_size(&p), &rng);
  float *w = rt_random_floats(osc_plan_weights_size(&p), &rng);
  float *want = calloc(out_n, sizeof *want);
  osc_error err;
  CU_ASSERT_EQUAL_FATAL(make(&p, NULL, &k[0], &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &ro, &k[1], &err), OSC_OK);
  for (int b = 0; b < 2; b++) {
    run_job jobs[THREADS];
    pthread_t th[THREADS];
    CU_ASSERT_EQUAL(osc_kernel_run(k[b], 2, in, want, w, NULL, &err), OSC_OK);
    for (int t = 0; t < THREADS; t++) {
      jobs[t] = (run_job){k[b], in, w, want, out_n, t % 2, 0};
      CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, run_worker, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
      pthread_join(th[t], NULL);
      CU_ASSERT_EQUAL(jobs[t].bad, 0);
    }
    osc_kernel_free(k[b]);
  }
  free(in), free(w), free(want);
}

/* ---- fallback and failures -------------------------------------------------------- */

static void test_fallback(void) {
  osc_plan p = small_plan(4, 3, OSC_MODE_SPATIAL);
  osc_kernel *k = (osc_kernel *)1;
  osc_kernel_options o = {.tcc_lib_path = "/nonexistent/tcc"};
  osc_kernel_info info;
  osc_error err;
  uint64_t rng = rt_rng();
  /* not allowed: the error, with what to do about it */
  CU_ASSERT_EQUAL(make(&p, &o, &k, &err), OSC_EJIT);
  CU_ASSERT_PTR_NULL(k);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/tcc"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "OSCONV_TCC_LIB_PATH"));
  /* the environment, too */
  setenv("OSCONV_TCC_LIB_PATH", "/nonexistent/env", 1);
  CU_ASSERT_EQUAL(make(&p, NULL, &k, &err), OSC_EJIT);
  unsetenv("OSCONV_TCC_LIB_PATH");
  /* allowed: a working reference kernel that says why */
  o.allow_fallback = 1;
  CU_ASSERT_EQUAL_FATAL(make(&p, &o, &k, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_kernel_backend(k), OSC_BACKEND_REFERENCE);
  osc_kernel_get_info(k, &info);
  CU_ASSERT_PTR_NOT_NULL(info.fallback && strstr(info.fallback, "/nonexistent/tcc"));
  CU_ASSERT(matches_reference(k, 2, &rng));
  osc_kernel_free(k);
}

static void test_bad_source(void) {
  osc_plan p = small_plan(2, 1, OSC_MODE_CONVENTIONAL);
  const char *src = "void osc_jit_n(int n) {\n  return n + nowhere;\n}\n";
  osc_kernel *k = NULL;
  osc_kernel_options o = {.no_cache = 1};
  osc_kernel_info info;
  osc_error err;
  uint64_t rng = rt_rng();
  CU_ASSERT_EQUAL(osc_kernel_create_from_source(&p, src, OSC_JIT_SYMBOL, &o, &k, &err),
                  OSC_EJIT);
  CU_ASSERT_PTR_NULL(k);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "<string>:2:"));
  o.allow_fallback = 1;
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create_from_source(&p, src, OSC_JIT_SYMBOL, &o, &k, &err),
                        OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT_EQUAL(info.backend, OSC_BACKEND_REFERENCE);
  CU_ASSERT_PTR_NOT_NULL(info.fallback && strstr(info.fallback, "<string>:2:"));
  CU_ASSERT(matches_reference(k, 1, &rng));
  osc_kernel_free(k);
}

static void test_bad_arguments(void) {
  osc_plan p = small_plan(4, 3, OSC_MODE_DEPTHWISE), bad = p;
  osc_kernel *k = NULL;
  osc_kernel_options o = {.backend = (osc_backend)7};
  float x[1];
  osc_error err;
  CU_ASSERT_EQUAL(osc_kernel_create(NULL, NULL, &k, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_kernel_create(&p, NULL, NULL, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_kernel_create(&p, &o, &k, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "backend"));
  bad.stage[0].h_out += 1;   /* a plan osc_plan_layer could not have made */
  CU_ASSERT_EQUAL(osc_kernel_create(&bad, NULL, &k, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "stage 1"));
  bad = p;
  bad.n_stages = 0;
  CU_ASSERT_EQUAL(osc_kernel_create(&bad, NULL, &k, &err), OSC_EINVAL);
  bad = p;
  bad.stage[1].groups = 3;
  CU_ASSERT_EQUAL(osc_kernel_create(&bad, NULL, &k, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NULL(k);
  o.backend = OSC_BACKEND_REFERENCE;
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &o, &k, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_kernel_run(k, -1, x, x, x, NULL, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_kernel_run(k, 1, NULL, x, x, NULL, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_kernel_run(NULL, 1, x, x, x, NULL, &err), OSC_EINVAL);
  osc_kernel_free(k);
  osc_kernel_free(NULL);
}

/* Fail the 1st, 2nd, ... allocation of a create and a run: each failure is
** OSC_ENOMEM with nothing leaked (the ASan run checks), then it succeeds. */
static void test_out_of_memory(void) {
  osc_plan p = small_plan(4, 3, OSC_MODE_SPATIAL);
  osc_kernel_options variants[2] = {{.no_cache = 1}, {.backend = OSC_BACKEND_REFERENCE}};
  uint64_t rng = rt_rng();
  for (int v = 0; v < 2; v++) {
    osc_kernel *k = NULL;
    osc_error err;
    int failures = 0;
    for (int after = 0; after < 20; after++) {
      osc_status st;
      osc_rt_fault_inject(after);
      st = make(&p, &variants[v], &k, &err);
      osc_rt_fault_inject(-1);
      if (st == OSC_OK) break;
      CU_ASSERT_EQUAL(st, OSC_ENOMEM);
      CU_ASSERT_PTR_NULL(k);
      failures++;
    }
    CU_ASSERT(failures >= 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    /* the run's own scratch */
    {
      float *in = rt_random_floats(osc_plan_input_size(&p), &rng);
      float *w = rt_random_floats(osc_plan_weights_size(&p), &rng);
      float *out = calloc(osc_plan_output_size(&p), sizeof *out);
      osc_rt_fault_inject(0);
      CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in, out, w, NULL, &err), OSC_ENOMEM);
      osc_rt_fault_inject(-1);
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "scratch"));
      free(in), free(w), free(out);
    }
    osc_kernel_free(k);
  }
}

/* What this process writes to stderr between begin and end. */
typedef struct captured { char path[32]; int fd, saved; } captured;

static int capture_begin(captured *c) {
  snprintf(c->path, sizeof c->path, "/tmp/osc-verbose-XXXXXX");
  c->fd = mkstemp(c->path);
  c->saved = dup(2);
  if (c->fd < 0 || c->saved < 0) return -1;
  fflush(stderr);
  dup2(c->fd, 2);
  return 0;
}

static void capture_end(captured *c, char *text, size_t size) {
  FILE *f;
  size_t n = 0;
  fflush(stderr);
  dup2(c->saved, 2);
  close(c->saved);
  if ((f = fdopen(c->fd, "r"))) {
    rewind(f);
    n = fread(text, 1, size - 1, f);
    fclose(f);
  }
  text[n] = '\0';
  remove(c->path);
}

/* OSCONV_VERBOSE=1: one line per kernel, with what the brief promises;
** OSCONV_VERBOSE=Off: none. */
static void test_verbose(void) {
  osc_plan p = small_plan(6, 3, OSC_MODE_SPATIAL);
  osc_kernel *k[4] = {0};
  osc_kernel_options fb = {.allow_fallback = 1, .tcc_lib_path = "/nonexistent/tcc"};
  char text[4096] = "";
  const char *line;
  int lines = 0;
  captured cap;
  CU_ASSERT_FATAL(capture_begin(&cap) == 0);
  osc_cache_clear();
  setenv("OSCONV_VERBOSE", "1", 1);
  make(&p, NULL, &k[0], NULL);
  make(&p, NULL, &k[1], NULL);
  make(&p, &fb, &k[2], NULL);
  setenv("OSCONV_VERBOSE", "Off", 1);   /* any spelling of no: silent */
  make(&p, NULL, &k[3], NULL);
  unsetenv("OSCONV_VERBOSE");
  capture_end(&cap, text, sizeof text);
  /* the plan, hit or miss, compile time, code size, backend; the fallback and why */
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "'small6_3' 3x1/g1 -> 1x3/g1 [spatial]: jit, cache miss"));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "jit, cache hit"));
  {
    char isa[32];   /* verbose names the ISA the code uses */
    snprintf(isa, sizeof isa, "miss, isa %s, emit", osc_isa_name(osc_isa_host()));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, isa));
  }
  CU_ASSERT_PTR_NOT_NULL(strstr(text, " ms, code "));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "reference (fallback: libtcc's runtime directory "
                                      "'/nonexistent/tcc'"));
  for (line = text; (line = strstr(line, "osconv: kernel")); line++) lines++;
  CU_ASSERT_EQUAL(lines, 3);
  for (int i = 0; i < 4; i++) osc_kernel_free(k[i]);
}

/* OSCONV_VERBOSE=2: a line per run with the benchdnn-style descriptor
** (written out here from the layer's numbers) and the batch; creation
** lines carry the descriptor; a kernel made without the cache says "cache
** off"; OSCONV_DUMP=DIR holds the source that was compiled. The run lines
** follow OSCONV_VERBOSE as it was when the kernel was made (a run reads no
** environment): k keeps logging once it is unset, q, made before it was
** set, never logs. */
static void test_verbose_runs_and_dump(void) {
  osc_plan p = small_plan(6, 3, OSC_MODE_SPATIAL);
  const osc_layer *l = &p.layer;
  osc_kernel_options nocache = {.no_cache = 1};
  osc_kernel *k = NULL, *q = NULL;
  char text[4096] = "", desc[128], want[256], dir[] = "/tmp/osc-dump-XXXXXX", cmd[160];
  float *in = calloc(3 * osc_plan_input_size(&p), sizeof *in);
  float *out = calloc(3 * osc_plan_output_size(&p), sizeof *out);
  float *w = calloc(osc_plan_weights_size(&p), sizeof *w);
  captured cap;
  char *src = NULL;
  CU_ASSERT_FATAL(in && out && w && mkdtemp(dir) && capture_begin(&cap) == 0);
  make(&p, NULL, &q, NULL);
  setenv("OSCONV_VERBOSE", "2", 1);
  setenv("OSCONV_DUMP", dir, 1);
  make(&p, &nocache, &k, NULL);
  CU_ASSERT_EQUAL(osc_kernel_run(k, 2, in, out, w, NULL, NULL), OSC_OK);
  CU_ASSERT_EQUAL(osc_kernel_run(q, 3, in, out, w, NULL, NULL), OSC_OK);   /* silent */
  unsetenv("OSCONV_VERBOSE");
  unsetenv("OSCONV_DUMP");
  CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in, out, w, NULL, NULL), OSC_OK);   /* still logged */
  capture_end(&cap, text, sizeof text);
  /* a square layer, stride 1, one group: benchdnn drops iw, ow, kw, pw, sh and g */
  CU_ASSERT(l->in_h == l->in_w && l->k_h == l->k_w && l->pad_h == l->pad_w &&
            l->stride_h == 1 && l->stride_w == 1 && l->groups == 1);
  snprintf(desc, sizeof desc, "ic%dih%doc%doh%dkh%dph%d", l->in_channels, l->in_h,
           l->out_channels, osc_layer_out_h(l), l->k_h, l->pad_h);
  snprintf(want, sizeof want, "osconv: run '%s' mb2%s jit ", l->name, desc);
  if (!strstr(text, want)) fprintf(stderr, "\nwant '%s' in:\n%s", want, text);
  CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
  snprintf(want, sizeof want, "osconv: run '%s' mb1%s jit ", l->name, desc);
  CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
  CU_ASSERT_PTR_NULL(strstr(text, "mb3"));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "jit, cache off, isa"));
  CU_ASSERT(strstr(text, desc) && strstr(text, desc) < strstr(text, "osconv: run"));
  /* the dump: one file, the source this plan emits for this CPU */
  snprintf(cmd, sizeof cmd, "ls %s/%s-*.c > %s/list 2>/dev/null", dir, l->name, dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
  {
    char list[512], *nl, *dumped;
    snprintf(want, sizeof want, "%s/list", dir);
    dumped = osc_test_slurp(want, NULL);
    snprintf(list, sizeof list, "%s", dumped ? dumped : "");
    free(dumped);
    if ((nl = strchr(list, '\n'))) *nl = '\0';
    dumped = osc_test_slurp(list, NULL);
    osc_isa isa = OSC_ISA_C;
    CU_ASSERT_EQUAL(osc_isa_runtime(&isa, NULL), OSC_OK);
    CU_ASSERT_EQUAL(osc_kernel_source_isa(&p, (int)isa, &src, NULL), OSC_OK);
    CU_ASSERT(dumped && src && strcmp(dumped, src) == 0);
    free(dumped);
  }
  free(src);
  osc_kernel_free(k);
  osc_kernel_free(q);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
  free(in); free(out); free(w);
}

/* ---- the CLI: osconv run, osconv exec --jit ------------------------------------- */

static const char cli_config[] =
    "network { name = \"t\", batch = 2, bias = true }\n"
    "conv { name = \"a\", in_channels = 8, out_channels = 8, size = 7, kernel = 3,\n"
    "       padding = 1, activation = \"relu\" }\n"
    "conv { name = \"b\", in_channels = 8, out_channels = 12, size = 7, kernel = 3,\n"
    "       stride = 2, mode = \"depthwise\" }\n"
    "conv { name = \"c\", in_channels = 8, out_channels = 8, size = 7, kernel = 3,\n"
    "       padding = 1, activation = \"relu\" }\n"
    "conv { name = \"r\", in_channels = 8, out_channels = 8, size = 7, kernel = 3,\n"
    "       padding = 1, activation = \"relu\", residual = true }\n";

/* Runs `prefix $OSCONV_CLI args`; stdout and stderr together into buf. */
static int cli(const char *prefix, const char *args, char *buf, size_t size) {
  char *out, *err;
  int st = osc_test_cli(prefix, args, &out, &err);
  snprintf(buf, size, "%s%s", out ? out : "", err ? err : "");
  free(out);
  free(err);
  return st;
}

static int cli_setup(char *dir, char *config) {
  FILE *f;
  if (!osc_test_cli_path()) return -1;
  if (!mkdtemp(dir)) return -1;
  sprintf(config, "%s/t.lua", dir);
  if (!(f = fopen(config, "w"))) return -1;
  fputs(cli_config, f);
  return fclose(f);
}

static void cli_cleanup(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
}

/* 1 if the line of `text` starting with `row` contains `what`. */
static int row_has(const char *text, const char *row, const char *what) {
  const char *at = strstr(text, row), *end;
  if (!at) return 0;
  end = strchr(at, '\n');
  if (!end) end = at + strlen(at);
  at = strstr(at, what);
  return at && at < end;
}

static void test_cli_run(void) {
  char dir[] = "/tmp/osc-run-XXXXXX", config[64], args[128], out[8192];
  if (cli_setup(dir, config)) return;
  snprintf(args, sizeof args, "run '%s'", config);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "t.a "));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "t.b "));
  CU_ASSERT_PTR_NULL(strstr(out, "FAIL"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, " jit "));
  /* c is a's twin: its code comes from the cache, compiled in no time */
  CU_ASSERT(row_has(out, "t.a ", " miss "));
  CU_ASSERT(row_has(out, "t.b ", " miss "));
  CU_ASSERT(row_has(out, "t.c ", " 0.00 hit "));
  /* r is a's twin but for its residual: other code, not a's from the cache */
  CU_ASSERT(row_has(out, "t.r ", " miss "));
  CU_ASSERT(row_has(out, "t.r ", " ok"));
  /* OSCONV_CACHE_CAPACITY=0: nothing is cached, so the twin compiles again */
  CU_ASSERT_EQUAL(cli("OSCONV_CACHE_CAPACITY=0 OSCONV_VERBOSE=1", args, out, sizeof out), 0);
  CU_ASSERT(row_has(out, "t.c ", " miss "));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "osconv: kernel 'c' "));   /* the twin's verbose line */
  CU_ASSERT_PTR_NULL(strstr(out, "jit, cache hit"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "jit, cache off"));
  /* no libtcc: every layer says why, and the command fails */
  CU_ASSERT_EQUAL(cli("OSCONV_TCC_LIB_PATH=/nonexistent", args, out, sizeof out), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "libtcc1.a"));
  snprintf(args, sizeof args, "run '%s/missing.lua'", dir);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 1);
  CU_ASSERT_EQUAL(cli("", "run", out, sizeof out), 2);
  cli_cleanup(dir);
}

/* oc_lanes: `run` packs the weights for layers whose code takes them packed
** (dense 3x3s on small planes, one adding a residual, batch 2) and checks
** them against the reference; `plan --json` and the generated header say
** which layers (a 1x1 of fan-in 8 stays on the pixel shape: no pack). */
static void test_cli_oc_lanes(void) {
  static const char config_text[] =
      "network { name = \"ocn\", batch = 2, bias = true, oc_lanes = true }\n"
      "conv { name = \"d\", in_channels = 64, out_channels = 64, size = 7, kernel = 3,\n"
      "       padding = 1, activation = \"relu6\", mode = \"conventional\" }\n"
      "conv { name = \"r\", in_channels = 64, out_channels = 32, size = 10, kernel = 3,\n"
      "       padding = 1, stride = 2, residual = true, mode = \"conventional\" }\n"
      "conv { name = \"p\", in_channels = 8, out_channels = 32, size = 7, kernel = 1,\n"
      "       mode = \"conventional\" }\n";
  char dir[] = "/tmp/osc-oc-XXXXXX", config[64], args[200], out[8192], path[96], *h;
  FILE *f;
  if (!osc_test_cli_path() || !mkdtemp(dir)) return;
  snprintf(config, sizeof config, "%s/o.lua", dir);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(config, "w"));
  fputs(config_text, f);
  fclose(f);
  snprintf(args, sizeof args, "run '%s' --min-time 1", config);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 0);
  CU_ASSERT(row_has(out, "ocn.d ", " ok") && row_has(out, "ocn.r ", " ok") &&
            row_has(out, "ocn.p ", " ok"));
  snprintf(args, sizeof args, "plan '%s' --json", config);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"oc_lanes\": true"));
  snprintf(args, sizeof args, "gen '%s' -o '%s' --isa avx512", config, dir);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 0);
  snprintf(path, sizeof path, "%s/ocn.h", dir);
  if ((h = osc_test_slurp(path, NULL))) {
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "#define OCN_D_PACKED 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "void ocn_r_pack(const float *weights, float *packed);"));
    CU_ASSERT_PTR_NULL(strstr(h, "OCN_P_PACKED"));
    free(h);
  }
  cli_cleanup(dir);
}

/* run --json: every layer with its spread in order (min <= median <= max),
** at least 5 runs, checked; bad --min-time values are usage errors. */
static void test_cli_run_json(void) {
  char dir[] = "/tmp/osc-runj-XXXXXX", config[64], args[160], *out = NULL;
  json_t *root, *layers;
  if (cli_setup(dir, config)) return;
  snprintf(args, sizeof args, "run '%s' --json --min-time 1", config);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, NULL), 0);
  root = out ? json_loads(out, 0, NULL) : NULL;
  layers = json_object_get(root, "layers");
  CU_ASSERT_EQUAL(json_array_size(layers), 4);
  for (size_t i = 0; i < json_array_size(layers); i++) {
    json_t *l = json_array_get(layers, i), *t = json_object_get(l, "timing");
    double lo = json_real_value(json_object_get(t, "min_ms"));
    double mid = json_real_value(json_object_get(t, "median_ms"));
    double hi = json_real_value(json_object_get(t, "max_ms"));
    CU_ASSERT(lo > 0 && lo <= mid && mid <= hi);
    CU_ASSERT(json_integer_value(json_object_get(t, "runs")) >= 5);
    CU_ASSERT(json_is_true(json_object_get(l, "ok")));
    CU_ASSERT(json_real_value(json_object_get(json_object_get(l, "check"), "rel_l2")) < 1e-5);
  }
  CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(layers, 2), "layer")),
                         "c");
  CU_ASSERT(json_is_true(json_object_get(root, "ok")));
  json_decref(root);
  free(out);
  snprintf(args, sizeof args, "run '%s' --min-time -3", config);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, NULL), 2);
  snprintf(args, sizeof args, "run '%s' --min-time 5ms", config);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, NULL), 2);
  cli_cleanup(dir);
}

/* exec --jit writes what the reference computes, for a batch of 2. */
static void test_cli_exec_jit(void) {
  char dir[] = "/tmp/osc-exec-XXXXXX", config[64], args[512], out[4096], path[3][96];
  osc_config *cfg = NULL;
  osc_plan p;
  osc_npy y;
  osc_error err;
  uint64_t rng = rt_rng();
  if (cli_setup(dir, config)) return;
  CU_ASSERT_EQUAL_FATAL(osc_config_load(config, NULL, &cfg, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(osc_config_find_layer(cfg, "b", NULL), &p, &err), OSC_OK);
  {
    size_t xs[4] = {2, 8, 7, 7}, ws[1] = {osc_plan_weights_size(&p)}, out_n;
    float *x = rt_random_floats(2 * osc_plan_input_size(&p), &rng);
    float *w = rt_random_floats(ws[0], &rng);
    float *want = calloc(2 * osc_plan_output_size(&p), sizeof *want);
    const char *names[3] = {"x.npy", "w.npy", "y.npy"};
    for (int i = 0; i < 3; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    CU_ASSERT_EQUAL(osc_npy_write(path[0], 4, xs, x, &err), OSC_OK);
    CU_ASSERT_EQUAL(osc_npy_write(path[1], 1, ws, w, &err), OSC_OK);
    snprintf(args, sizeof args, "exec '%s' --layer t.b --input '%s' --weights '%s' --output "
             "'%s' --jit", config, path[0], path[1], path[2]);
    CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 0);
    CU_ASSERT_EQUAL_FATAL(osc_npy_read(path[2], &y, &err), OSC_OK);
    out_n = 2 * osc_plan_output_size(&p);
    CU_ASSERT_EQUAL(y.ndim, 4);
    CU_ASSERT_EQUAL(y.count, out_n);
    CU_ASSERT_EQUAL(oscref_chain(&p, 2, x, w, want), 0);
    if (y.count == out_n) CU_ASSERT(rt_rel_l2(y.data, want, out_n) < 1e-5);
    osc_npy_free(&y);
    /* no libtcc: exec --jit fails and says why */
    CU_ASSERT_EQUAL(cli("OSCONV_TCC_LIB_PATH=/nonexistent", args, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "OSCONV_TCC_LIB_PATH"));
    free(x), free(w), free(want);
  }
  osc_config_free(cfg);
  cli_cleanup(dir);
}

/* exec --residual R.npy, AOT and --jit, in both ranks, against the
** reference; a residual layer without it, a plain layer with it and a
** residual of the wrong shape are errors that name the layer. */
static void test_cli_exec_residual(void) {
  char dir[] = "/tmp/osc-exres-XXXXXX", config[64], args[640], out[4096], path[4][96];
  const char *names[4] = {"x.npy", "w.npy", "y.npy", "r.npy"};
  osc_config *cfg = NULL;
  osc_plan p;
  osc_error err;
  uint64_t rng = rt_rng();
  if (cli_setup(dir, config)) return;
  CU_ASSERT_EQUAL_FATAL(osc_config_load(config, NULL, &cfg, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(osc_config_find_layer(cfg, "r", NULL), &p, &err), OSC_OK);
  for (int i = 0; i < 4; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
  for (int rank = 3; rank <= 4; rank++) {
    int n = rank == 4 ? 2 : 1;
    size_t xs[4] = {2, 8, 7, 7}, rs[4] = {2, 8, 7, 7}, ws[1] = {osc_plan_weights_size(&p)};
    size_t out_n = (size_t)n * osc_plan_output_size(&p);
    float *x = rt_random_floats(n * osc_plan_input_size(&p), &rng);
    float *w = rt_random_floats(ws[0], &rng), *r = rt_random_floats(out_n, &rng);
    float *want = calloc(out_n, sizeof *want);
    CU_ASSERT_EQUAL(osc_npy_write(path[0], rank, xs + 4 - rank, x, &err), OSC_OK);
    CU_ASSERT_EQUAL(osc_npy_write(path[1], 1, ws, w, &err), OSC_OK);
    CU_ASSERT_EQUAL(osc_npy_write(path[3], rank, rs + 4 - rank, r, &err), OSC_OK);
    CU_ASSERT_EQUAL(oscref_chain_residual(&p, n, x, r, w, want), 0);
    for (int jit = 0; jit < 2; jit++) {
      osc_npy y;
      snprintf(args, sizeof args, "exec '%s' --layer t.r --input '%s' --residual '%s' "
               "--weights '%s' --output '%s'%s", config, path[0], path[3], path[1], path[2],
               jit ? " --jit" : "");
      CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 0);
      CU_ASSERT_EQUAL_FATAL(osc_npy_read(path[2], &y, &err), OSC_OK);
      CU_ASSERT_EQUAL(y.ndim, rank);
      CU_ASSERT_EQUAL(y.count, out_n);
      if (y.count == out_n) CU_ASSERT(rt_rel_l2(y.data, want, out_n) < 1e-5);
      osc_npy_free(&y);
    }
    free(x), free(w), free(r), free(want);
  }
  snprintf(args, sizeof args, "exec '%s' --layer t.r --input '%s' --weights '%s' --output '%s'",
           config, path[0], path[1], path[2]);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "layer 'r' adds a residual (residual = true): give it "
                                     "with --residual R.npy"));
  snprintf(args, sizeof args, "exec '%s' --layer t.c --input '%s' --residual '%s' --weights "
           "'%s' --output '%s'", config, path[0], path[3], path[1], path[2]);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "layer 'c' takes no residual"));
  snprintf(args, sizeof args, "exec '%s' --layer t.r --input '%s' --residual '%s' --weights "
           "'%s' --output '%s'", config, path[0], path[1], path[1], path[2]);
  CU_ASSERT_EQUAL(cli("", args, out, sizeof out), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "layer 'r' adds a residual of its output's shape "
                                     "(2, 8, 7, 7)"));
  osc_config_free(cfg);
  cli_cleanup(dir);
}

/* osc_kernel_run_residual: JIT and reference against oscref, in place and
** from a buffer of its own; the kind of kernel and the call must agree, and
** a NULL residual is refused, with nothing written. */
static void test_residual_run(void) {
  osc_plan p = small_plan(4, 3, OSC_MODE_OPTIMAL), plain = p;
  osc_kernel_options opts[2] = {{.backend = OSC_BACKEND_JIT}, {.backend = OSC_BACKEND_REFERENCE}};
  uint64_t rng = rt_rng();
  size_t out_n = 2 * osc_plan_output_size(&p);
  float *in = rt_random_floats(2 * osc_plan_input_size(&p), &rng);
  float *w = rt_random_floats(osc_plan_weights_size(&p), &rng);
  float *r = rt_random_floats(out_n, &rng), *got = calloc(out_n, sizeof *got);
  float *want = calloc(out_n, sizeof *want);
  osc_error err;
  p.layer.residual = 1;
  CU_ASSERT_EQUAL(oscref_chain_residual(&p, 2, in, r, w, want), 0);
  for (int b = 0; b < 2; b++) {
    osc_kernel *k = NULL, *pk = NULL;
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&plain, &opts[b], &pk, &err), OSC_OK);   /* cached first */
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &opts[b], &k, &err), OSC_OK);
    CU_ASSERT_EQUAL(osc_kernel_backend(k), opts[b].backend);
    CU_ASSERT_EQUAL(osc_kernel_run_residual(k, 2, in, r, got, w, NULL, &err), OSC_OK);
    CU_ASSERT(rt_rel_l2(got, want, out_n) < 1e-5);
    memcpy(got, r, out_n * sizeof *got);   /* in place */
    CU_ASSERT_EQUAL(osc_kernel_run_residual(k, 2, in, got, got, w, NULL, &err), OSC_OK);
    CU_ASSERT(rt_rel_l2(got, want, out_n) < 1e-5);
    for (size_t i = 0; i < out_n; i++) got[i] = -7.0f;
    CU_ASSERT_EQUAL(osc_kernel_run(k, 2, in, got, w, NULL, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "adds a residual: run it with osc_kernel_run_residual"));
    CU_ASSERT_EQUAL(osc_kernel_run_residual(k, 2, in, NULL, got, w, NULL, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs its residual, got NULL"));
    CU_ASSERT_EQUAL(osc_kernel_run_residual(pk, 2, in, r, got, w, NULL, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "takes no residual: run it with osc_kernel_run"));
    CU_ASSERT_EQUAL(osc_kernel_run_residual(NULL, 2, in, r, got, w, NULL, &err), OSC_EINVAL);
    CU_ASSERT_EQUAL(osc_kernel_run_residual(k, -1, in, r, got, w, NULL, &err), OSC_EINVAL);
    CU_ASSERT_EQUAL(osc_kernel_run_residual(k, 2, NULL, r, got, w, NULL, &err), OSC_EINVAL);
    for (size_t i = 0; i < out_n; i++) CU_ASSERT_EQUAL(got[i], -7.0f);   /* nothing written */
    CU_ASSERT_EQUAL(osc_kernel_run_residual(k, 0, NULL, NULL, NULL, NULL, NULL, &err), OSC_OK);
    osc_kernel_free(k);
    osc_kernel_free(pk);
  }
  p.layer.residual = 2;
  CU_ASSERT_EQUAL(osc_kernel_create(&p, NULL, &(osc_kernel *){NULL}, &err), OSC_EINVAL);
  free(in), free(w), free(r), free(got), free(want);
}

static CU_TestInfo tests[] = {
    {"residual: run, in place, the kind of kernel checked", test_residual_run},
    {"exec --residual (AOT, JIT), errors", test_cli_exec_residual},
    {"jit and reference match the reference", test_backends_match_reference},
    {"shuffle by hand", test_shuffle_by_hand},
    {"batches", test_batches},
    {"cache hit", test_cache_hit},
    {"cache off", test_cache_off},
    {"cache off by environment, any spelling", test_cache_env_values},
    {"cache key has the libtcc directory", test_cache_key_has_lib_path},
    {"cache eviction", test_cache_eviction},
    {"concurrent create", test_concurrent_create},
    {"concurrent runs", test_concurrent_runs},
    {"fallback", test_fallback},
    {"bad source", test_bad_source},
    {"bad arguments", test_bad_arguments},
    {"out of memory", test_out_of_memory},
    {"verbose", test_verbose},
    {"verbose runs, cache off, dump", test_verbose_runs_and_dump},
    {"osconv run", test_cli_run},
    {"osconv run --json", test_cli_run_json},
    {"oc_lanes: run packs, plan --json and the header say so", test_cli_oc_lanes},
    {"osconv exec --jit", test_cli_exec_jit},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("kernel", tests)

/*
** test_threads.c -- kernels split across threads (the tile ABI and
** osc_kernel_run's split, runtime/osckernel.c): for every ISA the CPU has
** and every stage kernel, random plans in every mode on 1 to 4 threads
** give the 1-thread run's bits and match the independent reference, and
** nothing is written outside the output; a caller's parallel-for runs the
** pieces; small layers stay inline; pieces on other threads run in the
** caller's MXCSR (denormals flushed) and hand their exception flags back.
** Residual layers (osc_kernel_run_residual through the residual tile
** entry) split the same way, their residual apart or in out (in place).
*/
#define _DEFAULT_SOURCE   /* setenv */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oscbuf.h"
#include "oscemit.h"
#include "oscfpenv.h"
#include "oscisa.h"
#include "osckernel.h"
#include "oscoc.h"
#include "osconv.h"
#include "oscref.h"
#include "oscrt.h"
#include "osc_test.h"
#include "rt_test.h"

/* A residual layer's run: res apart, or (in_place) copied into out first
** and read from there. 0 on success. */
static int run_kernel(const osc_kernel *k, const osc_plan *p, int n, const float *in,
                      const float *res, int in_place, float *out, const float *w) {
  osc_error err;
  if (!p->layer.residual) return osc_kernel_run(k, n, in, out, w, NULL, &err);
  if (in_place) memcpy(out, res, (size_t)n * osc_plan_output_size(p) * sizeof *out);
  return osc_kernel_run_residual(k, n, in, in_place ? out : res, out, w, NULL, &err);
}

/* Runs a kernel for p made with o on in/w (and res, for a residual layer,
** in place or not); the output (guarded), or NULL if making or running it
** failed. *pieces: its osc_kernel_info.threads. */
static float *run_res_with(const osc_plan *p, const osc_kernel_options *o, int n, const float *in,
                           const float *res, int in_place, const float *w, int *pieces) {
  size_t out_n = (size_t)n * osc_plan_output_size(p);
  float *out = rt_guarded(out_n);
  osc_kernel *k = NULL;
  osc_kernel_info info;
  osc_error err;
  if (!out || osc_kernel_create(p, o, &k, &err) != OSC_OK ||
      run_kernel(k, p, n, in, res, in_place, out, w) != OSC_OK) {
    osc_kernel_free(k);
    rt_guarded_free(out);
    return NULL;
  }
  osc_kernel_get_info(k, &info);
  if (pieces) *pieces = info.threads;
  osc_kernel_free(k);
  return out;
}

static float *run_with(const osc_plan *p, const osc_kernel_options *o, int n, const float *in,
                       const float *w, int *pieces) {
  return run_res_with(p, o, n, in, NULL, 0, w, pieces);
}

/* p on 1 to 4 threads: every run has the 1-thread run's bits and keeps its
** guards, and that run matches the reference (a residual layer's with a
** random residual, in place on every other thread count). Returns how many
** runs split. */
static int check_thread_counts(const osc_plan *p, int n, uint64_t *rng) {
  size_t out_n = (size_t)n * osc_plan_output_size(p);
  float *in = rt_random_floats((size_t)n * osc_plan_input_size(p), rng);
  float *w = rt_random_floats(osc_plan_weights_size(p), rng);
  float *res = p->layer.residual ? rt_random_floats(out_n, rng) : NULL;
  float *want = calloc(out_n ? out_n : 1, sizeof *want);
  osc_kernel_options o = {.threads = 1};
  float *one = run_res_with(p, &o, n, in, res, 0, w, NULL);
  int split = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(one);
  CU_ASSERT(rt_guards_intact(one, out_n));
  CU_ASSERT_EQUAL(oscref_chain_residual(p, n, in, res, w, want), 0);
  CU_ASSERT(rt_rel_l2(one, want, out_n) < 1e-5);
  for (int t = 2; t <= 4; t++) {
    int pieces = 0;
    float *got;
    o.threads = t;
    got = run_res_with(p, &o, n, in, res, t % 2, w, &pieces);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT(pieces >= 1 && pieces <= t);
    CU_ASSERT(memcmp(got, one, out_n * sizeof *got) == 0);
    CU_ASSERT(rt_guards_intact(got, out_n));
    split += pieces > 1;
    rt_guarded_free(got);
  }
  rt_guarded_free(one);
  free(in), free(w), free(want), free(res);
  return split;
}

static const char *const isa_names[] = {"c", "avx2", "avx512"};

static void test_random_plans_every_isa(void) {
  uint64_t rng = rt_rng() ^ 0x7412;
  int per_isa = osc_test_quick() ? 6 : 20;
  osc_kernel_set_split_min_macs(1);   /* split every stage of these tiny layers */
  for (int isa = OSC_ISA_C; isa <= (int)osc_isa_host(); isa++) {
    int split = 0;
    setenv("OSCONV_ISA", isa_names[isa - 1], 1);
    for (int done = 0; done < per_isa;) {
      osc_plan p;
      if (!rt_random_plan(&rng, &p)) continue;
      p.layer.residual = done % 2;   /* half the plans add a residual */
      done++;
      /* 1 or 2 images: stages split; 3 or 4: images too, on 2 to 4 threads */
      split += check_thread_counts(&p, osc_test_range(&rng, 1, 4), &rng);
    }
    CU_ASSERT(split > 0);   /* else the test tested nothing */
  }
  unsetenv("OSCONV_ISA");
  osc_kernel_set_split_min_macs(0);
}

/* Each stage kernel, forced through the emitter's knob, splits: the
** source is compiled as a JIT kernel of its own. */
static int forced_kernel_splits(const osc_plan *p, const osc_stage_kernel *sk, uint64_t *rng) {
  osc_emit_knobs kn = {.kernel = sk->name};
  /* an oc kernel for its own ISA: avx2_oc_auto competes with avx2_px, not avx512_px */
  osc_emit_options eo = {OSC_JIT_PREFIX, 1, osc_oc_kernel(sk) ? (int)sk->isa : (int)osc_isa_host()};
  osc_kernel_options o = {.threads = 1, .no_cache = 1};
  size_t out_n = osc_plan_output_size(p);
  float *in = rt_random_floats(osc_plan_input_size(p), rng);
  float *w = rt_random_floats(osc_plan_weights_size(p), rng);
  float *pk = calloc(osc_plan_weights_size(p), sizeof *pk);   /* as the code reads them */
  float *res = p->layer.residual ? rt_random_floats(out_n, rng) : NULL;
  float *one = rt_guarded(out_n), *got = rt_guarded(out_n), *want = calloc(out_n, sizeof *want);
  char used[80];
  osc_kernel *k1 = NULL, *k3 = NULL;
  osc_kernel_info info;
  osc_error err;
  osc_buf src;
  int tested = 0;
  osc_buf_init(&src);
  snprintf(used, sizeof used, "(%s)", sk->name);
  if (osc_emit_layer_knobs(p, &eo, &kn, &src, &err) == OSC_OK && strstr(src.data, used)) {
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create_from_source(p, src.data, OSC_JIT_SYMBOL, &o, &k1,
                                                        &err), OSC_OK);
    o.threads = 3;
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create_from_source(p, src.data, OSC_JIT_SYMBOL, &o, &k3,
                                                        &err), OSC_OK);
    osc_kernel_get_info(k3, &info);
    CU_ASSERT_EQUAL(osc_kernel_pack(k1, w, pk, &err), OSC_OK);   /* the oc kernels pack, others copy */
    CU_ASSERT_EQUAL(run_kernel(k1, p, 1, in, res, 0, one, pk), OSC_OK);
    CU_ASSERT_EQUAL(run_kernel(k3, p, 1, in, res, 1, got, pk), OSC_OK);   /* in place */
    CU_ASSERT(memcmp(one, got, out_n * sizeof *got) == 0);
    CU_ASSERT(rt_guards_intact(got, out_n));
    CU_ASSERT_EQUAL(oscref_chain_residual(p, 1, in, res, w, want), 0);
    CU_ASSERT(rt_rel_l2(got, want, out_n) < 1e-5);
    tested = info.threads > 1;
  }
  osc_kernel_free(k1);
  osc_kernel_free(k3);
  osc_buf_free(&src);
  rt_guarded_free(one), rt_guarded_free(got);
  free(in), free(w), free(pk), free(want), free(res);
  return tested;
}

static void test_every_stage_kernel_splits(void) {
  uint64_t rng = rt_rng() ^ 0x5717;
  osc_kernel_set_split_min_macs(1);
  for (int i = 0; osc_stage_kernels[i]; i++) {
    const osc_stage_kernel *sk = osc_stage_kernels[i];
    int tested = 0;
    if (sk->isa > osc_isa_host()) continue;
    /* four plans that split, the second and fourth with a residual */
    for (int tries = 0; tries < 400 && tested < 4; tries++) {
      osc_plan p;
      if (osc_oc_kernel(sk)) {   /* 16 outputs a vector: dense layers of 2-4 tiles */
        static const int c[4] = {128, 192, 256, 128}, hw[4] = {5, 4, 3, 6};
        p = rt_square_plan("oc", c[tries % 4], hw[tries % 4], 3, OSC_MODE_CONVENTIONAL, 1,
                           OSC_ACT_RELU);
      } else if (!rt_random_plan(&rng, &p)) {
        continue;
      }
      p.layer.residual = tested % 2;
      tested += forced_kernel_splits(&p, sk, &rng);
    }
    CU_ASSERT_EQUAL(tested, 4);
    if (tested < 4) fprintf(stderr, "\n  kernel %s: split on only %d plans\n", sk->name, tested);
  }
  osc_kernel_set_split_min_macs(0);
}

/* ---- the caller's pool ----------------------------------------------------------- */

/* A caller's parallel-for that runs every task on a thread of its own (so
** no piece runs on the calling thread), counts its calls and checks that
** each task leaves that thread's MXCSR as it found it. */
typedef struct other_pool {
  atomic_int calls, tasks, mxcsr_changed;
} other_pool;

typedef struct other_job {
  other_pool *pool;
  void (*task)(void *, size_t);
  void *arg;
  size_t n;
} other_job;

static void *other_thread(void *a) {
  other_job *j = a;
  for (size_t i = j->n; i-- > 0;) {   /* backwards: any order must do */
    unsigned int before = osc_fpenv_current();
    j->task(j->arg, i);
    if (osc_fpenv_current() != before) atomic_fetch_add(&j->pool->mxcsr_changed, 1);
    atomic_fetch_add(&j->pool->tasks, 1);
  }
  return NULL;
}

static void other_parallel_for(void *ctx, void (*task)(void *, size_t), void *arg, size_t n) {
  other_job j = {ctx, task, arg, n};
  pthread_t t;
  atomic_fetch_add(&((other_pool *)ctx)->calls, 1);
  if (pthread_create(&t, NULL, other_thread, &j) == 0) pthread_join(t, NULL);
}

/* c -> c channels, 3x3, hw x hw, conventional: 16 channels at 32x32 are
** 2.4M multiply-adds, enough to split; 4 at 6x6, 5184, are not. */
static osc_plan square_plan(int c, int hw, int bias) {
  char name[32];
  snprintf(name, sizeof name, "sq%d_%d", c, hw);
  return rt_square_plan(name, c, hw, 3, OSC_MODE_CONVENTIONAL, bias, OSC_ACT_NONE);
}

static void test_caller_parallel_for(void) {
  osc_plan p = square_plan(16, 32, 1), tiny = square_plan(4, 6, 1);
  other_pool pool = {0};
  osc_kernel_options o = {.parallel_for = other_parallel_for, .parallel_ctx = &pool};
  osc_kernel_options serial = {.threads = 1};
  uint64_t rng = rt_rng() ^ 0xca11;
  size_t out_n = 2 * osc_plan_output_size(&p);
  float *in = rt_random_floats(2 * osc_plan_input_size(&p), &rng);
  float *w = rt_random_floats(osc_plan_weights_size(&p), &rng);
  int pieces = 0;
  float *one = run_with(&p, &serial, 2, in, w, NULL), *got = run_with(&p, &o, 2, in, w, &pieces);
  CU_ASSERT_PTR_NOT_NULL_FATAL(one);
  CU_ASSERT_PTR_NOT_NULL_FATAL(got);
  CU_ASSERT(pieces > 1);
  CU_ASSERT(atomic_load(&pool.calls) > 0);
  CU_ASSERT(atomic_load(&pool.tasks) >= 2 * pieces);   /* two images */
  CU_ASSERT_EQUAL(atomic_load(&pool.mxcsr_changed), 0);
  CU_ASSERT(memcmp(one, got, out_n * sizeof *got) == 0);
  CU_ASSERT(rt_guards_intact(got, out_n));
  rt_guarded_free(one), rt_guarded_free(got);
  free(in), free(w);
  /* a tiny layer never reaches the pool: it runs inline */
  atomic_store(&pool.calls, 0);
  in = rt_random_floats(osc_plan_input_size(&tiny), &rng);
  w = rt_random_floats(osc_plan_weights_size(&tiny), &rng);
  got = run_with(&tiny, &o, 1, in, w, &pieces);
  CU_ASSERT_PTR_NOT_NULL(got);
  CU_ASSERT_EQUAL(pieces, 1);
  CU_ASSERT_EQUAL(atomic_load(&pool.calls), 0);
  rt_guarded_free(got);
  free(in), free(w);
}

/* A residual layer big enough to split at the default piece size, on the
** kernel's own pool of 4 and on the caller's parallel-for, the residual in
** out (in place) and apart: the serial run's bits, the reference's values. */
static void test_residual_splits(void) {
  osc_plan p = square_plan(16, 32, 1);
  other_pool pool = {0};
  osc_kernel_options serial = {.threads = 1}, four = {.threads = 4};
  osc_kernel_options caller = {.parallel_for = other_parallel_for, .parallel_ctx = &pool};
  uint64_t rng = rt_rng() ^ 0x4e5;
  size_t out_n = 2 * osc_plan_output_size(&p);
  float *in, *w, *res, *want, *one;
  p.layer.residual = 1;
  in = rt_random_floats(2 * osc_plan_input_size(&p), &rng);
  w = rt_random_floats(osc_plan_weights_size(&p), &rng);
  res = rt_random_floats(out_n, &rng);
  want = calloc(out_n, sizeof *want);
  one = run_res_with(&p, &serial, 2, in, res, 0, w, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(one);
  CU_ASSERT_EQUAL(oscref_chain_residual(&p, 2, in, res, w, want), 0);
  CU_ASSERT(rt_rel_l2(one, want, out_n) < 1e-5);
  for (int c = 0; c < 4; c++) {
    int pieces = 0;
    float *got = run_res_with(&p, c < 2 ? &four : &caller, 2, in, res, c % 2, w, &pieces);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT(pieces > 1);
    CU_ASSERT(memcmp(got, one, out_n * sizeof *got) == 0);
    CU_ASSERT(rt_guards_intact(got, out_n));
    rt_guarded_free(got);
  }
  CU_ASSERT(atomic_load(&pool.calls) > 0);
  rt_guarded_free(one);
  free(in), free(w), free(res), free(want);
}

/* ---- small layers, options, the environment --------------------------------------- */

static void test_small_layers_inline(void) {
  osc_plan tiny = square_plan(4, 6, 0), mid = square_plan(16, 32, 0);
  osc_kernel_options o = {.threads = 4};
  osc_kernel_options ref = {.backend = OSC_BACKEND_REFERENCE, .threads = 4};
  osc_kernel *k = NULL;
  osc_kernel_info info;
  osc_error err;
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&tiny, &o, &k, &err), OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT_EQUAL(info.threads, 1);   /* 5184 MACs: below one piece's worth */
  osc_kernel_free(k);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&mid, &o, &k, &err), OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT(info.threads > 1 && info.threads <= 4);
  osc_kernel_free(k);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&mid, &ref, &k, &err), OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT_EQUAL(info.threads, 1);   /* the reference runs serially */
  osc_kernel_free(k);
}

static void test_threads_option_and_env(void) {
  osc_plan mid = square_plan(16, 32, 0);
  osc_kernel_options o = {.threads = -1};
  const char *old = getenv("OSCONV_NUM_THREADS");
  char *saved = old ? strdup(old) : NULL;
  osc_kernel *k = (osc_kernel *)1;
  osc_kernel_info info;
  osc_error err;
  CU_ASSERT_EQUAL(osc_kernel_create(&mid, &o, &k, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NULL(k);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "threads must be 0..1024, got -1"));
  o.threads = 1025;
  CU_ASSERT_EQUAL(osc_kernel_create(&mid, &o, &k, &err), OSC_EINVAL);
  o.threads = 0;   /* the shared pool, sized by the environment */
  setenv("OSCONV_NUM_THREADS", "1", 1);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&mid, &o, &k, &err), OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT_EQUAL(info.threads, 1);
  osc_kernel_free(k);
  setenv("OSCONV_NUM_THREADS", "2", 1);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&mid, &o, &k, &err), OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT(info.threads >= 1 && info.threads <= 2);
  osc_kernel_free(k);
  if (saved) setenv("OSCONV_NUM_THREADS", saved, 1);
  else unsetenv("OSCONV_NUM_THREADS");
  free(saved);
}

/* ---- the floating-point state on other threads ------------------------------------ */

static float *filled(size_t n, float v) {
  float *x = malloc(n * sizeof *x);
  for (size_t i = 0; x && i < n; i++) x[i] = v;
  return x;
}

/* Denormal inputs (1e-39) times weights of 1: a sum of 144 of them is a
** normal number (1.4e-37), so only DAZ on the thread that computes it
** makes the output 0. Every piece runs on the caller's pool's thread. */
static void test_denormals_flushed_on_other_threads(void) {
  osc_plan p = square_plan(16, 32, 0);
  other_pool pool = {0};
  osc_kernel_options o = {.parallel_for = other_parallel_for, .parallel_ctx = &pool};
  osc_kernel_options keep = o, keep1 = {.threads = 1, .keep_denormals = 1};
  size_t out_n = osc_plan_output_size(&p);
  float *in = filled(osc_plan_input_size(&p), 1e-39f), *w = filled(osc_plan_weights_size(&p), 1);
  int pieces = 0, zeros = 0;
  float *got = run_with(&p, &o, 1, in, w, &pieces), *kept, *kept1;
  CU_ASSERT_PTR_NOT_NULL_FATAL(got);
  CU_ASSERT(pieces > 1);
  for (size_t i = 0; i < out_n; i++) zeros += got[i] == 0.0f;
  CU_ASSERT_EQUAL((size_t)zeros, out_n);
  /* keep_denormals: the pieces run in the caller's state as it is */
  keep.keep_denormals = 1;
  kept = run_with(&p, &keep, 1, in, w, NULL);
  kept1 = run_with(&p, &keep1, 1, in, w, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(kept);
  CU_ASSERT_PTR_NOT_NULL_FATAL(kept1);
  CU_ASSERT(kept[0] > 0.0f);
  CU_ASSERT(memcmp(kept, kept1, out_n * sizeof *kept) == 0);
  CU_ASSERT_EQUAL(atomic_load(&pool.mxcsr_changed), 0);
  rt_guarded_free(got), rt_guarded_free(kept), rt_guarded_free(kept1);
  free(in), free(w);
}

/* 1e30 * 1e30 overflows on the other thread: the caller's MXCSR gets the
** overflow flag, and keeps its control bits. */
static void test_exception_flags_reach_the_caller(void) {
#if defined(__x86_64__)
  osc_plan p = square_plan(16, 32, 0);
  other_pool pool = {0};
  osc_kernel_options o = {.parallel_for = other_parallel_for, .parallel_ctx = &pool};
  float *in = filled(osc_plan_input_size(&p), 1e30f), *w = filled(osc_plan_weights_size(&p), 1e30f);
  osc_fpenv saved;
  unsigned int before, after;
  int pieces = 0;
  float *got;
  osc_fpenv_enter(&saved, osc_fpenv_current());   /* flags cleared */
  before = osc_fpenv_current();
  got = run_with(&p, &o, 1, in, w, &pieces);
  after = osc_fpenv_current();
  osc_fpenv_leave(&saved);
  CU_ASSERT_PTR_NOT_NULL_FATAL(got);
  CU_ASSERT(pieces > 1);
  CU_ASSERT_EQUAL(before & OSC_MXCSR_FLAGS, 0);
  CU_ASSERT(after & 0x08u);   /* OE: overflow */
  CU_ASSERT_EQUAL(after & ~OSC_MXCSR_FLAGS, before & ~OSC_MXCSR_FLAGS);
  rt_guarded_free(got);
  free(in), free(w);
#endif
}

/* The split rule against brute force over equal-share schedules: the
** busiest thread's tiles, ceil(pieces / threads) * ceil(tiles / pieces),
** is the least any allowed count gives, and pieces obey the caps. */
static void test_split_pieces_balance(void) {
  const int64_t least = OSC_SPLIT_MIN_MACS;
  /* 3x3/g32 of the stride-2 28x28 layer: 3 pieces by work, 32 tiles: 2 on 2 threads */
  CU_ASSERT_EQUAL(osc_split_pieces(3 * least + 5, 32, 2, 8), 2);
  CU_ASSERT_EQUAL(osc_split_pieces(18 * least, 8, 2, 8), 8);   /* a tile each */
  CU_ASSERT_EQUAL(osc_split_pieces(least - 1, 8, 2, 8), 1);    /* under the least: inline */
  CU_ASSERT_EQUAL(osc_split_pieces(5 * least, 64, 0, 0), 5);   /* threads unknown: by work */
  for (int tiles = 1; tiles <= 40; tiles++)
    for (int threads = 1; threads <= 4; threads++)
      for (int64_t work = 0; work <= 12; work++) {
        int got = osc_split_pieces(work * least, tiles, threads, 4 * threads), best = tiles;
        int limit = tiles < work ? tiles : (int)work;
        if (limit > 4 * threads) limit = 4 * threads;
        CU_ASSERT(got >= 1 && got <= (limit > 1 ? limit : 1));
        for (int q = 1; q <= limit; q++) {
          int load = (q + threads - 1) / threads * ((tiles + q - 1) / q);
          if (load < best) best = load;
        }
        CU_ASSERT_EQUAL((got + threads - 1) / threads * ((tiles + got - 1) / got), best);
      }
}

static CU_TestInfo tests[] = {
    {"split pieces: the busiest thread's tiles least", test_split_pieces_balance},
    {"random plans, every ISA, 1-4 threads: bits of 1 thread, reference", test_random_plans_every_isa},
    {"every stage kernel splits", test_every_stage_kernel_splits},
    {"caller's parallel_for", test_caller_parallel_for},
    {"residual layers split, in place and not", test_residual_splits},
    {"small layers run inline; the reference serially", test_small_layers_inline},
    {"threads option and OSCONV_NUM_THREADS", test_threads_option_and_env},
    {"denormals flushed on other threads", test_denormals_flushed_on_other_threads},
    {"exception flags reach the caller", test_exception_flags_reach_the_caller},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("threads", tests)

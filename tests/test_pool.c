/*
** test_pool.c -- the thread pool (runtime/oscpool.c): every tile runs
** exactly once for any thread count, tile count and grain; jobs from
** several threads at once all complete; the default thread count follows
** OSCONV_NUM_THREADS and the affinity mask; a forked child runs inline.
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oscpool.h"
#include "osc_test.h"

typedef struct job {
  atomic_int *hits;   /* per tile */
  size_t n;
  atomic_int bad;     /* a range outside [0, n) or empty */
} job;

static void count_tiles(void *ctx, size_t b, size_t e) {
  job *j = ctx;
  if (!(b < e && e <= j->n)) atomic_fetch_add(&j->bad, 1);
  for (size_t i = b; i < e && i < j->n; i++) atomic_fetch_add(&j->hits[i], 1);
}

/* 1 if pool p ran every one of n tiles exactly once */
static int runs_each_tile_once(osc_pool *p, size_t n, size_t grain) {
  job j = {calloc(n ? n : 1, sizeof(atomic_int)), n, 0};
  int ok = j.hits != NULL;
  osc_pool_run(p, n, grain, count_tiles, &j);
  for (size_t i = 0; ok && i < n; i++) ok = atomic_load(&j.hits[i]) == 1;
  ok = ok && atomic_load(&j.bad) == 0;
  free(j.hits);
  return ok;
}

static void test_every_tile_once(void) {
  static const size_t sizes[] = {0, 1, 2, 3, 7, 64, 65, 1000, 4099};
  static const size_t grains[] = {1, 2, 5, 64, 5000};
  for (int t = 1; t <= 4; t++) {
    osc_pool *p = NULL;
    osc_error e;
    CU_ASSERT_EQUAL_FATAL(osc_pool_create(t, &p, &e), OSC_OK);
    CU_ASSERT_EQUAL(osc_pool_threads(p), t);
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
      for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++)
        CU_ASSERT(runs_each_tile_once(p, sizes[a], grains[g]));
    osc_pool_free(p);
  }
  osc_pool_free(NULL);
  CU_ASSERT(runs_each_tile_once(NULL, 100, 3));   /* no pool: inline */
}

static void *hammer(void *arg) {
  intptr_t ok = 1;
  for (int i = 0; i < 200 && ok; i++) ok = runs_each_tile_once(arg, 97 + (size_t)i, 4);
  return (void *)ok;
}

/* Kernels may run from several threads at once on the one pool. */
static void test_concurrent_callers(void) {
  osc_pool *p = NULL;
  osc_error e;
  pthread_t th[4];
  CU_ASSERT_EQUAL_FATAL(osc_pool_create(3, &p, &e), OSC_OK);
  for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, hammer, p), 0);
  for (int i = 0; i < 4; i++) {
    void *ok = NULL;
    pthread_join(th[i], &ok);
    CU_ASSERT(ok == (void *)1);
  }
  osc_pool_free(p);
}

/* A job of steps: every tile of every step once, and each tile of step
** s + 1 starts only after all of step s's tiles ended (the barrier). The
** tiles sleep a little, at random, so threads reach the barrier apart. */
typedef struct steps_job {
  atomic_int hits[3][64];
  atomic_int ended[3];   /* tiles of the step that returned */
  size_t n[3];
  atomic_int early;      /* tiles that started before the step before ended */
  atomic_uint seed;
} steps_job;

static void step_tiles(void *ctx, int s, size_t b, size_t e) {
  steps_job *j = ctx;
  for (size_t i = b; i < e; i++) {
    unsigned r = atomic_fetch_add(&j->seed, 2654435761u);
    if (s > 0 && atomic_load(&j->ended[s - 1]) != (int)j->n[s - 1]) atomic_fetch_add(&j->early, 1);
    if (r >> 28 == 0) {
      struct timespec t = {0, 20000};
      nanosleep(&t, NULL);
    }
    atomic_fetch_add(&j->hits[s][i], 1);
    atomic_fetch_add(&j->ended[s], 1);
  }
}

static void test_steps_in_order(void) {
  static const size_t sizes[][3] = {{64, 7, 33}, {1, 64, 2}, {5, 1, 1}, {0, 9, 3}};
  static const size_t grains[][3] = {{1, 1, 1}, {4, 2, 1}, {64, 64, 64}, {3, 1, 2}};
  for (int t = 1; t <= 4; t++) {
    osc_pool *p = NULL;
    osc_error e;
    CU_ASSERT_EQUAL_FATAL(osc_pool_create(t, &p, &e), OSC_OK);
    for (int rep = 0; rep < 20; rep++)
      for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++) {
        steps_job *j = calloc(1, sizeof *j);
        int ok = 1;
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        memcpy(j->n, sizes[a], sizeof j->n);
        osc_pool_run_steps(p, 3, j->n, grains[(a + (size_t)rep) % 4], step_tiles, j);
        for (int s = 0; s < 3; s++)
          for (size_t i = 0; i < 64; i++) ok &= atomic_load(&j->hits[s][i]) == (i < j->n[s]);
        CU_ASSERT(ok);
        CU_ASSERT_EQUAL(atomic_load(&j->early), 0);
        free(j);
      }
    osc_pool_free(p);
  }
}

/* A child forked after the workers started has none of them: its jobs run
** inline (they would wait forever for the parent's workers otherwise) and
** freeing the pool there returns. alarm() turns a hang into a failure. */
static void test_fork_child_runs_inline(void) {
  osc_pool *p = NULL;
  osc_error e;
  pid_t child;
  int status = 0;
  CU_ASSERT_EQUAL_FATAL(osc_pool_create(3, &p, &e), OSC_OK);
  CU_ASSERT(runs_each_tile_once(p, 64, 1));   /* the workers exist now */
  fflush(NULL);
  if ((child = fork()) == 0) {
    alarm(5);
    int ok = runs_each_tile_once(p, 64, 1) && runs_each_tile_once(p, 7, 2);
    osc_pool_free(p);
    _exit(ok ? 0 : 1);
  }
  CU_ASSERT_FATAL(child > 0);
  CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
  CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CU_ASSERT(runs_each_tile_once(p, 64, 1));   /* the parent's pool is untouched */
  osc_pool_free(p);
}

static void test_default_threads(void) {
  cpu_set_t set;
  const char *old = getenv("OSCONV_NUM_THREADS");
  char *saved = old ? strdup(old) : NULL;
  osc_pool *p = (osc_pool *)1;
  osc_error e;
  CU_ASSERT_EQUAL(sched_getaffinity(0, sizeof set, &set), 0);
  unsetenv("OSCONV_NUM_THREADS");
  CU_ASSERT_EQUAL(osc_pool_default_threads(), CPU_COUNT(&set));
  setenv("OSCONV_NUM_THREADS", "3", 1);
  CU_ASSERT_EQUAL(osc_pool_default_threads(), 3);
  setenv("OSCONV_NUM_THREADS", "0", 1);   /* not 1..1024: the CPUs */
  CU_ASSERT_EQUAL(osc_pool_default_threads(), CPU_COUNT(&set));
  setenv("OSCONV_NUM_THREADS", "4x", 1);
  CU_ASSERT_EQUAL(osc_pool_default_threads(), CPU_COUNT(&set));
  if (saved) setenv("OSCONV_NUM_THREADS", saved, 1);
  else unsetenv("OSCONV_NUM_THREADS");
  free(saved);
  CU_ASSERT_EQUAL(osc_pool_create(0, &p, &e), OSC_EINVAL);
  CU_ASSERT_PTR_NULL(p);
}

static CU_TestInfo tests[] = {
    {"every tile once", test_every_tile_once},
    {"steps in order", test_steps_in_order},
    {"concurrent callers", test_concurrent_callers},
    {"default threads", test_default_threads},
    {"a forked child runs inline", test_fork_child_runs_inline},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("pool", tests)

/*
** oscpool.c -- the thread pool behind osc_pool_run (oscpool.h).
**
** One job at a time: the caller publishes it under `lock`, bumps
** `generation` and wakes the workers; every thread, the caller included,
** then takes chunks of tiles from the atomic `next` until none are left.
** The caller waits until every worker has left the job (`busy` = 0) before
** it returns, so the job's context may live on the caller's stack.
**
** A job is a few steps run in order (a layer's stages): every thread
** takes chunks of step s, then waits until all of step s's tiles are done
** (`finished[s]` counts tiles, not threads, so a worker that wakes late holds
** nobody: the others run its share and it finds the step finished) before
** it takes chunks of step s + 1. One wake-up and one join per layer,
** instead of one per stage.
**
** Waiting spins first, as pthreadpool does: a worker that finished a job
** watches `generation` for about SPIN_NS before it sleeps on `wake`, and
** the caller watches `busy` as long before it sleeps on `done`. A layer's
** stages come tens of microseconds apart, and waking a sleeping thread
** (a futex call, the scheduler's latency; on a VM an interrupt to a halted
** virtual CPU) costs a good part of that. Sleepers are counted, so a job
** whose workers all spin wakes nobody. (Under SCHED_FIFO on two idle
** cores the spin measured the same as none; it is for ordinary, busier
** schedulers.)
*/
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#include "oscpool.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "oscerr.h"

struct osc_pool {
  int threads;              /* asked for: workers + the calling thread; never changes */
  pthread_t *workers;
  int started;              /* workers created so far */
  pid_t owner;              /* the process they run in: a forked child has none */
  pthread_mutex_t lock;     /* guards sleeping, the job's fields, stop */
  pthread_cond_t wake, done;
  pthread_mutex_t job_lock; /* held by the thread whose job runs */
  atomic_ulong generation;  /* bumped (release) once the job's fields are set */
  atomic_int busy;          /* workers still inside the current job */
  atomic_int stop;
  int sleepers;             /* workers waiting on `wake` */
  int caller_sleeps;        /* the caller waits on `done` */
  osc_pool_step_task task;
  void *ctx;
  int steps;
  size_t n[OSC_POOL_MAX_STEPS], grain[OSC_POOL_MAX_STEPS];
  atomic_size_t next[OSC_POOL_MAX_STEPS];   /* the first tile of step s not yet taken */
  atomic_size_t finished[OSC_POOL_MAX_STEPS];   /* tiles of step s done */
};

#define SPIN_NS 1000000L   /* 1 ms; pthreadpool spins 10^6 pauses, GOMP 3*10^5 */

static long elapsed_ns(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Spin until *v != old or about SPIN_NS passed; 1 if it changed. */
static int spin_ulong(atomic_ulong *v, unsigned long old, atomic_int *stop) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 1;; i++) {
    if (atomic_load_explicit(v, memory_order_acquire) != old || atomic_load(stop)) return 1;
    relax();
    if (i % 256 == 0 && elapsed_ns(&t0) > SPIN_NS) return 0;
  }
}

static int spin_zero(atomic_int *v) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 1;; i++) {
    if (atomic_load_explicit(v, memory_order_acquire) == 0) return 1;
    relax();
    if (i % 256 == 0 && elapsed_ns(&t0) > SPIN_NS) return 0;
  }
}

/* Until step s's tiles are all done: the others are running chunks they
** took, so this is short; yields now and then in case one was preempted. */
static void wait_step(atomic_size_t *finished, size_t n) {
  for (unsigned i = 1; atomic_load_explicit(finished, memory_order_acquire) < n; i++) {
    relax();
    if (i % 4096 == 0) sched_yield();
  }
}

static void take_chunks(osc_pool *p) {
  for (int s = 0; s < p->steps; s++) {
    size_t n = p->n[s], grain = p->grain[s];
    for (;;) {
      size_t b = atomic_fetch_add(&p->next[s], grain), e = b + grain < n ? b + grain : n;
      if (b >= n) break;
      p->task(p->ctx, s, b, e);
      atomic_fetch_add_explicit(&p->finished[s], e - b, memory_order_release);
    }
    if (s + 1 < p->steps) wait_step(&p->finished[s], n);
  }
}

/* The next job's generation once it is published, or 0 when stopping. */
static unsigned long next_job(osc_pool *p, unsigned long seen) {
  unsigned long g;
  if (!spin_ulong(&p->generation, seen, &p->stop)) {
    pthread_mutex_lock(&p->lock);
    p->sleepers++;
    while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen)
      pthread_cond_wait(&p->wake, &p->lock);
    p->sleepers--;
    pthread_mutex_unlock(&p->lock);
  }
  g = atomic_load_explicit(&p->generation, memory_order_acquire);
  return atomic_load(&p->stop) ? 0 : g;
}

/* Jobs are generations 1, 2, ...: a worker, started by a job's caller
** (which counts it in busy), takes part in that job first. */
static void *worker(void *arg) {
  osc_pool *p = arg;
  unsigned long seen = 0;
  while ((seen = next_job(p, seen)) != 0) {
    take_chunks(p);
    if (atomic_fetch_sub_explicit(&p->busy, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->lock);
      if (p->caller_sleeps) pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->lock);
    }
  }
  return NULL;
}

osc_status osc_pool_create(int threads, osc_pool **out, osc_error *err) {
  osc_pool *p;
  *out = NULL;
  if (threads < 1 || threads > 1024)
    return osc_error_set(err, OSC_EINVAL, "thread count must be 1..1024, got %d", threads);
  if (!(p = calloc(1, sizeof *p)) ||
      (threads > 1 && !(p->workers = calloc((size_t)threads - 1, sizeof *p->workers)))) {
    free(p);
    return osc_error_set(err, OSC_ENOMEM, "out of memory for a thread pool");
  }
  p->threads = threads;
  pthread_mutex_init(&p->lock, NULL);
  pthread_mutex_init(&p->job_lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  *out = p;
  return OSC_OK;
}

/* Workers start on the first job, so a pool that never runs costs nothing.
** A worker that cannot be created just leaves its share to the others
** (the next job tries again). Under p->lock. */
static void start_workers(osc_pool *p) {
  if (!p->started) p->owner = getpid();
  while (p->started < p->threads - 1 &&
         pthread_create(&p->workers[p->started], NULL, worker, p) == 0)
    p->started++;
}

void osc_pool_free(osc_pool *p) {
  if (!p) return;
  if (p->started && p->owner != getpid()) {   /* a forked child: no workers, locks unknown */
    free(p->workers);
    free(p);
    return;
  }
  pthread_mutex_lock(&p->lock);
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->started; i++) pthread_join(p->workers[i], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->lock);
  pthread_mutex_destroy(&p->job_lock);
  free(p->workers);
  free(p);
}

int osc_pool_threads(const osc_pool *p) { return p ? p->threads : 1; }

/* The job, in order, on the calling thread alone. */
static void run_inline(int steps, const size_t *n, osc_pool_step_task task, void *ctx) {
  for (int s = 0; s < steps; s++)
    if (n[s]) task(ctx, s, 0, n[s]);
}

void osc_pool_run_steps(osc_pool *p, int steps, const size_t *n, const size_t *grain,
                        osc_pool_step_task task, void *ctx) {
  int chunks = 0;
  assert(steps >= 0 && steps <= OSC_POOL_MAX_STEPS);
  for (int s = 0; s < steps; s++) {
    assert(grain[s] >= 1);
    chunks |= n[s] > grain[s];
  }
  if (!p || p->threads == 1 || !chunks || pthread_mutex_trylock(&p->job_lock) != 0) {
    run_inline(steps, n, task, ctx);   /* one chunk a step, or the pool is taken */
    return;
  }
  if (p->started && p->owner != getpid()) {   /* a forked child: the workers stayed behind */
    pthread_mutex_unlock(&p->job_lock);
    run_inline(steps, n, task, ctx);
    return;
  }
  pthread_mutex_lock(&p->lock);
  start_workers(p);
  p->task = task;
  p->ctx = ctx;
  p->steps = steps;
  for (int s = 0; s < steps; s++) {
    p->n[s] = n[s];
    p->grain[s] = grain[s];
    atomic_store(&p->next[s], 0);
    atomic_store(&p->finished[s], 0);
  }
  atomic_store(&p->busy, p->started);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  if (p->sleepers) pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  take_chunks(p);
  if (!spin_zero(&p->busy)) {
    pthread_mutex_lock(&p->lock);
    p->caller_sleeps = 1;
    while (atomic_load(&p->busy) > 0) pthread_cond_wait(&p->done, &p->lock);
    p->caller_sleeps = 0;
    pthread_mutex_unlock(&p->lock);
  }
  pthread_mutex_unlock(&p->job_lock);
}

typedef struct one_step {
  osc_pool_task task;
  void *ctx;
} one_step;

static void run_one_step(void *ctx, int step, size_t begin, size_t end) {
  one_step *o = ctx;
  (void)step;
  o->task(o->ctx, begin, end);
}

void osc_pool_run(osc_pool *p, size_t n, size_t grain, osc_pool_task task, void *ctx) {
  one_step o = {task, ctx};
  osc_pool_run_steps(p, 1, &n, &grain, run_one_step, &o);
}

int osc_pool_default_threads(void) {
  cpu_set_t set;
  long n = 0;
  const char *env = getenv("OSCONV_NUM_THREADS");
  if (env && *env) {
    char *end;
    n = strtol(env, &end, 10);
    if (*end == '\0' && n >= 1 && n <= 1024) return (int)n;
  }
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  return n >= 1 ? (int)n : 1;
}

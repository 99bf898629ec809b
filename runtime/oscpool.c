/*
** oscpool.c -- the thread pool behind osc_pool_run (oscpool.h).
**
** One job at a time: the caller publishes it under `lock`, bumps
** `generation` and wakes the workers; every thread, the caller included,
** then takes chunks of tiles from the atomic `next` until none are left.
** The caller waits until every worker has left the job (`busy` = 0) before
** it returns, so the job's context may live on the caller's stack.
*/
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#include "oscpool.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "oscerr.h"

struct osc_pool {
  int threads;              /* asked for: workers + the calling thread; never changes */
  pthread_t *workers;
  int started;              /* workers created so far */
  pthread_mutex_t lock;     /* guards everything below but `next` */
  pthread_cond_t wake, done;
  pthread_mutex_t job_lock; /* held by the thread whose job runs */
  unsigned long generation;
  int busy;                 /* workers still inside the current job */
  int stop;
  osc_pool_task task;
  void *ctx;
  size_t n, grain;
  atomic_size_t next;
};

static void take_chunks(osc_pool *p) {
  for (;;) {
    size_t b = atomic_fetch_add(&p->next, p->grain);
    if (b >= p->n) return;
    p->task(p->ctx, b, b + p->grain < p->n ? b + p->grain : p->n);
  }
}

static void *worker(void *arg) {
  osc_pool *p = arg;
  unsigned long seen = 0;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
    if (p->stop) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->lock);
    take_chunks(p);
    pthread_mutex_lock(&p->lock);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->lock);
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
  while (p->started < p->threads - 1 &&
         pthread_create(&p->workers[p->started], NULL, worker, p) == 0)
    p->started++;
}

void osc_pool_free(osc_pool *p) {
  if (!p) return;
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

void osc_pool_run(osc_pool *p, size_t n, size_t grain, osc_pool_task task, void *ctx) {
  assert(grain >= 1);
  if (n == 0) return;
  if (!p || p->threads == 1 || n <= grain || pthread_mutex_trylock(&p->job_lock) != 0) {
    task(ctx, 0, n);   /* one chunk, or the pool is taken: inline, in one go */
    return;
  }
  pthread_mutex_lock(&p->lock);
  start_workers(p);
  p->task = task;
  p->ctx = ctx;
  p->n = n;
  p->grain = grain;
  atomic_store(&p->next, 0);
  p->busy = p->started;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  take_chunks(p);
  pthread_mutex_lock(&p->lock);
  while (p->busy > 0) pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
  pthread_mutex_unlock(&p->job_lock);
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

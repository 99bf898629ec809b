/*
** oscpool.h -- osconv's own thread pool: a parallel-for over independent
** tiles. Workers are pthreads created on first use and kept; the thread
** that calls osc_pool_run works too, so a pool of n threads has n - 1
** workers. Tiles write disjoint outputs, so results do not depend on how
** they are split or on the thread count.
*/
#ifndef OSCPOOL_H
#define OSCPOOL_H

#include <stddef.h>

#include "osconv.h"

/* Run tiles [begin, end) of a job; called from any thread of the pool. */
typedef void (*osc_pool_task)(void *ctx, size_t begin, size_t end);

typedef struct osc_pool osc_pool;

/* A pool of `threads` threads (1 = run inline, never start a thread). */
osc_status osc_pool_create(int threads, osc_pool **out, osc_error *err);
/* Stops and joins the workers; NULL is fine. No job may be running. In a
** child forked after the workers started, osc_pool_run runs inline and
** free only frees. */
void osc_pool_free(osc_pool *p);
int osc_pool_threads(const osc_pool *p);

/* Run tiles 0..n-1 in chunks of `grain` (>= 1) and return when all are
** done. While another thread's job occupies the pool, the caller runs its
** own job inline instead of waiting, so concurrent kernels never deadlock
** or oversubscribe the CPUs. */
void osc_pool_run(osc_pool *p, size_t n, size_t grain, osc_pool_task task, void *ctx);

/* A job of `steps` (0..OSC_POOL_MAX_STEPS) steps run in order: step s is
** tiles 0..n[s]-1 in chunks of grain[s] (>= 1), and no tile of step s + 1
** starts before every tile of step s is done. One wake-up of the workers
** for all of them; otherwise as osc_pool_run. */
#define OSC_POOL_MAX_STEPS 16
typedef void (*osc_pool_step_task)(void *ctx, int step, size_t begin, size_t end);
void osc_pool_run_steps(osc_pool *p, int steps, const size_t *n, const size_t *grain,
                        osc_pool_step_task task, void *ctx);
/* The CPUs this process may use (sched_getaffinity), or OSCONV_NUM_THREADS
** when set to 1..1024; at least 1. */
int osc_pool_default_threads(void);

#endif

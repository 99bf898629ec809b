/*
** oscfault.h -- runtime allocations, with a test hook that makes them fail.
** Every allocation the kernel runtime makes (kernel handles, cache entries,
** code mappings, per-call scratch) goes through here, so a test can walk
** every out-of-memory path: fail the 1st, then the 2nd, ... allocation.
*/
#ifndef OSCFAULT_H
#define OSCFAULT_H

#include <stddef.h>

/* malloc / calloc that honour the injected fault. */
void *osc_rt_malloc(size_t size);
void *osc_rt_calloc(size_t n, size_t size);

/* 1 if the allocation about to happen must fail (consumes one tick). */
int osc_rt_fault(void);

/* Test hook: allocations after the next `after` ones fail (0: the very next
** one), until osc_rt_fault_inject(-1) turns the fault off. Not for threads. */
void osc_rt_fault_inject(int after);

#endif

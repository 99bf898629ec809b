/*
** oscfault.c -- runtime allocations with an injectable failure.
*/
#include "oscfault.h"

#include <stdatomic.h>
#include <stdlib.h>

/* < 0: no fault; otherwise allocations left before they start failing */
static atomic_int countdown = -1;

int osc_rt_fault(void) {
  int left = atomic_load(&countdown);
  if (left < 0) return 0;
  if (left == 0) return 1;
  atomic_store(&countdown, left - 1);
  return 0;
}

void osc_rt_fault_inject(int after) { atomic_store(&countdown, after < 0 ? -1 : after); }

void *osc_rt_malloc(size_t size) { return osc_rt_fault() ? NULL : malloc(size); }

void *osc_rt_calloc(size_t n, size_t size) { return osc_rt_fault() ? NULL : calloc(n, size); }

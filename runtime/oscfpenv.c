/*
** oscfpenv.c -- FTZ|DAZ around kernel runs (oscfpenv.h). MXCSR is per
** thread, so concurrent runs in other threads are not affected. The asm
** clobbers memory so that no load of the kernel's data moves across it
** (gcc may move plain arithmetic across _mm_setcsr).
*/
#include "oscfpenv.h"

#if defined(__x86_64__)

static unsigned int get_csr(void) {
  unsigned int c;
  __asm__ __volatile__("stmxcsr %0" : "=m"(c) : : "memory");
  return c;
}

static void set_csr(unsigned int c) { __asm__ __volatile__("ldmxcsr %0" : : "m"(c) : "memory"); }

void osc_fpenv_flush(osc_fpenv *e) {
  e->saved = get_csr();
  set_csr(e->saved | OSC_MXCSR_FTZ | OSC_MXCSR_DAZ);
}

void osc_fpenv_restore(const osc_fpenv *e) { set_csr(e->saved | (get_csr() & OSC_MXCSR_FLAGS)); }

unsigned int osc_fpenv_current(void) { return get_csr(); }

void osc_fpenv_enter(osc_fpenv *e, unsigned int csr) {
  e->saved = get_csr();
  set_csr(csr & ~OSC_MXCSR_FLAGS);
}

unsigned int osc_fpenv_leave(const osc_fpenv *e) {
  unsigned int raised = get_csr() & OSC_MXCSR_FLAGS;
  set_csr(e->saved);
  return raised;
}

void osc_fpenv_raise(unsigned int flags) { set_csr(get_csr() | (flags & OSC_MXCSR_FLAGS)); }

#else

void osc_fpenv_flush(osc_fpenv *e) { e->saved = 0; }
void osc_fpenv_restore(const osc_fpenv *e) { (void)e; }
unsigned int osc_fpenv_current(void) { return 0; }
void osc_fpenv_enter(osc_fpenv *e, unsigned int csr) { e->saved = csr; }
unsigned int osc_fpenv_leave(const osc_fpenv *e) { (void)e; return 0; }
void osc_fpenv_raise(unsigned int flags) { (void)flags; }

#endif

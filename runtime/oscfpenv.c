/*
** oscfpenv.c -- FTZ|DAZ around kernel runs (oscfpenv.h). MXCSR is per
** thread, so concurrent runs in other threads are not affected.
*/
#include "oscfpenv.h"

#if defined(__x86_64__)
#include <xmmintrin.h>

void osc_fpenv_flush(osc_fpenv *e) {
  e->saved = _mm_getcsr();
  _mm_setcsr(e->saved | OSC_MXCSR_FTZ | OSC_MXCSR_DAZ);
}

void osc_fpenv_restore(const osc_fpenv *e) {
  _mm_setcsr(e->saved | (_mm_getcsr() & OSC_MXCSR_FLAGS));
}

#else

void osc_fpenv_flush(osc_fpenv *e) { e->saved = 0; }
void osc_fpenv_restore(const osc_fpenv *e) { (void)e; }

#endif

/*
** oscfpenv.h -- the floating-point state kernels run in: flush-to-zero and
** denormals-are-zero (x86-64 MXCSR FTZ|DAZ) around a run, the caller's
** state back afterwards. Denormal operands can cost a CPU tens of times
** the work of normal ones (microcode assists); the numbers below FLT_MIN
** (2^-126) that they represent do not matter to a convolution of real
** data. Elsewhere these do nothing.
*/
#ifndef OSCFPENV_H
#define OSCFPENV_H

/* MXCSR bits: FTZ (results below FLT_MIN become 0), DAZ (denormal operands
** read as 0), and the six sticky exception flags. */
#define OSC_MXCSR_FTZ 0x8000u
#define OSC_MXCSR_DAZ 0x0040u
#define OSC_MXCSR_FLAGS 0x003fu

typedef struct osc_fpenv {
  unsigned int saved;   /* the caller's MXCSR */
} osc_fpenv;

/* Saves the caller's state into *e and turns FTZ and DAZ on. */
void osc_fpenv_flush(osc_fpenv *e);

/* Puts back the caller's state: every control bit (rounding, exception
** masks, FTZ, DAZ) as it was, its exception flags plus the ones the run
** raised (as feupdateenv does). */
void osc_fpenv_restore(const osc_fpenv *e);

/* The thread's MXCSR (0 elsewhere). */
unsigned int osc_fpenv_current(void);

/* A piece of a run on another thread (a pool worker): it takes on the
** run's state `csr` (the running thread's MXCSR, FTZ|DAZ included or not),
** its flags cleared, and saves its own in *e; osc_fpenv_leave puts that
** back and returns the exception flags the piece raised, which the running
** thread adds to its own with osc_fpenv_raise before osc_fpenv_restore. */
void osc_fpenv_enter(osc_fpenv *e, unsigned int csr);
unsigned int osc_fpenv_leave(const osc_fpenv *e);
void osc_fpenv_raise(unsigned int flags);

#endif

/*
** osctimefit.h -- the least-squares fit behind the time model's
** coefficients (bench/fit_time.c writes them to gen/osctime_coef.h):
** y ~ sum_j coef[j] x[j] with every coef >= 0, minimizing the squared
** *relative* error sum ((pred - y) / y)^2, so a 10 us stage weighs as much
** as a 10 ms one.
*/
#ifndef OSCTIMEFIT_H
#define OSCTIMEFIT_H

#define OSC_TIMEFIT_VARS 5

/* Fit n samples x[i][0..nv) -> y[i] > 0 (nv <= OSC_TIMEFIT_VARS): the exact
** non-negative optimum, found by solving the unconstrained problem on every
** subset of the variables (2^nv - 1 of them) and keeping the best one whose solution is
** non-negative. coef[j] = 0 for variables left out. Returns the residual
** (sum of squared relative errors), or -1 when n < 1 or a y is not positive. */
double osc_timefit(int n, int nv, const double (*x)[OSC_TIMEFIT_VARS], const double *y,
                   double *coef);

/* Relative errors |pred - y| / y of coef over the samples: median and worst. */
void osc_timefit_error(int n, int nv, const double (*x)[OSC_TIMEFIT_VARS], const double *y,
                       const double *coef, double *median, double *worst);

#endif

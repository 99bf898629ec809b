/*
** osctimefit.c -- non-negative least squares by subsets (see osctimefit.h).
** With at most five variables there are 31 subsets; the constrained
** optimum is the unconstrained optimum of the subset of its positive
** variables, so trying them all and keeping the best feasible one is exact.
*/
#include "osctimefit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NV OSC_TIMEFIT_VARS

/* Solve the k x k system a z = b by Gaussian elimination with partial
** pivoting; -1 if singular. */
static int solve(int k, double a[NV][NV], double *b, double *z) {
  for (int c = 0; c < k; c++) {
    int p = c;
    for (int r = c + 1; r < k; r++)
      if (fabs(a[r][c]) > fabs(a[p][c])) p = r;
    if (fabs(a[p][c]) < 1e-300) return -1;
    for (int j = 0; j < k; j++) { double t = a[c][j]; a[c][j] = a[p][j]; a[p][j] = t; }
    { double t = b[c]; b[c] = b[p]; b[p] = t; }
    for (int r = c + 1; r < k; r++) {
      double f = a[r][c] / a[c][c];
      for (int j = c; j < k; j++) a[r][j] -= f * a[c][j];
      b[r] -= f * b[c];
    }
  }
  for (int c = k - 1; c >= 0; c--) {
    double s = b[c];
    for (int j = c + 1; j < k; j++) s -= a[c][j] * z[j];
    z[c] = s / a[c][c];
  }
  return 0;
}

static double residual(int n, int nv, const double (*x)[NV], const double *y, const double *c) {
  double r = 0;
  for (int i = 0; i < n; i++) {
    double p = 0;
    for (int j = 0; j < nv; j++) p += c[j] * x[i][j];
    r += (p - y[i]) * (p - y[i]) / (y[i] * y[i]);
  }
  return r;
}

/* The relative least squares on the variables in `mask`: normal equations
** of the rows x[i] / y[i] against 1. */
static int fit_subset(int n, int nv, const double (*x)[NV], const double *y, unsigned mask,
                      double *coef) {
  int idx[NV], k = 0;
  double a[NV][NV] = {{0}}, b[NV] = {0}, z[NV];
  for (int j = 0; j < nv; j++)
    if (mask >> j & 1) idx[k++] = j;
  for (int i = 0; i < n; i++)
    for (int r = 0; r < k; r++) {
      double xr = x[i][idx[r]] / y[i];
      b[r] += xr;
      for (int c = 0; c < k; c++) a[r][c] += xr * x[i][idx[c]] / y[i];
    }
  if (solve(k, a, b, z)) return -1;
  memset(coef, 0, (size_t)nv * sizeof *coef);
  for (int r = 0; r < k; r++) {
    if (z[r] < 0) return -1;
    coef[idx[r]] = z[r];
  }
  return 0;
}

double osc_timefit(int n, int nv, const double (*x)[NV], const double *y, double *coef) {
  double best = -1, c[NV];
  if (n < 1 || nv < 1 || nv > NV) return -1;
  for (int i = 0; i < n; i++)
    if (!(y[i] > 0)) return -1;
  memset(coef, 0, (size_t)nv * sizeof *coef);
  best = residual(n, nv, x, y, coef);   /* the empty subset: all zero */
  for (unsigned mask = 1; mask < 1u << nv; mask++) {
    double r;
    if (fit_subset(n, nv, x, y, mask, c)) continue;
    if ((r = residual(n, nv, x, y, c)) < best) {
      best = r;
      memcpy(coef, c, (size_t)nv * sizeof *coef);
    }
  }
  return best;
}

static int cmp_double(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return (u > v) - (u < v);
}

void osc_timefit_error(int n, int nv, const double (*x)[NV], const double *y,
                       const double *coef, double *median, double *worst) {
  double *e = malloc((size_t)(n > 0 ? n : 1) * sizeof *e);
  *median = *worst = 0;
  if (!e || n < 1) { free(e); return; }
  for (int i = 0; i < n; i++) {
    double p = 0;
    for (int j = 0; j < nv; j++) p += coef[j] * x[i][j];
    e[i] = fabs(p - y[i]) / y[i];
  }
  qsort(e, (size_t)n, sizeof *e, cmp_double);
  *median = n % 2 ? e[n / 2] : (e[n / 2 - 1] + e[n / 2]) / 2;
  *worst = e[n - 1];
  free(e);
}

/*
** ob_peak.c -- what the pinned core can do at best, measured in the same
** run: FMA throughput with AVX-512 and with AVX2 (independent accumulators,
** more than FMA latency x FMA ports, so the loop is throughput-bound), and
** memory bandwidth as a STREAM triad over arrays far larger than the caches.
** The SIMD functions carry target attributes, so the bench builds with any
** flags, and run only where the CPU has the instructions.
*/
#include <immintrin.h>
#include <stdlib.h>

#include "obench.h"

static volatile float sink;

__attribute__((target("avx512f"))) static void fma512(long iters) {
  __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  /* distinct starting values: equal ones let the compiler merge the chains */
#define S5(i) _mm512_set1_ps(1 + (i) * 1e-3f)
  __m512 a0 = S5(0), a1 = S5(1), a2 = S5(2), a3 = S5(3), a4 = S5(4), a5 = S5(5), a6 = S5(6);
  __m512 a7 = S5(7), a8 = S5(8), a9 = S5(9), a10 = S5(10), a11 = S5(11), a12 = S5(12);
  __m512 a13 = S5(13), a14 = S5(14), a15 = S5(15);
  for (long i = 0; i < iters; i++) {
    a0 = _mm512_fmadd_ps(a0, m, c), a1 = _mm512_fmadd_ps(a1, m, c);
    a2 = _mm512_fmadd_ps(a2, m, c), a3 = _mm512_fmadd_ps(a3, m, c);
    a4 = _mm512_fmadd_ps(a4, m, c), a5 = _mm512_fmadd_ps(a5, m, c);
    a6 = _mm512_fmadd_ps(a6, m, c), a7 = _mm512_fmadd_ps(a7, m, c);
    a8 = _mm512_fmadd_ps(a8, m, c), a9 = _mm512_fmadd_ps(a9, m, c);
    a10 = _mm512_fmadd_ps(a10, m, c), a11 = _mm512_fmadd_ps(a11, m, c);
    a12 = _mm512_fmadd_ps(a12, m, c), a13 = _mm512_fmadd_ps(a13, m, c);
    a14 = _mm512_fmadd_ps(a14, m, c), a15 = _mm512_fmadd_ps(a15, m, c);
  }
  a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                     _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  a8 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
                     _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15)));
  sink = _mm512_reduce_add_ps(_mm512_add_ps(a0, a8));
}

/* 12 accumulators: with m and c that is 14 of AVX2's 16 registers. */
__attribute__((target("avx2,fma"))) static void fma256(long iters) {
  __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
#define S2(i) _mm256_set1_ps(1 + (i) * 1e-3f)
  __m256 a0 = S2(0), a1 = S2(1), a2 = S2(2), a3 = S2(3), a4 = S2(4), a5 = S2(5), a6 = S2(6);
  __m256 a7 = S2(7), a8 = S2(8), a9 = S2(9), a10 = S2(10), a11 = S2(11);
  float f[8];
  for (long i = 0; i < iters; i++) {
    a0 = _mm256_fmadd_ps(a0, m, c), a1 = _mm256_fmadd_ps(a1, m, c);
    a2 = _mm256_fmadd_ps(a2, m, c), a3 = _mm256_fmadd_ps(a3, m, c);
    a4 = _mm256_fmadd_ps(a4, m, c), a5 = _mm256_fmadd_ps(a5, m, c);
    a6 = _mm256_fmadd_ps(a6, m, c), a7 = _mm256_fmadd_ps(a7, m, c);
    a8 = _mm256_fmadd_ps(a8, m, c), a9 = _mm256_fmadd_ps(a9, m, c);
    a10 = _mm256_fmadd_ps(a10, m, c), a11 = _mm256_fmadd_ps(a11, m, c);
  }
  a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                     _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  _mm256_storeu_ps(f, a0);
  sink = f[0] + f[7];
}

static void triad(float *a, const float *b, const float *c, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
}

/* Best of `reps` (peaks are maxima: anything else is interference). */
static double best_ms(void (*f)(long), long iters, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = ob_now_ms();
    f(iters);
    t0 = ob_now_ms() - t0;
    if (t0 < best) best = t0;
  }
  return best;
}

void ob_peak_measure(ob_peak *p, int quick) {
  /* short runs, many of them: on a shared core the best one is the one no
  ** other process interrupted */
  long iters = quick ? 100000 : 1000000;
  int reps = quick ? 3 : 41;
  size_t n = quick ? ((size_t)1 << 20) : ((size_t)1 << 24);   /* 64 MiB per array */
  float *a = ob_alloc(n), *b = ob_alloc(n), *c = ob_alloc(n);
  double best = 1e30;
  __builtin_cpu_init();
  p->avx512_gflops = p->avx2_gflops = 0;
  if (__builtin_cpu_supports("avx512f"))
    p->avx512_gflops = (double)iters * 16 * 16 * 2 / (best_ms(fma512, iters, reps) * 1e6);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    p->avx2_gflops = (double)iters * 12 * 8 * 2 / (best_ms(fma256, iters, reps) * 1e6);
  ob_fill(b, n, 1, 1), ob_fill(c, n, 2, 1);
  triad(a, b, c, n);   /* fault the pages in */
  for (int r = 0; r < (reps + 3) / 4; r++) {
    double t0 = ob_now_ms();
    triad(a, b, c, n);
    t0 = ob_now_ms() - t0;
    if (t0 < best) best = t0;
  }
  sink = a[n / 2];
  p->triad_gbs = 3.0 * (double)n * sizeof(float) / (best * 1e6);
  free(a), free(b), free(c);
}

/*
** proto_regfuse.c -- a prototype, not part of osconv: would keeping the
** intermediate of two pointwise stages in registers pay, where keeping it
** in L1 (gen/x86/oscfuse.c) does not? Two grouped 1x1 stages of the deep
** chains (C = 64, 16 groups, fan-in 4, ChannelShuffle(16) between: the
** first two stages of c64_56_k3 at max_stages 4), written with AVX-512
** intrinsics three ways:
**   two stages   one pass per stage over the plane, as osconv's pointwise
**                shape does (a tile: 4 outputs x 6 vectors, the fan-in
**                unrolled), the intermediate through memory;
**   per B group  per 2 vectors of pixels and second-stage group: its 4
**                intermediates, each from its first-stage group's inputs
**                (loaded again for each), into the group's 4 outputs;
**   component    per vector: the 4 first-stage groups whose outputs feed
**                exactly 4 second-stage groups (the shuffle's closed
**                blocks), each group's inputs loaded once, its 4
**                intermediates multiplied straight into the 16 outputs
**                (the plane's last vector masked; the others' tails scalar).
** All three compute every output in the same order, so they must agree
** bit for bit (checked: exit 1 otherwise). README "Figures", "Fused
** pointwise runs". Build and run, per plane size:
**   for hw in 196 784 3136; do
**     gcc -std=c11 -O3 -march=native -DHW=$hw -o /tmp/regfuse bench/proto_regfuse.c -lm &&
**       flock /tmp/osconv-core1.lock taskset -c 1 /tmp/regfuse; done
*/
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define C 64
#define G 16
#define N 4   /* fan-in = outputs per group, both stages */
#ifndef HW
#define HW 3136
#endif

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Output o of second-stage group gb at pixel q, in the order of the
** vector code (fmaf: one rounding, as _mm512_fmadd_ps). */
static float pixel(const float *in, const float *wa, const float *wb, int gb, int o, int q) {
  float a = 0;
  for (int k = 0; k < N; k++) {
    int c = gb * N + k, ga = c % G, j = c / G;
    float t = 0;
    for (int i = 0; i < N; i++) t = fmaf(wa[(ga * N + j) * N + i], in[(ga * N + i) * HW + q], t);
    a = fmaf(wb[(gb * N + o) * N + k], t, a);
  }
  return a;
}

static void tail(const float *in, float *out, const float *wa, const float *wb, int p) {
  for (int q = p; q < HW; q++)
    for (int gb = 0; gb < G; gb++)
      for (int o = 0; o < N; o++) out[(gb * N + o) * HW + q] = pixel(in, wa, wb, gb, o, q);
}

/* One grouped 1x1 stage; shuffled: output j of group gr to channel j*G + gr. */
static void stage(const float *in, float *out, const float *w, int shuffled) {
  for (int gr = 0; gr < G; gr++) {
    const float *x = in + gr * N * HW;
    int p = 0, oc[N];
    for (int j = 0; j < N; j++) oc[j] = shuffled ? j * G + gr : gr * N + j;
    for (; p + 96 <= HW; p += 96) {
      __m512 acc[N][6];
      for (int j = 0; j < N; j++)
        for (int v = 0; v < 6; v++) acc[j][v] = _mm512_setzero_ps();
      for (int i = 0; i < N; i++) {
        __m512 xv[6];
        for (int v = 0; v < 6; v++) xv[v] = _mm512_loadu_ps(x + i * HW + p + 16 * v);
        for (int j = 0; j < N; j++) {
          __m512 wv = _mm512_set1_ps(w[(gr * N + j) * N + i]);
          for (int v = 0; v < 6; v++) acc[j][v] = _mm512_fmadd_ps(xv[v], wv, acc[j][v]);
        }
      }
      for (int j = 0; j < N; j++)
        for (int v = 0; v < 6; v++) _mm512_storeu_ps(out + oc[j] * HW + p + 16 * v, acc[j][v]);
    }
    for (; p < HW; p++)
      for (int j = 0; j < N; j++) {
        float a = 0;
        for (int i = 0; i < N; i++) a = fmaf(w[(gr * N + j) * N + i], x[i * HW + p], a);
        out[oc[j] * HW + p] = a;
      }
  }
}

static void per_b_group(const float *in, float *out, const float *wa, const float *wb) {
  int p = 0;
  for (; p + 32 <= HW; p += 32)
    for (int gb = 0; gb < G; gb++) {
      __m512 acc[N][2];
      for (int o = 0; o < N; o++) acc[o][0] = acc[o][1] = _mm512_setzero_ps();
      for (int k = 0; k < N; k++) {
        int c = gb * N + k, ga = c % G, j = c / G;
        __m512 t[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int i = 0; i < N; i++) {
          __m512 wv = _mm512_set1_ps(wa[(ga * N + j) * N + i]);
          for (int v = 0; v < 2; v++)
            t[v] = _mm512_fmadd_ps(_mm512_loadu_ps(in + (ga * N + i) * HW + p + 16 * v), wv, t[v]);
        }
        for (int o = 0; o < N; o++) {
          __m512 wv = _mm512_set1_ps(wb[(gb * N + o) * N + k]);
          for (int v = 0; v < 2; v++) acc[o][v] = _mm512_fmadd_ps(t[v], wv, acc[o][v]);
        }
      }
      for (int o = 0; o < N; o++)
        for (int v = 0; v < 2; v++) _mm512_storeu_ps(out + (gb * N + o) * HW + p + 16 * v, acc[o][v]);
    }
  tail(in, out, wa, wb, p);
}

/* First-stage groups comp*N .. comp*N+N-1 feed second-stage groups
** N*j + comp (j = 0..N-1), intermediate j*G + ga being input ga % N of
** group (j*G + ga) / N. */
static void component(const float *in, float *out, const float *wa, const float *wb) {
  for (int p = 0; p < HW; p += 16)   /* the last vector masked */
    for (int comp = 0; comp < G / N; comp++) {
      __mmask16 m = HW - p >= 16 ? 0xffff : (__mmask16)((1u << (HW - p)) - 1);
      __m512 acc[N][N];   /* [j: second-stage group N*j + comp][output] */
      for (int j = 0; j < N; j++)
        for (int o = 0; o < N; o++) acc[j][o] = _mm512_setzero_ps();
      for (int ai = 0; ai < N; ai++) {
        int ga = comp * N + ai;
        __m512 x[N];
        for (int i = 0; i < N; i++) x[i] = _mm512_maskz_loadu_ps(m, in + (ga * N + i) * HW + p);
        for (int j = 0; j < N; j++) {
          int c = j * G + ga, gb = c / N, k = c % N;
          __m512 t = _mm512_setzero_ps();
          for (int i = 0; i < N; i++)
            t = _mm512_fmadd_ps(x[i], _mm512_set1_ps(wa[(ga * N + j) * N + i]), t);
          for (int o = 0; o < N; o++)
            acc[j][o] = _mm512_fmadd_ps(t, _mm512_set1_ps(wb[(gb * N + o) * N + k]), acc[j][o]);
        }
      }
      for (int j = 0; j < N; j++)
        for (int o = 0; o < N; o++)
          _mm512_mask_storeu_ps(out + ((j * G + comp * N) / N * N + o) * HW + p, m, acc[j][o]);
    }
}

int main(void) {
  static float wa[C * N], wb[C * N];
  float *in = malloc(sizeof(float) * C * HW), *mid = malloc(sizeof(float) * C * HW);
  float *out[3] = {malloc(sizeof(float) * C * HW), malloc(sizeof(float) * C * HW),
                   malloc(sizeof(float) * C * HW)};
  static const char *const name[3] = {"two stages", "per B group", "component"};
  double best[3] = {1e30, 1e30, 1e30}, macs = 2.0 * C * N * HW;
  int reps = 20000000 / (C * HW) + 1, same = 1;
  for (int i = 0; i < C * HW; i++) in[i] = (float)(i % 13) * 0.1f - 0.6f;
  for (int i = 0; i < C * N; i++) wa[i] = (float)(i % 7) * 0.1f - 0.3f, wb[i] = (float)(i % 5) * 0.1f - 0.2f;
  for (int r = 0; r < 15; r++)   /* interleaved rounds, the best of each */
    for (int v = 0; v < 3; v++) {
      double t0 = now_ns(), t;
      for (int k = 0; k < reps; k++) {
        if (v == 0) stage(in, mid, wa, 1), stage(mid, out[0], wb, 0);
        else if (v == 1) per_b_group(in, out[1], wa, wb);
        else component(in, out[2], wa, wb);
      }
      t = (now_ns() - t0) / reps;
      if (t < best[v]) best[v] = t;
    }
  for (int v = 1; v < 3; v++) same &= memcmp(out[0], out[v], sizeof(float) * C * HW) == 0;
  for (int v = 0; v < 3; v++)
    printf("HW %d, %-11s: %6.1f us, %5.1f ps/MAC, %.2fx two stages\n", HW, name[v],
           best[v] / 1e3, best[v] * 1e3 / macs, best[0] / best[v]);
  if (!same) printf("the outputs differ\n");
  return !same;
}

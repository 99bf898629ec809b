/*
** obench.h -- the pieces of build/bench/osconv-bench (`make bench`): one
** program that times osconv against oneDNN, interleaved, on one pinned core.
**   ob_main.c   flags, the layer set, rounds in random order, the table
**   ob_osc.c    osconv variants: every mode, JIT (libtcc) and AOT (gcc, dlopen)
**   ob_dnnl.c   oneDNN variants: dense conv (blocked, NCHW) and osconv's chain
**   ob_peak.c   the core's FMA peak (AVX-512, AVX2) and memory bandwidth
** A variant is something that turns the layer's NCHW input into an output
** that is checked against osconv's reference backend before it is timed.
*/
#ifndef OBENCH_H
#define OBENCH_H

#include <stddef.h>
#include <stdint.h>

#include "osconv.h"

#define OB_MAX_ROUNDS 201

typedef struct ob_variant {
  char name[48];
  char family[16];          /* "dnnl" or "osconv" */
  char mode[16];            /* "dense", "blocked", "chain", or osconv's mode name */
  char backend[16];         /* "jit", "aot-user", "aot-native", "dnnl" */
  int64_t macs;             /* the variant's own MACs per image */
  double compile_ms;        /* JIT: emit + libtcc; AOT: gcc; < 0: not applicable */
  void (*run)(void *ctx);   /* one image, input to output */
  const float *(*result)(void *ctx);   /* the NCHW output of the last run */
  void (*free)(void *ctx);
  void *ctx;
  const float *ref;         /* what result() must match */
  size_t out_n;
  double t[OB_MAX_ROUNDS];  /* ms per round */
  int n_t;
  double med, p25, p75, min;
} ob_variant;

/* Everything the variants of one layer share. Owned by ob_main.c. */
typedef struct ob_layer {
  char name[64];
  osc_layer layer;          /* bias 0, no activation */
  float *in;                /* NCHW, one image */
  size_t in_n, out_n;
  int64_t dense_macs;
  /* per osconv mode (ob_osc.c's order): plan, weights, reference output */
  int n_plans;
  struct ob_plan {
    char mode[16];
    int ok;
    osc_plan plan;
    float *w, *ref;
  } plans[5];
} ob_layer;

/* ---- ob_osc.c ----------------------------------------------------------- */
#define OB_MODE_CONV 0      /* index of the conventional plan in ob_layer.plans */
#define OB_MODE_OPT 3       /* optimal, max_stages 2: the chain oneDNN runs too */
extern const char *ob_aot_user_flags, *ob_aot_native_flags, *ob_cc;
extern int ob_threads;   /* --threads N: the optimal plan's JIT also on a pool of N */
/* Plans the modes in mode_bits (bit m: plans[m]; the conventional one
** always), their weights and references; 0 on success. */
int ob_osc_prepare(ob_layer *L, int mode_bits);
extern const char *const ob_osc_backends[3];   /* "jit", "aot-user", "aot-native" */
/* Adds osconv variants of mode plans[m] to v (JIT, gcc user flags, gcc native
** as `backends` bits 1, 2, 4 say; bit 8: for the optimal plan, the JIT on
** ob_threads threads, "jit-tN"); returns how many, -1 on a failure. */
int ob_osc_variants(ob_layer *L, int m, int backends, ob_variant *v);
void ob_osc_cleanup(void);

/* ---- ob_dnnl.c ---------------------------------------------------------- */
int ob_dnnl_available(void);
extern const char *const ob_dnnl_names[3];   /* the variants' names, by kind */
/* kind: 0 dense blocked, 1 dense NCHW, 2 the chain of plans[OB_MODE_OPT].
** 0 on success, 1 when oneDNN cannot (v->name says why). */
int ob_dnnl_variant(ob_layer *L, int kind, ob_variant *v);
/* oneDNN's shuffle against osconv's reference on a small fixed chain where
** C/g != g; prints one line, 0 when group_size = C/g matches and g does not. */
int ob_dnnl_shuffle_check(void);

/* ---- ob_peak.c ---------------------------------------------------------- */
typedef struct ob_peak {
  double avx512_gflops, avx2_gflops, triad_gbs;   /* 0: not measured */
} ob_peak;
void ob_peak_measure(ob_peak *p, int quick);

/* ---- helpers (ob_main.c) ------------------------------------------------ */
/* Around gcc runs: move to the build cores (all but the timing core, where
** there are others) and back, so builds never run on the timed core. */
void ob_affinity_build(void);
void ob_affinity_time(void);
double ob_now_ms(void);
void ob_fill(float *x, size_t n, unsigned seed, float scale);
double ob_rel_l2(const float *a, const float *ref, size_t n);
void *ob_alloc(size_t floats);   /* 64-byte aligned, zeroed; exits on failure */
/* Zeroes v and fills what every variant has: labels, MACs and the reference
** of plan P of L, and the functions over ctx. */
void ob_variant_init(ob_variant *v, const ob_layer *L, const struct ob_plan *P,
                     const char *family, const char *mode, const char *backend,
                     void (*run)(void *), const float *(*result)(void *),
                     void (*free_fn)(void *), void *ctx);

#endif

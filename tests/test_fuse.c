/*
** test_fuse.c -- fused pointwise runs (gen/x86/oscfuse.h), forced through
** the emitter's knob (they are off by default): for each SIMD ISA the CPU
** has, named chains (a run at the start, middle and end, runs of 2 and of
** 6, an odd run in the middle cut to an even one, blocks of 1 pixel and
** blocks that do not divide the plane, tiles narrower than the group,
** bias, ReLU, clamp and a residual on the run's last stage, batch > 1)
** and random specs at max_stages 3, 4 and 16. Each fused kernel: its
** source names the run; it matches the independent reference (oscref.c);
** it has the unfused kernel's bits (the same sums in the same order); it
** keeps guard values around its output and its scratch; split on 1 to 4
** threads it gives the 1-thread bits; and the AOT build (gcc) of the same
** source gives the JIT's bits.
*/
#define _DEFAULT_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oscbuf.h"
#include "oscemit.h"
#include "oscfuse.h"
#include "oscregfuse.h"
#include "oscisa.h"
#include "osconv.h"
#include "oscplan.h"
#include "oscref.h"
#include "oscrt.h"
#include "osc_test.h"
#include "rt_test.h"

static int splits;   /* fused runs that ran on more than one thread */

/* The layer's source for `isa` with fusion knob `fuse` (caller frees). */
static char *source(const osc_plan *p, int isa, int fuse) {
  osc_emit_options eo = {OSC_JIT_PREFIX, 1, isa};
  osc_buf b;
  osc_buf_init(&b);
  if (osc_emit_layer_fuse(p, &eo, NULL, fuse, &b, NULL) != OSC_OK) {
    osc_buf_free(&b);
    return NULL;
  }
  return osc_buf_take(&b);
}

/* n images of p through `src` on `threads` threads into a guarded output,
** with a guarded scratch; the residual (if any) from res. NULL on failure. */
static float *run_src(const osc_plan *p, const char *src, int threads, int n, const float *in,
                      const float *res, const float *w, int *pieces) {
  osc_kernel_options o = {.threads = threads, .no_cache = 1};
  size_t out_n = (size_t)n * osc_plan_output_size(p), s_n = osc_plan_scratch_size(p);
  float *out = rt_guarded(out_n), *scratch = rt_guarded(s_n);
  osc_kernel *k = NULL;
  osc_kernel_info info;
  osc_status st = osc_kernel_create_from_source(p, src, OSC_JIT_SYMBOL, &o, &k, NULL);
  if (!st && res) st = osc_kernel_run_residual(k, n, in, res, out, w, scratch, NULL);
  else if (!st) st = osc_kernel_run(k, n, in, out, w, scratch, NULL);
  if (!st) {
    osc_kernel_get_info(k, &info);
    if (pieces) *pieces = info.threads;
  }
  CU_ASSERT(rt_guards_intact(scratch, s_n));
  osc_kernel_free(k);
  rt_guarded_free(scratch);
  if (st) rt_guarded_free(out);
  return st ? NULL : out;
}

/* gcc -std=c99 -pedantic -Wall -Wextra -Werror -O2 of src (warning-free, as all
** generated code), run on the same data: 1 if its output has want's bits. */
static int aot_equal(const osc_plan *p, const char *src, int n, const float *in, const float *res,
                     const float *w, const float *want) {
  char dir[] = "/tmp/osc-fuse-XXXXXX", c_path[64], so_path[64], cmd[256];
  size_t out_n = (size_t)n * osc_plan_output_size(p);
  float *out = calloc(out_n, sizeof *out);
  float *scratch = calloc(osc_plan_scratch_size(p) + 1, sizeof *scratch);
  void *so = NULL, *fn = NULL;
  FILE *f;
  int same = 0;
  if (!mkdtemp(dir)) return 0;
  snprintf(c_path, sizeof c_path, "%s/k.c", dir);
  snprintf(so_path, sizeof so_path, "%s/k.so", dir);
  if ((f = fopen(c_path, "w"))) {
    fputs(src, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -std=c99 -pedantic -O2 -ffp-contract=off -Wall -Wextra -Werror "
             "-shared -fPIC -o %s %s", so_path, c_path);
    if (system(cmd) == 0) so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  }
  if (so && (fn = dlsym(so, OSC_JIT_SYMBOL))) {
    if (res) ((osc_kernel_res_fn)(uintptr_t)fn)(n, in, res, out, w, scratch);
    else ((osc_kernel_fn)(uintptr_t)fn)(n, in, out, w, scratch);
    same = memcmp(out, want, out_n * sizeof *out) == 0;
  }
  if (so) dlclose(so);
  unlink(c_path), unlink(so_path), rmdir(dir);
  free(out), free(scratch);
  return same;
}

/* The checks of the file comment for plan p fused in blocks of `block`
** pixels on `isa`; `runs` the "stages A-B fused" the source must name
** (NULL: any run). Returns whether the source fused anything. */
static int check_fused(const osc_plan *p, int isa, int block, int n, const char *runs, int aot,
                       uint64_t *rng) {
  size_t out_n = (size_t)n * osc_plan_output_size(p);
  char *fused = source(p, isa, block), *plain = source(p, isa, OSC_FUSE_OFF);
  float *in = rt_random_floats((size_t)n * osc_plan_input_size(p), rng);
  float *w = rt_random_floats(osc_plan_weights_size(p), rng);
  float *res = p->layer.residual ? rt_random_floats(out_n, rng) : NULL;
  float *want = calloc(out_n ? out_n : 1, sizeof *want), *one, *base;
  int did;
  CU_ASSERT_PTR_NOT_NULL_FATAL(fused);
  CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
  did = strstr(fused, "fused (gen/x86/oscfuse.c)") != NULL ||
        strstr(fused, "fused in registers (gen/x86/oscregfuse.c)") != NULL;
  CU_ASSERT(strstr(plain, "oscfuse") == NULL && strstr(plain, "oscregfuse") == NULL);
  if (runs && !strstr(fused, runs)) {
    char d[256];
    osc_plan_describe(p, d, sizeof d);
    fprintf(stderr, "\n  %s, blocks of %d: no '%s'\n", d, block, runs);
    CU_FAIL("the expected run was not fused");
  }
  one = run_src(p, fused, 1, n, in, res, w, NULL);
  base = run_src(p, plain, 1, n, in, res, w, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(one);
  CU_ASSERT_PTR_NOT_NULL_FATAL(base);
  CU_ASSERT(rt_guards_intact(one, out_n));
  CU_ASSERT_EQUAL(oscref_chain_residual(p, n, in, res, w, want), 0);
  CU_ASSERT(rt_rel_l2(one, want, out_n) < 1e-5);
  CU_ASSERT(memcmp(one, base, out_n * sizeof *one) == 0);
  for (int t = 2; t <= 4; t++) {
    int pieces = 0;
    float *got = run_src(p, fused, t, n, in, res, w, &pieces);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT(memcmp(got, one, out_n * sizeof *got) == 0);
    CU_ASSERT(rt_guards_intact(got, out_n));
    splits += did && pieces > 1;
    rt_guarded_free(got);
  }
  if (aot) CU_ASSERT(aot_equal(p, fused, n, in, res, w, one));
  rt_guarded_free(one), rt_guarded_free(base);
  free(fused), free(plain), free(in), free(w), free(res), free(want);
  return did;
}

/* A fixed chain c -> ... on a hw_h x hw_w image: stage i is spec[i]
** (out_channels, groups, k_h, k_w); the layer's kernel and same padding
** follow from the chain. */
static osc_plan chain_plan(int c_in, int h, int w, int n, const osc_stage_spec *spec, int bias,
                           osc_activation act, int residual) {
  osc_layer l;
  osc_plan p;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "fused");
  l.in_channels = c_in;
  l.in_h = h, l.in_w = w;
  l.k_h = l.k_w = 1;
  for (int i = 0; i < n; i++) {
    l.k_h += spec[i].k_h - 1;
    l.k_w += spec[i].k_w - 1;
    l.fixed[i] = spec[i];
  }
  l.out_channels = spec[n - 1].out_channels;
  l.pad_h = l.k_h / 2, l.pad_w = l.k_w / 2;
  l.n_fixed = n;
  l.mode = OSC_MODE_FIXED;
  l.bias = bias;
  l.act = act;
  if (act == OSC_ACT_CLAMP) l.clamp_min = -0.5f, l.clamp_max = 0.75f;
  l.residual = residual;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &p, NULL), OSC_OK);
  return p;
}

static void test_named_runs(void) {
  static const struct {
    const char *what;
    int c, h, w, n;
    osc_stage_spec s[8];
    int bias, act, residual, block, images;
    const char *runs;
  } cases[] = {
      {"run of 2 at the start, blocks not dividing the plane", 8, 10, 10, 3,
       {{8, 2, 1, 1}, {8, 4, 1, 1}, {8, 8, 3, 3}}, 0, 0, 0, 16, 1, "stages 1-2 fused"},
      {"blocks of 1 pixel", 8, 5, 5, 3, {{8, 2, 1, 1}, {8, 2, 1, 1}, {8, 8, 3, 3}}, 1, 0, 0, 1, 1,
       "stages 1-2 fused"},
      {"a run of 6 at the start, blocks of partial vectors", 16, 9, 11, 7,
       {{16, 4, 1, 1}, {16, 2, 1, 1}, {24, 8, 1, 1}, {16, 8, 1, 1}, {16, 4, 1, 1}, {16, 16, 1, 1},
        {16, 16, 3, 3}}, 0, 0, 0, 24, 2, "stages 1-6 fused"},
      {"a run of 2 in the middle (in place)", 8, 12, 12, 4,
       {{8, 8, 3, 1}, {8, 2, 1, 1}, {8, 4, 1, 1}, {8, 8, 1, 3}}, 0, 0, 0, 32, 1, "stages 2-3 fused"},
      {"a run of 3 in the middle, cut to 2", 8, 12, 12, 5,
       {{8, 8, 3, 1}, {8, 2, 1, 1}, {8, 4, 1, 1}, {8, 2, 1, 1}, {8, 8, 1, 3}}, 0, 0, 0, 32, 1,
       "stages 2-3 fused"},
      {"a run at the end: bias, ReLU, residual, batch 2", 8, 9, 9, 3,
       {{8, 8, 3, 3}, {8, 2, 1, 1}, {8, 4, 1, 1}}, 1, OSC_ACT_RELU, 1, 32, 2, "stages 2-3 fused"},
      {"the whole layer: bias, clamp, tiles narrower than the group, batch 3", 12, 7, 9, 2,
       {{20, 1, 1, 1}, {12, 1, 1, 1}}, 1, OSC_ACT_CLAMP, 0, 16, 3, "stages 1-2 fused"},
      {"the whole layer with a residual, one block", 16, 6, 6, 3,
       {{16, 4, 1, 1}, {16, 4, 1, 1}, {16, 4, 1, 1}}, 0, OSC_ACT_RELU6, 1, 64, 1,
       "stages 1-3 fused"},
  };
  uint64_t rng = rt_rng() ^ 0xf05e;
  int ran = 0;
  splits = 0;
  osc_kernel_set_split_min_macs(1);
  for (int isa = OSC_ISA_AVX2; isa <= (int)osc_isa_host(); isa++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      osc_plan p = chain_plan(cases[i].c, cases[i].h, cases[i].w, cases[i].n, cases[i].s,
                              cases[i].bias, (osc_activation)cases[i].act, cases[i].residual);
      CU_ASSERT(check_fused(&p, isa, cases[i].block, cases[i].images, cases[i].runs, 1, &rng));
      ran++;
    }
  osc_kernel_set_split_min_macs(0);
  CU_ASSERT(!ran || splits > ran);   /* the threads did split the runs */
  if (!ran) printf("SKIPPED (no AVX2 on this CPU) ");
}

/* A random deep layer: channels from chans[0..nch), kernel 1, 3 or 5, a
** plane of min_hw..17 a side, maybe bias, ReLU and a residual; planned
** optimally at max_stages. 0 if it does not plan. */
static int random_deep(const int *chans, int nch, int min_hw, int max_stages, uint64_t *rng,
                       osc_plan *p) {
  osc_layer l;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "deep");
  l.in_channels = chans[osc_test_range(rng, 0, nch - 1)];
  l.out_channels = osc_test_range(rng, 0, 2) ? l.in_channels : chans[osc_test_range(rng, 0, nch - 1)];
  l.k_h = l.k_w = 1 + 2 * osc_test_range(rng, 0, 2);
  l.pad_h = l.pad_w = l.k_h / 2;
  l.in_h = osc_test_range(rng, min_hw, 17);
  l.in_w = osc_test_range(rng, min_hw, 17);
  l.bias = osc_test_range(rng, 0, 1);
  l.act = osc_test_range(rng, 0, 1) ? OSC_ACT_RELU : OSC_ACT_NONE;
  l.residual = l.in_channels == l.out_channels && osc_test_range(rng, 0, 1);
  l.max_stages = max_stages;
  return osc_plan_layer(&l, p, NULL) == OSC_OK;
}

/* Random deep plans (optimal, max_stages 3, 4, 16) fused in random blocks. */
static void test_random_deep_plans(void) {
  static const int chans[] = {8, 16, 24, 32, 48, 64};
  static const int maxs[] = {3, 4, 16};
  uint64_t rng = rt_rng() ^ 0xdee9;
  int per_isa = osc_test_quick() ? 6 : 24;
  osc_kernel_set_split_min_macs(1);
  for (int isa = OSC_ISA_AVX2; isa <= (int)osc_isa_host(); isa++) {
    int fused = 0;
    for (int done = 0; done < per_isa; done++) {
      osc_plan p;
      if (!random_deep(chans, 6, 3, maxs[done % 3], &rng, &p)) continue;
      fused += check_fused(&p, isa, osc_test_range(&rng, 1, 80), osc_test_range(&rng, 1, 2), NULL,
                           done % 6 == 0, &rng);
    }
    CU_ASSERT(fused >= per_isa / 3);   /* else the test tested little fused code */
  }
  osc_kernel_set_split_min_macs(0);
}

/* Pairs fused in registers (gen/x86/oscregfuse.h), AVX-512 only: at the
** start, at the end, the whole layer; components of 1 and of 4 groups,
** tiles that take the component's outputs in chunks, passes of several
** vectors with whole vectors left and a masked tail, planes of one partial
** vector; bias, ReLU, relu6, clamp and a residual on the last stage; batch
** 2-3; pairs in the middle of a chain (their output rerouted to the
** other region, the later stages' regions swapped), and one whose swap
** would overflow a region, which must stay unfused (`runs` NULL). */
static void test_register_pairs(void) {
  static const struct {
    const char *what;
    int c, h, w, n;
    osc_stage_spec s[6];
    int bias, act, residual, images;
    const char *runs;
  } cases[] = {
      {"at the start: 6 vectors + a tail", 16, 10, 10, 3,
       {{16, 4, 1, 1}, {16, 4, 1, 1}, {16, 16, 3, 3}}, 0, 0, 0, 1, "stages 1-2 fused in registers"},
      {"at the end: bias, ReLU, residual, batch 2", 8, 9, 9, 3,
       {{8, 8, 3, 3}, {16, 4, 1, 1}, {8, 4, 1, 1}}, 1, OSC_ACT_RELU, 1, 2,
       "stages 2-3 fused in registers"},
      {"the whole layer: bias, clamp, batch 3", 16, 7, 9, 2, {{32, 4, 1, 1}, {16, 8, 1, 1}}, 1,
       OSC_ACT_CLAMP, 0, 3, "stages 1-2 fused in registers"},
      {"components of 4 groups (c64 g16 -> g16), relu6", 64, 14, 14, 3,
       {{64, 16, 1, 1}, {64, 16, 1, 1}, {64, 4, 3, 3}}, 1, OSC_ACT_RELU6, 0, 1,
       "4 components of 4 groups"},
      {"chunks of 2 of 8 intermediates, residual", 64, 6, 6, 2, {{64, 8, 1, 1}, {64, 8, 1, 1}}, 0,
       0, 1, 1, "tiles of 2 intermediates x 1 vector"},
      {"passes of 4 vectors, 2 whole left, a tail", 16, 9, 11, 3,
       {{16, 8, 1, 1}, {16, 8, 1, 1}, {16, 2, 3, 3}}, 0, 0, 0, 2, "x 4 vectors"},
      {"a loop of 2 passes, 1 whole vector left, no tail", 16, 12, 12, 3,
       {{16, 8, 1, 1}, {16, 8, 1, 1}, {16, 2, 1, 1}}, 1, OSC_ACT_RELU, 0, 1, "x 4 vectors"},
      {"one partial vector", 16, 3, 5, 2, {{16, 4, 1, 1}, {16, 4, 1, 1}}, 1, 0, 1, 2,
       "stages 1-2 fused in registers"},
      {"a run of 3 at the start: the first two", 16, 8, 8, 4,
       {{16, 4, 1, 1}, {16, 4, 1, 1}, {16, 4, 1, 1}, {16, 16, 3, 3}}, 0, 0, 0, 1,
       "stages 1-2 fused in registers"},
      {"a pair in the middle: the later regions swap", 8, 8, 8, 4,
       {{8, 8, 3, 1}, {8, 2, 1, 1}, {8, 4, 1, 1}, {8, 8, 1, 3}}, 0, 0, 0, 1,
       "stages 2-3 fused in registers"},
      {"two pairs in the middle, batch 2", 16, 6, 7, 6,
       {{16, 16, 3, 1}, {16, 4, 1, 1}, {16, 4, 1, 1}, {16, 4, 1, 1}, {16, 4, 1, 1}, {16, 16, 1, 3}},
       1, OSC_ACT_RELU, 1, 2, "stages 4-5 fused in registers"},
      {"middle pairs whose swap would overflow a region: unfused", 8, 8, 8, 5,
       {{8, 8, 3, 1}, {8, 2, 1, 1}, {8, 4, 1, 1}, {16, 8, 1, 1}, {8, 8, 1, 3}}, 0, 0, 0, 1, NULL},
  };
  uint64_t rng = rt_rng() ^ 0x4e6;
  splits = 0;
  if (osc_isa_host() < OSC_ISA_AVX512) {
    printf("SKIPPED (no AVX-512 on this CPU) ");
    return;
  }
  osc_kernel_set_split_min_macs(1);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    osc_plan p = chain_plan(cases[i].c, cases[i].h, cases[i].w, cases[i].n, cases[i].s,
                            cases[i].bias, (osc_activation)cases[i].act, cases[i].residual);
    int did = check_fused(&p, OSC_ISA_AVX512, OSC_FUSE_REG, cases[i].images, cases[i].runs, 1,
                          &rng);
    if (!did != !cases[i].runs) fprintf(stderr, "\n  %s: fused %d\n", cases[i].what, did);
    CU_ASSERT(!did == !cases[i].runs);
  }
  osc_kernel_set_split_min_macs(0);
  CU_ASSERT(splits >= 8);   /* the threads did split the pairs */
}

/* Random deep plans in registers: as test_random_deep_plans. */
static void test_random_register_pairs(void) {
  static const int chans[] = {16, 32, 48, 64, 128};
  static const int maxs[] = {3, 4, 16};
  uint64_t rng = rt_rng() ^ 0x7e9;
  int per = osc_test_quick() ? 6 : 18, fused = 0;
  if (osc_isa_host() < OSC_ISA_AVX512) {
    printf("SKIPPED (no AVX-512 on this CPU) ");
    return;
  }
  osc_kernel_set_split_min_macs(1);
  for (int done = 0; done < per; done++) {
    osc_plan p;
    if (!random_deep(chans, 5, 1, maxs[done % 3], &rng, &p)) continue;
    fused += check_fused(&p, OSC_ISA_AVX512, OSC_FUSE_REG, osc_test_range(&rng, 1, 2), NULL,
                         done % 6 == 0, &rng);
  }
  osc_kernel_set_split_min_macs(0);
  CU_ASSERT(fused >= per / 3);
}

/* The decision (README "Fused pointwise runs"): by default no block runs,
** and a pair fuses in registers only on AVX-512 where one tile takes its
** whole component (fan-in 4 here); with fan-in 8 (two tiles a component)
** and on AVX2 the default code is the unfused code, byte for byte. */
static void test_default_rule(void) {
  osc_stage_spec s4[3] = {{16, 4, 1, 1}, {16, 4, 1, 1}, {16, 16, 3, 3}};
  osc_stage_spec s8[3] = {{64, 8, 1, 1}, {64, 8, 1, 1}, {64, 64, 3, 3}};
  osc_plan p4 = chain_plan(16, 56, 56, 3, s4, 0, OSC_ACT_NONE, 0);
  osc_plan p8 = chain_plan(64, 14, 14, 3, s8, 0, OSC_ACT_NONE, 0);
  for (int isa = OSC_ISA_AVX2; isa <= OSC_ISA_AVX512; isa++) {
    char *dflt = source(&p4, isa, 0), *off = source(&p4, isa, OSC_FUSE_OFF);
    char *reg = source(&p4, isa, OSC_FUSE_REG), *on = source(&p4, isa, 256);
    char *d8 = source(&p8, isa, 0), *off8 = source(&p8, isa, OSC_FUSE_OFF);
    char *reg8 = source(&p8, isa, OSC_FUSE_REG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dflt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(off);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(on);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(off8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reg8);
    CU_ASSERT_STRING_EQUAL(dflt, isa == OSC_ISA_AVX512 ? reg : off);
    CU_ASSERT((strstr(reg, "stages 1-2 fused in registers") != NULL) == (isa == OSC_ISA_AVX512));
    CU_ASSERT(strstr(on, "stages 1-2 fused (gen/x86/oscfuse.c)") != NULL);   /* blocks can too */
    CU_ASSERT_STRING_EQUAL(d8, off8);
    CU_ASSERT((strstr(reg8, "stages 1-2 fused in registers") != NULL) == (isa == OSC_ISA_AVX512));
    free(dflt), free(off), free(reg), free(on), free(d8), free(off8), free(reg8);
  }
}

static CU_TestInfo tests[] = {
    {"named runs: reference, unfused bits, guards, 1-4 threads, AOT", test_named_runs},
    {"random plans at max_stages 3, 4, 16, fused", test_random_deep_plans},
    {"register pairs: named, reference, unfused bits, 1-4 threads, AOT", test_register_pairs},
    {"register pairs: random plans at max_stages 3, 4, 16", test_random_register_pairs},
    {"the default rule: register pairs of whole components only", test_default_rule},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("fuse", tests)

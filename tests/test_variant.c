/*
** test_variant.c -- code variants (gen/oscvariant.h): names parse to the
** documented knobs and one canonical spelling, bad ones are refused; every
** variant's kernels match the reference backend, and the JIT's output
** equals, bit for bit, the AOT build (cc) of the same variant's source
** for the same ISA (with OSCONV_ISA=avx2 or c too);
** a tile cap changes the tile count as its closed form says; the JIT
** cache tells variants apart; tuning records carry the variant, records
** without one still load, and osc_tuning_lookup_options hands it over.
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oscbuf.h"
#include "oscemit.h"
#include "oscisa.h"
#include "oscmeasure.h"
#include "osconv.h"
#include "oscpool.h"
#include "oscplan.h"
#include "oscrt.h"
#include "osctune.h"
#include "oscvariant.h"
#include "osc_test.h"
#include "rt_test.h"

/* ---- names ------------------------------------------------------------------------ */

static void test_names(void) {
  static const struct { const char *name, *canon; int oct, pv, body; } good[] = {
      {NULL, "auto", 0, 0, 0},       {"", "auto", 0, 0, 0},
      {"auto", "auto", 0, 0, 0},     {"4x6", "4x6", 4, 6, 0},
      {"8x2", "8x2", 8, 2, 0},       {"1x1/u32", "1x1/u32", 1, 1, 32},
      {"u40", "auto", 0, 0, 0},      /* the default body: the same code, one name */
      {"u4096", "u4096", 0, 0, 4096}, {"4x6/u240/px", "4x6/u240/px", 4, 6, 240}};
  static const char *const bad[] = {"9x1", "4x0", "4x", "x4", "u31", "u4097", "u0240",
                                    "u240/4x6", "auto/4x6", "4x6/auto", "oc", "4x6//u240",
                                    "/", "4x6/", "px/px", "tile", "04x6", "4x6 "};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    osc_emit_knobs k = {.max_expr_terms = 7, .simd_oct = 3};
    char canon[OSC_VARIANT_MAX];
    osc_error err;
    CU_ASSERT_EQUAL_FATAL(osc_variant_parse(good[i].name, &k, canon, &err), OSC_OK);
    CU_ASSERT_STRING_EQUAL(canon, good[i].canon);
    CU_ASSERT(k.simd_oct == good[i].oct && k.simd_pv == good[i].pv &&
              k.simd_body == good[i].body);
    CU_ASSERT_EQUAL(k.max_expr_terms, 7);   /* the other knobs stay */
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    osc_emit_knobs k = {0};
    osc_error err;
    CU_ASSERT_EQUAL(osc_variant_parse(bad[i], &k, NULL, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "code variant"));
  }
  /* the lists: "auto" first, each entry canonical; the portable C has only auto */
  for (int isa = OSC_ISA_C; isa <= OSC_ISA_AVX512; isa++) {
    const char *const *l = osc_variant_list(isa);
    CU_ASSERT_STRING_EQUAL(l[0], "auto");
    for (int i = 0; l[i]; i++) {
      char canon[OSC_VARIANT_MAX];
      CU_ASSERT_EQUAL(osc_variant_parse(l[i], &(osc_emit_knobs){0}, canon, NULL), OSC_OK);
      CU_ASSERT_STRING_EQUAL(canon, l[i]);
    }
    if (isa == OSC_ISA_C) CU_ASSERT_PTR_NULL(l[1]);
  }
}

/* ---- every variant against the reference and the AOT build -------------------------- */

/* The variants timed on this CPU's best ISA, and extremes: one channel by
** one vector with the smallest bodies, the most of both. */
static int variants(const char **out) {
  osc_isa isa = OSC_ISA_C;
  const char *const *l;
  int n = 0;
  osc_isa_runtime(&isa, NULL);
  for (l = osc_variant_list((int)isa); *l; l++) out[n++] = *l;
  out[n++] = "1x1/u32";
  out[n++] = "8x8/u4096";
  out[n++] = "3x5/u64";
  return n;
}

static osc_layer square(int c_in, int c_out, int h, int w, int k, int stride) {
  osc_layer l;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "v");
  l.in_channels = c_in, l.out_channels = c_out, l.in_h = h, l.in_w = w;
  l.k_h = l.k_w = k, l.pad_h = l.pad_w = k / 2, l.stride_h = l.stride_w = stride;
  l.bias = 1, l.act = OSC_ACT_RELU;
  return l;
}

/* All variants of p in one translation unit (prefixes v0, v1, ...), for
** the ISA the JIT emits (the CPU's best, or OSCONV_ISA's), built by cc. */
static void *aot_variants(const char *dir, int id, const osc_plan *p, const char **v, int n) {
  char c_path[256], so_path[256], cmd[768], prefix[16];
  osc_buf b;
  FILE *f;
  int ok = 1;
  osc_isa isa = OSC_ISA_C;
  osc_isa_runtime(&isa, NULL);
  osc_buf_init(&b);
  for (int i = 0; i < n && ok; i++) {
    osc_emit_knobs k = {0};
    osc_emit_options o = {prefix, 1, (int)isa};
    snprintf(prefix, sizeof prefix, "v%d", i);
    ok = osc_variant_parse(v[i], &k, NULL, NULL) == OSC_OK &&
         osc_emit_layer_knobs(p, &o, &k, &b, NULL) == OSC_OK;
  }
  snprintf(c_path, sizeof c_path, "%s/p%d.c", dir, id);
  snprintf(so_path, sizeof so_path, "%s/p%d.so", dir, id);
  if (!ok || !(f = fopen(c_path, "w"))) {
    osc_buf_free(&b);
    return NULL;
  }
  fputs(b.data, f);
  fclose(f);
  osc_buf_free(&b);
  snprintf(cmd, sizeof cmd, "cc -O2 -ffp-contract=off -shared -fPIC -o %s %s", so_path, c_path);
  if (system(cmd) != 0) return NULL;
  return dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
}

/* Each variant of p: JIT == AOT bit for bit, and both match the reference. */
static void check_plan(void *so, const osc_plan *p, const char **v, int n, uint64_t *rng) {
  size_t in_n = osc_plan_input_size(p), out_n = osc_plan_output_size(p);
  float *in = rt_random_floats(in_n, rng), *w = rt_random_floats(osc_plan_weights_size(p), rng);
  float *want = calloc(out_n, sizeof *want), *a = calloc(out_n, sizeof *a);
  float *b = calloc(out_n, sizeof *b), *scratch = calloc(osc_plan_scratch_size(p) + 1, 4);
  osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE};
  osc_kernel *ref = NULL;
  CU_ASSERT_FATAL(in && w && want && a && b && scratch);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(p, &ro, &ref, NULL), OSC_OK);
  CU_ASSERT_EQUAL(osc_kernel_run(ref, 1, in, want, w, NULL, NULL), OSC_OK);
  for (int i = 0; i < n; i++) {
    osc_kernel_options o = {.no_cache = 1, .threads = 1, .code = v[i]};
    osc_kernel *k = NULL;
    osc_kernel_info info;
    char sym[16];
    osc_kernel_fn aot;
    snprintf(sym, sizeof sym, "v%d_n", i);
    aot = (osc_kernel_fn)(uintptr_t)dlsym(so, sym);
    CU_ASSERT_PTR_NOT_NULL_FATAL(aot);
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create(p, &o, &k, NULL), OSC_OK);
    osc_kernel_get_info(k, &info);
    CU_ASSERT_EQUAL(info.backend, OSC_BACKEND_JIT);
    memset(a, 0, out_n * sizeof *a), memset(b, 0xff, out_n * sizeof *b);
    CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in, a, w, NULL, NULL), OSC_OK);
    aot(1, in, b, w, scratch);
    if (memcmp(a, b, out_n * sizeof *a) || !(rt_rel_l2(a, want, out_n) < 1e-5)) {
      char d[256];
      osc_plan_describe(p, d, sizeof d);
      fprintf(stderr, "\n  variant %s of %s: JIT %s AOT, relative L2 %.2e\n", v[i], d,
              memcmp(a, b, out_n * sizeof *a) ? "!=" : "==", rt_rel_l2(a, want, out_n));
      CU_FAIL("a code variant's kernel is wrong");
    }
    osc_kernel_free(k);
  }
  osc_kernel_free(ref);
  free(in), free(w), free(want), free(a), free(b), free(scratch);
}

static void test_every_variant_matches(void) {
  const char *v[16];
  char dir[] = "/tmp/osconv-variant-XXXXXX", cmd[300];
  int n = variants(v), id = 0;
  uint64_t rng = rt_rng();
  osc_plan plans[8];
  int np = 0;
  osc_layer l = square(16, 20, 9, 40, 3, 1);
  l.mode = OSC_MODE_CONVENTIONAL;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &plans[np++], NULL), OSC_OK);
  l = square(24, 24, 13, 13, 3, 1);   /* optimal: grouped stages, a shuffled middle */
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &plans[np++], NULL), OSC_OK);
  l = square(16, 32, 20, 20, 3, 2);   /* stride 2, a pointwise stage */
  l.mode = OSC_MODE_DEPTHWISE;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &plans[np++], NULL), OSC_OK);
  while (np < (osc_test_quick() ? 4 : 7))
    if (rt_random_plan(&rng, &plans[np]) && !plans[np].layer.residual) np++;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  for (int i = 0; i < np; i++) {
    void *so = aot_variants(dir, id++, &plans[i], v, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(so);
    check_plan(so, &plans[i], v, n, &rng);
    dlclose(so);
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
}

/* A tile cap of O channels cuts a SIMD stage's m = 20 outputs (rows too
** long to be a flat plane) into ceil(20 / min(O, the ISA's most)) tiles
** of as even a size as fit: what the kernel's tile ABI reports. */
static void test_tile_counts(void) {
  static const struct { const char *code; int cap; } cases[] = {
      {"auto", 8}, {"4x6", 4}, {"2x8", 2}, {"8x2", 8}, {"1x1/u32", 1}, {"3x5", 3}};
  osc_isa isa = OSC_ISA_C;
  osc_layer l = square(16, 20, 9, 40, 3, 1);
  osc_plan p;
  int most;
  osc_isa_runtime(&isa, NULL);
  if (isa == OSC_ISA_C) return;   /* no SIMD stages on this CPU */
  most = isa == OSC_ISA_AVX512 ? 8 : 4;
  l.mode = OSC_MODE_CONVENTIONAL;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &p, NULL), OSC_OK);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    osc_emit_knobs k = {0};
    osc_emit_options o = {"t", 1, (int)isa};
    osc_buf b;
    char want[96];
    int cap = cases[i].cap < most ? cases[i].cap : most, tiles = (20 + cap - 1) / cap;
    CU_ASSERT_EQUAL_FATAL(osc_variant_parse(cases[i].code, &k, NULL, NULL), OSC_OK);
    osc_buf_init(&b);
    CU_ASSERT_EQUAL_FATAL(osc_emit_layer_knobs(&p, &o, &k, &b, NULL), OSC_OK);
    snprintf(want, sizeof want, "tiles of %d output channel", (20 + tiles - 1) / tiles);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, isa == OSC_ISA_AVX512 ? "(avx512_px)" : "(avx2_px)"));
    if (!strstr(b.data, want)) fprintf(stderr, "\n  %s: no '%s'\n", cases[i].code, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, want));
    snprintf(want, sizeof want, "case 0: return %d;", tiles);   /* t_tiles(0), one ISA */
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, want));
    osc_buf_free(&b);
  }
}

/* ---- the cache ---------------------------------------------------------------------- */

static void test_cache_tells_variants_apart(void) {
  osc_plan p = rt_square_plan("cachevar", 16, 11, 3, OSC_MODE_OPTIMAL, 1, OSC_ACT_NONE);
  static const char *const codes[] = {"auto", "2x8/u480", "2x8/u480", NULL, "auto"};
  static const int hit[] = {0, 0, 1, 1, 1};   /* NULL is auto */
  static const char *const named[] = {"auto", "2x8/u480", "2x8/u480", "auto", "auto"};
  osc_isa isa = OSC_ISA_C;
  osc_isa_runtime(&isa, NULL);
  osc_cache_clear();   /* nothing another suite compiled */
  for (int i = 0; i < 5; i++) {
    osc_kernel_options o = {.threads = 1, .code = codes[i]};
    osc_kernel *k = NULL;
    osc_kernel_info info;
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &o, &k, NULL), OSC_OK);
    osc_kernel_get_info(k, &info);
    /* on a CPU without SIMD stages every variant is the same C: all hits */
    CU_ASSERT_EQUAL(info.cache_hit, isa == OSC_ISA_C ? i > 0 : hit[i]);
    CU_ASSERT_STRING_EQUAL(info.code, named[i]);
    osc_kernel_free(k);
  }
  {   /* a bad name is the caller's error, for either backend */
    osc_kernel_options o = {.code = "9x9"};
    osc_kernel *k = (osc_kernel *)1;
    osc_error err;
    CU_ASSERT_EQUAL(osc_kernel_create(&p, &o, &k, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "9x9"));
    o.backend = OSC_BACKEND_REFERENCE;
    CU_ASSERT_EQUAL(osc_kernel_create(&p, &o, &k, &err), OSC_EINVAL);
  }
}

/* ---- tuning records ----------------------------------------------------------------- */

static const char old_line[] =
    "{\"layer\":{\"name\":\"x\",\"in_channels\":4,\"out_channels\":8,\"in_size\":[5,5],"
    "\"kernel\":[3,3],\"stride\":[1,1],\"padding\":[1,1],\"groups\":1,\"bias\":true,"
    "\"activation\":\"relu\"},\"plan\":{\"mode\":\"depthwise\",\"chain\":[[4,4,3,3],[8,1,1,1]],"
    "\"macs\":1700},\"variant\":{\"isa\":\"c\",\"threads\":2},\"time\":{\"median_s\":0.5,"
    "\"spread_s\":0.25,\"reps\":3,\"model_s\":null},\"machine\":{\"cpu\":\"CPU X\",\"isa\":\"c\","
    "\"cores\":4},\"osconv\":\"0.1.0\",\"compiler\":\"tcc 0.9.27\"}";

/* old_line with `code` after "threads":2 (NULL: unchanged) */
static char *with_code(const char *code) {
  const char *at = strstr(old_line, "\"threads\":2") + strlen("\"threads\":2");
  size_t n = (size_t)(at - old_line);
  char *s = malloc(sizeof old_line + 64);
  memcpy(s, old_line, n);
  snprintf(s + n, sizeof old_line + 64 - n, ",\"code\":%s%s", code, at);
  return s;
}

static void test_records_carry_the_variant(void) {
  static const char *const refused[] = {"\"auto\"", "\"9x9\"", "\"u240/4x6\"", "\"u40\"", "5",
                                        "null", "\"4x6/\""};
  osc_tune_record r;
  osc_error err;
  char *line, *again;
  /* a record from before code variants reads as auto and writes back unchanged */
  CU_ASSERT_EQUAL_FATAL(osc_tune_record_parse(old_line, &r, &err), OSC_OK);
  CU_ASSERT_STRING_EQUAL(r.code, "auto");
  again = osc_tune_record_line(&r);
  CU_ASSERT_STRING_EQUAL(again, old_line);
  free(again);
  /* one with a variant: read and written back exactly */
  line = with_code("\"4x6/u240\"");
  CU_ASSERT_EQUAL_FATAL(osc_tune_record_parse(line, &r, &err), OSC_OK);
  CU_ASSERT_STRING_EQUAL(r.code, "4x6/u240");
  again = osc_tune_record_line(&r);
  CU_ASSERT_STRING_EQUAL(again, line);
  free(again), free(line);
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    line = with_code(refused[i]);
    CU_ASSERT_EQUAL(osc_tune_record_parse(line, &r, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "code"));
    free(line);
  }
}

/* Through a file: the variant survives save and load, and lookup_options
** hands it to the kernel options, which make a kernel of that variant. */
static void test_lookup_hands_the_variant(void) {
  osc_plan p = rt_square_plan("tv", 8, 6, 3, OSC_MODE_DEPTHWISE, 1, OSC_ACT_NONE);
  osc_tuning *t = osc_tune_new(), *back = NULL;
  osc_tune_record r;
  osc_kernel_options ko = {0};
  osc_tuning_verdict v;
  osc_plan got;
  osc_kernel *k = NULL;
  osc_kernel_info info;
  char path[] = "/tmp/osconv-variant-db-XXXXXX", note[600];
  int fd = mkstemp(path);
  CU_ASSERT_FATAL(fd >= 0 && t);
  close(fd);
  osc_tune_record_make(&p, "c", 1, "8x2", 1e-6, 1e-8, 3, &r);
  CU_ASSERT_EQUAL(osc_tune_put(t, &r), 1);
  CU_ASSERT_EQUAL_FATAL(osc_tuning_save(t, path, NULL), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tuning_load(path, &back, NULL), OSC_OK);
  CU_ASSERT_EQUAL(osc_tuning_lookup_options(back, &p.layer, &got, &ko, &v, note, sizeof note,
                                            NULL), OSC_OK);
  CU_ASSERT_EQUAL(v, OSC_TUNING_USED);
  CU_ASSERT(ko.code && !strcmp(ko.code, "8x2"));
  CU_ASSERT_PTR_NOT_NULL(strstr(note, "variant 8x2"));
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&got, &ko, &k, NULL), OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT_STRING_EQUAL(info.code, "8x2");
  osc_kernel_free(k);
  osc_tuning_free(t), osc_tuning_free(back);
  remove(path);
}

/* ---- configs ---------------------------------------------------------------------- */

/* `code` in a config: per layer or as the network's default, kept
** canonical; the emitted layer follows it and the others keep the
** emitter's choice; a bad name fails the load at its line. */
static void test_config_code(void) {
  static const char src[] =
      "network { name = \"n\", code = \"2x8\" }\n"
      "conv { name = \"a\", in_channels = 16, out_channels = 20, size = 12, kernel = 3,\n"
      "       padding = 1, mode = \"conventional\", code = \"4x6/u40\" }\n"
      "conv { name = \"b\", in_channels = 16, out_channels = 20, size = 12, kernel = 3,\n"
      "       padding = 1, mode = \"conventional\", code = \"auto\" }\n"
      "conv { name = \"c\", in_channels = 16, out_channels = 20, size = 12, kernel = 3,\n"
      "       padding = 1, mode = \"conventional\" }\n";
  osc_config *c = NULL;
  osc_error err;
  osc_isa isa = OSC_ISA_C;
  CU_ASSERT_EQUAL_FATAL(osc_config_load_string("v.lua", src, NULL, &c, &err), OSC_OK);
  CU_ASSERT_STRING_EQUAL(c->networks[0].layers[0].code, "4x6");   /* u40: the default */
  CU_ASSERT_STRING_EQUAL(c->networks[0].layers[1].code, "");
  CU_ASSERT_STRING_EQUAL(c->networks[0].layers[2].code, "2x8");   /* the network's */
  osc_isa_runtime(&isa, NULL);
  for (int i = 0; i < 3 && isa != OSC_ISA_C; i++) {
    /* 20 outputs; AVX-512 holds 4x6, 7x3, 2x8; AVX2 4x3 (its widest, so auto too), 2x5 */
    static const char *const want[2][3] = {
        {"tiles of 4 output channels x up to 6", "tiles of 7 output channels x up to 3",
         "tiles of 2 output channels x up to 8"},
        {"tiles of 4 output channels x up to 3", "tiles of 4 output channels x up to 3",
         "tiles of 2 output channels x up to 5"}};
    osc_emit_options o = {"t", 1, (int)isa};
    osc_plan p;
    osc_buf b;
    CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&c->networks[0].layers[i], &p, NULL), OSC_OK);
    osc_buf_init(&b);
    CU_ASSERT_EQUAL_FATAL(osc_emit_layer(&p, &o, &b, NULL), OSC_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, want[isa == OSC_ISA_AVX512 ? 0 : 1][i]));
    osc_buf_free(&b);
  }
  osc_config_free(c);
  c = NULL;
  CU_ASSERT_EQUAL(osc_config_load_string("v.lua", "network { name = \"n\" }\n"
                                         "conv { name = \"a\", in_channels = 4, out_channels = 4,"
                                         " size = 5, kernel = 3,\n  code = \"u240/4x6\" }\n",
                                         NULL, &c, &err), OSC_ECONFIG);
  CU_ASSERT_PTR_NULL(c);
  CU_ASSERT(strstr(err.msg, "v.lua:2:") && strstr(err.msg, "code variant 'u240/4x6'"));
}

/* ---- rigor measure ----------------------------------------------------------------- */

/* After the plans, the winner's variants: the note counts them, and the
** options it hands back (ISA, maybe threads and code) make a kernel that
** matches the reference. */
static void test_rigor_measures_variants(void) {
  osc_plan p = rt_square_plan("rig", 8, 10, 3, OSC_MODE_OPTIMAL, 1, OSC_ACT_RELU), got;
  osc_kernel_options ko = {.threads = 77};   /* left alone unless a count won */
  osc_kernel *k = NULL;
  osc_isa isa = OSC_ISA_C;
  char note[600];
  int plans = 0, n = 0, variants = 0;
  const char *then;
  double rel, max_abs;
  osc_isa_runtime(&isa, NULL);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_rigor_options(&p.layer, OSC_RIGOR_MEASURE, 2.0, &got, &ko,
                                                     note, sizeof note, NULL), OSC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(then = strstr(note, "candidates, then "));
  CU_ASSERT_EQUAL(sscanf(note, "measured %d of %d", &plans, &n), 2);
  CU_ASSERT_EQUAL(sscanf(then, "candidates, then %d of its variants", &variants), 1);
  /* 2 s is plenty for these: every plan, then the other ISAs, the thread
  ** counts below the CPUs, the best ISA's code variants but auto */
  CU_ASSERT(plans == n && n >= 2);
  CU_ASSERT(variants >= (int)isa - 1);
  CU_ASSERT(ko.isa != NULL);
  CU_ASSERT(ko.threads == 77 || (ko.threads >= 1 && ko.threads < osc_pool_default_threads()));
  CU_ASSERT(!ko.code || osc_variant_parse(ko.code, &(osc_emit_knobs){0}, NULL, NULL) == OSC_OK);
  if (ko.threads == 77) ko.threads = 0;
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&got, &ko, &k, NULL), OSC_OK);
  CU_ASSERT_EQUAL(osc_verify_kernel(k, 1, 5, &rel, &max_abs, NULL), OSC_OK);
  CU_ASSERT(rel < OSC_VERIFY_TOLERANCE);
  osc_kernel_free(k);
  {   /* estimate leaves the options alone */
    osc_kernel_options none = {0};
    CU_ASSERT_EQUAL(osc_plan_layer_rigor_options(&p.layer, OSC_RIGOR_ESTIMATE, 0, &got, &none,
                                                 NULL, 0, NULL), OSC_OK);
    CU_ASSERT(!none.isa && !none.code && !none.threads);
  }
}

static CU_TestInfo tests[] = {
    {"rigor measure: the winner's ISA, threads and code", test_rigor_measures_variants},
    {"a config's code, per layer and network", test_config_code},
    {"names: knobs, one canonical spelling, errors", test_names},
    {"every variant: JIT == AOT bitwise, both match the reference", test_every_variant_matches},
    {"a tile cap's tile count, closed form", test_tile_counts},
    {"the JIT cache tells variants apart", test_cache_tells_variants_apart},
    {"tuning records carry the variant; old ones load", test_records_carry_the_variant},
    {"lookup_options hands the variant to the kernel", test_lookup_hands_the_variant},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("variant", tests)

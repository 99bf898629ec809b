/*
** test_jit.c -- the libtcc wrapper: code runs, pages are never W+X, errors
** carry the source line, the runtime directory is checked, compiles from
** many threads at once are safe, and JIT code computes bit for bit what the
** AOT build of the same source computes (gcc -O2 -ffp-contract=off).
*/
#define _DEFAULT_SOURCE   /* setenv, mkdtemp, MAP_ANONYMOUS */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osc_test.h"
#include "oscisa.h"
#include "oscerr.h"
#include "oscfault.h"
#include "oscplan.h"
#include "oscjit.h"
#include "oscrt.h"
#include "oscref.h"
#include "rt_test.h"

static const char *lib(void) { return OSC_TCC_DEBIAN_LIB_PATH; }

typedef void (*axpy_fn)(int n, float a, const float *x, float *y);

static const char axpy_src[] =
    "static const float bias[2] = {0.5f, -0.25f};\n"
    "void axpy(int n, float a, const float *x, float *y) {\n"
    "  float tmp[16] = {0};   /* tcc calls memset for this */\n"
    "  for (int i = 0; i < n; i++) { tmp[i & 15] = a * x[i]; y[i] += tmp[i & 15] + bias[i & 1]; }\n"
    "}\n";

/* The protections of the mapping holding `addr`, as "r-xp", from /proc. */
static void protection_of(const void *addr, char perms[5]) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  strcpy(perms, "????");
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char p[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (uintptr_t)addr >= lo &&
        (uintptr_t)addr < hi) {
      memcpy(perms, p, 5);
      break;
    }
  }
  if (f) fclose(f);
}

static void test_compile_and_run(void) {
  osc_jit_code *c = NULL;
  osc_error err;
  float x[20], y[20];
  char perms[5];
  CU_ASSERT_EQUAL_FATAL(osc_jit_compile(axpy_src, "axpy", lib(), &c, &err), OSC_OK);
  for (int i = 0; i < 20; i++) { x[i] = (float)i; y[i] = 1.0f; }
  ((axpy_fn)c->entry)(20, 2.0f, x, y);
  for (int i = 0; i < 20; i++) CU_ASSERT_EQUAL(y[i], 1.0f + 2.0f * i + (i % 2 ? -0.25f : 0.5f));
  /* the code is read+execute, not writable */
  protection_of(c->entry, perms);
  CU_ASSERT_STRING_EQUAL(perms, "r-xp");
  CU_ASSERT_EQUAL((uintptr_t)c->mem % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
  CU_ASSERT(c->compile_ms > 0);
  osc_jit_code_free(c);
}

/* Code first, then 12 KB of data: the code's page executes, the pages
** holding only data are read-only, and no page is writable. */
static void test_data_pages_not_executable(void) {
  static const char src[] =
      "const float table[3000] = {1.5f, 2.5f};\n"
      "const float *at(int i) { return table + i; }\n";
  const float *(*at)(int);
  osc_jit_code *c = NULL;
  osc_error err;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char perms[5];
  int readonly = 0;
  CU_ASSERT_EQUAL_FATAL(osc_jit_compile(src, "at", lib(), &c, &err), OSC_OK);
  at = (const float *(*)(int))c->entry;
  CU_ASSERT_EQUAL(*at(1), 2.5f);
  CU_ASSERT_EQUAL(*at(2999), 0.0f);
  protection_of(c->entry, perms);
  CU_ASSERT_STRING_EQUAL(perms, "r-xp");
  protection_of(at(2999), perms);
  CU_ASSERT_STRING_EQUAL(perms, "r--p");
  for (size_t off = 0; off < c->size; off += page) {
    protection_of((char *)c->mem + off, perms);
    CU_ASSERT(perms[0] == 'r' && perms[1] == '-');
    readonly += perms[2] == '-';
  }
  CU_ASSERT(readonly >= 2);   /* 12 KB of data fill at least two pages alone */
  osc_jit_code_free(c);
}

/* The mprotect libtcc calls never grants write+execute outside our relocation. */
static void test_mprotect_refuses_wx(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char perms[5];
  CU_ASSERT_FATAL(p != MAP_FAILED);
  errno = 0;
  CU_ASSERT_EQUAL(osc_jit_mprotect(p, page, PROT_READ | PROT_WRITE | PROT_EXEC), -1);
  CU_ASSERT_EQUAL(errno, EACCES);
  protection_of(p, perms);
  CU_ASSERT_STRING_EQUAL(perms, "rw-p");
  /* anything else passes through */
  CU_ASSERT_EQUAL(osc_jit_mprotect(p, page, PROT_READ | PROT_EXEC), 0);
  protection_of(p, perms);
  CU_ASSERT_STRING_EQUAL(perms, "r-xp");
  munmap(p, page);
}

static void test_compile_error_names_line(void) {
  const char *src = "void f(int n) {\n  int a = n;\n  a = a + nowhere;\n}\n";
  osc_jit_code *c = (osc_jit_code *)1;
  osc_error err;
  CU_ASSERT_EQUAL(osc_jit_compile(src, "f", lib(), &c, &err), OSC_EJIT);
  CU_ASSERT_PTR_NULL(c);
  CU_ASSERT_EQUAL(err.code, OSC_EJIT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "<string>:3:"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a = a + nowhere;"));
}

static void test_link_errors(void) {
  osc_jit_code *c = NULL;
  osc_error err;
  /* libc beyond the whitelist is not there: a link error, named */
  CU_ASSERT_EQUAL(osc_jit_compile("int printf(const char *, ...);\n"
                                  "void f(void) { printf(\"hi\"); }\n",
                                  "f", lib(), &c, &err), OSC_EJIT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "undefined symbol 'printf'"));
  /* compiles and links, but the entry point is missing */
  CU_ASSERT_EQUAL(osc_jit_compile("void g(void) {}\n", "f", lib(), &c, &err), OSC_EJIT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'f'"));
  CU_ASSERT_PTR_NULL(c);
  /* the entry point is data, on a page that does not execute */
  CU_ASSERT_EQUAL(osc_jit_compile("const float f[3000] = {1};\n", "f", lib(), &c, &err),
                  OSC_EJIT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'f' is not a function"));
  CU_ASSERT_PTR_NULL(c);
}

static void test_lib_path(void) {
  const char *got = NULL;
  char dir[] = "/tmp/osc-tcclib-XXXXXX", lib_a[64], include[64], from[256];
  osc_jit_code *c = NULL;
  osc_error err;
  CU_ASSERT_EQUAL(osc_jit_lib_path(NULL, &got, &err), OSC_OK);
  CU_ASSERT_STRING_EQUAL(got, OSC_TCC_DEBIAN_LIB_PATH);
  CU_ASSERT_EQUAL(osc_jit_lib_path("/nonexistent/tcc", &got, &err), OSC_EJIT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'/nonexistent/tcc'"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has no libtcc1.a"));
  /* the environment decides when the options do not */
  setenv("OSCONV_TCC_LIB_PATH", "/nonexistent/env", 1);
  CU_ASSERT_EQUAL(osc_jit_lib_path(NULL, &got, &err), OSC_EJIT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/env"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "OSCONV_TCC_LIB_PATH"));
  CU_ASSERT_EQUAL(osc_jit_lib_path(OSC_TCC_DEBIAN_LIB_PATH, &got, &err), OSC_OK);
  unsetenv("OSCONV_TCC_LIB_PATH");
  /* include/ alone is not enough; libtcc1.a alone is (kernels include nothing) */
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  snprintf(include, sizeof include, "%s/include", dir);
  snprintf(lib_a, sizeof lib_a, "%s/libtcc1.a", dir);
  snprintf(from, sizeof from, "%s/libtcc1.a", OSC_TCC_DEBIAN_LIB_PATH);
  CU_ASSERT_EQUAL_FATAL(mkdir(include, 0700), 0);
  CU_ASSERT_EQUAL(osc_jit_lib_path(dir, &got, &err), OSC_EJIT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has no libtcc1.a"));
  rmdir(include);
  CU_ASSERT_EQUAL_FATAL(rt_copy_file(from, lib_a), 0);
  CU_ASSERT_EQUAL(osc_jit_lib_path(dir, &got, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_jit_compile(axpy_src, "axpy", dir, &c, &err), OSC_OK);
  osc_jit_code_free(c);
  remove(lib_a);
  rmdir(dir);
}

static void test_out_of_memory(void) {
  osc_jit_code *c = NULL;
  osc_error err;
  int failures = 0;
  /* each allocation the wrapper makes, failed in turn */
  for (int after = 0; after < 10; after++) {
    osc_status st;
    osc_rt_fault_inject(after);
    st = osc_jit_compile(axpy_src, "axpy", lib(), &c, &err);
    osc_rt_fault_inject(-1);
    if (st == OSC_OK) break;
    CU_ASSERT_EQUAL(st, OSC_ENOMEM);
    CU_ASSERT_PTR_NULL(c);
    failures++;
  }
  CU_ASSERT_EQUAL(failures, 2);   /* the record, then the code pages */
  CU_ASSERT_PTR_NOT_NULL(c);
  osc_jit_code_free(c);
}

/* ---- many threads ---------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 6

static int worker_bad;

/* Each thread compiles distinct functions `scale_<t>_<i>` returning x*(t*100+i). */
static void *compile_worker(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < PER_THREAD; i++) {
    char src[256], name[32];
    osc_jit_code *c = NULL;
    osc_error err;
    snprintf(name, sizeof name, "scale_%d_%d", t, i);
    snprintf(src, sizeof src, "float %s(float x) { return x * %d.0f; }\n", name, t * 100 + i);
    if (osc_jit_compile(src, name, lib(), &c, &err) != OSC_OK) {
      __atomic_store_n(&worker_bad, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    if (((float (*)(float))c->entry)(2.0f) != 2.0f * (float)(t * 100 + i))
      __atomic_store_n(&worker_bad, 1, __ATOMIC_SEQ_CST);
    osc_jit_code_free(c);
  }
  return NULL;
}

static void test_concurrent_compiles(void) {
  pthread_t th[THREADS];
  worker_bad = 0;
  for (int t = 0; t < THREADS; t++)
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, compile_worker, (void *)(intptr_t)t), 0);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  CU_ASSERT_EQUAL(worker_bad, 0);
}

/* ---- JIT against the AOT build of the same source ----------------------------- */

/* cc -O2 -ffp-contract=off -shared -fPIC of `source` in `dir`; dlopen'ed. */
static void *aot_build(const char *dir, int id, const char *source) {
  char c_path[256], so_path[256], cmd[768];
  FILE *f;
  snprintf(c_path, sizeof c_path, "%s/k%d.c", dir, id);
  snprintf(so_path, sizeof so_path, "%s/k%d.so", dir, id);
  if (!(f = fopen(c_path, "w"))) return NULL;
  fputs(source, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "cc -O2 -ffp-contract=off -shared -fPIC -o %s %s", so_path,
           c_path);
  if (system(cmd) != 0) return NULL;
  return dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
}

static int aot_mismatches;   /* the sources stay on disk when there are any */
static int aot_simd;         /* plans whose code has SIMD stages */
static int aot_packed;       /* plans whose code takes its weights packed (oc_lanes) */

/* The AOT side is what `osconv gen` writes by default (every SIMD variant
** plus the portable C, dispatched on cpuid); the JIT emits for the running
** CPU itself: the same machine code must run in both, and the same C. */
static int aot_isa;   /* the AOT side's --isa: 0 (auto), or the one OSCONV_ISA caps the JIT at */

static void compare_one(const char *dir, int id, const osc_plan *p, uint64_t *rng) {
  int n = osc_test_range(rng, 1, 3);
  char *src = NULL;
  osc_status emitted = osc_kernel_source_isa(p, aot_isa, &src, NULL);
  void *so = src ? aot_build(dir, id, src) : NULL;
  void *aot = so ? dlsym(so, OSC_JIT_SYMBOL) : NULL;
  osc_kernel *k = NULL;
  osc_kernel_options o = {0};
  float *in = rt_random_floats(n * osc_plan_input_size(p), rng);
  float *w = rt_random_floats(osc_plan_weights_size(p), rng);
  float *a = calloc(n * osc_plan_output_size(p), sizeof *a);
  float *b = calloc(n * osc_plan_output_size(p), sizeof *b);
  float *scratch = calloc(osc_plan_scratch_size(p) + 1, sizeof *scratch);
  uint64_t own = *rng ^ 0x9e3779b97f4a7c15ull;   /* the residual's: the plans stay those of rng */
  float *r = p->layer.residual ? rt_random_floats(n * osc_plan_output_size(p), &own) : NULL;
  osc_error err;
  CU_ASSERT_EQUAL_FATAL(emitted, OSC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(aot);
  aot_simd += strstr(src, "__asm__") != NULL;
  o.no_cache = 1;
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(p, &o, &k, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_kernel_backend(k), OSC_BACKEND_JIT);
  {   /* oc_lanes: both sides take the weights packed, each by its own pack */
    void (*pack)(const float *, float *) =
        (void (*)(const float *, float *))(uintptr_t)dlsym(so, OSC_JIT_PREFIX "_pack");
    float *pk = malloc(osc_plan_weights_size(p) * sizeof *pk);
    CU_ASSERT_EQUAL(osc_kernel_packs(k), pack != NULL);
    CU_ASSERT_EQUAL_FATAL(osc_kernel_pack(k, w, pk, &err), OSC_OK);
    if (pack) {
      float *pa = malloc(osc_plan_weights_size(p) * sizeof *pa);
      pack(w, pa);
      CU_ASSERT(memcmp(pa, pk, osc_plan_weights_size(p) * sizeof *pa) == 0);
      free(pa);
      aot_packed++;
    } else {
      CU_ASSERT(memcmp(w, pk, osc_plan_weights_size(p) * sizeof *pk) == 0);
    }
    free(w);
    w = pk;
  }
  if (r) {   /* the JIT in place (the residual in its output), the AOT build from r */
    memcpy(a, r, n * osc_plan_output_size(p) * sizeof *a);
    CU_ASSERT_EQUAL(osc_kernel_run_residual(k, n, in, a, a, w, scratch, &err), OSC_OK);
    ((osc_kernel_res_fn)(uintptr_t)aot)(n, in, r, b, w, scratch);
  } else {
    CU_ASSERT_EQUAL(osc_kernel_run(k, n, in, a, w, scratch, &err), OSC_OK);
    ((osc_kernel_fn)(uintptr_t)aot)(n, in, b, w, scratch);
  }
  if (memcmp(a, b, n * osc_plan_output_size(p) * sizeof *a) != 0) {
    char d[256];
    osc_plan_describe(p, d, sizeof d);
    fprintf(stderr, "\n  JIT != AOT for %s (source kept in %s/k%d.c)\n", d, dir, id);
    CU_FAIL("JIT and AOT outputs differ");
    aot_mismatches++;
  }
  osc_kernel_free(k);
  dlclose(so);
  free(src), free(in), free(w), free(a), free(b), free(scratch), free(r);
}

/* Layers big enough that the emitter uses loops, chunked fan-in and borders. */
static int edge_plan(int i, osc_plan *p) {
  static const struct { int c_in, c_out, hw, k, stride, pad, max_stages; osc_mode mode; } e[] = {
      {32, 32, 8, 3, 1, 1, 2, OSC_MODE_CONVENTIONAL},   /* past full unrolling */
      {64, 64, 5, 3, 1, 1, 3, OSC_MODE_OPTIMAL},        /* a 3-stage chain */
      {16, 24, 7, 5, 2, 2, 2, OSC_MODE_SPATIAL},        /* stride 2, wide padding */
      {24, 24, 9, 3, 2, 0, 2, OSC_MODE_DEPTHWISE},      /* stride, no padding */
      {32, 32, 14, 5, 2, 2, 1, OSC_MODE_CONVENTIONAL},  /* stride 2 split into column phases */
  };
  osc_layer l;
  if (i > (int)(sizeof e / sizeof e[0])) return 0;
  osc_layer_init(&l);
  if (i == (int)(sizeof e / sizeof e[0])) {
    /* fixed: 3x3 grouped, shuffle, 1x1 grouped, shuffle, 1x1 dense */
    snprintf(l.name, sizeof l.name, "edge-fixed");
    l.in_channels = 12;
    l.out_channels = 8;
    l.in_h = l.in_w = 7;
    l.k_h = l.k_w = 3;
    l.pad_h = l.pad_w = 1;
    l.stride_w = 2;
    l.bias = 1;
    l.act = OSC_ACT_RELU;
    l.mode = OSC_MODE_FIXED;
    l.n_fixed = 3;
    l.fixed[0] = (osc_stage_spec){12, 3, 3, 3};
    l.fixed[1] = (osc_stage_spec){24, 4, 1, 1};
    l.fixed[2] = (osc_stage_spec){8, 1, 1, 1};
    CU_ASSERT_EQUAL(osc_plan_layer(&l, p, NULL), OSC_OK);
    return 1;
  }
  snprintf(l.name, sizeof l.name, "edge%d", i);
  l.in_channels = e[i].c_in;
  l.out_channels = e[i].c_out;
  l.in_h = l.in_w = e[i].hw;
  l.k_h = l.k_w = e[i].k;
  l.stride_h = l.stride_w = e[i].stride;
  l.pad_h = l.pad_w = e[i].pad;
  l.max_stages = e[i].max_stages;
  l.mode = e[i].mode;
  l.bias = 1;
  l.act = i % 2 ? OSC_ACT_RELU : OSC_ACT_NONE;
  CU_ASSERT_EQUAL(osc_plan_layer(&l, p, NULL), OSC_OK);
  return 1;
}

/* Every mode, fixed chains included, over random specs. */
static void test_jit_equals_aot(void) {
  uint64_t rng = rt_rng();
  char dir[] = "/tmp/osc-aot-XXXXXX", cmd[64];
  int want = osc_test_quick() ? 3 : 40, id = 0, per_mode[OSC_MODE_COUNT] = {0};
  osc_plan edge;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  aot_mismatches = aot_simd = 0;
  for (int i = 0; edge_plan(i, &edge); i++) {
    compare_one(dir, id++, &edge, &rng);
    per_mode[edge.mode]++;
  }
  for (int done = 0; done < want;) {
    osc_plan p;
    if (!rt_random_plan(&rng, &p)) continue;
    p.layer.residual = done % 2;   /* half of them add a residual */
    compare_one(dir, id++, &p, &rng);
    per_mode[p.mode]++;
    done++;
  }
  for (int m = 0; m < OSC_MODE_COUNT; m++) CU_ASSERT(per_mode[m] > 0);
  CU_ASSERT(aot_simd > 0);   /* the SIMD kernels were among those compared */
  if (aot_mismatches) return;
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Layers with oc_lanes (lanes over output channels where cheaper, the
** weights packed): dense layers on small planes, a residual one, a chain;
** the JIT and the AOT build each pack with their own code, then compute
** the same bits. For avx2_oc: the JIT under OSCONV_ISA=avx2, the AOT
** side built for --isa avx2. */
static void check_jit_oc_equals_aot(osc_isa isa) {
  static const struct { int c_in, c_out, hw, stride, res; osc_mode mode; } L[] = {
      {64, 64, 7, 1, 0, OSC_MODE_CONVENTIONAL}, {128, 64, 12, 2, 1, OSC_MODE_CONVENTIONAL},
      {96, 64, 9, 1, 0, OSC_MODE_OPTIMAL}};
  uint64_t rng = rt_rng();
  char dir[] = "/tmp/osc-aot-oc-XXXXXX", cmd[64];
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  aot_mismatches = aot_packed = 0;
  aot_isa = isa == OSC_ISA_AVX2 ? OSC_ISA_AVX2 : 0;
  if (isa == OSC_ISA_AVX2) setenv("OSCONV_ISA", "avx2", 1);
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    osc_layer l;
    osc_plan p;
    osc_layer_init(&l);
    snprintf(l.name, sizeof l.name, "oc%zu", i);
    l.in_channels = L[i].c_in, l.out_channels = L[i].c_out, l.in_h = l.in_w = L[i].hw;
    l.k_h = l.k_w = 3, l.pad_h = l.pad_w = 1, l.stride_h = l.stride_w = L[i].stride;
    l.bias = 1, l.act = OSC_ACT_RELU6, l.residual = L[i].res, l.mode = L[i].mode;
    l.oc_lanes = 1;
    CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &p, NULL), OSC_OK);
    compare_one(dir, (int)i, &p, &rng);
  }
  unsetenv("OSCONV_ISA");
  aot_isa = 0;
  CU_ASSERT(aot_packed >= 2);   /* the dense ones at least */
  if (aot_mismatches) return;
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
}
static void test_jit_oc_equals_aot(void) { check_jit_oc_equals_aot(OSC_ISA_AVX512); }
static void test_jit_oc_equals_aot_avx2(void) { check_jit_oc_equals_aot(OSC_ISA_AVX2); }

/* n floats whose last byte (at_end) or first touches a PROT_NONE page. */
typedef struct fenced { char *map; size_t len; float *p; } fenced;
static float *fence(fenced *f, size_t n, int at_end) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = 4 * n, body = (bytes + page - 1) / page * page;
  f->len = body + 2 * page;
  f->map = mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (f->map == MAP_FAILED) return NULL;
  if (mprotect(f->map, page, PROT_NONE) || mprotect(f->map + page + body, page, PROT_NONE)) return NULL;
  return f->p = (float *)(f->map + page + (at_end ? body - bytes : 0));
}

/* SIMD stages read their input unmasked where the reads stay inside a
** channel's plane (oscpx.c: even_keep and split_load_mask at stride 2,
** reads_in_plane for the masked multiply-adds at stride 1): with the input
** and the weights flush against a PROT_NONE page, before them and after,
** such stages (stride 2 unsplit and split, tails and none, odd sizes,
** padding 0-3, grouped and dense; stride 1 flat planes, a run's passes and
** rows, 1xK, Kx1 and KxK; 1-4 images) run without a fault and match
** oscref.c. A read past the tensor faults here instead of passing unseen. */
static void check_fenced(const char *isa) {
  static const struct { int c_in, c_out, g, hw, kh, kw, pad, stride; } L[] = {
      {128, 128, 32, 28, 3, 3, 1, 2}, {16, 16, 1, 13, 3, 3, 1, 2}, {32, 32, 16, 28, 5, 5, 2, 2},
      {16, 16, 16, 32, 7, 7, 3, 2},  {8, 8, 2, 31, 1, 3, 1, 2},   {8, 16, 4, 17, 3, 1, 0, 2},
      {24, 24, 8, 9, 3, 3, 0, 2},    {4, 8, 1, 64, 3, 3, 1, 2},   {32, 64, 32, 30, 3, 3, 1, 2},
      {32, 32, 2, 14, 1, 7, 3, 1},   {16, 16, 1, 7, 3, 3, 1, 1},  {16, 16, 2, 56, 1, 3, 1, 1},
      {16, 32, 4, 28, 3, 3, 1, 1},   {8, 8, 1, 13, 5, 5, 2, 1},   {16, 16, 4, 15, 1, 5, 2, 1}};
  enum { N = sizeof L / sizeof L[0] };
  uint64_t rng = rt_rng();
  int ran = 0;
  for (size_t i = 0; i < N; i++)
    for (int at_end = 0; at_end < 2; at_end++) {
      osc_layer l;
      osc_plan p;
      osc_kernel *k = NULL;
      osc_kernel_options o = {0};
      fenced fi, fw;
      int n = 1 + (int)(i % 4);
      osc_layer_init(&l);
      l.in_channels = L[i].c_in, l.out_channels = L[i].c_out, l.groups = L[i].g;
      l.in_h = l.in_w = L[i].hw, l.k_h = L[i].kh, l.k_w = L[i].kw;
      l.stride_h = l.stride_w = L[i].stride;
      l.pad_h = L[i].kh > 1 ? L[i].pad : 0, l.pad_w = L[i].kw > 1 ? L[i].pad : 0;
      CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &p, NULL), OSC_OK);
      o.isa = isa, o.threads = 1;
      CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &o, &k, NULL), OSC_OK);
      size_t ni = n * osc_plan_input_size(&p), nw = osc_plan_weights_size(&p),
             no = n * osc_plan_output_size(&p);
      float *in = fence(&fi, ni, at_end), *w = fence(&fw, nw, at_end);
      float *src = rt_random_floats(ni, &rng), *wt = rt_random_floats(nw, &rng);
      float *got = calloc(no, sizeof *got), *want = calloc(no, sizeof *want);
      CU_ASSERT_FATAL(in && w && src && wt && got && want);
      memcpy(in, src, 4 * ni), memcpy(w, wt, 4 * nw);
      CU_ASSERT_EQUAL(osc_kernel_run(k, n, in, got, w, NULL, NULL), OSC_OK);
      CU_ASSERT_EQUAL(oscref_chain(&p, n, src, wt, want), 0);
      CU_ASSERT(rt_rel_l2(got, want, no) < 1e-5);
      ran++;
      munmap(fi.map, fi.len), munmap(fw.map, fw.len);
      free(src), free(wt), free(got), free(want);
      osc_kernel_free(k);
    }
  CU_ASSERT_EQUAL(ran, 2 * N);
}
static void test_fenced(void) { check_fenced("avx512"); }
static void test_fenced_avx2(void) { check_fenced("avx2"); }

static CU_TestInfo tests[] = {
    {"compile, run, pages r-x", test_compile_and_run},
    {"data pages not executable", test_data_pages_not_executable},
    {"mprotect refuses write+execute", test_mprotect_refuses_wx},
    {"compile error names the line", test_compile_error_names_line},
    {"link errors", test_link_errors},
    {"runtime directory checked", test_lib_path},
    {"out of memory", test_out_of_memory},
    {"concurrent compiles", test_concurrent_compiles},
    {"JIT equals AOT bit for bit", test_jit_equals_aot},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("jit", tests)

/* The oc shape is AVX-512 or AVX2 code: without the ISA the JIT emits
** none, and the test is left out and said so, never counted as passed. */
static CU_TestInfo avx512_tests[] = {
    {"JIT equals AOT bit for bit, oc_lanes (packed weights)", test_jit_oc_equals_aot},
    {"SIMD stages with their buffers against PROT_NONE pages", test_fenced},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo avx2_tests[] = {
    {"JIT equals AOT bit for bit, oc_lanes, avx2_oc (packed weights)",
     test_jit_oc_equals_aot_avx2},
    {"SIMD stages with their buffers against PROT_NONE pages", test_fenced_avx2},
    CU_TEST_INFO_NULL,
};

__attribute__((constructor)) static void register_avx512(void) {
  if (osc_isa_host() >= OSC_ISA_AVX512) osc_test_add_suite("jit-avx512", avx512_tests);
  else fprintf(stderr, "jit-avx512: SKIPPED, this CPU has no AVX-512F\n");
  if (osc_isa_host() >= OSC_ISA_AVX2) osc_test_add_suite("jit-avx2", avx2_tests);
  else fprintf(stderr, "jit-avx2: SKIPPED, this CPU has no AVX2 + FMA\n");
}

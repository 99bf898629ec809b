/*
** oscsimd.c -- machine code into the generated C (see oscsimd.h): asm
** functions, the cpuid detector, the dispatcher.
*/
#include "oscsimd.h"

#include <stdio.h>
#include <string.h>

#define BYTES_PER_LINE 20

void osc_simd_asm_function(osc_buf *out, const char *name, const osc_x86 *a) {
  const char *l = a->listing.data ? a->listing.data : "";
  if (a->no_listing)
    osc_buf_printf(out, "/* %s: %zu bytes of x86-64 machine code, encoded by osconv (the "
                   "listing left out)\n", name, a->len);
  else
    osc_buf_printf(out, "/* %s: %zu bytes of x86-64 machine code, encoded by osconv:\n", name,
                   a->len);
  while (*l) {
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) : strlen(l);
    osc_buf_puts(out, "** ");
    osc_buf_add(out, l, n);
    osc_buf_puts(out, "\n");
    l += n + (e != NULL);
  }
  osc_buf_printf(out, "*/\nstatic void %s(const void *args) __attribute__((noinline));\n"
                 "static void %s(const void *args) {\n  __asm__ __volatile__(\n", name, name);
  for (size_t i = 0; i < a->len; i += BYTES_PER_LINE) {
    /* by hand: a printf per byte was most of the JIT's emit time */
    static const char hex[] = "0123456789abcdef";
    char line[16 + 5 * BYTES_PER_LINE], *p = line;
    memcpy(p, "    \".byte ", 11);
    p += 11;
    for (size_t k = i; k < a->len && k < i + BYTES_PER_LINE; k++) {
      if (k > i) *p++ = ',';
      *p++ = '0';
      *p++ = 'x';
      *p++ = hex[a->code[k] >> 4];
      *p++ = hex[a->code[k] & 15];
    }
    memcpy(p, "\\n\\t\"\n", 6);
    p += 6;
    osc_buf_add(out, line, (size_t)(p - line));
  }
  osc_buf_puts(out, "    : : \"D\"(args) : \"memory\", \"cc\");\n}\n");
}

/* r[0] = leaf, r[2] = subleaf in; eax, ebx, ecx, edx out. */
static void cpuid_code(osc_x86 *a) {
  static const ZydisRegister saved[] = {ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RBX,
                                        ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX};
  static const ZydisRegister res[] = {ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_EBX,
                                      ZYDIS_REGISTER_ECX, ZYDIS_REGISTER_EDX};
  const ZydisRegister D = ZYDIS_REGISTER_RDI;
  osc_x86_save(a, saved, 4);
  OSC_X86(a, MOV, osc_x86_r(ZYDIS_REGISTER_EAX), osc_x86_m(D, 0, 4));
  OSC_X86(a, MOV, osc_x86_r(ZYDIS_REGISTER_ECX), osc_x86_m(D, 8, 4));
  osc_x86_ins(a, ZYDIS_MNEMONIC_CPUID, 0, NULL);
  for (int i = 0; i < 4; i++) OSC_X86(a, MOV, osc_x86_m(D, 4 * i, 4), osc_x86_r(res[i]));
  osc_x86_restore(a, saved, 4);
}

/* XCR0 into r[0] (low) and r[1] (high). */
static void xgetbv_code(osc_x86 *a) {
  static const ZydisRegister saved[] = {ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX,
                                        ZYDIS_REGISTER_RDX};
  const ZydisRegister D = ZYDIS_REGISTER_RDI;
  osc_x86_save(a, saved, 3);
  OSC_X86(a, XOR, osc_x86_r(ZYDIS_REGISTER_ECX), osc_x86_r(ZYDIS_REGISTER_ECX));
  osc_x86_ins(a, ZYDIS_MNEMONIC_XGETBV, 0, NULL);
  OSC_X86(a, MOV, osc_x86_m(D, 0, 4), osc_x86_r(ZYDIS_REGISTER_EAX));
  OSC_X86(a, MOV, osc_x86_m(D, 4, 4), osc_x86_r(ZYDIS_REGISTER_EDX));
  osc_x86_restore(a, saved, 3);
}

static void helper(osc_buf *out, const char *prefix, const char *what, void (*gen)(osc_x86 *)) {
  osc_x86 a;
  char name[256];
  osc_x86_init(&a);
  gen(&a);
  snprintf(name, sizeof name, "%s_%s", prefix, what);
  osc_simd_asm_function(out, name, &a);
  osc_x86_free(&a);
}

void osc_simd_detector(osc_buf *out, const char *prefix) {
  osc_buf_puts(out, "#if defined(__x86_64__)\n");
  helper(out, prefix, "cpuid", cpuid_code);
  helper(out, prefix, "xgetbv", xgetbv_code);
  osc_buf_printf(out,
    "/* The best ISA this CPU and OS run (osc_isa): 1 c, 2 avx2+fma, 3 avx512f. The\n"
    "** instructions (cpuid 1: AVX, FMA, OSXSAVE; cpuid 7: AVX2, AVX512F) and the\n"
    "** OS saving their registers (XCR0: SSE+AVX, opmask+zmm), read once: racing\n"
    "** first calls store the same value. */\n"
    "static int %s_isa(void) {\n"
    "  static void (*const volatile cpuid)(const void *) = %s_cpuid;\n"
    "  static void (*const volatile xgetbv)(const void *) = %s_xgetbv;\n"
    "  static volatile int level;\n"
    "  unsigned r[4] = {0, 0, 0, 0}, x[2] = {0, 0}, ecx1, ebx7, l = 1;\n"
    "  if (level) return level;\n"
    "  cpuid(r);\n"
    "  if (r[0] >= 7) {\n"
    "    r[0] = 1; r[2] = 0; cpuid(r); ecx1 = r[2];\n"
    "    r[0] = 7; r[2] = 0; cpuid(r); ebx7 = r[1];\n"
    "    if ((ecx1 >> 27 & 1) && (ecx1 >> 28 & 1)) {\n"
    "      xgetbv(x);\n"
    "      if ((x[0] & 6) == 6 && (ebx7 >> 5 & 1) && (ecx1 >> 12 & 1)) l = 2;\n"
    "      if (l == 2 && (x[0] & 0xe6) == 0xe6 && (ebx7 >> 16 & 1)) l = 3;\n"
    "    }\n"
    "  }\n"
    "  level = (int)l;\n"
    "  return level;\n"
    "}\n#endif\n\n", prefix, prefix, prefix);
}

void osc_simd_params(osc_buf *out, const osc_stage_job *j) {
  osc_buf_printf(out, "const float *restrict in, float *%sout, const float *restrict w%s%s"
                 ", int t0, int t1", j->residual ? "" : "restrict ",
                 j->bias ? ", const float *restrict bias" : "",
                 j->residual ? ", const float *res" : "");
}

/* FNAME_tiles(): the tile count of the variant FNAME runs on this CPU. */
static void tiles_dispatcher(osc_buf *out, const osc_stage_job *j,
                             const osc_stage_kernel *const *v, int n) {
  osc_buf_printf(out, "static int %s_tiles(void) {\n#if defined(__x86_64__)\n"
                 "  int isa = %s_isa();\n", j->fname, j->prefix);
  for (int i = 0; i + 1 < n; i++)
    osc_buf_printf(out, "  if (isa >= %d) return %d;\n", (int)v[i]->isa, v[i]->tiles(j));
  osc_buf_printf(out, "#endif\n  return %d;\n}\n", v[n - 1]->tiles(j));
}

void osc_simd_dispatcher(osc_buf *out, const osc_stage_job *j, const osc_stage_kernel *const *v,
                         int n) {
  char args[48];
  snprintf(args, sizeof args, "in, out, w%s%s, t0, t1", j->bias ? ", bias" : "",
           j->residual ? ", res" : "");
  osc_buf_printf(out, "/* stage %d: the best of", j->index + 1);
  for (int i = 0; i < n; i++) osc_buf_printf(out, " %s%s", v[i]->name, i + 1 < n ? "," : "");
  osc_buf_printf(out, " this CPU runs */\nstatic void %s(", j->fname);
  osc_simd_params(out, j);
  osc_buf_puts(out, ") {\n#if defined(__x86_64__)\n");
  osc_buf_printf(out, "  int isa = %s_isa();\n", j->prefix);
  for (int i = 0; i + 1 < n; i++)
    osc_buf_printf(out, "  if (isa >= %d) { %s_%s(%s); return; }\n", (int)v[i]->isa,
                   j->fname, v[i]->name, args);
  osc_buf_printf(out, "#endif\n  %s_%s(%s);\n}\n", j->fname, v[n - 1]->name, args);
  tiles_dispatcher(out, j, v, n);
}

osc_isa osc_simd_cap(const osc_stage_job *j) {
  return j->isa == OSC_ISA_AUTO ? OSC_ISA_AVX512 : j->isa;
}

/* Group and first output channel of tile `t`, into `gr` and `j`. */
void osc_simd_tile_index(osc_buf *out, const osc_stage *s, int oct, const char *t, const char *gr,
                         const char *j) {
  int m = s->c_out / s->groups, per = (m + oct - 1) / oct;
  if (s->groups == 1) osc_buf_printf(out, "%s = 0, %s = %s * %d", gr, j, t, oct);
  else if (per == 1) osc_buf_printf(out, "%s = %s, %s = 0", gr, t, j);
  else osc_buf_printf(out, "%s = %s / %d, %s = %s %% %d * %d", gr, t, per, j, t, per, oct);
}

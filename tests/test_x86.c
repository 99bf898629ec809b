/*
** test_x86.c -- the x86-64 encoder (gen/x86/oscx86.c) against GNU as, and
** the machine code the SIMD kernels emit:
** - every instruction form the generator uses, written here by hand in GNU
**   as syntax, assembled by `as` + `objcopy -O binary`, equals the bytes
**   the wrapper encodes (and each decodes back with Zydis);
** - the listing above every asm block of generated code, assembled by
**   `as`, gives exactly that block's .byte bytes (so the comment says what
**   the bytes are, for every form and displacement the kernels produce);
** - no emitted instruction lies outside the ISA it was emitted for.
** Without `as` on the machine the first two say SKIPPED and assert nothing.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osc_test.h"
#include "oscemit.h"
#include "oscisa.h"
#include "oscplan.h"
#include "oscx86.h"

#define R(x) osc_x86_r(ZYDIS_REGISTER_##x)
#define M(b, d, s) osc_x86_m(ZYDIS_REGISTER_##b, d, s)
#define I(v) osc_x86_i(v)
#define K(x) ZYDIS_REGISTER_##x

/* ---- GNU as ---------------------------------------------------------------------- */

static int have_as(void) { return system("as --version > /dev/null 2>&1") == 0; }

/* Assemble Intel-syntax text into *bytes (malloc'd); -1 on failure. */
static int assemble(const char *text, unsigned char **bytes, size_t *len) {
  char dir[] = "/tmp/osconv-as-XXXXXX", cmd[1400], s[64], o[64], b[64];
  FILE *f;
  long n;
  int ok = -1;
  *bytes = NULL;
  if (!mkdtemp(dir)) return -1;
  snprintf(s, sizeof s, "%s/a.s", dir);
  snprintf(o, sizeof o, "%s/a.o", dir);
  snprintf(b, sizeof b, "%s/a.bin", dir);
  if ((f = fopen(s, "w"))) {
    fprintf(f, ".intel_syntax noprefix\n.text\n%s\n", text);
    fclose(f);
    snprintf(cmd, sizeof cmd, "as --64 -o %s %s && objcopy -O binary -j .text %s %s", o, s, o, b);
    if (system(cmd) == 0 && (f = fopen(b, "rb"))) {
      fseek(f, 0, SEEK_END);
      n = ftell(f);
      rewind(f);
      if (n >= 0 && (*bytes = malloc((size_t)n + 1)) && fread(*bytes, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
        ok = 0;
      }
      fclose(f);
    }
  }
  unlink(s); unlink(o); unlink(b); rmdir(dir);
  return ok;
}

static int same_bytes(const char *what, const unsigned char *a, size_t na, const unsigned char *b,
                      size_t nb) {
  size_t i = 0;
  if (na == nb && !memcmp(a, b, na)) return 1;
  while (i < na && i < nb && a[i] == b[i]) i++;
  fprintf(stderr, "\n%s: %zu bytes vs as's %zu, first difference at offset %zu\n", what, na, nb, i);
  return 0;
}

/* ---- every form, by hand --------------------------------------------------------- */

/* The forms the kernels and the detector use, with short and long
** displacements, negative ones, zmm16-31, masks and broadcasts. */
static const char *const forms_as =
    "lea rsp, [rsp-128]\n"
    "push rax\npush r13\npop r13\npop rax\n"
    "lea rsp, [rsp+128]\n"
    "mov rsi, qword ptr [rdi]\nmov r8, qword ptr [rdi+24]\n"
    "mov rax, r10\nmov rbx, rcx\n"
    "mov r13d, 0xfffe\nkmovw k1, r13d\nkmovw k7, r13d\n"
    "mov r12, 5\nmov r9, 300\n"
    "lea r10, [rsi-896]\nlea r11, [rdx+100000]\n"
    "vpxord zmm0, zmm0, zmm0\nvpxord zmm23, zmm23, zmm23\n"
    "vmovups zmm24, zmmword ptr [rax]\n"
    "vmovups zmm25{k1}{z}, zmmword ptr [rax-4]\n"
    "vmovups zmm31{k7}{z}, zmmword ptr [rax+12544]\n"
    "vmovups zmm24, zmmword ptr [rax+64]\n"
    "vfmadd231ps zmm0, zmm24, dword ptr [rbx]{1to16}\n"
    "vfmadd231ps zmm0, zmm1, dword ptr [rsi+0x40]{1to16}\n"
    "vfmadd231ps zmm23, zmm31, dword ptr [rbx+4000]{1to16}\n"
    "vaddps zmm5, zmm5, dword ptr [r8+28]{1to16}\n"
    "vmaxps zmm5, zmm24, zmm5\n"
    "vmovups zmmword ptr [r11+64], zmm5\n"
    "vmovups zmmword ptr [r11+802816]{k2}, zmm17\n"
    "vmovups zmm31, zmmword ptr [r14]\nvpermt2ps zmm4, zmm31, zmm30\n"
    "add rax, 12544\nadd rbx, 36\nadd r10, 224\n"
    "dec r12\n"
    "vzeroupper\n"
    "mov eax, dword ptr [rdi]\nmov ecx, dword ptr [rdi+8]\ncpuid\n"
    "mov dword ptr [rdi+12], edx\nxor ecx, ecx\nxgetbv\n"
    "L0:\nadd rax, 1\ndec r9\njnz L0\n"
    /* avx2_px */
    "mov r14, qword ptr [rdi+32]\n"
    "vxorps ymm3, ymm3, ymm3\n"
    "vmovups ymm12, ymmword ptr [rax-12]\nvmovups ymm15, ymmword ptr [r14+64]\n"
    "vmaskmovps ymm13, ymm15, ymmword ptr [rax+4]\n"
    "vbroadcastss ymm15, dword ptr [rbx+40]\n"
    "vfmadd231ps ymm11, ymm14, ymm15\n"
    "vaddps ymm2, ymm2, ymm15\nvmaxps ymm2, ymm12, ymm2\n"
    "vmovups ymmword ptr [r11+32], ymm2\n"
    "vmaskmovps ymmword ptr [r11+100000], ymm15, ymm9\n"
    "vmaskmovps ymm15, ymm15, ymmword ptr [rax+36]\n"
    "vshufps ymm5, ymm5, ymm15, 0x88\nvpermpd ymm5, ymm5, 0xd8\n"
    /* weights broadcast once into a register; relu6 / clamp bounds */
    "vbroadcastss zmm27, dword ptr [rbx+40]\nvfmadd231ps zmm3, zmm24, zmm27\n"
    "vbroadcastss zmm30, dword ptr [rbx-4]\nvfmadd231ps zmm23, zmm29, zmm30\n"
    "mov r13d, 0x40c00000\nvpbroadcastd zmm25, r13d\nvminps zmm5, zmm25, zmm5\n"
    "vmovd xmm12, r13d\nvbroadcastss ymm12, xmm12\nvminps ymm2, ymm13, ymm2\n"
    "mov r13d, 0xbf000000\n";

static void forms_encoded(osc_x86 *a) {
  OSC_X86(a, LEA, R(RSP), M(RSP, -128, 8));
  OSC_X86(a, PUSH, R(RAX)); OSC_X86(a, PUSH, R(R13)); OSC_X86(a, POP, R(R13));
  OSC_X86(a, POP, R(RAX));
  OSC_X86(a, LEA, R(RSP), M(RSP, 128, 8));
  OSC_X86(a, MOV, R(RSI), M(RDI, 0, 8)); OSC_X86(a, MOV, R(R8), M(RDI, 24, 8));
  OSC_X86(a, MOV, R(RAX), R(R10)); OSC_X86(a, MOV, R(RBX), R(RCX));
  OSC_X86(a, MOV, R(R13D), I(0xfffe)); OSC_X86(a, KMOVW, R(K1), R(R13D));
  OSC_X86(a, KMOVW, R(K7), R(R13D));
  OSC_X86(a, MOV, R(R12), I(5)); OSC_X86(a, MOV, R(R9), I(300));
  OSC_X86(a, LEA, R(R10), M(RSI, -896, 8)); OSC_X86(a, LEA, R(R11), M(RDX, 100000, 8));
  OSC_X86_EVEX(a, VPXORD, K(K0), 0, R(ZMM0), R(ZMM0), R(ZMM0));
  OSC_X86_EVEX(a, VPXORD, K(K0), 0, R(ZMM23), R(ZMM23), R(ZMM23));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, R(ZMM24), M(RAX, 0, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K1), OSC_X86_ZERO, R(ZMM25), M(RAX, -4, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K7), OSC_X86_ZERO, R(ZMM31), M(RAX, 12544, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, R(ZMM24), M(RAX, 64, 64));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), OSC_X86_BCST, R(ZMM0), R(ZMM24), M(RBX, 0, 4));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), OSC_X86_BCST, R(ZMM0), R(ZMM1), M(RSI, 0x40, 4));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), OSC_X86_BCST, R(ZMM23), R(ZMM31), M(RBX, 4000, 4));
  OSC_X86_EVEX(a, VADDPS, K(K0), OSC_X86_BCST, R(ZMM5), R(ZMM5), M(R8, 28, 4));
  OSC_X86_EVEX(a, VMAXPS, K(K0), 0, R(ZMM5), R(ZMM24), R(ZMM5));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, M(R11, 64, 64), R(ZMM5));
  OSC_X86_EVEX(a, VMOVUPS, K(K2), 0, M(R11, 802816, 64), R(ZMM17));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, R(ZMM31), M(R14, 0, 64));
  OSC_X86_EVEX(a, VPERMT2PS, K(K0), 0, R(ZMM4), R(ZMM31), R(ZMM30));
  OSC_X86(a, ADD, R(RAX), I(12544)); OSC_X86(a, ADD, R(RBX), I(36));
  OSC_X86(a, ADD, R(R10), I(224));
  OSC_X86(a, DEC, R(R12));
  osc_x86_ins(a, ZYDIS_MNEMONIC_VZEROUPPER, 0, NULL);
  OSC_X86(a, MOV, R(EAX), M(RDI, 0, 4)); OSC_X86(a, MOV, R(ECX), M(RDI, 8, 4));
  osc_x86_ins(a, ZYDIS_MNEMONIC_CPUID, 0, NULL);
  OSC_X86(a, MOV, M(RDI, 12, 4), R(EDX)); OSC_X86(a, XOR, R(ECX), R(ECX));
  osc_x86_ins(a, ZYDIS_MNEMONIC_XGETBV, 0, NULL);
  {
    int top = osc_x86_label(a);
    OSC_X86(a, ADD, R(RAX), I(1));
    OSC_X86(a, DEC, R(R9));
    osc_x86_jnz(a, top);
  }
  OSC_X86(a, MOV, R(R14), M(RDI, 32, 8));
  OSC_X86(a, VXORPS, R(YMM3), R(YMM3), R(YMM3));
  OSC_X86(a, VMOVUPS, R(YMM12), M(RAX, -12, 32)); OSC_X86(a, VMOVUPS, R(YMM15), M(R14, 64, 32));
  OSC_X86(a, VMASKMOVPS, R(YMM13), R(YMM15), M(RAX, 4, 32));
  OSC_X86(a, VBROADCASTSS, R(YMM15), M(RBX, 40, 4));
  OSC_X86(a, VFMADD231PS, R(YMM11), R(YMM14), R(YMM15));
  OSC_X86(a, VADDPS, R(YMM2), R(YMM2), R(YMM15)); OSC_X86(a, VMAXPS, R(YMM2), R(YMM12), R(YMM2));
  OSC_X86(a, VMOVUPS, M(R11, 32, 32), R(YMM2));
  OSC_X86(a, VMASKMOVPS, M(R11, 100000, 32), R(YMM15), R(YMM9));
  OSC_X86(a, VMASKMOVPS, R(YMM15), R(YMM15), M(RAX, 36, 32));
  OSC_X86(a, VSHUFPS, R(YMM5), R(YMM5), R(YMM15), I(0x88));
  OSC_X86(a, VPERMPD, R(YMM5), R(YMM5), I(0xd8));
  OSC_X86_EVEX(a, VBROADCASTSS, K(K0), 0, R(ZMM27), M(RBX, 40, 4));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), 0, R(ZMM3), R(ZMM24), R(ZMM27));
  OSC_X86_EVEX(a, VBROADCASTSS, K(K0), 0, R(ZMM30), M(RBX, -4, 4));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), 0, R(ZMM23), R(ZMM29), R(ZMM30));
  OSC_X86(a, MOV, R(R13D), I(0x40c00000));
  OSC_X86_EVEX(a, VPBROADCASTD, K(K0), 0, R(ZMM25), R(R13D));
  OSC_X86_EVEX(a, VMINPS, K(K0), 0, R(ZMM5), R(ZMM25), R(ZMM5));
  OSC_X86(a, VMOVD, R(XMM12), R(R13D));
  OSC_X86(a, VBROADCASTSS, R(YMM12), R(XMM12));
  OSC_X86(a, VMINPS, R(YMM2), R(YMM13), R(YMM2));
  OSC_X86(a, MOV, R(R13D), I((int32_t)0xbf000000u));   /* -0.5f: the bits, as signed */
}

static void test_forms_vs_as(void) {
  osc_x86 a;
  unsigned char *want;
  size_t n;
  osc_x86_init(&a);
  forms_encoded(&a);
  CU_ASSERT_PTR_NULL(osc_x86_error(&a));
  /* the one the issue checked by hand */
  {
    static const unsigned char fma[] = {0x62, 0xf2, 0x75, 0x58, 0xb8, 0x46, 0x10};
    osc_x86 b;
    osc_x86_init(&b);
    OSC_X86_EVEX(&b, VFMADD231PS, K(K0), OSC_X86_BCST, R(ZMM0), R(ZMM1), M(RSI, 0x40, 4));
    CU_ASSERT(b.len == sizeof fma && !memcmp(b.code, fma, sizeof fma));
    osc_x86_free(&b);
  }
  if (!have_as()) {
    fprintf(stderr, "SKIPPED (no GNU as) ");
  } else {
    CU_ASSERT_EQUAL_FATAL(assemble(forms_as, &want, &n), 0);
    CU_ASSERT(same_bytes("hand-written forms", a.code, a.len, want, n));
    free(want);
  }
  osc_x86_free(&a);
}

/* Requests Zydis cannot encode are errors that stick, never wrong bytes. */
static void test_encoder_errors(void) {
  osc_x86 a;
  osc_x86_init(&a);
  OSC_X86(&a, ADD, R(RAX), R(ZMM0));
  CU_ASSERT_PTR_NOT_NULL(osc_x86_error(&a));
  CU_ASSERT_EQUAL(a.len, 0);
  OSC_X86(&a, DEC, R(R12));   /* after an error: nothing */
  CU_ASSERT_EQUAL(a.len, 0);
  osc_x86_free(&a);
  osc_x86_init(&a);
  osc_x86_jnz(&a, 3);   /* no such label */
  CU_ASSERT_PTR_NOT_NULL(osc_x86_error(&a));
  osc_x86_free(&a);
}

/* ---- generated code -------------------------------------------------------------- */

/* One asm block of generated C: its listing and its bytes. */
typedef struct block {
  char name[128];
  char *listing;
  unsigned char *bytes;
  size_t len, listing_len;
} block;

/* The next block at or after *at; 0 when there is none. */
static int next_block(const char **at, block *b) {
  const char *p = strstr(*at, " bytes of x86-64 machine code, encoded by osconv:\n"), *q, *end;
  size_t cap;
  memset(b, 0, sizeof *b);
  if (!p) return 0;
  cap = strlen(p) + 1;   /* the listing is shorter than the rest of the file */
  q = p;
  while (q > *at && q[-1] != '*') q--;
  sscanf(q, " %127[^:]", b->name);
  p = strchr(p, '\n') + 1;
  b->listing = malloc(cap);
  while (!strncmp(p, "** ", 3)) {
    end = strchr(p, '\n');
    if (b->listing_len + (size_t)(end - p) + 2 < cap) {
      memcpy(b->listing + b->listing_len, p + 3, (size_t)(end - p - 3));
      b->listing_len += (size_t)(end - p - 3);
      b->listing[b->listing_len++] = '\n';
    }
    p = end + 1;
  }
  b->listing[b->listing_len] = '\0';
  end = strstr(p, ": : \"D\"(args)");
  b->bytes = malloc(end ? (size_t)(end - p) : 1);
  for (q = p; end && (q = strstr(q, "0x")) && q < end; q += 4)
    b->bytes[b->len++] = (unsigned char)strtoul(q, NULL, 16);
  *at = end ? end : p;
  return 1;
}

static void free_block(block *b) {
  free(b->listing);
  free(b->bytes);
}

static char *emit_plan(const osc_plan *p, int isa) {
  osc_emit_options o = {"x", 1, isa};
  osc_emit_knobs k = {0};
  osc_error err;
  osc_buf b;
  osc_buf_init(&b);
  k.kernel = isa == OSC_ISA_AVX512 ? "avx512_px" : NULL;
  if (osc_emit_layer_knobs(p, &o, &k, &b, &err)) {
    fprintf(stderr, "\nemit: %s\n", err.msg);
    osc_buf_free(&b);
    return NULL;
  }
  return osc_buf_take(&b);
}

/* Layers whose stages walk every code path of the kernels: borders, the
** interior row loop and its remainder, segments, masks beyond six, tails,
** bias, ReLU, shuffled stores, the fan-in loop. */
static int sample_plans(osc_plan *p) {
  struct { int cin, cout, h, w, kh, kw, ph, pw, g, bias, relu, stride; osc_mode mode; } L[] = {
      {64, 64, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, OSC_MODE_OPTIMAL},
      {16, 24, 9, 130, 5, 3, 2, 1, 1, 0, 1, 1, OSC_MODE_CONVENTIONAL},
      {6, 6, 7, 7, 7, 7, 3, 3, 6, 1, 0, 1, OSC_MODE_CONVENTIONAL},
      {70, 9, 5, 17, 1, 1, 0, 0, 1, 1, 1, 1, OSC_MODE_CONVENTIONAL},
      {32, 32, 28, 28, 3, 3, 1, 1, 4, 1, 1, 2, OSC_MODE_CONVENTIONAL},
      {40, 24, 13, 11, 1, 1, 0, 0, 1, 1, 3, 1, OSC_MODE_CONVENTIONAL},   /* pw, clamp */
      {16, 16, 10, 19, 3, 3, 1, 1, 1, 0, 2, 1, OSC_MODE_OPTIMAL},        /* relu6 */
  };
  int n = 0;
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    osc_layer l;
    osc_error err;
    osc_layer_init(&l);
    snprintf(l.name, sizeof l.name, "s%zu", i);
    l.in_channels = L[i].cin; l.out_channels = L[i].cout; l.in_h = L[i].h; l.in_w = L[i].w;
    l.k_h = L[i].kh; l.k_w = L[i].kw; l.pad_h = L[i].ph; l.pad_w = L[i].pw;
    l.groups = L[i].g; l.bias = L[i].bias;
    l.act = L[i].relu == 3 ? OSC_ACT_CLAMP : L[i].relu == 2 ? OSC_ACT_RELU6
            : L[i].relu ? OSC_ACT_RELU : OSC_ACT_NONE;
    l.clamp_min = -0.5f, l.clamp_max = 0.75f;
    l.stride_h = l.stride_w = L[i].stride;
    l.residual = (int)(i % 2);   /* the residual's loads in the store (tails masked) too */
    if (L[i].g > 1) l.mode = OSC_MODE_CONVENTIONAL;
    if (osc_plan_layer_mode(&l, L[i].mode, &p[n], &err) == OSC_OK) n++;
    else fprintf(stderr, "\nplan: %s\n", err.msg);
  }
  return n;
}

/* Every block's listing assembles to its bytes; every kernel block is
** within its ISA, and (so the check is seen to bite) not within the one
** below: avx512_px needs AVX-512F, avx2_px AVX2 + FMA. */
static void test_generated_blocks(void) {
  osc_plan p[8];
  int n = sample_plans(p), blocks = 0, listed = 0, within = 0, kernels = 0, not_below = 0;
  int per_isa[4] = {0}, pw_blocks = 0;
  int as = have_as();
  CU_ASSERT_EQUAL(n, 7);
  for (int i = 0; i < n; i++) {
    char *src = emit_plan(&p[i], OSC_ISA_AUTO);
    const char *at = src;
    block b;
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    while (next_block(&at, &b)) {
      unsigned char *want;
      size_t len;
      char why[200];
      osc_isa isa = strstr(b.name, "_avx512_px_") || strstr(b.name, "_avx512_pw_")
                        ? OSC_ISA_AVX512
                    : strstr(b.name, "_avx2_px_") || strstr(b.name, "_avx2_pw_") ? OSC_ISA_AVX2
                                                                               : OSC_ISA_AUTO;
      blocks++;
      if (as && assemble(b.listing, &want, &len) == 0) {
        listed += same_bytes(b.name, b.bytes, b.len, want, len);
        free(want);
      }
      if (isa != OSC_ISA_AUTO) {   /* not the cpuid / xgetbv helpers */
        kernels++;
        pw_blocks += strstr(b.name, "_pw_") != NULL;
        per_isa[isa]++;
        if (osc_x86_check_isa(b.bytes, b.len, isa, why, sizeof why) == 0) within++;
        else fprintf(stderr, "\n%s: %s\n", b.name, why);
        not_below += osc_x86_check_isa(b.bytes, b.len, (osc_isa)(isa - 1), why, sizeof why) != 0;
      }
      free_block(&b);
    }
    free(src);
  }
  CU_ASSERT(per_isa[OSC_ISA_AVX512] >= n);
  CU_ASSERT(per_isa[OSC_ISA_AVX2] >= n);
  CU_ASSERT(pw_blocks >= 4);   /* the pointwise shape, both ISAs */
  CU_ASSERT_EQUAL(within, kernels);
  CU_ASSERT_EQUAL(not_below, kernels);
  if (as) {
    CU_ASSERT_EQUAL(listed, blocks);
  } else {
    fprintf(stderr, "SKIPPED the as comparison (no GNU as) ");
  }
}

/* Register pairs (gen/x86/oscregfuse.h): every block of two fused chains
** (bias, clamp, a residual, a masked tail; passes of 1 and 4 vectors)
** assembles from its listing to its bytes and is AVX-512F, not AVX2. */
static void test_register_pair_blocks(void) {
  static const osc_stage_spec chains[2][3] = {{{16, 4, 1, 1}, {16, 4, 1, 1}, {16, 16, 3, 3}},
                                              {{16, 8, 1, 1}, {16, 8, 1, 1}, {16, 2, 1, 1}}};
  int pairs = 0, listed = 0, blocks = 0, as = have_as();
  for (int c = 0; c < 2; c++) {
    osc_emit_options o = {"rp", 1, OSC_ISA_AVX512};
    osc_layer l;
    osc_plan p;
    osc_buf out;
    const char *at;
    block b;
    osc_layer_init(&l);
    snprintf(l.name, sizeof l.name, "rp%d", c);
    l.in_channels = l.out_channels = 16;
    l.in_h = 9, l.in_w = 11;
    l.k_h = l.k_w = c ? 1 : 3;
    l.pad_h = l.pad_w = c ? 0 : 1;
    l.mode = OSC_MODE_FIXED;
    l.n_fixed = 3;
    for (int i = 0; i < 3; i++) l.fixed[i] = chains[c][i];
    l.bias = 1;
    l.act = c ? OSC_ACT_CLAMP : OSC_ACT_RELU;
    l.clamp_min = -0.5f, l.clamp_max = 0.75f;
    l.residual = 1;
    if (c) {   /* the pair last: bias, clamp and residual in its store */
      l.fixed[0] = chains[c][2], l.fixed[1] = chains[c][0], l.fixed[2] = chains[c][1];
      l.fixed[0].groups = 2;
    }
    CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &p, NULL), OSC_OK);
    osc_buf_init(&out);
    CU_ASSERT_EQUAL_FATAL(osc_emit_layer_fuse(&p, &o, NULL, -2, &out, NULL), OSC_OK);
    for (at = out.data; next_block(&at, &b); free_block(&b)) {
      unsigned char *want;
      size_t len;
      char why[200];
      if (!strstr(b.name, "_r")) continue;
      pairs++, blocks++;
      CU_ASSERT(osc_x86_check_isa(b.bytes, b.len, OSC_ISA_AVX512, why, sizeof why) == 0);
      CU_ASSERT(osc_x86_check_isa(b.bytes, b.len, OSC_ISA_AVX2, why, sizeof why) != 0);
      if (as && assemble(b.listing, &want, &len) == 0) {
        listed += same_bytes(b.name, b.bytes, b.len, want, len);
        free(want);
      }
    }
    osc_buf_free(&out);
  }
  CU_ASSERT_EQUAL(pairs, 2);
  if (as) CU_ASSERT_EQUAL(listed, blocks);
}

/* asm statements other than the opt-in MXCSR ones of OSCONV_FLUSH_DENORMALS
** (stmxcsr / ldmxcsr as bytes, inside #ifdef OSCONV_FLUSH_DENORMALS) */
static int kernel_asm_count(const char *src) {
  int n = 0;
  for (const char *p = src; (p = strstr(p, "__asm__")); p++)
    n += strncmp(p, "__asm__ __volatile__(\".byte 0x0f, 0xae, 0x1", 40) != 0;
  return n;
}

/* --isa c: no machine code at all; auto: the portable code is there too. */
static void test_isa_c_has_no_asm(void) {
  osc_plan p[8];
  int n = sample_plans(p);
  for (int i = 0; i < n; i++) {
    char *c = emit_plan(&p[i], OSC_ISA_C), *a = emit_plan(&p[i], OSC_ISA_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(kernel_asm_count(c), 0);
    CU_ASSERT(kernel_asm_count(a) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(a, "#if defined(__x86_64__)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a, "_isa();"));
    free(c);
    free(a);
  }
}

/* The default output (every variant, dispatched) builds warning-free for a
** machine that is not x86-64: clang --target=aarch64-linux-gnu, compile
** only (generated code needs no header, so no sysroot); the machine code
** must be gone from the object. SKIPPED without clang's AArch64 target. */
static void test_other_arch_builds(void) {
  char dir[] = "/tmp/osconv-a64-XXXXXX", c[64], o[64], cmd[400];
  osc_plan p[8];
  int n = sample_plans(p), built = 0;
  if (system("clang --target=aarch64-linux-gnu -x c -c -o /dev/null /dev/null "
             "> /dev/null 2>&1") != 0) {
    fprintf(stderr, "SKIPPED (no clang with an AArch64 target) ");
    return;
  }
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  snprintf(c, sizeof c, "%s/k.c", dir);
  snprintf(o, sizeof o, "%s/k.o", dir);
  for (int i = 0; i < n; i++) {
    char *src = emit_plan(&p[i], OSC_ISA_AUTO);
    FILE *f = fopen(c, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(src, f);
    fclose(f);
    free(src);
    snprintf(cmd, sizeof cmd, "clang --target=aarch64-linux-gnu -std=c99 -O1 -Wall -Wextra "
             "-pedantic -Werror -c -o %s %s && ! nm %s | grep -q avx", o, c, o);
    built += system(cmd) == 0;
    unlink(o);
  }
  unlink(c);
  rmdir(dir);
  CU_ASSERT_EQUAL(built, n);
}

static void test_isa_names(void) {
  osc_isa i;
  CU_ASSERT(osc_isa_parse("avx512", &i) == 0 && i == OSC_ISA_AVX512);
  CU_ASSERT(osc_isa_parse("avx2", &i) == 0 && i == OSC_ISA_AVX2);
  CU_ASSERT(osc_isa_parse("c", &i) == 0 && i == OSC_ISA_C);
  CU_ASSERT(osc_isa_parse("auto", &i) == 0 && i == OSC_ISA_AUTO);
  CU_ASSERT_EQUAL(osc_isa_parse("avx1024", &i), -1);
  CU_ASSERT_STRING_EQUAL(osc_isa_name(OSC_ISA_AVX512), "avx512");
  {
    osc_error err;
    osc_isa got;
    setenv("OSCONV_ISA", "c", 1);
    CU_ASSERT(osc_isa_runtime(&got, &err) == OSC_OK && got == OSC_ISA_C);
    setenv("OSCONV_ISA", "avx2", 1);
    CU_ASSERT(osc_isa_runtime(&got, &err) == OSC_OK &&
              got == (osc_isa_host() < OSC_ISA_AVX2 ? osc_isa_host() : OSC_ISA_AVX2));
    setenv("OSCONV_ISA", "sse9", 1);
    CU_ASSERT_EQUAL(osc_isa_runtime(&got, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "OSCONV_ISA='sse9'"));
    unsetenv("OSCONV_ISA");
    CU_ASSERT(osc_isa_runtime(&got, &err) == OSC_OK && got == osc_isa_host());
  }
}

static CU_TestInfo tests[] = {
    {"every encoded form equals GNU as", test_forms_vs_as},
    {"encoder errors stick", test_encoder_errors},
    {"generated blocks: listing == bytes (as), ISA sets", test_generated_blocks},
    {"register pair blocks: listing == bytes (as), AVX-512F", test_register_pair_blocks},
    {"isa c emits no machine code, auto both", test_isa_c_has_no_asm},
    {"ISA names, OSCONV_ISA cap", test_isa_names},
    {"the default output builds for aarch64 (clang, compile only)", test_other_arch_builds},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("x86", tests)

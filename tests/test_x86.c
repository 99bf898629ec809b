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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osc_test.h"
#include "oscemit.h"
#include "oscisa.h"
#include "oscplan.h"
#include "oscx86.h"
#include "oscx86memo.h"

#define R(x) osc_x86_r(ZYDIS_REGISTER_##x)
#define M(b, d, s) osc_x86_m(ZYDIS_REGISTER_##b, d, s)
#define I(v) osc_x86_i(v)
#define K(x) ZYDIS_REGISTER_##x
/* [base + zmm31*4 + d], a dword gather / scatter's VSIB operand */
#define VSIB(b, d) osc_x86_mi(ZYDIS_REGISTER_##b, ZYDIS_REGISTER_ZMM31, 4, d, 4)

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
    "vandps ymm9, ymm9, ymmword ptr [r14+0x20]\n"
    /* weights broadcast once into a register; relu6 / clamp bounds */
    "vbroadcastss zmm27, dword ptr [rbx+40]\nvfmadd231ps zmm3, zmm24, zmm27\n"
    "vbroadcastss zmm30, dword ptr [rbx-4]\nvfmadd231ps zmm23, zmm29, zmm30\n"
    /* masked multiply-adds (a stride-1 tap's padding lanes) and the stride-2 zeroing permute */
    "vfmadd231ps zmm3{k2}, zmm24, zmm27\nvfmadd231ps zmm15{k7}, zmm17, dword ptr [rbx+0x1c4]{1to16}\n"
    "vpermt2ps zmm24{k1}{z}, zmm31, zmm30\n"
    "mov r13d, 0x40c00000\nvpbroadcastd zmm25, r13d\nvminps zmm5, zmm25, zmm5\n"
    "vmovd xmm12, r13d\nvbroadcastss ymm12, xmm12\nvminps ymm2, ymm13, ymm2\n"
    "mov r13d, 0xbf000000\n"
    /* the prefetches of the next tile's input and weights (oscpx.c) */
    "push rdi\nmov rdi, qword ptr [rdi+48]\nsub rdi, rsi\nmov r13, qword ptr [rdi+56]\n"
    "prefetcht0 byte ptr [r13+0]\nprefetcht0 byte ptr [r13+0xfc0]\n"
    "prefetcht0 byte ptr [rax+rdi*1+0]\nprefetcht0 byte ptr [rax+rdi*1+0x40]\n"
    "prefetcht0 byte ptr [rax+rdi*1+12540]\nprefetcht0 byte ptr [rax+rdi*1-4]\npop rdi\n"
    /* the tile's output lines, for writing */
    "prefetchw byte ptr [r11+0]\nprefetchw byte ptr [r11+0x7f]\nprefetchw byte ptr [r11+802816]\n"
    /* a stage's _fetch: its code, the first tile's input and weights */
    "mov ecx, 263\nprefetcht1 byte ptr [rax]\nadd rax, 64\ndec ecx\n"
    /* avx512_oc: weight vectors, per-pixel broadcasts, the scattering store */
    "mov r14, qword ptr [rdi+32]\nmov rbp, qword ptr [rdi+40]\n"
    "vmovups zmm26, zmmword ptr [rbx+73728]\nvbroadcastss zmm28, dword ptr [rax-228]\n"
    "vfmadd231ps zmm17, zmm26, zmm28\nvaddps zmm5, zmm5, zmmword ptr [r8+64]\n"
    "kxnorw k1, k1, k1\n"
    "vgatherdps zmm24{k1}, dword ptr [r15+zmm31*4+256]\n"
    "vscatterdps dword ptr [r11+zmm31*4]{k1}, zmm5\n"
    "vscatterdps dword ptr [r11+zmm31*4+802816]{k1}, zmm17\n"
    "vscatterdps dword ptr [r11+zmm31*4-8]{k1}, zmm0\n"
    /* avx2_oc: the frame, a block's upper half, the residual's gather by
    ** inserts, lo / hi from the frame, the spilling store */
    "sub rsp, 64\nmov dword ptr [rsp+32], 0x40c00000\nmov dword ptr [rsp+36], 0xbe800000\n"
    "vmovups ymm13, ymmword ptr [rbx+73760]\nvaddps ymm5, ymm5, ymmword ptr [r8+32]\n"
    "vmovss xmm14, dword ptr [r15+256]\nvinsertps xmm14, xmm14, dword ptr [r15+452], 0x10\n"
    "vinsertps xmm15, xmm15, dword ptr [r15+1236], 0x30\nvinsertf128 ymm14, ymm14, xmm15, 1\n"
    "vbroadcastss ymm12, dword ptr [rsp+32]\nvmovups ymmword ptr [rsp], ymm5\n"
    "mov r13d, dword ptr [rsp+28]\nmov dword ptr [r11+802816], r13d\n"
    "mov dword ptr [r11-8], r13d\nadd rsp, 64\n"
    /* the stride-2 split into column phases: a copy on the stack */
    "sub rsp, 12544\nmov rax, rsi\nmov r10, rsp\nmov rsi, rsp\nadd rsp, 12544\n"
    "vmovups zmm29, zmmword ptr [r14+64]\nvmovups zmm1, zmmword ptr [rax+128]\n"
    "vmovups zmm2{k2}{z}, zmmword ptr [rax+0xc0]\nvpermt2ps zmm1, zmm29, zmm2\n"
    "vmovups zmmword ptr [r10+0x80], zmm1\n";

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
  OSC_X86(a, VANDPS, R(YMM9), R(YMM9), M(R14, 0x20, 32));
  OSC_X86_EVEX(a, VBROADCASTSS, K(K0), 0, R(ZMM27), M(RBX, 40, 4));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), 0, R(ZMM3), R(ZMM24), R(ZMM27));
  OSC_X86_EVEX(a, VBROADCASTSS, K(K0), 0, R(ZMM30), M(RBX, -4, 4));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), 0, R(ZMM23), R(ZMM29), R(ZMM30));
  OSC_X86_EVEX(a, VFMADD231PS, K(K2), 0, R(ZMM3), R(ZMM24), R(ZMM27));
  OSC_X86_EVEX(a, VFMADD231PS, K(K7), OSC_X86_BCST, R(ZMM15), R(ZMM17), M(RBX, 0x1c4, 4));
  OSC_X86_EVEX(a, VPERMT2PS, K(K1), OSC_X86_ZERO, R(ZMM24), R(ZMM31), R(ZMM30));
  OSC_X86(a, MOV, R(R13D), I(0x40c00000));
  OSC_X86_EVEX(a, VPBROADCASTD, K(K0), 0, R(ZMM25), R(R13D));
  OSC_X86_EVEX(a, VMINPS, K(K0), 0, R(ZMM5), R(ZMM25), R(ZMM5));
  OSC_X86(a, VMOVD, R(XMM12), R(R13D));
  OSC_X86(a, VBROADCASTSS, R(YMM12), R(XMM12));
  OSC_X86(a, VMINPS, R(YMM2), R(YMM13), R(YMM2));
  OSC_X86(a, MOV, R(R13D), I((int32_t)0xbf000000u));   /* -0.5f: the bits, as signed */
  OSC_X86(a, PUSH, R(RDI)); OSC_X86(a, MOV, R(RDI), M(RDI, 48, 8));
  OSC_X86(a, SUB, R(RDI), R(RSI)); OSC_X86(a, MOV, R(R13), M(RDI, 56, 8));
  OSC_X86(a, PREFETCHT0, M(R13, 0, 1)); OSC_X86(a, PREFETCHT0, M(R13, 0xfc0, 1));
  OSC_X86(a, PREFETCHT0, osc_x86_mx(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RDI, 0, 1));
  OSC_X86(a, PREFETCHT0, osc_x86_mx(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RDI, 0x40, 1));
  OSC_X86(a, PREFETCHT0, osc_x86_mx(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RDI, 12540, 1));
  OSC_X86(a, PREFETCHT0, osc_x86_mx(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RDI, -4, 1));
  OSC_X86(a, POP, R(RDI));
  OSC_X86(a, PREFETCHW, M(R11, 0, 1)); OSC_X86(a, PREFETCHW, M(R11, 0x7f, 1));
  OSC_X86(a, PREFETCHW, M(R11, 802816, 1));
  OSC_X86(a, MOV, R(ECX), I(263)); OSC_X86(a, PREFETCHT1, M(RAX, 0, 1));
  OSC_X86(a, ADD, R(RAX), I(64)); OSC_X86(a, DEC, R(ECX));
  OSC_X86(a, MOV, R(R14), M(RDI, 32, 8)); OSC_X86(a, MOV, R(RBP), M(RDI, 40, 8));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, R(ZMM26), M(RBX, 73728, 64));
  OSC_X86_EVEX(a, VBROADCASTSS, K(K0), 0, R(ZMM28), M(RAX, -228, 4));
  OSC_X86_EVEX(a, VFMADD231PS, K(K0), 0, R(ZMM17), R(ZMM26), R(ZMM28));
  OSC_X86_EVEX(a, VADDPS, K(K0), 0, R(ZMM5), R(ZMM5), M(R8, 64, 64));
  OSC_X86(a, KXNORW, R(K1), R(K1), R(K1));
  OSC_X86_EVEX(a, VGATHERDPS, K(K1), 0, R(ZMM24), VSIB(R15, 256));
  OSC_X86_EVEX(a, VSCATTERDPS, K(K1), 0, VSIB(R11, 0), R(ZMM5));
  OSC_X86_EVEX(a, VSCATTERDPS, K(K1), 0, VSIB(R11, 802816), R(ZMM17));
  OSC_X86_EVEX(a, VSCATTERDPS, K(K1), 0, VSIB(R11, -8), R(ZMM0));
  OSC_X86(a, SUB, R(RSP), I(64)); OSC_X86(a, MOV, M(RSP, 32, 4), I(0x40c00000));
  OSC_X86(a, MOV, M(RSP, 36, 4), I((int32_t)0xbe800000u));
  OSC_X86(a, VMOVUPS, R(YMM13), M(RBX, 73760, 32));
  OSC_X86(a, VADDPS, R(YMM5), R(YMM5), M(R8, 32, 32));
  OSC_X86(a, VMOVSS, R(XMM14), M(R15, 256, 4));
  OSC_X86(a, VINSERTPS, R(XMM14), R(XMM14), M(R15, 452, 4), I(0x10));
  OSC_X86(a, VINSERTPS, R(XMM15), R(XMM15), M(R15, 1236, 4), I(0x30));
  OSC_X86(a, VINSERTF128, R(YMM14), R(YMM14), R(XMM15), I(1));
  OSC_X86(a, VBROADCASTSS, R(YMM12), M(RSP, 32, 4));
  OSC_X86(a, VMOVUPS, M(RSP, 0, 32), R(YMM5));
  OSC_X86(a, MOV, R(R13D), M(RSP, 28, 4)); OSC_X86(a, MOV, M(R11, 802816, 4), R(R13D));
  OSC_X86(a, MOV, M(R11, -8, 4), R(R13D)); OSC_X86(a, ADD, R(RSP), I(64));
  OSC_X86(a, SUB, R(RSP), I(12544)); OSC_X86(a, MOV, R(RAX), R(RSI));
  OSC_X86(a, MOV, R(R10), R(RSP)); OSC_X86(a, MOV, R(RSI), R(RSP));
  OSC_X86(a, ADD, R(RSP), I(12544));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, R(ZMM29), M(R14, 64, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, R(ZMM1), M(RAX, 128, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K2), OSC_X86_ZERO, R(ZMM2), M(RAX, 0xc0, 64));
  OSC_X86_EVEX(a, VPERMT2PS, K(K0), 0, R(ZMM1), R(ZMM29), R(ZMM2));
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, M(R10, 0x80, 64), R(ZMM1));
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

/* The memo (oscx86memo.h): requests that differ in one thing only (the
** write-mask, {z}, a broadcast, the memory size, VEX or EVEX, an index) each get their
** own bytes, the second time from the memo as the first time from Zydis. */
static const char *const near_as =
    "vmovups zmm1, zmmword ptr [rax+64]\n"
    "vmovups zmm1{k1}{z}, zmmword ptr [rax+64]\n"
    "vmovups zmm1{k1}, zmmword ptr [rax+64]\n"
    "vmovups zmm1{k2}{z}, zmmword ptr [rax+64]\n"
    "vaddps zmm5, zmm5, dword ptr [r8+28]{1to16}\n"
    "vaddps zmm5, zmm5, zmmword ptr [r8+28]\n"
    "vaddps zmm5, zmm5, zmmword ptr [r8+92]\n"
    "vmovups ymm1, ymmword ptr [rax+64]\n"
    "vpxord zmm1, zmm1, zmm1\n"
    "vxorps ymm1, ymm1, ymm1\n"
    "mov r12, 5\nmov r12d, 5\n"
    "prefetcht0 byte ptr [rax+64]\nprefetcht0 byte ptr [rax+rdi*1+64]\n";

static void near_encoded(osc_x86 *a) {
  OSC_X86_EVEX(a, VMOVUPS, K(K0), 0, R(ZMM1), M(RAX, 64, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K1), OSC_X86_ZERO, R(ZMM1), M(RAX, 64, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K1), 0, R(ZMM1), M(RAX, 64, 64));
  OSC_X86_EVEX(a, VMOVUPS, K(K2), OSC_X86_ZERO, R(ZMM1), M(RAX, 64, 64));
  OSC_X86_EVEX(a, VADDPS, K(K0), OSC_X86_BCST, R(ZMM5), R(ZMM5), M(R8, 28, 4));
  OSC_X86_EVEX(a, VADDPS, K(K0), 0, R(ZMM5), R(ZMM5), M(R8, 28, 64));
  OSC_X86_EVEX(a, VADDPS, K(K0), 0, R(ZMM5), R(ZMM5), M(R8, 92, 64));
  OSC_X86(a, VMOVUPS, R(YMM1), M(RAX, 64, 32));
  OSC_X86_EVEX(a, VPXORD, K(K0), 0, R(ZMM1), R(ZMM1), R(ZMM1));
  OSC_X86(a, VXORPS, R(YMM1), R(YMM1), R(YMM1));
  OSC_X86(a, MOV, R(R12), I(5)); OSC_X86(a, MOV, R(R12D), I(5));
  OSC_X86(a, PREFETCHT0, M(RAX, 64, 1));   /* and with an index register */
  OSC_X86(a, PREFETCHT0, osc_x86_mx(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RDI, 64, 1));
}

static void test_memo(void) {
  unsigned char *want, *listed;
  size_t n, n_listed;
  size_t hits = osc_x86_memo_hits();
  if (!have_as()) {
    fprintf(stderr, "SKIPPED (no GNU as) ");
    return;
  }
  CU_ASSERT_EQUAL_FATAL(assemble(near_as, &want, &n), 0);
  for (int pass = 0; pass < 3; pass++) {   /* the first may be the memo's too */
    osc_x86 a;
    osc_x86_init(&a);
    near_encoded(&a);
    near_encoded(&a);   /* right after: from the memo */
    CU_ASSERT_PTR_NULL(osc_x86_error(&a));
    CU_ASSERT(a.len == 2 * n && same_bytes("near forms", a.code, n, want, n) &&
              same_bytes("near forms again", a.code + n, n, want, n));
    /* and the listing, from the memo too, says what the bytes are */
    CU_ASSERT_EQUAL_FATAL(assemble(a.listing.data, &listed, &n_listed), 0);
    CU_ASSERT(same_bytes("near forms' listing", listed, n_listed, a.code, a.len));
    free(listed);
    osc_x86_free(&a);
  }
  CU_ASSERT(osc_x86_memo_hits() - hits >= 2 * 12 * 3 - 12);
  CU_ASSERT(osc_x86_memo_entries() >= 12);
  free(want);
}

/* The memo under threads (make test-tsan runs this suite): four threads
** encode the same requests, new to the memo, at once; each gets as's bytes. */
#define MEMO_THREADS 4
#define MEMO_REQUESTS 300

static void memo_requests(osc_x86 *a) {
  for (int i = 0; i < MEMO_REQUESTS; i++)   /* displacements no other test uses */
    OSC_X86_EVEX(a, VFMADD231PS, K(K0), OSC_X86_BCST,
                 osc_x86_r((ZydisRegister)(ZYDIS_REGISTER_ZMM0 + i % 32)),
                 osc_x86_r((ZydisRegister)(ZYDIS_REGISTER_ZMM0 + (i + 7) % 32)),
                 M(RBX, 0x123400 + 4 * i, 4));
}

static void *memo_worker(void *arg) {
  osc_x86 *a = arg;
  osc_x86_init(a);
  memo_requests(a);
  return NULL;
}

static void test_memo_threads(void) {
  pthread_t th[MEMO_THREADS];
  osc_x86 a[MEMO_THREADS];
  osc_buf text;
  unsigned char *want;
  size_t n;
  int same = 0;
  if (!have_as()) {
    fprintf(stderr, "SKIPPED (no GNU as) ");
    return;
  }
  osc_buf_init(&text);
  for (int i = 0; i < MEMO_REQUESTS; i++)
    osc_buf_printf(&text, "vfmadd231ps zmm%d, zmm%d, dword ptr [rbx+%d]{1to16}\n", i % 32,
                   (i + 7) % 32, 0x123400 + 4 * i);
  CU_ASSERT_EQUAL_FATAL(assemble(text.data, &want, &n), 0);
  for (int t = 0; t < MEMO_THREADS; t++)
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, memo_worker, &a[t]), 0);
  for (int t = 0; t < MEMO_THREADS; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < MEMO_THREADS; t++)
    same += !osc_x86_error(&a[t]) && same_bytes("threads", a[t].code, a[t].len, want, n) &&
            !strcmp(a[t].listing.data, a[0].listing.data);
  for (int t = 0; t < MEMO_THREADS; t++) osc_x86_free(&a[t]);
  CU_ASSERT_EQUAL(same, MEMO_THREADS);
  free(want);
  osc_buf_free(&text);
}

/* Without the listing (the JIT's source): the same bytes, no text. */
static void test_no_listing(void) {
  osc_x86 a, b;
  osc_x86_init(&a);
  osc_x86_init(&b);
  b.no_listing = 1;
  forms_encoded(&a);
  forms_encoded(&b);
  CU_ASSERT(a.len > 0 && a.len == b.len && !memcmp(a.code, b.code, a.len));
  CU_ASSERT(a.listing.len > 0);
  CU_ASSERT_EQUAL(b.listing.len, 0);
  osc_x86_free(&a);
  osc_x86_free(&b);
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
** bias, ReLU, shuffled stores, the fan-in loop, a stride-2 stage split into
** column phases. */
#define N_SAMPLES 12

static int sample_plans(osc_plan *p) {
  struct { int cin, cout, h, w, kh, kw, ph, pw, g, bias, relu, stride; osc_mode mode; } L[] = {
      {64, 64, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, OSC_MODE_OPTIMAL},
      {16, 24, 9, 130, 5, 3, 2, 1, 1, 0, 1, 1, OSC_MODE_CONVENTIONAL},
      {6, 6, 7, 7, 7, 7, 3, 3, 6, 1, 0, 1, OSC_MODE_CONVENTIONAL},
      {70, 9, 5, 17, 1, 1, 0, 0, 1, 1, 1, 1, OSC_MODE_CONVENTIONAL},
      {32, 32, 28, 28, 3, 3, 1, 1, 4, 1, 1, 2, OSC_MODE_CONVENTIONAL},
      {40, 24, 13, 11, 1, 1, 0, 0, 1, 1, 3, 1, OSC_MODE_CONVENTIONAL},   /* pw, clamp */
      {16, 16, 10, 19, 3, 3, 1, 1, 1, 0, 2, 1, OSC_MODE_OPTIMAL},        /* relu6 */
      {16, 16, 28, 28, 5, 5, 2, 2, 8, 1, 1, 2, OSC_MODE_CONVENTIONAL},   /* stride 2, split */
      {64, 64, 28, 28, 1, 1, 0, 0, 4, 1, 1, 1, OSC_MODE_CONVENTIONAL},   /* grouped pw */
      {32, 64, 28, 28, 1, 1, 0, 0, 4, 0, 0, 2, OSC_MODE_CONVENTIONAL},   /* grouped 1x1, stride 2 */
      {64, 64, 56, 56, 1, 1, 0, 0, 2, 0, 1, 1, OSC_MODE_CONVENTIONAL},   /* pw, AVX2 prefetches ahead */
      {256, 24, 28, 28, 1, 1, 0, 0, 1, 1, 0, 1, OSC_MODE_CONVENTIONAL},  /* pw, fan-in too long for it */
  };
  int n = 0;
  static_assert(sizeof L / sizeof L[0] <= N_SAMPLES, "N_SAMPLES plans at most");
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
  osc_plan p[N_SAMPLES];
  int n = sample_plans(p), blocks = 0, listed = 0, within = 0, kernels = 0, not_below = 0;
  int per_isa[4] = {0}, pw_blocks = 0;
  int as = have_as();
  CU_ASSERT_EQUAL(n, N_SAMPLES);
  for (int i = 0; i < n; i++) {
    char *src = emit_plan(&p[i], OSC_ISA_AUTO);
    const char *at = src;
    block b;
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    while (next_block(&at, &b)) {
      unsigned char *want;
      size_t len;
      char why[200];
      /* a stage's _fetch helper (prefetches only) is of no ISA, like cpuid */
      osc_isa isa = strstr(b.name, "_fetch") ? OSC_ISA_AUTO
                    : strstr(b.name, "_avx512_px_") || strstr(b.name, "_avx512_pw_")
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

/* Whether `u` is `b` with some asm blocks' listings left out: their header
** "...encoded by osconv:" reads "...encoded by osconv (the listing left
** out)" and their "** " lines are gone; every other line the same. Counts
** the blocks left out into *dropped. */
static int is_unlisted(const char *b, const char *u, int *dropped) {
  static const char head[] = "encoded by osconv:\n", alt[] = " (the listing left out)\n";
  *dropped = 0;
  while (*b) {
    const char *nl = strchr(b, '\n');
    size_t len = nl ? (size_t)(nl + 1 - b) : strlen(b), h = sizeof head - 1;
    if (len >= h && !strncmp(b + len - h, head, h) && !strncmp(u, b, len - 2) &&
        !strncmp(u + len - 2, alt, sizeof alt - 1)) {
      u += len - 2 + sizeof alt - 1;
      b += len;
      while (!strncmp(b, "** ", 3)) b = strchr(b, '\n') + 1;
      ++*dropped;
      continue;
    }
    if (strncmp(u, b, len)) return 0;
    u += len;
    b += len;
  }
  return *u == '\0';
}

/* The JIT's source (osc_emit_layer_unlisted) is the listed source without
** the kernels' listings: the same code, only comments go. */
static void test_unlisted_source(void) {
  osc_plan p[N_SAMPLES];
  int n = sample_plans(p), same = 0;
  for (int i = 0; i < n; i++) {
    osc_emit_options o = {"x", 1, OSC_ISA_AUTO};
    osc_error err;
    osc_buf b, u;
    int dropped = 0;
    osc_buf_init(&b);
    osc_buf_init(&u);
    CU_ASSERT_EQUAL_FATAL(osc_emit_layer(&p[i], &o, &b, &err), OSC_OK);
    CU_ASSERT_EQUAL_FATAL(osc_emit_layer_unlisted(&p[i], &o, NULL, &u, &err), OSC_OK);
    same += is_unlisted(b.data, u.data, &dropped) && dropped >= 2;   /* avx512, avx2 */
    CU_ASSERT(u.len < b.len);
    osc_buf_free(&b);
    osc_buf_free(&u);
  }
  CU_ASSERT_EQUAL(same, n);
}

/* The displacement of a listed memory operand "[BASE" ... "]": +0xN, -0xN or none. */
static long long listed_disp(const char *at) {
  const char *e = strchr(at, ']'), *sign = at;
  while (sign < e && *sign != '-' && !(*sign == '+' && sign[1] == '0' && sign[2] == 'x')) sign++;
  if (sign >= e) return 0;
  return (*sign == '-' ? -1 : 1) * strtoll(sign + 1, NULL, 16);
}

/* The offsets of a listing's vector moves (vmovups, vmaskmovps) with a
** memory operand at BASE ("[rax"), into offs (one per line at most);
** target: only where that operand is the destination (a store). */
static int vector_moves(const char *listing, const char *base, int target, long long *offs) {
  int n = 0;
  for (const char *x = listing; (x = strstr(x, base)); x++) {
    const char *line = x, *comma;
    while (line > listing && line[-1] != '\n') line--;
    line += strspn(line, " ");
    if (strncmp(line, "vmovups", 7) && strncmp(line, "vmaskmovps", 10)) continue;
    comma = strchr(line, ',');
    if (!target || (comma && comma > x)) offs[n++] = listed_disp(x);
  }
  return n;
}

/* 1: byte d lies inside one of the n moves of `bytes` at offs. */
static int covers(const long long *offs, int n, long long d, int bytes) {
  for (int q = 0; q < n; q++)
    if (offs[q] <= d && d < offs[q] + bytes) return 1;
  return 0;
}

/* The split's stream of the next group's input (oscpx.c, prefetch_stream):
** every run of `prefetcht0 [rdi+d]` takes consecutive lines from rdi
** (d = 0, 64, ...) and is followed by `add rdi` of the run's bytes, so the
** stream walks each line once. The runs, or -1 when one breaks that. */
static int stream_runs(const char *listing) {
  int runs = 0;
  for (const char *l = listing; (l = strstr(l, "prefetcht0 [rdi"));) {
    long long k = 0;
    char want[40];
    while (!strncmp(l, "prefetcht0 [rdi", 15)) {
      if (listed_disp(l) != 64 * k++ || !(l = strchr(l, '\n'))) return -1;
      l += 1 + strspn(l + 1, " *");
    }
    snprintf(want, sizeof want, "add rdi, 0x%llX", 64 * k);
    if (strncmp(l, want, strlen(want))) return -1;
    runs++;
  }
  return runs;
}

/* The pointwise shape's prefetches ahead (oscpx.c, "Ahead"): each one,
** [rax + d], PF_AHEAD bytes past a load of the same block, and each load
** [rax + d] with a prefetch of the line holding d + PF_AHEAD. 1 when the
** block's prefetches ahead keep that, with *n of them. A tile prefetches
** ahead where its group's input is past 64 KB and its lines over the
** fan-in (fan-in x its vectors x 32 bytes) are within 8 KB. */
#define PF_AHEAD 256
static int ahead_ok(const block *b, const long long *loads, int n_loads, int bytes, int *n) {
  int ok = 1;
  long long pf[4096];
  *n = 0;
  for (const char *l = b->listing; (l = strstr(l, "prefetcht0 [rax")); l++)
    if (strncmp(l, "prefetcht0 [rax+rdi", 19)) {
      long long d = listed_disp(l);
      ok &= covers(loads, n_loads, d - PF_AHEAD, bytes);
      if (*n < 4096) pf[(*n)++] = d;
    }
  for (int q = 0; q < n_loads && *n; q++) ok &= covers(pf, *n, loads[q] + PF_AHEAD, 64);
  return ok;
}

/* Every prefetch stays inside what the next tile reads (oscpx.c, "Cold"):
** an input one, [rax + rdi + d], is where a load of the same block reads
** ([rax + d'], d' <= d < d' + the vector's bytes) shifted by rdi, the next
** group's input minus this one's; a weight one, [r13 + d], lies inside the
** weights of the stage's smallest tile (the next one may be it) from the
** next tile's first; an output one, prefetchw [r11 + d], inside a store of
** the block ([r11 + d'], d' <= d < d' + the vector's bytes), every block
** that stores having some. Grouped stages of a kernel beyond 1x1 and grouped
** pointwise ones (the pw shape) prefetch input where a group's is at most
** 256 KB (it would push the group's own out of L2); single-group stages and
** the other 1x1 ones (lanes over pixels, stride 2) do not; stages split
** into column phases (their copy reads the group's input) stream the next
** group's input through rdi instead (stream_runs), and only they. AVX2
** pointwise tiles also prefetch each plane ahead (ahead_ok) where the rule
** there says, and no others do. */
static void test_prefetch_bounds(void) {
  osc_plan p[N_SAMPLES];
  int n = sample_plans(p), in_pf = 0, w_pf = 0, outside = 0, grouped = 0, grouped_with = 0;
  int single_with = 0, split = 0, grouped_pw = 0, strided_1x1 = 0;
  int out_pf = 0, out_blocks = 0, out_with = 0;   /* prefetchw of the tile's output */
  int split_streams = 0, ahead = 0, ahead_bad = 0;
  for (int i = 0; i < n; i++) {
    char *src = emit_plan(&p[i], OSC_ISA_AUTO);
    const char *at = src;
    block b;
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    int smallest[OSC_MAX_STAGES][2];   /* each stage's smallest tile, by ISA */
    for (int q = 0; q < OSC_MAX_STAGES; q++) smallest[q][0] = smallest[q][1] = 1 << 20;
    while (next_block(&at, &b)) {   /* first pass: the tiles */
      const char *k = strstr(b.name, "_s"), *t = strrchr(b.name, 't');
      int st, oct, wide = strstr(b.name, "avx512") != NULL;
      if ((strstr(b.name, "_px_") || strstr(b.name, "_pw_")) && k && t &&
          sscanf(k, "_s%d", &st) == 1 && sscanf(t, "t%d", &oct) == 1 && st < p[i].n_stages &&
          oct < smallest[st][wide])
        smallest[st][wide] = oct;
      free_block(&b);
    }
    at = src;
    while (next_block(&at, &b)) {
      const char *k = strstr(b.name, "_s"), *t = strrchr(b.name, 't');
      int st, oct, has_in = 0, has_out = 0, wide = strstr(b.name, "avx512") != NULL;
      int bytes = wide ? 64 : 32, is_split, runs;
      if ((strstr(b.name, "_px_") || strstr(b.name, "_pw_")) && k && t &&
          sscanf(k, "_s%d", &st) == 1 && sscanf(t, "t%d", &oct) == 1 && st < p[i].n_stages) {
        const osc_stage *s = &p[i].stage[st];
        /* the next tile may be the stage's smallest */
        long long w_tile = 4LL * smallest[st][wide] * (s->c_in / s->groups) * s->k_h * s->k_w;
        long long *loads = malloc(b.listing_len / 8 * sizeof *loads + sizeof *loads);
        int n_loads;
        CU_ASSERT_PTR_NOT_NULL_FATAL(loads);
        n_loads = vector_moves(b.listing, "[rax", 0, loads);
        for (const char *l = b.listing; (l = strstr(l, "prefetcht0 [")); l++) {
          long long d = listed_disp(l);
          if (!strncmp(l, "prefetcht0 [rax+rdi*1", 21)) {
            int loaded = covers(loads, n_loads, d, bytes);   /* a load of this block */
            in_pf++, has_in = 1;
            outside += !loaded;
            if (!loaded) fprintf(stderr, "\n%s: %.40s: no load there\n", b.name, l);
          } else if (!strncmp(l, "prefetcht0 [rax", 15)) {
            /* ahead_ok below */
          } else if (!strncmp(l, "prefetcht0 [rdi", 15)) {
            outside += !strstr(b.listing, "sub rsp");   /* a split's stream only */
          } else if (!strncmp(l, "prefetcht0 [r13", 15)) {
            w_pf++;
            outside += d < 0 || d >= w_tile;
          } else {
            outside++;
          }
        }
        {
          /* kernel_avx2_px.c's vectors per tile, by the tile's channels (t<oct>) */
          static const int avx2_pv[] = {0, 7, 5, 3, 3, 2, 2};
          int n_ahead, n_in = s->c_in / s->groups;
          int want = !wide && strstr(b.name, "_pw_") && oct >= 1 && oct <= 6 &&
                     4LL * n_in * avx2_pv[oct] * 8 <= 8 * 1024 &&
                     4LL * n_in * s->h_in * s->w_in > 64 * 1024;
          ahead_bad += !ahead_ok(&b, loads, n_loads, bytes, &n_ahead) || (n_ahead > 0) != want;
          ahead += n_ahead > 0;
        }
        n_loads = vector_moves(b.listing, "[r11", 1, loads);   /* now the stores' */
        out_blocks += n_loads > 0;
        for (const char *l = b.listing; (l = strstr(l, "prefetchw [")); l++) {
          long long d = listed_disp(l);
          int stored = covers(loads, n_loads, d, bytes);
          out_pf++, has_out = 1;
          outside += !stored || strncmp(l, "prefetchw [r11", 14) != 0;
          if (!stored) fprintf(stderr, "\n%s: %.40s: no store there\n", b.name, l);
        }
        out_with += has_out;
        free(loads);
        is_split = strstr(b.listing, "sub rsp") != NULL, runs = stream_runs(b.listing);
        outside += runs < 0 || (!is_split && runs > 0);
        if (is_split)   /* its copy reads this group's input; the taps stream the next one's */
          split++, single_with += has_in, split_streams += runs > 0;
        else if (s->groups > 1 && (s->k_h * s->k_w > 1 || strstr(b.name, "_pw_")) &&
                 4LL * s->c_in / s->groups * s->h_in * s->w_in <= 256 * 1024)
          grouped++, grouped_with += has_in, grouped_pw += strstr(b.name, "_pw_") != NULL;
        else single_with += has_in, strided_1x1 += s->k_h * s->k_w == 1 && s->groups > 1;
      }
      free_block(&b);
    }
    free(src);
  }
  CU_ASSERT(in_pf > 0);
  CU_ASSERT(w_pf > 0);
  CU_ASSERT_EQUAL(outside, 0);
  CU_ASSERT(grouped > 0);
  CU_ASSERT_EQUAL(grouped_with, grouped);
  CU_ASSERT_EQUAL(single_with, 0);
  CU_ASSERT(split > 0);
  CU_ASSERT_EQUAL(split_streams, split);
  CU_ASSERT(grouped_pw > 0);
  CU_ASSERT(strided_1x1 > 0);
  CU_ASSERT(out_pf > 0);
  CU_ASSERT(out_blocks > 0);
  CU_ASSERT_EQUAL(out_with, out_blocks);   /* every block that stores asks for its lines */
  CU_ASSERT(ahead > 0);
  CU_ASSERT_EQUAL(ahead_bad, 0);
}

/* An oc kernel's blocks (avx512_oc, avx2_oc), forced on layers that take
** every path of it (one block and row blocks, strides, padding, a
** residual's gathers, bias and clamp), dispatched (--isa auto: the ISAs
** below beside it): each listing assembles to its bytes, each oc block is
** within its ISA (AVX2: AVX, AVX2, FMA, no AVX-512) and not within the
** one below, and the layer gets its pack function. */
static void check_oc_blocks(osc_isa isa) {
  struct { int cin, cout, h, kh, stride, g, res; } L[] = {
      {16, 64, 7, 3, 1, 1, 0}, {32, 32, 30, 3, 2, 2, 1}, {8, 48, 13, 5, 3, 1, 1}};
  int blocks = 0, listed = 0, oc = 0, within = 0, not_below = 0, packs = 0, as = have_as();
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    osc_layer l;
    osc_plan p;
    osc_error err;
    osc_emit_options o = {"x", 1, OSC_ISA_AUTO};
    osc_emit_knobs k = {0};
    osc_buf b;
    const char *at;
    block bl;
    osc_layer_init(&l);
    snprintf(l.name, sizeof l.name, "oc%zu", i);
    l.in_channels = L[i].cin, l.out_channels = L[i].cout, l.in_h = l.in_w = L[i].h;
    l.k_h = l.k_w = L[i].kh, l.pad_h = l.pad_w = L[i].kh / 2;
    l.stride_h = l.stride_w = L[i].stride, l.groups = L[i].g, l.residual = L[i].res;
    l.bias = 1, l.act = OSC_ACT_CLAMP, l.clamp_min = -1.5f, l.clamp_max = 2.0f;
    l.mode = OSC_MODE_CONVENTIONAL;
    CU_ASSERT_FATAL(osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &p, &err) == OSC_OK);
    k.kernel = isa == OSC_ISA_AVX512 ? "avx512_oc" : "avx2_oc";
    osc_buf_init(&b);
    CU_ASSERT_FATAL(osc_emit_layer_knobs(&p, &o, &k, &b, &err) == OSC_OK);
    packs += strstr(b.data, "void x_pack(const float *weights, float *packed) {") != NULL;
    for (at = b.data; next_block(&at, &bl); free_block(&bl)) {
      unsigned char *want;
      size_t len;
      char why[200];
      blocks++;
      if (as && assemble(bl.listing, &want, &len) == 0) {
        listed += same_bytes(bl.name, bl.bytes, bl.len, want, len);
        free(want);
      }
      if (!strstr(bl.name, isa == OSC_ISA_AVX512 ? "_avx512_oc_" : "_avx2_oc_")) continue;
      oc++;
      if (osc_x86_check_isa(bl.bytes, bl.len, isa, why, sizeof why) == 0) within++;
      else fprintf(stderr, "\n%s: %s\n", bl.name, why);
      not_below += osc_x86_check_isa(bl.bytes, bl.len, (osc_isa)(isa - 1), why, sizeof why) != 0;
    }
    osc_buf_free(&b);
  }
  CU_ASSERT_EQUAL(oc, 3);
  CU_ASSERT_EQUAL(packs, 3);
  CU_ASSERT_EQUAL(within, oc);
  CU_ASSERT_EQUAL(not_below, oc);
  if (as) {
    CU_ASSERT_EQUAL(listed, blocks);
  } else {
    fprintf(stderr, "SKIPPED the as comparison (no GNU as) ");
  }
}
static void test_oc_blocks(void) { check_oc_blocks(OSC_ISA_AVX512); }
static void test_oc_blocks_avx2(void) { check_oc_blocks(OSC_ISA_AVX2); }

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
  osc_plan p[N_SAMPLES];
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
  osc_plan p[N_SAMPLES];
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
    {"the memo: near requests, their bytes and listing (as)", test_memo},
    {"no listing: the same bytes", test_no_listing},
    {"the memo: four threads at once (as)", test_memo_threads},
    {"generated blocks: listing == bytes (as), ISA sets", test_generated_blocks},
    {"prefetches stay inside the next tile's input and weights", test_prefetch_bounds},
    {"avx512_oc blocks: listing == bytes (as), ISA sets, pack", test_oc_blocks},
    {"register pair blocks: listing == bytes (as), AVX-512F", test_register_pair_blocks},
    {"avx2_oc blocks: listing == bytes (as), ISA sets, pack", test_oc_blocks_avx2},
    {"isa c emits no machine code, auto both", test_isa_c_has_no_asm},
    {"the JIT's source: the same without the listings", test_unlisted_source},
    {"ISA names, OSCONV_ISA cap", test_isa_names},
    {"the default output builds for aarch64 (clang, compile only)", test_other_arch_builds},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("x86", tests)

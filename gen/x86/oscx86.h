/*
** oscx86.h -- x86-64 machine code for the SIMD stage kernels, encoded by
** Zydis 4 (libzydis): each call appends one instruction's bytes and its
** listing line (Zydis' own decoding of those bytes, Intel syntax as GNU as
** reads it), so the comment above an emitted asm block always says what
** its bytes are; each distinct request is encoded, decoded and formatted
** once per process (oscx86memo.h). Errors stick: after the first, calls do nothing and
** osc_x86_error() says what failed.
*/
#ifndef OSCX86_H
#define OSCX86_H

#include <Zydis/Zydis.h>
#include <stddef.h>
#include <stdint.h>

#include "oscbuf.h"
#include "oscisa.h"

typedef struct osc_x86_op {
  enum { OSC_X86_NONE, OSC_X86_REG, OSC_X86_MEM, OSC_X86_IMM } kind;
  ZydisRegister reg;   /* the register, or the memory operand's base */
  int64_t value;       /* displacement or immediate */
  int size;            /* memory operand bytes (4 with a broadcast) */
  ZydisRegister index; /* a memory operand's index (a zmm for VSIB), or NONE */
  int scale;           /* its scale */
} osc_x86_op;

#define OSC_X86_MAX_LABELS 1024

typedef struct osc_x86 {
  unsigned char *code;
  size_t len, cap;
  osc_buf listing;              /* one line per instruction or label */
  int no_listing;               /* 1: the listing stays empty (set after init) */
  size_t label[OSC_X86_MAX_LABELS];
  int n_labels;
  char error[160];              /* empty while all is well */
  ZydisDecoder decoder;         /* set up once: the listing decodes every instruction */
  ZydisFormatter formatter;
} osc_x86;

/* EVEX options (osc_x86_evex). */
#define OSC_X86_ZERO 1     /* zeroing-masking {z} */
#define OSC_X86_BCST 2     /* embedded broadcast of the memory dword {1toN} */

static inline osc_x86_op osc_x86_r(ZydisRegister r) {
  osc_x86_op o = {OSC_X86_REG, r, 0, 0, ZYDIS_REGISTER_NONE, 0};
  return o;
}
static inline osc_x86_op osc_x86_m(ZydisRegister base, int64_t disp, int size) {
  osc_x86_op o = {OSC_X86_MEM, base, disp, size, ZYDIS_REGISTER_NONE, 0};
  return o;
}
/* [base + index * scale + disp]: with a zmm index, the VSIB operand of a
** gather or scatter (size: the element's bytes). */
static inline osc_x86_op osc_x86_mi(ZydisRegister base, ZydisRegister index, int scale,
                                    int64_t disp, int size) {
  osc_x86_op o = {OSC_X86_MEM, base, disp, size, index, scale};
  return o;
}
/* [base + index + disp]: the prefetches of the next call's input (oscpx.c). */
static inline osc_x86_op osc_x86_mx(ZydisRegister base, ZydisRegister index, int64_t disp,
                                    int size) {
  return osc_x86_mi(base, index, 1, disp, size);
}
static inline osc_x86_op osc_x86_i(int64_t v) {
  osc_x86_op o = {OSC_X86_IMM, ZYDIS_REGISTER_NONE, v, 0, ZYDIS_REGISTER_NONE, 0};
  return o;
}

void osc_x86_init(osc_x86 *a);
void osc_x86_free(osc_x86 *a);
/* NULL, or what went wrong (the first error). */
const char *osc_x86_error(const osc_x86 *a);

/* A legacy or VEX instruction: operands in Intel order. */
void osc_x86_ins(osc_x86 *a, ZydisMnemonic mn, int n, const osc_x86_op *ops);
/* An EVEX instruction: Intel order, the write-mask `mask` (ZYDIS_REGISTER_K0
** for none) goes after the destination as Zydis 4's encoder wants it. */
void osc_x86_evex(osc_x86 *a, ZydisMnemonic mn, ZydisRegister mask, int flags, int n,
                  const osc_x86_op *ops);

/* Operand lists as compound literals: OSC_X86(a, ADD, osc_x86_r(R), osc_x86_i(8)). */
#define OSC_X86_OPS(...) (int)(sizeof((osc_x86_op[]){__VA_ARGS__}) / sizeof(osc_x86_op)), \
                         (osc_x86_op[]){__VA_ARGS__}
#define OSC_X86(a, mn, ...) osc_x86_ins(a, ZYDIS_MNEMONIC_##mn, OSC_X86_OPS(__VA_ARGS__))
#define OSC_X86_EVEX(a, mn, mask, flags, ...) \
  osc_x86_evex(a, ZYDIS_MNEMONIC_##mn, mask, flags, OSC_X86_OPS(__VA_ARGS__))

/* A label at the current offset (listed as "L<n>:"); returns its number. */
int osc_x86_label(osc_x86 *a);
/* jnz to a label already placed (loops branch backwards only). */
void osc_x86_jnz(osc_x86 *a, int label);

/* Save / restore general registers the code uses: the asm blocks declare
** no clobbers (tcc takes none beyond "memory" and "cc"), so the code keeps
** every general register as it found it. The red zone is stepped over first:
** the C around the block may keep locals below rsp. */
void osc_x86_save(osc_x86 *a, const ZydisRegister *regs, int n);
void osc_x86_restore(osc_x86 *a, const ZydisRegister *regs, int n);

/* 0 if every instruction in code[0..len) decodes and belongs to `isa`
** (the base x86-64 set plus, for avx2: AVX, AVX2, FMA; for avx512 also
** AVX-512F); else -1 with the offending instruction in why. */
int osc_x86_check_isa(const unsigned char *code, size_t len, osc_isa isa, char *why,
                      size_t why_size);

#endif

/*
** oscx86.c -- the Zydis 4 encoder behind osc_x86_*: a request per
** instruction, its bytes appended, then decoded back and formatted for the
** listing (a decode that disagrees with the encode is an error); each
** distinct request is encoded so once per process (oscx86memo.h).
*/
#include "oscx86.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscx86memo.h"

/* a listing line's room (the memo keeps lines shorter than OSC_X86_MEMO_TEXT) */
#define TEXT_MAX 256

static void fail(osc_x86 *a, const char *fmt, ...) {
  va_list ap;
  if (a->error[0]) return;
  va_start(ap, fmt);
  vsnprintf(a->error, sizeof a->error, fmt, ap);
  va_end(ap);
}

void osc_x86_init(osc_x86 *a) {
  memset(a, 0, sizeof *a);
  osc_buf_init(&a->listing);
  ZydisDecoderInit(&a->decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisFormatterInit(&a->formatter, ZYDIS_FORMATTER_STYLE_INTEL);
}

void osc_x86_free(osc_x86 *a) {
  free(a->code);
  osc_buf_free(&a->listing);
  memset(a, 0, sizeof *a);
}

const char *osc_x86_error(const osc_x86 *a) {
  if (!a->error[0] && osc_buf_failed(&a->listing)) return "out of memory";
  return a->error[0] ? a->error : NULL;
}

static int reserve(osc_x86 *a, size_t more) {
  if (a->len + more <= a->cap) return 0;
  size_t cap = a->cap ? 2 * a->cap : 4096;
  while (cap < a->len + more) cap *= 2;
  unsigned char *c = realloc(a->code, cap);
  if (!c) { fail(a, "out of memory"); return -1; }
  a->code = c;
  a->cap = cap;
  return 0;
}

static void to_request(ZydisEncoderOperand *e, const osc_x86_op *o) {
  memset(e, 0, sizeof *e);
  switch (o->kind) {
  case OSC_X86_REG:
    e->type = ZYDIS_OPERAND_TYPE_REGISTER;
    e->reg.value = o->reg;
    break;
  case OSC_X86_MEM:
    e->type = ZYDIS_OPERAND_TYPE_MEMORY;
    e->mem.base = o->reg;
    e->mem.displacement = o->value;
    e->mem.size = (ZyanU16)o->size;
    if (o->index != ZYDIS_REGISTER_NONE) {
      e->mem.index = o->index;
      e->mem.scale = (ZyanU8)o->scale;
    }
    break;
  case OSC_X86_IMM:
    e->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    e->imm.s = o->value;
    break;
  default:
    e->type = ZYDIS_OPERAND_TYPE_UNUSED;
  }
}

/* Decode the instruction just appended at `at` and format it into buf
** (size TEXT_MAX) unless buf is NULL; 0, or -1 with the error set. */
static int decode_text(osc_x86 *a, size_t at, char *buf) {
  ZydisDecodedInstruction ins;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (ZYAN_FAILED(ZydisDecoderDecodeFull(&a->decoder, a->code + at, a->len - at, &ins, ops)) ||
      ins.length != a->len - at) {
    fail(a, "encoded bytes at offset %zu do not decode back to one instruction", at);
    return -1;
  }
  if (buf && ZYAN_FAILED(ZydisFormatterFormatInstruction(&a->formatter, &ins, ops, ins.operand_count_visible,
                                                  buf, TEXT_MAX,
                                                  ZYDIS_RUNTIME_ADDRESS_NONE, NULL))) {
    fail(a, "cannot format the instruction at offset %zu", at);
    return -1;
  }
  return 0;
}

static void list(osc_x86 *a, const char *text) {
  if (a->no_listing) return;
  osc_buf_puts(&a->listing, "  ");
  osc_buf_puts(&a->listing, text);
  osc_buf_puts(&a->listing, "\n");
}

/* Encode r at the end of the code, decode it back; its listing line into
** text (size TEXT_MAX) unless text holds one already. 0, or -1 with the
** error set. */
static int encode(osc_x86 *a, ZydisEncoderRequest *r, int absolute, char *text) {
  ZyanUSize n = ZYDIS_MAX_INSTRUCTION_LENGTH;
  ZyanStatus st;
  size_t at = a->len;
  if (a->error[0] || reserve(a, ZYDIS_MAX_INSTRUCTION_LENGTH)) return -1;
  r->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
  st = absolute ? ZydisEncoderEncodeInstructionAbsolute(r, a->code + at, &n, at)
                : ZydisEncoderEncodeInstruction(r, a->code + at, &n);
  if (ZYAN_FAILED(st)) {
    fail(a, "Zydis cannot encode %s with %d operands (status 0x%x)",
         ZydisMnemonicGetString(r->mnemonic), r->operand_count, (unsigned)st);
    return -1;
  }
  a->len += n;
  if (decode_text(a, at, text[0] ? NULL : text)) return -1;
  list(a, text);
  return 0;
}

/* The memo's key of a request: everything the encoder is told, in host
** byte order (the memo lives in this process). 0 if it does not fit (then
** the request is encoded every time). */
static int request_key(osc_x86_memo_key *k, ZydisMnemonic mn, int evex, ZydisRegister mask,
                       int flags, int n, const osc_x86_op *ops) {
  int head[5] = {(int)mn, evex, (int)mask, flags, n};
  k->len = 0;
  if (!osc_x86_memo_key_add(k, head, sizeof head)) return 0;
  for (int i = 0; i < n; i++) {
    int op[5] = {(int)ops[i].kind, (int)ops[i].reg, ops[i].size, (int)ops[i].index,
                  ops[i].scale};
    if (!osc_x86_memo_key_add(k, op, sizeof op) ||
        !osc_x86_memo_key_add(k, &ops[i].value, sizeof ops[i].value))
      return 0;
  }
  return 1;
}

/* A request through the memo: its bytes and line copied when it was
** encoded before, else encoded (and kept). */
static void request(osc_x86 *a, ZydisMnemonic mn, int evex, ZydisRegister mask, int flags,
                    int n, const osc_x86_op *ops) {
  ZydisEncoderRequest r;
  osc_x86_memo_key key;
  char text[TEXT_MAX] = "";
  size_t len, at = a->len;
  int keyed;
  if (a->error[0]) return;
  keyed = request_key(&key, mn, evex, mask, flags, n, ops);
  if (keyed && !reserve(a, ZYDIS_MAX_INSTRUCTION_LENGTH) &&
      osc_x86_memo_get(&key, a->code + at, &len, text)) {
    a->len += len;
    list(a, text);
    return;
  }
  memset(&r, 0, sizeof r);
  r.mnemonic = mn;
  r.operand_count = (ZyanU8)(n + evex);
  for (int i = 0, o = 0; i < n; i++) {
    to_request(&r.operands[o++], &ops[i]);
    if (evex && i == 0) {
      osc_x86_op k = osc_x86_r(mask);
      to_request(&r.operands[o++], &k);
    }
  }
  if (evex) {
    r.allowed_encodings = ZYDIS_ENCODABLE_ENCODING_EVEX;
    r.evex.zeroing_mask = (flags & OSC_X86_ZERO) != 0;
    if (flags & OSC_X86_BCST) r.evex.broadcast = ZYDIS_BROADCAST_MODE_1_TO_16;
  }
  if (!encode(a, &r, 0, text) && keyed) osc_x86_memo_put(&key, a->code + at, a->len - at, text);
}

void osc_x86_ins(osc_x86 *a, ZydisMnemonic mn, int n, const osc_x86_op *ops) {
  request(a, mn, 0, ZYDIS_REGISTER_NONE, 0, n, ops);
}

void osc_x86_evex(osc_x86 *a, ZydisMnemonic mn, ZydisRegister mask, int flags, int n,
                  const osc_x86_op *ops) {
  request(a, mn, 1, mask, flags, n, ops);
}

int osc_x86_label(osc_x86 *a) {
  if (a->n_labels == OSC_X86_MAX_LABELS) {
    fail(a, "more than %d labels in one block", OSC_X86_MAX_LABELS);
    return 0;
  }
  a->label[a->n_labels] = a->len;
  if (!a->no_listing) osc_buf_printf(&a->listing, "L%d:\n", a->n_labels);
  return a->n_labels++;
}

void osc_x86_jnz(osc_x86 *a, int label) {
  ZydisEncoderRequest r;
  char text[TEXT_MAX];
  if (label < 0 || label >= a->n_labels) {
    fail(a, "jnz to label %d, which is not placed", label);
    return;
  }
  memset(&r, 0, sizeof r);
  r.mnemonic = ZYDIS_MNEMONIC_JNZ;
  r.operand_count = 1;
  r.operands[0].type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
  r.operands[0].imm.u = a->label[label];
  snprintf(text, sizeof text, "jnz L%d", label);
  encode(a, &r, 1, text);   /* absolute: never from the memo */
}

void osc_x86_save(osc_x86 *a, const ZydisRegister *regs, int n) {
  OSC_X86(a, LEA, osc_x86_r(ZYDIS_REGISTER_RSP), osc_x86_m(ZYDIS_REGISTER_RSP, -128, 8));
  for (int i = 0; i < n; i++) OSC_X86(a, PUSH, osc_x86_r(regs[i]));
}

void osc_x86_restore(osc_x86 *a, const ZydisRegister *regs, int n) {
  for (int i = n - 1; i >= 0; i--) OSC_X86(a, POP, osc_x86_r(regs[i]));
  OSC_X86(a, LEA, osc_x86_r(ZYDIS_REGISTER_RSP), osc_x86_m(ZYDIS_REGISTER_RSP, 128, 8));
}

/* ---- ISA check ------------------------------------------------------------------- */

static int allowed(ZydisISASet set, osc_isa isa) {
  switch (set) {
  case ZYDIS_ISA_SET_I86: case ZYDIS_ISA_SET_I186: case ZYDIS_ISA_SET_I386:
  case ZYDIS_ISA_SET_I486: case ZYDIS_ISA_SET_I486REAL: case ZYDIS_ISA_SET_LONGMODE:
  case ZYDIS_ISA_SET_CMOV: case ZYDIS_ISA_SET_PENTIUMREAL:
  case ZYDIS_ISA_SET_SSE_PREFETCH:   /* prefetcht0: SSE, in every x86-64 */
  case ZYDIS_ISA_SET_PREFETCH_NOP:   /* prefetchw: a NOP where not implemented */
    return 1;
  case ZYDIS_ISA_SET_AVX: case ZYDIS_ISA_SET_AVX2: case ZYDIS_ISA_SET_FMA:
    return isa >= OSC_ISA_AVX2;
  case ZYDIS_ISA_SET_AVX512F_512: case ZYDIS_ISA_SET_AVX512F_KOP:
  case ZYDIS_ISA_SET_AVX512F_SCALAR:
    return isa >= OSC_ISA_AVX512;
  default:
    return 0;
  }
}

int osc_x86_check_isa(const unsigned char *code, size_t len, osc_isa isa, char *why,
                      size_t why_size) {
  ZydisDecoder dec;
  ZydisDecodedInstruction ins;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  for (size_t at = 0; at < len; at += ins.length) {
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, code + at, len - at, &ins, ops))) {
      snprintf(why, why_size, "offset %zu does not decode", at);
      return -1;
    }
    if (!allowed(ins.meta.isa_set, isa)) {
      snprintf(why, why_size, "offset %zu: %s is %s, outside %s", at,
               ZydisMnemonicGetString(ins.mnemonic), ZydisISASetGetString(ins.meta.isa_set),
               osc_isa_name(isa));
      return -1;
    }
  }
  return 0;
}

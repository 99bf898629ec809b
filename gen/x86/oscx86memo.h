/*
** oscx86memo.h -- the process's memo of encoded instructions: each
** distinct encoder request (mnemonic, mask, flags, operands) is encoded,
** decoded back and formatted once, then its bytes and listing line are
** copied. ResNet-50's kernels are 219K instructions but 9.9K distinct
** requests, and the decode + format of the listing cost more than the
** encoding (README "Search and compile time"). Thread-safe (one mutex);
** entries are never freed, and past OSC_X86_MEMO_MAX entries the memo stops
** growing (later requests are encoded as before).
*/
#ifndef OSCX86MEMO_H
#define OSCX86MEMO_H

#include <stddef.h>
#include <string.h>

#define OSC_X86_MEMO_KEY 128   /* bytes of a request's key, at most */
#define OSC_X86_MEMO_TEXT 96   /* a listing line this long or longer is not kept */
#define OSC_X86_MEMO_MAX 65536

typedef struct osc_x86_memo_key {
  unsigned char b[OSC_X86_MEMO_KEY];
  size_t len;
} osc_x86_memo_key;

/* Append n bytes to the key; 0 (the key unchanged) if they do not fit. Inline:
** a key is made for every instruction emitted. */
static inline int osc_x86_memo_key_add(osc_x86_memo_key *k, const void *p, size_t n) {
  if (k->len + n > sizeof k->b) return 0;
  memcpy(k->b + k->len, p, n);
  k->len += n;
  return 1;
}

/* 1 with the request's bytes (code[0..*len), at most 15) and listing line
** (text, NUL-terminated, < OSC_X86_MEMO_TEXT) copied out; 0 if not there. */
int osc_x86_memo_get(const osc_x86_memo_key *k, unsigned char *code, size_t *len, char *text);
/* Keep a request's bytes and line (one that is already there stays). */
void osc_x86_memo_put(const osc_x86_memo_key *k, const unsigned char *code, size_t len,
                      const char *text);

/* Entries kept, lookups answered from the memo (for tests and profiles). */
size_t osc_x86_memo_entries(void);
size_t osc_x86_memo_hits(void);

#endif

/*
** oscx86memo.c -- the memo of encoded instructions (oscx86memo.h): an
** open-addressed table of entry indices (xxh3 of the key), grown at half
** full, over an array of entries, all under one mutex.
*/
#include "oscx86memo.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct entry {
  osc_x86_memo_key key;
  unsigned char code[15];
  unsigned char len;
  char text[OSC_X86_MEMO_TEXT];
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static size_t n_entries, cap_entries, hits;
static uint32_t *slots;   /* entry index + 1; 0 is empty */
static size_t n_slots;    /* a power of two */

static int same(const osc_x86_memo_key *a, const osc_x86_memo_key *b) {
  return a->len == b->len && !memcmp(a->b, b->b, a->len);
}

/* The slot of k, or the empty slot where it would go. Under the lock. */
static size_t find(const osc_x86_memo_key *k) {
  size_t mask = n_slots - 1, i = (size_t)XXH3_64bits(k->b, k->len) & mask;
  while (slots[i] && !same(&entries[slots[i] - 1].key, k)) i = (i + 1) & mask;
  return i;
}

int osc_x86_memo_get(const osc_x86_memo_key *k, unsigned char *code, size_t *len, char *text) {
  int found = 0;
  pthread_mutex_lock(&lock);
  if (n_slots) {
    size_t i = find(k);
    if (slots[i]) {
      const entry *e = &entries[slots[i] - 1];
      memcpy(code, e->code, e->len);
      *len = e->len;
      strcpy(text, e->text);
      hits++;
      found = 1;
    }
  }
  pthread_mutex_unlock(&lock);
  return found;
}

/* Twice the slots, every entry placed again. Under the lock; 0 if no memory. */
static int grow_slots(void) {
  size_t n = n_slots ? 2 * n_slots : 4096;
  uint32_t *s = calloc(n, sizeof *s), *old = slots;
  if (!s) return 0;
  slots = s;
  n_slots = n;
  for (size_t e = 0; e < n_entries; e++) slots[find(&entries[e].key)] = (uint32_t)(e + 1);
  free(old);
  return 1;
}

static int grow_entries(void) {
  size_t n = cap_entries ? 2 * cap_entries : 1024;
  entry *e = realloc(entries, n * sizeof *e);
  if (!e) return 0;
  entries = e;
  cap_entries = n;
  return 1;
}

void osc_x86_memo_put(const osc_x86_memo_key *k, const unsigned char *code, size_t len,
                      const char *text) {
  size_t tlen = strlen(text), i;
  if (len > sizeof entries->code || tlen >= OSC_X86_MEMO_TEXT) return;
  pthread_mutex_lock(&lock);
  if (n_entries < OSC_X86_MEMO_MAX && (2 * (n_entries + 1) <= n_slots || grow_slots()) &&
      (n_entries < cap_entries || grow_entries()) && !slots[i = find(k)]) {
    entry *e = &entries[n_entries];
    e->key = *k;
    memcpy(e->code, code, len);
    e->len = (unsigned char)len;
    memcpy(e->text, text, tlen + 1);
    slots[i] = (uint32_t)++n_entries;
  }
  pthread_mutex_unlock(&lock);
}

static size_t read_locked(const size_t *v) {
  size_t n;
  pthread_mutex_lock(&lock);
  n = *v;
  pthread_mutex_unlock(&lock);
  return n;
}

size_t osc_x86_memo_entries(void) { return read_locked(&n_entries); }
size_t osc_x86_memo_hits(void) { return read_locked(&hits); }

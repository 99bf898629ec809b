/*
** oscbuf.c -- a growable text buffer.
*/
#include "oscbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void osc_buf_init(osc_buf *b) { memset(b, 0, sizeof *b); }

void osc_buf_free(osc_buf *b) {
  free(b->data);
  osc_buf_init(b);
}

void osc_buf_reset(osc_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

static int reserve(osc_buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (b->failed) return 0;
  need = b->len + extra + 1;
  if (need <= b->cap) return 1;
  cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  if (!(p = realloc(b->data, cap))) {
    b->failed = 1;
    return 0;
  }
  b->data = p;
  b->cap = cap;
  return 1;
}

void osc_buf_add(osc_buf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void osc_buf_puts(osc_buf *b, const char *s) { osc_buf_add(b, s, strlen(s)); }

/* One vsnprintf when the text fits the room left (the common case: emitters
** print short lines into a grown buffer), a second only after growing. */
void osc_buf_printf(osc_buf *b, const char *fmt, ...) {
  va_list ap;
  size_t room = b->failed ? 0 : b->cap - b->len;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n < 0) {
    if (room) b->data[b->len] = '\0';
    b->failed = 1;
    return;
  }
  if ((size_t)n >= room) {
    if (room) b->data[b->len] = '\0';
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

int osc_buf_failed(const osc_buf *b) { return b->failed; }

char *osc_buf_take(osc_buf *b) {
  char *p = b->failed ? NULL : b->data;
  if (b->failed) free(b->data);
  if (p == NULL && !b->failed) p = calloc(1, 1);
  osc_buf_init(b);
  return p;
}

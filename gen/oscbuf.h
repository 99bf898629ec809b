/*
** oscbuf.h -- a growable text buffer. An allocation failure is sticky:
** later appends do nothing and osc_buf_failed() says so, so emitters can
** write straight through and check once at the end.
*/
#ifndef OSCBUF_H
#define OSCBUF_H

#include <stddef.h>

#include "oscerr.h"

typedef struct osc_buf {
  char *data;      /* NUL-terminated when len > 0 */
  size_t len, cap;
  int failed;
} osc_buf;

void osc_buf_init(osc_buf *b);
void osc_buf_free(osc_buf *b);
void osc_buf_reset(osc_buf *b);          /* len = 0, keeps the memory */
void osc_buf_add(osc_buf *b, const char *s, size_t n);
void osc_buf_puts(osc_buf *b, const char *s);
void osc_buf_printf(osc_buf *b, const char *fmt, ...) OSC_PRINTF(2, 3);
int osc_buf_failed(const osc_buf *b);
/* Take the text (caller frees); the buffer is left empty. NULL if failed. */
char *osc_buf_take(osc_buf *b);

#endif

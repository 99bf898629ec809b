/*
** oscerr.c -- filling osc_error values.
*/
#include "oscerr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *osc_status_name(osc_status s) {
  switch (s) {
  case OSC_OK: return "ok";
  case OSC_EINVAL: return "invalid argument";
  case OSC_ENOMEM: return "out of memory";
  case OSC_ECONFIG: return "config error";
  case OSC_ELIMIT: return "sandbox limit";
  case OSC_ENOPLAN: return "no valid plan";
  case OSC_EIO: return "i/o error";
  case OSC_EJIT: return "jit error";
  case OSC_EINTERNAL: return "internal error";
  }
  return "unknown error";
}

void osc_error_clear(osc_error *e) {
  if (e) { e->code = OSC_OK; e->msg[0] = '\0'; }
}

osc_status osc_error_set(osc_error *e, osc_status code, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

osc_status osc_error_layer(osc_error *e, osc_status code, const osc_layer *l,
                           const char *fmt, ...) {
  if (e) {
    size_t n = 0;
    va_list ap;
    e->code = code;
    e->msg[0] = '\0';
    if (l->file && l->line > 0)
      n = (size_t)snprintf(e->msg, sizeof e->msg, "%s:%d: ", l->file, l->line);
    if (n < sizeof e->msg)
      n += (size_t)snprintf(e->msg + n, sizeof e->msg - n, "layer '%.*s': ",
                            (int)sizeof l->name - 1, l->name[0] ? l->name : "?");
    if (n < sizeof e->msg) {
      va_start(ap, fmt);
      vsnprintf(e->msg + n, sizeof e->msg - n, fmt, ap);
      va_end(ap);
    }
  }
  return code;
}

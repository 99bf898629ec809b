/*
** oscerr.h -- filling osc_error values.
** Messages speak the user's terms; a layer's message starts with
** "file:line: layer 'name': " when the layer knows where it was declared.
*/
#ifndef OSCERR_H
#define OSCERR_H

#include "osconv.h"

#if defined(__GNUC__)
#define OSC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OSC_PRINTF(a, b)
#endif

/* Both return `code` so callers can write `return osc_error_set(...)`. */
osc_status osc_error_set(osc_error *e, osc_status code, const char *fmt, ...)
    OSC_PRINTF(3, 4);
osc_status osc_error_layer(osc_error *e, osc_status code, const osc_layer *l,
                           const char *fmt, ...) OSC_PRINTF(4, 5);
void osc_error_clear(osc_error *e);

#endif

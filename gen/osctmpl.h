/*
** osctmpl.h -- kernel templates: the files embedded from templates/, and
** their expansion.
**
** Template language (XNNPACK style, Lua 5.4): a line whose first non-blank
** character is `$` (not followed by `{`) is Lua code (`$for j = 0, OCB-1 do` ... `$end`); every
** other line is output, with `${expr}` replaced by the value of the Lua
** expression (an integer or a string; anything else is an error, so a float
** from `/` or a misspelt name cannot slip into C). A multi-line string keeps
** the indentation of the line it is substituted into, and a line that
** expands to nothing but blanks is dropped. Reading an undefined global is
** an error. Helpers every template can use (see the prelude in osctmpl.c):
**   join(items, sep)       items joined by sep, wrapped before line_width
**   sum(terms)             "(t1 + .. + t4) + (t5 + ..." (wrapped; groups of
**                          sum_group, default 4), "0.0f" when empty
**   assign(lhs, terms, op) flat statements `lhs op t1 + ...;`, at most
**                          max_expr_terms products each, continued with `+=`
**   lin(k, v1, c1, ...)    the int expression "v1 * c1 + ... + k", tidy
**   ptr(base, idx)         "base + idx", parenthesised only when needed
**   range(lo, hi)          a numeric list {lo, ..., hi-1}
**   cat(list, sep)         table.concat
** Template line N is line N of the Lua chunk, so errors name it exactly.
*/
#ifndef OSCTMPL_H
#define OSCTMPL_H

#include "oscbuf.h"
#include "osconv.h"

typedef struct osc_template_file {
  const char *name;   /* e.g. "stage_direct.c.in" */
  const char *text;
} osc_template_file;

/* Generated from templates/ by scripts/embed-templates.sh; ends with {0,0}. */
extern const osc_template_file osc_template_files[];

/* The embedded text of a template, or NULL. */
const char *osc_tmpl_find(const char *name);

/* ---- parameters: globals of the template ------------------------------- */

typedef enum osc_tmpl_kind { OSC_TP_INT, OSC_TP_STR, OSC_TP_INTS, OSC_TP_STRS } osc_tmpl_kind;

typedef struct osc_tmpl_param {
  const char *key;                /* borrowed: must outlive the expansion */
  osc_tmpl_kind kind;
  long long i;
  const char *s;                  /* borrowed */
  const long long *iv;            /* OSC_TP_INTS, borrowed */
  const char *const *sv;          /* OSC_TP_STRS, borrowed */
  int n;                          /* length of iv / sv; Lua sees a 1-based list */
} osc_tmpl_param;

#define OSC_TMPL_MAX_PARAMS 64
typedef struct osc_tmpl_params {
  int n, overflow;
  osc_tmpl_param p[OSC_TMPL_MAX_PARAMS];
} osc_tmpl_params;

void osc_tmpl_params_init(osc_tmpl_params *ps);
void osc_tmpl_int(osc_tmpl_params *ps, const char *key, long long v);
void osc_tmpl_str(osc_tmpl_params *ps, const char *key, const char *v);
void osc_tmpl_ints(osc_tmpl_params *ps, const char *key, const long long *v, int n);
void osc_tmpl_strs(osc_tmpl_params *ps, const char *key, const char *const *v, int n);

/* Expand the embedded template `name` with `params` (which may be NULL),
** appending to `out`. Template errors (syntax, runtime, a bad ${}) give
** OSC_EINTERNAL with "template NAME:LINE: what"; a missing template too. */
osc_status osc_tmpl_expand(const char *name, const osc_tmpl_params *params, osc_buf *out,
                           osc_error *err);
/* The same for template text that is not embedded (tests). */
osc_status osc_tmpl_expand_text(const char *name, const char *text,
                                const osc_tmpl_params *params, osc_buf *out,
                                osc_error *err);

#endif

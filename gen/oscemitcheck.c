/*
** oscemitcheck.c -- what the emitter refuses, checked before anything is
** generated: plans the generated code cannot index, and names that would
** make the generated files fail to compile, link or coexist.
**
** The names one layer generates (network n, layer l):
**   functions  n_l and n_l_n (public), n_l_s<digits>... (static, per .c)
**   macros     N_L_INPUT_SIZE ... N_L_BATCH (upper case)
** and one network: the files n.c and n.h and the include guard OSCONV_N_H.
** Two layers clash when a function of one is a function of the other, or
** when their macros are the same up to case; two networks clash when their
** names are the same up to case (guard, macros, and the files on a
** case-insensitive file system). Names that C, C++ or POSIX reserve are
** refused too (oscreserved.c).
*/
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscemit.h"
#include "oscerr.h"
#include "oscplan.h"
#include "oscreserved.h"

/* ---- plans ----------------------------------------------------------------------- */

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

osc_status osc_emit_check_plan(const osc_plan *p, osc_error *err) {
  const osc_layer *l = &p->layer;
  int64_t weights = 0;
  if (p->n_stages < 1 || p->n_stages > OSC_MAX_STAGES)
    return osc_error_layer(err, OSC_EINVAL, l, "plan has %d stages", p->n_stages);
  if (l->bias != 0 && l->bias != 1)
    return osc_error_layer(err, OSC_EINVAL, l, "bias must be 0 or 1");
  if ((unsigned)l->act > OSC_ACT_CLAMP)
    return osc_error_layer(err, OSC_EINVAL, l, "unknown activation %d", (int)l->act);
  if (l->residual != 0 && l->residual != 1)
    return osc_error_layer(err, OSC_EINVAL, l, "residual must be 0 or 1");
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    int c_prev = i ? p->stage[i - 1].c_out : l->in_channels;
    int h_prev = i ? p->stage[i - 1].h_out : l->in_h, w_prev = i ? p->stage[i - 1].w_out : l->in_w;
    if (s->c_in < 1 || s->c_out < 1 || s->groups < 1 || s->k_h < 1 || s->k_w < 1 ||
        s->stride_h < 1 || s->stride_w < 1 || s->pad_h < 0 || s->pad_w < 0 ||
        s->c_in % s->groups || s->c_out % s->groups || s->c_in != c_prev ||
        s->h_in != h_prev || s->w_in != w_prev || s->h_out < 1 || s->w_out < 1 ||
        s->h_out != osc_conv_out(s->h_in, s->k_h, s->stride_h, s->pad_h) ||
        s->w_out != osc_conv_out(s->w_in, s->k_w, s->stride_w, s->pad_w))
      return osc_error_layer(err, OSC_EINVAL, l,
                             "stage %d of the plan is inconsistent (widths, groups or shapes)",
                             i + 1);
    if (!fits_int((int64_t)s->c_in * s->h_in * s->w_in) ||
        !fits_int((int64_t)s->c_out * s->h_out * s->w_out))
      return osc_error_layer(err, OSC_EINVAL, l,
                             "stage %d: a tensor of more than %d floats per image is too "
                             "large for the generated code", i + 1, INT_MAX);
    weights += osc_stage_params(s);
  }
  if (p->stage[p->n_stages - 1].c_out != l->out_channels)
    return osc_error_layer(err, OSC_EINVAL, l, "the plan's last stage does not give out_channels");
  if (!fits_int(weights + l->out_channels))
    return osc_error_layer(err, OSC_EINVAL, l,
                           "more than %d weights is too large for the generated code", INT_MAX);
  return OSC_OK;
}

/* ---- names ----------------------------------------------------------------------- */

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int fold(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

/* ASCII only: the C locale's idea of a C identifier, whatever the locale. */
int osc_emit_is_identifier(const char *s) {
  size_t n = 0;
  if (!s || !(is_alpha((unsigned char)*s) || *s == '_')) return 0;
  for (; s[n]; n++)
    if (!(is_alpha((unsigned char)s[n]) || is_digit((unsigned char)s[n]) || s[n] == '_')) return 0;
  return n <= OSC_EMIT_PREFIX_MAX;
}

static int casecmp(const char *a, const char *b) {
  for (; *a && fold((unsigned char)*a) == fold((unsigned char)*b); a++, b++) {}
  return fold((unsigned char)*a) - fold((unsigned char)*b);
}

/* "file:line: network 'n': ..." (file and line when known). */
static osc_status net_error(osc_error *err, osc_status code, const osc_network *net,
                            const char *file, const char *fmt, ...) OSC_PRINTF(5, 6);
static osc_status net_error(osc_error *err, osc_status code, const osc_network *net,
                            const char *file, const char *fmt, ...) {
  char what[sizeof err->msg], where[256] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (file && net->line > 0) snprintf(where, sizeof where, "%s:%d: ", file, net->line);
  return osc_error_set(err, code, "%snetwork '%.*s': %s", where, (int)sizeof net->name - 1,
                       net->name, what);
}

static const char *net_file(const osc_network *net) {
  return net->n_layers > 0 ? net->layers[0].file : NULL;
}

/* A name with the position that breaks ties (declaration order). */
typedef struct name_ref {
  const char *name;
  int index;
} name_ref;

static int ref_cmp(const void *a, const void *b) {
  const name_ref *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int ref_casecmp(const void *a, const void *b) {
  const name_ref *x = a, *y = b;
  int c = casecmp(x->name, y->name);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int ref_key_cmp(const void *key, const void *elem) {
  return strcmp((const char *)key, ((const name_ref *)elem)->name);
}

static name_ref *layer_refs(const osc_network *net, int (*cmp)(const void *, const void *)) {
  name_ref *r = malloc((net->n_layers > 0 ? (size_t)net->n_layers : 1) * sizeof *r);
  if (!r) return NULL;
  for (int i = 0; i < net->n_layers; i++) r[i] = (name_ref){net->layers[i].name, i};
  qsort(r, (size_t)net->n_layers, sizeof *r, cmp);
  return r;
}

/* The layer whose generated functions include `name` (layer + "_n", or
** layer + "_s<digit>..."), or NULL; `sorted` by ref_cmp. */
static const name_ref *owner_of(const char *name, const name_ref *sorted, int n) {
  char buf[OSC_NAME_MAX];
  size_t len = strlen(name);
  for (size_t i = 1; i + 1 < len && i < sizeof buf; i++) {
    const name_ref *hit;
    int entry = name[i + 1] == 'n' && i + 2 == len;
    int stage = name[i + 1] == 's' && i + 2 < len && is_digit((unsigned char)name[i + 2]);
    if (name[i] != '_' || !(entry || stage)) continue;
    memcpy(buf, name, i);
    buf[i] = '\0';
    if ((hit = bsearch(buf, sorted, (size_t)n, sizeof *sorted, ref_key_cmp))) return hit;
  }
  return NULL;
}

/* Same up to case: the later of the first such pair is refused. */
static osc_status check_layer_cases(const osc_network *net, osc_error *err) {
  name_ref *r = layer_refs(net, ref_casecmp);
  osc_status st = OSC_OK;
  if (!r) return osc_error_set(err, OSC_ENOMEM, "out of memory checking names");
  for (int i = 0; i + 1 < net->n_layers && !st; i++) {
    const osc_layer *first = &net->layers[r[i].index], *later = &net->layers[r[i + 1].index];
    if (casecmp(r[i].name, r[i + 1].name)) continue;
    if (!strcmp(r[i].name, r[i + 1].name))
      st = osc_error_layer(err, OSC_EINVAL, later, "a second layer of that name in network "
                           "'%s' (the first is at line %d)", net->name, first->line);
    else
      st = osc_error_layer(err, OSC_EINVAL, later, "its macros would be those of layer '%s' "
                           "(line %d), as layer names in a network must differ in more than "
                           "case; rename one", first->name, first->line);
  }
  free(r);
  return st;
}

/* A layer named like another's _n entry or stage function. */
static osc_status check_layer_functions(const osc_network *net, osc_error *err) {
  name_ref *r = layer_refs(net, ref_cmp);
  osc_status st = OSC_OK;
  if (!r) return osc_error_set(err, OSC_ENOMEM, "out of memory checking names");
  for (int i = 0; i < net->n_layers && !st; i++) {
    const name_ref *owner = owner_of(net->layers[i].name, r, net->n_layers);
    if (owner)
      st = osc_error_layer(err, OSC_EINVAL, &net->layers[i],
                           "its function %s_%s is already a function of layer '%s' (line %d); "
                           "rename it", net->name, net->layers[i].name, owner->name,
                           net->layers[owner->index].line);
  }
  free(r);
  return st;
}

/* Names C or POSIX reserve (oscreserved.c): a network that prefixes every
** symbol with one, a layer whose function or _n entry is one. */
static osc_status check_reserved(const osc_network *net, const char *file, osc_error *err) {
  char why[256], sym[2 * OSC_NAME_MAX + 4];
  if (osc_reserved_network(net->name, why, sizeof why))
    return net_error(err, OSC_EINVAL, net, file, "the name is reserved: %s; rename it", why);
  for (int i = 0; i < net->n_layers; i++)
    for (int kind = 0; kind < 2; kind++) {
      const char *r;
      snprintf(sym, sizeof sym, "%s_%s%s", net->name, net->layers[i].name, kind ? "_n" : "");
      if ((r = osc_reserved_symbol(sym)))
        return osc_error_layer(err, OSC_EINVAL, &net->layers[i], "its %s %s is a reserved name: "
                               "%s; a file that includes system headers could not use it; "
                               "rename it",
                               kind ? "n-image entry" : "function", sym, r);
    }
  return OSC_OK;
}

static osc_status check_network_names(const osc_network *net, const char *file,
                                      osc_error *err) {
  osc_status st;
  if (!osc_emit_is_identifier(net->name))
    return net_error(err, OSC_EINVAL, net, file, "the name is not a C identifier: it prefixes "
                     "every generated symbol");
  for (int i = 0; i < net->n_layers; i++)
    if (!osc_emit_is_identifier(net->layers[i].name))
      return osc_error_layer(err, OSC_EINVAL, &net->layers[i],
                             "the name must be a C identifier: it names the generated function");
  for (int i = 0; i < net->n_layers; i++)   /* the header's own names for the network */
    if (!strcmp(net->layers[i].name, "layer_table") || !strcmp(net->layers[i].name, "layer_info"))
      return osc_error_layer(err, OSC_EINVAL, &net->layers[i],
                             "%s_%s is the network's layer %s in the generated header; rename "
                             "the layer", net->name, net->layers[i].name,
                             net->layers[i].name[6] == 't' ? "table" : "type");
  if ((st = check_reserved(net, file, err))) return st;
  if ((st = check_layer_cases(net, err))) return st;
  return check_layer_functions(net, err);
}

osc_status osc_emit_check_network(const osc_network *net, const osc_plan *plans,
                                  osc_error *err) {
  osc_status st;
  if (!net) return osc_error_set(err, OSC_EINVAL, "osc_emit_check_network: NULL network");
  if ((st = check_network_names(net, net_file(net), err))) return st;
  for (int i = 0; plans && i < net->n_layers; i++)
    if ((st = osc_emit_check_plan(&plans[i], err))) return st;
  return OSC_OK;
}

/* ---- across networks --------------------------------------------------------------- */

static osc_status check_network_cases(const osc_config *cfg, osc_error *err) {
  name_ref *r = malloc((cfg->n_networks > 0 ? (size_t)cfg->n_networks : 1) * sizeof *r);
  osc_status st = OSC_OK;
  if (!r) return osc_error_set(err, OSC_ENOMEM, "out of memory checking names");
  for (int i = 0; i < cfg->n_networks; i++) r[i] = (name_ref){cfg->networks[i].name, i};
  qsort(r, (size_t)cfg->n_networks, sizeof *r, ref_casecmp);
  for (int i = 0; i + 1 < cfg->n_networks && !st; i++) {
    const osc_network *first = &cfg->networks[r[i].index], *later = &cfg->networks[r[i + 1].index];
    if (casecmp(r[i].name, r[i + 1].name)) continue;
    if (!strcmp(r[i].name, r[i + 1].name))
      st = net_error(err, OSC_ECONFIG, later, cfg->file, "a second network of that name (the "
                     "first is at line %d): both would write %s.c and %s.h", first->line,
                     later->name, later->name);
    else
      st = net_error(err, OSC_ECONFIG, later, cfg->file, "its name differs from network '%s' "
                     "(line %d) only in case: both would have the same include guard and "
                     "macros, and %s.c would be %s.c on a case-insensitive file system; "
                     "rename one", first->name, first->line, later->name, first->name);
  }
  free(r);
  return st;
}

/* One public function of one layer: "<net>_<layer>" (kind 0, which also
** names its macros in upper case) or "<net>_<layer>_n" (kind 1). */
typedef struct symbol {
  char *name;
  int net, layer, kind;
} symbol;

static int symbol_cmp(const void *a, const void *b) {
  const symbol *x = a, *y = b;
  int c = casecmp(x->name, y->name);
  if (c) return c;
  if (x->net != y->net) return x->net < y->net ? -1 : 1;
  if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
  return x->kind - y->kind;
}

/* a precedes b (sorted); b is the later layer and gets the message. */
static osc_status symbol_clash(const osc_config *cfg, const symbol *a, const symbol *b,
                               osc_error *err) {
  const osc_network *na = &cfg->networks[a->net];
  const osc_layer *la = &na->layers[a->layer], *lb = &cfg->networks[b->net].layers[b->layer];
  int exact = !strcmp(a->name, b->name);
  if (a->kind == 0 && b->kind == 0 && exact)
    return osc_error_layer(err, OSC_ECONFIG, lb, "it and layer '%s' of network '%s' (line %d) "
                           "would both define the function %s (network and layer names are "
                           "joined by '_'); rename one", la->name, na->name, la->line, b->name);
  if (a->kind == 0 && b->kind == 0) {
    char macro[2 * OSC_NAME_MAX + 4];
    size_t i = 0;
    for (; b->name[i] && i + 1 < sizeof macro; i++)
      macro[i] = (char)fold((unsigned char)b->name[i]);
    macro[i] = '\0';
    return osc_error_layer(err, OSC_ECONFIG, lb, "its macros %s_* are also those of layer '%s' "
                           "of network '%s' (line %d): the names differ only in case; rename "
                           "one", macro, la->name, na->name, la->line);
  }
  if (a->kind != b->kind && exact)
    return osc_error_layer(err, OSC_ECONFIG, lb, "its %s %s is also the %s of layer '%s' of "
                           "network '%s' (line %d); rename one",
                           b->kind ? "n-image entry" : "function", b->name,
                           a->kind ? "n-image entry" : "function", la->name, na->name, la->line);
  return OSC_OK;
}

/* Functions and macros of layers of different networks: sorted up to case,
** so every clash is within a run of neighbours. */
static osc_status check_symbols(const osc_config *cfg, osc_error *err) {
  size_t n = 0, total = 0;
  symbol *sym;
  osc_status st = OSC_OK;
  for (int i = 0; i < cfg->n_networks; i++) total += 2 * (size_t)cfg->networks[i].n_layers;
  if (!(sym = calloc(total ? total : 1, sizeof *sym)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory checking names");
  for (int i = 0; i < cfg->n_networks && !st; i++)
    for (int k = 0; k < cfg->networks[i].n_layers && !st; k++)
      for (int kind = 0; kind < 2 && !st; kind++) {
        const char *net = cfg->networks[i].name, *layer = cfg->networks[i].layers[k].name;
        size_t len = strlen(net) + strlen(layer) + 4;
        if (!(sym[n].name = malloc(len))) {
          st = osc_error_set(err, OSC_ENOMEM, "out of memory checking names");
          break;
        }
        snprintf(sym[n].name, len, "%s_%s%s", net, layer, kind ? "_n" : "");
        sym[n].net = i;
        sym[n].layer = k;
        sym[n++].kind = kind;
      }
  if (!st) qsort(sym, n, sizeof *sym, symbol_cmp);
  for (size_t i = 0; !st && i < n; i++)
    for (size_t j = i + 1; !st && j < n && !casecmp(sym[i].name, sym[j].name); j++)
      if (sym[i].net != sym[j].net) st = symbol_clash(cfg, &sym[i], &sym[j], err);
  for (size_t i = 0; i < n; i++) free(sym[i].name);
  free(sym);
  return st;
}

osc_status osc_emit_check_config(const osc_config *cfg, osc_error *err) {
  osc_status st;
  if (!cfg) return osc_error_set(err, OSC_EINVAL, "osc_emit_check_config: NULL config");
  for (int i = 0; i < cfg->n_networks; i++)
    if ((st = check_network_names(&cfg->networks[i], cfg->file, err))) return st;
  if ((st = check_network_cases(cfg, err))) return st;
  return check_symbols(cfg, err);
}

/*
** osctune.c -- the tuning database: records, their JSON lines, merging,
** and the machine fingerprint that decides whether a record applies.
*/
#include "osctune.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "oscerr.h"
#include "oscfile.h"
#include "oscisa.h"
#include "oscplan.h"
#include "osctime.h"

#ifndef OSC_TCC_VERSION
#define OSC_TCC_VERSION "unknown"   /* the Makefile passes `tcc -v`'s */
#endif
#define DB_MAX ((size_t)256 << 20)

/* ---- where we are ------------------------------------------------------------ */

static void cpu_model(char *buf, size_t size) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  snprintf(buf, size, "unknown");
  while (f && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) || !colon) continue;
    colon += 1 + (colon[1] == ' ');
    colon[strcspn(colon, "\n")] = '\0';
    snprintf(buf, size, "%s", colon);
    break;
  }
  if (f) fclose(f);
}

const osc_tune_machine *osc_tune_host(void) {
  static osc_tune_machine m;
  static int done;
  if (!done) {
    osc_isa best = osc_isa_host();
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_model(m.cpu, sizeof m.cpu);
    snprintf(m.isa, sizeof m.isa, "%s%s", best >= OSC_ISA_AVX512 ? "avx512 " : "",
             best >= OSC_ISA_AVX2 ? "avx2 c" : "c");
    m.cores = n > 0 ? (int)n : 1;
    done = 1;
  }
  return &m;
}

const char *osc_tune_compiler(void) { return "tcc " OSC_TCC_VERSION; }

static const char *const act_names[] = {"none", "relu", "relu6", "clamp"};

void osc_tune_key(const osc_layer *l, char key[OSC_TUNE_KEY_MAX]) {
  char act[64];
  if (l->act == OSC_ACT_CLAMP)
    snprintf(act, sizeof act, "clamp(%.9g,%.9g)", (double)l->clamp_min, (double)l->clamp_max);
  else snprintf(act, sizeof act, "%s", (unsigned)l->act <= OSC_ACT_CLAMP ? act_names[l->act] : "?");
  snprintf(key, OSC_TUNE_KEY_MAX, "c%d-%d s%dx%d k%dx%d st%dx%d p%dx%d g%d b%d %s",
           l->in_channels, l->out_channels, l->in_h, l->in_w, l->k_h, l->k_w, l->stride_h,
           l->stride_w, l->pad_h, l->pad_w, l->groups, l->bias, act);
}

/* The stage-time model's figure for the plan on the record's ISA, in
** seconds (osctime.h); -1 (null in the file) for an ISA it does not know. */
static double modelled_s(const osc_plan *p, const char *isa) {
  osc_isa i;
  if (osc_isa_parse(isa, &i) != 0) return -1;
  return osc_time_plan_isa(p, i == OSC_ISA_AUTO ? osc_time_isa() : i) * 1e-9;
}

void osc_tune_record_make(const osc_plan *p, const char *isa, int threads, const char *code,
                          double median_s, double spread_s, int reps, osc_tune_record *r) {
  memset(r, 0, sizeof *r);
  r->layer = p->layer;
  r->layer.file = NULL;
  r->layer.line = 0;
  r->mode = p->mode;
  r->n_stages = p->n_stages;
  for (int i = 0; i < p->n_stages; i++)
    r->chain[i] = (osc_stage_spec){p->stage[i].c_out, p->stage[i].groups, p->stage[i].k_h,
                                   p->stage[i].k_w};
  r->macs = p->macs;
  snprintf(r->isa, sizeof r->isa, "%s", isa);
  r->threads = threads;
  snprintf(r->code, sizeof r->code, "%s", code && *code ? code : "auto");
  r->median_s = median_s;
  r->spread_s = spread_s;
  r->reps = reps;
  r->model_s = modelled_s(p, isa);
  r->machine = *osc_tune_host();
  snprintf(r->version, sizeof r->version, "%s", OSC_VERSION);
  snprintf(r->compiler, sizeof r->compiler, "%s", osc_tune_compiler());
}

/* NULL if a and b were measured alike, else what differs. */
static const char *provenance_differs(const osc_tune_record *a, const osc_tune_record *b,
                                      char *buf, size_t size) {
  if (strcmp(a->machine.cpu, b->machine.cpu) || strcmp(a->machine.isa, b->machine.isa) ||
      a->machine.cores != b->machine.cores)
    snprintf(buf, size, "another machine (%s, %s, %d cores; here %s, %s, %d cores)",
             a->machine.cpu, a->machine.isa, a->machine.cores, b->machine.cpu, b->machine.isa,
             b->machine.cores);
  else if (strcmp(a->version, b->version))
    snprintf(buf, size, "another osconv version (%s; here %s)", a->version, b->version);
  else if (strcmp(a->compiler, b->compiler))
    snprintf(buf, size, "another compiler (%s; here %s)", a->compiler, b->compiler);
  else return NULL;
  return buf;
}

const char *osc_tune_mismatch(const osc_tune_record *r, char *buf, size_t size) {
  osc_tune_record here;
  memset(&here, 0, sizeof here);
  here.machine = *osc_tune_host();
  snprintf(here.version, sizeof here.version, "%s", OSC_VERSION);
  snprintf(here.compiler, sizeof here.compiler, "%s", osc_tune_compiler());
  return provenance_differs(r, &here, buf, size);
}

osc_status osc_tune_plan(const osc_tune_record *r, const osc_layer *l, osc_plan *out,
                         osc_error *err) {
  osc_error why;
  if (osc_plan_build(l, r->mode, r->n_stages, r->chain, out, &why))
    return osc_error_layer(err, OSC_EINVAL, l, "the tuning record does not fit: %s", why.msg);
  return OSC_OK;
}

/* ---- the set of records ---------------------------------------------------------- */

osc_tuning *osc_tune_new(void) { return calloc(1, sizeof(osc_tuning)); }

/* Index of key in t, or -(insertion point) - 1. */
static int search(const osc_tuning *t, const char *key) {
  int lo = 0, hi = t->n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c;
    char k[OSC_TUNE_KEY_MAX];
    osc_tune_key(&t->rec[mid].layer, k);
    c = strcmp(k, key);
    if (!c) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

const osc_tune_record *osc_tune_find(const osc_tuning *t, const osc_layer *l) {
  char key[OSC_TUNE_KEY_MAX];
  int i;
  osc_tune_key(l, key);
  i = search(t, key);
  return i >= 0 ? &t->rec[i] : NULL;
}

/* a before b: faster, or as fast and first in bytes (a total order). */
static int better(const osc_tune_record *a, const osc_tune_record *b) {
  char *x, *y;
  int c;
  if (a->median_s != b->median_s) return a->median_s < b->median_s;
  x = osc_tune_record_line(a);
  y = osc_tune_record_line(b);
  c = x && y ? strcmp(x, y) : 0;
  free(x), free(y);
  return c < 0;
}

int osc_tune_put(osc_tuning *t, const osc_tune_record *r) {
  char key[OSC_TUNE_KEY_MAX];
  int i;
  osc_tune_key(&r->layer, key);
  i = search(t, key);
  if (i >= 0) {
    char why[512];
    /* a record from elsewhere is no rival: it cannot be used here */
    if (!provenance_differs(&t->rec[i], r, why, sizeof why) && !better(r, &t->rec[i])) return 0;
    t->rec[i] = *r;
    return 1;
  }
  i = -i - 1;
  if (t->n == t->cap) {
    int cap = t->cap ? 2 * t->cap : 16;
    osc_tune_record *m = realloc(t->rec, (size_t)cap * sizeof *m);
    if (!m) return -1;
    t->rec = m, t->cap = cap;
  }
  memmove(&t->rec[i + 1], &t->rec[i], (size_t)(t->n - i) * sizeof *t->rec);
  t->rec[i] = *r;
  t->n++;
  return 1;
}

/* ---- JSON lines ---------------------------------------------------------------- */

static json_t *pair(int a, int b) { return json_pack("[ii]", a, b); }
static json_t *opt_real(double v) { return v < 0 ? json_null() : json_real(v); }

static json_t *layer_json(const osc_layer *l) {
  json_t *o = json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:i, s:b, s:s}", "name", l->name,
                        "in_channels", l->in_channels, "out_channels", l->out_channels,
                        "in_size", pair(l->in_h, l->in_w), "kernel", pair(l->k_h, l->k_w),
                        "stride", pair(l->stride_h, l->stride_w), "padding",
                        pair(l->pad_h, l->pad_w), "groups", l->groups, "bias", l->bias,
                        "activation", act_names[l->act]);
  if (o && l->act == OSC_ACT_CLAMP)
    json_object_set_new(o, "clamp", json_pack("[f, f]", (double)l->clamp_min,
                                              (double)l->clamp_max));
  return o;
}

static json_t *chain_json(const osc_tune_record *r) {
  json_t *a = json_array();
  for (int i = 0; a && i < r->n_stages; i++)
    json_array_append_new(a, json_pack("[iiii]", r->chain[i].out_channels, r->chain[i].groups,
                                       r->chain[i].k_h, r->chain[i].k_w));
  return a;
}

char *osc_tune_record_line(const osc_tune_record *r) {
  json_t *o = json_pack(
      "{s:o, s:{s:s, s:o, s:I}, s:{s:s, s:o}, s:{s:o, s:o, s:i, s:o}, s:{s:s, s:s, s:i}, "
      "s:s, s:s}",
      "layer", layer_json(&r->layer), "plan", "mode", osc_mode_name(r->mode), "chain",
      chain_json(r), "macs", (json_int_t)r->macs, "variant", "isa", r->isa, "threads",
      r->threads > 0 ? json_integer(r->threads) : json_null(), "time",
      "median_s", json_real(r->median_s), "spread_s", json_real(r->spread_s), "reps", r->reps,
      "model_s", opt_real(r->model_s), "machine", "cpu", r->machine.cpu, "isa", r->machine.isa,
      "cores", r->machine.cores, "osconv", r->version, "compiler", r->compiler);
  json_t *v = o ? json_object_get(o, "variant") : NULL;
  if (v && strcmp(r->code, "auto"))   /* after threads; absent: auto, as records before it */
    json_object_set_new(v, "code", json_string(r->code));
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))
              : NULL;
  json_decref(o);
  return s;
}

static int copy_str(char *dst, size_t size, const char *s) {
  if (strlen(s) >= size) return -1;
  memcpy(dst, s, strlen(s) + 1);
  return 0;
}

static osc_status parse_layer(json_t *o, osc_layer *l, osc_error *err) {
  const char *name, *act;
  json_t *clamp = NULL;
  json_error_t je;
  osc_error why;
  osc_layer_init(l);
  if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:i, s:i, s:[ii], s:[ii], s:[ii], s:[ii], s:i, s:b, s:s, s?o}",
                     "name", &name, "in_channels", &l->in_channels, "out_channels",
                     &l->out_channels, "in_size", &l->in_h, &l->in_w, "kernel", &l->k_h,
                     &l->k_w, "stride", &l->stride_h, &l->stride_w, "padding", &l->pad_h,
                     &l->pad_w, "groups", &l->groups, "bias", &l->bias, "activation", &act,
                     "clamp", &clamp))
    return osc_error_set(err, OSC_EINVAL, "layer: %s", je.text);
  if (copy_str(l->name, sizeof l->name, name))
    return osc_error_set(err, OSC_EINVAL, "layer: name longer than %d bytes", OSC_NAME_MAX - 1);
  for (l->act = OSC_ACT_NONE; l->act <= OSC_ACT_CLAMP && strcmp(act, act_names[l->act]); l->act++) {}
  if (l->act > OSC_ACT_CLAMP)
    return osc_error_set(err, OSC_EINVAL, "layer: unknown activation '%s'", act);
  if ((l->act == OSC_ACT_CLAMP) != (clamp != NULL))
    return osc_error_set(err, OSC_EINVAL, "layer: 'clamp' [min, max] goes with activation clamp only");
  if (clamp) {
    double lo, hi;
    if (json_unpack_ex(clamp, &je, JSON_STRICT, "[FF]", &lo, &hi))
      return osc_error_set(err, OSC_EINVAL, "layer: clamp: %s", je.text);
    l->clamp_min = (float)lo, l->clamp_max = (float)hi;
  }
  l->mode = l->groups > 1 ? OSC_MODE_CONVENTIONAL : OSC_MODE_OPTIMAL;
  if (osc_layer_validate(l, &why)) return osc_error_set(err, OSC_EINVAL, "layer: %s", why.msg);
  return OSC_OK;
}

static osc_status parse_plan(json_t *o, osc_tune_record *r, osc_error *err) {
  const char *mode;
  json_t *chain, *st;
  json_error_t je;
  json_int_t macs;
  size_t i;
  if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:o, s:I}", "mode", &mode, "chain", &chain,
                     "macs", &macs))
    return osc_error_set(err, OSC_EINVAL, "plan: %s", je.text);
  if (osc_mode_from_name(mode, &r->mode))
    return osc_error_set(err, OSC_EINVAL, "plan: unknown mode '%s'", mode);
  if (!json_is_array(chain) || json_array_size(chain) < 1 ||
      json_array_size(chain) > OSC_MAX_STAGES)
    return osc_error_set(err, OSC_EINVAL, "plan: chain must be 1 to %d stages", OSC_MAX_STAGES);
  json_array_foreach(chain, i, st) {
    osc_stage_spec *s = &r->chain[i];
    if (json_unpack_ex(st, &je, JSON_STRICT, "[iiii]", &s->out_channels, &s->groups, &s->k_h,
                       &s->k_w))
      return osc_error_set(err, OSC_EINVAL, "plan: stage %zu: %s", i + 1, je.text);
  }
  r->n_stages = (int)json_array_size(chain);
  r->macs = macs;
  return OSC_OK;
}

/* The plan must be one osc_plan_build accepts for the layer, with the MACs
** written beside it: a hand-edited chain is caught here, not at `gen`. */
static osc_status check_plan(const osc_tune_record *r, osc_error *err) {
  osc_plan p;
  osc_error why;
  if (osc_plan_build(&r->layer, r->mode, r->n_stages, r->chain, &p, &why))
    return osc_error_set(err, OSC_EINVAL, "plan: %s", why.msg);
  if (p.macs != r->macs)
    return osc_error_set(err, OSC_EINVAL, "plan: macs %" PRId64 ", but the chain has %" PRId64,
                         r->macs, p.macs);
  return OSC_OK;
}

/* variant.code: absent (a record from before code variants: the emitter's
** choice, "auto"), or a canonical name; "auto" and other spellings are
** refused, so one variant has one line. */
static osc_status parse_code(json_t *code, osc_tune_record *r, osc_error *err) {
  osc_emit_knobs k = {0};
  osc_error why;
  snprintf(r->code, sizeof r->code, "auto");
  if (!code) return OSC_OK;
  if (!json_is_string(code))
    return osc_error_set(err, OSC_EINVAL, "variant: code must be a string");
  if (osc_variant_parse(json_string_value(code), &k, r->code, &why))
    return osc_error_set(err, OSC_EINVAL, "variant: %s", why.msg);
  if (strcmp(r->code, json_string_value(code)) || !strcmp(r->code, "auto"))
    return osc_error_set(err, OSC_EINVAL, "variant: code '%s' is not written as osconv writes "
                         "it (%s)", json_string_value(code),
                         strcmp(r->code, "auto") ? r->code : "auto: leave the field out");
  return OSC_OK;
}

static osc_status parse_fields(json_t *o, osc_tune_record *r, osc_error *err) {
  json_t *layer, *plan, *threads, *model, *code = NULL;
  const char *isa, *cpu, *misa, *version, *compiler;
  json_error_t je;
  osc_isa v;
  osc_status s;
  if (json_unpack_ex(o, &je, JSON_STRICT,
                     "{s:o, s:o, s:{s:s, s:o, s?o}, s:{s:F, s:F, s:i, s:o}, s:{s:s, s:s, s:i}, "
                     "s:s, s:s}",
                     "layer", &layer, "plan", &plan, "variant", "isa", &isa, "threads",
                     &threads, "code", &code, "time", "median_s", &r->median_s, "spread_s", &r->spread_s,
                     "reps", &r->reps, "model_s", &model, "machine", "cpu", &cpu, "isa", &misa,
                     "cores", &r->machine.cores, "osconv", &version, "compiler", &compiler))
    return osc_error_set(err, OSC_EINVAL, "%s", je.text);
  if ((s = parse_layer(layer, &r->layer, err)) || (s = parse_plan(plan, r, err)) ||
      (s = check_plan(r, err)))
    return s;
  if (osc_isa_parse(isa, &v) || v == OSC_ISA_AUTO)
    return osc_error_set(err, OSC_EINVAL, "variant: isa '%s': expected avx512, avx2 or c", isa);
  if (!json_is_null(threads) &&
      !(json_is_integer(threads) && json_integer_value(threads) >= 1 &&
        json_integer_value(threads) <= OSC_TUNE_THREADS_MAX))
    return osc_error_set(err, OSC_EINVAL, "variant: threads must be an integer 1 to %d, or null",
                         OSC_TUNE_THREADS_MAX);
  r->threads = json_is_null(threads) ? 0 : (int)json_integer_value(threads);
  if ((s = parse_code(code, r, err))) return s;
  if (!json_is_null(model) && !(json_is_number(model) && json_number_value(model) >= 0))
    return osc_error_set(err, OSC_EINVAL, "time: model_s must be a number >= 0 or null");
  r->model_s = json_is_null(model) ? -1 : json_number_value(model);
  if (!(r->median_s >= 0 && r->spread_s >= 0 && r->reps >= 1))
    return osc_error_set(err, OSC_EINVAL, "time: median_s and spread_s must be >= 0, reps >= 1");
  if (copy_str(r->isa, sizeof r->isa, isa) || copy_str(r->machine.cpu, sizeof r->machine.cpu, cpu) ||
      copy_str(r->machine.isa, sizeof r->machine.isa, misa) ||
      copy_str(r->version, sizeof r->version, version) ||
      copy_str(r->compiler, sizeof r->compiler, compiler))
    return osc_error_set(err, OSC_EINVAL, "a string is too long (isa, cpu, osconv or compiler)");
  if (r->machine.cores < 1) return osc_error_set(err, OSC_EINVAL, "machine: cores must be >= 1");
  return OSC_OK;
}

osc_status osc_tune_record_parse(const char *line, osc_tune_record *r, osc_error *err) {
  json_error_t je;
  json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &je);
  osc_status s;
  memset(r, 0, sizeof *r);
  if (!o) return osc_error_set(err, OSC_EINVAL, "not JSON: %s", je.text);
  s = parse_fields(o, r, err);
  json_decref(o);
  return s;
}

osc_status osc_tune_parse(const char *name, const char *text, size_t len, osc_tuning **out,
                          osc_error *err) {
  osc_tuning *t = osc_tune_new();
  osc_status s = OSC_OK;
  const char *p = text, *end = text + len;
  int line = 0;
  *out = NULL;
  if (!t) return osc_error_set(err, OSC_ENOMEM, "out of memory reading %s", name);
  for (; p < end && !s; line++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    char *one = strndup(p, n), key[OSC_TUNE_KEY_MAX];
    osc_tune_record r;
    osc_error why;
    p += n + 1;
    if (!one) s = osc_error_set(err, OSC_ENOMEM, "out of memory reading %s", name);
    else if (strlen(one) != n)
      s = osc_error_set(err, OSC_EINVAL, "%s:%d: a NUL byte in the line", name, line + 1);
    else if (!one[strspn(one, " \t\r")]) {}   /* blank lines are allowed */
    else if (osc_tune_record_parse(one, &r, &why))
      s = osc_error_set(err, OSC_EINVAL, "%s:%d: %s", name, line + 1, why.msg);
    else if (osc_tune_key(&r.layer, key), search(t, key) >= 0)
      s = osc_error_set(err, OSC_EINVAL, "%s:%d: a second record for layer shape '%s'", name,
                        line + 1, key);
    else if (osc_tune_put(t, &r) < 0)
      s = osc_error_set(err, OSC_ENOMEM, "out of memory reading %s", name);
    free(one);
  }
  if (s) osc_tuning_free(t);
  else *out = t;
  return s;
}

char *osc_tune_text(const osc_tuning *t, size_t *len) {
  size_t n = 0, cap = 1;
  char *text = malloc(cap);
  for (int i = 0; text && i < t->n; i++) {
    char *line = osc_tune_record_line(&t->rec[i]), *m;
    size_t k = line ? strlen(line) : 0;
    if (!line || !(m = realloc(text, n + k + 2))) {
      free(line), free(text);
      return NULL;
    }
    text = m;
    memcpy(text + n, line, k);
    text[n + k] = '\n';
    n += k + 1;
    free(line);
  }
  if (text) text[n] = '\0';
  if (len) *len = n;
  return text;
}

osc_status osc_tune_merge(const osc_tuning *a, const osc_tuning *b, const char *b_name,
                          osc_tuning **out, osc_error *err) {
  const osc_tune_record *first = a->n ? &a->rec[0] : b->n ? &b->rec[0] : NULL;
  osc_tuning *m = osc_tune_new();
  *out = NULL;
  if (!m) return osc_error_set(err, OSC_ENOMEM, "out of memory merging");
  for (int pass = 0; pass < 2; pass++) {
    const osc_tuning *t = pass ? b : a;
    for (int i = 0; i < t->n; i++) {
      char why[512], key[OSC_TUNE_KEY_MAX];
      if (provenance_differs(&t->rec[i], first, why, sizeof why)) {
        osc_tune_key(&t->rec[i].layer, key);
        osc_tuning_free(m);
        return osc_error_set(err, OSC_EINVAL, "%s: record for '%s' refused: it comes from %s",
                             pass ? b_name : "the first database", key, why);
      }
      if (osc_tune_put(m, &t->rec[i]) < 0) {
        osc_tuning_free(m);
        return osc_error_set(err, OSC_ENOMEM, "out of memory merging");
      }
    }
  }
  *out = m;
  return OSC_OK;
}

/* ---- the public API ---------------------------------------------------------------- */

osc_status osc_tuning_load(const char *path, osc_tuning **out, osc_error *err) {
  char *text;
  size_t len;
  osc_status s;
  if (out) *out = NULL;
  if (!path || !out) return osc_error_set(err, OSC_EINVAL, "osc_tuning_load: NULL path or out");
  if ((s = osc_file_read(path, DB_MAX, &text, &len, err))) return s;
  s = osc_tune_parse(path, text, len, out, err);
  free(text);
  return s;
}

osc_status osc_tuning_save(const osc_tuning *t, const char *path, osc_error *err) {
  size_t len;
  char *text;
  osc_status s;
  if (!t || !path) return osc_error_set(err, OSC_EINVAL, "osc_tuning_save: NULL database or path");
  if (!(text = osc_tune_text(t, &len)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory writing %s", path);
  s = osc_file_write_atomic(path, text, len, err);
  free(text);
  return s;
}

void osc_tuning_free(osc_tuning *t) {
  if (!t) return;
  free(t->rec);
  free(t);
}

int osc_tuning_count(const osc_tuning *t) { return t ? t->n : 0; }

/* NULL if this process's JIT may run r's ISA (the CPU's best, capped by
** OSCONV_ISA), else why not. */
static const char *isa_unrunnable(const osc_tune_record *r, char *buf, size_t size) {
  osc_isa want, cap;
  if (osc_isa_parse(r->isa, &want) || osc_isa_runtime(&cap, NULL))
    snprintf(buf, size, "its isa %s is not one this process can check", r->isa);
  else if (want > cap)
    snprintf(buf, size, "its isa %s is above what the JIT runs here (%s: the CPU's best %s, "
             "capped by OSCONV_ISA)", r->isa, osc_isa_name(cap), osc_isa_name(osc_isa_host()));
  else return NULL;
  return buf;
}

osc_status osc_tuning_lookup_options(const osc_tuning *t, const osc_layer *l, osc_plan *out,
                                     osc_kernel_options *opt, osc_tuning_verdict *verdict,
                                     char *note, size_t note_size, osc_error *err) {
  const osc_tune_record *r;
  char why[512], chain[256], threads[32 + OSC_VARIANT_MAX] = "";
  osc_status s;
  osc_isa isa;
  if (!t || !l || !out || !verdict)
    return osc_error_set(err, OSC_EINVAL, "osc_tuning_lookup: NULL database, layer, plan or verdict");
  if (note && note_size) note[0] = '\0';
  *verdict = OSC_TUNING_ABSENT;
  if (!(r = osc_tune_find(t, l))) {
    if (note) snprintf(note, note_size, "no tuning record");
    return OSC_OK;
  }
  if (osc_tune_mismatch(r, why, sizeof why) || isa_unrunnable(r, why, sizeof why)) {
    int elsewhere = strncmp(why, "its isa", 7) != 0;
    *verdict = OSC_TUNING_REJECTED;
    if (note)
      snprintf(note, note_size, "tuning record rejected: %s%s", elsewhere ? "it comes from " : "",
               why);
    return OSC_OK;
  }
  if ((s = osc_tune_plan(r, l, out, err))) return s;
  /* the record's code variant, as its mode, over the config's (what gen emits) */
  snprintf(out->layer.code, sizeof out->layer.code, "%s", strcmp(r->code, "auto") ? r->code : "");
  *verdict = OSC_TUNING_USED;
  if (opt) {
    osc_isa_parse(r->isa, &isa);   /* checked when the record was read */
    opt->isa = osc_isa_name(isa);
    if (r->threads > 0) opt->threads = r->threads;
    opt->code = r->code;
  }
  osc_plan_describe(out, chain, sizeof chain);
  if (r->threads > 0) snprintf(threads, sizeof threads, ", %d thread%s", r->threads,
                               r->threads == 1 ? "" : "s");
  if (strcmp(r->code, "auto"))
    snprintf(threads + strlen(threads), sizeof threads - strlen(threads), ", variant %s", r->code);
  if (note)
    snprintf(note, note_size, "tuning record used: %s %s, isa %s%s, measured %.3g us",
             osc_mode_name(r->mode), chain, r->isa, threads, r->median_s * 1e6);
  return OSC_OK;
}

osc_status osc_tuning_lookup(const osc_tuning *t, const osc_layer *l, osc_plan *out,
                             osc_tuning_verdict *verdict, char *note, size_t note_size,
                             osc_error *err) {
  return osc_tuning_lookup_options(t, l, out, NULL, verdict, note, note_size, err);
}

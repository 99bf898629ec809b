/*
** oscplan.c -- layers, plans and the placement rule.
*/
#include "oscplan.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "osccover.h"
#include "oscerr.h"
#include "oscvariant.h"
#include "osctime.h"

/* ---- names ---------------------------------------------------------------- */

static const char *const mode_names[OSC_MODE_COUNT] = {
    "conventional", "depthwise", "spatial", "optimal", "fixed"};

const char *osc_mode_name(osc_mode m) {
  return (unsigned)m < OSC_MODE_COUNT ? mode_names[m] : "?";
}

int osc_mode_from_name(const char *s, osc_mode *out) {
  if (!s || !out) return -1;
  for (int i = 0; i < OSC_MODE_COUNT; i++)
    if (strcmp(s, mode_names[i]) == 0) { *out = (osc_mode)i; return 0; }
  return -1;
}

const char *osc_objective_name(osc_objective o) {
  return o == OSC_OBJ_PARAMS ? "params" : o == OSC_OBJ_TIME ? "time" : "macs";
}

int osc_objective_from_name(const char *s, osc_objective *out) {
  if (!s || !out) return -1;
  if (strcmp(s, "macs") == 0) { *out = OSC_OBJ_MACS; return 0; }
  if (strcmp(s, "params") == 0) { *out = OSC_OBJ_PARAMS; return 0; }
  if (strcmp(s, "time") == 0) { *out = OSC_OBJ_TIME; return 0; }
  return -1;
}

/* ---- layers --------------------------------------------------------------- */

void osc_layer_init(osc_layer *l) {
  if (!l) return;
  memset(l, 0, sizeof *l);
  l->stride_h = l->stride_w = 1;
  l->groups = 1;
  l->mode = OSC_MODE_OPTIMAL;
  l->max_stages = 2;
  l->objective = OSC_OBJ_MACS;
}

int osc_layer_act_bounds(const osc_layer *l, float *lo, float *hi) {
  switch (l->act) {
  case OSC_ACT_RELU: *lo = 0.0f; return 0;
  case OSC_ACT_RELU6: *lo = 0.0f; *hi = 6.0f; return 2;
  case OSC_ACT_CLAMP: *lo = l->clamp_min; *hi = l->clamp_max; return 2;
  default: return -1;
  }
}

const char *osc_act_describe(const osc_layer *l, char *buf, size_t size) {
  static const char *const names[] = {"", "relu", "relu6"};
  if (l->act == OSC_ACT_CLAMP)
    snprintf(buf, size, "clamp(%g, %g)", (double)l->clamp_min, (double)l->clamp_max);
  else
    snprintf(buf, size, "%s", (unsigned)l->act < 3 ? names[l->act] : "?");
  return buf;
}

int osc_conv_out(int in, int k, int stride, int pad) {
  int span = in + 2 * pad - k;
  return span < 0 ? 0 : span / stride + 1;
}

int osc_layer_out_h(const osc_layer *l) {
  if (!l) return 0;
  return osc_conv_out(l->in_h, l->k_h, l->stride_h, l->pad_h);
}

int osc_layer_out_w(const osc_layer *l) {
  if (!l) return 0;
  return osc_conv_out(l->in_w, l->k_w, l->stride_w, l->pad_w);
}

/* Sizes are capped so that every count fits an int and every cost an int64. */
#define OSC_DIM_MAX 65536
#define OSC_CH_MAX 16384
#define OSC_K_MAX 64

static osc_status check_range(const osc_layer *l, osc_error *err,
                              const char *what, int v, int lo, int hi) {
  if (v < lo || v > hi)
    return osc_error_layer(err, OSC_EINVAL, l, "%s must be between %d and %d, got %d",
                           what, lo, hi, v);
  return OSC_OK;
}

/* Fields a C caller fills by hand: enums and counts out of range would
** index arrays, so they are checked before anything reads them. */
static osc_status check_enums(const osc_layer *l, osc_error *err) {
  if (memchr(l->name, '\0', sizeof l->name) == NULL)
    return osc_error_set(err, OSC_EINVAL, "a layer name must be at most %d characters",
                         OSC_NAME_MAX - 1);
  if (l->bias != 0 && l->bias != 1)
    return osc_error_layer(err, OSC_EINVAL, l, "bias must be 0 or 1, got %d", l->bias);
  if ((unsigned)l->act > OSC_ACT_CLAMP)
    return osc_error_layer(err, OSC_EINVAL, l, "unknown activation %d", (int)l->act);
  if (l->residual != 0 && l->residual != 1)
    return osc_error_layer(err, OSC_EINVAL, l, "residual must be 0 or 1, got %d", l->residual);
  if (l->oc_lanes != 0 && l->oc_lanes != 1)
    return osc_error_layer(err, OSC_EINVAL, l, "oc_lanes must be 0 or 1, got %d", l->oc_lanes);
  if (l->act == OSC_ACT_CLAMP &&
      !(isfinite(l->clamp_min) && isfinite(l->clamp_max) && l->clamp_min <= l->clamp_max))
    return osc_error_layer(err, OSC_EINVAL, l, "clamp needs finite bounds with min <= max, got "
                           "%g, %g", (double)l->clamp_min, (double)l->clamp_max);
  if ((unsigned)l->mode >= OSC_MODE_COUNT)
    return osc_error_layer(err, OSC_EINVAL, l, "unknown mode %d", (int)l->mode);
  if ((unsigned)l->objective > OSC_OBJ_TIME)
    return osc_error_layer(err, OSC_EINVAL, l, "unknown objective %d", (int)l->objective);
  if (l->n_widths < 0 || l->n_widths > OSC_MAX_WIDTHS)
    return osc_error_layer(err, OSC_EINVAL, l, "n_widths must be between 0 and %d, got %d",
                           OSC_MAX_WIDTHS, l->n_widths);
  if (l->n_fixed < 0 || l->n_fixed > OSC_MAX_STAGES)
    return osc_error_layer(err, OSC_EINVAL, l, "n_fixed must be between 0 and %d, got %d",
                           OSC_MAX_STAGES, l->n_fixed);
  return OSC_OK;
}

osc_status osc_layer_validate(const osc_layer *l, osc_error *err) {
  osc_status s;
  if (!l) return osc_error_set(err, OSC_EINVAL, "no layer (NULL)");
  if ((s = check_enums(l, err))) return s;
  if (!memchr(l->code, '\0', sizeof l->code))
    return osc_error_layer(err, OSC_EINVAL, l, "its code variant is not a string");
  if (l->code[0]) {
    osc_error why;
    if (osc_variant_parse(l->code, &(osc_emit_knobs){0}, NULL, &why))
      return osc_error_layer(err, OSC_EINVAL, l, "%s", why.msg);
  }
  struct { const char *what; int v, lo, hi; } r[] = {
      {"in_channels", l->in_channels, 1, OSC_CH_MAX},
      {"out_channels", l->out_channels, 1, OSC_CH_MAX},
      {"height", l->in_h, 1, OSC_DIM_MAX},
      {"width", l->in_w, 1, OSC_DIM_MAX},
      {"kernel height", l->k_h, 1, OSC_K_MAX},
      {"kernel width", l->k_w, 1, OSC_K_MAX},
      {"stride height", l->stride_h, 1, OSC_K_MAX},
      {"stride width", l->stride_w, 1, OSC_K_MAX},
      {"padding height", l->pad_h, 0, OSC_K_MAX},
      {"padding width", l->pad_w, 0, OSC_K_MAX},
      {"groups", l->groups, 1, OSC_CH_MAX},
      {"max_stages", l->max_stages, 1, OSC_MAX_STAGES},
  };
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    if ((s = check_range(l, err, r[i].what, r[i].v, r[i].lo, r[i].hi)))
      return s;
  if (l->in_channels % l->groups)
    return osc_error_layer(err, OSC_EINVAL, l, "groups %d does not divide in_channels %d",
                           l->groups, l->in_channels);
  if (l->out_channels % l->groups)
    return osc_error_layer(err, OSC_EINVAL, l, "groups %d does not divide out_channels %d",
                           l->groups, l->out_channels);
  if (l->k_h > l->in_h + 2 * l->pad_h || l->k_w > l->in_w + 2 * l->pad_w)
    return osc_error_layer(err, OSC_EINVAL, l,
                           "kernel %dx%d is larger than the padded input %dx%d",
                           l->k_h, l->k_w, l->in_h + 2 * l->pad_h, l->in_w + 2 * l->pad_w);
  if (l->groups > 1 && l->mode != OSC_MODE_CONVENTIONAL)
    return osc_error_layer(err, OSC_EINVAL, l,
                           "a grouped layer (groups %d) can only use mode 'conventional', "
                           "not '%s'", l->groups, osc_mode_name(l->mode));
  for (int i = 0; i < l->n_widths; i++)
    if ((s = check_range(l, err, "an entry of widths", l->widths[i], 1, OSC_CH_MAX)))
      return s;
  return OSC_OK;
}

/* ---- placement ------------------------------------------------------------ */

/* One spatial dimension of the chain: K, stride, pad of the layer, and the
** stage kernels k[0..n-1]. Padding goes on the first stage with k > 1, the
** stride on the last; with no such stage, both go on stage 0. */
static void place_dim(int n, const int *k, int in, int stride, int pad,
                      int *st, int *pd, int *sz_in, int *sz_out) {
  int first = -1, last = -1;
  for (int i = 0; i < n; i++)
    if (k[i] > 1) { if (first < 0) first = i; last = i; }
  if (first < 0) first = last = 0;
  for (int i = 0; i < n; i++) {
    st[i] = i == last ? stride : 1;
    pd[i] = i == first ? pad : 0;
    sz_in[i] = i == 0 ? in : sz_out[i - 1];
    sz_out[i] = osc_conv_out(sz_in[i], k[i], st[i], pd[i]);
  }
}

static void place(osc_plan *p) {
  const osc_layer *l = &p->layer;
  int n = p->n_stages, kh[OSC_MAX_STAGES] = {0}, kw[OSC_MAX_STAGES] = {0};
  int sh[OSC_MAX_STAGES], sw[OSC_MAX_STAGES], ph[OSC_MAX_STAGES], pw[OSC_MAX_STAGES];
  int hi[OSC_MAX_STAGES], ho[OSC_MAX_STAGES], wi[OSC_MAX_STAGES], wo[OSC_MAX_STAGES];
  for (int i = 0; i < n; i++) { kh[i] = p->stage[i].k_h; kw[i] = p->stage[i].k_w; }
  place_dim(n, kh, l->in_h, l->stride_h, l->pad_h, sh, ph, hi, ho);
  place_dim(n, kw, l->in_w, l->stride_w, l->pad_w, sw, pw, wi, wo);
  for (int i = 0; i < n; i++) {
    osc_stage *s = &p->stage[i];
    s->stride_h = sh[i]; s->stride_w = sw[i];
    s->pad_h = ph[i]; s->pad_w = pw[i];
    s->h_in = hi[i]; s->w_in = wi[i]; s->h_out = ho[i]; s->w_out = wo[i];
  }
}

/* ---- cost ----------------------------------------------------------------- */

int64_t osc_stage_params(const osc_stage *s) {
  return (int64_t)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w;
}

int64_t osc_stage_macs(const osc_stage *s) {
  return osc_stage_params(s) * s->h_out * s->w_out;
}

int osc_plan_shuffle_after(const osc_plan *p, int i) {
  const osc_stage *s = &p->stage[i];
  assert(i >= 0 && i < p->n_stages);
  return i + 1 < p->n_stages && s->groups > 1 && s->groups < s->c_out ? s->groups : 0;
}

int64_t osc_plan_cost(const osc_plan *p, osc_objective obj) {
  if (obj == OSC_OBJ_TIME) return osc_time_plan_ps(p, osc_time_isa());
  return obj == OSC_OBJ_PARAMS ? p->params : p->macs;
}

/* Sizes are validated, but a chain over a huge layer can still need more
** than 2^62 MACs: count in double first, so no int64 ever overflows. */
static int cost(osc_plan *p) {
  double macs = 0;
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    macs += (double)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w * s->h_out * s->w_out;
  }
  if (macs > 0x1p62) return -1;
  p->macs = 0;
  p->params = p->layer.bias ? p->layer.out_channels : 0;
  for (int i = 0; i < p->n_stages; i++) {
    p->macs += osc_stage_macs(&p->stage[i]);
    p->params += osc_stage_params(&p->stage[i]);
  }
  return 0;
}

/* ---- building --------------------------------------------------------------- */

static osc_status check_chain(const osc_layer *l, int n, const osc_stage_spec *c,
                              osc_error *err) {
  int ch = l->in_channels, eh = 0, ew = 0;
  if (n < 1 || n > OSC_MAX_STAGES)
    return osc_error_layer(err, OSC_EINVAL, l, "a chain needs 1 to %d stages, got %d",
                           OSC_MAX_STAGES, n);
  for (int i = 0; i < n; i++) {
    int out = c[i].out_channels ? c[i].out_channels
                                : (i == n - 1 ? l->out_channels : l->in_channels);
    if (c[i].groups < 1 || c[i].k_h < 1 || c[i].k_w < 1 || out < 1)
      return osc_error_layer(err, OSC_EINVAL, l,
                             "stage %d: groups, kernel and out_channels must be positive",
                             i + 1);
    if (ch % c[i].groups)
      return osc_error_layer(err, OSC_EINVAL, l,
                             "stage %d: groups %d does not divide its in_channels %d",
                             i + 1, c[i].groups, ch);
    if (out % c[i].groups)
      return osc_error_layer(err, OSC_EINVAL, l,
                             "stage %d: groups %d does not divide its out_channels %d",
                             i + 1, c[i].groups, out);
    eh += c[i].k_h - 1;
    ew += c[i].k_w - 1;
    ch = out;
  }
  if (ch != l->out_channels)
    return osc_error_layer(err, OSC_EINVAL, l,
                           "the last stage gives %d channels, the layer needs out_channels %d",
                           ch, l->out_channels);
  if (eh + 1 != l->k_h || ew + 1 != l->k_w)
    return osc_error_layer(err, OSC_EINVAL, l,
                           "the stages' kernels span %dx%d, the layer's kernel is %dx%d "
                           "(receptive field: sum of (k-1), plus 1, must match)",
                           eh + 1, ew + 1, l->k_h, l->k_w);
  return OSC_OK;
}

/* The generated code indexes one image's tensors and the weights with
** int: a plan whose arrays exceed 2^31-1 floats cannot be run. */
static osc_status check_sizes(const osc_plan *p, osc_error *err) {
  int64_t weights = p->layer.bias ? p->layer.out_channels : 0;
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    int64_t in = (int64_t)s->c_in * s->h_in * s->w_in;
    int64_t out = (int64_t)s->c_out * s->h_out * s->w_out;
    if (in > INT_MAX || out > INT_MAX)
      return osc_error_layer(err, OSC_EINVAL, &p->layer,
                             "stage %d: its %s has %lld floats per image, more than the "
                             "generated code can index (2^31-1)", i + 1,
                             in > INT_MAX ? "input" : "output",
                             (long long)(in > INT_MAX ? in : out));
    weights += osc_stage_params(s);
  }
  if (weights > INT_MAX)
    return osc_error_layer(err, OSC_EINVAL, &p->layer,
                           "the chain has %lld weights, more than the generated code can index "
                           "(2^31-1)", (long long)weights);
  return OSC_OK;
}

osc_status osc_plan_build(const osc_layer *l, osc_mode mode, int n,
                          const osc_stage_spec *chain, osc_plan *out,
                          osc_error *err) {
  osc_status s = check_chain(l, n, chain, err);
  int ch = l->in_channels, covered;
  if (s) return s;
  memset(out, 0, sizeof *out);
  out->layer = *l;
  out->mode = mode;
  out->n_stages = n;
  for (int i = 0; i < n; i++) {
    osc_stage *st = &out->stage[i];
    st->c_in = ch;
    st->c_out = chain[i].out_channels ? chain[i].out_channels
                                      : (i == n - 1 ? l->out_channels : l->in_channels);
    st->groups = chain[i].groups;
    st->k_h = chain[i].k_h;
    st->k_w = chain[i].k_w;
    ch = st->c_out;
  }
  place(out);
  if ((s = check_sizes(out, err))) return s;
  if (cost(out))
    return osc_error_layer(err, OSC_EINVAL, l,
                           "the chain needs more than 2^62 multiply-accumulates per image; "
                           "the layer is too large");
  covered = osc_cover_full(out, l->groups);
  if (covered < 0) return osc_error_set(err, OSC_ENOMEM, "out of memory checking coverage");
  if (!covered) {
    int64_t prod = 1;
    for (int i = 0; i < n; i++) prod *= out->stage[i].c_in / out->stage[i].groups;
    return osc_error_layer(err, OSC_EINVAL, l,
                           "the chain does not connect every output channel to every "
                           "input channel (fan-in product %lld, in_channels %d)",
                           (long long)prod, l->in_channels / l->groups);
  }
  return OSC_OK;
}

/* ---- sizes ------------------------------------------------------------------ */

/* A NULL plan, or one without stages, has no sizes: 0 (osconv.h). */
size_t osc_plan_input_size(const osc_plan *p) {
  if (!p) return 0;
  return (size_t)p->layer.in_channels * p->layer.in_h * p->layer.in_w;
}

size_t osc_plan_output_size(const osc_plan *p) {
  const osc_stage *s;
  if (!p || p->n_stages < 1) return 0;
  s = &p->stage[p->n_stages - 1];
  return (size_t)s->c_out * s->h_out * s->w_out;
}

size_t osc_plan_stage_weights_offset(const osc_plan *p, int stage) {
  size_t off = 0;
  for (int i = 0; p && i < stage && i < p->n_stages; i++)
    off += (size_t)osc_stage_params(&p->stage[i]);
  return off;
}

size_t osc_plan_weights_size(const osc_plan *p) {
  if (!p) return 0;
  return osc_plan_stage_weights_offset(p, p->n_stages) +
         (p->layer.bias ? (size_t)p->layer.out_channels : 0);
}

/* Intermediates ping-pong between two regions: stage i (i < n-1) writes
** region i % 2; the scratch is both regions back to back. */
size_t osc_plan_scratch_size(const osc_plan *p) {
  size_t region[2] = {0, 0};
  for (int i = 0; p && i + 1 < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    size_t sz = (size_t)s->c_out * s->h_out * s->w_out;
    if (sz > region[i % 2]) region[i % 2] = sz;
  }
  return region[0] + region[1];
}

/* ---- describing ------------------------------------------------------------- */

void osc_plan_describe(const osc_plan *p, char *buf, size_t size) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < p->n_stages && n < size; i++) {
    const osc_stage *s = &p->stage[i];
    char width[32] = "";
    if (i + 1 < p->n_stages && s->c_out != p->layer.in_channels)
      snprintf(width, sizeof width, "[%d]", s->c_out);
    n += (size_t)snprintf(buf + n, size - n, "%s%dx%d/g%d%s", i ? " -> " : "",
                          s->k_h, s->k_w, s->groups, width);
  }
}

int osc_plan_code_fields(const osc_plan *p, int32_t *v) {
  /* the fields that change the generated code, not the name or line */
  int n = 0;
  const osc_layer *l = &p->layer;
  int32_t head[] = {l->in_channels, l->out_channels, l->in_h, l->in_w, l->k_h, l->k_w,
                    l->stride_h, l->stride_w, l->pad_h, l->pad_w, l->groups, l->bias,
                    (int32_t)l->act, p->n_stages};
  memcpy(v, head, sizeof head);
  n = (int)(sizeof head / sizeof head[0]);
  if (l->act == OSC_ACT_CLAMP) {   /* the bounds are in the code; other layers hash as before */
    memcpy(&v[n++], &l->clamp_min, sizeof(float));
    memcpy(&v[n++], &l->clamp_max, sizeof(float));
  }
  if (l->residual) v[n++] = 0x52455344;   /* "RESD": another ABI; other layers hash as before */
  if (l->oc_lanes) v[n++] = 0x4f434c4e;   /* "OCLN": other code, maybe packed weights */
  if (l->code[0]) v[n++] = (int32_t)XXH32(l->code, strlen(l->code), 0x434f4445);   /* "CODE" */
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    int32_t st[] = {s->c_in, s->c_out, s->groups, s->k_h, s->k_w, s->stride_h,
                    s->stride_w, s->pad_h, s->pad_w, s->h_in, s->w_in, s->h_out, s->w_out};
    memcpy(v + n, st, sizeof st);
    n += 13;
  }
  return n;
}

uint64_t osc_plan_hash(const osc_plan *p) {
  int32_t v[OSC_PLAN_CODE_FIELDS];
  int n = osc_plan_code_fields(p, v);
  return XXH3_64bits(v, (size_t)n * sizeof v[0]);
}

/*
** oscemit.c -- plans to C: one translation unit per layer, one .c/.h per
** network, all through the templates in templates/.
**
** What the generated code is (the decisions every kernel follows):
** - One stage = one grouped convolution with every size, stride, padding
**   and group count a compile-time constant; NCHW; one image per call of a
**   stage function. <prefix>_n(n, ...) loops over images (input i at
**   in + i*C_in*H*W, likewise the output); <prefix>(...) runs the batch the
**   layer was generated for. The scratch holds one image's intermediates
**   and is reused: stage i < n-1 writes region i%2, region 0 at scratch,
**   region 1 after the largest even intermediate (osc_plan_scratch_size).
** - Weights: stage after stage in PyTorch layout [C_i][C_{i-1}/g_i][kh][kw],
**   then the bias [C_out] (osc_plan_stage_weights_offset).
** - The channel shuffle costs nothing: a stage that is not the last writes
**   output j of group gr to channel j*g + gr (ChannelShuffle(g) of channel
**   gr*m + j), so the next stage reads its groups contiguously. The last
**   stage writes gr*m + j and fuses the bias and the ReLU into its store.
** - Padding is never materialised: each stage's output splits into the
**   interior (every tap inside the input: unrolled, no checks) and the
**   border (a compact bounds-checked path); no read is ever out of bounds.
** - Generated code includes nothing and needs nothing (not even libm), and
**   compiles warning-free with gcc -std=c99 -Wall -Wextra -pedantic and with
**   tcc. The same plan and options always give the same bytes.
**
** Unroll policy (knobs in osc_emit_knobs; defaults in resolve_knobs below):
** - max_expr_terms (64): products per C statement. A sum is one flat,
**   left-associative expression per output (`acc = (w[0]*x[0] + ... +
**   w[3]*x[3]) + (...) + ...;`, in groups of four that break the serial
**   add chain), continued with `acc += ...;` past the cap. tcc keeps a
**   statement's accumulator on the stack, so one statement per product is
**   ~5x slower under tcc; the cap keeps the expression tree shallow.
** - max_body_terms (512): products in one unrolled loop body. A body is a
**   block of up to max_oc_block (4) output channels x max_px_block (4)
**   output pixels. Taps and fan-in channels are unrolled completely while
**   they fit; beyond that the fan-in is walked in chunks by a loop around
**   an unrolled chunk body (a conventional 3x3 over 512 channels). Groups,
**   channel blocks, rows and pixel tiles stay loops, so the code of a stage
**   is bounded by a few bodies whatever the image size.
** - max_border_terms (2048): border rows and columns get unrolled bodies
**   too, with their taps clipped at generation time (largest first, within
**   this many products); the rest of the border (corners, and what does
**   not fit) goes through one checked function per pixel.
** - full_unroll_terms (1024): a stage whose whole work is at most this many
**   products is unrolled completely, without loops or checks.
** Each stage is a separate function (the border another one), so gcc -O3
** never sees one giant function.
**
** Kernels are strategies (osckernel.h): every registered kernel that applies
** to a stage estimates its cost and the cheapest emits it. Faster shapes
** (SIMD microkernels, fused stages, tiling, threads) are new entries in
** osc_stage_kernels with their own template.
*/
#include "oscemit.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscerr.h"
#include "osckernel.h"
#include "oscplan.h"
#include "osctmpl.h"

/* Cheapest first when costs tie: the order below decides. */
const osc_stage_kernel *const osc_stage_kernels[] = {&osc_kernel_unrolled, &osc_kernel_direct,
                                                     NULL};

#define PREFIX_MAX 200     /* longest symbol prefix accepted */
#define INFO_LINES (OSC_MAX_STAGES + 12)
#define INFO_WIDTH 200

/* ---- helpers shared by the kernels ------------------------------------------ */

void osc_kernel_interior(int in, int k, int stride, int pad, int out, int *lo, int *hi) {
  /* first output whose window starts at or after 0; last whose window ends
  ** before `in` (oh*stride - pad + k - 1 <= in - 1) */
  int span = in - k + pad;
  *lo = (pad + stride - 1) / stride;
  *hi = span < 0 ? 0 : span / stride + 1;
  if (*hi > out) *hi = out;
  if (*lo > *hi) *lo = *hi;
}

/* Output positions times taps that land inside the input, one dimension. */
static int64_t valid_pairs(int in, int k, int stride, int pad, int out) {
  int64_t n = 0;
  for (int o = 0; o < out; o++) {
    int start = o * stride - pad, lo = start < 0 ? 0 : start;
    int hi = start + k > in ? in : start + k;
    if (hi > lo) n += hi - lo;
  }
  return n;
}

int64_t osc_kernel_valid_macs(const osc_stage *s) {
  return (int64_t)s->c_out * (s->c_in / s->groups) *
         valid_pairs(s->h_in, s->k_h, s->stride_h, s->pad_h, s->h_out) *
         valid_pairs(s->w_in, s->k_w, s->stride_w, s->pad_w, s->w_out);
}

void osc_kernel_stage_params(const osc_stage_job *j, osc_tmpl_params *ps) {
  const osc_stage *s = j->s;
  osc_tmpl_str(ps, "fname", j->fname);
  osc_tmpl_int(ps, "index", j->index);
  osc_tmpl_int(ps, "n_stages", j->plan->n_stages);
  osc_tmpl_int(ps, "c_in", s->c_in);
  osc_tmpl_int(ps, "c_out", s->c_out);
  osc_tmpl_int(ps, "groups", s->groups);
  osc_tmpl_int(ps, "n", s->c_in / s->groups);
  osc_tmpl_int(ps, "m", s->c_out / s->groups);
  osc_tmpl_int(ps, "kh", s->k_h);
  osc_tmpl_int(ps, "kw", s->k_w);
  osc_tmpl_int(ps, "sh", s->stride_h);
  osc_tmpl_int(ps, "sw", s->stride_w);
  osc_tmpl_int(ps, "ph", s->pad_h);
  osc_tmpl_int(ps, "pw", s->pad_w);
  osc_tmpl_int(ps, "h_in", s->h_in);
  osc_tmpl_int(ps, "w_in", s->w_in);
  osc_tmpl_int(ps, "h_out", s->h_out);
  osc_tmpl_int(ps, "w_out", s->w_out);
  osc_tmpl_int(ps, "last", j->last);
  osc_tmpl_int(ps, "bias", j->bias);
  osc_tmpl_int(ps, "relu", j->relu);
  osc_tmpl_int(ps, "max_expr_terms", j->knobs->max_expr_terms);
}

/* ---- checking what we are asked to emit ---------------------------------------- */

static int is_identifier(const char *s) {
  size_t n = 0;
  if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return 0;
  for (; s[n]; n++)
    if (!(isalnum((unsigned char)s[n]) || s[n] == '_')) return 0;
  return n <= PREFIX_MAX;
}

static osc_status resolve_knobs(const osc_emit_knobs *k, osc_emit_knobs *r, osc_error *err) {
  osc_emit_knobs d = {64, 512, 1024, 4, 4, NULL, 2048};
  *r = d;
  if (!k) return OSC_OK;
  if (k->max_expr_terms > 0) r->max_expr_terms = k->max_expr_terms;
  if (k->max_body_terms > 0) r->max_body_terms = k->max_body_terms;
  if (k->full_unroll_terms) r->full_unroll_terms = k->full_unroll_terms;
  if (k->max_oc_block > 0) r->max_oc_block = k->max_oc_block;
  if (k->max_px_block > 0) r->max_px_block = k->max_px_block;
  r->kernel = k->kernel;
  if (k->max_border_terms) r->max_border_terms = k->max_border_terms;
  /* a deeper expression tree than this overflows tcc's value stack */
  if (r->max_expr_terms > 128)
    return osc_error_set(err, OSC_EINVAL, "max_expr_terms %d is above 128", r->max_expr_terms);
  if (r->max_oc_block > 64 || r->max_px_block > 64)
    return osc_error_set(err, OSC_EINVAL, "output blocks above 64 are not supported");
  if (r->kernel) {
    int known = 0;
    for (int i = 0; osc_stage_kernels[i]; i++) known |= !strcmp(r->kernel, osc_stage_kernels[i]->name);
    if (!known) return osc_error_set(err, OSC_EINVAL, "no stage kernel named '%s'", r->kernel);
  }
  return OSC_OK;
}

/* The generated code indexes with int: every tensor must fit. */
static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

static osc_status check_plan(const osc_plan *p, osc_error *err) {
  const osc_layer *l = &p->layer;
  int64_t weights = 0;
  if (p->n_stages < 1 || p->n_stages > OSC_MAX_STAGES)
    return osc_error_layer(err, OSC_EINVAL, l, "plan has %d stages", p->n_stages);
  if (l->bias != 0 && l->bias != 1)
    return osc_error_layer(err, OSC_EINVAL, l, "bias must be 0 or 1");
  if (l->act != OSC_ACT_NONE && l->act != OSC_ACT_RELU)
    return osc_error_layer(err, OSC_EINVAL, l, "unknown activation %d", (int)l->act);
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

/* ---- the header comment ---------------------------------------------------------- */

/* Text that cannot break out of a C comment or carry control characters. */
static void comment_safe(char *dst, size_t size, const char *src) {
  size_t n = 0;
  for (; *src && n + 1 < size; src++) {
    unsigned char c = (unsigned char)*src;
    if (c < 32 || c >= 127 || (c == '/' && n > 0 && dst[n - 1] == '*')) c = '?';
    dst[n++] = (char)c;
  }
  dst[n] = '\0';
}

typedef struct info_lines {
  int n;
  char line[INFO_LINES][INFO_WIDTH];
  const char *ptr[INFO_LINES];
} info_lines;

static void info_add(info_lines *in, const char *fmt, ...) OSC_PRINTF(2, 3);
static void info_add(info_lines *in, const char *fmt, ...) {
  va_list ap;
  if (in->n == INFO_LINES) return;
  va_start(ap, fmt);
  vsnprintf(in->line[in->n], INFO_WIDTH, fmt, ap);
  va_end(ap);
  in->ptr[in->n] = in->line[in->n];
  in->n++;
}

static void describe_layer(const osc_plan *p, char *buf, size_t size) {
  const osc_layer *l = &p->layer;
  char name[OSC_NAME_MAX];
  comment_safe(name, sizeof name, l->name[0] ? l->name : "?");
  snprintf(buf, size, "layer '%s': %d -> %d channels, %dx%d -> %dx%d, kernel %dx%d, stride %dx%d, "
           "pad %dx%d%s%s%s", name, l->in_channels, l->out_channels, l->in_h, l->in_w,
           osc_layer_out_h(l), osc_layer_out_w(l), l->k_h, l->k_w, l->stride_h, l->stride_w,
           l->pad_h, l->pad_w, l->groups > 1 ? ", grouped" : "", l->bias ? ", bias" : "",
           l->act == OSC_ACT_RELU ? ", relu" : "");
}

static void layer_info(const osc_plan *p, const osc_stage_kernel *const *kern, info_lines *in) {
  char desc[INFO_WIDTH], chain[INFO_WIDTH];
  const osc_layer *l = &p->layer;
  describe_layer(p, desc, sizeof desc);
  osc_plan_describe(p, chain, sizeof chain);
  in->n = 0;
  info_add(in, "%s", desc);
  if (l->groups > 1) info_add(in, "  (the layer has %d groups)", l->groups);
  info_add(in, "mode %s: %s", osc_mode_name(p->mode), chain);
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    info_add(in, "  stage %d: %d -> %d channels, groups %d, kernel %dx%d, stride %dx%d, pad %dx%d, "
             "%dx%d -> %dx%d (%s)", i + 1, s->c_in, s->c_out, s->groups, s->k_h, s->k_w,
             s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->h_in, s->w_in, s->h_out, s->w_out,
             kern[i]->name);
  }
  info_add(in, "per image: %lld MACs (1 MAC = 2 FLOPs); %lld params%s", (long long)p->macs,
           (long long)p->params, l->bias ? " (with the bias)" : "");
  info_add(in, "floats per image: input %zu, output %zu, scratch %zu; weights %zu",
           osc_plan_input_size(p), osc_plan_output_size(p), osc_plan_scratch_size(p),
           osc_plan_weights_size(p));
  info_add(in, "plan hash: 0x%016llx", (unsigned long long)osc_plan_hash(p));
}

/* ---- one layer ----------------------------------------------------------------------- */

static const osc_stage_kernel *choose_kernel(const osc_stage_job *j) {
  const osc_stage_kernel *best = NULL;
  double best_cost = 0;
  for (int i = 0; osc_stage_kernels[i]; i++) {
    const osc_stage_kernel *k = osc_stage_kernels[i];
    double c;
    if (k->inapplicable(j)) continue;
    if (j->knobs->kernel && !strcmp(j->knobs->kernel, k->name)) return k;
    c = k->cost(j);
    if (!best || c < best_cost) { best = k; best_cost = c; }
  }
  return best;
}

/* "a.c.in, b.c.in": the distinct template names, in first-use order. */
static void template_list(char *buf, size_t size, const char *const *names, int n) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    int seen = 0;
    for (int k = 0; k < i; k++) seen |= !strcmp(names[k], names[i]);
    if (seen || len >= size) continue;
    len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", names[i]);
  }
}

/* Stage i's input and output buffers: -1 the layer input, -2 its output,
** 0 / 1 the scratch regions. */
static void stage_buffers(const osc_plan *p, long long *src, long long *dst, long long *region1) {
  size_t r0 = 0;
  for (int i = 0; i < p->n_stages; i++) {
    src[i] = i == 0 ? -1 : (i - 1) % 2;
    dst[i] = i == p->n_stages - 1 ? -2 : i % 2;
    if (i + 1 < p->n_stages && i % 2 == 0) {
      const osc_stage *s = &p->stage[i];
      size_t sz = (size_t)s->c_out * s->h_out * s->w_out;
      if (sz > r0) r0 = sz;
    }
  }
  *region1 = (long long)r0;
}

typedef struct layer_emit {
  char fname[OSC_MAX_STAGES][PREFIX_MAX + 16];
  const char *fptr[OSC_MAX_STAGES];
  const osc_stage_kernel *kern[OSC_MAX_STAGES];
  const char *tnames[OSC_MAX_STAGES + 1];
  char templates[512];
  long long src[OSC_MAX_STAGES], dst[OSC_MAX_STAGES], woff[OSC_MAX_STAGES], region1;
  info_lines info;
} layer_emit;

static osc_status emit_stages(const osc_plan *p, const char *prefix, const osc_emit_knobs *kn,
                              layer_emit *e, osc_buf *body, osc_error *err) {
  const osc_layer *l = &p->layer;
  for (int i = 0; i < p->n_stages; i++) {
    osc_stage_job j;
    osc_status st;
    snprintf(e->fname[i], sizeof e->fname[i], "%s_s%d", prefix, i);
    e->fptr[i] = e->fname[i];
    j.plan = p;
    j.index = i;
    j.s = &p->stage[i];
    j.last = i == p->n_stages - 1;
    j.bias = j.last && l->bias;
    j.relu = j.last && l->act == OSC_ACT_RELU;
    j.fname = e->fname[i];
    j.knobs = kn;
    if (!(e->kern[i] = choose_kernel(&j)))
      return osc_error_layer(err, OSC_EINTERNAL, l, "no stage kernel applies to stage %d", i + 1);
    e->tnames[i + 1] = e->kern[i]->template_name;
    if (i) osc_buf_puts(body, "\n");
    if ((st = e->kern[i]->emit(&j, body, err))) return st;
    e->woff[i] = (long long)osc_plan_stage_weights_offset(p, i);
  }
  return OSC_OK;
}

/* The layer's translation unit; *used gets bit i set for every kernel
** osc_stage_kernels[i] it took (may be NULL). */
static osc_status emit_layer(const osc_plan *p, const osc_emit_options *o,
                             const osc_emit_knobs *k, osc_buf *out, unsigned *used,
                             osc_error *err) {
  osc_emit_knobs kn;
  osc_tmpl_params ps;
  osc_buf body;
  layer_emit *e;
  osc_status st;
  int batch;
  if (!p || !o || !out) return osc_error_set(err, OSC_EINVAL, "osc_emit_layer: NULL argument");
  if (!is_identifier(o->prefix))
    return osc_error_set(err, OSC_EINVAL, "symbol prefix '%s' is not a C identifier of at most "
                         "%d characters", o->prefix ? o->prefix : "(null)", PREFIX_MAX);
  if (o->batch < 0)
    return osc_error_set(err, OSC_EINVAL, "batch must be 0 or more, got %d", o->batch);
  batch = o->batch ? o->batch : 1;
  if ((st = resolve_knobs(k, &kn, err)) || (st = check_plan(p, err))) return st;
  if (!(e = calloc(1, sizeof *e)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory emitting a layer");
  osc_buf_init(&body);
  e->tnames[0] = "layer.c.in";
  if ((st = emit_stages(p, o->prefix, &kn, e, &body, err))) goto done;
  template_list(e->templates, sizeof e->templates, e->tnames, p->n_stages + 1);
  for (int i = 0; used && i < p->n_stages; i++)
    for (int q = 0; osc_stage_kernels[q]; q++)
      if (osc_stage_kernels[q] == e->kern[i]) *used |= 1u << q;
  stage_buffers(p, e->src, e->dst, &e->region1);
  layer_info(p, e->kern, &e->info);
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "version", OSC_VERSION);
  osc_tmpl_str(&ps, "templates", e->templates);
  osc_tmpl_strs(&ps, "info", e->info.ptr, e->info.n);
  osc_tmpl_str(&ps, "prefix", o->prefix);
  osc_tmpl_int(&ps, "batch", batch);
  osc_tmpl_int(&ps, "n_stages", p->n_stages);
  osc_tmpl_strs(&ps, "fnames", e->fptr, p->n_stages);
  osc_tmpl_ints(&ps, "src", e->src, p->n_stages);
  osc_tmpl_ints(&ps, "dst", e->dst, p->n_stages);
  osc_tmpl_ints(&ps, "woff", e->woff, p->n_stages);
  osc_tmpl_int(&ps, "region1", e->region1);
  osc_tmpl_int(&ps, "bias_off",
               p->layer.bias ? (long long)osc_plan_stage_weights_offset(p, p->n_stages) : -1);
  osc_tmpl_int(&ps, "in_size", (long long)osc_plan_input_size(p));
  osc_tmpl_int(&ps, "out_size", (long long)osc_plan_output_size(p));
  osc_tmpl_int(&ps, "scratch_size", (long long)osc_plan_scratch_size(p));
  osc_tmpl_str(&ps, "body", body.data ? body.data : "");
  if (osc_buf_failed(&body))
    st = osc_error_set(err, OSC_ENOMEM, "out of memory emitting a layer");
  else
    st = osc_tmpl_expand("layer.c.in", &ps, out, err);
done:
  osc_buf_free(&body);
  free(e);
  return st;
}

/* On failure the buffer goes back to what it held: no partial output. */
static osc_status restore(osc_buf *b, size_t len, osc_status st) {
  if (st && b && b->data && b->len > len) {
    b->len = len;
    b->data[len] = '\0';
  }
  return st;
}

osc_status osc_emit_layer_knobs(const osc_plan *p, const osc_emit_options *o,
                                const osc_emit_knobs *k, osc_buf *out, osc_error *err) {
  size_t len = out ? out->len : 0;
  return restore(out, len, emit_layer(p, o, k, out, NULL, err));
}

osc_status osc_emit_layer(const osc_plan *p, const osc_emit_options *o, osc_buf *out,
                          osc_error *err) {
  return osc_emit_layer_knobs(p, o, NULL, out, err);
}

/* ---- a network ---------------------------------------------------------------------- */

typedef struct net_layer {
  char prefix[2 * OSC_NAME_MAX + 2];
  char macro[2 * OSC_NAME_MAX + 2];
  char info[2 * INFO_WIDTH + 32];
} net_layer;

typedef struct net_emit {
  int n;
  net_layer *layer;
  const char **prefixes, **macros, **infos, **names;
  long long *in_sizes, *out_sizes, *w_sizes, *s_sizes;
} net_emit;

static void net_emit_free(net_emit *e) {
  free(e->layer);
  free(e->prefixes);
  free(e->macros);
  free(e->infos);
  free(e->names);
  free(e->in_sizes);
  free(e->out_sizes);
  free(e->w_sizes);
  free(e->s_sizes);
}

static int net_emit_alloc(net_emit *e, int n) {
  size_t k = n > 0 ? (size_t)n : 1;
  memset(e, 0, sizeof *e);
  e->n = n;
  e->layer = calloc(k, sizeof *e->layer);
  e->prefixes = calloc(k, sizeof(char *));
  e->macros = calloc(k, sizeof(char *));
  e->infos = calloc(k, sizeof(char *));
  e->names = calloc(k, sizeof(char *));
  e->in_sizes = calloc(k, sizeof(long long));
  e->out_sizes = calloc(k, sizeof(long long));
  e->w_sizes = calloc(k, sizeof(long long));
  e->s_sizes = calloc(k, sizeof(long long));
  return e->layer && e->prefixes && e->macros && e->infos && e->names && e->in_sizes &&
         e->out_sizes && e->w_sizes && e->s_sizes;
}

static void upper(char *dst, const char *src) {
  for (; *src; src++) *dst++ = (char)toupper((unsigned char)*src);
  *dst = '\0';
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The layer whose generated symbols include `name`: `name` is some
** layer's name + "_n" (its n-image entry) or + "_s<digit>..." (its stage
** functions). NULL if none. sorted: the layer names, sorted. */
static const char *owner_of(const char *name, const char **sorted, int n, char *buf,
                            size_t size) {
  size_t len = strlen(name);
  for (size_t i = 1; i + 1 < len; i++) {
    const char **hit;
    const char *base = buf;
    if (name[i] != '_' || !((name[i + 1] == 'n' && i + 2 == len) ||
                            (name[i + 1] == 's' && i + 2 < len && isdigit((unsigned char)name[i + 2]))))
      continue;
    if (i >= size) continue;
    memcpy(buf, name, i);
    buf[i] = '\0';
    if ((hit = bsearch(&base, sorted, (size_t)n, sizeof *sorted, cmp_str))) return *hit;
  }
  return NULL;
}

/* Names: prefixes "<net>_<layer>", macros the same in upper case; both must
** be C identifiers, and no layer's symbols may be another's (layers "a" and
** "A" share macros; "a_n" is the n-image entry of "a", "a_s0" its stage). */
static osc_status net_names(const osc_network *net, net_emit *e, osc_error *err) {
  const char **sorted;
  osc_status st = OSC_OK;
  char buf[OSC_NAME_MAX];
  if (!is_identifier(net->name))
    return osc_error_set(err, OSC_EINVAL, "network name '%s' is not a C identifier", net->name);
  for (int i = 0; i < net->n_layers; i++) {
    const osc_layer *l = &net->layers[i];
    net_layer *nl = &e->layer[i];
    if (!is_identifier(l->name))
      return osc_error_layer(err, OSC_EINVAL, l,
                             "the name must be a C identifier: it names the generated function");
    snprintf(nl->prefix, sizeof nl->prefix, "%s_%s", net->name, l->name);
    upper(nl->macro, nl->prefix);
    e->prefixes[i] = nl->prefix;
    e->macros[i] = nl->macro;
    e->infos[i] = nl->info;
    e->names[i] = l->name;
  }
  if (!(sorted = malloc((net->n_layers > 0 ? (size_t)net->n_layers : 1) * sizeof *sorted)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory checking names");
  memcpy(sorted, e->macros, (size_t)net->n_layers * sizeof *sorted);
  qsort(sorted, (size_t)net->n_layers, sizeof *sorted, cmp_str);
  for (int i = 0; i + 1 < net->n_layers && !st; i++)
    if (!strcmp(sorted[i], sorted[i + 1]))
      st = osc_error_set(err, OSC_EINVAL, "network '%s': two layers generate the names %s_*; "
                         "layer names must differ in more than case", net->name, sorted[i]);
  memcpy(sorted, e->names, (size_t)net->n_layers * sizeof *sorted);
  qsort(sorted, (size_t)net->n_layers, sizeof *sorted, cmp_str);
  for (int i = 0; i < net->n_layers && !st; i++) {
    const char *owner = owner_of(e->names[i], sorted, net->n_layers, buf, sizeof buf);
    if (owner)
      st = osc_error_layer(err, OSC_EINVAL, &net->layers[i],
                           "its function %s_%s is already a function of layer '%s'; rename it",
                           net->name, e->names[i], owner);
  }
  free(sorted);
  return st;
}

/* All layers' translation units into body; the templates used into tlist. */
static osc_status net_layers(const osc_network *net, const osc_plan *plans, net_emit *e,
                             osc_buf *body, char *tlist, size_t tsize, osc_error *err) {
  const char *names[2 + 32];
  unsigned used = 0;
  int n_names = 0;
  names[n_names++] = "network.c.in";
  names[n_names++] = "layer.c.in";
  for (int i = 0; i < net->n_layers; i++) {
    const osc_plan *p = &plans[i];
    osc_emit_options o = {e->prefixes[i], net->batch};
    osc_status st;
    if (i) osc_buf_puts(body, "\n");
    if ((st = emit_layer(p, &o, NULL, body, &used, err))) return st;
    {
      char desc[INFO_WIDTH], chain[INFO_WIDTH];
      describe_layer(p, desc, sizeof desc);
      osc_plan_describe(p, chain, sizeof chain);
      snprintf(e->layer[i].info, sizeof e->layer[i].info, "%s; %s: %s", desc,
               osc_mode_name(p->mode), chain);
    }
    e->in_sizes[i] = (long long)osc_plan_input_size(p);
    e->out_sizes[i] = (long long)osc_plan_output_size(p);
    e->w_sizes[i] = (long long)osc_plan_weights_size(p);
    e->s_sizes[i] = (long long)osc_plan_scratch_size(p);
  }
  for (int i = 0; osc_stage_kernels[i] && i < 32; i++)
    if (used & (1u << i)) names[n_names++] = osc_stage_kernels[i]->template_name;
  template_list(tlist, tsize, names, n_names);
  return OSC_OK;
}

osc_status osc_emit_network(const osc_network *net, const osc_plan *plans,
                            osc_buf *c_file, osc_buf *h_file, osc_error *err) {
  net_emit e;
  osc_buf body;
  osc_tmpl_params ps;
  char tlist[512], guard[OSC_NAME_MAX + 16], upname[OSC_NAME_MAX];
  size_t c_len, h_len;
  osc_status st;
  if (!net || (!plans && net->n_layers) || !c_file || !h_file)
    return osc_error_set(err, OSC_EINVAL, "osc_emit_network: NULL argument");
  c_len = c_file->len;
  h_len = h_file->len;
  if (!net_emit_alloc(&e, net->n_layers)) {
    net_emit_free(&e);
    return osc_error_set(err, OSC_ENOMEM, "out of memory emitting network '%s'", net->name);
  }
  osc_buf_init(&body);
  if ((st = net_names(net, &e, err))) goto done;
  if ((st = net_layers(net, plans, &e, &body, tlist, sizeof tlist, err))) goto done;
  if (body.len && body.data[body.len - 1] == '\n') body.data[--body.len] = '\0';
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "version", OSC_VERSION);
  osc_tmpl_str(&ps, "templates", tlist);
  osc_tmpl_str(&ps, "name", net->name);
  osc_tmpl_int(&ps, "batch", net->batch > 0 ? net->batch : 1);
  osc_tmpl_strs(&ps, "layers", e.names, net->n_layers);
  osc_tmpl_str(&ps, "body", body.data ? body.data : "");
  if ((st = osc_tmpl_expand("network.c.in", &ps, c_file, err))) goto done;
  upper(upname, net->name);
  snprintf(guard, sizeof guard, "OSCONV_%s_H", upname);
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "version", OSC_VERSION);
  osc_tmpl_str(&ps, "templates", "network_header.c.in");
  osc_tmpl_str(&ps, "name", net->name);
  osc_tmpl_str(&ps, "guard", guard);
  osc_tmpl_int(&ps, "batch", net->batch > 0 ? net->batch : 1);
  osc_tmpl_strs(&ps, "prefixes", e.prefixes, net->n_layers);
  osc_tmpl_strs(&ps, "macros", e.macros, net->n_layers);
  osc_tmpl_strs(&ps, "infos", e.infos, net->n_layers);
  osc_tmpl_ints(&ps, "in_sizes", e.in_sizes, net->n_layers);
  osc_tmpl_ints(&ps, "out_sizes", e.out_sizes, net->n_layers);
  osc_tmpl_ints(&ps, "w_sizes", e.w_sizes, net->n_layers);
  osc_tmpl_ints(&ps, "s_sizes", e.s_sizes, net->n_layers);
  st = osc_tmpl_expand("network_header.c.in", &ps, h_file, err);
done:
  osc_buf_free(&body);
  net_emit_free(&e);
  restore(h_file, h_len, st);
  return restore(c_file, c_len, st);
}

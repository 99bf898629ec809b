/*
** oscemit.c -- plans to C: one translation unit per layer, one .c/.h per
** network, all through the templates in templates/.
**
** What the generated code is (the decisions every kernel follows):
** - One stage = one grouped convolution with every size, stride, padding
**   and group count a compile-time constant; NCHW; one image per call of a
**   stage function. <prefix>_n(n, ...) loops over images (input i at
**   in + i*C_in*H*W, likewise the output); <prefix>(...) runs the batch the
**   layer was generated for. <prefix>_tiles(s) and <prefix>_run_tiles(s,
**   first, count, ...) are the tile ABI (README "Tiles"): each stage
**   function runs a range [t0, t1) of its kernel's tiles (blocks of output
**   channels that partition its output), so threads can share a stage and
**   get one thread's bits. The scratch holds one image's intermediates
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

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscerr.h"
#include "oscfuse.h"
#include "oscvariant.h"
#include "oscregfuse.h"
#include "osckernel.h"
#include "oscplan.h"
#include "osctmpl.h"
#include "oscsimd.h"
#include "oscoc.h"

/* Cheapest first when costs tie: the order below decides. */
const osc_stage_kernel *const osc_stage_kernels[] = {&osc_kernel_avx512_pw, &osc_kernel_avx512_px,
                                                     &osc_kernel_avx2_pw, &osc_kernel_avx2_px,
                                                     &osc_kernel_unrolled, &osc_kernel_pointwise,
                                                     &osc_kernel_depthwise, &osc_kernel_direct,
                                                     &osc_kernel_avx512_oc,
                                                     &osc_kernel_avx512_oc_auto,
                                                     &osc_kernel_avx2_oc,
                                                     &osc_kernel_avx2_oc_auto, NULL};

/* The kernels, without the NULL; a network's head records them as bits. */
#define N_KERNELS (int)(sizeof osc_stage_kernels / sizeof osc_stage_kernels[0] - 1)
_Static_assert(sizeof osc_stage_kernels / sizeof osc_stage_kernels[0] - 1 <= 32,
               "kernels are bits of an unsigned");

#define PREFIX_MAX OSC_EMIT_PREFIX_MAX   /* longest symbol prefix accepted */
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

int osc_kernel_largest_divisor(int n, int cap) {
  for (int d = cap < n ? cap : n; d > 1; d--)
    if (n % d == 0) return d;
  return 1;
}

void osc_kernel_region_params(osc_tmpl_params *ps, int oh_lo, int oh_hi, int ow_lo, int ow_hi,
                              int flat) {
  osc_tmpl_int(ps, "oh_lo", oh_lo);
  osc_tmpl_int(ps, "oh_hi", oh_hi);
  osc_tmpl_int(ps, "ow_lo", ow_lo);
  osc_tmpl_int(ps, "ow_hi", ow_hi);
  osc_tmpl_int(ps, "flat", flat);
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
  osc_tmpl_int(ps, "residual", j->residual);
  osc_tmpl_str(ps, "act_lo", j->act_lo);
  osc_tmpl_str(ps, "act_hi", j->clamped ? j->act_hi : "");
  osc_tmpl_int(ps, "max_expr_terms", j->knobs->max_expr_terms);
}

/* ---- knobs ------------------------------------------------------------------------ */

static osc_status resolve_knobs(const osc_emit_knobs *k, osc_emit_knobs *r, osc_error *err) {
  osc_emit_knobs d = {64, 512, 1024, 4, 4, NULL, 2048, 0, 0, 0, NULL, 0};
  *r = d;
  if (!k) return OSC_OK;
  if (k->max_expr_terms > 0) r->max_expr_terms = k->max_expr_terms;
  if (k->max_body_terms > 0) r->max_body_terms = k->max_body_terms;
  if (k->full_unroll_terms) r->full_unroll_terms = k->full_unroll_terms;
  if (k->max_oc_block > 0) r->max_oc_block = k->max_oc_block;
  if (k->max_px_block > 0) r->max_px_block = k->max_px_block;
  r->kernel = k->kernel;
  if (k->max_border_terms) r->max_border_terms = k->max_border_terms;
  r->simd_oct = k->simd_oct;   /* 0 stays 0: the ISA's choice */
  r->simd_pv = k->simd_pv;
  r->simd_body = k->simd_body;
  r->simd_shape = k->simd_shape;
  r->simd_split = k->simd_split;
  if (r->simd_oct < 0 || r->simd_oct > OSC_VARIANT_MAX_TILE || r->simd_pv < 0 ||
      r->simd_pv > OSC_VARIANT_MAX_TILE ||
      (r->simd_body && (r->simd_body < OSC_VARIANT_MIN_BODY || r->simd_body > OSC_VARIANT_MAX_BODY)))
    return osc_error_set(err, OSC_EINVAL, "SIMD tile %dx%d or body %d out of range",
                         r->simd_oct, r->simd_pv, r->simd_body);
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

/* k resolved, with the layer's own code variant (a config's `code`) where
** the knobs name none. */
static osc_status layer_knobs(const osc_plan *p, const osc_emit_knobs *k, osc_emit_knobs *r,
                              osc_error *err) {
  osc_status st = resolve_knobs(k, r, err);
  if (!st && !r->simd_oct && !r->simd_pv && !r->simd_body && !r->simd_shape && p->layer.code[0])
    st = osc_variant_parse(p->layer.code, r, NULL, err);
  /* a layer with oc_lanes lets the cost model take avx512_oc / avx2_oc (unless the
  ** knobs name a kernel) */
  if (!st && p->layer.oc_lanes && !r->kernel) r->kernel = osc_kernel_avx512_oc_auto.name;
  return st;
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
  char name[OSC_NAME_MAX], act[64];
  comment_safe(name, sizeof name, l->name[0] ? l->name : "?");
  snprintf(buf, size, "layer '%s': %d -> %d channels, %dx%d -> %dx%d, kernel %dx%d, stride %dx%d, "
           "pad %dx%d%s%s%s%s%s", name, l->in_channels, l->out_channels, l->in_h, l->in_w,
           osc_layer_out_h(l), osc_layer_out_w(l), l->k_h, l->k_w, l->stride_h, l->stride_w,
           l->pad_h, l->pad_w, l->groups > 1 ? ", grouped" : "", l->bias ? ", bias" : "",
           l->residual ? ", residual" : "", l->act ? ", " : "", osc_act_describe(l, act, sizeof act));
}

static void layer_info(const osc_plan *p, const char (*kern)[64], info_lines *in) {
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
             kern[i]);
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
  osc_isa cap = osc_simd_cap(j);
  for (int i = 0; osc_stage_kernels[i]; i++) {
    const osc_stage_kernel *k = osc_stage_kernels[i];
    double c;
    if (k->isa > cap || k->inapplicable(j)) continue;
    if (j->knobs->kernel && !strcmp(j->knobs->kernel, k->name)) return k;
    c = k->cost(j);
    if (!best || c < best_cost) { best = k; best_cost = c; }
  }
  return best;
}

/* The kernel a stage alone would get for `isa` (a concrete one, not
** OSC_ISA_AUTO) with the default knobs, and its cost estimate: what the
** time model (osctime.c) needs to know about the emitter, and no more. */
int osc_emit_stage_kernel(const osc_stage *s, int last, int clamped, int isa, double *cost) {
  osc_emit_knobs kn;
  osc_stage_job j;
  const osc_stage_kernel *k;
  resolve_knobs(NULL, &kn, NULL);
  memset(&j, 0, sizeof j);
  j.s = s;
  j.last = last;
  j.clamped = last && clamped;
  j.relu = j.clamped;
  j.isa = (osc_isa)isa;
  j.knobs = &kn;
  if (!(k = choose_kernel(&j))) return -1;
  if (cost) *cost = k->cost(&j);
  for (int i = 0; osc_stage_kernels[i]; i++)
    if (osc_stage_kernels[i] == k) return i;
  return -1;
}

/* What a stage is emitted as, best first: one kernel, or with OSC_ISA_AUTO
** and a SIMD kernel, the best kernel of each ISA below it too, down to the
** portable one (the dispatcher's choices). Returns how many (0: none). */
#define MAX_VARIANTS 3
static int stage_variants(const osc_stage_job *j, const osc_stage_kernel **v) {
  const osc_stage_kernel *k = choose_kernel(j);
  int n = 0;
  if (!k) return 0;
  v[n++] = k;
  if (j->isa != OSC_ISA_AUTO) return n;
  for (int cap = (int)k->isa - 1; cap >= OSC_ISA_C && n < MAX_VARIANTS; cap--) {
    osc_stage_job c = *j;
    const osc_stage_kernel *b;
    c.isa = (osc_isa)cap;
    if ((b = choose_kernel(&c)) && (int)b->isa == cap) v[n++] = b;
  }
  return n;
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
  char tiles[OSC_MAX_STAGES][PREFIX_MAX + 32];   /* "16", or "<fname>_tiles()" when dispatched */
  const char *tptr[OSC_MAX_STAGES];
  char kern[OSC_MAX_STAGES][64];   /* "avx512_px, else direct" */
  const char *tnames[OSC_MAX_STAGES * MAX_VARIANTS + 1];
  int n_tnames;
  int detector;                     /* the layer's cpuid check is emitted */
  int no_listing;                   /* osc_emit_layer_unlisted */
  int packed[OSC_MAX_STAGES];       /* the stage reads packed weights: 1 always, 2 when
                                    ** its dispatcher picks an oc variant: where packif */
  char packif[OSC_MAX_STAGES][96];  /* "isa >= 3 || (isa >= 2 && isa < 3)" */
  char templates[512];
  long long src[OSC_MAX_STAGES], dst[OSC_MAX_STAGES], woff[OSC_MAX_STAGES], region1;
  /* fused runs (gen/x86/oscfuse.h): fuse[i] = 1 + the run's last stage on its
  ** first, -1 on its others, 0 unfused; fuse_off[i]: its block buffers */
  long long fuse[OSC_MAX_STAGES], fuse_off[OSC_MAX_STAGES];
  info_lines info;
} layer_emit;

/* Stage i of p as a job for the kernels. */
/* A float as a C literal that reads back exactly: "0.0f" for zero (so a
** ReLU's code is what it always was), else %.9g with a point or exponent. */
static void c_float(float v, char *buf, size_t size) {
  if (v == 0.0f) { snprintf(buf, size, "0.0f"); return; }
  snprintf(buf, size, "%.9g", (double)v);
  if (!strpbrk(buf, ".eE")) strncat(buf, ".0", size - strlen(buf) - 1);
  strncat(buf, "f", size - strlen(buf) - 1);
}

static void stage_job(const osc_plan *p, int i, const osc_emit_knobs *kn, const char *prefix,
                      int isa, const char *fname, osc_stage_job *j) {
  memset(j, 0, sizeof *j);
  j->prefix = prefix;
  j->isa = (osc_isa)isa;
  j->plan = p;
  j->index = i;
  j->s = &p->stage[i];
  j->last = i == p->n_stages - 1;
  j->bias = j->last && p->layer.bias;
  j->residual = j->last && p->layer.residual;
  {
    float lo = 0.0f, hi = 0.0f;
    int kind = osc_layer_act_bounds(&p->layer, &lo, &hi);
    j->relu = j->last && kind >= 0;
    j->clamped = j->last && kind == 2;
    c_float(lo, j->act_lo, sizeof j->act_lo);
    c_float(hi, j->act_hi, sizeof j->act_hi);
  }
  j->fname = fname;
  j->knobs = kn;
}

/* A dispatching stage: each variant as j->fname "_" its name, then the
** dispatcher under j->fname (oscsimd.h); the layer's cpuid check first. */
static osc_status emit_variants(const osc_stage_job *j, const osc_stage_kernel **v, int n,
                                layer_emit *e, osc_buf *body, osc_error *err) {
  char fname[PREFIX_MAX + 64];
  osc_status st;
  if (!e->detector) osc_simd_detector(body, j->prefix);
  e->detector = 1;
  for (int k = 0; k < n; k++) {
    osc_stage_job vj = *j;
    snprintf(fname, sizeof fname, "%s_%s", j->fname, v[k]->name);
    vj.fname = fname;
    vj.isa = v[k]->isa;
    vj.dispatched = 1;
    if ((st = v[k]->emit(&vj, body, err))) return st;
    osc_buf_puts(body, "\n");
  }
  osc_simd_dispatcher(body, j, v, n);
  return OSC_OK;
}

/* Stage i's kernels and their names in e (the header comment, the templates). */
static int stage_kernels(const osc_stage_job *j, layer_emit *e, const osc_stage_kernel **v) {
  int n = stage_variants(j, v), i = j->index;
  size_t len = 0;
  for (int k = 0; k < n; k++) {
    e->tnames[e->n_tnames++] = v[k]->template_name;
    len += (size_t)snprintf(e->kern[i] + len, len < sizeof e->kern[i] ? sizeof e->kern[i] - len : 0,
                            "%s%s",
                            k ? ", else " : "", v[k]->name);
  }
  return n;
}

/* Stages first..last fused into one function (the fused-run ABI): the
** first has its `tiles`, the others one tile that does nothing; `note`
** goes after their kernels' names. */
static void mark_fused(const osc_plan *p, layer_emit *e, int first, int last, int tiles,
                       long long buf_off, const char *note) {
  for (int i = first; i <= last; i++) {
    e->woff[i] = (long long)osc_plan_stage_weights_offset(p, i);
    e->fuse[i] = i == first ? last + 1 : -1;
    e->fuse_off[i] = buf_off;
    snprintf(e->tiles[i], sizeof e->tiles[i], "%d", i == first ? tiles : 1);
    e->tptr[i] = e->tiles[i];
    strncat(e->kern[i], note, sizeof e->kern[i] - strlen(e->kern[i]) - 1);
  }
}

/* A fused run (its first stage i): one function for all its stages, whose
** tiles are its blocks. */
static osc_status emit_run(const osc_plan *p, const osc_fuse_run *r, const osc_stage_kernel *k,
                           const osc_stage_job *jobs, layer_emit *e, osc_buf *body,
                           osc_error *err) {
  mark_fused(p, e, r->first, r->last, r->tiles, r->buf_off, ", fused");
  return osc_fuse_emit(r, k, &jobs[r->first], &e->woff[r->first], body, err);
}

/* PREFIX_pack(weights, packed), for a layer with a stage that reads its
** weights packed: PyTorch's layout copied, those stages repacked in place
** of theirs (same size, same offsets); a dispatched one only where its
** dispatcher picks an oc variant (all read one layout), asking the same
** cpuid check. */
static void layer_pack(const osc_plan *p, const char *prefix, const layer_emit *e,
                       osc_buf *body) {
  int any = 0, dispatched = 0;
  for (int i = 0; i < p->n_stages; i++) any |= e->packed[i], dispatched |= e->packed[i] == 2;
  if (!any) return;
  osc_buf_printf(body, "\n/* The layer's weights as its code reads them: PyTorch's layout, the "
                 "stages of\n** lanes over output channels in their packed one (README \"ABI\"). */\n"
                 "void %s_pack(const float *weights, float *packed);\n"
                 "void %s_pack(const float *weights, float *packed) {\n", prefix, prefix);
  if (dispatched) osc_buf_puts(body, "#if defined(__x86_64__)\n");
  if (dispatched) osc_buf_printf(body, "  int isa = %s_isa();\n#endif\n", prefix);
  osc_buf_printf(body, "  for (long i = 0; i < %lld; i++) packed[i] = weights[i];\n",
                 (long long)osc_plan_weights_size(p));
  for (int i = 0; i < p->n_stages; i++) {
    if (!e->packed[i]) continue;
    if (e->packed[i] == 2)
      osc_buf_printf(body, "#if defined(__x86_64__)\n  if (%s)", e->packif[i]);
    osc_buf_printf(body, "  %s_pack(weights + %lld, packed + %lld);\n", e->fname[i],
                   e->woff[i], e->woff[i]);
    if (e->packed[i] == 2) osc_buf_puts(body, "#endif\n");
  }
  osc_buf_puts(body, "}\n");
}

/* A pair fused in registers (gen/x86/oscregfuse.h): the fused-run ABI
** above, its tiles the pair's. */
static osc_status emit_pair(const osc_plan *p, const osc_regfuse *r, const osc_stage_job *jobs,
                            layer_emit *e, osc_buf *body, osc_error *err) {
  mark_fused(p, e, r->first, r->first + 1, r->tiles, 0, ", fused in registers");
  return osc_regfuse_emit(r, &jobs[r->first], &e->woff[r->first], body, err);
}

/* A pair (i, i+1) in the middle reads and writes one scratch region; its
** output goes to the region its intermediate would have used instead, and
** every later stage's regions swap, when every later output still fits
** its region. Returns whether it did. */
static int reroute(const osc_plan *p, int i, layer_emit *e) {
  long long size[2] = {e->region1, (long long)osc_plan_scratch_size(p) - e->region1};
  long long src[OSC_MAX_STAGES], dst[OSC_MAX_STAGES];
  memcpy(src, e->src, sizeof src);
  memcpy(dst, e->dst, sizeof dst);
  dst[i + 1] = e->dst[i];
  for (int k = i + 2; k < p->n_stages; k++) {
    if (src[k] >= 0) src[k] = 1 - src[k];
    if (dst[k] >= 0) dst[k] = 1 - dst[k];
  }
  for (int k = i + 1; k < p->n_stages; k++) {
    const osc_stage *s = &p->stage[k];
    if (dst[k] >= 0 && (long long)s->c_out * s->h_out * s->w_out > size[dst[k]]) return 0;
  }
  memcpy(e->src, src, sizeof src);
  memcpy(e->dst, dst, sizeof dst);
  return 1;
}

/* The pairs fused in registers (middle ones rerouted); their stages leave
** `left` (NULL there), what the block runs may take. */
static int reg_pairs(const osc_plan *p, const osc_stage_kernel *const *one, layer_emit *e,
                     int fuse, const osc_stage_kernel **left, osc_regfuse *pairs) {
  int n = 0;
  for (int i = 0; i < p->n_stages; i++) left[i] = one[i];
  if (!osc_regfuse_on(fuse)) return 0;
  for (int i = 0; i + 1 < p->n_stages; i++) {
    int middle = e->src[i] >= 0 && e->src[i] == e->dst[i + 1];
    if (osc_regfuse_fits(p, i, one[i], one[i + 1], e->src[i], middle ? e->dst[i] : e->dst[i + 1],
                         fuse, &pairs[n]) && (!middle || reroute(p, i, e))) {
      left[i] = left[i + 1] = NULL;
      n++, i++;
    }
  }
  return n;
}

/* Whether a stage of variants v[0..n) reads packed weights on some CPU,
** and on which: the ISA values (of PREFIX_isa()) where its dispatcher
** (osc_simd_dispatcher: the first v[k] with isa >= v[k]->isa) picks an oc
** variant, as a C condition. The last variant (portable) never packs. */
static int pack_condition(const osc_stage_kernel *const *v, int n, char *cond, size_t size) {
  size_t len = 0;
  cond[0] = '\0';
  for (int k = 0; k < n; k++) {
    if (!osc_oc_kernel(v[k])) continue;
    assert(n == 1 || k + 1 < n);
    if (k == 0) len += (size_t)snprintf(cond + len, size - len, "%sisa >= %d", len ? " || " : "",
                                        (int)v[k]->isa);
    else len += (size_t)snprintf(cond + len, size - len, "%s(isa >= %d && isa < %d)",
                                 len ? " || " : "", (int)v[k]->isa, (int)v[k - 1]->isa);
    assert(len < size);
  }
  return len > 0;
}

static osc_status emit_stages(const osc_plan *p, const char *prefix, int isa,
                              const osc_emit_knobs *kn, int fuse, layer_emit *e, osc_buf *body,
                              osc_error *err) {
  const osc_layer *l = &p->layer;
  const osc_stage_kernel *v[OSC_MAX_STAGES][MAX_VARIANTS], *one[OSC_MAX_STAGES];
  osc_stage_job jobs[OSC_MAX_STAGES];
  const osc_stage_kernel *left[OSC_MAX_STAGES];
  osc_fuse_run runs[OSC_MAX_STAGES];
  osc_regfuse pairs[OSC_MAX_STAGES];
  int nv[OSC_MAX_STAGES], n_runs, r = 0, n_pairs, pr = 0;
  for (int i = 0; i < p->n_stages; i++) {
    snprintf(e->fname[i], sizeof e->fname[i], "%s_s%d", prefix, i);
    e->fptr[i] = e->fname[i];
    stage_job(p, i, kn, prefix, isa, e->fname[i], &jobs[i]);
    jobs[i].no_listing = e->no_listing;
    if (!(nv[i] = stage_kernels(&jobs[i], e, v[i])))
      return osc_error_layer(err, OSC_EINTERNAL, l, "no stage kernel applies to stage %d", i + 1);
    one[i] = nv[i] == 1 ? v[i][0] : NULL;
  }
  stage_buffers(p, e->src, e->dst, &e->region1);
  n_pairs = reg_pairs(p, one, e, fuse, left, pairs);
  n_runs = osc_fuse_runs(p, left, e->src, e->dst, e->region1, fuse, runs);
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage_job *j = &jobs[i];
    osc_status st;
    if (i) osc_buf_puts(body, "\n");
    if (pr < n_pairs && pairs[pr].first == i) {
      if ((st = emit_pair(p, &pairs[pr++], jobs, e, body, err))) return st;
      i++;
      continue;
    }
    if (r < n_runs && runs[r].first == i) {
      if ((st = emit_run(p, &runs[r], one[i], jobs, e, body, err))) return st;
      i = runs[r++].last;
      continue;
    }
    if (nv[i] > 1) snprintf(e->tiles[i], sizeof e->tiles[i], "%s_s%d_tiles()", prefix, i);
    else snprintf(e->tiles[i], sizeof e->tiles[i], "%d", v[i][0]->tiles(j));
    e->tptr[i] = e->tiles[i];
    st = nv[i] > 1 ? emit_variants(j, v[i], nv[i], e, body, err) : v[i][0]->emit(j, body, err);
    if (st) return st;
    e->woff[i] = (long long)osc_plan_stage_weights_offset(p, i);
    if (pack_condition(v[i], nv[i], e->packif[i], sizeof e->packif[i]))
      osc_oc_emit_pack(j, body), e->packed[i] = nv[i] > 1 ? 2 : 1;
  }
  layer_pack(p, prefix, e, body);
  return OSC_OK;
}

/* The layer's translation unit, appended to out. */
static osc_status emit_layer(const osc_plan *p, const osc_emit_options *o,
                             const osc_emit_knobs *k, int fuse, int listing, osc_buf *out,
                             osc_error *err) {
  osc_emit_knobs kn;
  osc_tmpl_params ps;
  osc_buf body;
  layer_emit *e;
  osc_status st;
  int batch;
  if (!p || !o || !out) return osc_error_set(err, OSC_EINVAL, "osc_emit_layer: NULL argument");
  if (!osc_emit_is_identifier(o->prefix))
    return osc_error_set(err, OSC_EINVAL, "symbol prefix '%s' is not a C identifier of at most "
                         "%d characters", o->prefix ? o->prefix : "(null)", PREFIX_MAX);
  if (o->batch < 0)
    return osc_error_set(err, OSC_EINVAL, "batch must be 0 or more, got %d", o->batch);
  batch = o->batch ? o->batch : 1;
  if ((st = layer_knobs(p, k, &kn, err)) || (st = osc_emit_check_plan(p, err))) return st;
  if (!(e = calloc(1, sizeof *e)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory emitting a layer");
  osc_buf_init(&body);
  e->no_listing = !listing;
  e->tnames[e->n_tnames++] = "layer.c.in";
  if (o->isa < OSC_ISA_AUTO || o->isa > OSC_ISA_AVX512) {
    st = osc_error_set(err, OSC_EINVAL, "unknown ISA %d", o->isa);
    goto done;
  }
  if ((st = emit_stages(p, o->prefix, o->isa, &kn, fuse, e, &body, err))) goto done;
  template_list(e->templates, sizeof e->templates, e->tnames, e->n_tnames);
  layer_info(p, e->kern, &e->info);
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "version", OSC_VERSION);
  osc_tmpl_str(&ps, "templates", e->templates);
  osc_tmpl_strs(&ps, "info", e->info.ptr, e->info.n);
  osc_tmpl_str(&ps, "prefix", o->prefix);
  osc_tmpl_int(&ps, "batch", batch);
  osc_tmpl_int(&ps, "residual", p->layer.residual);
  osc_tmpl_int(&ps, "n_stages", p->n_stages);
  osc_tmpl_strs(&ps, "fnames", e->fptr, p->n_stages);
  osc_tmpl_strs(&ps, "tiles", e->tptr, p->n_stages);
  osc_tmpl_ints(&ps, "src", e->src, p->n_stages);
  osc_tmpl_ints(&ps, "dst", e->dst, p->n_stages);
  osc_tmpl_ints(&ps, "woff", e->woff, p->n_stages);
  osc_tmpl_ints(&ps, "fuse", e->fuse, p->n_stages);
  osc_tmpl_ints(&ps, "fuse_off", e->fuse_off, p->n_stages);
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

/* emit_layer, out as it was when it fails */
static osc_status emit_layer_restored(const osc_plan *p, const osc_emit_options *o,
                                      const osc_emit_knobs *k, int fuse, int listing,
                                      osc_buf *out, osc_error *err) {
  size_t len = out ? out->len : 0;
  return restore(out, len, emit_layer(p, o, k, fuse, listing, out, err));
}

osc_status osc_emit_layer_fuse(const osc_plan *p, const osc_emit_options *o,
                               const osc_emit_knobs *k, int fuse, osc_buf *out, osc_error *err) {
  return emit_layer_restored(p, o, k, fuse, 1, out, err);
}

osc_status osc_emit_layer_knobs(const osc_plan *p, const osc_emit_options *o,
                                const osc_emit_knobs *k, osc_buf *out, osc_error *err) {
  return osc_emit_layer_fuse(p, o, k, 0, out, err);
}

osc_status osc_emit_layer_unlisted(const osc_plan *p, const osc_emit_options *o,
                                   const osc_emit_knobs *k, osc_buf *out, osc_error *err) {
  return emit_layer_restored(p, o, k, 0, 0, out, err);
}

osc_status osc_emit_layer(const osc_plan *p, const osc_emit_options *o, osc_buf *out,
                          osc_error *err) {
  return osc_emit_layer_knobs(p, o, NULL, out, err);
}

/* ---- a network ----------------------------------------------------------------------
** The .c is the head (network.c.in) followed by every layer's translation
** unit, a blank line between two; it goes to the sink piece by piece, so
** only one layer's code is in memory at a time. The .h (small: sizes and
** prototypes) is made in memory once every layer is known. */

typedef struct net_layer {
  char prefix[2 * OSC_NAME_MAX + 2];
  char macro[2 * OSC_NAME_MAX + 2];
  char info[2 * INFO_WIDTH + 64];
} net_layer;

typedef struct net_emit {
  int n, isa;
  net_layer *layer;
  const char **prefixes, **macros, **infos, **names;
  long long *in_sizes, *out_sizes, *w_sizes, *s_sizes;
  long long *residuals;   /* 1: the layer's entry points take a residual */
  int *same;              /* an earlier layer of the same code (net_same), or -1 */
  int aliases;            /* how many layers have one */
  long long *packs;       /* 1: the layer takes its weights packed (<layer>_pack) */
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
  free(e->residuals);
  free(e->same);
  free(e->packs);
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
  e->residuals = calloc(k, sizeof(long long));
  e->same = calloc(k, sizeof(int));
  e->packs = calloc(k, sizeof(long long));
  return e->layer && e->prefixes && e->macros && e->infos && e->names && e->in_sizes &&
         e->out_sizes && e->w_sizes && e->s_sizes && e->residuals && e->same &&
         e->packs;
}

/* ---- layers of the same code ---------------------------------------------------------
** A layer whose plan has an earlier layer's code fields (osc_plan_code_fields:
** the same code but for the names; ResNet-50's 53 layers are 23 plans) is
** emitted as four entry points calling that layer's (layer_alias.c.in), not
** as its own copy of the code: the output and the time to make it shrink
** with the repeats (README "Search and compile time"). */

static int same_code(const osc_plan *a, const osc_plan *b) {
  int32_t va[OSC_PLAN_CODE_FIELDS], vb[OSC_PLAN_CODE_FIELDS];
  int na = osc_plan_code_fields(a, va), nb = osc_plan_code_fields(b, vb);
  return na == nb && !memcmp(va, vb, (size_t)na * sizeof va[0]);
}

/* e->same[i]: the first layer with layer i's code, or -1 for that first
** one; through a table of first layers by osc_plan_hash. 0 if no memory. */
static int net_same(const osc_network *net, const osc_plan *plans, net_emit *e) {
  size_t size = 16, mask;
  int *first;   /* layer index + 1; 0 empty */
  while (size < 2 * (size_t)net->n_layers) size *= 2;
  if (!(first = calloc(size, sizeof *first))) return 0;
  mask = size - 1;
  e->aliases = 0;
  for (int i = 0; i < net->n_layers; i++) {
    size_t at = (size_t)osc_plan_hash(&plans[i]) & mask;
    while (first[at] && !same_code(&plans[first[at] - 1], &plans[i])) at = (at + 1) & mask;
    e->same[i] = first[at] - 1;
    if (first[at]) e->aliases++;
    else first[at] = i + 1;
  }
  free(first);
  return 1;
}

/* Layer i as entry points calling layer e->same[i]'s. */
static osc_status emit_alias(const osc_plan *p, int i, const net_emit *e, osc_buf *out,
                             osc_error *err) {
  char desc[INFO_WIDTH], hash[32];
  osc_tmpl_params ps;
  describe_layer(p, desc, sizeof desc);
  snprintf(hash, sizeof hash, "0x%016llx", (unsigned long long)osc_plan_hash(p));
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "version", OSC_VERSION);
  osc_tmpl_str(&ps, "templates", "layer_alias.c.in");
  osc_tmpl_str(&ps, "info", desc);
  osc_tmpl_str(&ps, "hash", hash);
  osc_tmpl_str(&ps, "prefix", e->prefixes[i]);
  osc_tmpl_str(&ps, "of", e->prefixes[e->same[i]]);
  osc_tmpl_int(&ps, "residual", p->layer.residual);
  osc_tmpl_int(&ps, "packed", e->packs[e->same[i]]);
  return osc_tmpl_expand("layer_alias.c.in", &ps, out, err);
}

static void upper(char *dst, const char *src) {
  for (; *src; src++) *dst++ = (char)toupper((unsigned char)*src);
  *dst = '\0';
}

/* Prefixes "<net>_<layer>", macros the same in upper case (the names are
** checked by osc_emit_check_network). */
static void net_names(const osc_network *net, net_emit *e) {
  for (int i = 0; i < net->n_layers; i++) {
    net_layer *nl = &e->layer[i];
    snprintf(nl->prefix, sizeof nl->prefix, "%s_%s", net->name, net->layers[i].name);
    upper(nl->macro, nl->prefix);
    e->prefixes[i] = nl->prefix;
    e->macros[i] = nl->macro;
    e->infos[i] = nl->info;
    e->names[i] = net->layers[i].name;
  }
}

/* The kernels emit_layer takes for p's stages, as bits of osc_stage_kernels:
** the head names their templates before any layer is emitted. */
static unsigned kernels_used(const osc_plan *p, int isa) {
  osc_emit_knobs kn;
  unsigned used = 0;
  if (layer_knobs(p, NULL, &kn, NULL)) resolve_knobs(NULL, &kn, NULL);
  for (int i = 0; i < p->n_stages; i++) {
    osc_stage_job j;
    const osc_stage_kernel *v[MAX_VARIANTS];
    int n;
    stage_job(p, i, &kn, "", isa, "", &j);
    n = stage_variants(&j, v);
    for (int q = 0; q < N_KERNELS; q++)
      for (int k = 0; k < n; k++)
        if (osc_stage_kernels[q] == v[k]) used |= 1u << q;
  }
  return used;
}

/* The oc kernels' bits in kernels_used. */
static unsigned oc_bits(void) {
  unsigned b = 0;
  for (int q = 0; q < N_KERNELS; q++)
    if (osc_oc_kernel(osc_stage_kernels[q])) b |= 1u << q;
  return b;
}

/* The head: the source's comment and the templates' prelude; also each
** layer's pack flag (e->packs), from the one look at its kernels. */
static osc_status net_head(const osc_network *net, const osc_plan *plans, net_emit *e,
                           osc_buf *out, osc_error *err) {
  const char *names[4 + N_KERNELS];
  char tlist[512];
  unsigned used = 0;
  int n_names = 0;
  osc_tmpl_params ps;
  names[n_names++] = "network.c.in";
  names[n_names++] = "layer.c.in";
  if (e->aliases) names[n_names++] = "layer_alias.c.in";
  for (int i = 0; i < net->n_layers; i++) {   /* an alias packs as the layer whose code it runs */
    unsigned k = e->same[i] >= 0 ? 0 : kernels_used(&plans[i], e->isa);
    e->packs[i] = e->same[i] >= 0 ? e->packs[e->same[i]] : (k & oc_bits()) != 0;
    used |= k;
  }
  for (int i = 0; i < N_KERNELS; i++)
    if (used & (1u << i)) names[n_names++] = osc_stage_kernels[i]->template_name;
  if (net->n_layers) names[n_names++] = "network_table.c.in";
  template_list(tlist, sizeof tlist, names, n_names);
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "version", OSC_VERSION);
  osc_tmpl_str(&ps, "templates", tlist);
  osc_tmpl_str(&ps, "name", net->name);
  osc_tmpl_int(&ps, "batch", net->batch > 0 ? net->batch : 1);
  osc_tmpl_strs(&ps, "layers", e->names, net->n_layers);
  return osc_tmpl_expand("network.c.in", &ps, out, err);
}

/* The header's shape and weight-slice macros of one layer (table 0), or
** its row of the layer table (table 1), as a new string (NULL: no memory).
** Made only when the header or table is written, so the per-layer memory
** of a huge network stays what it was. */
static char *layer_shape_text(const osc_plan *p, const char *macro, int table) {
  const osc_layer *l = &p->layer;
  const osc_stage *last = &p->stage[p->n_stages - 1];
  osc_buf b;
  osc_buf_init(&b);
  if (table) {
    osc_buf_printf(&b, "%d, %d, %d, %d, %d, %d, %d", l->in_channels, l->in_h, l->in_w,
                   last->c_out, last->h_out, last->w_out, p->n_stages);
    return osc_buf_take(&b);
  }
  osc_buf_printf(&b, "#define %s_IN_C %d\n#define %s_IN_H %d\n#define %s_IN_W %d\n", macro,
                 l->in_channels, macro, l->in_h, macro, l->in_w);
  osc_buf_printf(&b, "#define %s_OUT_C %d\n#define %s_OUT_H %d\n#define %s_OUT_W %d\n", macro,
                 last->c_out, macro, last->h_out, macro, last->w_out);
  osc_buf_printf(&b, "#define %s_STAGES %d", macro, p->n_stages);
  for (int s = 0; s < p->n_stages; s++)
    osc_buf_printf(&b, "\n#define %s_STAGE%d_WEIGHTS_OFFSET %zu\n#define %s_STAGE%d_WEIGHTS_SIZE %zu",
                   macro, s + 1, osc_plan_stage_weights_offset(p, s), macro, s + 1,
                   osc_plan_stage_weights_offset(p, s + 1) - osc_plan_stage_weights_offset(p, s));
  if (l->bias)
    osc_buf_printf(&b, "\n#define %s_BIAS_OFFSET %zu", macro,
                   osc_plan_stage_weights_offset(p, p->n_stages));
  return osc_buf_take(&b);
}

/* layer_shape_text for every layer; NULL when memory ran out. */
static char **shape_texts(const osc_network *net, const osc_plan *plans, const net_emit *e,
                          int table) {
  char **t = calloc(net->n_layers > 0 ? (size_t)net->n_layers : 1, sizeof *t);
  for (int i = 0; t && i < net->n_layers; i++)
    if (!(t[i] = layer_shape_text(&plans[i], e->macros[i], table))) {
      while (i-- > 0) free(t[i]);
      free(t);
      t = NULL;
    }
  return t;
}

static void free_texts(char **t, int n) {
  for (int i = 0; t && i < n; i++) free(t[i]);
  free(t);
}

/* The four per-layer buffer sizes, as the header and the table name them. */
static void size_params(osc_tmpl_params *ps, const net_emit *e) {
  osc_tmpl_ints(ps, "in_sizes", e->in_sizes, e->n);
  osc_tmpl_ints(ps, "out_sizes", e->out_sizes, e->n);
  osc_tmpl_ints(ps, "w_sizes", e->w_sizes, e->n);
  osc_tmpl_ints(ps, "s_sizes", e->s_sizes, e->n);
  osc_tmpl_ints(ps, "residuals", e->residuals, e->n);
  osc_tmpl_ints(ps, "packs", e->packs, e->n);
}

/* The .c file's tail: the layer table the header declares. */
static osc_status net_tail(const osc_network *net, const osc_plan *plans, const net_emit *e,
                           osc_buf *out, osc_error *err) {
  osc_tmpl_params ps;
  char **shapes = shape_texts(net, plans, e, 1), up[OSC_NAME_MAX];
  osc_status st;
  upper(up, net->name);
  if (!shapes) return osc_error_set(err, OSC_ENOMEM, "out of memory emitting network '%s'",
                                    net->name);
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "name", net->name);
  osc_tmpl_str(&ps, "upname", up);
  osc_tmpl_strs(&ps, "prefixes", e->prefixes, net->n_layers);
  osc_tmpl_strs(&ps, "names", e->names, net->n_layers);
  osc_tmpl_strs(&ps, "shapes", (const char **)shapes, net->n_layers);
  size_params(&ps, e);
  st = osc_tmpl_expand("network_table.c.in", &ps, out, err);
  free_texts(shapes, net->n_layers);
  return st;
}

/* Layer i's code into piece (a blank line before all but the first), its
** sizes and description into e. */
static osc_status net_layer_code(const osc_network *net, const osc_plan *p, int i, net_emit *e,
                                 osc_buf *piece, osc_error *err) {
  osc_emit_options o = {e->prefixes[i], net->batch, e->isa};
  char desc[INFO_WIDTH], chain[INFO_WIDTH];
  osc_status st;
  if (i) osc_buf_puts(piece, "\n");
  st = e->same[i] >= 0 ? emit_alias(p, i, e, piece, err)
                       : emit_layer(p, &o, NULL, 0, 1, piece, err);
  if (st) return st;
  describe_layer(p, desc, sizeof desc);
  osc_plan_describe(p, chain, sizeof chain);
  snprintf(e->layer[i].info, sizeof e->layer[i].info, "%s; %s: %s; plan hash 0x%016llx", desc,
           osc_mode_name(p->mode), chain, (unsigned long long)osc_plan_hash(p));
  e->in_sizes[i] = (long long)osc_plan_input_size(p);
  e->out_sizes[i] = (long long)osc_plan_output_size(p);
  e->w_sizes[i] = (long long)osc_plan_weights_size(p);
  e->s_sizes[i] = (long long)osc_plan_scratch_size(p);
  e->residuals[i] = p->layer.residual;
  return OSC_OK;
}

static osc_status net_header(const osc_network *net, const osc_plan *plans, const net_emit *e,
                             osc_buf *h_file, osc_error *err) {
  char guard[OSC_NAME_MAX + 16], upname[OSC_NAME_MAX];
  osc_tmpl_params ps;
  char **extras = shape_texts(net, plans, e, 0);
  osc_status st;
  if (!extras) return osc_error_set(err, OSC_ENOMEM, "out of memory emitting network '%s'",
                                    net->name);
  upper(upname, net->name);
  snprintf(guard, sizeof guard, "OSCONV_%s_H", upname);
  osc_tmpl_params_init(&ps);
  osc_tmpl_str(&ps, "version", OSC_VERSION);
  osc_tmpl_str(&ps, "templates", "network_header.c.in");
  osc_tmpl_str(&ps, "name", net->name);
  osc_tmpl_str(&ps, "guard", guard);
  osc_tmpl_str(&ps, "upname", upname);
  osc_tmpl_strs(&ps, "extras", (const char **)extras, net->n_layers);
  osc_tmpl_int(&ps, "batch", net->batch > 0 ? net->batch : 1);
  osc_tmpl_strs(&ps, "prefixes", e->prefixes, net->n_layers);
  osc_tmpl_strs(&ps, "macros", e->macros, net->n_layers);
  osc_tmpl_strs(&ps, "infos", e->infos, net->n_layers);
  size_params(&ps, e);
  st = osc_tmpl_expand("network_header.c.in", &ps, h_file, err);
  free_texts(extras, net->n_layers);
  return st;
}

/* Hand the piece to the sink and empty it. */
static osc_status flush_piece(osc_buf *piece, osc_emit_sink sink, void *ctx, osc_error *err) {
  osc_status st;
  if (osc_buf_failed(piece))
    return osc_error_set(err, OSC_ENOMEM, "out of memory emitting a network");
  st = piece->len ? sink(ctx, piece->data, piece->len, err) : OSC_OK;
  osc_buf_reset(piece);
  return st;
}

/* Count `len` more bytes against the budget; the error names `l` (NULL:
** the network), where the output grew past it. */
static osc_status spend(osc_emit_budget *b, size_t len, const osc_network *net,
                        const osc_layer *l, osc_error *err) {
  const osc_layer *any = l ? l : net->n_layers ? &net->layers[0] : NULL;
  if (!b || len <= b->cap - b->used) {
    if (b) b->used += len;
    return OSC_OK;
  }
  if (l)
    return osc_error_layer(err, OSC_ELIMIT, l,
                           "the generated code grows past %zu bytes, the output budget "
                           "(OSCONV_GEN_MAX_BYTES raises it)", b->cap);
  if (any && any->file)
    return osc_error_set(err, OSC_ELIMIT,
                         "%s:%d: network '%s': the generated code grows past %zu bytes, the "
                         "output budget (OSCONV_GEN_MAX_BYTES raises it)",
                         any->file, net->line, net->name, b->cap);
  return osc_error_set(err, OSC_ELIMIT,
                       "network '%s': the generated code grows past %zu bytes, the output "
                       "budget (OSCONV_GEN_MAX_BYTES raises it)", net->name, b->cap);
}

osc_status osc_emit_network_budget(const osc_network *net, const osc_plan *plans, int isa,
                                   osc_emit_sink sink, void *ctx, osc_buf *h_file,
                                   osc_emit_budget *budget, osc_error *err) {
  net_emit e;
  osc_buf piece;
  size_t h_len;
  osc_status st;
  if (!net || (!plans && net->n_layers) || !sink || !h_file)
    return osc_error_set(err, OSC_EINVAL, "osc_emit_network: NULL argument");
  if ((st = osc_emit_check_network(net, plans, err))) return st;
  h_len = h_file->len;
  if (!net_emit_alloc(&e, net->n_layers) || !net_same(net, plans, &e)) {
    net_emit_free(&e);
    return osc_error_set(err, OSC_ENOMEM, "out of memory emitting network '%s'", net->name);
  }
  e.isa = isa;
  net_names(net, &e);
  osc_buf_init(&piece);
  st = net_head(net, plans, &e, &piece, err);
  if (!st) st = spend(budget, piece.len, net, NULL, err);
  if (!st) st = flush_piece(&piece, sink, ctx, err);
  for (int i = 0; i < net->n_layers && !st; i++)
    if (!(st = net_layer_code(net, &plans[i], i, &e, &piece, err)) &&
        !(st = spend(budget, piece.len, net, &net->layers[i], err)))
      st = flush_piece(&piece, sink, ctx, err);
  if (!st && net->n_layers == 0) st = sink(ctx, "\n", 1, err);
  if (!st && net->n_layers > 0 && !(st = net_tail(net, plans, &e, &piece, err)) &&
      !(st = spend(budget, piece.len, net, NULL, err)))
    st = flush_piece(&piece, sink, ctx, err);
  if (!st) st = net_header(net, plans, &e, h_file, err);
  if (!st) st = spend(budget, h_file->len - h_len, net, NULL, err);
  osc_buf_free(&piece);
  net_emit_free(&e);
  return restore(h_file, h_len, st);
}

osc_status osc_emit_network_isa_to(const osc_network *net, const osc_plan *plans, int isa,
                                   osc_emit_sink sink, void *ctx, osc_buf *h_file,
                                   osc_error *err) {
  return osc_emit_network_budget(net, plans, isa, sink, ctx, h_file, NULL, err);
}

osc_status osc_emit_network_to(const osc_network *net, const osc_plan *plans,
                               osc_emit_sink sink, void *ctx, osc_buf *h_file,
                               osc_error *err) {
  return osc_emit_network_isa_to(net, plans, OSC_ISA_AUTO, sink, ctx, h_file, err);
}

size_t osc_emit_output_cap(void) {
  const char *s = getenv("OSCONV_GEN_MAX_BYTES");
  char *end;
  unsigned long long v;
  if (!s || !*s) return OSC_EMIT_OUTPUT_CAP;
  errno = 0;
  v = strtoull(s, &end, 10);
  return errno || *end || v == 0 || s[0] == '-' || v > SIZE_MAX ? OSC_EMIT_OUTPUT_CAP : (size_t)v;
}

static osc_status buf_sink(void *ctx, const char *data, size_t len, osc_error *err) {
  osc_buf *b = ctx;
  osc_buf_add(b, data, len);
  return osc_buf_failed(b) ? osc_error_set(err, OSC_ENOMEM, "out of memory emitting a network")
                           : OSC_OK;
}

osc_status osc_emit_network(const osc_network *net, const osc_plan *plans,
                            osc_buf *c_file, osc_buf *h_file, osc_error *err) {
  size_t c_len;
  if (!c_file) return osc_error_set(err, OSC_EINVAL, "osc_emit_network: NULL argument");
  c_len = c_file->len;
  return restore(c_file, c_len, osc_emit_network_to(net, plans, buf_sink, c_file, h_file, err));
}

const char *osc_emit_kernel_name(int i) {
  return i >= 0 && i < N_KERNELS ? osc_stage_kernels[i]->name : NULL;
}

int osc_emit_kernel_count(void) { return N_KERNELS; }

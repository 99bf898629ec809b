/*
** ob_dnnl.c -- oneDNN's variants of a layer, through its C API (2.6):
**   dense blocked  the layer's dense convolution, src/weights/dst in the
**                  formats oneDNN prefers (input reordered once, untimed)
**   dense nchw     the same with NCHW in and out: both reorders timed
**   chain nchw     osconv's optimal plan (max_stages 2) as oneDNN primitives:
**                  one grouped convolution per stage, oneDNN's shuffle
**                  between them, NCHW reorders at both ends, all timed
** Weights are reordered into the chosen format once, untimed, as a framework
** does at load time. Without OSC_HAVE_DNNL every call says "not built".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obench.h"

const char *const ob_dnnl_names[3] = {"dnnl dense blocked", "dnnl dense nchw",
                                      "dnnl chain nchw"};

#ifndef OSC_HAVE_DNNL
int ob_dnnl_available(void) { return 0; }
int ob_dnnl_variant(ob_layer *L, int kind, ob_variant *v) {
  (void)L, (void)kind;
  snprintf(v->name, sizeof v->name, "oneDNN not built in");
  return 1;
}
int ob_dnnl_shuffle_check(void) { return 0; }
#else
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#define MAX_STEPS 64

typedef struct step {
  dnnl_primitive_t prim;
  int nargs;
  dnnl_exec_arg_t args[3];
} step;

typedef struct dctx {
  step steps[MAX_STEPS], fetch;   /* fetch: blocked output to NCHW, untimed */
  int n_steps, has_fetch;
  dnnl_memory_t mems[MAX_STEPS];
  int n_mems;
  dnnl_memory_t result;           /* what holds the NCHW output */
  float *out;                     /* user buffer behind `result` (or unused) */
} dctx;

static dnnl_engine_t eng;
static dnnl_stream_t strm;

int ob_dnnl_available(void) {
  if (!eng && (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
               dnnl_stream_create(&strm, eng, dnnl_stream_default_flags) != dnnl_success))
    return 0;
  return 1;
}

#define CK(call)                                                                  \
  do {                                                                            \
    dnnl_status_t st_ = (call);                                                   \
    if (st_ != dnnl_success) {                                                    \
      fprintf(stderr, "osconv-bench: oneDNN %s: %s\n", #call, dnnl_status2str(st_)); \
      return 1;                                                                   \
    }                                                                             \
  } while (0)

static int mem(dctx *c, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out) {
  CK(dnnl_memory_create(out, md, eng, handle ? handle : DNNL_MEMORY_ALLOCATE));
  if (c->n_mems == MAX_STEPS) return 1;
  c->mems[c->n_mems++] = *out;
  return 0;
}

static int add(dctx *c, dnnl_primitive_desc_t pd, int nargs, const dnnl_exec_arg_t *a) {
  step *s = &c->steps[c->n_steps];
  if (c->n_steps == MAX_STEPS) return 1;
  CK(dnnl_primitive_create(&s->prim, pd));
  dnnl_primitive_desc_destroy(pd);
  s->nargs = nargs;
  memcpy(s->args, a, (size_t)nargs * sizeof *a);
  c->n_steps++;
  return 0;
}

/* A reorder from -> to: a timed step, the fetch, or (mode 2) run once now. */
static int reorder(dctx *c, dnnl_memory_t from, dnnl_memory_t to, int mode) {
  const dnnl_memory_desc_t *a, *b;
  dnnl_primitive_desc_t pd;
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  CK(dnnl_memory_get_memory_desc(from, &a));
  CK(dnnl_memory_get_memory_desc(to, &b));
  CK(dnnl_reorder_primitive_desc_create(&pd, a, eng, b, eng, NULL));
  if (mode == 0) return add(c, pd, 2, args);
  if (mode == 1) {
    CK(dnnl_primitive_create(&c->fetch.prim, pd));
    dnnl_primitive_desc_destroy(pd);
    c->fetch.nargs = 2;
    memcpy(c->fetch.args, args, sizeof args);
    c->has_fetch = 1;
    return 0;
  }
  {
    dnnl_primitive_t p;
    CK(dnnl_primitive_create(&p, pd));
    dnnl_primitive_desc_destroy(pd);
    CK(dnnl_primitive_execute(p, strm, 2, args));
    CK(dnnl_stream_wait(strm));
    dnnl_primitive_destroy(p);
  }
  return 0;
}

static void nchw_md(dnnl_memory_desc_t *md, int c, int h, int w, dnnl_format_tag_t tag) {
  dnnl_dims_t d = {1, c, h, w};
  dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag);
}

/* Stage s as a oneDNN convolution, every format left to oneDNN. */
static int conv_pd(const osc_stage *s, dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t src_any, w_md, dst_md;
  dnnl_convolution_desc_t cd;
  int g = s->groups;
  dnnl_dims_t wd1 = {s->c_out, s->c_in, s->k_h, s->k_w};
  dnnl_dims_t wdg = {g, s->c_out / g, s->c_in / g, s->k_h, s->k_w};
  dnnl_dims_t strides = {s->stride_h, s->stride_w}, pl = {s->pad_h, s->pad_w};
  dnnl_dims_t pr = {(s->h_out - 1) * s->stride_h + s->k_h - s->h_in - s->pad_h,
                    (s->w_out - 1) * s->stride_w + s->k_w - s->w_in - s->pad_w};
  nchw_md(&src_any, s->c_in, s->h_in, s->w_in, dnnl_format_tag_any);
  nchw_md(&dst_md, s->c_out, s->h_out, s->w_out, dnnl_format_tag_any);
  CK(dnnl_memory_desc_init_by_tag(&w_md, g > 1 ? 5 : 4, g > 1 ? wdg : wd1, dnnl_f32,
                                  dnnl_format_tag_any));
  CK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                        &src_any, &w_md, NULL, &dst_md, strides,
                                        pl, pr));
  CK(dnnl_primitive_desc_create(pd, &cd, NULL, eng, NULL));
  return 0;
}

/* The weights of stage s (osconv's [c_out][c_in/g][kh][kw], which is goihw)
** reordered once into what the convolution wants. */
static int weights(dctx *c, const osc_stage *s, const float *w, const dnnl_memory_desc_t *want,
                   dnnl_memory_t *out) {
  dnnl_memory_desc_t user;
  dnnl_memory_t um;
  int g = s->groups;
  dnnl_dims_t wd1 = {s->c_out, s->c_in, s->k_h, s->k_w};
  dnnl_dims_t wdg = {g, s->c_out / g, s->c_in / g, s->k_h, s->k_w};
  CK(dnnl_memory_desc_init_by_tag(&user, g > 1 ? 5 : 4, g > 1 ? wdg : wd1, dnnl_f32,
                                  g > 1 ? dnnl_goihw : dnnl_oihw));
  if (mem(c, &user, (void *)w, &um) || mem(c, want, NULL, out)) return 1;
  return reorder(c, um, *out, 2);
}

/* Conv (+ shuffle) for stage i; *cur is its input memory (replaced by its
** output), *cur_md that memory's descriptor. Every convolution picks its own
** formats (forcing the previous one's sends oneDNN to its reference code);
** where they differ, a reorder (`mode` as in reorder()) converts. */
static int stage(dctx *c, const osc_plan *p, int i, const float *w, int wrong_shuffle,
                 int mode, dnnl_memory_t *cur, dnnl_memory_desc_t *cur_md) {
  const osc_stage *s = &p->stage[i];
  dnnl_primitive_desc_t pd;
  dnnl_memory_t wm, dst, sh;
  dnnl_memory_desc_t dst_md, src_md;
  if (conv_pd(s, &pd)) return 1;
  src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
  if (!dnnl_memory_desc_equal(&src_md, cur_md)) {
    dnnl_memory_t conv_in;
    if (mem(c, &src_md, NULL, &conv_in) || reorder(c, *cur, conv_in, mode)) return 1;
    *cur = conv_in;
  }
  dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  if (weights(c, s, w + osc_plan_stage_weights_offset(p, i),
              dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &wm) ||
      mem(c, &dst_md, NULL, &dst))
    return 1;
  {
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, *cur}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dst}};
    if (add(c, pd, 3, a)) return 1;
  }
  *cur = dst;
  *cur_md = dst_md;
  if (i + 1 < p->n_stages && s->groups > 1 && s->groups < s->c_out) {
    /* osconv's ChannelShuffle(g) = oneDNN's shuffle with group_size C/g; with
    ** g = 1 or g = C it is the identity: no copy for nothing */
    dnnl_shuffle_desc_t sd;
    dnnl_dim_t gs = wrong_shuffle ? s->groups : s->c_out / s->groups;
    dnnl_exec_arg_t a[2];
    CK(dnnl_shuffle_forward_desc_init(&sd, dnnl_forward_inference, &dst_md, 1, gs));
    CK(dnnl_primitive_desc_create(&pd, &sd, NULL, eng, NULL));
    if (mem(c, &dst_md, NULL, &sh)) return 1;
    a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, dst};
    a[1] = (dnnl_exec_arg_t){DNNL_ARG_DST, sh};
    if (add(c, pd, 2, a)) return 1;
    *cur = sh;
  }
  return 0;
}

/* The plan's chain from NCHW `in` to NCHW c->out. nchw_io: the reorders at
** both ends are timed steps; otherwise the input is reordered once now and
** the output only when fetched for the check. */
static int build(dctx *c, const osc_plan *p, const float *w, const float *in, int nchw_io,
                 int wrong_shuffle) {
  const osc_stage *s0 = &p->stage[0], *sl = &p->stage[p->n_stages - 1];
  dnnl_memory_desc_t user_in, user_out, cur_md;
  dnnl_memory_t uin, uout, cur;
  nchw_md(&user_in, s0->c_in, s0->h_in, s0->w_in, dnnl_nchw);
  nchw_md(&user_out, sl->c_out, sl->h_out, sl->w_out, dnnl_nchw);
  if (mem(c, &user_in, (void *)in, &uin) || mem(c, &user_out, c->out, &uout)) return 1;
  cur = uin;
  cur_md = user_in;
  for (int i = 0; i < p->n_stages; i++)
    if (stage(c, p, i, w, wrong_shuffle, i || nchw_io ? 0 : 2, &cur, &cur_md)) return 1;
  if (dnnl_memory_desc_equal(&cur_md, &user_out)) {
    c->result = cur;
    return 0;
  }
  c->result = uout;
  return reorder(c, cur, uout, nchw_io ? 0 : 1);
}

static void exec(const step *s) { dnnl_primitive_execute(s->prim, strm, s->nargs, s->args); }

static void dnnl_run(void *v) {
  dctx *c = v;
  for (int i = 0; i < c->n_steps; i++) exec(&c->steps[i]);
  dnnl_stream_wait(strm);
}

static const float *dnnl_result(void *v) {
  dctx *c = v;
  void *h = NULL;
  if (c->has_fetch) exec(&c->fetch), dnnl_stream_wait(strm);
  dnnl_memory_get_data_handle(c->result, &h);
  return h;
}

static void dnnl_free(void *v) {
  dctx *c = v;
  for (int i = 0; i < c->n_steps; i++) dnnl_primitive_destroy(c->steps[i].prim);
  if (c->has_fetch) dnnl_primitive_destroy(c->fetch.prim);
  for (int i = 0; i < c->n_mems; i++) dnnl_memory_destroy(c->mems[i]);
  free(c->out);
  free(c);
}

int ob_dnnl_variant(ob_layer *L, int kind, ob_variant *v) {
  static const char *modes[] = {"blocked", "dense", "chain"};
  struct ob_plan *P = &L->plans[kind == 2 ? OB_MODE_OPT : OB_MODE_CONV];
  dctx *c;
  memset(v, 0, sizeof *v);
  snprintf(v->name, sizeof v->name, "%s", ob_dnnl_names[kind]);
  if (!P->ok || !ob_dnnl_available() || !(c = calloc(1, sizeof *c))) return 1;
  c->out = ob_alloc(L->out_n);
  if (build(c, &P->plan, P->w, L->in, kind != 0, 0)) {
    dnnl_free(c);
    snprintf(v->name, sizeof v->name, "%s: oneDNN refused", ob_dnnl_names[kind]);
    return 1;
  }
  ob_variant_init(v, L, P, "dnnl", modes[kind], "dnnl", dnnl_run, dnnl_result, dnnl_free, c);
  snprintf(v->name, sizeof v->name, "%s", ob_dnnl_names[kind]);
  v->compile_ms = -1;
  return 0;
}

/* C = 24, ChannelShuffle(3): group_size 8 is right, 3 (= g) is not. */
int ob_dnnl_shuffle_check(void) {
  osc_layer l;
  osc_plan p;
  osc_kernel *k = NULL;
  osc_kernel_options o = {.backend = OSC_BACKEND_REFERENCE};
  osc_error err;
  double e[2];
  size_t ni, no, nw;
  float *in, *w, *ref;
  if (!ob_dnnl_available()) return 0;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "shuffle_check");
  l.in_channels = l.out_channels = 24;
  l.in_h = l.in_w = 6;
  l.k_h = l.k_w = 3;
  l.pad_h = l.pad_w = 1;
  l.mode = OSC_MODE_FIXED;
  l.n_fixed = 2;
  l.fixed[0] = (osc_stage_spec){0, 3, 3, 1};
  l.fixed[1] = (osc_stage_spec){0, 3, 1, 3};
  if (osc_plan_layer(&l, &p, &err)) {
    fprintf(stderr, "osconv-bench: shuffle check: %s\n", err.msg);
    return 1;
  }
  ni = osc_plan_input_size(&p), no = osc_plan_output_size(&p), nw = osc_plan_weights_size(&p);
  in = ob_alloc(ni), w = ob_alloc(nw), ref = ob_alloc(no);
  ob_fill(in, ni, 7, 1), ob_fill(w, nw, 8, 0.1f);
  if (osc_kernel_create(&p, &o, &k, &err) || osc_kernel_run(k, 1, in, ref, w, NULL, &err)) {
    fprintf(stderr, "osconv-bench: shuffle check: %s\n", err.msg);
    return 1;
  }
  osc_kernel_free(k);
  for (int wrong = 0; wrong < 2; wrong++) {
    dctx *c = calloc(1, sizeof *c);
    if (!c) return 1;
    c->out = ob_alloc(no);
    if (build(c, &p, w, in, 1, wrong)) return 1;
    dnnl_run(c);
    e[wrong] = ob_rel_l2(dnnl_result(c), ref, no);
    dnnl_free(c);
  }
  printf("shuffle check (C=24, ChannelShuffle(3), osconv reference): oneDNN group_size=C/g=8 "
         "rel L2 %.1e, group_size=g=3 rel L2 %.1e -> %s\n",
         e[0], e[1], e[0] < 1e-5 && e[1] > 1e-2 ? "C/g is right" : "MISMATCH");
  free(in), free(w), free(ref);
  return !(e[0] < 1e-5 && e[1] > 1e-2);
}
#endif

/*
** oscsearch.c -- the exact optimal-separation search (see oscsearch.h).
**
** Costs are (primary, secondary) pairs compared lexicographically; that
** order is compatible with addition, so a dynamic program over pairs is
** exact. The channel condition is tracked as the coverage still missing,
** R = ceil(C_in / prod n_i): a stage with fan-in n turns R into ceil(R / n)
** (nested ceilings compose), the chain covers when R = 1, and R takes at
** most 2 sqrt(C_in) distinct values.
*/
#include "oscsearch.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "osccover.h"
#include "oscerr.h"
#include "oscmode.h"
#include "oscplan.h"
#include "osctime.h"

/* Sums saturate at COST_MAX; COST_INF marks "no valid completion". */
#define COST_INF INT64_MAX
#define COST_MAX (INT64_MAX - 1)

/* Budgets that stop a pathological layer (kernels near 64, many widths and
** stages) with a clean error instead of running for minutes. */
#define TABLE_MAX ((size_t)1 << 22)   /* bound-table entries: 64 MiB */
#define WORK_MAX 4e8                  /* dynamic-program relaxations */
#define STEPS_MAX 200000              /* nodes expanded + chains walked, per stage count */

#define MAXW (2 + OSC_MAX_WIDTHS)
#define WALKS_KEPT 32                 /* structural walks remembered per search */
#define MAXDIV 256                    /* divisors of a number <= 65536: at most 120 */

typedef struct pair { int64_t p, s; } pair;

static const pair pair_inf = {COST_INF, COST_INF};

static int64_t sat_add(int64_t a, int64_t b) { return a > COST_MAX - b ? COST_MAX : a + b; }

static int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) || r > COST_MAX ? COST_MAX : r;
}

static pair pair_add(pair a, pair b) {
  pair r = {sat_add(a.p, b.p), sat_add(a.s, b.s)};
  return r;
}

static int pair_cmp(pair a, pair b) {
  if (a.p != b.p) return a.p < b.p ? -1 : 1;
  if (a.s != b.s) return a.s < b.s ? -1 : 1;
  return 0;
}

/* One admissible group count of a stage between two widths. */
typedef struct group_opt {
  int g;
  int fan;        /* index of n = c_in / g in search.fan */
  int64_t chan;   /* c_out * n: the stage's weights per kernel tap */
} group_opt;

/* A candidate stage during the branch and bound. */
typedef struct kid {
  pair total;     /* cost so far + this stage + cheapest completion */
  pair acc;       /* cost so far + this stage */
  uint64_t key;   /* tie order, see stage_key() */
  int w, g, kh, kw, eh, ew, r;
} kid;

typedef struct kid_list { kid *v; int n, cap; } kid_list;

typedef struct top_chain {
  pair cost;
  uint64_t key[OSC_MAX_STAGES];
  osc_stage_spec spec[OSC_MAX_STAGES];
} top_chain;

/* A chain's channel structure and whether the walk found it covering:
** chains that differ only in their kernels share it. */
typedef struct walked {
  int n, c[OSC_MAX_STAGES + 1], g[OSC_MAX_STAGES], covers;
} walked;

typedef struct search {
  const osc_layer *l;
  int need;                       /* input channels every output must reach */
  int nw, width[MAXW], w_in, w_out, ndiv[MAXW];
  int kh, kw;                     /* the layer's kernel */
  int64_t *size;                  /* [eh * kw + ew]: pixels out of a stage ending there */
  int time;                       /* objective time: stage costs from the model */
  osc_isa isa;                    /* the ISA it models */
  int clamped;                    /* relu6 or clamp: the last stage is not SIMD */
  group_opt *opt;
  int opt_at[MAXW * MAXW + 1];    /* options of (w, w2) at opt[opt_at[i] .. opt_at[i+1]) */
  int nfan, *fan;                 /* distinct fan-ins, ascending */
  int nr, *rval;                  /* missing-coverage values, ascending: rval[0] = 1 */
  int *rnext;                     /* [fan * nr + r]: index of ceil(rval[r] / fan[fan]) */
  pair *bound;                    /* cheapest completion, see bound_at() */
  int *lim;                       /* per bound row: its finite entries are [0, lim) */
  int levels;                     /* bound rows: stages left 0 .. levels-1 */
  /* the branch and bound of one stage count n */
  int n;
  kid_list kids[OSC_MAX_STAGES];
  uint64_t path_key[OSC_MAX_STAGES];
  osc_stage_spec path[OSC_MAX_STAGES];
  top_chain top[OSC_SEARCH_TOP];
  int n_top, keep;                /* chains kept: OSC_SEARCH_TOP, or 1 without a report */
  int overflow;                   /* some chain's cost did not fit 64 bits */
  int64_t cap;                    /* without a report: the best objective of fewer stages */
  long steps;                     /* work of this stage count, against STEPS_MAX */
  walked walks[WALKS_KEPT];
  int n_walks;
  osc_search_level *lv;
  osc_status status;              /* OSC_ENOMEM or OSC_ELIMIT stops the walk */
} search;

/* ---- setup ------------------------------------------------------------------ */

static int gcd(int a, int b) {
  while (b) { int t = a % b; a = b; b = t; }
  return a;
}

static int divisors(int v, int *d) {
  int n = 0, hi[MAXDIV], nh = 0;
  for (int i = 1; (long)i * i <= v; i++)
    if (v % i == 0) {
      d[n++] = i;
      if (i != v / i) hi[nh++] = v / i;
    }
  while (nh) d[n++] = hi[--nh];
  return n;
}

/* Output pixels of a stage whose cumulative extent after it is e, per the
** placement rule: unpadded input before the first stage with extent, the
** valid shrink in between, the layer's output from the last one on. */
static int64_t dim_size(int in, int k, int stride, int pad, int e) {
  if (k == 1 || e == k - 1) return osc_conv_out(in, k, stride, pad);
  if (e == 0) return in;
  return in + 2 * pad - e;
}

static int index_of(const int *v, int n, int x) {
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (v[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static osc_status setup_sizes(search *s) {
  const osc_layer *l = s->l;
  s->size = malloc((size_t)s->kh * s->kw * sizeof *s->size);
  if (!s->size) return OSC_ENOMEM;
  for (int eh = 0; eh < s->kh; eh++)
    for (int ew = 0; ew < s->kw; ew++)
      s->size[eh * s->kw + ew] =
          dim_size(l->in_h, l->k_h, l->stride_h, l->pad_h, eh) *
          dim_size(l->in_w, l->k_w, l->stride_w, l->pad_w, ew);
  return OSC_OK;
}

/* Group options for every pair of widths, and the distinct fan-ins. */
static osc_status setup_groups(search *s) {
  int d[MAXDIV], n = 0;
  s->opt = malloc((size_t)s->nw * s->nw * MAXDIV * sizeof *s->opt);
  s->fan = malloc((size_t)s->nw * s->nw * MAXDIV * sizeof *s->fan);
  if (!s->opt || !s->fan) return OSC_ENOMEM;
  for (int w = 0; w < s->nw; w++) {
    s->ndiv[w] = divisors(s->width[w], d);
    for (int w2 = 0; w2 < s->nw; w2++) {
      int nd = divisors(gcd(s->width[w], s->width[w2]), d);
      s->opt_at[w * s->nw + w2] = n;
      for (int i = 0; i < nd; i++, n++) {
        s->opt[n].g = d[i];
        s->opt[n].fan = s->width[w] / d[i];   /* the fan-in, made an index below */
        s->opt[n].chan = (int64_t)s->width[w2] * s->opt[n].fan;
        s->fan[n] = s->opt[n].fan;
      }
    }
  }
  s->opt_at[s->nw * s->nw] = n;
  qsort(s->fan, (size_t)n, sizeof *s->fan, cmp_int);
  s->nfan = 0;
  for (int i = 0; i < n; i++)
    if (!s->nfan || s->fan[s->nfan - 1] != s->fan[i]) s->fan[s->nfan++] = s->fan[i];
  for (int i = 0; i < n; i++) s->opt[i].fan = index_of(s->fan, s->nfan, s->opt[i].fan);
  return OSC_OK;
}

/* The missing-coverage values reachable from C_in, and their transitions. */
static osc_status setup_coverage(search *s) {
  int need = s->need, root = 1, cap;
  while ((long)root * root < need) root++;
  cap = 2 * root + 3;   /* ceil(need / x) takes at most 2 sqrt(need) + 1 values */
  unsigned char *seen = calloc((size_t)need + 1, 1);
  s->rval = malloc((size_t)cap * sizeof *s->rval);
  if (!seen || !s->rval) { free(seen); return OSC_ENOMEM; }
  s->nr = 0;
  s->rval[s->nr++] = need;
  seen[need] = 1;
  for (int q = 0; q < s->nr; q++)
    for (int f = 0; f < s->nfan; f++) {
      int r = (s->rval[q] + s->fan[f] - 1) / s->fan[f];
      if (seen[r]) continue;
      if (s->nr == cap) { free(seen); return OSC_EINTERNAL; }   /* cannot happen */
      seen[r] = 1;
      s->rval[s->nr++] = r;
    }
  free(seen);
  qsort(s->rval, (size_t)s->nr, sizeof *s->rval, cmp_int);
  s->rnext = malloc((size_t)s->nr * s->nfan * sizeof *s->rnext);
  if (!s->rnext) return OSC_ENOMEM;
  for (int f = 0; f < s->nfan; f++)
    for (int r = 0; r < s->nr; r++)
      s->rnext[(size_t)f * s->nr + r] =
          index_of(s->rval, s->nr, (s->rval[r] + s->fan[f] - 1) / s->fan[f]);
  return OSC_OK;
}

/* ---- the bound: cheapest completion under the fan-in product rule --------- */

/* Cheapest way to finish with exactly t more stages from width w, extents
** (eh, ew) used, coverage rval[r] missing: bound_at(...)[r]. */
static size_t row_of(const search *s, int t, int w, int eh, int ew) {
  return (((size_t)t * s->nw + w) * s->kh + eh) * s->kw + ew;
}

static pair *bound_at(const search *s, int t, int w, int eh, int ew) {
  return s->bound + row_of(s, t, w, eh, ew) * s->nr;
}

/* A state that can cover R inputs can cover fewer: the finite entries of a
** row are a prefix. Record its length, so relax() skips the rest. */
static void set_limits(search *s, int t) {
  size_t first = row_of(s, t, 0, 0, 0), rows = (size_t)s->nw * s->kh * s->kw;
  for (size_t i = first; i < first + rows; i++) {
    int n = 0;
    while (n < s->nr && s->bound[i * s->nr + n].p != COST_INF) n++;
    s->lim[i] = n;
  }
}

/* How many missing-coverage values r have next[r] < lim (next ascends). */
static int feasible_prefix(const int *next, int nr, int lim) {
  int lo = 0, hi = nr;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (next[mid] < lim) lo = mid + 1; else hi = mid;
  }
  return lo;
}

static const group_opt *opts_of(const search *s, int w, int w2, int *n) {
  int i = w * s->nw + w2;
  *n = s->opt_at[i + 1] - s->opt_at[i];
  return s->opt + s->opt_at[i];
}

/* One dimension of a stage with kernel k after extent e, as osc_plan_build
** places it (oscplan.c): the padding on the first stage with extent, the
** stride on the last; a dimension with K = 1 puts both on the first stage. */
static void stage_dim(int in, int K, int stride, int pad, int e, int k, int first, int *sz_in,
                      int *sz_out, int *st, int *pd) {
  int e2 = e + k - 1;
  if (K == 1) {
    *st = first ? stride : 1;
    *pd = first ? pad : 0;
    *sz_in = first ? in : osc_conv_out(in, 1, stride, pad);
  } else {
    *st = k > 1 && e2 == K - 1 ? stride : 1;
    *pd = k > 1 && e == 0 ? pad : 0;
    *sz_in = (int)dim_size(in, K, stride, pad, e);
  }
  *sz_out = osc_conv_out(*sz_in, k, *st, *pd);
}

/* Modelled time of the stage w -> w2 with groups o->g and a k1 x k2 kernel
** after extents (eh, ew): the stage osc_plan_build would make. */
static int64_t stage_time(const search *s, int w, int w2, const group_opt *o, int k1, int k2,
                          int eh, int ew, int first, int last) {
  const osc_layer *l = s->l;
  osc_stage st = {.c_in = s->width[w], .c_out = s->width[w2], .groups = o->g, .k_h = k1,
                  .k_w = k2};
  stage_dim(l->in_h, s->kh, l->stride_h, l->pad_h, eh, k1, first, &st.h_in, &st.h_out,
            &st.stride_h, &st.pad_h);
  stage_dim(l->in_w, s->kw, l->stride_w, l->pad_w, ew, k2, first, &st.w_in, &st.w_out,
            &st.stride_w, &st.pad_w);
  return osc_time_stage_ps(&st, last, s->clamped, s->isa);
}

/* A stage's (objective, other metric). Time's other metric is MACs. */
static pair stage_cost(const search *s, int w, int w2, const group_opt *o, int kh, int kw,
                       int eh, int ew, int first, int last) {
  int eh2 = eh + kh - 1, ew2 = ew + kw - 1;
  int64_t params = sat_mul(o->chan, (int64_t)kh * kw);
  int64_t macs = sat_mul(params, s->size[eh2 * s->kw + ew2]);
  pair c = {macs, params};
  if (s->l->objective == OSC_OBJ_PARAMS) { c.p = params; c.s = macs; }
  if (s->time) { c.p = stage_time(s, w, w2, o, kh, kw, eh, ew, first, last); c.s = macs; }
  return c;
}

/* Relax every state of row t through one (w -> w2, groups) stage. The last
** stage (t = 1) must complete the receptive field. */
static void relax(search *s, int t, int w, int w2, const group_opt *o) {
  const int *next = s->rnext + (size_t)o->fan * s->nr;
  for (int eh = 0; eh < s->kh; eh++)
    for (int k1 = t == 1 ? s->kh - eh : 1; k1 <= s->kh - eh; k1++)
      for (int ew = 0; ew < s->kw; ew++)
        for (int k2 = t == 1 ? s->kw - ew : 1; k2 <= s->kw - ew; k2++) {
          int eh2 = eh + k1 - 1, ew2 = ew + k2 - 1;
          int rows = feasible_prefix(next, s->nr, s->lim[row_of(s, t - 1, w2, eh2, ew2)]);
          pair c = stage_cost(s, w, w2, o, k1, k2, eh, ew, 0, t == 1);
          const pair *src = bound_at(s, t - 1, w2, eh2, ew2);
          pair *dst = bound_at(s, t, w, eh, ew);
          for (int r = 0; r < rows; r++) {
            pair b = src[next[r]];
            if (b.p == COST_INF) continue;
            b = pair_add(b, c);
            if (pair_cmp(b, dst[r]) < 0) dst[r] = b;
          }
        }
}

static double bound_work(const search *s) {
  double splits = (double)s->kh * (s->kh + 1) / 2 * s->kw * (s->kw + 1) / 2;
  return (double)(s->levels - 1) * s->opt_at[s->nw * s->nw] * splits * s->nr;
}

static osc_status fill_bounds(search *s, osc_error *err) {
  size_t cells = (size_t)s->levels * s->nw * s->kh * s->kw * s->nr;
  const osc_layer *l = s->l;
  if (cells > TABLE_MAX || bound_work(s) > WORK_MAX)
    return osc_error_layer(err, OSC_ELIMIT, l,
                           "the exact search space is too large (kernel %dx%d, %d widths, "
                           "max_stages %d): lower max_stages, the kernel or the widths",
                           l->k_h, l->k_w, s->nw, l->max_stages);
  s->bound = malloc(cells * sizeof *s->bound);
  s->lim = malloc(cells / s->nr * sizeof *s->lim);
  if (!s->bound || !s->lim)
    return osc_error_layer(err, OSC_ENOMEM, l, "out of memory in the search");
  for (size_t i = 0; i < cells; i++) s->bound[i] = pair_inf;
  bound_at(s, 0, s->w_out, s->kh - 1, s->kw - 1)[0] = (pair){0, 0};   /* rval[0] = 1 */
  set_limits(s, 0);
  for (int t = 1; t < s->levels; t++) {
    for (int w = 0; w < s->nw; w++)
      for (int w2 = t == 1 ? s->w_out : 0; w2 < (t == 1 ? s->w_out + 1 : s->nw); w2++) {
        int n;
        const group_opt *o = opts_of(s, w, w2, &n);
        for (int i = 0; i < n; i++) relax(s, t, w, w2, &o[i]);
      }
    set_limits(s, t);
  }
  return OSC_OK;
}

/* ---- branch and bound over one stage count -------------------------------- */

/* Tie order of a stage: width ascending, groups ascending, then the taller
** and then the wider kernel first. */
static uint64_t stage_key(int w, int g, int kh, int kw) {
  return (uint64_t)w << 40 | (uint64_t)g << 16 | (uint64_t)(127 - kh) << 8 |
         (uint64_t)(127 - kw);
}

/* 1 if no chain through this candidate can enter the top list: its bound,
** then its stages (path[0..depth-1], then key), lose to the last kept one. */
static int beaten(const search *s, int depth, pair total, uint64_t key) {
  const top_chain *last = &s->top[s->keep - 1];
  int c;
  if (total.p >= s->cap) return 1;   /* more stages must be strictly cheaper */
  if (s->n_top < s->keep) return 0;
  if ((c = pair_cmp(total, last->cost))) return c > 0;
  for (int i = 0; i < depth; i++)
    if (s->path_key[i] != last->key[i]) return s->path_key[i] > last->key[i];
  return key > last->key[depth];
}

static int kid_cmp(const void *a, const void *b) {
  const kid *x = a, *y = b;
  int c = pair_cmp(x->total, y->total);
  if (c) return c;
  return (x->key > y->key) - (x->key < y->key);
}

static int push_kid(search *s, kid_list *ks, const kid *k) {
  if (ks->n == ks->cap) {
    int cap = ks->cap ? 2 * ks->cap : 64;
    kid *v = realloc(ks->v, (size_t)cap * sizeof *v);
    if (!v) { s->status = OSC_ENOMEM; return -1; }
    ks->v = v;
    ks->cap = cap;
  }
  ks->v[ks->n++] = *k;
  return 0;
}

/* Candidates for stage `depth` (t stages left) through one (w -> w2) pair. */
static int add_kids(search *s, int depth, int t, int w, int eh, int ew, int r, pair acc,
                    int w2) {
  int n, all = s->kh * s->kw, fit = t == 1 ? 1 : (s->kh - eh) * (s->kw - ew);
  const group_opt *o = opts_of(s, w, w2, &n);
  s->lv->rejected_divisibility += s->ndiv[w] - n;
  for (int i = 0; i < n; i++) {
    int r2 = s->rnext[(size_t)o[i].fan * s->nr + r];
    s->lv->rejected_field += all - fit;
    for (int k1 = t == 1 ? s->kh - eh : 1; k1 <= s->kh - eh; k1++)
      for (int k2 = t == 1 ? s->kw - ew : 1; k2 <= s->kw - ew; k2++) {
        kid k = {.w = w2, .g = o[i].g, .kh = k1, .kw = k2, .eh = eh + k1 - 1,
                 .ew = ew + k2 - 1, .r = r2};
        pair b = bound_at(s, t - 1, w2, k.eh, k.ew)[r2];
        if (b.p == COST_INF) { s->lv->rejected_coverage++; continue; }
        k.acc = pair_add(acc, stage_cost(s, w, w2, &o[i], k1, k2, eh, ew, depth == 0, t == 1));
        k.total = pair_add(k.acc, b);
        k.key = stage_key(w2, k.g, k1, k2);
        if (k.total.p >= COST_MAX) {   /* no completion fits 64 bits */
          s->overflow = 1;
          s->lv->pruned_bound++;
          continue;
        }
        if (beaten(s, depth, k.total, k.key)) { s->lv->pruned_bound++; continue; }
        if (push_kid(s, &s->kids[depth], &k)) return -1;
      }
  }
  return 0;
}

static void keep_chain(search *s, pair cost) {
  int at = s->n_top < s->keep ? s->n_top : s->keep - 1;
  /* beaten() let it through, so it belongs before the last kept entry */
  while (at > 0) {
    const top_chain *prev = &s->top[at - 1];
    int c = pair_cmp(cost, prev->cost), i = 0;
    while (!c && i < s->n && s->path_key[i] == prev->key[i]) i++;
    if (!c && i < s->n) c = s->path_key[i] < prev->key[i] ? -1 : 1;
    if (c > 0) break;
    if (at < s->keep) s->top[at] = *prev;
    at--;
  }
  s->top[at].cost = cost;
  memcpy(s->top[at].key, s->path_key, sizeof s->path_key);
  memcpy(s->top[at].spec, s->path, sizeof s->path);
  if (s->n_top < s->keep) s->n_top++;
}

static int fits(pair c) { return c.p < COST_MAX && c.s < COST_MAX; }

/* The structural walk, remembered for chains that differ only in kernels. */
static int covers(search *s, const int *c, const int *g) {
  walked w = {.n = s->n};
  memcpy(w.c, c, (size_t)(s->n + 1) * sizeof *c);
  memcpy(w.g, g, (size_t)s->n * sizeof *g);
  for (int i = 0; i < s->n_walks && i < WALKS_KEPT; i++)
    if (!memcmp(&s->walks[i], &w, offsetof(walked, covers))) return s->walks[i].covers;
  w.covers = osc_cover_chain_full(s->n, c, g, s->need);
  s->walks[s->n_walks++ % WALKS_KEPT] = w;
  return w.covers;
}

/* A complete chain: the product rule held; the structural walk decides.
** A chain whose cost does not fit 64 bits cannot be a plan: it is skipped. */
static void leaf(search *s, pair cost) {
  int c[OSC_MAX_STAGES + 1], g[OSC_MAX_STAGES];
  if (!fits(cost)) {
    s->overflow = 1;
    return;
  }
  if (++s->steps > STEPS_MAX) { s->status = OSC_ELIMIT; return; }
  c[0] = s->l->in_channels;
  for (int i = 0; i < s->n; i++) {
    c[i + 1] = s->path[i].out_channels;
    g[i] = s->path[i].groups;
  }
  switch (covers(s, c, g)) {
  case 1: break;
  case 0: s->lv->rejected_structure++; return;
  default: s->status = OSC_ENOMEM; return;
  }
  keep_chain(s, cost);
}

static void expand(search *s, int depth, int w, int eh, int ew, int r, pair acc) {
  int t = s->n - depth;
  kid_list *ks = &s->kids[depth];
  s->lv->nodes++;
  if (++s->steps > STEPS_MAX) { s->status = OSC_ELIMIT; return; }
  ks->n = 0;
  for (int w2 = t == 1 ? s->w_out : 0; w2 < (t == 1 ? s->w_out + 1 : s->nw); w2++)
    if (add_kids(s, depth, t, w, eh, ew, r, acc, w2)) return;
  if (ks->n > 1) qsort(ks->v, (size_t)ks->n, sizeof *ks->v, kid_cmp);
  for (int i = 0; i < ks->n && !s->status; i++) {
    const kid *k = &ks->v[i];
    if (beaten(s, depth, k->total, k->key)) {   /* sorted: the rest lose too */
      s->lv->pruned_bound += ks->n - i;
      break;
    }
    s->path_key[depth] = k->key;
    s->path[depth] = (osc_stage_spec){s->width[k->w], k->g, k->kh, k->kw};
    if (t == 1) leaf(s, k->acc);
    else expand(s, depth + 1, k->w, k->eh, k->ew, k->r, k->acc);
  }
}

/* ---- the answer --------------------------------------------------------------- */

/* Build a kept chain through osc_plan_build and check that the plan costs
** what the search said it does. */
static osc_status build(const search *s, int n, const top_chain *c, osc_plan *out,
                        osc_error *err) {
  const osc_layer *l = s->l;
  int64_t bias = l->bias ? l->out_channels : 0;
  osc_status st = osc_plan_build(l, OSC_MODE_OPTIMAL, n, c->spec, out, err);
  pair got;
  if (st) return st;
  got.p = l->objective == OSC_OBJ_PARAMS ? out->params - bias : out->macs;
  got.s = l->objective == OSC_OBJ_PARAMS ? out->macs : out->params - bias;
  if (s->time) { got.p = osc_time_plan_ps(out, s->isa); got.s = out->macs; }
  if (pair_cmp(got, c->cost))
    return osc_error_layer(err, OSC_EINTERNAL, l,
                           "the search costed a %d-stage chain at %lld/%lld but the plan "
                           "costs %lld/%lld", n, (long long)c->cost.p, (long long)c->cost.s,
                           (long long)got.p, (long long)got.s);
  return OSC_OK;
}

static osc_status search_stage_count(search *s, int n, top_chain *best, int *n_best,
                                     osc_error *err) {
  s->n = n;
  s->n_top = 0;
  s->steps = 0;
  s->status = OSC_OK;
  expand(s, 0, s->w_in, 0, 0, s->nr - 1, (pair){0, 0});
  if (s->status == OSC_ENOMEM)
    return osc_error_layer(err, OSC_ENOMEM, s->l, "out of memory in the search");
  if (s->status)
    return osc_error_layer(err, OSC_ELIMIT, s->l,
                           "the search for %d-stage chains took more than %d steps: lower "
                           "max_stages or the widths", n, STEPS_MAX);
  memcpy(best, s->top, sizeof s->top);
  *n_best = s->n_top;
  return OSC_OK;
}

static osc_status setup(search *s, const osc_layer *l, osc_error *err) {
  osc_status st;
  memset(s, 0, sizeof *s);
  s->l = l;
  s->need = l->in_channels;
  s->kh = l->k_h;
  s->kw = l->k_w;
  s->levels = l->max_stages;
  s->time = l->objective == OSC_OBJ_TIME;
  if (s->time && (st = osc_isa_runtime(&s->isa, err))) return st;
  {
    float lo, hi;
    s->clamped = osc_layer_act_bounds(l, &lo, &hi) == 2;
  }
  s->nw = osc_layer_width_candidates(l, s->width);
  s->w_in = index_of(s->width, s->nw, l->in_channels);
  s->w_out = index_of(s->width, s->nw, l->out_channels);
  if ((st = setup_sizes(s)) || (st = setup_groups(s)) || (st = setup_coverage(s)))
    return osc_error_layer(err, st, l, st == OSC_ENOMEM ? "out of memory in the search"
                                                        : "the search's coverage states "
                                                          "overflowed (a bug)");
  return fill_bounds(s, err);
}

static void teardown(search *s) {
  for (int i = 0; i < OSC_MAX_STAGES; i++) free(s->kids[i].v);
  free(s->size);
  free(s->opt);
  free(s->fan);
  free(s->rval);
  free(s->rnext);
  free(s->bound);
  free(s->lim);
}

static osc_status report_level(const search *s, int n, const top_chain *top, int n_top,
                               osc_search_level *lv, osc_error *err) {
  lv->n_best = 0;
  for (int i = 0; i < n_top; i++) {
    osc_status st = build(s, n, &top[i], &lv->best[lv->n_best], err);
    if (st) return st;
    lv->n_best++;
  }
  return OSC_OK;
}

/* Per stage count: search, keep its best, fill the report when asked. */
static osc_status run(search *s, osc_search_report *rep, osc_plan *out, osc_error *err) {
  top_chain top[OSC_SEARCH_TOP], best;
  osc_search_level scratch;
  int n_top = 0, best_n = 0;
  osc_status st;
  memset(&best, 0, sizeof best);
  for (int n = 1; n <= s->l->max_stages; n++) {
    memset(&scratch, 0, sizeof scratch);
    s->lv = rep ? &rep->level[n] : &scratch;
    if ((st = search_stage_count(s, n, top, &n_top, err))) return st;
    /* objective first, then fewer stages: only a strictly cheaper chain wins */
    if (n_top && (!best_n || top[0].cost.p < best.cost.p)) {
      best = top[0];
      best_n = n;
      if (!rep) s->cap = best.cost.p;
    }
    if (rep && (st = report_level(s, n, top, n_top, s->lv, err))) return st;
  }
  if (!best_n && s->overflow)
    return osc_error_layer(err, OSC_EINVAL, s->l,
                           "the layer is too large: the cost of every chain of at most %d "
                           "stages overflows 64 bits", s->l->max_stages);
  if (!best_n)
    return osc_error_layer(err, OSC_ENOPLAN, s->l,
                           "no chain of at most %d stages covers every input channel",
                           s->l->max_stages);
  return build(s, best_n, &best, out, err);
}

osc_status osc_search_optimal(const osc_layer *l, osc_search_report *report,
                              osc_plan *out, osc_error *err) {
  search s;
  osc_status st;
  if (report) {
    memset(report, 0, sizeof *report);
    report->max_stages = l->max_stages;
  }
  if ((st = osc_layer_validate(l, err))) return st;
  if (l->groups != 1)
    return osc_error_layer(err, OSC_EINVAL, l,
                           "the optimal search needs an ungrouped layer (groups %d)",
                           l->groups);
  st = setup(&s, l, err);
  s.keep = report ? OSC_SEARCH_TOP : 1;
  s.cap = COST_INF;
  if (!st) st = run(&s, report, out, err);
  teardown(&s);
  return st;
}

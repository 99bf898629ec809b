/*
** test_search.c -- the optimal search against an independent brute force
** (every chain enumerated, costed from first principles, coverage simulated
** with explicit shuffle permutations and boolean matrices), against SPEC.md's
** closed forms, and its ties and errors.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osc_test.h"
#include "oscplan.h"
#include "oscsearch.h"
#include "osctime.h"

/* ---- the brute force ---------------------------------------------------------- */

#define BF_MAXC 16
#define BF_MAXN 3

typedef struct bf_chain {
  int n;
  int c[BF_MAXN + 1], g[BF_MAXN], kh[BF_MAXN], kw[BF_MAXN];
  int64_t prim, sec;   /* objective, other metric (time's: MACs) */
  int64_t macs, params;   /* params include the bias */
} bf_chain;

typedef struct bf_result {
  int n_top[BF_MAXN + 1];                      /* valid chains kept, at most 3 */
  bf_chain top[BF_MAXN + 1][OSC_SEARCH_TOP];   /* per stage count, best first */
} bf_result;

/* Does every output channel of the chain see every input channel? Simulates
** grouped stages and ChannelShuffle(g) as a permutation of boolean rows. */
static int bf_covers(int n, const int *c, const int *g) {
  unsigned char reach[BF_MAXC][BF_MAXC], next[BF_MAXC][BF_MAXC];
  memset(reach, 0, sizeof reach);
  for (int ch = 0; ch < c[0]; ch++) reach[ch][ch] = 1;
  for (int i = 0; i < n; i++) {
    int fan = c[i] / g[i], per = c[i + 1] / g[i];
    memset(next, 0, sizeof next);
    for (int o = 0; o < c[i + 1]; o++)
      for (int t = 0; t < fan; t++)
        for (int x = 0; x < c[0]; x++) next[o][x] |= reach[(o / per) * fan + t][x];
    for (int o = 0; o < c[i + 1]; o++) {
      /* shuffle: channel (group a, index b) moves to b * g + a */
      int to = i + 1 < n ? (o % per) * g[i] + o / per : o;
      memcpy(reach[to], next[o], sizeof next[o]);
    }
  }
  for (int o = 0; o < c[n]; o++)
    for (int x = 0; x < c[0]; x++)
      if (!reach[o][x]) return 0;
  return 1;
}

/* Output sizes of one dimension per the documented rule: padding on the
** first stage with k > 1, stride on the last (stage 0 if none). */
static void bf_sizes(int n, const int *k, int in, int stride, int pad, int *out) {
  int first = -1, last = 0;
  for (int i = 0; i < n; i++)
    if (k[i] > 1) { if (first < 0) first = i; last = i; }
  if (first < 0) first = 0;
  for (int i = 0; i < n; i++) {
    int p = i == first ? pad : 0, s = i == last ? stride : 1;
    out[i] = (in + 2 * p - k[i]) / s + 1;
    in = out[i];
  }
}

static void bf_cost(const osc_layer *l, bf_chain *ch) {
  int h[BF_MAXN], w[BF_MAXN];
  int64_t params = l->bias ? l->out_channels : 0, macs = 0;
  bf_sizes(ch->n, ch->kh, l->in_h, l->stride_h, l->pad_h, h);
  bf_sizes(ch->n, ch->kw, l->in_w, l->stride_w, l->pad_w, w);
  for (int i = 0; i < ch->n; i++) {
    int64_t p = (int64_t)ch->c[i + 1] * (ch->c[i] / ch->g[i]) * ch->kh[i] * ch->kw[i];
    params += p;
    macs += p * h[i] * w[i];
  }
  ch->macs = macs;
  ch->params = params;
  ch->prim = l->objective == OSC_OBJ_PARAMS ? params : macs;
  ch->sec = l->objective == OSC_OBJ_PARAMS ? macs : params;
  if (l->objective == OSC_OBJ_TIME) {   /* the model of the plan osc_plan_build makes */
    osc_stage_spec spec[BF_MAXN];
    osc_plan p;
    for (int i = 0; i < ch->n; i++)
      spec[i] = (osc_stage_spec){ch->c[i + 1], ch->g[i], ch->kh[i], ch->kw[i]};
    /* a chain that does not build does not cover (bf_covers agrees or the
    ** comparison with the search fails) */
    ch->prim = osc_plan_build(l, OSC_MODE_OPTIMAL, ch->n, spec, &p, NULL)
                   ? INT64_MAX : osc_time_plan_ps(&p, osc_time_isa());
    ch->sec = macs;
  }
}

/* The documented order within one stage count: objective, other metric,
** then stage by stage (width asc, groups asc, k_h desc, k_w desc). */
static int bf_cmp(const bf_chain *a, const bf_chain *b) {
  if (a->prim != b->prim) return a->prim < b->prim ? -1 : 1;
  if (a->sec != b->sec) return a->sec < b->sec ? -1 : 1;
  for (int i = 0; i < a->n; i++) {
    int x[4] = {a->c[i + 1], a->g[i], -a->kh[i], -a->kw[i]};
    int y[4] = {b->c[i + 1], b->g[i], -b->kh[i], -b->kw[i]};
    for (int j = 0; j < 4; j++)
      if (x[j] != y[j]) return x[j] < y[j] ? -1 : 1;
  }
  return 0;
}

static void bf_offer(const osc_layer *l, bf_result *r, bf_chain *ch) {
  int n = ch->n, at;
  bf_cost(l, ch);
  if (r->n_top[n] == OSC_SEARCH_TOP && bf_cmp(ch, &r->top[n][OSC_SEARCH_TOP - 1]) >= 0)
    return;
  if (!bf_covers(n, ch->c, ch->g)) return;   /* only costs that matter are checked */
  at = r->n_top[n] < OSC_SEARCH_TOP ? r->n_top[n]++ : OSC_SEARCH_TOP - 1;
  while (at > 0 && bf_cmp(ch, &r->top[n][at - 1]) < 0) {
    r->top[n][at] = r->top[n][at - 1];
    at--;
  }
  r->top[n][at] = *ch;
}

/* Every chain: stage i picks a width (the last: out_channels), every group
** count 1..C that divides both widths, every kernel that fits. */
static void bf_stage(const osc_layer *l, const int *widths, int nw, bf_result *r,
                     bf_chain *ch, int i, int eh, int ew) {
  int last = i == ch->n - 1;
  for (int wi = 0; wi < (last ? 1 : nw); wi++) {
    int cout = last ? l->out_channels : widths[wi];
    for (int g = 1; g <= cout && g <= ch->c[i]; g++) {
      if (ch->c[i] % g || cout % g) continue;
      for (int kh = 1; eh + kh - 1 <= l->k_h; kh++)
        for (int kw = 1; ew + kw - 1 <= l->k_w; kw++) {
          if (last && (eh + kh - 1 != l->k_h || ew + kw - 1 != l->k_w)) continue;
          ch->c[i + 1] = cout;
          ch->g[i] = g;
          ch->kh[i] = kh;
          ch->kw[i] = kw;
          if (last) bf_offer(l, r, ch);
          else bf_stage(l, widths, nw, r, ch, i + 1, eh + kh - 1, ew + kw - 1);
        }
    }
  }
}

static void brute_force(const osc_layer *l, bf_result *r) {
  int widths[2 + OSC_MAX_WIDTHS], nw = 0;
  int all[2 + OSC_MAX_WIDTHS] = {l->in_channels, l->out_channels};
  for (int i = 0; i < l->n_widths; i++) all[2 + i] = l->widths[i];
  for (int i = 0; i < 2 + l->n_widths; i++) {
    int dup = 0;
    for (int j = 0; j < nw; j++) dup |= widths[j] == all[i];
    if (!dup) widths[nw++] = all[i];
  }
  memset(r, 0, sizeof *r);
  for (int n = 1; n <= l->max_stages; n++) {
    bf_chain ch = {.n = n, .c = {l->in_channels}};
    bf_stage(l, widths, nw, r, &ch, 0, 1, 1);
  }
}

/* The overall answer: objective, then fewer stages, then the other metric. */
static const bf_chain *bf_best(const bf_result *r, int max_stages) {
  const bf_chain *best = NULL;
  for (int n = 1; n <= max_stages; n++)
    if (r->n_top[n] && (!best || r->top[n][0].prim < best->prim)) best = &r->top[n][0];
  return best;
}

/* ---- checking a plan with the brute force's own rules ---------------------- */

static bf_chain chain_of_plan(const osc_plan *p) {
  bf_chain ch = {.n = p->n_stages, .c = {p->layer.in_channels}};
  for (int i = 0; i < p->n_stages && i < BF_MAXN; i++) {
    ch.c[i + 1] = p->stage[i].c_out;
    ch.g[i] = p->stage[i].groups;
    ch.kh[i] = p->stage[i].k_h;
    ch.kw[i] = p->stage[i].k_w;
  }
  return ch;
}

/* 1 if the plan is a valid replacement of l: divisibility, receptive field,
** output shape, coverage, and its stated cost. */
static int bf_plan_valid(const osc_layer *l, const osc_plan *p) {
  bf_chain ch = chain_of_plan(p);
  int h[BF_MAXN], w[BF_MAXN], eh = 1, ew = 1, n = p->n_stages;
  if (n < 1 || n > BF_MAXN || ch.c[n] != l->out_channels) return 0;
  for (int i = 0; i < n; i++) {
    if (ch.c[i] % ch.g[i] || ch.c[i + 1] % ch.g[i]) return 0;
    if (p->stage[i].c_in != ch.c[i]) return 0;
    eh += ch.kh[i] - 1;
    ew += ch.kw[i] - 1;
  }
  if (eh != l->k_h || ew != l->k_w) return 0;
  bf_sizes(n, ch.kh, l->in_h, l->stride_h, l->pad_h, h);
  bf_sizes(n, ch.kw, l->in_w, l->stride_w, l->pad_w, w);
  if (h[n - 1] != (l->in_h + 2 * l->pad_h - l->k_h) / l->stride_h + 1) return 0;
  if (w[n - 1] != (l->in_w + 2 * l->pad_w - l->k_w) / l->stride_w + 1) return 0;
  if (!bf_covers(n, ch.c, ch.g)) return 0;
  bf_cost(l, &ch);
  return p->macs == ch.macs && p->params == ch.params;
}

static int same_chain(const bf_chain *a, const bf_chain *b) {
  if (a->n != b->n) return 0;
  for (int i = 0; i < a->n; i++)
    if (a->c[i + 1] != b->c[i + 1] || a->g[i] != b->g[i] || a->kh[i] != b->kh[i] ||
        a->kw[i] != b->kw[i])
      return 0;
  return 1;
}

static void describe_layer(const osc_layer *l, char *buf, size_t size) {
  snprintf(buf, size, "%d->%d %dx%d in %dx%d s%d,%d p%d,%d max %d %s bias %d widths %d",
           l->in_channels, l->out_channels, l->k_h, l->k_w, l->in_h, l->in_w, l->stride_h,
           l->stride_w, l->pad_h, l->pad_w, l->max_stages, osc_objective_name(l->objective),
           l->bias, l->n_widths);
}

/* Search one layer and compare everything with the brute force. Returns 1 if
** all agreed (CUnit records each failing assertion as well). */
static int check_layer(const osc_layer *l) {
  static osc_search_report rep;
  osc_plan p;
  osc_error err;
  bf_result r;
  char what[256];
  int ok = 1;
  describe_layer(l, what, sizeof what);
  brute_force(l, &r);
  const bf_chain *want = bf_best(&r, l->max_stages);
  osc_status st = osc_search_optimal(l, &rep, &p, &err);
  CU_ASSERT_EQUAL_FATAL(st, OSC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(want);
  bf_chain got = chain_of_plan(&p);
  bf_cost(l, &got);
  ok &= got.prim == want->prim && p.n_stages == want->n && got.sec == want->sec;
  ok &= same_chain(&got, want);
  ok &= bf_plan_valid(l, &p);
  /* without a report the search keeps less, and must answer the same */
  osc_plan q;
  CU_ASSERT_EQUAL_FATAL(osc_search_optimal(l, NULL, &q, &err), OSC_OK);
  bf_chain alone = chain_of_plan(&q);
  ok &= same_chain(&alone, want);
  for (int n = 1; n <= l->max_stages; n++) {
    ok &= rep.level[n].n_best == r.n_top[n];
    for (int i = 0; i < r.n_top[n] && i < rep.level[n].n_best; i++) {
      bf_chain c = chain_of_plan(&rep.level[n].best[i]);
      ok &= same_chain(&c, &r.top[n][i]) && bf_plan_valid(l, &rep.level[n].best[i]);
      ok &= rep.level[n].rejected_structure == 0;
    }
  }
  if (!ok)
    fprintf(stderr, "\n  mismatch on %s: search %d stages %lld/%lld, brute force %d stages "
            "%lld/%lld\n", what, p.n_stages, (long long)got.prim, (long long)got.sec,
            want->n, (long long)want->prim, (long long)want->sec);
  CU_ASSERT(ok);
  return ok;
}

static void layer_shape(osc_layer *l, int cin, int cout, int kh, int kw, int h, int w) {
  osc_layer_init(l);
  l->in_channels = cin;
  l->out_channels = cout;
  l->k_h = kh;
  l->k_w = kw;
  l->in_h = h;
  l->in_w = w;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_brute_force_edges(void) {
  /* {cin, cout, kh, kw, stride, pad, max_stages, extra width} */
  static const int cases[][8] = {
      {1, 1, 3, 3, 1, 1, 3, 0},   {1, 1, 1, 1, 1, 0, 3, 0},   {7, 7, 3, 3, 1, 1, 3, 0},
      {11, 11, 3, 3, 2, 1, 2, 0}, {13, 13, 1, 1, 1, 0, 3, 0}, {3, 8, 3, 3, 1, 1, 3, 0},
      {12, 5, 3, 3, 2, 0, 3, 0},  {8, 8, 1, 1, 1, 0, 3, 0},   {8, 8, 3, 1, 1, 1, 3, 0},
      {8, 8, 1, 3, 2, 1, 3, 0},   {9, 9, 5, 1, 1, 2, 3, 0},   {6, 10, 3, 3, 1, 1, 3, 4},
      {12, 12, 3, 3, 1, 1, 3, 6}, {4, 4, 3, 3, 1, 1, 3, 2},   {16, 16, 3, 3, 1, 1, 3, 0},
      {2, 12, 4, 4, 2, 1, 2, 0},  {12, 12, 5, 5, 1, 2, 2, 3}, {5, 3, 2, 2, 1, 0, 3, 15},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int obj = 0; obj < 3; obj++) {
      const int *c = cases[i];
      osc_layer l;
      layer_shape(&l, c[0], c[1], c[2], c[3], 9, 7);
      l.stride_h = l.stride_w = c[4];
      l.pad_h = l.pad_w = c[5];
      l.max_stages = c[6];
      if (c[7]) l.widths[l.n_widths++] = c[7];
      l.objective = (osc_objective)obj;
      check_layer(&l);
    }
}

static void random_layer(uint64_t *rng, osc_layer *l) {
  int big = osc_test_range(rng, 0, 9) == 0;   /* kernels 4 and 5, with fewer stages */
  layer_shape(l, osc_test_range(rng, 1, 12), osc_test_range(rng, 1, 12),
              osc_test_range(rng, 1, big ? 5 : 3), osc_test_range(rng, 1, big ? 5 : 3), 0, 0);
  l->stride_h = osc_test_range(rng, 1, 2);
  l->stride_w = osc_test_range(rng, 1, 2);
  l->pad_h = osc_test_range(rng, 0, 1);
  l->pad_w = osc_test_range(rng, 0, 1);
  l->in_h = l->k_h + osc_test_range(rng, 0, 6);
  l->in_w = l->k_w + osc_test_range(rng, 0, 6);
  l->max_stages = osc_test_range(rng, 1, big ? 2 : 3);
  l->objective = (osc_objective)osc_test_range(rng, 0, 2);
  l->bias = osc_test_range(rng, 0, 1);
  l->act = (osc_activation)osc_test_range(rng, 0, 2);   /* relu6 keeps the SIMD kernels off */
  l->n_widths = osc_test_range(rng, 0, 2);
  for (int i = 0; i < l->n_widths; i++) l->widths[i] = osc_test_range(rng, 1, 12);
}

static void test_brute_force_random(void) {
  uint64_t rng = osc_test_seed() ^ 0x5ea4c11u;
  int n = osc_test_quick() ? 60 : 400, failed = 0;
  for (int i = 0; i < n && failed < 5; i++) {
    osc_layer l;
    random_layer(&rng, &l);
    failed += !check_layer(&l);
  }
}

static int64_t ipow_half(int64_t c) {   /* c^{3/2} for a perfect square c */
  int64_t r = (int64_t)llround(sqrt((double)c));
  return c * r;
}

/* SPEC.md: N = 2 reaches 2 C^{3/2} K; the baselines cost C^2K^2, C(C+K^2), 2C^2K. */
static void test_closed_form_two_stages(void) {
  static const int cs[] = {16, 64, 256, 1024}, ks[] = {3, 5, 7};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) {
      int c = cs[i], k = ks[j];
      int64_t want = 2 * ipow_half(c) * k;
      osc_layer l;
      osc_plan p;
      osc_error err;
      layer_shape(&l, c, c, k, k, 14, 14);
      l.pad_h = l.pad_w = k / 2;
      l.objective = OSC_OBJ_PARAMS;
      l.max_stages = 2;
      CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, NULL, &p, &err), OSC_OK);
      CU_ASSERT_EQUAL(p.params, want);
      CU_ASSERT_EQUAL(p.n_stages, 2);
      CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &p, &err), OSC_OK);
      CU_ASSERT_EQUAL(p.params, (int64_t)c * c * k * k);
      CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_DEPTHWISE, &p, &err), OSC_OK);
      CU_ASSERT_EQUAL(p.params, (int64_t)c * (c + k * k));
      CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_SPATIAL, &p, &err), OSC_OK);
      CU_ASSERT_EQUAL(p.params, 2 * (int64_t)c * c * k);
    }
}

/* SPEC.md: unrestricted N, C = 2^m: C (2K + 2 log2 C), above e C ln(C K^2);
** with "same" padding the MACs optimum is that times H W. */
static void test_closed_form_many_stages(void) {
  static const int cases[][3] = {/* C, K, the figure SPEC.md states (0: none) */
                                 {64, 3, 1152},  {256, 3, 5632}, {1024, 5, 30720},
                                 {16, 3, 0},     {32, 5, 0},     {128, 7, 0},
                                 {512, 3, 0},    {2048, 3, 0},   {4, 5, 0},
                                 {2, 3, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int c = cases[i][0], k = cases[i][1], log2c = 0, hw = 10;
    while ((1 << log2c) < c) log2c++;
    int64_t want = (int64_t)c * (2 * k + 2 * log2c);
    osc_layer l;
    osc_plan p;
    osc_error err;
    if (cases[i][2]) CU_ASSERT_EQUAL(want, cases[i][2]);
    layer_shape(&l, c, c, k, k, hw, hw);
    l.pad_h = l.pad_w = k / 2;
    l.max_stages = 16;
    l.objective = OSC_OBJ_PARAMS;
    CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, NULL, &p, &err), OSC_OK);
    CU_ASSERT_EQUAL(p.params, want);
    CU_ASSERT(exp(1.0) * c * log((double)c * k * k) <= (double)p.params);
    l.objective = OSC_OBJ_MACS;
    CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, NULL, &p, &err), OSC_OK);
    CU_ASSERT_EQUAL(p.macs, want * hw * hw);
    CU_ASSERT_EQUAL(p.macs, p.params * hw * hw);
  }
}

/* C = 1024, K = 5 needs 7 stages; 8 stages (fan-ins 4,4,4,4,2,2) cost the
** same, and the fewer stages win. */
static void test_tie_fewer_stages(void) {
  static osc_search_report rep;
  osc_layer l;
  osc_plan p;
  osc_error err;
  layer_shape(&l, 1024, 1024, 5, 5, 8, 8);
  l.pad_h = l.pad_w = 2;
  l.objective = OSC_OBJ_PARAMS;
  l.max_stages = 8;
  CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, &rep, &p, &err), OSC_OK);
  CU_ASSERT_EQUAL(p.n_stages, 7);
  CU_ASSERT_EQUAL(rep.level[8].n_best, OSC_SEARCH_TOP);
  CU_ASSERT_EQUAL(rep.level[8].best[0].params, p.params);
  CU_ASSERT(rep.level[6].best[0].params > p.params);
  /* 1x1, 16 channels: fan-ins 4,4 (128) and 4,2,2 (128) tie; 16x16 costs 256 */
  layer_shape(&l, 16, 16, 1, 1, 4, 4);
  l.max_stages = 3;
  for (int obj = 0; obj < 2; obj++) {
    l.objective = obj ? OSC_OBJ_PARAMS : OSC_OBJ_MACS;
    CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, &rep, &p, &err), OSC_OK);
    CU_ASSERT_EQUAL(p.n_stages, 2);
    CU_ASSERT_EQUAL(p.params, 128);
    CU_ASSERT_EQUAL(rep.level[3].best[0].params, 128);
    CU_ASSERT_EQUAL(rep.level[1].best[0].params, 256);
    check_layer(&l);
  }
  /* 1x1, 4 channels: dense (16) ties with fan-ins 2,2 (16): one stage wins */
  layer_shape(&l, 4, 4, 1, 1, 4, 4);
  CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, &rep, &p, &err), OSC_OK);
  CU_ASSERT_EQUAL(p.n_stages, 1);
  CU_ASSERT_EQUAL(rep.level[2].best[0].macs, p.macs);
}

/* max_stages 1 is the conventional layer; any valid layer has a plan. */
static void test_always_feasible(void) {
  uint64_t rng = osc_test_seed() ^ 0xfea51b1eu;
  int n = osc_test_quick() ? 50 : 300;
  for (int i = 0; i < n; i++) {
    osc_layer l;
    osc_plan p, conv;
    osc_error err;
    layer_shape(&l, osc_test_range(&rng, 1, 300), osc_test_range(&rng, 1, 300),
                osc_test_range(&rng, 1, 7), osc_test_range(&rng, 1, 7), 0, 0);
    l.in_h = l.k_h + osc_test_range(&rng, 0, 20);
    l.in_w = l.k_w + osc_test_range(&rng, 0, 20);
    l.stride_h = osc_test_range(&rng, 1, 3);
    l.pad_w = osc_test_range(&rng, 0, 3);
    l.objective = osc_test_range(&rng, 0, 1) ? OSC_OBJ_PARAMS : OSC_OBJ_MACS;
    l.max_stages = 1;
    CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, NULL, &p, &err), OSC_OK);
    CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &conv, &err), OSC_OK);
    CU_ASSERT_EQUAL(p.n_stages, 1);
    CU_ASSERT_EQUAL(p.macs, conv.macs);
    CU_ASSERT_EQUAL(p.params, conv.params);
    l.max_stages = osc_test_range(&rng, 2, 6);
    l.n_widths = osc_test_range(&rng, 0, 3);
    for (int w = 0; w < l.n_widths; w++) l.widths[w] = osc_test_range(&rng, 1, 512);
    CU_ASSERT_EQUAL_FATAL(osc_search_optimal(&l, NULL, &p, &err), OSC_OK);
    CU_ASSERT(l.objective == OSC_OBJ_MACS ? p.macs <= conv.macs : p.params <= conv.params);
  }
}

/* Objective time: by the model, the chosen plan is never slower than the
** baselines' chains (valid chains of the same space) nor the MACs optimum
** with the same max_stages; on every ISA the model knows. Shapes like a
** ResNet's, seeded. */
static void test_time_beats_baselines(void) {
  static const char *const isas[] = {"c", "avx2", "avx512"};
  uint64_t rng = osc_test_seed() ^ 0x71e0b1u;
  int n = osc_test_quick() ? 12 : 40;
  for (int i = 0; i < n; i++) {
    static const int cs[] = {16, 32, 64, 96, 128, 256};
    osc_layer l;
    osc_plan t, other;
    osc_error err;
    int k = 2 * osc_test_range(&rng, 0, 2) + 1, size = 7 * osc_test_range(&rng, 1, 4);
    layer_shape(&l, cs[osc_test_range(&rng, 0, 5)], cs[osc_test_range(&rng, 0, 5)], k, k, size,
                size);
    l.pad_h = l.pad_w = k / 2;
    l.stride_h = l.stride_w = osc_test_range(&rng, 1, 2);
    l.act = (osc_activation)osc_test_range(&rng, 0, 2);
    l.max_stages = osc_test_range(&rng, 1, 4);
    setenv("OSCONV_ISA", isas[i % 3], 1);
    l.objective = OSC_OBJ_TIME;
    CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &t, NULL), OSC_OK);
    for (int m = 0; m <= 3; m++) {
      static const osc_mode modes[] = {OSC_MODE_CONVENTIONAL, OSC_MODE_DEPTHWISE,
                                       OSC_MODE_SPATIAL, OSC_MODE_OPTIMAL};
      l.objective = OSC_OBJ_MACS;
      err.code = OSC_OK;
      /* a baseline of two stages needs max_stages 2 and a kernel to separate */
      if (m == 1 || m == 2) {
        if (l.max_stages < 2 || k == 1) continue;
      }
      if (osc_plan_layer_mode(&l, modes[m], &other, &err)) fprintf(stderr, "\n%s\n", err.msg);
      CU_ASSERT_EQUAL_FATAL(err.code, OSC_OK);
      CU_ASSERT(osc_time_plan(&t) <= osc_time_plan(&other));
    }
    CU_ASSERT_EQUAL(osc_plan_cost(&t, OSC_OBJ_TIME), osc_time_plan_ps(&t, osc_time_isa()));
  }
  unsetenv("OSCONV_ISA");
}

static void expect_error(const osc_layer *l, osc_status want) {
  osc_error err;
  osc_plan p;
  static osc_search_report rep;
  memset(&err, 0, sizeof err);
  CU_ASSERT_EQUAL(osc_search_optimal(l, &rep, &p, &err), want);
  CU_ASSERT_EQUAL(err.code, want);
  CU_ASSERT(strlen(err.msg) > 10);
}

static void test_errors(void) {
  osc_layer l;
  layer_shape(&l, 0, 8, 3, 3, 8, 8);
  expect_error(&l, OSC_EINVAL);                 /* no channels */
  layer_shape(&l, 8, 8, 3, 3, 8, 8);
  l.groups = 2;
  expect_error(&l, OSC_EINVAL);                 /* a grouped layer */
  layer_shape(&l, 8, 8, 3, 3, 8, 8);
  l.max_stages = OSC_MAX_STAGES + 1;
  expect_error(&l, OSC_EINVAL);
  layer_shape(&l, 8, 8, 9, 9, 4, 4);
  expect_error(&l, OSC_EINVAL);                 /* kernel larger than the input */
  layer_shape(&l, 64, 64, 64, 64, 64, 64);
  l.max_stages = OSC_MAX_STAGES;
  expect_error(&l, OSC_ELIMIT);                 /* too large to search exactly */
  /* 2^16 channels on a 2^16 x 2^16 image: the dense stage has 2^64 MACs */
  layer_shape(&l, 65536, 65536, 1, 1, 65536, 65536);
  l.max_stages = 1;
  expect_error(&l, OSC_EINVAL);
}

static CU_TestInfo tests[] = {
    {"brute force: named edge cases", test_brute_force_edges},
    {"brute force: seeded random layers", test_brute_force_random},
    {"closed form: two stages and the baselines", test_closed_form_two_stages},
    {"closed form: unrestricted stages", test_closed_form_many_stages},
    {"ties go to fewer stages", test_tie_fewer_stages},
    {"every valid layer has a plan", test_always_feasible},
    {"errors are clean", test_errors},
    {"objective time: never slower than the baselines by the model", test_time_beats_baselines},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("search", tests)

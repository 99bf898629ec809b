/*
** test_cover.c -- structural channel coverage (osccover) against an
** independent simulation: explicit ChannelShuffle permutation arrays and
** boolean reach matrices.
**
** Finding (tested below, exhaustively on small chains and on random ones):
** with these shuffles SPEC.md's product rule is exact for any widths. Every
** output channel reaches exactly min(prod n_i, C_in) input channels. Why: a
** group of stage i reaches the cyclic interval of inputs starting at
** gr * P_i, length P_i = n_1 ... n_i, taken mod C_in. After ChannelShuffle(g_i),
** position p holds a channel of group p mod g_i, so a group of stage i+1
** takes n_{i+1} consecutive groups, and their intervals join up because
** g_i * P_i = C_in * prod_{j<=i} (C_j / g_j) is a multiple of C_in.
*/
#include <stdlib.h>
#include <string.h>

#include "osc_test.h"
#include "osccover.h"

#define SIM_MAXC 32
#define SIM_MAXN 6

/* For each output channel, how many inputs it reaches; `shuffle` 0 leaves
** the shuffles out (a control: then coverage is generally lost). */
static void sim_reach(int n, const int *c, const int *g, int shuffle, int *count) {
  static unsigned char reach[SIM_MAXC][SIM_MAXC], out[SIM_MAXC][SIM_MAXC];
  int perm[SIM_MAXC];
  memset(reach, 0, sizeof reach);
  for (int ch = 0; ch < c[0]; ch++) reach[ch][ch] = 1;
  for (int i = 0; i < n; i++) {
    int fan = c[i] / g[i], per = c[i + 1] / g[i];
    memset(out, 0, sizeof out);
    /* output o belongs to group o / per, which reads inputs of that group */
    for (int o = 0; o < c[i + 1]; o++)
      for (int t = 0; t < fan; t++)
        for (int x = 0; x < c[0]; x++) out[o][x] |= reach[(o / per) * fan + t][x];
    /* ChannelShuffle(g): view (g, per), transpose, flatten */
    for (int a = 0; a < g[i]; a++)
      for (int b = 0; b < per; b++)
        perm[a * per + b] = shuffle && i + 1 < n ? b * g[i] + a : a * per + b;
    for (int o = 0; o < c[i + 1]; o++) memcpy(reach[perm[o]], out[o], sizeof out[o]);
  }
  for (int o = 0; o < c[n]; o++) {
    count[o] = 0;
    for (int x = 0; x < c[0]; x++) count[o] += reach[o][x];
  }
}

static int64_t fan_product(int n, const int *c, const int *g) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= c[i] / g[i];
  return p;
}

static void plan_of(int n, const int *c, const int *g, osc_plan *p) {
  memset(p, 0, sizeof *p);
  osc_layer_init(&p->layer);
  p->layer.in_channels = c[0];
  p->layer.out_channels = c[n];
  p->n_stages = n;
  for (int i = 0; i < n; i++) {
    p->stage[i].c_in = c[i];
    p->stage[i].c_out = c[i + 1];
    p->stage[i].groups = g[i];
    p->stage[i].k_h = p->stage[i].k_w = 1;
  }
}

static int gcd_of(int a, int b) {
  while (b) { int t = a % b; a = b; b = t; }
  return a;
}

static int random_divisor(uint64_t *rng, int v) {
  int d[SIM_MAXC], n = 0;
  for (int i = 1; i <= v; i++)
    if (v % i == 0) d[n++] = i;
  return d[osc_test_range(rng, 0, n - 1)];
}

/* A random chain with non-uniform widths (mostly with many divisors, so
** that groups other than 1 and C show up); groups divide both widths. */
static int random_chain(uint64_t *rng, int *c, int *g) {
  static const int rich[] = {2, 4, 6, 8, 9, 12, 16, 18, 24, 30, 32};
  int n = osc_test_range(rng, 1, SIM_MAXN);
  for (int i = 0; i <= n; i++)
    c[i] = osc_test_range(rng, 0, 3) ? rich[osc_test_range(rng, 0, 10)]
                                     : osc_test_range(rng, 1, SIM_MAXC);
  for (int i = 0; i < n; i++) g[i] = random_divisor(rng, gcd_of(c[i], c[i + 1]));
  return n;
}

static void check_chain(int n, const int *c, const int *g, int64_t *formula_wrong) {
  int want[SIM_MAXC], got[SIM_MAXC], full = 1;
  int64_t prod = fan_product(n, c, g), exact = prod < c[0] ? prod : c[0];
  osc_plan p;
  sim_reach(n, c, g, 1, want);
  plan_of(n, c, g, &p);
  CU_ASSERT_EQUAL_FATAL(osc_cover_reach(&p, got), 0);
  for (int o = 0; o < c[n]; o++) {
    CU_ASSERT_EQUAL(got[o], want[o]);
    full &= want[o] == c[0];
    *formula_wrong += want[o] != exact;   /* the closed form min(prod, C_in) */
  }
  CU_ASSERT_EQUAL(osc_cover_chain_full(n, c, g, c[0]), full);
  CU_ASSERT_EQUAL(osc_cover_full(&p, 1), full);
  CU_ASSERT_EQUAL(prod >= c[0], full);   /* SPEC.md's rule */
}

/* ---- tests ------------------------------------------------------------------ */

static void test_reach_random(void) {
  uint64_t rng = osc_test_seed() ^ 0xc0e7u;
  int64_t wrong = 0;
  int n = osc_test_quick() ? 500 : 5000;
  for (int i = 0; i < n; i++) {
    int c[SIM_MAXN + 1], g[SIM_MAXN];
    int stages = random_chain(&rng, c, g);
    check_chain(stages, c, g, &wrong);
  }
  CU_ASSERT_EQUAL(wrong, 0);
}

/* Every chain of up to 3 stages with widths 1..8, and of 2 stages with
** widths 1..12: searching for a counterexample to the product rule. */
static void test_product_rule_exhaustive(void) {
  int64_t wrong = 0, chains = 0;
  int lim3 = osc_test_quick() ? 6 : 8;
  for (int c0 = 1; c0 <= 12; c0++)
    for (int c1 = 1; c1 <= 12; c1++)
      for (int c2 = 1; c2 <= 12; c2++)
        for (int g0 = 1; g0 <= c0; g0++)
          for (int g1 = 1; g1 <= c1; g1++) {
            int c[4] = {c0, c1, c2, 0}, g[3] = {g0, g1, 0};
            if (c0 % g0 || c1 % g0 || c1 % g1 || c2 % g1) continue;
            check_chain(2, c, g, &wrong);
            chains++;
            if (c0 > lim3 || c1 > lim3 || c2 > lim3) continue;
            for (c[3] = 1; c[3] <= lim3; c[3]++)
              for (g[2] = 1; g[2] <= c2; g[2]++) {
                if (c2 % g[2] || c[3] % g[2]) continue;
                check_chain(3, c, g, &wrong);
                chains++;
              }
          }
  CU_ASSERT(chains > (lim3 == 8 ? 17000 : 8000));   /* 17951 and 8631 chains */
  CU_ASSERT_EQUAL(wrong, 0);
}

/* Named cases: what the shuffle does, and where coverage is short. */
static void test_named_chains(void) {
  int64_t wrong = 0;
  int count[SIM_MAXC];
  /* 4 channels, two stages of 2 groups: full only thanks to the shuffle */
  int c1[] = {4, 4, 4}, g1[] = {2, 2};
  check_chain(2, c1, g1, &wrong);
  CU_ASSERT_EQUAL(osc_cover_chain_full(2, c1, g1, 4), 1);
  sim_reach(2, c1, g1, 0, count);   /* the control: no shuffle, half the inputs */
  CU_ASSERT_EQUAL(count[0], 2);
  /* narrow, then wide, then dense-ish: fan-ins 2 * 1 * 4 = 8 */
  int c2[] = {8, 4, 8, 8}, g2[] = {4, 4, 2};
  check_chain(3, c2, g2, &wrong);
  CU_ASSERT_EQUAL(osc_cover_chain_full(3, c2, g2, 8), 1);
  /* fan-ins 2 * 2 = 4 < 8: every output sees exactly 4 inputs */
  int c3[] = {8, 8, 8}, g3[] = {4, 4};
  osc_plan p;
  plan_of(2, c3, g3, &p);
  CU_ASSERT_EQUAL_FATAL(osc_cover_reach(&p, count), 0);
  for (int o = 0; o < 8; o++) CU_ASSERT_EQUAL(count[o], 4);
  CU_ASSERT_EQUAL(osc_cover_full(&p, 1), 0);
  CU_ASSERT_EQUAL(osc_cover_full(&p, 2), 1);   /* a 2-group layer needs 4 */
  /* widths that share little: 6 -> 9 (g 3) -> 4 (g 1) */
  int c4[] = {6, 9, 4}, g4[] = {3, 1};
  check_chain(2, c4, g4, &wrong);
  /* through a narrow width: fan-ins 2 * 3 = 6 */
  int c5[] = {6, 3, 6}, g5[] = {3, 1};
  check_chain(2, c5, g5, &wrong);
  CU_ASSERT_EQUAL(osc_cover_chain_full(2, c5, g5, 6), 1);
  /* one channel */
  int c6[] = {1, 1, 1}, g6[] = {1, 1};
  check_chain(2, c6, g6, &wrong);
  CU_ASSERT_EQUAL(wrong, 0);
}

static CU_TestInfo tests[] = {
    {"reach matches an independent simulation", test_reach_random},
    {"product rule: exhaustive search for a counterexample", test_product_rule_exhaustive},
    {"named chains", test_named_chains},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("cover", tests)

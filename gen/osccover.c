/*
** osccover.c -- structural channel coverage, with bitsets.
** Channels of one group share their inputs, so the walk keeps one reach set
** per group and, per channel, which group's set it carries.
*/
#include "osccover.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t word;

static int popcount_set(const word *s, int words) {
  int n = 0;
  for (int i = 0; i < words; i++) n += __builtin_popcountll(s[i]);
  return n;
}

/* Walk the chain; on return `owner[c]` names the row of the returned sets
** that output channel c reaches. Rows are per group: stage 1's group gr
** reaches inputs [gr*n1, (gr+1)*n1), and each later group the union of the
** rows its inputs carry. Returns the sets (caller frees both) or NULL. */
static word *walk(int n, const int *c, const int *g, int **owner_out, int *words_out) {
  int words = (c[0] + 63) / 64, maxc = 1, maxg = 1;
  for (int i = 0; i < n; i++) {
    if (c[i + 1] > maxc) maxc = c[i + 1];
    if (g[i] > maxg) maxg = g[i];
  }
  word *cur = calloc((size_t)maxg * words, sizeof(word));
  word *next = calloc((size_t)maxg * words, sizeof(word));
  int *owner = malloc((size_t)maxc * sizeof(int));
  int *nowner = malloc((size_t)maxc * sizeof(int));
  if (!cur || !next || !owner || !nowner) {
    free(cur); free(next); free(owner); free(nowner);
    return NULL;
  }
  for (int i = 0; i < n; i++) {
    int groups = g[i], fan_in = c[i] / groups, per_group = c[i + 1] / groups;
    memset(next, 0, (size_t)groups * words * sizeof(word));
    for (int gr = 0; gr < groups; gr++) {
      word *dst = next + (size_t)gr * words;
      for (int k = 0; k < fan_in; k++) {
        int ch = gr * fan_in + k;
        if (i == 0) {
          dst[ch / 64] |= (word)1 << (ch % 64);
          continue;
        }
        const word *src = cur + (size_t)owner[ch] * words;
        for (int w = 0; w < words; w++) dst[w] |= src[w];
      }
      /* output (gr, j) sits at gr*per_group + j, or at j*groups + gr once
      ** the shuffle after a non-last stage has moved it */
      for (int j = 0; j < per_group; j++)
        nowner[i + 1 < n ? j * groups + gr : gr * per_group + j] = gr;
    }
    word *t = cur; cur = next; next = t;
    int *to = owner; owner = nowner; nowner = to;
  }
  free(next);
  free(nowner);
  *owner_out = owner;
  *words_out = words;
  return cur;
}

static int chain_of(const osc_plan *p, int *c, int *g) {
  c[0] = p->stage[0].c_in;
  for (int i = 0; i < p->n_stages; i++) {
    c[i + 1] = p->stage[i].c_out;
    g[i] = p->stage[i].groups;
  }
  return p->n_stages;
}

int osc_cover_reach(const osc_plan *p, int *reach) {
  int c[OSC_MAX_STAGES + 1], g[OSC_MAX_STAGES], words, *owner;
  int n = chain_of(p, c, g);
  word *sets = walk(n, c, g, &owner, &words);
  if (!sets) return -1;
  for (int ch = 0; ch < c[n]; ch++)
    reach[ch] = popcount_set(sets + (size_t)owner[ch] * words, words);
  free(sets);
  free(owner);
  return 0;
}

int osc_cover_chain_full(int n, const int *c, const int *g, int need) {
  int words, *owner, ok = 1;
  word *sets = walk(n, c, g, &owner, &words);
  if (!sets) return -1;
  /* channels share the rows of their groups: check each row once */
  for (int gr = 0; gr < g[n - 1] && ok; gr++)
    ok = popcount_set(sets + (size_t)gr * words, words) >= need;
  free(sets);
  free(owner);
  return ok;
}

int osc_cover_full(const osc_plan *p, int layer_groups) {
  int c[OSC_MAX_STAGES + 1], g[OSC_MAX_STAGES];
  int n = chain_of(p, c, g);
  return osc_cover_chain_full(n, c, g, c[0] / layer_groups);
}

/*
** oscplanner.c -- remembered, budgeted planning (see oscplanner.h).
**
** The key of a layer is every field that can change its plan, written out
** one by one (never the struct's bytes: padding and the name must not
** count). At most MEMO_MAX plans are remembered; later distinct layers are
** planned each time, which the budget bounds.
*/
#include "oscplanner.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "oscerr.h"
#include "osctime.h"

#define KEY_MAX (23 + OSC_MAX_WIDTHS + 4 * OSC_MAX_STAGES)   /* head, clamps, residual, n_fixed */
#define MEMO_MAX 4096
#define SLOTS (2 * MEMO_MAX)   /* open addressing, a power of two */

typedef struct entry {
  int n;
  int32_t key[KEY_MAX];
  osc_plan plan;
} entry;

struct osc_planner {
  long long budget_ns, used_ns;
  long planned, copied;
  int n_entries;
  entry *entries;      /* n_entries of MEMO_MAX, allocated as they come */
  int slot[SLOTS];     /* index + 1 into entries, 0 = empty */
};

static long long thread_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)) return 0;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long osc_plan_budget_default(void) {
  const char *s = getenv("OSCONV_PLAN_SECONDS");
  char *end;
  double v = s ? strtod(s, &end) : 0;
  if (!s || end == s || *end || !(v > 0) || v > 1e9) return OSC_PLAN_BUDGET_NS;
  return (long long)(v * 1e9);
}

osc_planner *osc_planner_new(long long budget_ns) {
  osc_planner *p = calloc(1, sizeof *p);
  if (p) p->budget_ns = budget_ns > 0 ? budget_ns : 0;
  return p;
}

void osc_planner_free(osc_planner *p) {
  if (!p) return;
  free(p->entries);
  free(p);
}

void osc_planner_counts(const osc_planner *p, long *planned, long *copied) {
  *planned = p ? p->planned : 0;
  *copied = p ? p->copied : 0;
}

static int make_key(const osc_layer *l, osc_mode mode, int32_t *k) {
  int n = 0;
  int32_t head[] = {(int32_t)mode, l->in_channels, l->out_channels, l->in_h, l->in_w,
                    l->k_h, l->k_w, l->stride_h, l->stride_w, l->pad_h, l->pad_w, l->groups,
                    l->bias, (int32_t)l->act, (int32_t)l->mode, l->max_stages,
                    (int32_t)l->objective, l->n_widths,
                    /* objective time plans for the ISA the JIT emits for */
                    l->objective == OSC_OBJ_TIME ? (int32_t)osc_time_isa() : 0};
  _Static_assert(sizeof head / sizeof head[0] == 19, "KEY_MAX counts the head");
  memcpy(k, head, sizeof head);
  n = 19;
  memcpy(&k[n++], &l->clamp_min, sizeof(float));   /* a clamp's bounds are in its code */
  memcpy(&k[n++], &l->clamp_max, sizeof(float));
  k[n++] = l->residual;   /* the plan carries its layer: a residual layer's is not a plain one's */
  for (int i = 0; i < l->n_widths && i < OSC_MAX_WIDTHS; i++) k[n++] = l->widths[i];
  k[n++] = l->n_fixed;
  for (int i = 0; i < l->n_fixed && i < OSC_MAX_STAGES; i++) {
    k[n++] = l->fixed[i].out_channels;
    k[n++] = l->fixed[i].groups;
    k[n++] = l->fixed[i].k_h;
    k[n++] = l->fixed[i].k_w;
  }
  return n;
}

/* The slot of key k: the one holding it, or the empty one where it goes. */
static int find_slot(const osc_planner *p, const int32_t *k, int n) {
  unsigned h = (unsigned)XXH3_64bits(k, (size_t)n * sizeof *k) & (SLOTS - 1);
  for (;; h = (h + 1) & (SLOTS - 1)) {
    const entry *e;
    if (!p->slot[h]) return (int)h;
    e = &p->entries[p->slot[h] - 1];
    if (e->n == n && !memcmp(e->key, k, (size_t)n * sizeof *k)) return (int)h;
  }
}

static void copy_plan(const osc_plan *from, const osc_layer *l, osc_plan *out) {
  *out = *from;
  memcpy(out->layer.name, l->name, sizeof l->name);
  out->layer.file = l->file;
  out->layer.line = l->line;
  memcpy(out->layer.code, l->code, sizeof l->code);   /* not in the key: no plan depends on it */
}

static osc_status out_of_budget(const osc_planner *p, const osc_layer *l, osc_error *err) {
  return osc_error_layer(err, OSC_ELIMIT, l,
                         "planning the config took more than %g s of CPU time, its budget "
                         "(%ld distinct layers planned; identical layers plan once): plan "
                         "fewer or smaller layers, or lower max_stages",
                         (double)p->budget_ns / 1e9, p->planned);
}

osc_status osc_planner_plan(osc_planner *p, const osc_layer *l, osc_mode mode, osc_plan *out,
                            osc_error *err) {
  int32_t k[KEY_MAX];
  int n, h;
  long long t0;
  osc_status s;
  if (!p || !l || !out) return osc_plan_layer_mode(l, mode, out, err);
  n = make_key(l, mode, k);
  h = find_slot(p, k, n);
  if (p->slot[h]) {
    p->copied++;
    copy_plan(&p->entries[p->slot[h] - 1].plan, l, out);
    return OSC_OK;
  }
  if (p->budget_ns && p->used_ns > p->budget_ns) return out_of_budget(p, l, err);
  t0 = thread_ns();
  s = osc_plan_layer_mode(l, mode, out, err);
  p->used_ns += thread_ns() - t0;
  p->planned++;
  if (s) return s;
  if (p->budget_ns && p->used_ns > p->budget_ns) return out_of_budget(p, l, err);
  if (p->n_entries < MEMO_MAX) {
    if (!p->entries && !(p->entries = malloc(MEMO_MAX * sizeof *p->entries))) return OSC_OK;
    entry *e = &p->entries[p->n_entries++];
    e->n = n;
    memcpy(e->key, k, (size_t)n * sizeof *k);
    e->plan = *out;
    p->slot[h] = p->n_entries;
  }
  return OSC_OK;
}

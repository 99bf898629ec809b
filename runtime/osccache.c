/*
** osccache.c -- refcounted compiled code in an LRU list under one lock.
** Lock order: the JIT lock, then the cache lock; never the other way round.
*/
#include "osccache.h"

#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY   /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "oscerr.h"
#include "oscfault.h"
#include "oscvariant.h"

#define DEFAULT_ENTRIES 256
#define DEFAULT_BYTES ((size_t)64 << 20)

struct osc_code {
  osc_key key;
  osc_jit_code *jit;
  atomic_int refs;           /* one per kernel, plus one while cached */
  osc_code *prev, *next;     /* LRU list, most recent first, while cached */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static osc_code *head, *tail;
static size_t max_entries = DEFAULT_ENTRIES, max_bytes = DEFAULT_BYTES;
static int capacity_read;   /* OSCONV_CACHE_CAPACITY looked at (under lock) */

/* OSCONV_CACHE_CAPACITY=N: at most N kernels cached (0: none), read once,
** the first time the cache is asked; a value that is not a number in
** 0..1000000 leaves the default. Under lock. */
static void read_capacity(void) {
  const char *v = getenv("OSCONV_CACHE_CAPACITY");
  char *end;
  long n;
  if (capacity_read) return;
  capacity_read = 1;
  if (!v || !*v) return;
  n = strtol(v, &end, 10);
  if (*end == '\0' && n >= 0 && n <= 1000000) max_entries = (size_t)n;
}

size_t osc_cache_capacity(void) {
  size_t n;
  pthread_mutex_lock(&lock);
  read_capacity();
  n = max_entries;
  pthread_mutex_unlock(&lock);
  return n;
}
static osc_cache_stats stats;   /* entries and code_bytes describe the list */

/* ---- keys ------------------------------------------------------------------- */

osc_key osc_kernel_key(const char *source, const char *symbol, osc_backend backend,
                       const char *flags, const char *lib_path) {
  XXH3_state_t st;
  XXH128_hash_t h;
  const char *b = osc_backend_name(backend);
  XXH3_128bits_reset(&st);
  /* NUL separators, so no two different tuples hash the same bytes */
  XXH3_128bits_update(&st, source, strlen(source) + 1);
  XXH3_128bits_update(&st, symbol, strlen(symbol) + 1);
  XXH3_128bits_update(&st, b, strlen(b) + 1);
  XXH3_128bits_update(&st, flags, strlen(flags) + 1);
  if (lib_path) XXH3_128bits_update(&st, lib_path, strlen(lib_path) + 1);
  h = XXH3_128bits_digest(&st);
  return (osc_key){h.high64, h.low64};
}

void osc_key_hex(const osc_key *k, char *buf) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    buf[i] = hex[(k->hi >> (60 - 4 * i)) & 15];
    buf[16 + i] = hex[(k->lo >> (60 - 4 * i)) & 15];
  }
  buf[32] = '\0';
}

/* ---- entries ------------------------------------------------------------------ */

void *osc_code_entry(const osc_code *c) { return c->jit->entry; }
void *osc_code_tiles(const osc_code *c) { return c->jit->tiles; }
void *osc_code_run_tiles(const osc_code *c) { return c->jit->run_tiles; }
void *osc_code_pack(const osc_code *c) { return c->jit->pack; }
size_t osc_code_size(const osc_code *c) { return c->jit->size; }
double osc_code_compile_ms(const osc_code *c) { return c->jit->compile_ms; }

void osc_code_release(osc_code *c) {
  if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
    osc_jit_code_free(c->jit);
    free(c);
  }
}

static void unlink_entry(osc_code *c) {
  if (c->prev) c->prev->next = c->next; else head = c->next;
  if (c->next) c->next->prev = c->prev; else tail = c->prev;
  c->prev = c->next = NULL;
  stats.entries--;
  stats.code_bytes -= c->jit->size;
}

static void push_front(osc_code *c) {
  c->prev = NULL;
  c->next = head;
  if (head) head->prev = c; else tail = c;
  head = c;
  stats.entries++;
  stats.code_bytes += c->jit->size;
}

/* Evict from the cold end until within bounds; `keep` (just added) stays. */
static void trim(const osc_code *keep) {
  while (tail && tail != keep &&
         (stats.entries > max_entries || stats.code_bytes > max_bytes)) {
    osc_code *victim = tail;
    unlink_entry(victim);
    stats.evictions++;
    osc_code_release(victim);
  }
}

static osc_code *find(const osc_key *k) {
  for (osc_code *c = head; c; c = c->next)
    if (c->key.hi == k->hi && c->key.lo == k->lo) return c;
  return NULL;
}

/* A hit: move to the front, take a reference. Caller holds `lock`. */
static osc_code *take(const osc_key *k) {
  osc_code *c = find(k);
  if (!c) return NULL;
  unlink_entry(c);
  push_front(c);
  atomic_fetch_add(&c->refs, 1);
  stats.hits++;
  return c;
}

/* ---- lookup or compile --------------------------------------------------------- */

static osc_status compile(const osc_key *key, const char *source, const char *symbol,
                          const char *lib_path, osc_code **out, osc_error *err) {
  osc_code *c = osc_rt_calloc(1, sizeof *c);
  osc_status st;
  if (!c) return osc_error_set(err, OSC_ENOMEM, "kernel cache: out of memory");
  st = osc_jit_compile_locked(source, symbol, lib_path, &c->jit, err);
  pthread_mutex_lock(&lock);
  stats.compiles++;
  if (st) stats.compile_failures++;
  pthread_mutex_unlock(&lock);
  if (st) {
    free(c);
    return st;
  }
  c->key = *key;
  atomic_init(&c->refs, 1);
  *out = c;
  return OSC_OK;
}

osc_status osc_cache_get(const osc_key *key, int use_cache, const char *source,
                         const char *symbol, const char *lib_path, osc_code **out,
                         int *hit, osc_error *err) {
  osc_status st;
  *out = NULL;
  *hit = 0;
  if (use_cache) {
    pthread_mutex_lock(&lock);
    *out = take(key);
    pthread_mutex_unlock(&lock);
    if (*out) return *hit = 1, OSC_OK;
  }
  /* Compiles run under the JIT lock, and a cached compile inserts before
  ** releasing it: so whoever waited for the lock looks again first. */
  osc_jit_lock();
  if (use_cache) {
    pthread_mutex_lock(&lock);
    *out = take(key);
    if (!*out) stats.misses++;
    pthread_mutex_unlock(&lock);
    if (*out) {
      osc_jit_unlock();
      return *hit = 1, OSC_OK;
    }
  }
  st = compile(key, source, symbol, lib_path, out, err);
  if (!st && use_cache) {
    pthread_mutex_lock(&lock);
    atomic_fetch_add(&(*out)->refs, 1);   /* the cache's own reference */
    push_front(*out);
    trim(*out);
    pthread_mutex_unlock(&lock);
  }
  osc_jit_unlock();
  return st;
}

osc_code *osc_cache_lookup(const osc_key *key) {
  osc_code *c;
  pthread_mutex_lock(&lock);
  c = take(key);
  pthread_mutex_unlock(&lock);
  return c;
}

/* ---- plans seen ------------------------------------------------------------------ */

#define PLAN_MEMO 256

typedef struct plan_memo {
  uint64_t lib;                      /* XXH3-64 of the tcc lib path */
  int used, isa, mode, bias, act, residual, groups, n_stages;
  char code[OSC_VARIANT_MAX];        /* the code variant's canonical name, NUL-padded */
  float clamp_min, clamp_max;        /* compared as bytes too: set only for a clamp */
  osc_stage stage[OSC_MAX_STAGES];   /* all ints: compared with memcmp */
  osc_key key;
} plan_memo;

static plan_memo memo[PLAN_MEMO];
static unsigned memo_next;   /* round robin */

static void memo_fill(plan_memo *m, const osc_plan *p, const char *lib_path, int isa,
                      const char *code) {
  memset(m, 0, sizeof *m);
  m->isa = isa;
  snprintf(m->code, sizeof m->code, "%s", code);
  m->lib = XXH3_64bits(lib_path, strlen(lib_path));
  m->used = 1;
  m->mode = (int)p->mode;
  m->bias = p->layer.bias;
  m->act = (int)p->layer.act;
  m->residual = p->layer.residual;
  if (p->layer.act == OSC_ACT_CLAMP) {
    m->clamp_min = p->layer.clamp_min;
    m->clamp_max = p->layer.clamp_max;
  }
  m->groups = p->layer.groups;
  m->n_stages = p->n_stages;
  memcpy(m->stage, p->stage, (size_t)p->n_stages * sizeof p->stage[0]);
}

int osc_cache_plan_key(const osc_plan *p, const char *lib_path, int isa, const char *code,
                       osc_key *key) {
  plan_memo want;
  int found = 0;
  memo_fill(&want, p, lib_path, isa, code);
  pthread_mutex_lock(&lock);
  for (int i = 0; i < PLAN_MEMO && !found; i++)
    if (!memcmp(&memo[i], &want, offsetof(plan_memo, key))) {
      *key = memo[i].key;
      found = 1;
    }
  pthread_mutex_unlock(&lock);
  return found;
}

void osc_cache_note_plan(const osc_plan *p, const char *lib_path, int isa, const char *code,
                         const osc_key *key) {
  plan_memo m;
  osc_key known;
  if (osc_cache_plan_key(p, lib_path, isa, code, &known)) return;
  memo_fill(&m, p, lib_path, isa, code);
  m.key = *key;
  pthread_mutex_lock(&lock);
  memo[memo_next++ % PLAN_MEMO] = m;
  pthread_mutex_unlock(&lock);
}

/* ---- bounds, stats ---------------------------------------------------------------- */

void osc_cache_set_limits(size_t entries, size_t bytes) {
  pthread_mutex_lock(&lock);
  capacity_read = 1;   /* the test hook wins over the environment */
  max_entries = entries ? entries : DEFAULT_ENTRIES;
  max_bytes = bytes ? bytes : DEFAULT_BYTES;
  trim(NULL);
  pthread_mutex_unlock(&lock);
}

void osc_cache_get_stats(osc_cache_stats *out) {
  if (!out) return;
  pthread_mutex_lock(&lock);
  *out = stats;
  pthread_mutex_unlock(&lock);
}

void osc_cache_clear(void) {
  pthread_mutex_lock(&lock);
  while (head) {
    osc_code *c = head;
    unlink_entry(c);
    osc_code_release(c);
  }
  pthread_mutex_unlock(&lock);
}

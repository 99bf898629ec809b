/*
** osckernel.c -- the public kernel API: check the plan, emit its source,
** get the code (cache or JIT), fall back to the reference if allowed.
*/
#include "oscrt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "oscbuf.h"
#include "osccache.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscfallback.h"
#include "oscfault.h"
#include "oscfpenv.h"
#include "oscisa.h"
#include "oscjit.h"
#include "oscplan.h"
#include "oscpool.h"
#include "oscvariant.h"

struct osc_kernel {
  osc_plan plan;
  osc_code *code;            /* JIT only; shared with the cache */
  osc_kernel_fn fn;          /* JIT only, a layer without a residual */
  osc_kernel_res_fn res_fn;  /* JIT only, a layer with one */
  /* JIT with the tile ABI (one of the two, as fn and res_fn); NULL: runs whole, serially */
  osc_run_tiles_fn run_tiles;
  osc_run_tiles_res_fn run_tiles_res;
  int tiles[OSC_MAX_STAGES];   /* stage s's tile count */
  int pieces[OSC_MAX_STAGES];  /* what a run cuts stage s into; 1: inline */
  osc_pool *pool;              /* threads > 1: the kernel's own; NULL: the shared one */
  osc_parallel_for parallel_for;  /* the caller's pool, or NULL */
  void *parallel_ctx;
  size_t scratch_floats;
  int keep_denormals;        /* 1: run in the caller's MXCSR, untouched */
  int log_runs;              /* OSCONV_VERBOSE=2 when the kernel was made: a line per
                             ** run (read then, so a run calls no getenv) */
  int cache_off;             /* JIT made without the cache (option or OSCONV_CACHE) */
  char desc[160];            /* benchdnn-style problem descriptor, for verbose */
  char variant[OSC_VARIANT_MAX];  /* the code variant, canonical: info.code */
  osc_kernel_info info;
  char fallback[sizeof ((osc_error *)0)->msg];
};

const char *osc_backend_name(osc_backend b) {
  switch (b) {
  case OSC_BACKEND_JIT: return "jit";
  case OSC_BACKEND_REFERENCE: return "reference";
  case OSC_BACKEND_NONE: return "none";
  }
  return "?";
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Unset or empty: dflt; 0, off, false, no (any case): 0; anything else: 1. */
static int env_flag(const char *name, int dflt) {
  static const char *const no[] = {"0", "off", "false", "no"};
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (!strcasecmp(v, no[i])) return 0;
  return 1;
}

/* OSCONV_VERBOSE: 0 (unset or a "no"), 2 ("2": every run too), else 1. */
static int verbose_level(void) {
  const char *v = getenv("OSCONV_VERBOSE");
  if (!env_flag("OSCONV_VERBOSE", 0)) return 0;
  return v && strcmp(v, "2") == 0 ? 2 : 1;
}

/* The layer as benchdnn writes a conv problem (ONEDNN_VERBOSE's habit):
** "g32ic64ih56oc64oh56kh3ph1", width terms only where they differ from
** height's, groups and stride only where not 1. The batch is per run. */
static void describe_problem(const osc_layer *l, char *buf, size_t size) {
  int oh = osc_layer_out_h(l), ow = osc_layer_out_w(l);
  size_t n = 0;
#define PUT(...) (n += (size_t)snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__))
  if (l->groups > 1) PUT("g%d", l->groups);
  PUT("ic%dih%d", l->in_channels, l->in_h);
  if (l->in_w != l->in_h) PUT("iw%d", l->in_w);
  PUT("oc%doh%d", l->out_channels, oh);
  if (ow != oh) PUT("ow%d", ow);
  PUT("kh%d", l->k_h);
  if (l->k_w != l->k_h) PUT("kw%d", l->k_w);
  if (l->stride_h != 1 || l->stride_w != 1) PUT("sh%d", l->stride_h);
  if (l->stride_w != l->stride_h) PUT("sw%d", l->stride_w);
  PUT("ph%d", l->pad_h);
  if (l->pad_w != l->pad_h) PUT("pw%d", l->pad_w);
#undef PUT
}

/* OSCONV_DUMP=DIR: every source the JIT compiles is written to
** DIR/<layer>-<16 hex digits of its key>.c (a temp name, then renamed), so
** what ran can be read and rebuilt. A dump that fails says so on stderr and
** never fails the kernel. */
static void dump_source(const osc_kernel *k, const char *source, const osc_key *key) {
  const char *dir = getenv("OSCONV_DUMP");
  char path[4096], tmp[4200], hex[33];
  FILE *f;
  int bad;
  if (!dir || !*dir) return;
  osc_key_hex(key, hex);
  snprintf(path, sizeof path, "%s/%s-%.16s.c", dir, k->plan.layer.name[0] ? k->plan.layer.name
                                                                            : "kernel", hex);
  snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
  if (!(f = fopen(tmp, "w"))) {
    fprintf(stderr, "osconv: OSCONV_DUMP: cannot write %s: %s\n", tmp, strerror(errno));
    return;
  }
  bad = fputs(source, f) == EOF;
  if (fclose(f) != 0) bad = 1;
  if (bad || rename(tmp, path) != 0) {
    fprintf(stderr, "osconv: OSCONV_DUMP: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
  }
}

/* ---- checking a plan ----------------------------------------------------------- */

osc_status osc_kernel_check_plan(const osc_plan *p, osc_error *err) {
  osc_stage_spec chain[OSC_MAX_STAGES];
  osc_layer l;
  osc_plan again;
  osc_status st;
  if (!p) return osc_error_set(err, OSC_EINVAL, "kernel: no plan given");
  if (p->n_stages < 1 || p->n_stages > OSC_MAX_STAGES)
    return osc_error_layer(err, OSC_EINVAL, &p->layer,
                           "the plan has %d stages; a plan has 1 to %d", p->n_stages,
                           OSC_MAX_STAGES);
  l = p->layer;
  l.mode = p->mode;
  if ((st = osc_layer_validate(&l, err))) return st;
  for (int i = 0; i < p->n_stages; i++)
    chain[i] = (osc_stage_spec){p->stage[i].c_out, p->stage[i].groups, p->stage[i].k_h,
                                p->stage[i].k_w};
  /* rebuilding from the chain recomputes shapes, placement and cost */
  if ((st = osc_plan_build(&l, p->mode, p->n_stages, chain, &again, err))) return st;
  for (int i = 0; i < p->n_stages; i++)
    if (memcmp(&again.stage[i], &p->stage[i], sizeof again.stage[i]) != 0)
      return osc_error_layer(err, OSC_EINVAL, &p->layer,
                             "stage %d of the plan does not follow from its layer "
                             "(was the plan changed after osc_plan_layer?)", i + 1);
  if (again.macs != p->macs || again.params != p->params)
    return osc_error_layer(err, OSC_EINVAL, &p->layer,
                           "the plan's cost does not match its stages");
  return OSC_OK;
}

/* ---- source ----------------------------------------------------------------------- */

osc_status osc_kernel_source(const osc_plan *p, char **out, osc_error *err) {
  osc_isa isa;
  osc_status st;
  *out = NULL;
  if ((st = osc_isa_runtime(&isa, err))) return st;
  return osc_kernel_source_isa(p, isa, out, err);
}

/* The layer's source for the JIT prefix, in code variant `code` (NULL or
** "": the layer's own); listing 0: the asm blocks without their
** instruction listings (a third of the JIT's emit time and half the text
** tcc reads, for comments nobody sees: README "Search and compile time"). */
static osc_status emit_source(const osc_plan *p, int isa, const char *code, int listing,
                              char **out, osc_error *err) {
  osc_emit_options eo = {OSC_JIT_PREFIX, 1, isa};
  osc_emit_knobs kn = {0};
  osc_plan anon = *p;
  osc_buf buf;
  osc_status st;
  *out = NULL;
  if (!code || !*code) code = p->layer.code;   /* the option's, else the layer's */
  if ((st = osc_variant_parse(code, &kn, NULL, err))) return st;
  memset(anon.layer.code, 0, sizeof anon.layer.code);   /* the knobs say it: even "auto" */
  /* the code depends on the structure only: same plan, same bytes, one compile */
  memset(anon.layer.name, 0, sizeof anon.layer.name);
  anon.layer.file = NULL;
  anon.layer.line = 0;
  osc_buf_init(&buf);
  st = listing ? osc_emit_layer_knobs(&anon, &eo, &kn, &buf, err)
               : osc_emit_layer_unlisted(&anon, &eo, &kn, &buf, err);
  if (!st && !(*out = osc_buf_take(&buf)))
    st = osc_error_set(err, OSC_ENOMEM, "kernel: out of memory emitting the source");
  osc_buf_free(&buf);
  return st;
}

osc_status osc_kernel_source_isa(const osc_plan *p, int isa, char **out, osc_error *err) {
  return emit_source(p, isa, NULL, 1, out, err);
}

osc_status osc_kernel_source_variant(const osc_plan *p, int isa, const char *code, char **out,
                                     osc_error *err) {
  return emit_source(p, isa, code, 1, out, err);
}

/* ---- making kernels ----------------------------------------------------------------- */

static void verbose(const osc_kernel *k) {
  char plan[256];
  const osc_kernel_info *i = &k->info;
  if (!verbose_level()) return;
  osc_plan_describe(&k->plan, plan, sizeof plan);
  if (i->backend == OSC_BACKEND_JIT)
    fprintf(stderr,
            "osconv: kernel '%s' %s [%s]: jit, cache %s, isa %s%s%s, emit %.2f ms, compile "
            "%.2f ms, code %zu bytes, threads %d, %s\n",
            k->plan.layer.name, plan, osc_mode_name(k->plan.mode),
            k->cache_off ? "off" : i->cache_hit ? "hit" : "miss", i->isa ? i->isa : "c",
            strcmp(k->variant, "auto") ? ", variant " : "", strcmp(k->variant, "auto") ? k->variant : "",
            i->emit_ms, i->compile_ms, i->code_size, i->threads, k->desc);
  else
    fprintf(stderr, "osconv: kernel '%s' %s [%s]: reference%s%s%s, %s\n", k->plan.layer.name,
            plan, osc_mode_name(k->plan.mode), i->fallback ? " (fallback: " : "",
            i->fallback ? i->fallback : "", i->fallback ? ")" : "", k->desc);
}

static void use_code(osc_kernel *k) {
  k->info.code_size = osc_code_size(k->code);
  k->info.backend = OSC_BACKEND_JIT;
  if (k->plan.layer.residual) k->res_fn = (osc_kernel_res_fn)osc_code_entry(k->code);
  else k->fn = (osc_kernel_fn)osc_code_entry(k->code);
}

/* The ISA a kernel's code uses: the option's (never above the CPU's best
** capped by OSCONV_ISA), else that best. */
static osc_status kernel_isa(const osc_kernel_options *o, osc_isa *out, osc_error *err) {
  osc_isa cap, want;
  osc_status st;
  if ((st = osc_isa_runtime(&cap, err))) return st;
  *out = cap;
  if (!o->isa || !*o->isa) return OSC_OK;
  if (osc_isa_parse(o->isa, &want) || want == OSC_ISA_AUTO)
    return osc_error_set(err, OSC_EINVAL, "kernel: isa '%s': expected avx512, avx2 or c",
                         o->isa);
  if (want > cap)
    return osc_error_set(err, OSC_EINVAL,
                         "kernel: isa '%s': this process's JIT runs at most %s (the CPU's "
                         "best is %s; OSCONV_ISA caps it)", o->isa, osc_isa_name(cap),
                         osc_isa_name(osc_isa_host()));
  *out = want;
  return OSC_OK;
}

/* The JIT path. `source` NULL: emit it from the plan, unless the plan was
** seen before and its code is still cached. */
static osc_status jit(osc_kernel *k, const char *source, const char *symbol,
                      const osc_kernel_options *o, osc_error *err) {
  const char *lib;
  char *emitted = NULL, flags[256];
  osc_key key;
  double t0;
  osc_status st;
  osc_isa isa;
  int use_cache = !o->no_cache && env_flag("OSCONV_CACHE", 1) && osc_cache_capacity() > 0;
  k->cache_off = !use_cache;
  if ((st = osc_jit_lib_path(o->tcc_lib_path, &lib, err))) return st;
  /* the ISA is part of the key: OSCONV_ISA may change between two calls */
  if ((st = kernel_isa(o, &isa, err))) return st;
  k->info.isa = osc_isa_name(isa);
  k->info.code = k->variant;
  snprintf(flags, sizeof flags, "%s isa=%s", osc_jit_flags(), k->info.isa);
  if (!source && use_cache && osc_cache_plan_key(&k->plan, lib, (int)isa, k->variant, &key) &&
      (k->code = osc_cache_lookup(&key))) {
    k->info.cache_hit = 1;
    use_code(k);
    return OSC_OK;
  }
  if (!source) {
    /* the listings only where someone may read the source: OSCONV_DUMP */
    const char *dump = getenv("OSCONV_DUMP");
    t0 = now_ms();
    if ((st = emit_source(&k->plan, (int)isa, k->variant, dump && *dump, &emitted, err)))
      return st;
    k->info.emit_ms = now_ms() - t0;
    source = emitted;
    symbol = OSC_JIT_SYMBOL;
  }
  key = osc_kernel_key(source, symbol, OSC_BACKEND_JIT, flags, lib);
  dump_source(k, source, &key);
  st = osc_cache_get(&key, use_cache, source, symbol, lib, &k->code, &k->info.cache_hit,
                     err);
  if (!st && emitted && use_cache) osc_cache_note_plan(&k->plan, lib, (int)isa, k->variant, &key);
  free(emitted);
  if (st) return st;
  /* measured under the JIT lock: time spent waiting for it is not counted */
  k->info.compile_ms = k->info.cache_hit ? 0 : osc_code_compile_ms(k->code);
  use_code(k);
  return OSC_OK;
}

/* ---- threads ------------------------------------------------------------------------
** A split run goes image by image, stage by stage; each stage's tiles are
** cut into pieces of consecutive tiles. On osconv's pools an image is one
** job of a step per stage (the barrier between steps is the pool's); on a
** caller's parallel-for, one call per stage, the next stage starting when
** it returns. A batch of at least as many images as the pool has threads
** is split by images instead (run_images). */

static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static osc_pool *shared_pool;   /* threads = 0 kernels; NULL if it could not be made */

static void free_shared(void) { osc_pool_free(shared_pool); }

/* Sized once, by OSCONV_NUM_THREADS or the CPUs, when the first kernel
** asks; joined at exit, so no thread outlives the process's tools. */
static void make_shared(void) {
  if (osc_pool_create(osc_pool_default_threads(), &shared_pool, NULL) == OSC_OK)
    atexit(free_shared);
}

static osc_pool *shared(void) {
  pthread_once(&shared_once, make_shared);
  return shared_pool;
}

#define PIECES_PER_THREAD 4   /* at most; each piece still >= OSC_SPLIT_MIN_MACS */

static _Atomic long long split_min_macs;   /* 0: OSC_SPLIT_MIN_MACS */

void osc_kernel_set_split_min_macs(long long macs) {
  atomic_store(&split_min_macs, macs > 0 ? macs : 0);
}

/* (oscrt.h) Pieces of a stage on `threads` threads (0: unknown): at most `cap` (0:
** any), at most its tiles, none below OSC_SPLIT_MIN_MACS multiply-adds; at
** least 1. Within those, the count whose slowest thread runs the fewest
** tiles (ceil(pieces / threads) pieces of ceil(tiles / pieces) tiles), the
** most pieces at a tie: 3 pieces of 32 tiles on 2 threads keep one thread
** at 22 tiles while the other idles after 11, 2 pieces run 16 each. */
int osc_split_pieces(int64_t macs, int tiles, int threads, int cap) {
  long long least = atomic_load(&split_min_macs);
  int64_t p = tiles, by_work = macs / (least ? least : OSC_SPLIT_MIN_MACS);
  int best = 1;
  int64_t best_load = tiles;
  if (cap > 0 && cap < p) p = cap;
  if (by_work < p) p = by_work;
  if (p < 1) return 1;
  if (threads < 1) return (int)p;
  for (int64_t q = 2; q <= p; q++) {
    int64_t load = (q + threads - 1) / threads * ((tiles + q - 1) / q);
    if (load <= best_load) best = (int)q, best_load = load;
  }
  return best;
}

/* Decides each stage's split once, when the kernel is made: the work per
** tile does not change between runs. JIT code only, with the tile ABI. */
static osc_status setup_threads(osc_kernel *k, const osc_kernel_options *o, osc_error *err) {
  osc_tiles_fn tiles = (osc_tiles_fn)osc_code_tiles(k->code);
  int cap;
  osc_status st;
  k->info.threads = 1;
  for (int s = 0; s < k->plan.n_stages; s++) k->pieces[s] = 1;
  if (!tiles || !osc_code_run_tiles(k->code)) return OSC_OK;
  /* first call on this thread: it also runs the code's CPU check once */
  for (int s = 0; s < k->plan.n_stages; s++)
    if ((k->tiles[s] = tiles(s)) < 1) return OSC_OK;   /* not the plan's code: serial */
  if (k->plan.layer.residual) k->run_tiles_res = (osc_run_tiles_res_fn)osc_code_run_tiles(k->code);
  else k->run_tiles = (osc_run_tiles_fn)osc_code_run_tiles(k->code);
  if (o->parallel_for) {
    k->parallel_for = o->parallel_for;
    k->parallel_ctx = o->parallel_ctx;
    cap = o->threads;
  } else if (o->threads > 1) {
    if ((st = osc_pool_create(o->threads, &k->pool, err))) return st;
    cap = o->threads;
  } else {
    int dflt = o->threads == 1 ? 1 : osc_pool_default_threads();
    cap = dflt > 1 && shared() ? dflt : 1;
    if (cap > osc_pool_threads(shared_pool)) cap = osc_pool_threads(shared_pool);
  }
  if (cap == 1) return OSC_OK;
  for (int s = 0; s < k->plan.n_stages; s++) {
    int used;
    /* more pieces than threads: on a caller's parallel-for a thread that
    ** runs faster (a quieter core) takes more of them; osconv's pools hand
    ** each thread its equal share of them as one chunk (run_pool: taken
    ** one by one, the pieces ping-ponged the pool's counter between cores) */
    k->pieces[s] = osc_split_pieces(osc_stage_macs(&k->plan.stage[s]), k->tiles[s], cap,
                                    cap > 0 ? cap * PIECES_PER_THREAD : 0);
    used = cap > 0 && cap < k->pieces[s] ? cap : k->pieces[s];
    if (used > k->info.threads) k->info.threads = used;
  }
  return OSC_OK;
}

typedef struct split_run {
  const osc_kernel *k;
  int stage, pieces;       /* the callback path's stage */
  const float *in, *res, *weights;   /* res: a residual layer's, else NULL */
  float *out, *scratch;
  unsigned int csr;        /* the running thread's MXCSR: every piece runs in it */
  atomic_uint raised;      /* exception flags the pieces raised */
} split_run;

/* Tiles [first, first + count) of stage s of one image, through the layer's kind of entry. */
static void tiles_of(const osc_kernel *k, int s, int first, int count, const float *in,
                     const float *res, float *out, const float *weights, float *scratch) {
  if (k->run_tiles_res) k->run_tiles_res(s, first, count, in, res, out, weights, scratch);
  else k->run_tiles(s, first, count, in, out, weights, scratch);
}

/* Piece i of stage s's k->pieces[s]. */
static void run_piece(split_run *r, int s, size_t i) {
  size_t t = (size_t)r->k->tiles[s], n = (size_t)r->k->pieces[s];
  int first = (int)(i * t / n), end = (int)((i + 1) * t / n);
  osc_fpenv e;
  osc_fpenv_enter(&e, r->csr);
  tiles_of(r->k, s, first, end - first, r->in, r->res, r->out, r->weights, r->scratch);
  atomic_fetch_or(&r->raised, osc_fpenv_leave(&e));
}

static void pool_task(void *ctx, int stage, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) run_piece(ctx, stage, i);
}

static void callback_task(void *arg, size_t i) {
  split_run *r = arg;
  run_piece(r, r->stage, i);
}

/* One image on the caller's parallel-for: a call per stage split, the
** stages too small to split inline between them. */
static void run_callback(const osc_kernel *k, split_run *r) {
  for (int s = 0; s < k->plan.n_stages; s++) {
    if (k->pieces[s] == 1) {   /* too little work to share: inline, no wake-up */
      tiles_of(k, s, 0, k->tiles[s], r->in, r->res, r->out, r->weights, r->scratch);
      continue;
    }
    r->stage = s;
    k->parallel_for(k->parallel_ctx, callback_task, r, (size_t)k->pieces[s]);
  }
}

/* One image on the pool: all its stages in one job, a step per stage.
** Each thread's chunk is its equal share of the pieces (taken in order,
** so the caller starts on the first ones; a late thread's share goes to
** whoever is free). A stage of one piece is a step of one chunk. */
_Static_assert(OSC_MAX_STAGES <= OSC_POOL_MAX_STEPS, "a step per stage");
static void run_pool(const osc_kernel *k, osc_pool *pool, split_run *r) {
  size_t n[OSC_MAX_STAGES], grain[OSC_MAX_STAGES];
  size_t threads = (size_t)osc_pool_threads(pool);
  for (int s = 0; s < k->plan.n_stages; s++) {
    n[s] = (size_t)k->pieces[s];
    grain[s] = (n[s] + threads - 1) / threads;
  }
  osc_pool_run_steps(pool, k->plan.n_stages, n, grain, pool_task, r);
}

/* Images [b, e) of a batch run whole by one thread through the layer's
** _n, on scratch of their own: chunk b / grain's block of r->scratch's
** (the caller's for the first chunk). */
typedef struct image_run {
  split_run *r;
  int n;
  size_t grain;
  float *extra;    /* scratch of the chunks after the first, one image's each */
} image_run;

static void image_task(void *ctx, size_t b, size_t e) {
  image_run *m = ctx;
  const osc_kernel *k = m->r->k;
  size_t in_size = osc_plan_input_size(&k->plan), out_size = osc_plan_output_size(&k->plan);
  size_t chunk = b / m->grain;
  float *scratch = chunk ? m->extra + (chunk - 1) * k->scratch_floats : m->r->scratch;
  const float *in = m->r->in + b * in_size, *res = m->r->res;
  float *out = m->r->out + b * out_size;
  osc_fpenv fe;
  osc_fpenv_enter(&fe, m->r->csr);
  if (k->res_fn) k->res_fn((int)(e - b), in, res + b * out_size, out, m->r->weights, scratch);
  else k->fn((int)(e - b), in, out, m->r->weights, scratch);
  atomic_fetch_or(&m->r->raised, osc_fpenv_leave(&fe));
}

/* At least as many images as threads: each thread runs its share of the
** images whole, with no barrier and no stage's output crossing between
** cores. Results are the serial run's: each image is computed by the same
** code, alone. 0 (nothing run) when the extra scratch cannot be had. */
static int run_images(const osc_kernel *k, osc_pool *pool, int n, split_run *r) {
  size_t threads = (size_t)osc_pool_threads(pool), grain = ((size_t)n + threads - 1) / threads;
  size_t chunks = ((size_t)n + grain - 1) / grain;
  image_run m = {r, n, grain, NULL};
  if (k->scratch_floats && chunks > 1 &&
      !(m.extra = osc_rt_malloc((chunks - 1) * k->scratch_floats * sizeof *m.extra)))
    return 0;
  osc_pool_run(pool, (size_t)n, grain, image_task, &m);
  free(m.extra);
  return 1;
}

/* res: a residual layer's (the last stage reads it, at the outputs each
** tile writes, so the pieces stay independent even when res is out). */
static void run_split(const osc_kernel *k, int n, const float *in, const float *res, float *out,
                      const float *weights, float *scratch) {
  size_t in_size = osc_plan_input_size(&k->plan), out_size = osc_plan_output_size(&k->plan);
  osc_pool *pool = k->pool ? k->pool : shared_pool;
  split_run r = {.k = k, .weights = weights, .scratch = scratch, .csr = osc_fpenv_current()};
  atomic_init(&r.raised, 0);
  r.in = in, r.res = res, r.out = out;
  if (!k->parallel_for && n >= osc_pool_threads(pool) && run_images(k, pool, n, &r)) {
    osc_fpenv_raise(atomic_load(&r.raised));
    return;
  }
  for (int i = 0; i < n; i++, in += in_size, out += out_size) {
    r.in = in;
    r.res = res ? res + (size_t)i * out_size : NULL;   /* NULL + 0 is undefined */
    r.out = out;
    if (k->parallel_for) run_callback(k, &r);
    else run_pool(k, pool, &r);
  }
  osc_fpenv_raise(atomic_load(&r.raised));
}

/* Source given: `source`/`symbol`; else emitted from the plan. */
static osc_status create(const osc_plan *p, const char *source, const char *symbol,
                         const osc_kernel_options *opt, osc_kernel **out, osc_error *err) {
  static const osc_kernel_options defaults;
  const osc_kernel_options *o = opt ? opt : &defaults;
  osc_kernel *k;
  osc_error why;
  osc_status st;
  if (!out) return osc_error_set(err, OSC_EINVAL, "kernel: no place for the result");
  *out = NULL;
  if (o->backend != OSC_BACKEND_JIT && o->backend != OSC_BACKEND_REFERENCE)
    return osc_error_set(err, OSC_EINVAL, "kernel: unknown backend %d", (int)o->backend);
  if (o->threads < 0 || o->threads > 1024)
    return osc_error_set(err, OSC_EINVAL, "kernel: threads must be 0..1024, got %d", o->threads);
  if ((st = osc_kernel_check_plan(p, err))) return st;
  if (o->backend == OSC_BACKEND_JIT && (st = kernel_isa(o, &(osc_isa){0}, err)))
    return st;   /* a wrong ISA is the caller's error, never a fallback */
  if ((st = osc_variant_parse(o->code, &(osc_emit_knobs){0}, NULL, err)))
    return st;   /* likewise a wrong code variant, for either backend */
  if (!(k = osc_rt_calloc(1, sizeof *k)))
    return osc_error_set(err, OSC_ENOMEM, "kernel: out of memory");
  k->plan = *p;
  /* checked above (the layer's by osc_kernel_check_plan) */
  osc_variant_parse(o->code && *o->code ? o->code : p->layer.code, &(osc_emit_knobs){0},
                    k->variant, NULL);
  k->scratch_floats = osc_plan_scratch_size(p);
  k->keep_denormals = o->keep_denormals != 0;
  k->log_runs = verbose_level() == 2;
  describe_problem(&p->layer, k->desc, sizeof k->desc);
  k->info.backend = OSC_BACKEND_REFERENCE;
  k->info.threads = 1;
  st = OSC_OK;
  if (o->backend == OSC_BACKEND_JIT) {
    osc_error_clear(&why);
    st = jit(k, source, symbol, o, &why);
    if (!st && (st = setup_threads(k, o, &why))) {
      osc_code_release(k->code);
      k->code = NULL;
      k->fn = NULL;
      k->res_fn = NULL;
    }
    if (st && o->allow_fallback && st != OSC_ENOMEM) {
      snprintf(k->fallback, sizeof k->fallback, "%s", why.msg);
      k->info.fallback = k->fallback;
      st = OSC_OK;
    } else if (st) {
      if (err) *err = why;
      free(k);
      return st;
    }
  }
  verbose(k);
  *out = k;
  return OSC_OK;
}

osc_status osc_kernel_create(const osc_plan *p, const osc_kernel_options *opt,
                             osc_kernel **out, osc_error *err) {
  return create(p, NULL, NULL, opt, out, err);
}

osc_status osc_kernel_create_from_source(const osc_plan *p, const char *source,
                                         const char *symbol,
                                         const osc_kernel_options *opt,
                                         osc_kernel **out, osc_error *err) {
  if (!source || !symbol) {
    if (out) *out = NULL;
    return osc_error_set(err, OSC_EINVAL, "kernel: no source or symbol given");
  }
  return create(p, source, symbol, opt, out, err);
}

/* ---- running, asking, freeing ---------------------------------------------------------- */

/* Both entry points: `with_res` says which one the caller used, which must
** be the kind of the layer. */
static osc_status run(const osc_kernel *k, int n, const float *in, int with_res,
                      const float *res, float *out, const float *weights, float *scratch,
                      osc_error *err) {
  float *own = NULL;
  osc_fpenv fp;
  double t0;
  if (!k) return osc_error_set(err, OSC_EINVAL, "kernel: no kernel given");
  if (k->plan.layer.residual != with_res)
    return osc_error_set(err, OSC_EINVAL, with_res
                         ? "kernel: layer '%s' takes no residual: run it with osc_kernel_run"
                         : "kernel: layer '%s' adds a residual: run it with "
                           "osc_kernel_run_residual", k->plan.layer.name);
  if (n < 0)
    return osc_error_set(err, OSC_EINVAL, "kernel: batch size %d is negative", n);
  if (n == 0) return OSC_OK;
  if (!in || !out || !weights)
    return osc_error_set(err, OSC_EINVAL, "kernel: input, output and weights are required");
  if (with_res && !res)
    return osc_error_set(err, OSC_EINVAL, "kernel: layer '%s' needs its residual, got NULL",
                         k->plan.layer.name);
  if (!scratch && k->scratch_floats) {
    if (!(scratch = own = osc_rt_malloc(k->scratch_floats * sizeof *scratch)))
      return osc_error_set(err, OSC_ENOMEM, "kernel: out of memory for %zu floats of scratch",
                           k->scratch_floats);
  }
  /* after every check: a run that fails leaves the state alone */
  if (!k->keep_denormals) osc_fpenv_flush(&fp);
  t0 = k->log_runs ? now_ms() : -1;
  if ((k->run_tiles || k->run_tiles_res) && k->info.threads > 1)
    run_split(k, n, in, res, out, weights, scratch);
  else if (k->res_fn)
    k->res_fn(n, in, res, out, weights, scratch);
  else if (k->fn)
    k->fn(n, in, out, weights, scratch);
  else
    osc_fallback_run(&k->plan, n, in, res, out, weights, scratch);
  if (!k->keep_denormals) osc_fpenv_restore(&fp);
  if (t0 >= 0)   /* OSCONV_VERBOSE=2, as ONEDNN_VERBOSE=profile_exec */
    fprintf(stderr, "osconv: run '%s' mb%d%s %s %s %.4f ms\n", k->plan.layer.name, n, k->desc,
            osc_backend_name(k->info.backend), k->info.isa ? k->info.isa : "-",
            now_ms() - t0);
  free(own);
  return OSC_OK;
}

osc_status osc_kernel_run(const osc_kernel *k, int n, const float *in, float *out,
                          const float *weights, float *scratch, osc_error *err) {
  return run(k, n, in, 0, NULL, out, weights, scratch, err);
}

osc_status osc_kernel_run_residual(const osc_kernel *k, int n, const float *in,
                                   const float *residual, float *out, const float *weights,
                                   float *scratch, osc_error *err) {
  return run(k, n, in, 1, residual, out, weights, scratch, err);
}

typedef void (*osc_pack_fn)(const float *weights, float *packed);

int osc_kernel_packs(const osc_kernel *k) {
  return k && k->info.backend == OSC_BACKEND_JIT && osc_code_pack(k->code) != NULL;
}

osc_status osc_kernel_pack(const osc_kernel *k, const float *weights, float *packed,
                           osc_error *err) {
  size_t n;
  if (!k || !weights || !packed)
    return osc_error_set(err, OSC_EINVAL, "osc_kernel_pack: NULL argument");
  n = osc_plan_weights_size(&k->plan);
  if (packed < weights + n && weights < packed + n)
    return osc_error_set(err, OSC_EINVAL, "osc_kernel_pack: packed overlaps weights");
  if (osc_kernel_packs(k)) ((osc_pack_fn)osc_code_pack(k->code))(weights, packed);
  else memcpy(packed, weights, n * sizeof *packed);
  return OSC_OK;
}

void osc_kernel_free(osc_kernel *k) {
  if (!k) return;
  osc_code_release(k->code);
  osc_pool_free(k->pool);
  free(k);
}

osc_backend osc_kernel_backend(const osc_kernel *k) {
  return k ? k->info.backend : OSC_BACKEND_NONE;
}

const osc_plan *osc_kernel_plan(const osc_kernel *k) { return k ? &k->plan : NULL; }

void osc_kernel_get_info(const osc_kernel *k, osc_kernel_info *info) {
  static const osc_kernel_info none = {.backend = OSC_BACKEND_NONE};
  if (info) *info = k ? k->info : none;
}

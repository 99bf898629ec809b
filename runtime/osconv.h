/*
** osconv.h -- public API of osconv: describe a convolution layer, plan its
** optimal separable form, and get a callable, shape-specialized kernel.
**
** Tensors are NCHW float32. Weights follow PyTorch: for each stage of a plan,
** [C_i][C_{i-1}/g_i][k_h][k_w], stages concatenated, then the bias (if any).
** Every function that can fail returns an osc_status and fills an osc_error
** (which may be NULL) with a message a person can act on.
** NULL: no function here crashes on a NULL pointer argument; each says
** what NULL does. Those returning an osc_status return OSC_EINVAL (with a
** message) when a pointer they need is NULL and touch nothing else;
** `err` may always be NULL.
*/
#ifndef OSCONV_H
#define OSCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OSC_VERSION "0.1.0"
#define OSC_MAX_STAGES 16   /* longest chain a plan may hold */
#define OSC_MAX_WIDTHS 8    /* extra internal widths a layer may offer */
#define OSC_NAME_MAX 64

/* ---- errors ------------------------------------------------------------ */

typedef enum osc_status {
  OSC_OK = 0,
  OSC_EINVAL,    /* a layer, plan or argument is not valid */
  OSC_ENOMEM,    /* an allocation failed */
  OSC_ECONFIG,   /* a config script failed or declared something wrong */
  OSC_ELIMIT,    /* a sandbox limit (instructions, memory) was hit */
  OSC_ENOPLAN,   /* no chain satisfies the constraints */
  OSC_EIO,       /* a file could not be read or written */
  OSC_EJIT,      /* the JIT compiler is missing or rejected the source */
  OSC_EINTERNAL  /* an invariant broke: a bug in osconv */
} osc_status;

typedef struct osc_error {
  osc_status code;
  char msg[1024];
} osc_error;

const char *osc_status_name(osc_status s);

/* ---- the layer a user asks for (SPEC.md) ------------------------------- */

typedef enum osc_mode {
  OSC_MODE_CONVENTIONAL = 0, /* one dense (or grouped) KxK stage */
  OSC_MODE_DEPTHWISE,        /* depthwise KxK, then pointwise 1x1 */
  OSC_MODE_SPATIAL,          /* K_h x 1, then 1 x K_w */
  OSC_MODE_OPTIMAL,          /* cheapest chain of at most max_stages */
  OSC_MODE_FIXED,            /* the chain the user wrote out */
  OSC_MODE_COUNT
} osc_mode;

/* What the optimal search minimizes: MACs, weights, or the modelled run time
** (gen/osctime.h: fitted per stage kernel, on the ISA the JIT emits for). */
typedef enum osc_objective { OSC_OBJ_MACS = 0, OSC_OBJ_PARAMS, OSC_OBJ_TIME } osc_objective;
/* After the layer (and its bias): nothing; max(x, 0); min(max(x, 0), 6);
** or min(max(x, clamp_min), clamp_max). Each keeps NaN, as torch.relu,
** relu6 and clamp do. */
typedef enum osc_activation {
  OSC_ACT_NONE = 0, OSC_ACT_RELU, OSC_ACT_RELU6, OSC_ACT_CLAMP
} osc_activation;

/* One stage of a user-written (fixed) chain. out_channels 0 means "the
** layer's out_channels" for the last stage and "in_channels" otherwise. */
typedef struct osc_stage_spec {
  int out_channels, groups, k_h, k_w;
} osc_stage_spec;

typedef struct osc_layer {
  char name[OSC_NAME_MAX];
  int in_channels, out_channels, in_h, in_w;
  int k_h, k_w, stride_h, stride_w, pad_h, pad_w;
  int groups;               /* of the original layer; >1 only as conventional */
  int bias;                 /* 0 or 1 */
  osc_activation act;
  float clamp_min, clamp_max;   /* OSC_ACT_CLAMP only: min <= max, not NaN */
  int residual;             /* 0 or 1: y = act(conv(x) + bias + r), r of the output's
                            ** shape (ResNet's skip connection); see osc_kernel_run_residual */
  osc_mode mode;
  int max_stages;           /* optimal mode: 1..OSC_MAX_STAGES */
  osc_objective objective;
  int n_widths;             /* extra internal widths the search may use */
  int widths[OSC_MAX_WIDTHS];
  int n_fixed;              /* fixed mode: the chain */
  osc_stage_spec fixed[OSC_MAX_STAGES];
  char code[32];            /* the SIMD stages' code variant (README "Autotuning"):
                            ** "" the emitter's choice, else "4x6", "8x2/u240"...; the
                            ** emitter and the JIT use it unless told another */
  const char *file;         /* where it was declared, for messages: NULL or a string */
  int line;
  int oc_lanes;             /* 0 or 1: stages may use lanes over output channels
                            ** (avx512_oc / avx2_oc, where the cost model finds it cheaper); a
                            ** layer whose code does then takes its weights packed
                            ** (<layer>_pack, osc_kernel_pack; README "ABI") */
} osc_layer;

/* Defaults: stride 1, no padding, groups 1, no bias, no activation,
** mode optimal, max_stages 2, objective macs. Sizes stay 0: set them.
** NULL: does nothing. */
void osc_layer_init(osc_layer *l);
osc_status osc_layer_validate(const osc_layer *l, osc_error *err);   /* NULL l: OSC_EINVAL */
int osc_layer_out_h(const osc_layer *l);   /* output height; 0 for NULL (or an empty output) */
int osc_layer_out_w(const osc_layer *l);   /* output width; 0 for NULL (or an empty output) */

const char *osc_mode_name(osc_mode m);       /* "?" for a value that is not a mode */
/* 0 on success; -1 for an unknown name or a NULL s or out (*out untouched). */
int osc_mode_from_name(const char *s, osc_mode *out);
const char *osc_objective_name(osc_objective o);
int osc_objective_from_name(const char *s, osc_objective *out);   /* as osc_mode_from_name */

/* ---- plans: a chain of grouped convolutions ------------------------------
** Stage i maps c_in -> c_out with `groups` groups and a k_h x k_w kernel.
** Its output channels are then shuffled with `groups` groups (view as
** (groups, c_out/groups), transpose, flatten) unless it is the last stage.
** Placement rule for stride and padding, per spatial dimension: the whole
** padding goes on the first stage with extent (k > 1) in that dimension and
** the stride on the last one; stages in between run unpadded ("valid") on
** the larger intermediate. A dimension with K = 1 puts both on stage 1.
** The chain is then exactly a K_h x K_w convolution at every output, borders
** included. */

typedef struct osc_stage {
  int c_in, c_out, groups, k_h, k_w;
  int stride_h, stride_w, pad_h, pad_w;
  int h_in, w_in, h_out, w_out;
} osc_stage;

typedef struct osc_plan {
  osc_layer layer;          /* the layer this plan replaces */
  osc_mode mode;            /* the mode that made it */
  int n_stages;
  osc_stage stage[OSC_MAX_STAGES];
  int64_t macs;             /* multiply-accumulates per image (1 MAC = 2 FLOPs) */
  int64_t params;           /* weights, plus the bias if the layer has one */
} osc_plan;

/* Plan a layer in its own mode (layer->mode). NULL l or out: OSC_EINVAL. */
osc_status osc_plan_layer(const osc_layer *l, osc_plan *out, osc_error *err);
/* Plan a layer in another mode (used for the baselines a table compares).
** NULL l or out: OSC_EINVAL. */
osc_status osc_plan_layer_mode(const osc_layer *l, osc_mode mode,
                               osc_plan *out, osc_error *err);

/* Sizes in floats, for one image; 0 for a NULL plan. */
size_t osc_plan_input_size(const osc_plan *p);
size_t osc_plan_output_size(const osc_plan *p);
size_t osc_plan_weights_size(const osc_plan *p);   /* stages, then bias */
size_t osc_plan_scratch_size(const osc_plan *p);   /* intermediates */
size_t osc_plan_stage_weights_offset(const osc_plan *p, int stage);

/* ---- configs: Lua scripts that declare networks of conv layers ------------
** The language is described in README.md and examples/default.lua. */

typedef struct osc_network {
  char name[OSC_NAME_MAX];   /* a C identifier: it prefixes generated symbols */
  int batch;                 /* images per call of a generated function */
  int line;                  /* where network{} was called */
  int n_layers;
  osc_layer *layers;         /* layers[i].file points at osc_config.file */
} osc_network;

typedef struct osc_config {
  char *file;                /* the path as given; layers point into it */
  int n_networks;
  osc_network *networks;
} osc_config;

#define OSC_CONFIG_MEMORY_LIMIT ((size_t)64 << 20)
#define OSC_CONFIG_INSTRUCTION_LIMIT 100000000LL
#define OSC_CONFIG_LAYER_LIMIT 100000   /* layers in all networks: a runaway guard */

typedef struct osc_config_options {
  int unsandboxed;           /* 1: full Lua standard library (trusted configs);
                                the memory and instruction limits then apply
                                only when set explicitly */
  size_t memory_limit;       /* bytes; 0 = default (64 MiB, or OSCONV_CONFIG_MEMORY) */
  long long instruction_limit; /* VM instructions; 0 = default (100 million, or
                                  OSCONV_CONFIG_INSTRUCTIONS); CPU time is capped
                                  at 100 ns per instruction (min 0.1 s) */
} osc_config_options;

/* Run a config script and collect its layers, each validated
** (osc_layer_validate). Nothing is returned on error: *out stays NULL and
** err says "file:line: what is wrong". opt may be NULL for the defaults.
** NULL path, source or out: OSC_EINVAL; a NULL name stands as "config". */
osc_status osc_config_load(const char *path, const osc_config_options *opt,
                           osc_config **out, osc_error *err);
/* The same from a string; `name` stands for the file in messages. */
osc_status osc_config_load_string(const char *name, const char *source,
                                  const osc_config_options *opt, osc_config **out,
                                  osc_error *err);
/* The same from `len` bytes (the source may hold NUL bytes). */
osc_status osc_config_load_buffer(const char *name, const char *source, size_t len,
                                  const osc_config_options *opt, osc_config **out,
                                  osc_error *err);
void osc_config_free(osc_config *c);   /* NULL is fine */

/* Find a layer by name ("layer" or "net.layer"); NULL if absent, or if c
** or name is NULL. *net gets the layer's network unless net is NULL. */
const osc_layer *osc_config_find_layer(const osc_config *c, const char *name,
                                       const osc_network **net);

/* ---- kernels: a plan compiled to code, ready to run ------------------------
** osc_kernel_create emits the plan's C (the same source `osconv gen` writes),
** compiles it in memory with libtcc and returns an opaque handle. Nothing to
** initialize first. A kernel is immutable once made: any number of threads
** may run the same kernel at once (each with its own scratch, or NULL).
** Compiled code is shared through a process-wide cache keyed by a hash of the
** source, the backend, the compiler flags and libtcc's runtime directory, so
** the same plan asked for twice compiles once; kernels keep their code alive
** after it is evicted.
** Environment: OSCONV_CACHE=0 turns the cache off, OSCONV_CACHE_CAPACITY=N
** caps it at N kernels (default 256, 0 = off; read once); OSCONV_VERBOSE=1
** prints one line per kernel made (plan, cache hit, miss or off, compile
** time, code size, backend, why it fell back, a benchdnn-style problem
** descriptor), OSCONV_VERBOSE=2 also one per run with its batch and time;
** for both flags, 0, off, false and no (any case) mean off and any other
** non-empty value on. OSCONV_DUMP=DIR writes each source the JIT compiles
** to DIR. OSCONV_TCC_LIB_PATH names the
** directory holding libtcc1.a, linked into every kernel (default
** /usr/lib/x86_64-linux-gnu/tcc; kernels include no headers, so that file
** is all it needs). JIT code is mapped read+write while libtcc relocates it,
** then its code pages read+execute and its data pages read-only: never
** write+execute; kernels keep no mutable state. */

typedef enum osc_backend {
  OSC_BACKEND_JIT = 0,    /* the generated C, compiled by libtcc */
  OSC_BACKEND_REFERENCE,  /* plain loops interpreting the plan: slow, always there */
  OSC_BACKEND_NONE        /* not a backend: what a NULL kernel reports */
} osc_backend;

const char *osc_backend_name(osc_backend b);   /* "jit", "reference", "none" */

/* A caller's thread pool, pthreadpool style (pthreadpool_parallelize_1d):
** call task(arg, i) once for every i in [0, n), on any threads in any
** order, and return when every call has returned. */
typedef void (*osc_parallel_for)(void *ctx, void (*task)(void *arg, size_t i), void *arg,
                                 size_t n);

/* All zero (or a NULL pointer) means the defaults. */
typedef struct osc_kernel_options {
  osc_backend backend;       /* what to build; default JIT */
  int allow_fallback;        /* 1: when the JIT fails, return a reference kernel
                                (osc_kernel_backend says so) instead of OSC_EJIT */
  int no_cache;              /* 1: compile privately, bypassing the cache */
  const char *tcc_lib_path;  /* NULL: $OSCONV_TCC_LIB_PATH, else the default */
  int keep_denormals;        /* 1: run in the caller's floating-point state
                                (IEEE gradual underflow); see osc_kernel_run */
  int threads;               /* most threads a run uses: 0 = osconv's shared pool
                                (OSCONV_NUM_THREADS, else the CPUs this process may
                                use), 1 = the calling thread only, N = a pool of N
                                of the kernel's own; with parallel_for, the most
                                pieces a stage is cut into (0: no cap) */
  osc_parallel_for parallel_for;  /* non-NULL: split runs through the caller's pool
                                     (called with parallel_ctx) instead of osconv's */
  void *parallel_ctx;
  const char *isa;           /* JIT: the ISA its code uses, "avx512", "avx2" or "c";
                                NULL or "": the CPU's best, capped by OSCONV_ISA. One
                                above that cap (the CPU's, or OSCONV_ISA's): OSC_EINVAL,
                                never a silent downgrade. Part of the cache key. */
  const char *code;          /* JIT: the code variant of its SIMD stages (README
                                "Autotuning"): NULL, "" or "auto" the emitter's choice;
                                "OxP" tiles of at most O output channels x P vectors,
                                "uN" fan-in bodies of at most N instructions, "px" the
                                shape, joined by '/' ("4x6/u240"). A bad name:
                                OSC_EINVAL. Part of the cache key. */
} osc_kernel_options;

typedef struct osc_kernel osc_kernel;

/* Compile `p` (a plan from osc_plan_layer; it is copied). Fails with
** OSC_EINVAL for a plan that osc_plan_layer could not have made, OSC_EJIT
** when libtcc is missing or rejects the source (unless allow_fallback),
** OSC_ENOMEM; OSC_EINVAL for a NULL p or out. *out is NULL on failure.
** opt may be NULL (the defaults). */
osc_status osc_kernel_create(const osc_plan *p, const osc_kernel_options *opt,
                             osc_kernel **out, osc_error *err);

/* Run n >= 0 images: in holds n * osc_plan_input_size floats, out n *
** osc_plan_output_size, weights osc_plan_weights_size (shared by all images).
** scratch holds osc_plan_scratch_size(plan) floats, reused for every image,
** and must not be shared by concurrent runs; NULL makes the call allocate
** (and free) its own, which can fail with OSC_ENOMEM. A NULL k, or a NULL
** in, out or weights when n > 0: OSC_EINVAL, nothing written; so is a layer
** with residual = 1 (osc_kernel_run_residual runs those). n == 0 runs
** nothing and returns OSC_OK, whatever the pointers.
** Denormals: on x86-64 a run sets flush-to-zero and denormals-are-zero
** (MXCSR FTZ|DAZ) in the calling thread, for JIT and reference kernels
** alike, unless the kernel was made with keep_denormals: any input, weight,
** bias or intermediate of magnitude below FLT_MIN (2^-126, about 1.2e-38)
** counts as zero, and any result that would be that small becomes zero.
** Denormal operands can otherwise make a run many times slower on CPUs
** that take microcode assists for them. Afterwards the caller's MXCSR is
** back: every control bit (rounding mode, exception masks, its own FTZ and
** DAZ) as it was, the exception flags the run raised added to the caller's
** (as feupdateenv does). The rounding mode and masks during the run are the caller's. A run
** that fails (OSC_EINVAL, OSC_ENOMEM) does not touch MXCSR. Other
** architectures run in the caller's state.
** Threads: a JIT kernel splits each stage of each image into the tiles of
** the tile ABI (<prefix>_tiles / _run_tiles, README "Generated code ABI")
** and runs them on its pool (osc_kernel_options.threads, parallel_for),
** the calling thread taking a share; stage after stage, image after image
** (on osconv's pools, a batch of at least as many images as threads is
** split by images instead, each thread running its share of them whole).
** A stage is cut into at most 4 pieces per thread, each of at least 2^18
** multiply-adds (below, one piece: it runs inline, no thread is woken),
** the count whose busiest thread has the fewest tiles, so small layers
** run as they would serially; osc_kernel_info.threads says how many
** threads the largest stage uses. Each output is computed by one tile with the
** same instructions, so the results are the same bits for every thread
** count. Pool threads run their pieces in the calling thread's MXCSR (FTZ
** and DAZ as above) and put their own back afterwards; the exception flags
** they raise reach the caller's MXCSR as the calling thread's do. While a
** run uses a pool, a concurrent run on the same pool runs inline. The
** reference backend, and JIT kernels from sources without the tile ABI,
** run serially on the calling thread. */
osc_status osc_kernel_run(const osc_kernel *k, int n, const float *in, float *out,
                          const float *weights, float *scratch, osc_error *err);

/* osc_kernel_run for a layer with residual = 1: out = act(conv(in) + bias +
** residual), residual holding n * osc_plan_output_size floats laid out as
** out. residual may be out itself (in place, as ResNets add their skip):
** every output reads its own residual element before it is written, and
** nothing else reads either; any other overlap of residual with out, and
** any overlap of in, weights or scratch with out, is not allowed. OSC_EINVAL,
** nothing written: the layer has no residual (use osc_kernel_run), or
** residual is NULL when n > 0 (with the other checks of osc_kernel_run,
** which in turn refuses a residual layer). Threads as osc_kernel_run: the
** residual layer's <prefix>_run_tiles(stage, first, count, in, residual,
** out, weights, scratch) splits the stages the same way, only the last
** stage reading the residual (each tile at the outputs it writes, so in
** place stays allowed); the same bits for every thread count. */
osc_status osc_kernel_run_residual(const osc_kernel *k, int n, const float *in,
                                   const float *residual, float *out, const float *weights,
                                   float *scratch, osc_error *err);

/* The weights as k's code reads them, into packed (osc_plan_weights_size
** floats; it may not overlap weights): PyTorch's layout, except for the
** stages a layer with oc_lanes runs with lanes over output channels
** (avx512_oc, avx2_oc), which are in their packed layout (README "ABI"); a copy for
** every other kernel. osc_kernel_packs says whether runs of k need it: then
** pass packed, not weights, to osc_kernel_run / _residual, and pack again
** whenever the weights change (a kernel never packs on its own, and runs
** never copy). OSC_EINVAL for a NULL argument, nothing written. */
osc_status osc_kernel_pack(const osc_kernel *k, const float *weights, float *packed,
                           osc_error *err);
int osc_kernel_packs(const osc_kernel *k);   /* 1: runs take packed weights; 0 (also NULL) */

void osc_kernel_free(osc_kernel *k);   /* NULL is fine */

osc_backend osc_kernel_backend(const osc_kernel *k);   /* OSC_BACKEND_NONE for NULL */
const osc_plan *osc_kernel_plan(const osc_kernel *k);  /* the kernel's copy; NULL for NULL */

typedef struct osc_kernel_info {
  osc_backend backend;
  int cache_hit;          /* 1: the code came from the cache */
  double emit_ms;         /* generating the source */
  double compile_ms;      /* libtcc, not counting the wait for its lock; 0 on a hit */
  size_t code_size;       /* bytes mapped for the code; 0 for the reference */
  const char *fallback;   /* why the JIT was not used, or NULL; owned by the kernel */
  const char *isa;        /* JIT: the ISA its code uses ("avx512", "avx2", "c": the
                          ** option's, else the CPU's best capped by OSCONV_ISA); NULL
                          ** for the reference */
  int threads;            /* threads a run's largest stage uses (1: serial, inline) */
  const char *code;       /* JIT: the code variant, canonical ("auto", "4x6", ...);
                          ** NULL for the reference; owned by the kernel */
} osc_kernel_info;

/* NULL info: does nothing; NULL k: *info is all zero but backend
** OSC_BACKEND_NONE. */
void osc_kernel_get_info(const osc_kernel *k, osc_kernel_info *info);

/* The process-wide cache. */
typedef struct osc_cache_stats {
  uint64_t compiles;          /* libtcc runs, cached or not */
  uint64_t compile_failures;
  uint64_t hits, misses, evictions;
  size_t entries, code_bytes; /* what the cache holds now */
} osc_cache_stats;

void osc_cache_get_stats(osc_cache_stats *s);   /* NULL: does nothing */
void osc_cache_clear(void);   /* drop every entry; kernels keep theirs */


/* ---- planning rigor, FFTW style ---------------------------------------------
** estimate: osc_plan_layer, by the cost model (MACs or params). measure:
** JIT-compile and time the layer's candidate plans (the baselines that
** apply, the optimal plan of each stage count up to max_stages, the fixed
** chain) for about budget_s seconds in all, keeping the fastest whose
** output matches the reference backend. `note` (NULL, or note_size bytes)
** says what was measured. NULL l or out, a budget <= 0 for measure:
** OSC_EINVAL; no candidate that builds and passes: OSC_ENOPLAN. */
typedef enum osc_rigor { OSC_RIGOR_ESTIMATE = 0, OSC_RIGOR_MEASURE } osc_rigor;
osc_status osc_plan_layer_rigor(const osc_layer *l, osc_rigor rigor, double budget_s,
                                osc_plan *out, char *note, size_t note_size, osc_error *err);
/* osc_plan_layer_rigor, and for measure also the winner's code variant
** into *ko (not NULL): after the plans (each on the JIT's default ISA and
** threads), the winner on the other ISAs, on 1, 2, 4, ... threads below
** the CPUs, and in the best ISA's code variants, all within the budget;
** ko->isa (a static string), ko->threads (left alone when the default,
** every CPU, won) and
** ko->code (NULL: "auto"; else a static string) are written, the other
** fields untouched. For estimate, *ko is untouched. */
osc_status osc_plan_layer_rigor_options(const osc_layer *l, osc_rigor rigor, double budget_s,
                                        osc_plan *out, osc_kernel_options *ko, char *note,
                                        size_t note_size, osc_error *err);

/* ---- tuning: what `scripts/autotune.lua` measured (README "Autotuning") ----
** A database is a JSON-lines file, one record per layer shape (channels,
** size, kernel, stride, padding, groups, bias, activation; not the name
** or mode): the plan (mode and chain) and code variant (ISA, threads) that measured
** fastest, its median time and spread, and where it was measured (CPU
** model, ISA flags, core count), with the osconv version and compiler. A
** record applies only where all of those are this process's. */
typedef struct osc_tuning osc_tuning;

typedef enum osc_tuning_verdict {
  OSC_TUNING_USED = 0,   /* a record for the layer's shape, from here: its plan */
  OSC_TUNING_ABSENT,     /* no record for the shape */
  OSC_TUNING_REJECTED    /* a record from another machine, version or compiler */
} osc_tuning_verdict;

/* Read a database, all or nothing: a malformed line fails the whole load
** with "path:line: what is wrong" and *out NULL. NULL path or out: OSC_EINVAL. */
osc_status osc_tuning_load(const char *path, osc_tuning **out, osc_error *err);
/* Write it (records in key order), atomically. NULL t or path: OSC_EINVAL. */
osc_status osc_tuning_save(const osc_tuning *t, const char *path, osc_error *err);
void osc_tuning_free(osc_tuning *t);            /* NULL is fine */
int osc_tuning_count(const osc_tuning *t);      /* records; 0 for NULL */
/* The plan the database holds for l: *verdict says whether a record was
** used, absent or rejected, and `note` (NULL, or note_size bytes) says it
** in words for the user ("tuning record rejected: it comes from another
** machine (...)"); a record whose ISA is above what this process's JIT may
** use (the CPU's best, capped by OSCONV_ISA) is rejected too, saying so.
** Only on OSC_TUNING_USED is *out written; otherwise plan
** as usual. A record whose chain does not fit l: OSC_EINVAL. NULL t, l,
** out or verdict: OSC_EINVAL. */
osc_status osc_tuning_lookup(const osc_tuning *t, const osc_layer *l, osc_plan *out,
                             osc_tuning_verdict *verdict, char *note, size_t note_size,
                             osc_error *err);
/* osc_tuning_lookup, and on OSC_TUNING_USED also the record's code variant
** into *opt (not NULL): opt->isa (a static string), opt->threads (the
** count it measured fastest with; left alone for an old record whose
** threads are null) and opt->code (the record's code variant, "auto" for
** a record without one; a string of t's, valid while t lives); the other
** fields are untouched. */
osc_status osc_tuning_lookup_options(const osc_tuning *t, const osc_layer *l, osc_plan *out,
                                     osc_kernel_options *opt, osc_tuning_verdict *verdict,
                                     char *note, size_t note_size, osc_error *err);

#ifdef __cplusplus
}
#endif
#endif

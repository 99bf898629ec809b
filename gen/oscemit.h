/*
** oscemit.h -- turning plans into C: the narrow interface the runtime and
** the CLI use. (Owner of the implementation: oscemit.c + templates/.)
*/
#ifndef OSCEMIT_H
#define OSCEMIT_H

#include "oscbuf.h"
#include "osconv.h"

typedef struct osc_emit_options {
  const char *prefix;   /* symbol prefix, a C identifier: "<net>_<layer>" */
  int batch;            /* images per call of the 4-argument function; 0 = 1 */
  int isa;              /* an osc_isa (gen/x86/oscisa.h): the SIMD code the stages
                        ** may use; 0 (OSC_ISA_AUTO): every variant plus the
                        ** portable C, chosen at the first call by cpuid */
} osc_emit_options;

/* One self-contained translation unit for one layer (no #include of
** osconv headers; libc/libm only), defining
**   void <prefix>(const float *in, float *out, const float *weights, float *scratch);
**       -- runs `batch` images
**   void <prefix>_n(int n, const float *in, float *out, const float *weights,
**                   float *scratch);   -- runs n images
** Deterministic: the same plan and options give the same bytes. */
osc_status osc_emit_layer(const osc_plan *p, const osc_emit_options *o, osc_buf *out,
                          osc_error *err);

/* Knobs of the unroll policy (described at the top of oscemit.c). Zero
** fields take the defaults, so `osc_emit_knobs k = {0}` is the default. */
typedef struct osc_emit_knobs {
  int max_expr_terms;     /* products per C statement; default 64 */
  int max_body_terms;     /* products per unrolled loop body; default 512 */
  int full_unroll_terms;  /* stages with at most this many products are
                          ** unrolled completely (no loops); default 1024,
                          ** negative: never */
  int max_oc_block;       /* output channels per block; default 4 */
  int max_px_block;       /* output pixels per block; default 4 */
  const char *kernel;     /* use this stage kernel where it applies (tests,
                          ** benchmarks); NULL: the cheapest applicable */
  int max_border_terms;   /* products unrolled for border rows and columns
                          ** (their taps clipped); the rest of the border
                          ** goes through a checked loop; default 2048,
                          ** negative: none */
  /* The SIMD stages' code variant (gen/oscvariant.h names them); 0 and
  ** NULL: the ISA's own choice. */
  int simd_oct;           /* a tile's output channels at most, 1..8 */
  int simd_pv;            /* a tile's vectors at most, 1..8 */
  int simd_body;          /* instructions in one fan-in loop body, 32..4096 (the pixel
                          ** shapes' default: OSC_VARIANT_BODY, 40) */
  const char *simd_shape; /* "px": lanes over pixels (the only shape yet) */
  int simd_split;         /* stride 2 in width, lanes over pixels: 1 split the input into
                          ** column phases wherever it fits, -1 never, 0 where it costs less
                          ** (gen/x86/oscpx.c, "Polyphase"; tests and benchmarks) */
} osc_emit_knobs;

/* Which registered kernel (an index in osc_stage_kernels) the emitter
** gives stage s alone for `isa` (an osc_isa other than AUTO) with the
** default knobs; `last` and `clamped` as in the stage job (a clamped
** activation keeps the last stage off the SIMD kernels). *cost (may be NULL)
** gets that kernel's own estimate. -1 if none applies (a bug). */
int osc_emit_stage_kernel(const osc_stage *s, int last, int clamped, int isa, double *cost);
/* The name of kernel i of osc_stage_kernels ("direct"), NULL out of range;
** how many there are. */
const char *osc_emit_kernel_name(int i);
int osc_emit_kernel_count(void);

/* osc_emit_layer with knobs; k may be NULL (defaults). */
osc_status osc_emit_layer_knobs(const osc_plan *p, const osc_emit_options *o,
                                const osc_emit_knobs *k, osc_buf *out, osc_error *err);
/* osc_emit_layer_knobs with fused pointwise runs (gen/x86/oscfuse.h): fuse
** 0 the rule (README "Fused pointwise runs": no block runs, register pairs
** where one tile takes a whole component), -1 (OSC_FUSE_OFF) none,
** P > 0 every run that can be fused, in blocks of P pixels; -2 (OSC_FUSE_REG,
** gen/x86/oscregfuse.h) every pair that fuses in registers, no block runs. */
osc_status osc_emit_layer_fuse(const osc_plan *p, const osc_emit_options *o,
                               const osc_emit_knobs *k, int fuse, osc_buf *out, osc_error *err);
/* The same code without the instruction listing above each asm block: the
** JIT's source, which nobody reads (runtime/osckernel.c). */
osc_status osc_emit_layer_unlisted(const osc_plan *p, const osc_emit_options *o,
                                   const osc_emit_knobs *k, osc_buf *out, osc_error *err);

/* A network: one .c and one .h (sizes as macros, prototypes). plans[i]
** belongs to net->layers[i]. Checks osc_emit_check_network first. */
osc_status osc_emit_network(const osc_network *net, const osc_plan *plans,
                            osc_buf *c_file, osc_buf *h_file, osc_error *err);

/* Where osc_emit_network_to sends the .c file, one piece after another
** (the head, then each layer's code as soon as it is made). */
typedef osc_status (*osc_emit_sink)(void *ctx, const char *data, size_t len, osc_error *err);

/* osc_emit_network_to for one ISA (an osc_isa; 0 = OSC_ISA_AUTO, what
** osc_emit_network_to emits). */
osc_status osc_emit_network_isa_to(const osc_network *net, const osc_plan *plans, int isa,
                                   osc_emit_sink sink, void *ctx, osc_buf *h_file,
                                   osc_error *err);

/* osc_emit_network with the .c streamed to `sink`, so a network of any
** size needs memory for one layer's code only. On failure the sink may
** have received part of the file: the caller discards it. */
osc_status osc_emit_network_to(const osc_network *net, const osc_plan *plans,
                               osc_emit_sink sink, void *ctx, osc_buf *h_file,
                               osc_error *err);

/* What a whole `osconv gen` may write: a cap, and what is used of it. */
typedef struct osc_emit_budget {
  size_t cap, used;   /* bytes */
} osc_emit_budget;

/* The default cap: 64 MiB (ResNet-50 is 1.4 MB), or OSCONV_GEN_MAX_BYTES
** (a positive number of bytes). */
#define OSC_EMIT_OUTPUT_CAP ((size_t)64 << 20)
size_t osc_emit_output_cap(void);

/* osc_emit_network_isa_to, with every byte of both files counted against
** `budget` (NULL: none; several networks share one): OSC_ELIMIT with
** "file:line: layer 'x': the generated code grows past N bytes ..." at the
** layer whose code crosses the cap, before that code reaches the sink. */
osc_status osc_emit_network_budget(const osc_network *net, const osc_plan *plans, int isa,
                                   osc_emit_sink sink, void *ctx, osc_buf *h_file,
                                   osc_emit_budget *budget, osc_error *err);

/* ---- what makes `osconv gen` refuse a config (oscemitcheck.c) -------------
** `check`, `gen` and the emitter itself call these, so a config that
** `osconv check` passes generates. Every message starts with
** "file:line: layer 'x': " or "file:line: network 'n': ". */

/* A network: its name and its layers' names are C identifiers; no layer's
** generated functions (<net>_<layer>, its _n entry, its static stage
** functions) are another's, and no two layers share macros
** (<NET>_<LAYER>_*: names differing only in case), and no name is one C or
** POSIX reserves (gen/oscreserved.h). With plans (NULL: the
** names only), every plan too (osc_emit_check_plan). */
osc_status osc_emit_check_network(const osc_network *net, const osc_plan *plans,
                                  osc_error *err);

/* A whole config, before planning: every network's names as above, and
** across networks: network names that differ only in case (the same
** include guard and macros, and the same files on a case-insensitive file
** system), and layers of different networks whose public functions or
** macros collide when the generated files are linked into one program. */
osc_status osc_emit_check_config(const osc_config *cfg, osc_error *err);

/* A plan the generated code can run: stages consistent with each other and
** the layer, every tensor of one image and the weights within 2^31-1
** floats (the generated code indexes with int). */
osc_status osc_emit_check_plan(const osc_plan *p, osc_error *err);

/* A C identifier of at most OSC_EMIT_PREFIX_MAX characters. */
#define OSC_EMIT_PREFIX_MAX 200
int osc_emit_is_identifier(const char *s);

#endif

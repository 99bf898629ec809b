/*
** oscrt.h -- internals of the kernel API that tests and tools reach for.
*/
#ifndef OSCRT_H
#define OSCRT_H

#include "osconv.h"

/* The entry symbol a JIT kernel's source must define, and the emitter
** prefix that produces it. */
#define OSC_JIT_PREFIX "osc_jit"
#define OSC_JIT_SYMBOL OSC_JIT_PREFIX "_n"

/* Signature of every generated <prefix>_n; a residual layer's takes the
** residual after the input. */
typedef void (*osc_kernel_fn)(int n, const float *in, float *out, const float *weights,
                              float *scratch);
typedef void (*osc_kernel_res_fn)(int n, const float *in, const float *residual, float *out,
                                  const float *weights, float *scratch);

/* The tile ABI of every generated layer (README, "Generated code ABI"):
** <prefix>_tiles(stage) and <prefix>_run_tiles(stage, first, count, ...). */
typedef int (*osc_tiles_fn)(int stage);
typedef void (*osc_run_tiles_fn)(int stage, int first, int count, const float *in, float *out,
                                 const float *weights, float *scratch);
/* a residual layer's: the residual after the input, as in its _n */
typedef void (*osc_run_tiles_res_fn)(int stage, int first, int count, const float *in,
                                     const float *residual, float *out, const float *weights,
                                     float *scratch);

/* The least multiply-adds of one piece of a split stage: below, waking a
** thread and waiting for it costs more than the piece saves. */
#define OSC_SPLIT_MIN_MACS (1 << 18)

/* Test hook: the least multiply-adds per piece for kernels made from now
** on (0: OSC_SPLIT_MIN_MACS), so that tests can split tiny layers. */
void osc_kernel_set_split_min_macs(long long macs);

/* How many pieces a stage of `macs` multiply-adds in `tiles` tiles is cut
** into for `threads` threads (0: not known), at most `cap` (0: any): no
** piece under the least above, and of the counts allowed the one whose
** busiest thread runs the fewest tiles, the most pieces at a tie. */
int osc_split_pieces(int64_t macs, int tiles, int threads, int cap);

/* osc_kernel_create with the source given instead of emitted; `symbol` is
** the <prefix>_n function to call. For tests of the JIT itself (bad source,
** AOT comparisons) and tools; the plan still gives the sizes. */
osc_status osc_kernel_create_from_source(const osc_plan *p, const char *source,
                                         const char *symbol,
                                         const osc_kernel_options *opt,
                                         osc_kernel **out, osc_error *err);

/* The source osc_kernel_create compiles for `p` (caller frees), with the
** instruction listing above each asm block, which osc_kernel_create leaves
** out unless OSCONV_DUMP is set (the same code otherwise). */
osc_status osc_kernel_source(const osc_plan *p, char **out, osc_error *err);
/* The same for a given ISA (an osc_isa, gen/x86/oscisa.h): osc_kernel_source
** uses osc_isa_runtime(), the CPU's best capped by OSCONV_ISA. */
osc_status osc_kernel_source_isa(const osc_plan *p, int isa, char **out, osc_error *err);
/* ... with a code variant (gen/oscvariant.h; NULL: "auto"). */
osc_status osc_kernel_source_variant(const osc_plan *p, int isa, const char *code, char **out,
                                     osc_error *err);

/* Checks that `p` is a plan osc_plan_layer could have made (shapes and costs
** consistent with its layer and stages). */
osc_status osc_kernel_check_plan(const osc_plan *p, osc_error *err);

#endif

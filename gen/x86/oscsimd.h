/*
** oscsimd.h -- how encoded machine code goes into the generated C, the same
** for the JIT (libtcc) and the AOT build (gcc, clang):
** - each block of machine code is a static noinline function of its own,
**   `static void NAME(const void *args)`, whose body is one GNU inline-asm
**   statement of `.byte` directives (tcc takes `.byte` but no AVX
**   mnemonics), preceded by a comment listing its instructions. It is only
**   ever called through a volatile function pointer, so no compiler sees
**   what it clobbers: the call clobbers every vector and mask register by
**   the ABI, and the code itself saves every general register it touches.
**   Nothing is declared clobbered beyond "memory" and "cc" (tcc takes no
**   xmm/zmm clobbers, gcc without -mavx512f refuses xmm16-31).
** - x86 code sits inside `#if defined(__x86_64__)`; elsewhere the portable
**   C kernels run, so the same source builds on any target.
** - With OSC_ISA_AUTO a SIMD stage is emitted as its variants plus the
**   portable C and a dispatcher that picks one through the layer's own
**   cpuid check (encoded too: generated code includes no headers), done at
**   its first call.
*/
#ifndef OSCSIMD_H
#define OSCSIMD_H

#include "oscbuf.h"
#include "osckernel.h"
#include "oscx86.h"

/* The machine code in `a` as `static void NAME(const void *args)` (args in
** rdi), with its listing above it (unless a->no_listing). */
void osc_simd_asm_function(osc_buf *out, const char *name, const osc_x86 *a);

/* The layer's ISA detector: `static int PREFIX_isa(void)`, the best osc_isa
** the CPU and the OS support (1 = c, 2 avx2, 3 avx512), cached after the first call. */
void osc_simd_detector(osc_buf *out, const char *prefix);

/* A dispatching stage function j->fname calling j->fname "_" <variant's
** name> for the best variant the CPU runs; v[0..n) best first, the last
** one portable. Also `static int FNAME_tiles(void)`, that variant's tile
** count: the variants split a stage differently. */
void osc_simd_dispatcher(osc_buf *out, const osc_stage_job *j, const osc_stage_kernel *const *v,
                         int n);

/* A stage function's parameter list (in, out, w, then bias and res where the
** job has them, then the tile range t0, t1; out is not restrict beside a
** residual, which may be out). */
void osc_simd_params(osc_buf *out, const osc_stage_job *j);

/* The x86-64 ISA a SIMD stage kernel may use for job j: its cap (OSC_ISA_AUTO
** reads as the best, the dispatcher guards it). */
osc_isa osc_simd_cap(const osc_stage_job *j);

/* The glue's group `gr` and first output channel `j` of tile `t` (C
** expressions, "gr = ..., j = ..."), tiles being groups x ceil(m / oct)
** tiles of oct output channels. */
void osc_simd_tile_index(osc_buf *out, const osc_stage *s, int oct, const char *t, const char *gr,
                         const char *j);

#endif

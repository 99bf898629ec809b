/*
** oscoc.h -- lanes over output channels, the shape of the avx512_oc and
** avx2_oc stage kernels (oscoc.c; the ISAs: kernel_avx512_oc.c,
** kernel_avx2_oc.c, osc_oc_isa below), for stages whose planes are small
** or strided, where lanes over pixels (oscpx.h) leave lanes idle or pay
** two loads and a permute per vector at stride 2.
**
** A vector holds 16 (zmm) or 8 (ymm) consecutive output channels of one
** group at one output pixel. A register tile is OCV blocks of 16 channels
** x up to PX output pixels (AVX-512: 4 x 6, 3 x 8, 2 x 13 or 1 x 24
** accumulators; AVX2: one block, two ymm, x 6 pixels). Per input channel
** and tap: OCV weight-vector loads from the packed weights, then per pixel
** one vbroadcastss of its input and OCV register FMAs (one vector: the
** FMA broadcasts from memory). The input is addressed per pixel, so any
** stride costs nothing; zero padding is leaving out the taps of the pixels
** whose input they miss, per pixel (no masks, no padded copy).
**
** The plane is walked in blocks of output rows, the pixels of a block
** (rows x the whole width, flattened) cut into tiles as even as fit: a
** small plane is one block (7x7: 49 pixels in 9 tiles of 5-6), else the
** rows whose taps miss the input above (below) are a block each, unrolled,
** and the interior rows a loop of blocks of R rows (R chosen to fill the
** tiles), then the remainder. The input channels loop, unrolled by a
** divisor of the fan-in up to about MAX_BODY instructions a body.
**
** The store, per vector: the bias (a vector load: a group's outputs are
** consecutive in the bias), the residual, the activation (as oscpx.h:
** max(lo, acc), then min(hi, acc), acc second, so a NaN stays NaN), then
** the lanes to their channels at the channel stride (the folded
** shuffle's: the plane on the last stage, g planes otherwise): AVX-512
** gathers the residual and scatters with an index vector (zmm31, lane l:
** l x the stride); AVX2, which has no scatter, gathers the residual by
** vmovss / vinsertps and stores through a spill to the stack and 8 scalar
** movs (kernel_avx2_oc.c).
**
** The weights are packed (osc_oc_pack_index): per group gr, per block b
** of LANES outputs, per input channel c and tap t, the LANES weights of
** outputs gr*m + b*LANES + l, l = 0..LANES-1, consecutive. The packed
** stage has as many floats as PyTorch's, at the same offset in the
** layer's weights; the layer gets PREFIX_pack (README "ABI"). Both ISAs
** read the same 16-wide blocks (AVX2 a block's halves as two ymm), so one
** packed buffer serves either.
*/
#ifndef OSCOC_H
#define OSCOC_H

#include "osckernel.h"
#include "oscx86.h"

#define OSC_OC_LANES 16
#define OSC_OC_MAX_OCV 4
#define OSC_OC_MAX_PX 24

/* The index in a stage's packed weights of PyTorch's w[co][c][t] (co =
** gr*m + j, c < n input channels of the group, t < taps): the layout the
** emitted pack function writes, spelled once here for tests and docs. */
static inline long long osc_oc_pack_index(long long co, long long c, long long t, int m,
                                          int n, int taps) {
  long long gr = co / m, j = co % m, b = j / OSC_OC_LANES, l = j % OSC_OC_LANES;
  return (((gr * (m / OSC_OC_LANES) + b) * n + c) * taps + t) * OSC_OC_LANES + l;
}

typedef struct osc_oc_isa osc_oc_isa;

typedef struct oc_gen {
  const osc_stage *s;
  const osc_oc_isa *isa;
  int n, m, taps, ocv, nv, bias, relu, clamped, residual;
  float lo, hi;
  long long x_ic, w_blk, o_oc;   /* bytes between input channels, weight blocks, outputs */
} oc_gen;

/* General registers of the shape's code (oscoc.c saves them all). */
#define OSC_OC_ARGS ZYDIS_REGISTER_RDI
#define OSC_OC_BIAS ZYDIS_REGISTER_R8
#define OSC_OC_OROW ZYDIS_REGISTER_R11
#define OSC_OC_TMP32 ZYDIS_REGISTER_R13D
#define OSC_OC_IDXP ZYDIS_REGISTER_R14
#define OSC_OC_RROW ZYDIS_REGISTER_R15

/* An ISA of the shape: its registers and its few instructions. */
struct osc_oc_isa {
  const char *kernel, *auto_kernel;   /* "avx512_oc", "avx512_oc_auto" */
  osc_isa isa;
  int vpb;                  /* vectors per 16-channel block: 1 (zmm) or 2 (ymm) */
  int max_ocv;              /* blocks per tile */
  const int *px_max;        /* pixels per tile, by blocks 0..max_ocv */
  int fma_bcst;             /* 1: a one-vector tile's FMA broadcasts from memory */
  double store_cost;        /* a vector's store, in the pixel shapes' cost units */
  int store_ins;            /* its instructions, for the code estimate */
  ZydisRegister (*vreg)(int i);
  /* a vector instruction of the ISA's encoding (EVEX without a mask, or VEX) */
  void (*vec)(osc_x86 *a, ZydisMnemonic mn, int n, const osc_x86_op *ops);
  void (*zero)(osc_x86 *a, int r);
  /* after the arguments are loaded: the store's constants */
  void (*prologue)(const oc_gen *g, osc_x86 *a);
  /* a tile's stores begin; registers from `free` up are free */
  void (*stores)(const oc_gen *g, osc_x86 *a, int free);
  /* post-ops and store of accumulator r (channel vector v of the tile) to
  ** OSC_OC_OROW[at], lane l at + l x the channel stride */
  void (*store)(const oc_gen *g, osc_x86 *a, int r, int v, long long at, int free);
  void (*epilogue)(const oc_gen *g, osc_x86 *a);   /* before the registers come back */
};

extern const osc_oc_isa osc_oc_avx512, osc_oc_avx2;

#define OSC_OC_VEC(x, a, mn, ...) (x)->vec(a, ZYDIS_MNEMONIC_##mn, OSC_X86_OPS(__VA_ARGS__))

/* The shape's applicability (the kernels add the opt-in: kernel_avx512_oc.c). */
const char *osc_oc_inapplicable(const osc_oc_isa *x, const osc_stage_job *j);
/* Whether k is one of the oc kernels (its stage reads packed weights). */
int osc_oc_kernel(const osc_stage_kernel *k);
double osc_oc_cost(const osc_oc_isa *x, const osc_stage_job *j);
int osc_oc_tiles(const osc_oc_isa *x, const osc_stage_job *j);
osc_status osc_oc_emit(const osc_oc_isa *x, const osc_stage_job *j, osc_buf *out,
                       osc_error *err);
/* The strategy-table entries of an ISA's forced and by-cost kernels. */
const char *osc_oc_forced(const osc_oc_isa *x, const osc_stage_job *j);
const char *osc_oc_by_cost(const osc_oc_isa *x, const osc_stage_job *j);
/* v's bits (an immediate for a splat). */
uint32_t osc_oc_bits(float v);

/* The strategy-table entries osc_kernel_ISA_oc and osc_kernel_ISA_oc_auto
** (written by gen/x86/kernel_ISA_oc.c) for the ISA table X of osc_isa ID. */
#define OSC_OC_STAGE_KERNELS(isa, x, id)                                                  \
  static const char *isa##_oc_forced(const osc_stage_job *j) { return osc_oc_forced(&x, j); } \
  static const char *isa##_oc_by_cost(const osc_stage_job *j) {                           \
    return osc_oc_by_cost(&x, j);                                                         \
  }                                                                                       \
  static double isa##_oc_cost(const osc_stage_job *j) { return osc_oc_cost(&x, j); }       \
  static osc_status isa##_oc_emit(const osc_stage_job *j, osc_buf *out, osc_error *err) {  \
    return osc_oc_emit(&x, j, out, err);                                                  \
  }                                                                                       \
  static int isa##_oc_tiles(const osc_stage_job *j) { return osc_oc_tiles(&x, j); }        \
  const osc_stage_kernel osc_kernel_##isa##_oc = {                                        \
      #isa "_oc", "(encoded: gen/x86/kernel_" #isa "_oc.c)", isa##_oc_forced,             \
      isa##_oc_cost, isa##_oc_emit, id, isa##_oc_tiles};                                  \
  const osc_stage_kernel osc_kernel_##isa##_oc_auto = {                                   \
      #isa "_oc_auto", "(encoded: gen/x86/kernel_" #isa "_oc.c)", isa##_oc_by_cost,       \
      isa##_oc_cost, isa##_oc_emit, id, isa##_oc_tiles}
/* `static void FNAME_pack(const float *w, float *p)`: the stage's weights
** into the packed layout. */
void osc_oc_emit_pack(const osc_stage_job *j, osc_buf *out);

#endif

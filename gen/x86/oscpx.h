/*
** oscpx.h -- lanes over pixels, the shape the avx512_px and avx2_px stage
** kernels share (oscpx.c): stride-1 stages of any kernel (grouped KxK,
** Kx1, 1xK, pointwise 1x1, depthwise) on NCHW.
**
** A vector holds LANES consecutive output pixels of one output row of one
** channel (a row is ceil(w_out/LANES) vectors, the last one masked). A
** register tile is OCT output channels x PV pixel vectors (consecutive rows
** x a run of a row's vectors, as many as the ISA's registers hold). Per
** input channel and tap: PV loads, then for each of the OCT weights (a
** broadcast) PV multiply-adds. Zero padding is lane masks on the loads
** (masked lanes read nothing and cannot fault; never a padded copy), tails
** are masks on the loads and stores; a vector whose lanes are all padding
** for a tap is left out of that tap. Rows whose taps fall above or below
** the input get their own code with those taps left out; the interior rows
** loop. The input channels loop, unrolled by a divisor of the fan-in up to
** about MAX_BODY instructions a body. Bias (a broadcast add), the
** activation (ReLU: max(lo, acc) with acc second, so a NaN stays NaN as in
** torch.relu; relu6 and clamp: then min(hi, acc), NaN kept as torch.clamp
** keeps it; lo and hi splatted into two free registers before the stores)
** and the folded shuffle (the tile's channels stored at the shuffled
** layout's channel stride) are in the store.
**
** One machine-code function covers one tile of output channels over the
** whole plane; a C loop over groups and tiles calls it with pointers
** (args: in, out, w, bias of the tile, the lane-mask table or, at stride 2
** in width, the permutation that keeps even lanes; a residual layer's last
** stage adds the tile's residual, at the output's offset, as args[5]; where
** the code prefetches, args[6] and args[7] are the input and the weights of
** the next tile the loop runs, its own at the end). Any
** stride in height; in width 1, or 2 where the ISA can (avx512_px: two masked loads and a
** vpermt2ps per vector; or, where the cost says so, the group's input first
** split into even and odd column phases on the stack, then one load a
** vector; and rows banded into tiles of equal height: oscpx.c). A group whose
** outputs do not fill whole tiles gets a second function for the last one.
** Small planes (stride 1, w_in == w_out, the plane within one tile's
** vectors) are one tile of vectors over the flattened plane instead, so a
** 7x7 plane is 49 pixels in 4 vectors rather than 7 rows of 7 of 16 lanes;
** there every mask is per vector and tap (rows and columns of padding).
** Larger planes of that kind whose rows do not fill whole vectors (56, 28,
** 14: 12.5% of the lanes idle row by row) are flat too, as a run: the
** vectors whose every lane is in an interior row are a loop of passes of
** p vectors, p * LANES a multiple of the row (56, 28, 14, 7 wide: p = 7),
** so each pass has the same masks (the columns of padding); the vectors
** above and below are unrolled with their masks, rows of padding included
** (all of them, on a plane too short for one pass).
** An ISA supplies its registers and its few instructions (osc_px_isa).
**
** The pointwise shape (kernel_avx512_pw.c, kernel_avx2_pw.c): a 1x1 stage
** of stride 1 without padding reads and writes each channel's plane as one
** run of h*w pixels, so rows need not fill whole vectors (a 56-pixel row
** is 4 vectors with 8 lanes idle in the last; 56x56 as one run is 196
** full vectors). The run is viewed as rows of LANES pixels, tiled and
** looped like the interior rows above (a tile: OCT channels x up to PV
** vectors of the run, the fan-in loop unrolled), and its last partial
** vector is a tile of its own with a masked load and store. No masks
** anywhere else, no border code.
*/
#ifndef OSCPX_H
#define OSCPX_H

#include "osckernel.h"
#include "oscx86.h"

#define OSC_PX_MAX_PV 8
#define OSC_PX_MAX_OCT 8
#define OSC_PX_MAX_MASKS 64
/* The first masks of a stage (in first-use order) live in mask registers
** for the whole function (AVX-512: k1..k6); the others are loaded per use. */
#define OSC_PX_KREGS 6

/* General registers of the code (all saved by the code itself). */
#define OSC_PX_ARGS ZYDIS_REGISTER_RDI
#define OSC_PX_IN ZYDIS_REGISTER_RSI
#define OSC_PX_OUT ZYDIS_REGISTER_RDX
#define OSC_PX_W ZYDIS_REGISTER_RCX
#define OSC_PX_BIAS ZYDIS_REGISTER_R8
#define OSC_PX_ROWS ZYDIS_REGISTER_R9
#define OSC_PX_XROW ZYDIS_REGISTER_R10
#define OSC_PX_OROW ZYDIS_REGISTER_R11
#define OSC_PX_X ZYDIS_REGISTER_RAX
#define OSC_PX_WK ZYDIS_REGISTER_RBX
#define OSC_PX_IC ZYDIS_REGISTER_R12
#define OSC_PX_TMP ZYDIS_REGISTER_R13
#define OSC_PX_TMP32 ZYDIS_REGISTER_R13D
#define OSC_PX_MASKS ZYDIS_REGISTER_R14
#define OSC_PX_RES ZYDIS_REGISTER_RBP    /* a residual layer's last stage: args[5] */
#define OSC_PX_RROW ZYDIS_REGISTER_R15   /* the residual at OSC_PX_OROW's offset */
/* Once the args are read (and rdi saved): the next call's input minus this
** call's (args[6] - args[0], bytes), the input prefetches' index. */
#define OSC_PX_PFD ZYDIS_REGISTER_RDI

/* A vector: row dr of the tile, first pixel c0 of its row (of the plane
** when flat), lanes; addressed at c0 - base (the run's loop pass). */
typedef struct osc_px_vec { int dr, c0, width, base; } osc_px_vec;

/* The run shape of a flat plane too long for one tile: vectors [0, v0)
** unrolled, then `iters` passes of p vectors (p * LANES a whole number of
** rows, so every pass has the masks of the first), then the rest to nv. */
typedef struct osc_px_run { int nv, p, v0, iters; } osc_px_run;

typedef struct osc_px_isa osc_px_isa;

/* One function being generated. */
typedef struct osc_px {
  const osc_px_isa *isa;
  const osc_stage *s;                /* the stage, or (pw) the view being emitted */
  int pw;                            /* the pointwise shape: the plane as one run of pixels */
  osc_stage view, tail;              /* pw: rows of LANES pixels, then the last partial vector */
  int n, m, khkw, oct, bias, relu, clamped, residual;
  int max_body;                      /* instructions in one fan-in loop body */
  float lo, hi;                      /* the activation's bounds (relu: lo; clamped: both) */
  int cpr;                           /* vectors per output row (flat: per plane) */
  int flat;                          /* the plane is flat vectors: one tile, or a run */
  int run;                           /* the flat plane loops (run below) */
  osc_px_run runp;
  int mask_overflow;                 /* more than OSC_PX_MAX_MASKS masks */
  int tr;                            /* rows per interior tile */
  int row0;                          /* the tile's first output row when known (banded), else -1 */
  int oh_lo, oh_hi;                  /* else the output rows the code serves, when known (lo >= 0) */
  int passes;                        /* flat: how many passes of a run the code makes (1: none) */
  int nseg, seg[OSC_PX_MAX_PV + 1];  /* a row's vectors in segments [seg[i], seg[i+1]) */
  long long x_ic, w_oc, o_oc;        /* bytes between input channels, weight rows, outputs */
  unsigned mask[OSC_PX_MAX_MASKS];   /* the partial lane masks, in first-use order */
  int n_masks;
  int pf_in;                         /* prefetch the next group's input (oscpx.c, "Cold") */
  int pf_split;                      /* split: the taps stream the next group's input */
  int pf_ahead;                      /* pointwise: each plane prefetched ahead (oscpx.c) */
  int pf_w_lines;                    /* cache lines of the next tile's weights prefetched */
  int split;                         /* stride 2: the input split into column phases (oscpx.c) */
  long long xw;                      /* floats between input rows (split: the copy's) */
} osc_px;

struct osc_px_isa {
  const char *kernel;                 /* "avx512_px" */
  const char *pw_kernel;              /* "avx512_pw": the pointwise shape */
  osc_isa isa;
  int lanes, max_oct;
  const int *pv_max;                  /* vectors per tile, by tile channels 0..max_oct_pv2 */
  int max_oct_pv2;                    /* stride 2 (unsplit) and the pointwise shape: tiles up
                                      ** to this many channels (0: max_oct; oscpx.c, variant) */
  int mask_table;                     /* loads masks from the table in args[4] */
  int max_stride_w;                   /* 1, or 2: loads two vectors and keeps even lanes */
  int keep_even;                      /* load_even takes keep (oscpx.c's even_keep) */
  int pw_ahead;                       /* the pointwise shape prefetches ahead (oscpx.c, "Ahead") */
  /* stride 2 (unsplit): NULL, lane l of a vector holds output pixel l; else
  ** even_order[l], from load_even to the store, which puts them in order */
  const unsigned char *even_order;
  /* before the rows: e.g. masks into mask registers */
  void (*prologue)(osc_px *g, osc_x86 *a);
  void (*zero)(osc_px *g, osc_x86 *a, int reg);
  /* reg = OSC_PX_X[off], lanes outside `mask` zero (mask: all ones = full) */
  void (*load)(osc_px *g, osc_x86 *a, int reg, unsigned mask, long long off);
  /* stride 2: reg = the even lanes of OSC_PX_X[off] (mask m0) and of the
  ** vector after it (m1); the permutation index was set up by the prologue.
  ** keep != 0 (where the ISA has keep_even; m0 and m1 full or 0): the lanes
  ** of reg outside keep zeroed (AVX-512: by the permute's zero-masking;
  ** AVX2: an AND with keep's row of the mask table) */
  void (*load_even)(osc_px *g, osc_x86 *a, int reg, unsigned m0, unsigned m1, long long off,
                    unsigned keep);
  /* stride 2 (NULL: the ISA pairs no taps): reg = the even lanes, reg2 the
  ** odd ones, of the unmasked OSC_PX_X[off] and the vector after it, each
  ** zeroed outside its keep (in load_even's lane order; 0: not used) */
  void (*load_even_pair)(osc_px *g, osc_x86 *a, int reg, int reg2, long long off, unsigned keep,
                         unsigned keep2);
  int pair_regs;                      /* accumulators + x vectors a tile may use when it pairs */
  /* stride 2, the polyphase split (NULL: the ISA has none): one input row
  ** at OSC_PX_X copied to OSC_PX_XROW as its even columns, then its odd
  ** ones, each phase whole vectors from OSC_PX_XROW and + g->xw / 2 (the
  ** permutation indices of both at OSC_PX_MASKS); with `setup`, once
  ** before the rows, what every row uses */
  void (*split_row)(osc_px *g, osc_x86 *a, int setup);
  /* acc[i] += x[i] * OSC_PX_WK[w_off] for the live i; k NULL, or k[i] the
  ** mask register (0: none) whose lanes alone x[i] updates (fma_masks) */
  void (*fma)(osc_px *g, osc_x86 *a, const int *acc, const int *x, const int *live, int pv,
              long long w_off, const int *k);
  /* NULL: the ISA has no masked multiply-adds. Else k[i] = the mask register
  ** holding lanes[i] (0 when lanes[i] is 0 or full), after loading it where
  ** it is not one of the OSC_PX_KREGS preloaded: one such at most */
  void (*fma_masks)(osc_px *g, osc_x86 *a, const unsigned *lanes, int pv, int *k);
  /* reg = v in every lane (through OSC_PX_TMP32) */
  void (*splat)(osc_px *g, osc_x86 *a, int reg, float v);
  /* bias (OSC_PX_BIAS[b_off]), the residual (OSC_PX_RROW[off], masked like
  ** the store), the activation (relu: max(lo, acc); clamped: then min(hi,
  ** acc); acc second, so a NaN stays NaN as in torch.clamp), store to
  ** OSC_PX_OROW[off]: the one place of every post-op */
  void (*store)(osc_px *g, osc_x86 *a, int acc, int lo, int hi, long long b_off, unsigned mask,
                long long off);
  void (*epilogue)(osc_px *g, osc_x86 *a);
};

/* The ISAs (kernel_avx512_px.c, kernel_avx2_px.c). */
extern const osc_px_isa osc_px_avx512, osc_px_avx2;

/* The strategy's parts, for an ISA; pw: the pointwise shape (oscpw below). */
const char *osc_px_inapplicable(const osc_px_isa *x, int pw, const osc_stage_job *j);
double osc_px_cost(const osc_px_isa *x, int pw, const osc_stage_job *j);
/* The stage function's tiles: groups x tiles of output channels. */
int osc_px_tiles(const osc_px_isa *x, int pw, const osc_stage_job *j);
osc_status osc_px_emit(const osc_px_isa *x, int pw, const osc_stage_job *j, osc_buf *out,
                       osc_error *err);

/* Fusion (gen/x86/oscfuse.c): the pointwise shape's tile width for stage s,
** and its machine code for a block of j->s->h_out * j->s->w_out pixels
** whose input / output channel planes lie in_stride / out_stride floats
** apart (the layer's plane, or a block buffer's): the functions
** j->fname "_t<oct>", and with the ISA's mask table, j->fname "_masks". */
int osc_px_pw_oct(const osc_px_isa *x, const osc_stage *s);
osc_status osc_px_emit_pw_block(const osc_px_isa *x, const osc_stage_job *j, long long in_stride,
                                long long out_stride, osc_buf *out, osc_error *err);

/* The strategy-table entry osc_kernel_ISA_SHAPE ("ISA_SHAPE", written by
** gen/x86/kernel_ISA_SHAPE.c) and the four functions it holds, each the
** osc_px_* function above for the ISA table X (of osc_isa ID) and the shape
** PW: what each kernel_avx*_p[xw].c defines. */
#define OSC_PX_STAGE_KERNEL(isa, shape, x, id, pw)                                        \
  static const char *isa##_##shape##_inapplicable(const osc_stage_job *j) {              \
    return osc_px_inapplicable(&x, pw, j);                                               \
  }                                                                                      \
  static double isa##_##shape##_cost(const osc_stage_job *j) {                           \
    return osc_px_cost(&x, pw, j);                                                       \
  }                                                                                      \
  static osc_status isa##_##shape##_emit(const osc_stage_job *j, osc_buf *out,           \
                                         osc_error *err) {                               \
    return osc_px_emit(&x, pw, j, out, err);                                             \
  }                                                                                      \
  static int isa##_##shape##_tiles(const osc_stage_job *j) {                             \
    return osc_px_tiles(&x, pw, j);                                                      \
  }                                                                                      \
  const osc_stage_kernel osc_kernel_##isa##_##shape = {                                  \
      #isa "_" #shape, "(encoded: gen/x86/kernel_" #isa "_" #shape ".c)",                \
      isa##_##shape##_inapplicable, isa##_##shape##_cost, isa##_##shape##_emit, id,       \
      isa##_##shape##_tiles}

/* Index of a partial mask in g->mask (the table's row). */
int osc_px_mask_index(const osc_px *g, unsigned mask);
/* For an ISA's splat: +0.0 zeroes reg (returns 0); else v's bits go to
** OSC_PX_TMP32 for the ISA to broadcast (returns 1). */
int osc_px_splat_bits(osc_px *g, osc_x86 *a, int reg, float v);
/* All lanes on. */
static inline unsigned osc_px_full(const osc_px *g) { return (1u << g->isa->lanes) - 1; }

#endif

/*
** oscregfuse.h -- two pointwise stages fused in registers (issue #10 item
** 2; AVX-512 only): stage A (1x1/gA, fan-in nA, mA outputs a group, not
** the layer's last, so its outputs are shuffled: output j of group gr is
** channel j*gA + gr) then stage B (1x1/gB, fan-in nB, mB outputs a group).
** When nB divides gA, B's group gb reads output j = gb*nB / gA of the nB
** consecutive A groups from (gb*nB) % gA, its input k being the k-th of
** them. So the A groups comp*nB .. comp*nB + nB-1 (a component, q = gA/nB
** of them) feed exactly the mA B groups j*q + comp: per vector of pixels
** and component, each A group's nA inputs are loaded once, each of its
** outputs (the intermediate) computed into one register and multiplied at
** once into the mB accumulators of the B group it feeds; the intermediate
** never reaches memory. Every sum runs in the unfused order (A: zero, then
** its inputs in order; B: zero, then its inputs k = 0..nB-1, then the
** store's bias, residual and activation, the pointwise shape's own store),
** so the pair gives the unfused bits.
**
** A tile is one component and a chunk of jc of its A outputs j (the B
** groups they feed), over the whole plane: jc*mB*PV accumulators, nA*PV
** inputs and PV intermediates within the 32 zmm (PV vectors of pixels a
** pass; the chunk's inputs are reloaded for each chunk). Tiles =
** (gA/nB) * (mA/jc), reported on stage A; stage B reports 1 tile, which
** does nothing (the fused-run ABI of oscfuse.h). The tiles read the
** pair's input and write its output, so these must be two buffers (the
** emitter reroutes a pair in the middle of a chain, oscemit.c).
*/
#ifndef OSCREGFUSE_H
#define OSCREGFUSE_H

#include "osckernel.h"

typedef struct osc_regfuse {
  int first;          /* stage A (0-based); B is first + 1 */
  int pv, jc, tiles;
} osc_regfuse;

/* The knob value (osc_emit_layer_fuse) that fuses every eligible pair in
** registers and no block runs. */
#define OSC_FUSE_REG (-2)

/* Whether the knob (osc_emit_layer_fuse: 0 the default rule, oscregfuse.c;
** OSC_FUSE_REG every pair that fits) fuses pairs in registers. */
int osc_regfuse_on(int knob);

/* Whether stages i, i+1 of p (kernels ka, kb; buffers as oscfuse.h) fuse
** in registers at this knob (the rule, oscregfuse.c); fills r. */
int osc_regfuse_fits(const osc_plan *p, int i, const osc_stage_kernel *ka,
                     const osc_stage_kernel *kb, long long src, long long dst, int knob,
                     osc_regfuse *r);

/* The pair's function j[0].fname, the call of oscfuse.h (buf unused):
**   static void FNAME(const float *in, float *out, const float *weights
**                     [, const float *bias][, const float *res], float *buf, int t0, int t1)
** j[0], j[1] the stages' jobs, woff their weights' offsets in floats. */
osc_status osc_regfuse_emit(const osc_regfuse *r, const osc_stage_job *j, const long long *woff,
                            osc_buf *out, osc_error *err);

#endif

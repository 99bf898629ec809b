/*
** oscfuse.c -- fused runs of pointwise stages (oscfuse.h): which runs, the
** block size, where the block buffers go, and the C loop over blocks
** around the pointwise shape's machine code (oscpx.c, emitted once for a
** whole block and once for the last, shorter one).
*/
#include "oscfuse.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "oscpx.h"
#include "oscsimd.h"

/* The rule (README, "Fused pointwise runs"): fuse nothing unless the knob
** asks for blocks of P pixels. Measured on the bench layer set at
** max_stages 3, 4 and 16 (Zen 5, AVX-512), no fused run beat its unfused
** stages beyond the run-to-run noise, with blocks of 64 to 2048 pixels,
** and blocks within L1 (64 pixels) were up to 72% slower: the 1x1
** stages are bound by their loads, broadcasts and stores per multiply-add,
** not by L2, and smaller blocks add a call per tile and block. */

static const osc_px_isa *isa_of(const osc_stage_kernel *k) {
  if (k == &osc_kernel_avx512_pw) return &osc_px_avx512;
  if (k == &osc_kernel_avx2_pw) return &osc_px_avx2;
  return NULL;
}

/* Stages [first, last] as a run, if its block buffers fit the scratch
** regions that neither its input nor its output uses: both buffers in one
** region, or with both regions free, one in each. */
static int try_run(const osc_plan *p, int first, int last, const long long *src,
                   const long long *dst, long long region1, int knob, osc_fuse_run *r) {
  const osc_stage *s = &p->stage[first];
  long long hw = (long long)s->h_out * s->w_out, size[2], slot, n_slots;
  int nbufs = last - first >= 2 ? 2 : 1, best = -1, cmax = 0;
  size[0] = region1;
  size[1] = (long long)osc_plan_scratch_size(p) - region1;
  for (int i = first; i < last; i++)
    if (p->stage[i].c_out > cmax) cmax = p->stage[i].c_out;
  memset(r, 0, sizeof *r);
  r->first = first;
  r->last = last;
  r->cmax = cmax;
  r->block = knob < hw ? knob : (int)hw;
  r->blocks = (int)((hw + r->block - 1) / r->block);
  slot = (long long)cmax * r->block;   /* one buffer */
  if (nbufs == 2 && src[first] < 0 && dst[last] < 0 && size[0] >= slot && size[1] >= slot) {
    n_slots = (size[0] < size[1] ? size[0] : size[1]) / slot;
    r->tiles = n_slots < r->blocks ? (int)n_slots : r->blocks;
    r->slot = slot;
    r->b1_off = region1;
    return 1;
  }
  for (int reg = 0; reg < 2; reg++) {
    if (src[first] == reg || dst[last] == reg || size[reg] < nbufs * slot) continue;
    if (best < 0 || size[reg] > size[best]) best = reg;
  }
  if (best < 0) return 0;
  n_slots = size[best] / (nbufs * slot);
  r->tiles = n_slots < r->blocks ? (int)n_slots : r->blocks;
  r->buf_off = best ? region1 : 0;
  r->slot = nbufs * slot;
  r->b1_off = slot;
  return 1;
}

int osc_fuse_runs(const osc_plan *p, const osc_stage_kernel *const *kern, const long long *src,
                  const long long *dst, long long region1, int knob, osc_fuse_run *runs) {
  int n = 0;
  if (knob <= 0) return 0;   /* the rule above */
  for (int i = 0; i < p->n_stages;) {
    int e = i, done = 0;
    if (!kern[i] || !isa_of(kern[i])) { i++; continue; }
    while (e + 1 < p->n_stages && kern[e + 1] == kern[i]) e++;
    /* shorter runs free a region where a longer one would use both */
    for (int last = e; last > i && !done; last--)
      done = try_run(p, i, last, src, dst, region1, knob, &runs[n]);
    if (done) i = runs[n++].last + 1;
    else i = e + 1;
  }
  return n;
}

/* ---- emitting ---------------------------------------------------------------------- */

/* Stage k of the run as a stage of npix pixels in one row. */
static osc_stage block_stage(const osc_stage *s, int npix) {
  osc_stage b = *s;
  b.h_in = b.h_out = 1;
  b.w_in = b.w_out = npix;
  return b;
}

/* The machine code of stage k of the run for blocks of npix pixels, as
** FNAME_<k><kind>_t<oct>; kind 'b' the whole blocks, 'e' the last. */
static osc_status block_code(const osc_fuse_run *r, const osc_px_isa *x, const osc_stage_job *j,
                             int k, char kind, int npix, osc_buf *out, osc_error *err) {
  const osc_stage *s = j[k].s;
  long long hw = (long long)s->h_out * s->w_out;
  osc_stage b = block_stage(s, npix);
  osc_stage_job bj = j[k];
  char name[300];
  snprintf(name, sizeof name, "%s_%d%c", j[0].fname, r->first + k + 1, kind);
  bj.s = &b;
  bj.fname = name;
  return osc_px_emit_pw_block(x, &bj, k == 0 ? hw : r->block,
                              r->first + k == r->last ? hw : r->block, out, err);
}

/* One stage of one block: the C loop over its tiles of output channels. */
static void block_glue(const osc_fuse_run *r, const osc_px_isa *x, const osc_stage_job *j, int k,
                       char kind, long long woff, osc_buf *out) {
  const osc_stage *s = j[k].s;
  int at = r->first + k, n = s->c_in / s->groups, m = s->c_out / s->groups;
  int oct = osc_px_pw_oct(x, s), per = (m + oct - 1) / oct, tail = m - (per - 1) * oct;
  long long hw = (long long)s->h_out * s->w_out;
  long long in_plane = k == 0 ? hw : r->block, out_plane = at == r->last ? hw : r->block;
  const char *src = k == 0 ? "in + p0" : (k - 1) % 2 ? "b1" : "b0";
  const char *dst = at == r->last ? "out + p0" : k % 2 ? "b1" : "b0";
  osc_buf_printf(out, "    for (int t = 0; t < %d; t++) {   /* stage %d */\n", s->groups * per,
                 at + 1);
  osc_buf_puts(out, "      const int ");
  osc_simd_tile_index(out, s, oct, "t", "gr", "j");
  osc_buf_puts(out, ";\n");
  osc_buf_printf(out, "      a[0] = %s + gr * %lld;\n", src, (long long)n * in_plane);
  if (j[k].last) osc_buf_printf(out, "      a[1] = %s + (gr * %d + j) * %lld;\n", dst, m, out_plane);
  else osc_buf_printf(out, "      a[1] = %s + (j * %d + gr) * %lld;\n", dst, s->groups, out_plane);
  osc_buf_printf(out, "      a[2] = weights + %lld + (gr * %d + j) * %d;\n", woff, m, n);
  if (j[k].bias) osc_buf_printf(out, "      a[3] = bias + gr * %d + j;\n", m);
  else osc_buf_puts(out, "      a[3] = 0;\n");
  osc_buf_puts(out, "      a[6] = a[0];\n      a[7] = a[2];\n");   /* the tile's own: no next in a block */
  if (x->mask_table) osc_buf_printf(out, "      a[4] = %s_%d%c_masks;\n", j[0].fname, at + 1, kind);
  else osc_buf_puts(out, "      a[4] = 0;\n");
  if (j[k].residual) osc_buf_printf(out, "      a[5] = res + (gr * %d + j) * %lld + p0;\n", m, hw);
  if (tail != oct)
    osc_buf_printf(out, "      if (j + %d <= %d) %c%d_%d(a); else %c%d_%d(a);\n", oct, m, kind,
                   at + 1, oct, kind, at + 1, tail);
  else osc_buf_printf(out, "      %c%d_%d(a);\n", kind, at + 1, oct);
  osc_buf_puts(out, "    }\n");
}

/* The volatile pointers to stage k's functions of one kind. */
static void pointers(const osc_fuse_run *r, const osc_px_isa *x, const osc_stage_job *j, int k,
                     char kind, osc_buf *out) {
  const osc_stage *s = j[k].s;
  int at = r->first + k + 1, m = s->c_out / s->groups, oct = osc_px_pw_oct(x, s);
  int tail = m - ((m + oct - 1) / oct - 1) * oct;
  for (int w = 0; w < (tail != oct ? 2 : 1); w++) {
    int width = w ? tail : oct;
    osc_buf_printf(out, "  static void (*const volatile %c%d_%d)(const void *) = %s_%d%c_t%d;\n",
                   kind, at, width, j[0].fname, at, kind, width);
  }
}

/* The stages of one block of `kind`. */
static void block_body(const osc_fuse_run *r, const osc_px_isa *x, const osc_stage_job *j,
                       const long long *woff, char kind, osc_buf *out) {
  for (int k = 0; k <= r->last - r->first; k++) block_glue(r, x, j, k, kind, woff[k], out);
}

osc_status osc_fuse_emit(const osc_fuse_run *r, const osc_stage_kernel *kern,
                         const osc_stage_job *j, const long long *woff, osc_buf *out,
                         osc_error *err) {
  const osc_px_isa *x = isa_of(kern);
  const osc_stage *s = j[0].s;
  const osc_stage_job *lj = &j[r->last - r->first];
  long long hw = (long long)s->h_out * s->w_out, full = hw / r->block, rest = hw - full * r->block;
  int nk = r->last - r->first + 1, nbufs = nk > 2 ? 2 : 1;
  osc_status st;
  assert(x && r->tiles >= 1 && r->tiles <= r->blocks);
  osc_buf_printf(out, "/* stages %d-%d fused (gen/x86/oscfuse.c): %s, blocks of %d pixels (%lld "
                 "whole%s), the intermediates in %d block buffer%s of %d x %d floats; tile t: "
                 "blocks [t*%d/%d, (t+1)*%d/%d), with buffer slot t0 */\n#if defined(__x86_64__)\n",
                 r->first + 1, r->last + 1, kern->name, r->block, full,
                 rest ? ", then one of the rest" : "", nbufs, nbufs > 1 ? "s" : "", r->cmax,
                 r->block, r->blocks, r->tiles, r->blocks, r->tiles);
  for (int k = 0; k < nk; k++) {
    if (full && (st = block_code(r, x, j, k, 'b', r->block, out, err))) return st;
    if (rest && (st = block_code(r, x, j, k, 'e', (int)rest, out, err))) return st;
  }
  osc_buf_printf(out, "static void %s(const float *in, float *out, const float *restrict weights%s%s"
                 ", float *restrict buf, int t0, int t1) {\n", j[0].fname,
                 lj->bias ? ", const float *restrict bias" : "", lj->residual ? ", const float *res" : "");
  for (int k = 0; k < nk; k++) {
    if (full) pointers(r, x, j, k, 'b', out);
    if (rest) pointers(r, x, j, k, 'e', out);
  }
  osc_buf_printf(out, "  float *b0 = buf + t0 * %lld;\n", r->slot);
  if (nbufs > 1) osc_buf_printf(out, "  float *b1 = buf + %lld + t0 * %lld;\n", r->b1_off, r->slot);
  osc_buf_puts(out, "  const void *a[8];\n");   /* as oscpx.c's glue: a[6], a[7] prefetched */
  if (!lj->residual) osc_buf_puts(out, "  a[5] = 0;\n");
  osc_buf_printf(out, "  for (int blk = t0 * %d / %d; blk < t1 * %d / %d; blk++) {\n"
                 "    const int p0 = blk * %d;\n", r->blocks, r->tiles, r->blocks, r->tiles,
                 r->block);
  if (full && rest) {
    osc_buf_printf(out, "    if (blk < %lld) {\n", full);
    block_body(r, x, j, woff, 'b', out);
    osc_buf_puts(out, "    } else {\n");
    block_body(r, x, j, woff, 'e', out);
    osc_buf_puts(out, "    }\n");
  } else {
    block_body(r, x, j, woff, full ? 'b' : 'e', out);
  }
  osc_buf_puts(out, "  }\n}\n#else\n#error \"generated for x86-64 (osconv gen --isa avx512 or avx2)\"\n"
               "#endif\n");
  return OSC_OK;
}

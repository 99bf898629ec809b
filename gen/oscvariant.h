/*
** oscvariant.h -- code variants: how a plan's SIMD stages are blocked,
** named by a short string that tuning records, osc_kernel_options.code,
** configs and the Lua module share (README "Autotuning").
**
**   "auto"   the emitter's own choice (what an empty or NULL name means)
**   "OxP"    SIMD tiles of at most O output channels by P vectors each
**            (O, P in 1..8; each capped by the ISA's own register budget)
**   "uN"     the fan-in unrolled to at most N instructions a loop body
**            (N in 32..4096; the default is OSC_VARIANT_BODY, 40)
**   "px"     lanes over pixels (lanes over output channels, "oc", are
**            refused: they take packed weights, so they are the layer's
**            oc_lanes = true, which changes its ABI, not a code variant)
**
** joined by '/' in that order ("4x6/u240"). The canonical name drops what
** equals the default, so equal variants have equal names.
*/
#ifndef OSCVARIANT_H
#define OSCVARIANT_H
#include "oscemit.h"

#define OSC_VARIANT_MAX 32   /* bytes of a canonical name, the NUL included */
/* The SIMD kernels' default fan-in body, in instructions (gen/x86/oscpx.c
** says why it is small). */
#define OSC_VARIANT_BODY 40
/* The limits a variant (and osc_emit_knobs' simd fields) may name: tile
** sides (OSC_PX_MAX_OCT and OSC_PX_MAX_PV, gen/x86/oscpx.h) and bodies. */
#define OSC_VARIANT_MAX_TILE 8
#define OSC_VARIANT_MIN_BODY 32
#define OSC_VARIANT_MAX_BODY 4096

/* Parse `name` (NULL or "" = "auto") into k's simd fields (the others are
** left alone) and its canonical form into canon (OSC_VARIANT_MAX bytes,
** may be NULL). Bad names: OSC_EINVAL "code variant 'x': what is wrong". */
osc_status osc_variant_parse(const char *name, osc_emit_knobs *k, char *canon, osc_error *err);

/* The variants worth timing for an ISA (an osc_isa), "auto" first,
** NULL-terminated; the portable C has "auto" alone (its blocking is the
** C kernels' knobs, not a SIMD tile). */
const char *const *osc_variant_list(int isa);
#endif

/*
** oscisa.h -- the instruction sets osconv emits for, and which one a run
** may use. The JIT emits for osc_isa_runtime() (cpuid, capped by
** OSCONV_ISA); `osconv gen --isa` names an AOT target, OSC_ISA_AUTO (the
** default) emits every variant plus the portable C and dispatches once on
** cpuid in the generated code (oscsimd.h).
*/
#ifndef OSCISA_H
#define OSCISA_H

#include "osconv.h"

typedef enum osc_isa {
  OSC_ISA_AUTO = 0,   /* emit: every variant + C, chosen at run time */
  OSC_ISA_C = 1,      /* the portable C kernels only */
  OSC_ISA_AVX2 = 2,   /* x86-64 AVX2 + FMA */
  OSC_ISA_AVX512 = 3  /* x86-64 AVX-512F */
} osc_isa;

/* "auto", "c", "avx2", "avx512". */
const char *osc_isa_name(osc_isa isa);
/* The ISA named s (the names above); 0 on success, -1 if unknown. */
int osc_isa_parse(const char *s, osc_isa *out);
/* The best ISA this CPU and OS support (cpuid + xgetbv); C off x86-64. */
osc_isa osc_isa_host(void);
/* What the JIT emits for: osc_isa_host() capped by OSCONV_ISA (unset or
** empty: no cap). An unknown OSCONV_ISA value is an OSC_EINVAL error. */
osc_status osc_isa_runtime(osc_isa *out, osc_error *err);

#endif

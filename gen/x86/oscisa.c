/*
** oscisa.c -- ISA names and the running CPU's ISA. The generated code
** detects it itself (through encoded cpuid, oscsimd.c); this copy is the
** JIT's, and the tests' "is this ISA here" check.
*/
#include "oscisa.h"

#include <stdlib.h>
#include <string.h>

#include "oscerr.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static const char *const names[] = {"auto", "c", "avx2", "avx512"};

const char *osc_isa_name(osc_isa isa) {
  return (unsigned)isa < sizeof names / sizeof names[0] ? names[isa] : "?";
}

int osc_isa_parse(const char *s, osc_isa *out) {
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
    if (s && !strcmp(s, names[i])) {
      *out = (osc_isa)i;
      return 0;
    }
  return -1;
}

#if defined(__x86_64__)
static unsigned long long xcr0(void) {
  unsigned lo, hi;
  __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (unsigned long long)hi << 32 | lo;
}
#endif

/* The same test the generated detector makes (oscsimd.c): the CPU has the
** instructions and the OS saves the registers (XCR0: SSE+AVX state, and
** opmask + both halves of zmm for AVX-512). */
osc_isa osc_isa_host(void) {
#if defined(__x86_64__)
  unsigned a, b, c, d, ecx1, ebx7;
  unsigned long long x;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return OSC_ISA_C;
  ecx1 = c;
  if (!(ecx1 & (1u << 27)) || !(ecx1 & (1u << 28))) return OSC_ISA_C;   /* OSXSAVE, AVX */
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return OSC_ISA_C;
  ebx7 = b;
  x = xcr0();
  if ((x & 6) != 6 || !(ebx7 & (1u << 5)) || !(ecx1 & (1u << 12))) return OSC_ISA_C;
  if ((x & 0xe6) == 0xe6 && (ebx7 & (1u << 16))) return OSC_ISA_AVX512;
  return OSC_ISA_AVX2;
#else
  return OSC_ISA_C;
#endif
}

osc_status osc_isa_runtime(osc_isa *out, osc_error *err) {
  const char *v = getenv("OSCONV_ISA");
  osc_isa cap = OSC_ISA_AVX512, host = osc_isa_host();
  if (v && *v && (osc_isa_parse(v, &cap) || cap == OSC_ISA_AUTO))
    return osc_error_set(err, OSC_EINVAL, "OSCONV_ISA='%s': expected avx512, avx2 or c", v);
  *out = host < cap ? host : cap;
  return OSC_OK;
}

/*
** oscvariant.c -- parsing code variant names into emit knobs (oscvariant.h).
*/
#include "oscvariant.h"

#include <stdio.h>
#include <string.h>

#include "oscerr.h"
#include "oscisa.h"

/* A decimal in [lo, hi] that is all of s[0..n); -1 otherwise. */
static int number(const char *s, size_t n, int lo, int hi) {
  int v = 0;
  if (n == 0 || n > 4 || (n > 1 && s[0] == '0')) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v >= lo && v <= hi ? v : -1;
}

static osc_status part(const char *name, const char *s, size_t n, int *rank,
                       osc_emit_knobs *k, osc_error *err) {
  const char *x = memchr(s, 'x', n);
  int r;
  if (n == 4 && !memcmp(s, "auto", 4)) r = 4;   /* alone */
  else if (n == 2 && !memcmp(s, "px", 2)) r = 3, k->simd_shape = "px";
  else if (n == 2 && !memcmp(s, "oc", 2))
    return osc_error_set(err, OSC_EINVAL, "code variant '%s': lanes over output channels "
                         "take packed weights, another ABI, so they are the layer's "
                         "oc_lanes = true, not a code variant", name);
  else if (s[0] == 'u') {
    r = 2;
    if ((k->simd_body = number(s + 1, n - 1, OSC_VARIANT_MIN_BODY, OSC_VARIANT_MAX_BODY)) < 0)
      return osc_error_set(err, OSC_EINVAL, "code variant '%s': uN needs N in %d..%d", name,
                           OSC_VARIANT_MIN_BODY, OSC_VARIANT_MAX_BODY);
  } else if (x) {
    r = 1;
    k->simd_oct = number(s, (size_t)(x - s), 1, OSC_VARIANT_MAX_TILE);
    k->simd_pv = number(x + 1, n - (size_t)(x - s) - 1, 1, OSC_VARIANT_MAX_TILE);
    if (k->simd_oct < 0 || k->simd_pv < 0)
      return osc_error_set(err, OSC_EINVAL, "code variant '%s': OxP needs O and P in 1..%d",
                           name, OSC_VARIANT_MAX_TILE);
  } else {
    return osc_error_set(err, OSC_EINVAL, "code variant '%.*s' in '%s': expected auto, OxP "
                         "(tile), uN (unroll) or px (shape)", (int)n, s, name);
  }
  if (r <= *rank || *rank == 4 || (r == 4 && *rank))
    return osc_error_set(err, OSC_EINVAL, "code variant '%s': parts go once each, in the "
                         "order OxP/uN/px, and auto alone", name);
  *rank = r;
  return OSC_OK;
}

osc_status osc_variant_parse(const char *name, osc_emit_knobs *k, char *canon, osc_error *err) {
  osc_emit_knobs v = *k;
  int rank = 0, len = 0;
  char out[OSC_VARIANT_MAX] = "";
  osc_status st;
  v.simd_oct = v.simd_pv = v.simd_body = 0;
  v.simd_shape = NULL;
  if (name && *name) {
    const char *s = name;
    if (strlen(name) >= 64)
      return osc_error_set(err, OSC_EINVAL, "code variant '%.20s...': too long", name);
    for (;;) {
      const char *e = strchr(s, '/');
      size_t n = e ? (size_t)(e - s) : strlen(s);
      if (n == 0)
        return osc_error_set(err, OSC_EINVAL, "code variant '%s': an empty part", name);
      if ((st = part(name, s, n, &rank, &v, err))) return st;
      if (!e) break;
      s = e + 1;
    }
  }
  if (v.simd_oct)
    len += snprintf(out + len, sizeof out - (size_t)len, "%dx%d", v.simd_oct, v.simd_pv);
  if (v.simd_body == OSC_VARIANT_BODY) v.simd_body = 0;   /* the default: the same code */
  if (v.simd_body)
    len += snprintf(out + len, sizeof out - (size_t)len, "%su%d", len ? "/" : "", v.simd_body);
  if (v.simd_shape)   /* the one shape now, so the same code as without; kept for when
                        ** "auto" may choose another */
    len += snprintf(out + len, sizeof out - (size_t)len, "%s%s", len ? "/" : "", v.simd_shape);
  if (!len) snprintf(out, sizeof out, "auto");
  *k = v;
  if (canon) memcpy(canon, out, sizeof out);
  return OSC_OK;
}

const char *const *osc_variant_list(int isa) {
  static const char *const simd[] = {"auto", "4x6", "8x2", "2x8", "u120", "u480", NULL};
  static const char *const portable[] = {"auto", NULL};
  return isa == OSC_ISA_AVX512 || isa == OSC_ISA_AVX2 ? simd : portable;
}

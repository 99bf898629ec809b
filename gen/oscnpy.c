/*
** oscnpy.c -- reading and writing .npy (format: numpy/lib/format.py):
**   "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0, 4 in 2.0),
**   an ASCII Python dict literal {'descr': '<f4', 'fortran_order': False,
**   'shape': (2, 3), } padded with spaces to a multiple of 64 and ended by
**   '\n', then the data. Files are written byte for byte as np.save does.
*/
#include "oscnpy.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscerr.h"
#include "oscfile.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define NPY_FILE_MAX ((size_t)1 << 36)   /* 64 GiB: a guard, not a limit anyone meets */

void osc_npy_free(osc_npy *a) {
  if (a) {
    free(a->data);
    a->data = NULL;
  }
}

void osc_npy_shape_str(int ndim, const size_t *shape, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "(");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%zu", i ? ", " : "", shape[i]);
  if (n < size) snprintf(buf + n, size - n, ndim == 1 ? ",)" : ")");
}

/* ---- the header dict ---------------------------------------------------------- */

typedef struct header {
  const char *p, *end;
  char descr[32];
  int fortran, have_descr, have_fortran, have_shape;
  int ndim;
  size_t shape[OSC_NPY_MAX_DIMS];
} header;

static void skip_ws(header *h) {
  while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
    h->p++;
}

static int accept(header *h, char c) {
  skip_ws(h);
  if (h->p < h->end && *h->p == c) { h->p++; return 1; }
  return 0;
}

/* a quoted Python string without escapes (all .npy keys and dtypes are) */
static int parse_str(header *h, char *out, size_t size) {
  char q;
  size_t n = 0;
  skip_ws(h);
  if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return -1;
  q = *h->p++;
  while (h->p < h->end && *h->p != q) {
    if (*h->p == '\\' || n + 1 >= size) return -1;
    out[n++] = *h->p++;
  }
  if (h->p >= h->end) return -1;
  h->p++;
  out[n] = '\0';
  return 0;
}

static int parse_word(header *h, const char *w) {
  size_t n = strlen(w);
  skip_ws(h);
  if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0) return 0;
  h->p += n;
  return 1;
}

static int parse_shape(header *h) {
  h->ndim = 0;
  if (!accept(h, '(')) return -1;
  for (;;) {
    size_t v = 0;
    int digits = 0;
    if (accept(h, ')')) return 0;
    skip_ws(h);
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
      if (v > (SIZE_MAX - 9) / 10) return -1;
      v = v * 10 + (size_t)(*h->p++ - '0');
      digits++;
    }
    if (!digits || h->ndim == OSC_NPY_MAX_DIMS) return -1;
    if (h->p < h->end && *h->p == 'L') h->p++;   /* Python 2 longs */
    h->shape[h->ndim++] = v;
    if (!accept(h, ',')) return accept(h, ')') ? 0 : -1;
  }
}

static int parse_dict(header *h) {
  if (!accept(h, '{')) return -1;
  for (;;) {
    char key[32];
    if (accept(h, '}')) break;
    if (parse_str(h, key, sizeof key) || !accept(h, ':')) return -1;
    if (!strcmp(key, "descr")) {
      if (parse_str(h, h->descr, sizeof h->descr)) return -1;
      h->have_descr = 1;
    } else if (!strcmp(key, "fortran_order")) {
      if (parse_word(h, "True")) h->fortran = 1;
      else if (parse_word(h, "False")) h->fortran = 0;
      else return -1;
      h->have_fortran = 1;
    } else if (!strcmp(key, "shape")) {
      if (parse_shape(h)) return -1;
      h->have_shape = 1;
    } else {
      return -1;
    }
    if (!accept(h, ',')) {
      if (!accept(h, '}')) return -1;
      break;
    }
  }
  skip_ws(h);
  return h->p == h->end && h->have_descr && h->have_fortran && h->have_shape ? 0 : -1;
}

/* ---- reading ------------------------------------------------------------------- */

static uint32_t le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static osc_status check_dtype(const char *name, const header *h, osc_error *err) {
  if (!strcmp(h->descr, "<f4")) return OSC_OK;
  if (!strcmp(h->descr, ">f4"))
    return osc_error_set(err, OSC_EINVAL, "%s: big-endian float32 ('>f4'); expected "
                         "little-endian '<f4' (save x.astype('<f4'))", name);
  if (!strcmp(h->descr, "<f8") || !strcmp(h->descr, ">f8"))
    return osc_error_set(err, OSC_EINVAL, "%s: dtype '%s' is float64; expected float32 '<f4' "
                         "(save x.astype('<f4'))", name, h->descr);
  return osc_error_set(err, OSC_EINVAL, "%s: dtype '%s'; expected float32 '<f4'", name,
                       h->descr);
}

osc_status osc_npy_parse(const char *name, const void *bytes, size_t len, osc_npy *out,
                         osc_error *err) {
  const unsigned char *b = bytes;
  size_t hlen, off, count = 1, need;
  header h;
  char shape[256];
  osc_status s;
  memset(out, 0, sizeof *out);
  memset(&h, 0, sizeof h);
  if (len < MAGIC_LEN + 2 || memcmp(b, MAGIC, MAGIC_LEN) != 0)
    return osc_error_set(err, OSC_EINVAL, "%s: not a NumPy .npy file (no \\x93NUMPY magic)",
                         name);
  if ((b[6] != 1 && b[6] != 2) || b[7] != 0)
    return osc_error_set(err, OSC_EINVAL, "%s: .npy format version %u.%u; expected 1.0 or 2.0",
                         name, b[6], b[7]);
  off = b[6] == 1 ? 10 : 12;
  if (len < off)
    return osc_error_set(err, OSC_EINVAL, "%s: truncated inside the .npy preamble", name);
  hlen = b[6] == 1 ? (size_t)(b[8] | b[9] << 8) : (size_t)le32(b + 8);
  if (hlen > len - off)
    return osc_error_set(err, OSC_EINVAL, "%s: truncated: the header says %zu bytes, the file "
                         "has %zu after the preamble", name, hlen, len - off);
  h.p = (const char *)b + off;
  h.end = h.p + hlen;
  if (parse_dict(&h))
    return osc_error_set(err, OSC_EINVAL, "%s: the .npy header is not a dict with exactly "
                         "'descr', 'fortran_order' and 'shape'", name);
  if ((s = check_dtype(name, &h, err))) return s;
  if (h.fortran)
    return osc_error_set(err, OSC_EINVAL, "%s: Fortran order; expected C order (save "
                         "np.ascontiguousarray(x))", name);
  osc_npy_shape_str(h.ndim, h.shape, shape, sizeof shape);
  for (int i = 0; i < h.ndim; i++) {
    if (h.shape[i] && count > SIZE_MAX / 4 / h.shape[i])
      return osc_error_set(err, OSC_EINVAL, "%s: shape %s is too large", name, shape);
    count *= h.shape[i];
  }
  need = count * 4;
  off += hlen;
  if (len - off < need)
    return osc_error_set(err, OSC_EINVAL, "%s: truncated: shape %s needs %zu bytes of data, "
                         "the file has %zu", name, shape, need, len - off);
  if (len - off > need)
    return osc_error_set(err, OSC_EINVAL, "%s: %zu bytes of garbage after the data of shape %s",
                         name, len - off - need, shape);
  if (!(out->data = malloc(count ? count * sizeof(float) : 1)))
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory for shape %s", name, shape);
  for (size_t i = 0; i < count; i++) {
    uint32_t u = le32(b + off + 4 * i);
    memcpy(&out->data[i], &u, sizeof u);
  }
  out->ndim = h.ndim;
  memcpy(out->shape, h.shape, sizeof h.shape);
  out->count = count;
  return OSC_OK;
}

osc_status osc_npy_read(const char *path, osc_npy *out, osc_error *err) {
  char *bytes;
  size_t len;
  osc_status s;
  memset(out, 0, sizeof *out);
  if ((s = osc_file_read(path, NPY_FILE_MAX, &bytes, &len, err))) return s;
  s = osc_npy_parse(path, bytes, len, out, err);
  free(bytes);
  return s;
}

/* ---- writing ------------------------------------------------------------------- */

#define GROWTH_AXIS_MAX_DIGITS 21

static int decimal_digits(size_t v) {
  int n = 1;
  for (; v >= 10; v /= 10) n++;
  return n;
}

osc_status osc_npy_encode(int ndim, const size_t *shape, const float *data, char **out,
                          size_t *len, osc_error *err) {
  char dict[64 + 24 * OSC_NPY_MAX_DIMS], shp[24 * OSC_NPY_MAX_DIMS];
  size_t count = 1, dlen, hlen, total;
  unsigned char *b;
  *out = NULL;
  *len = 0;
  if (ndim < 0 || ndim > OSC_NPY_MAX_DIMS)
    return osc_error_set(err, OSC_EINVAL, "an .npy array of %d dimensions", ndim);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] && count > SIZE_MAX / 4 / shape[i])
      return osc_error_set(err, OSC_EINVAL, "an .npy array too large to write");
    count *= shape[i];
  }
  osc_npy_shape_str(ndim, shape, shp, sizeof shp);
  dlen = (size_t)snprintf(dict, sizeof dict,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shp);
  /* As numpy's _write_array_header (numpy/lib/format.py): after the dict,
  ** spaces that let shape[0] grow to GROWTH_AXIS_MAX_DIGITS (21) digits in
  ** place (numpy PR #20321, 2022; none for 0-d), then _wrap_header's
  ** padding: ARRAY_ALIGN - (10 + len + 1) % 64 spaces -- a whole 64 when
  ** already aligned -- and '\n', so the data starts at a multiple of 64. */
  hlen = dlen + (ndim > 0 ? GROWTH_AXIS_MAX_DIGITS - decimal_digits(shape[0]) : 0) + 1;
  hlen += 64 - (10 + hlen) % 64;
  if (hlen > 65535) return osc_error_set(err, OSC_EINVAL, "an .npy header too long to write");
  total = 10 + hlen + count * 4;
  if (!(b = malloc(total)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory encoding an .npy file");
  memcpy(b, MAGIC, MAGIC_LEN);
  b[6] = 1;
  b[7] = 0;
  b[8] = (unsigned char)(hlen & 0xff);
  b[9] = (unsigned char)(hlen >> 8);
  memcpy(b + 10, dict, dlen);
  memset(b + 10 + dlen, ' ', hlen - dlen - 1);
  b[10 + hlen - 1] = '\n';
  for (size_t i = 0; i < count; i++) {
    uint32_t u;
    unsigned char *d = b + 10 + hlen + 4 * i;
    memcpy(&u, &data[i], sizeof u);
    d[0] = (unsigned char)u;
    d[1] = (unsigned char)(u >> 8);
    d[2] = (unsigned char)(u >> 16);
    d[3] = (unsigned char)(u >> 24);
  }
  *out = (char *)b;
  *len = total;
  return OSC_OK;
}

osc_status osc_npy_write(const char *path, int ndim, const size_t *shape, const float *data,
                         osc_error *err) {
  char *bytes;
  size_t len;
  osc_status s = osc_npy_encode(ndim, shape, data, &bytes, &len, err);
  if (s) return s;
  s = osc_file_write_atomic(path, bytes, len, err);
  free(bytes);
  return s;
}

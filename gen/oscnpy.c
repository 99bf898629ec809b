/*
** oscnpy.c -- reading and writing .npy (format: numpy/lib/format.py):
**   "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0, 4 in 2.0),
**   an ASCII Python dict literal {'descr': '<f4', 'fortran_order': False,
**   'shape': (2, 3), } padded with spaces to a multiple of 64 and ended by
**   '\n', then the data. Files are written byte for byte as np.save does.
*/
#include "oscnpy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oscerr.h"
#include "oscfile.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define NPY_HEADER_MAX (1 << 20)   /* NumPy's own are < 1 KiB for up to 32 dimensions */

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
  char why[160];   /* what is wrong, when more precise than "not the dict" */
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

/* The shape's text as written, for messages: from '(' to ')' (cut at 60). */
static void shape_text(const header *h, const char *start, char *out, size_t size) {
  const char *close = memchr(start, ')', (size_t)(h->end - start));
  size_t n = (size_t)((close ? close + 1 : h->end) - start);
  snprintf(out, size, "%.*s%s", (int)(n > 60 ? 60 : n), start, n > 60 ? "..." : "");
}

/* A shape that is a tuple but not one NumPy writes gets h->why: which
** dimension is wrong and how (NumPy's dimensions are int64, >= 0). */
static int bad_shape(header *h, const char *start, const char *what) {
  char text[80];
  shape_text(h, start, text, sizeof text);
  snprintf(h->why, sizeof h->why, "the .npy header's shape %s %s", text, what);
  return -1;
}

static int parse_shape(header *h) {
  const char *start;
  h->ndim = 0;
  skip_ws(h);
  start = h->p;
  if (!accept(h, '(')) return -1;
  for (;;) {
    uint64_t v = 0;
    int digits = 0;
    if (accept(h, ')')) return 0;
    skip_ws(h);
    if (h->p < h->end && *h->p == '-')
      return bad_shape(h, start, "has a negative dimension");
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
      unsigned d = (unsigned)(*h->p++ - '0');
      if (v > ((uint64_t)INT64_MAX - d) / 10)
        return bad_shape(h, start, "has a dimension beyond 2^63 - 1");
      v = v * 10 + d;
      digits++;
    }
    if (!digits) return bad_shape(h, start, "is not a tuple of non-negative integers");
    if (h->ndim == OSC_NPY_MAX_DIMS) {
      char what[64];
      snprintf(what, sizeof what, "has more than %d dimensions", OSC_NPY_MAX_DIMS);
      return bad_shape(h, start, what);
    }
    if (h->p < h->end && *h->p == 'L') h->p++;   /* Python 2 longs */
#if SIZE_MAX < INT64_MAX
    if (v > SIZE_MAX) return bad_shape(h, start, "has a dimension beyond this machine's size_t");
#endif
    h->shape[h->ndim++] = (size_t)v;
    if (!accept(h, ',')) return accept(h, ')') ? 0 : bad_shape(h, start, "is not a tuple of "
                                                                 "non-negative integers");
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

/* The preamble (`len` bytes of the file's start, at least what there is of
** the first 12): *off is where the header starts, *hlen its length. */
static osc_status parse_preamble(const char *name, const unsigned char *b, size_t len,
                                 size_t *off, size_t *hlen, osc_error *err) {
  if (len < MAGIC_LEN + 2 || memcmp(b, MAGIC, MAGIC_LEN) != 0)
    return osc_error_set(err, OSC_EINVAL, "%s: not a NumPy .npy file (no \\x93NUMPY magic)",
                         name);
  if ((b[6] != 1 && b[6] != 2) || b[7] != 0)
    return osc_error_set(err, OSC_EINVAL, "%s: .npy format version %u.%u; expected 1.0 or 2.0",
                         name, b[6], b[7]);
  *off = b[6] == 1 ? 10 : 12;
  if (len < *off)
    return osc_error_set(err, OSC_EINVAL, "%s: truncated inside the .npy preamble", name);
  *hlen = b[6] == 1 ? (size_t)(b[8] | b[9] << 8) : (size_t)le32(b + 8);
  if (*hlen > NPY_HEADER_MAX)
    return osc_error_set(err, OSC_EINVAL, "%s: a .npy header of %zu bytes (at most %d)", name,
                         *hlen, NPY_HEADER_MAX);
  return OSC_OK;
}

static osc_status header_in_file(const char *name, size_t hlen, size_t after_preamble,
                                 osc_error *err) {
  if (hlen <= after_preamble) return OSC_OK;
  return osc_error_set(err, OSC_EINVAL, "%s: truncated: the header says %zu bytes, the file "
                       "has %zu after the preamble", name, hlen, after_preamble);
}

/* The header dict: dtype, order and shape checked; *count floats follow
** it, `shape` (size 256) prints the shape. */
static osc_status parse_header(const char *name, const char *text, size_t hlen, osc_npy *out,
                               char *shape, osc_error *err) {
  header h;
  osc_status s;
  memset(&h, 0, sizeof h);
  h.p = text;
  h.end = text + hlen;
  if (parse_dict(&h))
    return h.why[0] ? osc_error_set(err, OSC_EINVAL, "%s: %s", name, h.why)
                    : osc_error_set(err, OSC_EINVAL, "%s: the .npy header is not a dict with "
                                    "exactly 'descr', 'fortran_order' and 'shape'", name);
  if ((s = check_dtype(name, &h, err))) return s;
  if (h.fortran)
    return osc_error_set(err, OSC_EINVAL, "%s: Fortran order; expected C order (save "
                         "np.ascontiguousarray(x))", name);
  osc_npy_shape_str(h.ndim, h.shape, shape, 256);
  out->count = 1;
  for (int i = 0; i < h.ndim; i++) {
    if (h.shape[i] && out->count > SIZE_MAX / 4 / h.shape[i])
      return osc_error_set(err, OSC_EINVAL, "%s: shape %s is too large", name, shape);
    out->count *= h.shape[i];
  }
  out->ndim = h.ndim;
  memcpy(out->shape, h.shape, sizeof h.shape);
  return OSC_OK;
}

/* `have` bytes follow the header; the shape needs exactly count * 4. */
static osc_status data_fits(const char *name, const osc_npy *a, const char *shape, size_t have,
                            osc_error *err) {
  size_t need = a->count * 4;
  if (have < need)
    return osc_error_set(err, OSC_EINVAL, "%s: truncated: shape %s needs %zu bytes of data, "
                         "the file has %zu", name, shape, need, have);
  if (have > need)
    return osc_error_set(err, OSC_EINVAL, "%s: %zu bytes of garbage after the data of shape %s",
                         name, have - need, shape);
  return OSC_OK;
}

/* Little-endian float32 to host floats; src may be dst. */
static void decode(float *dst, const unsigned char *src, size_t count) {
  for (size_t i = 0; i < count; i++) {
    uint32_t u = le32(src + 4 * i);
    memcpy(&dst[i], &u, sizeof u);
  }
}

static void npy_clear(osc_npy *a) {
  free(a->data);
  memset(a, 0, sizeof *a);
}

osc_status osc_npy_parse(const char *name, const void *bytes, size_t len, osc_npy *out,
                         osc_error *err) {
  const unsigned char *b = bytes;
  size_t hlen, off;
  char shape[256];
  osc_status s;
  memset(out, 0, sizeof *out);
  if ((s = parse_preamble(name, b, len, &off, &hlen, err)) ||
      (s = header_in_file(name, hlen, len - off, err)) ||
      (s = parse_header(name, (const char *)b + off, hlen, out, shape, err)) ||
      (s = data_fits(name, out, shape, len - off - hlen, err))) {
    npy_clear(out);
    return s;
  }
  if (!(out->data = malloc(out->count ? out->count * sizeof(float) : 1))) {
    npy_clear(out);
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory for shape %s", name, shape);
  }
  decode(out->data, b + off + hlen, out->count);
  return OSC_OK;
}

/* Up to `len` bytes; fewer only at end of file. -1 on a read error. */
static ssize_t read_upto(int fd, void *buf, size_t len) {
  size_t n = 0;
  while (n < len) {
    ssize_t r = read(fd, (char *)buf + n, len - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    n += (size_t)r;
  }
  return (ssize_t)n;
}

static osc_status read_error(const char *path, osc_error *err) {
  return osc_error_set(err, OSC_EIO, "%s: read error: %s", path, strerror(errno));
}

/* The preamble, whose length depends on the version (its 7th byte), and
** the header that it announces, checked against the file's size. */
static osc_status read_header(const char *path, int fd, size_t size, osc_npy *out, char *shape,
                              size_t *data_off, osc_error *err) {
  unsigned char pre[12];
  char *text;
  size_t off, hlen;
  ssize_t got = read_upto(fd, pre, 8), more = 0;
  osc_status s;
  if (got == 8 && (more = read_upto(fd, pre + 8, pre[6] == 2 ? 4 : 2)) >= 0) got += more;
  if (got < 0 || more < 0) return read_error(path, err);
  if ((s = parse_preamble(path, pre, (size_t)got, &off, &hlen, err)) ||
      (s = header_in_file(path, hlen, size < off ? 0 : size - off, err)))
    return s;
  if (!(text = malloc(hlen + 1)))
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory reading it", path);
  if ((got = read_upto(fd, text, hlen)) < 0) s = read_error(path, err);
  else if ((size_t)got < hlen) s = header_in_file(path, hlen, (size_t)got, err);  /* shrank */
  else s = parse_header(path, text, hlen, out, shape, err);
  free(text);
  *data_off = off + hlen;
  return s;
}

/* Exactly the data the header announces, then end of file. */
static osc_status read_data(const char *path, int fd, osc_npy *a, const char *shape,
                            osc_error *err) {
  unsigned char extra;
  ssize_t got;
  if (!(a->data = malloc(a->count ? a->count * sizeof(float) : 1)))
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory for shape %s", path, shape);
  if ((got = read_upto(fd, a->data, a->count * 4)) < 0) return read_error(path, err);
  if ((size_t)got < a->count * 4) return data_fits(path, a, shape, (size_t)got, err);
  if ((got = read_upto(fd, &extra, 1)) < 0) return read_error(path, err);
  if (got > 0)
    return osc_error_set(err, OSC_EINVAL, "%s: garbage after the data of shape %s (the file "
                         "grew while being read)", path, shape);
  decode(a->data, (const unsigned char *)a->data, a->count);
  return OSC_OK;
}

/* Nothing is allocated beyond what the file's size covers, and nothing
** is read past the bytes the header announces plus one. */
static osc_status read_fd(const char *path, int fd, size_t size, osc_npy *out, osc_error *err) {
  char shape[256];
  size_t data_off = 0;
  osc_status s = read_header(path, fd, size, out, shape, &data_off, err);
  if (!s) s = data_fits(path, out, shape, size - data_off, err);
  if (!s) s = read_data(path, fd, out, shape, err);
  if (s) npy_clear(out);
  return s;
}

osc_status osc_npy_read(const char *path, osc_npy *out, osc_error *err) {
  struct stat st;
  osc_status s;
  /* O_NONBLOCK: opening a FIFO that has no writer must not wait for one */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  memset(out, 0, sizeof *out);
  if (fd < 0) return osc_error_set(err, OSC_EIO, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(fd, &st) != 0) s = osc_error_set(err, OSC_EIO, "%s: %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode))
    s = osc_error_set(err, OSC_EIO, "%s: is %s; an .npy input must be a regular file (a "
                      "device, FIFO or pipe has no size to check the header against)", path,
                      osc_file_kind(st.st_mode));
  else
    s = read_fd(path, fd, (size_t)st.st_size, out, err);
  close(fd);
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
  s = osc_file_write_output(path, bytes, len, err);
  free(bytes);
  return s;
}

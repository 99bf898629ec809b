/*
** test_npy.c -- .npy reading and writing: headers built by hand the way
** numpy/lib/format.py writes them, round trips, and every rejection.
*/
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osc_test.h"
#include "oscnpy.h"

/* A .npy image: magic, version, header (padded like NumPy: to a multiple of
** 64 with spaces and a final '\n'), then `data_len` bytes of data. */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const void *data,
                       size_t data_len) {
  size_t pre = major == 1 ? 10 : 12, dlen = strlen(dict), hlen = dlen + 1;
  hlen += (64 - (pre + hlen) % 64) % 64;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  if (major == 1) {
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
  } else {
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    buf[10] = buf[11] = 0;
  }
  memcpy(buf + pre, dict, dlen);
  memset(buf + pre + dlen, ' ', hlen - dlen - 1);
  buf[pre + hlen - 1] = '\n';
  memcpy(buf + pre + hlen, data, data_len);
  return pre + hlen + data_len;
}

/* float32 little-endian bytes of 1.0, 2.0, ... */
static void le_floats(unsigned char *b, int n) {
  for (int i = 0; i < n; i++) {
    float f = (float)(i + 1);
    unsigned u;
    memcpy(&u, &f, 4);
    b[4 * i] = (unsigned char)u;
    b[4 * i + 1] = (unsigned char)(u >> 8);
    b[4 * i + 2] = (unsigned char)(u >> 16);
    b[4 * i + 3] = (unsigned char)(u >> 24);
  }
}

static void test_parse_numpy_files(void) {
  unsigned char buf[512], data[24];
  osc_npy a;
  osc_error err;
  size_t n;
  le_floats(data, 6);
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 24);
  CU_ASSERT_EQUAL(n % 64, 24 % 64);   /* data starts on a 64-byte boundary */
  CU_ASSERT_EQUAL_FATAL(osc_npy_parse("x.npy", buf, n, &a, &err), OSC_OK);
  CU_ASSERT_EQUAL(a.ndim, 2);
  CU_ASSERT(a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
  for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(a.data[i], (float)(i + 1));
  osc_npy_free(&a);
  /* version 2.0, keys in another order, double quotes, a Python 2 long */
  n = make_npy(buf, 2, "{\"shape\": (6L,), \"fortran_order\": False, \"descr\": \"<f4\"}", data,
               24);
  CU_ASSERT_EQUAL_FATAL(osc_npy_parse("x.npy", buf, n, &a, &err), OSC_OK);
  CU_ASSERT(a.ndim == 1 && a.shape[0] == 6 && a.data[5] == 6.0f);
  osc_npy_free(&a);
  /* 0-d and empty arrays */
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data, 4);
  CU_ASSERT_EQUAL_FATAL(osc_npy_parse("x.npy", buf, n, &a, &err), OSC_OK);
  CU_ASSERT(a.ndim == 0 && a.count == 1 && a.data[0] == 1.0f);
  osc_npy_free(&a);
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", data, 0);
  CU_ASSERT_EQUAL_FATAL(osc_npy_parse("x.npy", buf, n, &a, &err), OSC_OK);
  CU_ASSERT(a.ndim == 2 && a.count == 0);
  osc_npy_free(&a);
}

/* What np.save writes, spelled out byte by byte from numpy's own format
** code (numpy/lib/format.py: the NPY format docstring, _wrap_header and
** _write_array_header; numpy is not installed here to run it):
**   "\x93NUMPY", version 1.0, HEADER_LEN as <H (little-endian uint16),
**   the dict repr with sorted keys "{'descr': '<f4', 'fortran_order': False,
**   'shape': (2, 3), }", then GROWTH_AXIS_MAX_DIGITS (21) - len(repr(
**   shape[0])) spaces (numpy >= 1.24, PR #20321; none for 0-d arrays),
**   then padlen = 64 - (10 + len(header) + 1) % 64 spaces (a whole 64 when
**   already aligned) and '\n', then the data, C order, '<f4'. */
#define SP10 "          "
#define SP20 SP10 SP10

/* np.save(f, np.arange(1, 7, dtype='<f4').reshape(2, 3)): the dict is 59
** bytes, 20 growth spaces; 10 + 59 + 20 + 1 = 90, padlen 38: 58 spaces,
** HEADER_LEN 118 (0x76), data at 128. (numpy < 1.24 writes the same
** bytes: no growth spaces, padlen 58.) */
static const char save_2x3[] =
    "\x93NUMPY\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    SP20 SP20 SP10 "        " "\n"
    "\x00\x00\x80\x3f" "\x00\x00\x00\x40" "\x00\x00\x40\x40"     /* 1, 2, 3 */
    "\x00\x00\x80\x40" "\x00\x00\xa0\x40" "\x00\x00\xc0\x40";    /* 4, 5, 6 */

/* The header of np.save(f, np.zeros((2, 10, 10) + (2,) * 11, '<f4')): the
** dict is 97 bytes, 20 growth spaces, 10 + 97 + 20 + 1 = 128 is aligned, so
** padlen is a whole 64: 84 spaces, HEADER_LEN 182 (0xb6), data at 192. */
static const char save_14d_head[] =
    "\x93NUMPY\x01\x00\xb6\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 10, 10, 2, 2, 2, 2, 2, 2, 2, 2, 2, "
    "2, 2), }"
    SP20 SP20 SP20 SP20 "    " "\n";

static void test_encode_matches_numpy(void) {
  size_t shape[2] = {2, 3}, big[14] = {2, 10, 10, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, n = 409600;
  float x[6] = {1, 2, 3, 4, 5, 6}, *zeros = calloc(n, sizeof *zeros);
  char *got;
  size_t len;
  osc_error err;
  osc_npy a;
  CU_ASSERT_EQUAL_FATAL(sizeof save_2x3 - 1, 128 + 24);   /* the spelling above */
  CU_ASSERT_EQUAL_FATAL(sizeof save_14d_head - 1, 192);
  CU_ASSERT_EQUAL_FATAL(osc_npy_encode(2, shape, x, &got, &len, &err), OSC_OK);
  CU_ASSERT_EQUAL(len, sizeof save_2x3 - 1);
  CU_ASSERT(len == sizeof save_2x3 - 1 && memcmp(got, save_2x3, len) == 0);
  free(got);
  /* and the reader takes np.save's bytes */
  CU_ASSERT_EQUAL_FATAL(osc_npy_parse("x.npy", save_2x3, sizeof save_2x3 - 1, &a, &err), OSC_OK);
  CU_ASSERT(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
  CU_ASSERT(memcmp(a.data, x, sizeof x) == 0);
  osc_npy_free(&a);
  CU_ASSERT_PTR_NOT_NULL_FATAL(zeros);
  CU_ASSERT_EQUAL_FATAL(osc_npy_encode(14, big, zeros, &got, &len, &err), OSC_OK);
  CU_ASSERT_EQUAL(len, 192 + 4 * n);
  CU_ASSERT(len >= 192 && memcmp(got, save_14d_head, 192) == 0);
  free(got);
  free(zeros);
}

static void test_round_trip_file(void) {
  char dir[] = "/tmp/osconv-npy-XXXXXX", path[64];
  size_t shape[4] = {2, 3, 4, 5};
  float *x = malloc(120 * sizeof *x);
  uint64_t st = osc_test_seed();
  osc_npy a;
  osc_error err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/x.npy", dir);
  for (int i = 0; i < 120; i++) x[i] = (float)osc_test_rand(&st) / 7.0f - 1e8f;
  CU_ASSERT_EQUAL(osc_npy_write(path, 4, shape, x, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_npy_read(path, &a, &err), OSC_OK);
  CU_ASSERT_EQUAL(a.ndim, 4);
  CU_ASSERT(memcmp(a.shape, shape, sizeof shape) == 0);
  CU_ASSERT(a.count == 120 && memcmp(a.data, x, 120 * sizeof *x) == 0);
  osc_npy_free(&a);
  /* a missing file is an I/O error naming it */
  CU_ASSERT_EQUAL(osc_npy_read("/nonexistent/x.npy", &a, &err), OSC_EIO);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/x.npy"));
  unlink(path);
  CU_ASSERT_EQUAL(rmdir(dir), 0);   /* no temp file left behind */
  free(x);
}

/* Each bad file is refused with OSC_EINVAL and a message that names the
** file and contains `why`. */
static void refuse(const unsigned char *buf, size_t n, const char *why) {
  osc_npy a;
  osc_error err;
  osc_status s = osc_npy_parse("bad.npy", buf, n, &a, &err);
  CU_ASSERT_EQUAL(s, OSC_EINVAL);
  CU_ASSERT_PTR_NULL(a.data);
  if (s == OSC_EINVAL) {
    CU_ASSERT(strncmp(err.msg, "bad.npy: ", 9) == 0);
    if (!strstr(err.msg, why)) fprintf(stderr, "\nmessage '%s' lacks '%s'\n", err.msg, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
  }
  osc_npy_free(&a);
}

static void test_rejections(void) {
  unsigned char buf[512], data[32];
  size_t n;
  le_floats(data, 8);
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data, 24);
  refuse(buf, n, "float64");
  n = make_npy(buf, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", data, 12);
  refuse(buf, n, "big-endian");
  n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", data, 3);
  refuse(buf, n, "'|u1'");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data, 24);
  refuse(buf, n, "Fortran order");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 20);
  refuse(buf, n, "truncated");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 28);
  refuse(buf, n, "after the data");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 24);
  refuse(buf, 40, "truncated");            /* cut inside the header */
  refuse(buf, 7, "magic");                 /* too short for a preamble */
  buf[1] = 'X';
  refuse(buf, n, "magic");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 24);
  buf[6] = 3;
  refuse(buf, n, "version 3.0");
  n = make_npy(buf, 1, "{'descr': '<f4', 'shape': (2, 3), }", data, 24);
  refuse(buf, n, "header");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", data, 24);
  refuse(buf, n, "header");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
               data, 24);
  refuse(buf, n, "header");
  n = make_npy(buf, 1, "['descr', '<f4']", data, 24);
  refuse(buf, n, "header");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, "
                       "'shape': (4294967296, 4294967296, 4294967296), }", data, 24);
  refuse(buf, n, "too large");
}

/* Shapes NumPy never writes: the message says what is wrong with the shape
** (it used to say the header was not the expected dict). */
static void test_bad_shapes(void) {
  static const struct { const char *shape, *why; } cases[] = {
      {"(2, -3)", "the .npy header's shape (2, -3) has a negative dimension"},
      {"(-1,)", "shape (-1,) has a negative dimension"},
      {"(9223372036854775808,)", "(9223372036854775808,) has a dimension beyond 2^63 - 1"},
      {"(1, 99999999999999999999999)", "has a dimension beyond 2^63 - 1"},
      {"(2, x)", "the .npy header's shape (2, x) is not a tuple of non-negative integers"},
      {"(2 3)", "shape (2 3) is not a tuple of non-negative integers"},
      {"(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
       "1, 1, 1, 1, 1)", "has more than 32 dimensions"},
  };
  unsigned char buf[512], data[8] = {0};
  char dict[256];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
             cases[i].shape);
    refuse(buf, make_npy(buf, 1, dict, data, 4), cases[i].why);
  }
  /* the largest dimension NumPy can write is accepted by the parser */
  refuse(buf, make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (9223372036854775807,), }", data, 4), "too large");
}

/* osc_npy_read(path) in a child given 10 s (and 1 GiB where no sanitizer
** reserves address space): its exit status (124: it ran out of time or
** memory) and its message. */
static int read_bounded(const char *path, char *msg, size_t size) {
  int fds[2], status = 0;
  ssize_t n;
  pid_t pid;
  msg[0] = '\0';
  if (pipe(fds) != 0 || (pid = fork()) < 0) return -1;
  if (pid == 0) {
    osc_npy a;
    osc_error err;
    osc_status s;
#if !defined(__SANITIZE_ADDRESS__)
    struct rlimit lim = {1u << 30, 1u << 30};
    setrlimit(RLIMIT_AS, &lim);
#endif
    alarm(10);
    s = osc_npy_read(path, &a, &err);
    if (s) (void)!write(fds[1], err.msg, strlen(err.msg));
    _exit(s == OSC_EIO ? 3 : s ? 4 : 0);
  }
  close(fds[1]);
  n = read(fds[0], msg, size - 1);
  msg[n > 0 ? n : 0] = '\0';
  close(fds[0]);
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 124;
}

/* Inputs that are not regular files are refused at once: /dev/zero used to
** be read toward a 64 GiB cap, a FIFO without a writer blocked forever. */
static void test_read_non_regular(void) {
  char dir[] = "/tmp/osconv-npyin-XXXXXX", fifo[64], msg[512];
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  CU_ASSERT_EQUAL(read_bounded("/dev/zero", msg, sizeof msg), 3);
  CU_ASSERT_STRING_EQUAL(msg, "/dev/zero: is a character device; an .npy input must be a "
                              "regular file (a device, FIFO or pipe has no size to check the "
                              "header against)");
  snprintf(fifo, sizeof fifo, "%s/in.npy", dir);
  CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
  CU_ASSERT_EQUAL(read_bounded(fifo, msg, sizeof msg), 3);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "in.npy: is a FIFO (named pipe); an .npy input must be"));
  unlink(fifo);
  CU_ASSERT_EQUAL(read_bounded(dir, msg, sizeof msg), 3);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, ": is a directory; an .npy input must be"));
  CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static int put_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(data, 1, len, f) == len;
  if (f && fclose(f)) ok = 0;
  return ok ? 0 : -1;
}

/* From a file: exactly the bytes the header announces, then end of file;
** a header that announces more than the file holds is refused before any
** of it is allocated (1 GiB address space: 2^40 floats cannot be). */
static void test_read_exact(void) {
  char dir[] = "/tmp/osconv-npyex-XXXXXX", path[64], msg[512];
  unsigned char buf[512], data[32];
  size_t n;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/x.npy", dir);
  le_floats(data, 8);
  n = make_npy(buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 24);
  CU_ASSERT_EQUAL_FATAL(put_file(path, buf, n), 0);
  CU_ASSERT_EQUAL(read_bounded(path, msg, sizeof msg), 0);
  CU_ASSERT_EQUAL_FATAL(put_file(path, buf, n + 4), 0);   /* 4 more bytes of buf */
  CU_ASSERT_EQUAL(read_bounded(path, msg, sizeof msg), 4);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "x.npy: 4 bytes of garbage after the data of shape (2, 3)"));
  CU_ASSERT_EQUAL_FATAL(put_file(path, buf, n - 1), 0);
  CU_ASSERT_EQUAL(read_bounded(path, msg, sizeof msg), 4);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "needs 24 bytes of data, the file has 23"));
  CU_ASSERT_EQUAL_FATAL(put_file(path, buf, 40), 0);
  CU_ASSERT_EQUAL(read_bounded(path, msg, sizeof msg), 4);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "truncated: the header says 116 bytes, the file has 28"));
  CU_ASSERT_EQUAL_FATAL(put_file(path, buf, 5), 0);
  CU_ASSERT_EQUAL(read_bounded(path, msg, sizeof msg), 4);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "magic"));
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }",
               data, 32);
  CU_ASSERT_EQUAL_FATAL(put_file(path, buf, n), 0);
  CU_ASSERT_EQUAL(read_bounded(path, msg, sizeof msg), 4);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "needs 4398046511104 bytes of data, the file has 32"));
  unlink(path);
  CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static CU_TestInfo tests[] = {
    {"parse files as NumPy writes them", test_parse_numpy_files},
    {"encode byte for byte like np.save", test_encode_matches_numpy},
    {"write, read back, nothing left over", test_round_trip_file},
    {"every rejection", test_rejections},
    {"a bad shape says what is wrong with it", test_bad_shapes},
    {"inputs that are not regular files are refused", test_read_non_regular},
    {"read exactly what the header announces", test_read_exact},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("npy", tests)

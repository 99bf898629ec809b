/*
** fuzz_npy.c -- libFuzzer target for the .npy reader (gen/oscnpy.c): any
** bytes are parsed; an accepted file must hold exactly the floats at its
** end (the reader refuses trailing bytes) and survive a round trip through
** the writer; a refused one must say which file it was.
*/
#include "fuzz.h"
#include "oscnpy.h"

/* The floats a parse returned are the last 4 * count bytes of the file,
** little-endian (the host is x86-64). */
static void check_data(const osc_npy *a, const uint8_t *data, size_t size) {
  size_t product = 1;
  FUZZ_CHECK(a->ndim >= 0 && a->ndim <= OSC_NPY_MAX_DIMS);
  for (int i = 0; i < a->ndim; i++) product *= a->shape[i];
  FUZZ_CHECK(product == a->count && a->data);
  FUZZ_CHECK(a->count <= size / 4);
  FUZZ_CHECK(memcmp(a->data, data + size - 4 * a->count, 4 * a->count) == 0);
}

static void check_round_trip(const osc_npy *a) {
  char *bytes, shape[64];
  size_t len;
  osc_npy b;
  osc_error err;
  FUZZ_CHECK(osc_npy_encode(a->ndim, a->shape, a->data, &bytes, &len, &err) == OSC_OK);
  FUZZ_CHECK(osc_npy_parse("again.npy", bytes, len, &b, &err) == OSC_OK);
  FUZZ_CHECK(b.ndim == a->ndim && b.count == a->count);
  FUZZ_CHECK(memcmp(b.shape, a->shape, (size_t)a->ndim * sizeof *a->shape) == 0);
  FUZZ_CHECK(memcmp(b.data, a->data, 4 * a->count) == 0);
  osc_npy_shape_str(b.ndim, b.shape, shape, sizeof shape);   /* may truncate, never overflow */
  FUZZ_CHECK(shape[0] == '(' && strlen(shape) < sizeof shape);
  osc_npy_free(&b);
  free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  osc_npy a;
  osc_error err;
  if (osc_npy_parse("x.npy", data, size, &a, &err) == OSC_OK) {
    check_data(&a, data, size);
    check_round_trip(&a);
  } else {
    FUZZ_CHECK(a.data == NULL);
    FUZZ_CHECK_MESSAGE(&err, "x.npy");
  }
  osc_npy_free(&a);
  return 0;
}

/*
** oscnpy.h -- NumPy .npy files of float32, the data format of `osconv exec`.
** Accepted: format version 1.0 or 2.0, dtype '<f4' (little-endian float32),
** C order, any shape. Anything else is refused with a message that names
** the file, what it holds and what was expected.
*/
#ifndef OSCNPY_H
#define OSCNPY_H

#include <stddef.h>

#include "osconv.h"

#define OSC_NPY_MAX_DIMS 32

typedef struct osc_npy {
  int ndim;
  size_t shape[OSC_NPY_MAX_DIMS];
  size_t count;    /* product of the shape (1 for a 0-d array) */
  float *data;     /* count floats, host order; owned */
} osc_npy;

/* Parse a whole .npy image; `name` stands for the file in messages. */
osc_status osc_npy_parse(const char *name, const void *bytes, size_t len, osc_npy *out,
                         osc_error *err);
/* A regular file only (a device, FIFO, socket or directory is refused,
** and opening never blocks); reads the header, then exactly the bytes it
** announces (checked against the file's size first), then requires end of
** file. */
osc_status osc_npy_read(const char *path, osc_npy *out, osc_error *err);
void osc_npy_free(osc_npy *a);

/* "(2, 3, 4)" -- the shape as NumPy prints it. */
void osc_npy_shape_str(int ndim, const size_t *shape, char *buf, size_t size);

/* Encode as a version 1.0 '<f4' C-order file (*out, *len; caller frees). */
osc_status osc_npy_encode(int ndim, const size_t *shape, const float *data, char **out,
                          size_t *len, osc_error *err);
/* Write as `exec --output` does (oscfile.h, osc_file_write_output): a new
** or regular file atomically, a character device or FIFO in place. */
osc_status osc_npy_write(const char *path, int ndim, const size_t *shape, const float *data,
                         osc_error *err);

#endif

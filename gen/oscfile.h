/*
** oscfile.h -- whole-file reads and atomic writes. A write goes to a fresh
** temp file beside its destination and is renamed over it, so a reader
** sees the old file or the new one, never a part; staging several files
** first lets a command write all of them or none.
*/
#ifndef OSCFILE_H
#define OSCFILE_H

#include <stddef.h>

#include "osconv.h"

/* Read all of `path` (at most `max` bytes; larger is an error). *data is
** NUL-terminated, the caller frees it. */
osc_status osc_file_read(const char *path, size_t max, char **data, size_t *len,
                         osc_error *err);

/* Write `data` to a new temp file next to `path`; *tmp (caller frees) names
** it. Nothing is left behind on failure. */
osc_status osc_file_stage(const char *path, const void *data, size_t len, char **tmp,
                          osc_error *err);
/* Rename a staged file over its destination. */
osc_status osc_file_commit(const char *tmp, const char *path, osc_error *err);
/* Remove a staged file that will not be committed. */
void osc_file_discard(const char *tmp);

/* stage + commit */
osc_status osc_file_write_atomic(const char *path, const void *data, size_t len,
                                 osc_error *err);

#endif

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

/* A file being staged: written piece by piece to a fresh temp file beside
** its destination, then committed (renamed over it) or abandoned. */
typedef struct osc_file_out {
  int fd;               /* -1 once closed */
  char *tmp;            /* the temp file's name */
  const char *path;     /* the destination (the caller keeps it alive) */
} osc_file_out;

osc_status osc_file_begin(const char *path, osc_file_out *f, osc_error *err);
osc_status osc_file_put(osc_file_out *f, const void *data, size_t len, osc_error *err);
/* Close the temp file; on success *tmp (caller frees) names it, ready for
** osc_file_commit. On failure nothing is left behind. */
osc_status osc_file_end(osc_file_out *f, char **tmp, osc_error *err);
/* Close and remove a temp file that will not be committed; any time. */
void osc_file_abandon(osc_file_out *f);

/* Write `data` to a new temp file next to `path`; *tmp (caller frees) names
** it. Nothing is left behind on failure. */
osc_status osc_file_stage(const char *path, const void *data, size_t len, char **tmp,
                          osc_error *err);
/* Rename a staged file over its destination. */
osc_status osc_file_commit(const char *tmp, const char *path, osc_error *err);
/* Rename n staged files over their destinations, as close to all or
** nothing as POSIX allows: each destination that exists is first kept
** aside (a hard link, or a copy where the file system has none); if a
** rename fails, the destinations already replaced get their old file back
** (or are removed if there was none) and the kept copies are deleted.
** What is not covered: a crash or kill between the first and the last
** rename leaves some destinations new and the temp/kept files
** (<path>.tmp-*, <path>.old-*) behind; a failing restore leaves that
** destination new and says where its old content is; readers may see
** some files new and others old while the renames run; a destination
** that is neither a regular file nor a symlink is not kept. */
osc_status osc_file_commit_all(int n, char *const *tmps, char *const *paths, osc_error *err);
/* Remove a staged file that will not be committed. */
void osc_file_discard(const char *tmp);

/* stage + commit */
osc_status osc_file_write_atomic(const char *path, const void *data, size_t len,
                                 osc_error *err);

#endif

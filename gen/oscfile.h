/*
** oscfile.h -- whole-file reads and all-or-nothing writes (README, "Files").
**
** What an output may be: a new name; an existing regular file, which is
** replaced whole (a reader sees the old file or the new one, never a
** part); with `streams`, a character device or FIFO (/dev/null,
** /dev/stdout on a terminal or pipe, a named pipe), written in place.
** Anything else that exists (a directory, block device, socket) is
** refused and left alone. A symlink is followed: the file it points to is
** replaced, beside itself, so the link keeps pointing at the new content;
** a dangling symlink is refused.
**
** A file is written to an unnamed temp file (Linux O_TMPFILE) in the
** directory of its destination and given its name only when complete
** (linkat; a destination that exists gets it by a hidden link renamed
** over it), so a kill, even SIGKILL, while it is written leaves nothing.
** Where the file system has no O_TMPFILE (or /proc is not mounted, or the
** open-file limit is reached), the temp file is a named hidden one,
** ".<name>.tmp-<pid>-<n>" beside its destination, removed on an error or
** on SIGINT/SIGTERM/SIGHUP/SIGQUIT (osccleanup.h) but left by SIGKILL.
** Renaming into place runs with those signals held.
*/
#ifndef OSCFILE_H
#define OSCFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "osconv.h"

/* Read all of `path` (at most `max` bytes; larger is an error). *data is
** NUL-terminated, the caller frees it. */
osc_status osc_file_read(const char *path, size_t max, char **data, size_t *len,
                         osc_error *err);

/* "a directory", "a FIFO (named pipe)", ...: what a non-regular file is. */
const char *osc_file_kind(mode_t mode);

/* What writing to `path` does. */
typedef enum osc_out_kind { OSC_OUT_NEW, OSC_OUT_REPLACE, OSC_OUT_STREAM } osc_out_kind;

/* Decide by the rules above; *real (caller frees) is the file to create or
** replace: `path`, or where its symlink points. Refusals name the path and
** say what it is. Changes nothing on disk. */
osc_status osc_file_target(const char *path, int streams, osc_out_kind *kind, char **real,
                           osc_error *err);

/* A regular file being staged: written piece by piece, then committed
** (given its name) or abandoned. */
typedef struct osc_file_out {
  int fd;               /* -1 once closed */
  int unnamed;          /* 1: O_TMPFILE, no name until committed */
  char *tmp;            /* the named fallback's name, else NULL */
  char *path;           /* the destination, symlinks followed */
  const char *name;     /* as the caller gave it, for messages (kept alive by the caller) */
} osc_file_out;

/* Refuses a destination that is not new or a regular file. */
osc_status osc_file_begin(const char *path, osc_file_out *f, osc_error *err);
osc_status osc_file_put(osc_file_out *f, const void *data, size_t len, osc_error *err);
/* Writing is done: a named temp file is closed here, so that a delayed
** write error (NFS, quota) fails the command before anything is renamed. */
osc_status osc_file_end(osc_file_out *f, osc_error *err);
/* Close and remove what was staged; any time, any number of times. */
void osc_file_abandon(osc_file_out *f);

/* begin + put + end */
osc_status osc_file_stage(const char *path, const void *data, size_t len, osc_file_out *f,
                          osc_error *err);
/* Give a staged file its name; it is abandoned (closed, freed) either way. */
osc_status osc_file_commit(osc_file_out *f, osc_error *err);
/* Commit n staged files, as close to all or nothing as POSIX allows: each
** destination that exists is first kept aside (a hard link, or a copy
** where the file system has none); if one cannot be put in place, those
** already replaced get their old file back (or are removed if there was
** none) and the kept copies are deleted. All n are abandoned either way.
** What is not covered: SIGKILL (or a crash) between the first and the
** last rename leaves some destinations new and hidden temp or kept files
** (.<name>.tmp-*, .<name>.old-*) behind; a failing restore leaves that
** destination new and says where its old content is; readers may see
** some files new and others old while the renames run. */
osc_status osc_file_commit_all(int n, osc_file_out *files, osc_error *err);

/* stage + commit, for a regular file (or a new name) only */
osc_status osc_file_write_atomic(const char *path, const void *data, size_t len,
                                 osc_error *err);
/* `exec --output`: a character device or FIFO is written in place (opened
** without O_CREAT or O_TRUNC), anything else as osc_file_write_atomic. */
osc_status osc_file_write_output(const char *path, const void *data, size_t len,
                                 osc_error *err);

#endif

/*
** oscfile.c -- whole-file reads and all-or-nothing writes.
*/
#define _GNU_SOURCE   /* O_TMPFILE, linkat's AT_EMPTY_PATH */
#include "oscfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osccleanup.h"
#include "oscerr.h"

/* A regular file, opened without blocking (a FIFO without a writer would
** block a plain open) and checked before anything is read. */
static int open_regular(const char *path, off_t *size, osc_error *err) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    osc_error_set(err, OSC_EIO, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int bad = errno;
    if (fstat(fd, &st) == 0) osc_error_set(err, OSC_EIO, "%s: is %s, not a regular file", path,
                                           osc_file_kind(st.st_mode));
    else osc_error_set(err, OSC_EIO, "%s: cannot read: %s", path, strerror(bad));
    close(fd);
    return -1;
  }
  *size = st.st_size;
  return fd;
}

osc_status osc_file_read(const char *path, size_t max, char **data, size_t *len,
                         osc_error *err) {
  char *buf;
  size_t n = 0, cap;
  off_t size;
  int fd = open_regular(path, &size, err);
  *data = NULL;
  *len = 0;
  if (fd < 0) return err ? err->code : OSC_EIO;
  if ((uintmax_t)size > max) {
    close(fd);
    return osc_error_set(err, OSC_ELIMIT, "%s: larger than %zu bytes", path, max);
  }
  /* the size is a hint (the file may grow while read): read to end of file,
  ** one byte past `max` at most */
  cap = (size_t)size + 1;
  if (!(buf = malloc(cap + 1))) {
    close(fd);
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory reading it", path);
  }
  for (;;) {
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return osc_error_set(err, OSC_EIO, "%s: read error: %s", path, strerror(e));
    }
    if (got == 0) break;
    n += (size_t)got;
    if (n > max) {
      free(buf);
      close(fd);
      return osc_error_set(err, OSC_ELIMIT, "%s: larger than %zu bytes", path, max);
    }
    if (n == cap) {
      size_t ncap = cap > max / 2 ? max + 1 : 2 * cap;
      char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        free(buf);
        close(fd);
        return osc_error_set(err, OSC_ENOMEM, "%s: out of memory reading it", path);
      }
      buf = nb;
      cap = ncap;
    }
  }
  close(fd);
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return OSC_OK;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

const char *osc_file_kind(mode_t m) {
  return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO (named pipe)"
         : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symlink" : "not a regular file";
}

/* ---- what an output may be -------------------------------------------------------- */

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static osc_status no_memory(osc_error *err) {
  return osc_error_set(err, OSC_ENOMEM, "out of memory");
}

osc_status osc_file_target(const char *path, int streams, osc_out_kind *kind, char **real,
                           osc_error *err) {
  struct stat st;
  int link = 0;
  *real = NULL;
  if (lstat(path, &st) != 0) {
    if (errno != ENOENT) return osc_error_set(err, OSC_EIO, "%s: %s", path, strerror(errno));
    *kind = OSC_OUT_NEW;
    return (*real = dup_str(path)) ? OSC_OK : no_memory(err);
  }
  if (S_ISLNK(st.st_mode)) {
    link = 1;
    if (stat(path, &st) != 0)
      return osc_error_set(err, OSC_EIO, "%s: a symlink that leads nowhere (%s); an output "
                           "symlink is followed only to a file that exists", path,
                           strerror(errno));
  }
  if (S_ISREG(st.st_mode)) {
    *kind = OSC_OUT_REPLACE;
    if (!link) return (*real = dup_str(path)) ? OSC_OK : no_memory(err);
    if (!(*real = realpath(path, NULL)))
      return osc_error_set(err, OSC_EIO, "%s: cannot follow the symlink: %s", path,
                           strerror(errno));
    return OSC_OK;
  }
  if (streams && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    *kind = OSC_OUT_STREAM;
    return (*real = dup_str(path)) ? OSC_OK : no_memory(err);
  }
  return osc_error_set(err, OSC_EIO, "%s: is %s%s; it is left alone: an output must be a new "
                       "name or a regular file%s", path, osc_file_kind(st.st_mode),
                       link ? " (through a symlink)" : "",
                       streams ? ", a character device or a FIFO" : "");
}

/* ---- staging ----------------------------------------------------------------------- */

/* "<dir of path>/.<base of path>.<tag>-<pid>-<n>", from a process-wide
** counter, or NULL when out of memory. */
static char *hidden_name(const char *path, const char *tag) {
  static unsigned counter;
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  size_t size = strlen(path) + strlen(tag) + 48;
  char *name = malloc(size);
  if (name)
    snprintf(name, size, "%.*s.%s.%s-%ld-%u", (int)(base - path), path, base, tag,
             (long)getpid(), counter++);
  return name;
}

/* A fresh hidden name made by `make` (open with O_EXCL, or link): retried
** while the name is taken. Returns make's result; *name is NULL on error. */
static int fresh_name(const char *path, const char *tag, char **name,
                      int (*make)(const char *name, const void *arg), const void *arg) {
  int r = -1;
  for (int attempt = 0; attempt < 100; attempt++) {
    if (!(*name = hidden_name(path, tag))) {
      errno = ENOMEM;
      return -1;
    }
    if ((r = make(*name, arg)) >= 0) return r;
    free(*name);
    *name = NULL;
    if (errno != EEXIST) break;
  }
  return r;
}

/* O_EXCL: a name nobody else holds; mode 0666 lets the umask decide */
static int create_excl(const char *name, const void *arg) {
  (void)arg;
  return open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
}

/* Unnamed files stay open until committed: at most the open-file limit
** less a reserve, raised to the hard limit the first time it is reached. */
#define FD_RESERVE 64
static long fd_budget(void) {
  static long budget = -1;
  struct rlimit r;
  if (budget >= 0) return budget;
  budget = 0;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    if (r.rlim_cur < r.rlim_max) {
      r.rlim_cur = r.rlim_max;
      setrlimit(RLIMIT_NOFILE, &r);
      getrlimit(RLIMIT_NOFILE, &r);
    }
    if (r.rlim_cur > (rlim_t)FD_RESERVE)
      budget = r.rlim_cur - FD_RESERVE > (rlim_t)LONG_MAX ? LONG_MAX
                                                          : (long)(r.rlim_cur - FD_RESERVE);
  }
  return budget;
}
static long unnamed_open;

/* An O_TMPFILE in the directory of `path`, that /proc/self/fd can name
** for linkat; -1 where the kernel, file system or budget says no, or where
** the test-only OSCONV_TEST_NO_TMPFILE asks for the named fallback. */
static int open_unnamed(const char *path) {
#ifdef O_TMPFILE
  const char *slash = strrchr(path, '/');
  char dir[PATH_MAX], proc[64];
  struct stat st;
  int fd;
  if (unnamed_open >= fd_budget() || getenv("OSCONV_TEST_NO_TMPFILE")) return -1;
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if ((size_t)(slash - path) >= sizeof dir) return -1;
  else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  if ((fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666)) < 0) return -1;
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (stat(proc, &st) != 0) {
    close(fd);
    return -1;
  }
  unnamed_open++;
  return fd;
#else
  (void)path;
  return -1;
#endif
}

static void file_clear(osc_file_out *f, const char *name) {
  f->fd = -1;
  f->unnamed = 0;
  f->tmp = NULL;
  f->path = NULL;
  f->name = name;
}

osc_status osc_file_begin(const char *path, osc_file_out *f, osc_error *err) {
  osc_out_kind kind;
  osc_status s;
  file_clear(f, path);
  if ((s = osc_file_target(path, 0, &kind, &f->path, err))) return s;
  if ((f->fd = open_unnamed(f->path)) >= 0) {
    f->unnamed = 1;
    return OSC_OK;
  }
  {
    sigset_t saved;   /* no signal between creating the name and registering it */
    osc_cleanup_hold(&saved);
    if ((f->fd = fresh_name(f->path, "tmp", &f->tmp, create_excl, NULL)) >= 0)
      osc_cleanup_add(f->tmp, 0);
    else
      s = osc_error_set(err, errno == ENOMEM ? OSC_ENOMEM : OSC_EIO,
                        "%s: cannot create a temp file beside it: %s", path, strerror(errno));
    osc_cleanup_release(&saved);
  }
  if (s) osc_file_abandon(f);
  return s;
}

/* The test hook "write" stops halfway through the first piece written. */
osc_status osc_file_put(osc_file_out *f, const void *data, size_t len, osc_error *err) {
  size_t half = len > 1 && osc_test_pausing("write") ? len / 2 : 0;
  int bad = f->fd < 0;
  if (!bad && half) {
    bad = write_all(f->fd, data, half) != 0;
    osc_test_pause("write");
  }
  if (bad || write_all(f->fd, (const char *)data + half, len - half) != 0) {
    osc_status s = osc_error_set(err, OSC_EIO, "%s: write failed: %s", f->name,
                                 f->fd < 0 ? "not open" : strerror(errno));
    osc_file_abandon(f);
    return s;
  }
  return OSC_OK;
}

osc_status osc_file_end(osc_file_out *f, osc_error *err) {
  int fd = f->fd;
  if (f->unnamed && fd >= 0) return OSC_OK;   /* stays open: linkat needs it */
  f->fd = -1;
  if (fd < 0 || close(fd) != 0) {   /* close reports delayed write errors (NFS, quota) */
    osc_status s = osc_error_set(err, OSC_EIO, "%s: write failed: %s", f->name,
                                 fd < 0 ? "not open" : strerror(errno));
    osc_file_abandon(f);
    return s;
  }
  return OSC_OK;
}

void osc_file_abandon(osc_file_out *f) {
  if (f->fd >= 0) {
    close(f->fd);
    if (f->unnamed) unnamed_open--;
  }
  f->fd = -1;
  if (f->tmp) {
    unlink(f->tmp);
    osc_cleanup_forget(f->tmp);
    free(f->tmp);
  }
  free(f->path);
  file_clear(f, f->name);
}

osc_status osc_file_stage(const char *path, const void *data, size_t len, osc_file_out *f,
                          osc_error *err) {
  osc_status s;
  if ((s = osc_file_begin(path, f, err)) || (s = osc_file_put(f, data, len, err))) return s;
  return osc_file_end(f, err);
}

/* ---- committing ---------------------------------------------------------------------- */

/* Name the unnamed file `fd` as `name`, which must not exist. */
static int link_fd(int fd, const char *name) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}
static int link_fd_to(const char *name, const void *fd) { return link_fd(*(const int *)fd, name); }

/* Put a staged file at its destination. An unnamed one is linked there
** directly when the name is free (nothing else to remove, ever), else
** linked to a hidden name and renamed over. Only a regular file (or
** nothing) is ever replaced: the target is looked at once more here. */
static osc_status place(osc_file_out *f, osc_error *err) {
  struct stat st;
  char *hidden = NULL;
  if (lstat(f->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
    return osc_error_set(err, OSC_EIO, "%s: is now %s; it is left alone", f->name,
                         osc_file_kind(st.st_mode));
  if (!f->unnamed) {
    if (rename(f->tmp, f->path) == 0) {
      osc_cleanup_forget(f->tmp);
      free(f->tmp);
      f->tmp = NULL;
      return OSC_OK;
    }
  } else if (link_fd(f->fd, f->path) == 0) {
    return OSC_OK;
  } else if (errno == EEXIST && fresh_name(f->path, "tmp", &hidden, link_fd_to, &f->fd) == 0) {
    if (rename(hidden, f->path) == 0) {
      free(hidden);
      return OSC_OK;
    }
    {
      int e = errno;
      unlink(hidden);
      errno = e;
    }
  }
  free(hidden);
  return osc_error_set(err, OSC_EIO, "%s: cannot put the new file in place: %s", f->name,
                       strerror(errno));
}

osc_status osc_file_commit(osc_file_out *f, osc_error *err) {
  sigset_t saved;
  osc_status s;
  osc_cleanup_hold(&saved);
  s = place(f, err);
  osc_file_abandon(f);
  osc_cleanup_release(&saved);
  return s;
}

/* ---- committing several files ------------------------------------------------------- */

static int link_to(const char *name, const void *path) { return link((const char *)path, name); }

/* A copy of `path`'s content under a fresh hidden name (no hard links here). */
static osc_status copy_aside(const char *path, char **kept, osc_error *err) {
  char *data;
  size_t len;
  int fd;
  osc_status s = osc_file_read(path, SIZE_MAX - 1, &data, &len, err);
  if (s) return s;
  if ((fd = fresh_name(path, "old", kept, create_excl, NULL)) >= 0) {
    int bad = write_all(fd, data, len) != 0;
    if (close(fd) != 0) bad = 1;
    if (bad) {
      unlink(*kept);
      free(*kept);
      *kept = NULL;
      fd = -1;
    }
  }
  if (fd < 0)
    s = osc_error_set(err, OSC_EIO, "%s: cannot keep the old file aside: %s", path,
                      strerror(errno));
  free(data);
  return s;
}

/* Keep the file at `path` aside under *kept (NULL: nothing to keep). */
static osc_status keep_old(const char *path, char **kept, osc_error *err) {
  struct stat st;
  *kept = NULL;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? OSC_OK
                           : osc_error_set(err, OSC_EIO, "%s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) return OSC_OK;
  if (fresh_name(path, "old", kept, link_to, path) == 0) return OSC_OK;
  if (!S_ISREG(st.st_mode))
    return osc_error_set(err, OSC_EIO, "%s: cannot keep the old link aside: %s", path,
                         strerror(errno));
  return copy_aside(path, kept, err);
}

/* Put back what was at path before (or remove path if nothing was). */
static int put_back(const char *path, const char *kept) {
  return kept ? rename(kept, path) : unlink(path);
}

/* The message says which restores failed and where the old content is. */
static void restore(int placed, osc_file_out *files, char **kept, osc_error *err) {
  for (int i = 0; i < placed; i++)
    if (put_back(files[i].path, kept[i]) != 0 && err) {
      size_t m = strlen(err->msg);
      snprintf(err->msg + m, sizeof err->msg - m, " (except %s: restoring it failed: %s%s%s)",
               files[i].name, strerror(errno), kept[i] ? "; its old content is in " : "",
               kept[i] ? kept[i] : "");
      free(kept[i]);
      kept[i] = NULL;   /* that copy stays on disk */
    }
}

osc_status osc_file_commit_all(int n, osc_file_out *files, osc_error *err) {
  char **kept = calloc(n > 0 ? (size_t)n : 1, sizeof *kept);
  osc_status s = OSC_OK;
  int placed = 0;
  sigset_t saved;
  osc_cleanup_hold(&saved);
  if (!kept) s = no_memory(err);
  for (int i = 0; i < n && !s; i++) s = keep_old(files[i].path, &kept[i], err);
  for (; placed < n && !s; placed++) {
    if ((s = place(&files[placed], err))) {
      size_t m = strlen(err->msg);
      snprintf(err->msg + m, sizeof err->msg - m, "; nothing was written");
      break;
    }
    if (placed == 0) osc_test_pause("commit");
  }
  if (s) restore(placed, files, kept, err);
  for (int i = 0; kept && i < n; i++) {
    if (kept[i]) unlink(kept[i]);   /* put back ones are gone already */
    free(kept[i]);
  }
  free(kept);
  for (int i = 0; i < n; i++) osc_file_abandon(&files[i]);
  osc_cleanup_release(&saved);
  return s;
}

osc_status osc_file_write_atomic(const char *path, const void *data, size_t len,
                                 osc_error *err) {
  osc_file_out f;
  osc_status s = osc_file_stage(path, data, len, &f, err);
  return s ? s : osc_file_commit(&f, err);
}

/* Opened without O_CREAT or O_TRUNC, and checked again once open. */
static osc_status write_in_place(const char *path, const void *data, size_t len,
                                 osc_error *err) {
  struct stat st;
  int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC), bad;
  if (fd < 0) return osc_error_set(err, OSC_EIO, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(fd, &st) != 0 || (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))) {
    close(fd);
    return osc_error_set(err, OSC_EIO, "%s: changed while being opened; nothing written", path);
  }
  bad = write_all(fd, data, len) != 0;
  if (close(fd) != 0) bad = 1;
  return bad ? osc_error_set(err, OSC_EIO, "%s: write failed: %s", path, strerror(errno))
             : OSC_OK;
}

osc_status osc_file_write_output(const char *path, const void *data, size_t len,
                                 osc_error *err) {
  osc_out_kind kind;
  char *real;
  osc_status s = osc_file_target(path, 1, &kind, &real, err);
  free(real);
  if (s) return s;
  return kind == OSC_OUT_STREAM ? write_in_place(path, data, len, err)
                                : osc_file_write_atomic(path, data, len, err);
}

/*
** oscfile.c -- whole-file reads and atomic writes.
*/
#include "oscfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oscerr.h"

osc_status osc_file_read(const char *path, size_t max, char **data, size_t *len,
                         osc_error *err) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  *data = NULL;
  *len = 0;
  if (!f) return osc_error_set(err, OSC_EIO, "%s: cannot open: %s", path, strerror(errno));
  for (;;) {
    size_t got;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 1 << 16;
      char *nb;
      if (cap > max) break;
      if (!(nb = realloc(buf, ncap + 1))) {
        free(buf);
        fclose(f);
        return osc_error_set(err, OSC_ENOMEM, "%s: out of memory reading it", path);
      }
      buf = nb;
      cap = ncap;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f) || n > max) {
    int e = errno;
    free(buf);
    fclose(f);
    if (n > max) return osc_error_set(err, OSC_EIO, "%s: larger than %zu bytes", path, max);
    return osc_error_set(err, OSC_EIO, "%s: read error: %s", path, strerror(e));
  }
  fclose(f);
  if (!buf && !(buf = malloc(1)))
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory reading it", path);
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

/* A fresh name "<path>.<tag>-<pid>-<n>" made by `make` (open with O_EXCL,
** or link): retried while the name is taken. Returns make's result. */
static int fresh_name(const char *path, const char *tag, char **name,
                      int (*make)(const char *name, const void *arg), const void *arg) {
  static unsigned counter;
  size_t size = strlen(path) + 64;
  int r = -1;
  if (!(*name = malloc(size))) {
    errno = ENOMEM;
    return -1;
  }
  for (int attempt = 0; attempt < 100; attempt++) {
    snprintf(*name, size, "%s.%s-%ld-%u", path, tag, (long)getpid(), counter++);
    if ((r = make(*name, arg)) >= 0 || errno != EEXIST) break;
  }
  return r;
}

/* O_EXCL: a name nobody else holds; mode 0666 lets the umask decide */
static int create_excl(const char *name, const void *arg) {
  (void)arg;
  return open(name, O_WRONLY | O_CREAT | O_EXCL, 0666);
}

osc_status osc_file_begin(const char *path, osc_file_out *f, osc_error *err) {
  f->path = path;
  f->tmp = NULL;
  if ((f->fd = fresh_name(path, "tmp", &f->tmp, create_excl, NULL)) < 0) {
    osc_status s = osc_error_set(err, errno == ENOMEM ? OSC_ENOMEM : OSC_EIO,
                                 "%s: cannot create %s: %s", path, f->tmp ? f->tmp : "a temp file",
                                 strerror(errno));
    free(f->tmp);
    f->tmp = NULL;
    return s;
  }
  return OSC_OK;
}

osc_status osc_file_put(osc_file_out *f, const void *data, size_t len, osc_error *err) {
  if (f->fd < 0 || write_all(f->fd, data, len) != 0) {
    osc_status s = osc_error_set(err, OSC_EIO, "%s: write failed: %s", f->path,
                                 f->fd < 0 ? "not open" : strerror(errno));
    osc_file_abandon(f);
    return s;
  }
  return OSC_OK;
}

osc_status osc_file_end(osc_file_out *f, char **tmp, osc_error *err) {
  int fd = f->fd;
  *tmp = NULL;
  f->fd = -1;
  if (fd < 0 || close(fd) != 0) {   /* close reports delayed write errors (NFS, quota) */
    osc_status s = osc_error_set(err, OSC_EIO, "%s: write failed: %s", f->path,
                                 fd < 0 ? "not open" : strerror(errno));
    osc_file_abandon(f);
    return s;
  }
  *tmp = f->tmp;
  f->tmp = NULL;
  return OSC_OK;
}

void osc_file_abandon(osc_file_out *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  if (f->tmp) unlink(f->tmp);
  free(f->tmp);
  f->tmp = NULL;
}

osc_status osc_file_stage(const char *path, const void *data, size_t len, char **tmp,
                          osc_error *err) {
  osc_file_out f;
  osc_status s;
  *tmp = NULL;
  if ((s = osc_file_begin(path, &f, err)) || (s = osc_file_put(&f, data, len, err))) return s;
  return osc_file_end(&f, tmp, err);
}

osc_status osc_file_commit(const char *tmp, const char *path, osc_error *err) {
  if (rename(tmp, path) != 0) {
    osc_status s = osc_error_set(err, OSC_EIO, "%s: cannot rename %s over it: %s", path, tmp,
                                 strerror(errno));
    unlink(tmp);
    return s;
  }
  return OSC_OK;
}

/* ---- committing several files ------------------------------------------------------- */

static int link_to(const char *name, const void *path) { return link((const char *)path, name); }

/* Keep the file at `path` aside under *kept (NULL: nothing to keep). */
static osc_status keep_old(const char *path, char **kept, osc_error *err) {
  struct stat st;
  char *data;
  size_t len;
  osc_status s;
  *kept = NULL;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? OSC_OK
                           : osc_error_set(err, OSC_EIO, "%s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) return OSC_OK;
  if (fresh_name(path, "old", kept, link_to, path) == 0) return OSC_OK;
  free(*kept);
  *kept = NULL;
  if (!S_ISREG(st.st_mode))
    return osc_error_set(err, OSC_EIO, "%s: cannot keep the old link aside: %s", path,
                         strerror(errno));
  /* no hard links here (some file systems): a copy does */
  if ((s = osc_file_read(path, SIZE_MAX - 1, &data, &len, err))) return s;
  s = osc_file_stage(path, data, len, kept, err);
  free(data);
  return s;
}

/* Put back what was at path before (or remove path if nothing was). */
static int put_back(const char *path, const char *kept) {
  return kept ? rename(kept, path) : unlink(path);
}

osc_status osc_file_commit_all(int n, char *const *tmps, char *const *paths, osc_error *err) {
  char **kept = calloc(n > 0 ? (size_t)n : 1, sizeof *kept);
  osc_status s = OSC_OK;
  int renamed = 0;
  if (!kept) return osc_error_set(err, OSC_ENOMEM, "out of memory committing files");
  for (int i = 0; i < n && !s; i++) s = keep_old(paths[i], &kept[i], err);
  for (; renamed < n && !s; renamed++)
    if (rename(tmps[renamed], paths[renamed]) != 0) {
      s = osc_error_set(err, OSC_EIO, "%s: cannot rename %s over it: %s; nothing was written",
                        paths[renamed], tmps[renamed], strerror(errno));
      break;
    }
  for (int i = 0; s && i < renamed; i++)
    if (put_back(paths[i], kept[i]) != 0 && err) {
      size_t m = strlen(err->msg);
      snprintf(err->msg + m, sizeof err->msg - m, " (except %s: restoring it failed: %s%s%s)",
               paths[i], strerror(errno), kept[i] ? "; its old content is in " : "",
               kept[i] ? kept[i] : "");
      free(kept[i]);
      kept[i] = NULL;   /* that copy stays on disk */
    }
  for (int i = 0; i < n; i++) {
    if (kept[i]) unlink(kept[i]);   /* put back ones are gone already */
    free(kept[i]);
  }
  free(kept);
  return s;
}

void osc_file_discard(const char *tmp) {
  if (tmp) unlink(tmp);
}

osc_status osc_file_write_atomic(const char *path, const void *data, size_t len,
                                 osc_error *err) {
  char *tmp;
  osc_status s = osc_file_stage(path, data, len, &tmp, err);
  if (s) return s;
  s = osc_file_commit(tmp, path, err);
  free(tmp);
  return s;
}

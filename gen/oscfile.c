/*
** oscfile.c -- whole-file reads and atomic writes.
*/
#include "oscfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

osc_status osc_file_stage(const char *path, const void *data, size_t len, char **tmp,
                          osc_error *err) {
  static unsigned counter;
  size_t size = strlen(path) + 64;
  char *name = malloc(size);
  int fd = -1;
  *tmp = NULL;
  if (!name) return osc_error_set(err, OSC_ENOMEM, "%s: out of memory", path);
  /* O_EXCL: a name nobody else holds; mode 0666 lets the umask decide */
  for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
    snprintf(name, size, "%s.tmp-%ld-%u", path, (long)getpid(), counter++);
    fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    osc_status s = osc_error_set(err, OSC_EIO, "%s: cannot create %s: %s", path, name,
                                 strerror(errno));
    free(name);
    return s;
  }
  if (write_all(fd, data, len) != 0 || close(fd) != 0) {
    osc_status s = osc_error_set(err, OSC_EIO, "%s: write failed: %s", path, strerror(errno));
    unlink(name);
    free(name);
    return s;
  }
  *tmp = name;
  return OSC_OK;
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

/*
** osc_cli.c -- running the built osconv binary from tests.
*/
#define _DEFAULT_SOURCE   /* mkstemp */
#include "osc_cli.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *osc_test_cli_path(void) {
  const char *cli = getenv("OSCONV_CLI");
  if (cli && *cli) return cli;
  fprintf(stderr, "\n  (OSCONV_CLI not set: skipping the CLI test)\n");
  return NULL;
}

char *osc_test_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0, got;
  if (!f) return NULL;
  do {
    if (n + 4096 + 1 > cap) {
      char *p = realloc(buf, cap = 2 * cap + 4096 + 1);
      if (!p) { free(buf); fclose(f); return NULL; }
      buf = p;
    }
    got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
  } while (got > 0);
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

static int temp_file(char *path) {
  int fd;
  strcpy(path, "/tmp/osc-cli-XXXXXX");
  if ((fd = mkstemp(path)) < 0) return -1;
  close(fd);
  return 0;
}

int osc_test_cli(const char *prefix, const char *args, char **out, char **err) {
  const char *cli = getenv("OSCONV_CLI");
  char o[32], e[32], *cmd;
  size_t size;
  int rc;
  if (out) *out = NULL;
  if (err) *err = NULL;
  if (!cli || temp_file(o)) return -1;
  if (temp_file(e)) { unlink(o); return -1; }
  size = strlen(prefix) + strlen(cli) + strlen(args) + 2 * sizeof o + 32;
  if (!(cmd = malloc(size))) { unlink(o); unlink(e); return -1; }
  snprintf(cmd, size, "%s '%s' %s >'%s' 2>'%s' </dev/null", prefix, cli, args, o, e);
  rc = system(cmd);
  free(cmd);
  if (out) *out = osc_test_slurp(o, NULL);
  if (err) *err = osc_test_slurp(e, NULL);
  unlink(o);
  unlink(e);
  return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

void osc_test_list_dir(const char *dir, char *buf, size_t size) {
  static char names[128][256];
  int n = 0;
  size_t len = 0;
  DIR *d = opendir(dir);
  struct dirent *de;
  buf[0] = '\0';
  if (!d) {
    snprintf(buf, size, "(no dir)");
    return;
  }
  while ((de = readdir(d)) && n < 128)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      snprintf(names[n++], sizeof names[0], "%s", de->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], by_name);
  for (int i = 0; i < n && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "", names[i]);
}

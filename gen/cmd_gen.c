/*
** cmd_gen.c -- `osconv gen CONFIG -o DIR`: for every network of the config,
** DIR/<net>.c (the layers' kernels) and DIR/<net>.h (sizes and prototypes).
**
** In a build (GNU make 4.3+ grouped target, so -j runs it once):
**   kernels/net.c kernels/net.h &: net.lua $(OSCONV) ; $(OSCONV) gen net.lua -o kernels
**
** All or nothing: every layer is planned and every file generated in memory
** first; then all files are written to temp files beside their targets and
** renamed into place. On any error nothing is written and the exit status
** is 1. Output is deterministic, so regenerating an unchanged config
** rewrites the same bytes.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "osccli.h"
#include "osconv.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscfile.h"

typedef struct gen_file {
  char *path, *tmp;
  osc_buf text;
} gen_file;

typedef struct gen_job {
  int n;              /* files: 2 per network */
  gen_file *files;
} gen_job;

static void job_free(gen_job *j) {
  for (int i = 0; i < j->n; i++) {
    osc_file_discard(j->files[i].tmp);
    free(j->files[i].tmp);
    free(j->files[i].path);
    osc_buf_free(&j->files[i].text);
  }
  free(j->files);
}

static char *join_path(const char *dir, const char *name, const char *ext) {
  size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s%s", dir, name, ext);
  return p;
}

/* Plan a network's layers and emit its two files. */
static osc_status gen_network(const osc_network *net, const char *dir, gen_file *c, gen_file *h,
                              osc_error *err) {
  osc_plan *plans = calloc(net->n_layers > 0 ? (size_t)net->n_layers : 1, sizeof *plans);
  osc_status s = OSC_OK;
  if (!plans) return osc_error_set(err, OSC_ENOMEM, "out of memory planning '%s'", net->name);
  for (int i = 0; i < net->n_layers && !s; i++) s = osc_plan_layer(&net->layers[i], &plans[i], err);
  if (!s) s = osc_emit_network(net, plans, &c->text, &h->text, err);
  free(plans);
  if (s) return s;
  c->path = join_path(dir, net->name, ".c");
  h->path = join_path(dir, net->name, ".h");
  if (!c->path || !h->path) return osc_error_set(err, OSC_ENOMEM, "out of memory");
  return OSC_OK;
}

static osc_status ensure_dir(const char *dir, osc_error *err) {
  struct stat st;
  if (stat(dir, &st) == 0)
    return S_ISDIR(st.st_mode) ? OSC_OK
                               : osc_error_set(err, OSC_EIO, "%s: not a directory", dir);
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return osc_error_set(err, OSC_EIO, "%s: cannot create the directory: %s", dir,
                         strerror(errno));
  return OSC_OK;
}

/* Stage every file, then rename them all; a failure discards the staged. */
static osc_status write_all(gen_job *j, const char *dir, osc_error *err) {
  osc_status s = ensure_dir(dir, err);
  for (int i = 0; i < j->n && !s; i++)
    s = osc_file_stage(j->files[i].path, j->files[i].text.data, j->files[i].text.len,
                       &j->files[i].tmp, err);
  for (int i = 0; i < j->n && !s; i++) {
    s = osc_file_commit(j->files[i].tmp, j->files[i].path, err);
    free(j->files[i].tmp);
    j->files[i].tmp = NULL;
  }
  return s;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The public functions of all networks (<net>_<layer> and its _n) must be
** distinct, or two generated files cannot link into one program. Within a
** network osc_emit_network checks more; this looks across networks. */
static osc_status check_symbols(const osc_config *cfg, osc_error *err) {
  size_t n = 0, total = 0;
  char **sym;
  osc_status s = OSC_OK;
  for (int i = 0; i < cfg->n_networks; i++) total += 2 * (size_t)cfg->networks[i].n_layers;
  if (!(sym = calloc(total ? total : 1, sizeof *sym)))
    return osc_error_set(err, OSC_ENOMEM, "out of memory");
  for (int i = 0; i < cfg->n_networks && !s; i++)
    for (int k = 0; k < cfg->networks[i].n_layers && !s; k++) {
      const char *net = cfg->networks[i].name, *layer = cfg->networks[i].layers[k].name;
      size_t len = strlen(net) + strlen(layer) + 4;
      if (!(sym[n] = malloc(len)) || !(sym[n + 1] = malloc(len))) {
        s = osc_error_set(err, OSC_ENOMEM, "out of memory");
        n += 2;
        break;
      }
      snprintf(sym[n++], len, "%s_%s", net, layer);
      snprintf(sym[n++], len, "%s_%s_n", net, layer);
    }
  if (!s) qsort(sym, n, sizeof *sym, cmp_str);
  for (size_t i = 0; !s && i + 1 < n; i++)
    if (!strcmp(sym[i], sym[i + 1]))
      s = osc_error_set(err, OSC_ECONFIG, "%s: two layers would both define the function %s "
                        "(network and layer names joined by '_'); rename one", cfg->file, sym[i]);
  for (size_t i = 0; i < n; i++) free(sym[i]);
  free(sym);
  return s;
}

static int gen_config(const osc_config *cfg, const char *dir) {
  gen_job j;
  osc_error err;
  osc_status s = OSC_OK;
  j.n = 2 * cfg->n_networks;
  if (!(j.files = calloc(j.n > 0 ? (size_t)j.n : 1, sizeof *j.files)))
    return osc_cli_fail("out of memory");
  s = check_symbols(cfg, &err);
  for (int i = 0; i < cfg->n_networks && !s; i++) {
    const osc_network *net = &cfg->networks[i];
    for (int k = 0; k < i && !s; k++)
      if (!strcmp(cfg->networks[k].name, net->name))
        s = osc_error_set(&err, OSC_ECONFIG, "%s:%d: a second network named '%s': both would "
                          "write %s/%s.c", cfg->file, net->line, net->name, dir, net->name);
    if (!s) s = gen_network(net, dir, &j.files[2 * i], &j.files[2 * i + 1], &err);
  }
  if (!s) s = write_all(&j, dir, &err);
  if (!s)
    for (int i = 0; i < cfg->n_networks; i++)
      printf("osconv: wrote %s and %s (%d layer%s)\n", j.files[2 * i].path,
             j.files[2 * i + 1].path, cfg->networks[i].n_layers,
             cfg->networks[i].n_layers == 1 ? "" : "s");
  job_free(&j);
  return s ? osc_cli_fail("%s", err.msg) : 0;
}

int osc_cmd_gen(int argc, char **argv) {
  const char *config = NULL, *dir = NULL;
  osc_config *cfg = NULL;
  osc_error err;
  int rc;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc) dir = argv[++i];
    else if (argv[i][0] != '-' && !config) config = argv[i];
    else {
      fprintf(stderr, "osconv gen: unexpected argument '%s'\n", argv[i]);
      return osc_cli_usage("gen");
    }
  }
  if (!config || !dir) return osc_cli_usage("gen");
  if (osc_config_load(config, NULL, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  rc = gen_config(cfg, dir);
  osc_config_free(cfg);
  return rc;
}

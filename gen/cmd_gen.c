/*
** cmd_gen.c -- `osconv gen CONFIG -o DIR [--isa ISA] [--unsandboxed]`: for
** every network of the config, DIR/<net>.c (the layers' kernels) and
** DIR/<net>.h (sizes and prototypes). --isa names the target's ISA (auto,
** the default, is safe for any target: every SIMD variant plus the portable
** C, chosen by cpuid at the first call; avx512 / avx2: that ISA's code
** only, for x86-64 CPUs that have it; c: no machine code).
**
** In a build (GNU make 4.3+ grouped target, so -j runs it once):
**   kernels/net.c kernels/net.h &: net.lua $(OSCONV) ; $(OSCONV) gen net.lua -o kernels
**
** Checks first what `osconv check` checks (osc_emit_check_config, then per
** network osc_cli_plan_network), so the two refuse the same configs.
** Memory: a network's .c is streamed to its temp file layer by layer
** (osc_emit_network_to), so gen holds one layer's code, the network's
** plans and its .h at a time, whatever the size of the output.
**
** All or nothing, as far as POSIX allows (osc_file_commit_all says
** exactly how far): every file is written to a temp file beside its target
** first; only when all are written are they renamed into place, and a
** failed rename puts the files already replaced back. On any error the
** exit status is 1, no temp file is left, and a DIR that gen created is
** removed again. Output is deterministic, so regenerating an unchanged
** config rewrites the same bytes.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osccli.h"
#include "osconv.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscfile.h"
#include "oscisa.h"

typedef struct gen_job {
  int n;            /* files: 2 per network, <net>.c then <net>.h */
  char **paths;     /* destinations */
  char **tmps;      /* staged temp files, NULL until written */
} gen_job;

static void job_free(gen_job *j) {
  for (int i = 0; i < j->n; i++) {
    if (j->paths) free(j->paths[i]);
    if (j->tmps) {
      osc_file_discard(j->tmps[i]);   /* gone already once committed */
      free(j->tmps[i]);
    }
  }
  free(j->paths);
  free(j->tmps);
}

static char *join_path(const char *dir, const char *name, const char *ext) {
  size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s%s", dir, name, ext);
  return p;
}

static osc_status job_init(gen_job *j, const osc_config *cfg, const char *dir, osc_error *err) {
  size_t k;
  j->n = 2 * cfg->n_networks;
  k = j->n > 0 ? (size_t)j->n : 1;
  j->paths = calloc(k, sizeof *j->paths);
  j->tmps = calloc(k, sizeof *j->tmps);
  if (!j->paths || !j->tmps) return osc_error_set(err, OSC_ENOMEM, "out of memory");
  for (int i = 0; i < cfg->n_networks; i++)
    if (!(j->paths[2 * i] = join_path(dir, cfg->networks[i].name, ".c")) ||
        !(j->paths[2 * i + 1] = join_path(dir, cfg->networks[i].name, ".h")))
      return osc_error_set(err, OSC_ENOMEM, "out of memory");
  return OSC_OK;
}

static osc_status file_sink(void *ctx, const char *data, size_t len, osc_error *err) {
  return osc_file_put(ctx, data, len, err);
}

/* Plan one network and stage its two files. */
static osc_status gen_network(const osc_network *net, int isa, const char *c_path,
                              const char *h_path, char **c_tmp, char **h_tmp, osc_error *err) {
  osc_plan *plans;
  osc_file_out c;
  osc_buf h;
  osc_status s;
  if ((s = osc_cli_plan_network(net, &plans, err))) return s;
  osc_buf_init(&h);
  if (!(s = osc_file_begin(c_path, &c, err))) {
    if (!(s = osc_emit_network_isa_to(net, plans, isa, file_sink, &c, &h, err)))
      s = osc_file_end(&c, c_tmp, err);
    else
      osc_file_abandon(&c);
  }
  free(plans);
  if (!s && osc_buf_failed(&h)) s = osc_error_set(err, OSC_ENOMEM, "out of memory");
  if (!s) s = osc_file_stage(h_path, h.data, h.len, h_tmp, err);
  osc_buf_free(&h);
  return s;
}

/* *created: 1 if this made the directory (so a failure removes it). */
static osc_status ensure_dir(const char *dir, int *created, osc_error *err) {
  struct stat st;
  *created = 0;
  if (stat(dir, &st) == 0)
    return S_ISDIR(st.st_mode) ? OSC_OK
                               : osc_error_set(err, OSC_EIO, "%s: not a directory", dir);
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return osc_error_set(err, OSC_EIO, "%s: cannot create the directory: %s", dir,
                         strerror(errno));
  *created = 1;
  return OSC_OK;
}

static int gen_config(const osc_config *cfg, const char *dir, int isa) {
  gen_job j = {0, NULL, NULL};
  osc_error err;
  int created = 0;
  osc_status s = osc_emit_check_config(cfg, &err);
  if (!s) s = job_init(&j, cfg, dir, &err);
  if (!s) s = ensure_dir(dir, &created, &err);
  for (int i = 0; i < cfg->n_networks && !s; i++)
    s = gen_network(&cfg->networks[i], isa, j.paths[2 * i], j.paths[2 * i + 1], &j.tmps[2 * i],
                    &j.tmps[2 * i + 1], &err);
  if (!s) s = osc_file_commit_all(j.n, j.tmps, j.paths, &err);
  for (int i = 0; !s && i < j.n; i++) {   /* committed: nothing to discard */
    free(j.tmps[i]);
    j.tmps[i] = NULL;
  }
  if (!s)
    for (int i = 0; i < cfg->n_networks; i++)
      printf("osconv: wrote %s and %s (%d layer%s)\n", j.paths[2 * i], j.paths[2 * i + 1],
             cfg->networks[i].n_layers, cfg->networks[i].n_layers == 1 ? "" : "s");
  job_free(&j);
  if (s && created) rmdir(dir);
  return s ? osc_cli_fail("%s", err.msg) : 0;
}

int osc_cmd_gen(int argc, char **argv) {
  osc_config_options opt = {0};
  const char *config = NULL, *dir = NULL;
  osc_config *cfg = NULL;
  osc_error err;
  osc_isa isa = OSC_ISA_AUTO;
  int rc;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc) dir = argv[++i];
    else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
      if (osc_isa_parse(argv[++i], &isa)) {
        fprintf(stderr, "osconv gen: --isa '%s': expected auto, avx512, avx2 or c\n", argv[i]);
        return osc_cli_usage("gen");
      }
    }
    else if (!strcmp(argv[i], "--unsandboxed")) opt.unsandboxed = 1;
    else if (argv[i][0] != '-' && !config) config = argv[i];
    else {
      fprintf(stderr, "osconv gen: unexpected argument '%s'\n", argv[i]);
      return osc_cli_usage("gen");
    }
  }
  if (!config || !dir) return osc_cli_usage("gen");
  if (osc_config_load(config, &opt, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  rc = gen_config(cfg, dir, (int)isa);
  osc_config_free(cfg);
  return rc;
}

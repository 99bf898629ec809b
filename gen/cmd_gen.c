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
** Output budget: every byte gen writes counts against one cap, 64 MiB or
** OSCONV_GEN_MAX_BYTES (osc_emit_network_budget), so a config of 2000 big
** layers stops at the layer that crosses it, with nothing written.
** Memory: a network's .c is streamed to its temp file layer by layer
** (osc_emit_network_to), so gen holds one layer's code, the network's
** plans and its .h at a time, whatever the size of the output.
**
** All or nothing, as far as POSIX allows (osc_file_commit_all says
** exactly how far): every file is written to an unnamed temp file beside
** its target first (oscfile.h; a named hidden one where the file system
** has no O_TMPFILE); only when all are written are they put in place, with
** SIGINT/SIGTERM held, and a failure puts the files already replaced back.
** An existing output that is not a regular file (or a symlink to one) is
** refused, never replaced. On any error the exit status is 1, no temp file
** is left, and a DIR that gen created is removed again; so is it on
** SIGINT/SIGTERM/SIGHUP/SIGQUIT (osccleanup.h), and SIGKILL while the
** files are written leaves no file (only the empty DIR, if gen made it).
** Output is deterministic, so regenerating an unchanged config rewrites
** the same bytes.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osccleanup.h"
#include "osccli.h"
#include "osconv.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscfile.h"
#include "oscisa.h"

typedef struct gen_job {
  int n;                /* files: 2 per network, <net>.c then <net>.h */
  char **paths;         /* destinations */
  osc_file_out *files;  /* staged, fd -1 until begun */
} gen_job;

static void job_free(gen_job *j) {
  for (int i = 0; i < j->n; i++) {
    if (j->paths) free(j->paths[i]);
    if (j->files) osc_file_abandon(&j->files[i]);   /* nothing left once committed */
  }
  free(j->paths);
  free(j->files);
}

/* "out/" + "demo" -> "out/demo.c", not "out//demo.c" */
static char *join_path(const char *dir, const char *name, const char *ext) {
  size_t d = strlen(dir), n;
  char *p;
  while (d > 1 && dir[d - 1] == '/') d--;
  n = d + strlen(name) + strlen(ext) + 2;
  if ((p = malloc(n)))
    snprintf(p, n, "%.*s%s%s%s", (int)d, dir, d && dir[d - 1] == '/' ? "" : "/", name, ext);
  return p;
}

/* -o FILE.c: the one network's files are FILE.c and FILE.h, whatever its
** name, so a build rule can name them without reading the config. */
static int names_a_file(const char *out) {
  size_t n = strlen(out);
  return n > 2 && strcmp(out + n - 2, ".c") == 0;
}

/* The directory the outputs go into: -o DIR, or FILE.c's directory. */
static char *out_dir(const char *out) {
  const char *slash = strrchr(out, '/');
  char *d;
  if (!names_a_file(out)) return strdup(out);
  if (!slash) return strdup(".");
  if (slash == out) return strdup("/");
  if ((d = malloc((size_t)(slash - out) + 1))) {
    memcpy(d, out, (size_t)(slash - out));
    d[slash - out] = '\0';
  }
  return d;
}

static osc_status job_init(gen_job *j, const osc_config *cfg, const char *out, osc_error *err) {
  size_t k;
  j->n = 2 * cfg->n_networks;
  k = j->n > 0 ? (size_t)j->n : 1;
  j->paths = calloc(k, sizeof *j->paths);
  j->files = calloc(k, sizeof *j->files);
  if (!j->paths || !j->files) return osc_error_set(err, OSC_ENOMEM, "out of memory");
  for (int i = 0; i < j->n; i++) j->files[i] = (osc_file_out){-1, 0, NULL, NULL, NULL};
  if (names_a_file(out)) {
    size_t n = strlen(out);
    if (cfg->n_networks != 1)
      return osc_error_set(err, OSC_EINVAL,
                           "%s: -o %s names one network's files, but the config declares %d "
                           "networks: give -o a directory",
                           cfg->file, out, cfg->n_networks);
    if (!(j->paths[0] = strdup(out)) || !(j->paths[1] = strdup(out)))
      return osc_error_set(err, OSC_ENOMEM, "out of memory");
    j->paths[1][n - 1] = 'h';
    return OSC_OK;
  }
  for (int i = 0; i < cfg->n_networks; i++)
    if (!(j->paths[2 * i] = join_path(out, cfg->networks[i].name, ".c")) ||
        !(j->paths[2 * i + 1] = join_path(out, cfg->networks[i].name, ".h")))
      return osc_error_set(err, OSC_ENOMEM, "out of memory");
  return OSC_OK;
}

/* --print-outputs: the files gen would write, one per line; nothing is
** planned or written, so a build system can ask while it reads its rules. */
static int print_outputs(const osc_config *cfg, const char *out) {
  gen_job j = {0, NULL, NULL};
  osc_error err;
  osc_status s = job_init(&j, cfg, out, &err);
  for (int i = 0; !s && i < j.n; i++) puts(j.paths[i]);
  job_free(&j);
  if (!s && (fflush(stdout) || ferror(stdout)))
    s = osc_error_set(&err, OSC_EIO, "could not write the output list: %s", strerror(errno));
  return s ? osc_cli_fail("%s", err.msg) : 0;
}

static osc_status file_sink(void *ctx, const char *data, size_t len, osc_error *err) {
  return osc_file_put(ctx, data, len, err);
}

/* Plan one network and stage its two files. */
static osc_status gen_network(const osc_network *net, int isa, const char *c_path,
                              const char *h_path, osc_file_out *c, osc_file_out *h_file,
                              osc_emit_budget *budget, osc_error *err) {
  osc_plan *plans;
  osc_buf h;
  osc_status s;
  if ((s = osc_cli_plan_network(net, &plans, err))) return s;
  osc_buf_init(&h);
  if (!(s = osc_file_begin(c_path, c, err))) {
    if (!(s = osc_emit_network_budget(net, plans, isa, file_sink, c, &h, budget, err)))
      s = osc_file_end(c, err);
    else
      osc_file_abandon(c);
  }
  free(plans);
  if (!s && osc_buf_failed(&h)) s = osc_error_set(err, OSC_ENOMEM, "out of memory");
  if (!s) s = osc_file_stage(h_path, h.data, h.len, h_file, err);
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
  osc_cleanup_add(dir, 1);   /* an interrupted gen removes it again */
  return OSC_OK;
}

static int gen_config(const osc_config *cfg, const char *out, int isa) {
  gen_job j = {0, NULL, NULL};
  osc_emit_budget budget = {osc_emit_output_cap(), 0};   /* all networks together */
  osc_error err;
  int created = 0;
  char *dir = out_dir(out);
  osc_status s = dir ? osc_emit_check_config(cfg, &err)
                     : osc_error_set(&err, OSC_ENOMEM, "out of memory");
  if (!s) s = job_init(&j, cfg, out, &err);
  if (!s) s = ensure_dir(dir, &created, &err);
  for (int i = 0; i < cfg->n_networks && !s; i++)
    s = gen_network(&cfg->networks[i], isa, j.paths[2 * i], j.paths[2 * i + 1],
                    &j.files[2 * i], &j.files[2 * i + 1], &budget, &err);
  if (!s) s = osc_file_commit_all(j.n, j.files, &err);
  if (!s)
    for (int i = 0; i < cfg->n_networks; i++)
      printf("osconv: wrote %s and %s (%d layer%s)\n", j.paths[2 * i], j.paths[2 * i + 1],
             cfg->networks[i].n_layers, cfg->networks[i].n_layers == 1 ? "" : "s");
  job_free(&j);
  if (s && created) rmdir(dir);
  if (created) osc_cleanup_forget(dir);
  free(dir);
  return s ? osc_cli_fail("%s", err.msg) : 0;
}

int osc_cmd_gen(int argc, char **argv) {
  osc_config_options opt = {0};
  const char *config = NULL, *dir = NULL, *isa_name = NULL, *tuning = NULL, *rigor = NULL,
             *budget = NULL;
  osc_config *cfg = NULL;
  osc_error err;
  osc_isa isa = OSC_ISA_AUTO;
  int rc, list = 0;
  const osc_cli_opt opts[] = {{"output", 'o', NULL, &dir},
                              {"isa", 0, NULL, &isa_name},
                              {"print-outputs", 0, &list, NULL},
                              {"tuning", 0, NULL, &tuning},
                              {"rigor", 0, NULL, &rigor},
                              {"budget", 0, NULL, &budget},
                              {"unsandboxed", 0, &opt.unsandboxed, NULL},
                              {NULL, 0, NULL, NULL}};
  if ((rc = osc_cli_parse(argc, argv, opts, &config))) return rc;
  if (isa_name && osc_isa_parse(isa_name, &isa)) {
    fprintf(stderr, "osconv gen: --isa '%s': expected auto, avx512, avx2 or c\n", isa_name);
    return osc_cli_usage("gen");
  }
  if (!dir || !*dir) {
    fprintf(stderr, "osconv gen: -o DIR (or -o FILE.c) is required\n");
    return osc_cli_usage("gen");
  }
  osc_cleanup_install();
  if ((rc = osc_cli_rigor("gen", rigor, budget))) return rc;
  if (osc_cli_tuning_open(tuning, &err)) return osc_cli_fail("%s", err.msg);
  if (osc_config_load(config, &opt, &cfg, &err)) rc = osc_cli_fail("%s", err.msg);
  else rc = list ? print_outputs(cfg, dir) : gen_config(cfg, dir, (int)isa);
  osc_config_free(cfg);
  osc_cli_tuning_close();
  return rc;
}

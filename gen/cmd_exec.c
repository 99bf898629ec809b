/*
** cmd_exec.c -- `osconv exec CONFIG --layer NAME --input X.npy --weights W.npy
** --output Y.npy [--jit] [--residual R.npy]`: run one layer's generated
** kernel on NumPy data.
**
** The input is (N, C_in, H, W) or (C_in, H, W) float32 ('<f4', C order);
** the output has the same rank: (N, C_out, H_out, W_out) or (C_out, H_out,
** W_out), as torch.nn.functional.conv2d does for batched and unbatched
** input. The weights are any array of exactly osc_plan_weights_size floats
** (each stage's [C_out][C_in/g][kh][kw], then the bias). A layer with
** residual = true needs --residual, an array of the output's shape added
** before the activation; any other layer refuses it.
**
** The ahead-of-time path emits the layer, compiles it with the system C
** compiler ($CC, default cc) into a shared object in a private temp dir,
** dlopens it, removes the dir and runs it. The dir is removed also when
** SIGINT, SIGTERM, SIGHUP or SIGQUIT ends exec (osccleanup.h: the
** compiler is stopped first); only SIGKILL while the kernel is written,
** compiled or loaded leaves it. Y.npy is written only when everything
** worked: atomically (oscfile.h), or in place to a character device or
** FIFO (/dev/null, /dev/stdout on a pipe).
*/
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "osccleanup.h"
#include "osccli.h"
#include "osconv.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscnpy.h"
#include "oscplan.h"

extern char **environ;

#define EXEC_PREFIX "osconv_exec"
/* On x86-64 the AOT build flushes denormals as the JIT's osc_kernel_run
** does (OSCONV_FLUSH_DENORMALS), so `exec` and `exec --jit` agree. */
#if defined(__x86_64__)
#define CFLAGS_AOT "-std=c99", "-O2", "-shared", "-fPIC", "-DOSCONV_FLUSH_DENORMALS"
#else
#define CFLAGS_AOT "-std=c99", "-O2", "-shared", "-fPIC"
#endif
#define MAX_CC_WORDS 32

/* What a run reports: the kernel's time and where its code came from. */
typedef struct exec_report {
  double run_ms;
  char how[96];   /* "aot cc -O2 (ISA dispatched at run time)", "jit avx512" */
} exec_report;

/* Runs the plan on n images: the one step the AOT and JIT paths do differently. */
typedef osc_status (*exec_backend)(const osc_plan *p, int n, const float *in,
                                   const float *res, const float *weights, float *out,
                                   exec_report *r, osc_error *err);

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- the ahead-of-time backend ------------------------------------------------- */

typedef struct workdir {
  char dir[512], src[600], so[600], log[600];
} workdir;

/* Registered for removal on a signal: the dir first, so it goes last. */
static void workdir_guard(const workdir *w) {
  osc_cleanup_add(w->dir, 1);
  osc_cleanup_add(w->src, 0);
  osc_cleanup_add(w->so, 0);
  osc_cleanup_add(w->log, 0);
}

static void workdir_remove(const workdir *w) {
  unlink(w->src);
  unlink(w->so);
  unlink(w->log);
  rmdir(w->dir);
  osc_cleanup_forget(w->log);
  osc_cleanup_forget(w->so);
  osc_cleanup_forget(w->src);
  osc_cleanup_forget(w->dir);
}

/* The last lines of the compiler's output, for the error message. */
static void log_tail(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  size_t n = 0;
  long end;
  buf[0] = '\0';
  if (!f) return;
  if (fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) > (long)size - 1)
    fseek(f, end - (long)size + 1, SEEK_SET);
  else
    fseek(f, 0, SEEK_SET);
  n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* $CC (split on blanks, so "ccache gcc" works) + flags + -o so src, with
** stdout and stderr into the log. */
static osc_status compile(const workdir *w, osc_error *err) {
  const char *env = getenv("CC");
  char cc[512], *argv[MAX_CC_WORDS + 12], *save = NULL, tail[1024];
  const char *flags[] = {CFLAGS_AOT};
  int argc = 0, status = 0;
  posix_spawn_file_actions_t fa;
  pid_t pid;
  snprintf(cc, sizeof cc, "%s", env && *env ? env : "cc");
  for (char *t = strtok_r(cc, " \t", &save); t && argc < MAX_CC_WORDS; t = strtok_r(NULL, " \t", &save))
    argv[argc++] = t;
  if (argc == 0) return osc_error_set(err, OSC_EINVAL, "CC is empty");
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) argv[argc++] = (char *)flags[i];
  argv[argc++] = "-o";
  argv[argc++] = (char *)w->so;
  argv[argc++] = (char *)w->src;
  argv[argc] = NULL;
  if (posix_spawn_file_actions_init(&fa))
    return osc_error_set(err, OSC_ENOMEM, "cannot start the C compiler");
  posix_spawn_file_actions_addopen(&fa, 1, w->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  {
    /* held, so a signal cannot come between the spawn and the registration;
    ** the compiler starts with the mask as it was, so it can be stopped */
    sigset_t saved;
    posix_spawnattr_t at;
    osc_cleanup_hold(&saved);
    if (!(status = posix_spawnattr_init(&at))) {
      posix_spawnattr_setsigmask(&at, &saved);
      posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
      status = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
      posix_spawnattr_destroy(&at);
    }
    if (!status) osc_cleanup_child(pid);
    osc_cleanup_release(&saved);
  }
  posix_spawn_file_actions_destroy(&fa);
  if (status)
    return osc_error_set(err, OSC_EJIT, "cannot run the C compiler '%s': %s (set CC)", argv[0],
                         strerror(status));
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      osc_cleanup_child(0);
      return osc_error_set(err, OSC_EJIT, "waiting for the C compiler failed");
    }
  osc_cleanup_child(0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return OSC_OK;
  log_tail(w->log, tail, sizeof tail);
  return osc_error_set(err, OSC_EJIT, "the C compiler '%s' failed on the generated kernel:\n%s",
                       argv[0], tail);
}

static osc_status write_source(const workdir *w, const osc_plan *p, osc_error *err) {
  osc_emit_options o = {EXEC_PREFIX, 1, 0};   /* any ISA, chosen at run time */
  osc_buf b;
  FILE *f;
  osc_status s;
  osc_buf_init(&b);
  if ((s = osc_emit_layer(p, &o, &b, err))) { osc_buf_free(&b); return s; }
  if ((f = fopen(w->src, "w"))) {
    int bad = fwrite(b.data, 1, b.len, f) != b.len;
    if (fclose(f) != 0) bad = 1;   /* closed either way: never twice */
    if (bad) f = NULL;
  }
  if (!f) s = osc_error_set(err, OSC_EIO, "%s: cannot write the kernel source: %s", w->src,
                            strerror(errno));
  osc_buf_free(&b);
  return s;
}

static osc_status run_loaded(void *h, const osc_plan *p, int n, const float *in,
                             const float *res, const float *weights, float *out,
                             exec_report *r, osc_error *err) {
  typedef void (*layer_fn)(int, const float *, float *, const float *, float *);
  typedef void (*res_fn)(int, const float *, const float *, float *, const float *, float *);
  typedef void (*pack_fn)(const float *, float *);
  void *fn = dlsym(h, EXEC_PREFIX "_n"), *pack = dlsym(h, EXEC_PREFIX "_pack");
  float *scratch = malloc((osc_plan_scratch_size(p) + 1) * sizeof *scratch);
  float *packed = pack ? malloc(osc_plan_weights_size(p) * sizeof *packed) : NULL;
  osc_status s = OSC_OK;
  if (!fn || !scratch || (pack && !packed))
    s = osc_error_set(err, fn ? OSC_ENOMEM : OSC_EINTERNAL,
                      fn ? "out of memory for the scratch" : "the kernel lacks " EXEC_PREFIX "_n");
  else {
    double t0;
    if (pack) ((pack_fn)(uintptr_t)pack)(weights, packed), weights = packed;   /* oc_lanes */
    t0 = now_ms();
    if (p->layer.residual) ((res_fn)(uintptr_t)fn)(n, in, res, out, weights, scratch);
    else ((layer_fn)(uintptr_t)fn)(n, in, out, weights, scratch);
    r->run_ms = now_ms() - t0;
  }
  free(scratch);
  free(packed);
  return s;
}

static osc_status run_aot(const osc_plan *p, int n, const float *in, const float *res,
                          const float *weights, float *out, exec_report *r, osc_error *err) {
  const char *tmp = getenv("TMPDIR");
  workdir w;
  osc_status s;
  sigset_t saved;
  void *h = NULL;
  snprintf(w.dir, sizeof w.dir, "%s/osconv-exec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  osc_cleanup_hold(&saved);   /* no signal between making the dir and registering it */
  if (!mkdtemp(w.dir)) {
    osc_cleanup_release(&saved);
    return osc_error_set(err, OSC_EIO, "cannot create a temp dir %s: %s", w.dir, strerror(errno));
  }
  snprintf(w.src, sizeof w.src, "%s/kernel.c", w.dir);
  snprintf(w.so, sizeof w.so, "%s/kernel.so", w.dir);
  snprintf(w.log, sizeof w.log, "%s/cc.log", w.dir);
  workdir_guard(&w);
  osc_cleanup_release(&saved);
  if (!(s = write_source(&w, p, err)) && !(s = compile(&w, err))) {
    osc_test_pause("compiled");
    if (!(h = dlopen(w.so, RTLD_NOW | RTLD_LOCAL)))
      s = osc_error_set(err, OSC_EJIT, "cannot load the compiled kernel: %s", dlerror());
  }
  workdir_remove(&w);   /* before the kernel runs: a loaded object needs no file */
  if (h) {
    osc_test_pause("loaded");
    s = run_loaded(h, p, n, in, res, weights, out, r, err);
    dlclose(h);
    snprintf(r->how, sizeof r->how, "aot (%s -O2), ISA dispatched at run time",
             getenv("CC") && *getenv("CC") ? getenv("CC") : "cc");
  }
  return s;
}

/* ---- arguments and data ------------------------------------------------------------- */

typedef struct exec_args {
  const char *config, *layer, *input, *residual, *weights, *output;
  int jit;
  osc_config_options opt;
} exec_args;

/* 0, or the usage exit status */
static int parse_args(int argc, char **argv, exec_args *a) {
  int rc;
  memset(a, 0, sizeof *a);
  {
    const osc_cli_opt opts[] = {{"layer", 0, NULL, &a->layer},
                                {"input", 0, NULL, &a->input},
                                {"residual", 0, NULL, &a->residual},
                                {"weights", 0, NULL, &a->weights},
                                {"output", 0, NULL, &a->output},
                                {"jit", 0, &a->jit, NULL},
                                {"unsandboxed", 0, &a->opt.unsandboxed, NULL},
                                {NULL, 0, NULL, NULL}};
    if ((rc = osc_cli_parse(argc, argv, opts, &a->config))) return rc;
  }
  if (!a->layer || !a->input || !a->weights || !a->output) {
    fprintf(stderr, "osconv exec: CONFIG, --layer, --input, --weights and --output are all "
                    "required\n");
    return osc_cli_usage("exec");
  }
  return 0;
}

/* Images in the input, or -1 after printing why its shape is wrong. */
static int input_images(const char *path, const osc_npy *x, const osc_layer *l) {
  char got[256];
  const size_t *chw = x->ndim == 4 ? x->shape + 1 : x->shape;
  if ((x->ndim == 3 || x->ndim == 4) && chw[0] == (size_t)l->in_channels &&
      chw[1] == (size_t)l->in_h && chw[2] == (size_t)l->in_w) {
    if (x->ndim == 3) return 1;
    if (x->shape[0] <= (size_t)INT32_MAX) return (int)x->shape[0];
  }
  osc_npy_shape_str(x->ndim, x->shape, got, sizeof got);
  osc_cli_fail("%s: shape %s; layer '%s' needs (N, %d, %d, %d) or (%d, %d, %d) "
               "(NCHW float32)", path, got, l->name, l->in_channels, l->in_h, l->in_w,
               l->in_channels, l->in_h, l->in_w);
  return -1;
}

/* The weights' size broken down: "stage 1 (3x1/g8) [64][8][3][1] = 1536, ..., bias 64". */
static void weights_breakdown(const osc_plan *p, char *buf, size_t size) {
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < p->n_stages && at < size; i++) {
    const osc_stage *s = &p->stage[i];
    at += (size_t)snprintf(buf + at, size - at, "%sstage %d (%dx%d/g%d) [%d][%d][%d][%d] = %lld",
                           i ? ", " : "", i + 1, s->k_h, s->k_w, s->groups, s->c_out,
                           s->c_in / s->groups, s->k_h, s->k_w, (long long)osc_stage_params(s));
  }
  if (p->layer.bias && at < size)
    snprintf(buf + at, size - at, ", then the bias %d", p->layer.out_channels);
}

static int check_weights(const char *path, const osc_npy *w, const osc_plan *p) {
  char chain[256], parts[768];
  size_t need = osc_plan_weights_size(p);
  if (w->count == need) return 0;
  osc_plan_describe(p, chain, sizeof chain);
  weights_breakdown(p, parts, sizeof parts);
  osc_cli_fail("%s: holds %zu floats; layer '%s' (mode %s: %s) needs exactly %zu: %s", path,
               w->count, p->layer.name, osc_mode_name(p->mode), chain, need, parts);
  return -1;
}

/* The one line a successful exec prints: on stdout, unless the output
** went there (`--output /dev/stdout`), then on stderr. */
static void report_line(const exec_args *a, const osc_plan *p, int rank, const size_t *shape,
                        const exec_report *r) {
  char chain[256], dims[96];
  struct stat out_st, fd1_st;
  FILE *to = stdout;
  if (stat(a->output, &out_st) == 0 && fstat(1, &fd1_st) == 0 &&
      out_st.st_dev == fd1_st.st_dev && out_st.st_ino == fd1_st.st_ino)
    to = stderr;
  osc_plan_describe(p, chain, sizeof chain);
  osc_npy_shape_str(rank, shape, dims, sizeof dims);
  fprintf(to, "osconv: wrote %s %s: layer '%s', %s %s, %s, %.3f ms\n", a->output, dims,
          p->layer.name, osc_mode_name(p->mode), chain, r->how, r->run_ms);
}

/* The residual's shape must be the output's, rank and all; -1 after
** printing why not. A layer without one takes no --residual. */
static int check_residual(const exec_args *a, const osc_plan *p, const osc_npy *r, int rank,
                          const size_t *shape) {
  char got[256], want[256];
  const osc_layer *l = &p->layer;
  if (!l->residual != !a->residual) {
    osc_cli_fail(l->residual ? "layer '%s' adds a residual (residual = true): give it with "
                               "--residual R.npy, of the output's shape"
                             : "layer '%s' takes no residual: --residual is for layers with "
                               "residual = true", l->name);
    return -1;
  }
  if (!l->residual) return 0;
  osc_npy_shape_str(rank, shape, want, sizeof want);
  osc_npy_shape_str(r->ndim, r->shape, got, sizeof got);
  if (r->ndim == rank && !memcmp(r->shape, shape, (size_t)rank * sizeof *shape)) return 0;
  osc_cli_fail("%s: shape %s; layer '%s' adds a residual of its output's shape %s",
               a->residual, got, l->name, want);
  return -1;
}

/* --jit: the same source, compiled in memory by libtcc (osc_kernel_create). */
static osc_status run_jit(const osc_plan *p, int n, const float *in, const float *res,
                          const float *weights, float *out, exec_report *r, osc_error *err) {
  osc_kernel *k = NULL;
  osc_kernel_info info;
  osc_status s = osc_kernel_create(p, NULL, &k, err);
  float *packed = NULL;
  if (!s && osc_kernel_packs(k)) {   /* oc_lanes: the code reads its weights packed */
    if (!(packed = malloc(osc_plan_weights_size(p) * sizeof *packed)))
      s = osc_error_set(err, OSC_ENOMEM, "out of memory for the packed weights");
    else s = osc_kernel_pack(k, weights, packed, err);
  }
  if (!s) {
    double t0 = now_ms();
    if (packed) weights = packed;
    s = p->layer.residual ? osc_kernel_run_residual(k, n, in, res, out, weights, NULL, err)
                          : osc_kernel_run(k, n, in, out, weights, NULL, err);
    r->run_ms = now_ms() - t0;
    osc_kernel_get_info(k, &info);
    snprintf(r->how, sizeof r->how, "jit (libtcc), %s code", info.isa ? info.isa : "c");
  }
  free(packed);
  osc_kernel_free(k);
  return s;
}

/* Plan, run, write: everything after the config is loaded. */
static int exec_layer(const exec_args *a, const osc_layer *l) {
  osc_plan p;
  osc_npy x, w, r;
  osc_error err;
  float *y = NULL;
  int n, rc = 1;
  exec_report rep = {0, ""};
  exec_backend backend = a->jit ? run_jit : run_aot;
  const osc_stage *s;
  size_t shape[4];
  memset(&x, 0, sizeof x);
  memset(&w, 0, sizeof w);
  memset(&r, 0, sizeof r);
  if (osc_plan_layer(l, &p, &err)) return osc_cli_fail("%s", err.msg);
  if (osc_npy_read(a->input, &x, &err) || osc_npy_read(a->weights, &w, &err)) {
    osc_cli_fail("%s", err.msg);
    goto done;
  }
  if ((n = input_images(a->input, &x, l)) < 0 || check_weights(a->weights, &w, &p)) goto done;
  s = &p.stage[p.n_stages - 1];
  shape[0] = (size_t)n;
  shape[1] = (size_t)s->c_out;
  shape[2] = (size_t)s->h_out;
  shape[3] = (size_t)s->w_out;
  if (a->residual && l->residual && osc_npy_read(a->residual, &r, &err)) {
    osc_cli_fail("%s", err.msg);
    goto done;
  }
  if (check_residual(a, &p, &r, x.ndim, x.ndim == 4 ? shape : shape + 1)) goto done;
  if (!(y = malloc((osc_plan_output_size(&p) * (size_t)n + 1) * sizeof *y))) {
    osc_cli_fail("out of memory for the output of %d image(s)", n);
    goto done;
  }
  if (backend(&p, n, x.data, r.data, w.data, y, &rep, &err)) {
    osc_cli_fail("layer '%s': %s", l->name, err.msg);
    goto done;
  }
  {
    int rank = x.ndim;
    if (osc_npy_write(a->output, rank, rank == 4 ? shape : shape + 1, y, &err)) {
      osc_cli_fail("%s", err.msg);
    } else {
      report_line(a, &p, rank, rank == 4 ? shape : shape + 1, &rep);
      rc = 0;
    }
  }
done:
  free(y);
  osc_npy_free(&x);
  osc_npy_free(&w);
  osc_npy_free(&r);
  return rc;
}

int osc_cmd_exec(int argc, char **argv) {
  exec_args a;
  osc_config *cfg = NULL;
  osc_error err;
  const osc_layer *l;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc;
  osc_cleanup_install();
  if (osc_config_load(a.config, &a.opt, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  rc = (l = osc_cli_find_layer(cfg, a.layer)) ? exec_layer(&a, l) : 1;
  osc_config_free(cfg);
  return rc;
}

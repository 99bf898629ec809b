/*
** test_gen.c -- the `osconv gen` and `osconv exec` commands, run as a user
** runs them (the binary named by OSCONV_CLI), checked against the
** reference: generated files compile with their header and compute the
** chain; exec's Y.npy matches; every error exits 1 and writes nothing.
*/
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osc_cli.h"
#include "osc_test.h"
#include "oscbuf.h"
#include "osconv.h"
#include "oscnpy.h"
#include "oscplan.h"
#include "oscref.h"

static const char config_text[] =
    "network { name = 'alpha', batch = 2, bias = true }\n"
    "conv { name = 'stem', in_channels = 3, out_channels = 8, size = {9, 7}, kernel = 3,\n"
    "       padding = 'same', activation = 'relu', mode = 'conventional' }\n"
    "conv { name = 'down', in_channels = 8, out_channels = 12, size = {9, 7}, kernel = 3,\n"
    "       stride = 2, padding = 1, mode = 'depthwise' }\n"
    "conv { name = 'tall', in_channels = 12, out_channels = 6, size = 5, kernel = {5, 3},\n"
    "       padding = 'same', mode = 'spatial' }\n"
    "network { name = 'beta' }\n"
    "conv { name = 'chain', in_channels = 16, out_channels = 16, size = 6, kernel = 3,\n"
    "       padding = 1, stages = { {kernel = {3, 1}, groups = 4}, {kernel = {1, 3}, groups = 4} } }\n"
    "conv { name = 'opt', in_channels = 16, out_channels = 16, size = 6, kernel = 3,\n"
    "       padding = 1, max_stages = 3 }\n";

typedef struct env {
  const char *cli;
  char dir[64], config[128];
} env;

static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  int ok = f && fputs(text, f) >= 0;
  if (f && fclose(f)) ok = 0;
  return ok ? 0 : -1;
}

/* Run `osconv ARGS` (with `prefix` before it, e.g. environment settings);
** stderr goes to *err (caller frees). Returns the exit status. */
static int run(const env *e, const char *prefix, const char *args, char **err) {
  (void)e;
  return osc_test_cli(prefix, args, NULL, err);
}

static int setup(env *e) {
  if (!(e->cli = osc_test_cli_path())) return -1;
  snprintf(e->dir, sizeof e->dir, "/tmp/osconv-gen-XXXXXX");
  if (!mkdtemp(e->dir)) return -1;
  snprintf(e->config, sizeof e->config, "%s/nets.lua", e->dir);
  return write_file(e->config, config_text);
}

static void rm(const char *dir, const char *name) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  unlink(p);
}

static void teardown(env *e) {
  const char *names[] = {"nets.lua", "x.npy", "w.npy", "y.npy", "check.c", "check.o",
                         "alpha.so", "beta.so", "bad.lua"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) rm(e->dir, names[i]);
  CU_ASSERT_EQUAL(rmdir(e->dir), 0);   /* nothing else left behind */
}

static double rel_l2(const float *a, const float *b, size_t n) {
  double d = 0, r = 0;
  for (size_t i = 0; i < n; i++) {
    d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    r += (double)b[i] * b[i];
  }
  return r > 0 ? sqrt(d / r) : sqrt(d);
}

static void fill(float *x, size_t n, uint64_t *st) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((int)(osc_test_rand(st) % 2001) - 1000) / 1000.0f;
}

/* Run every layer of `net` from the loaded object against the reference. */
static int check_network(void *h, const osc_network *net) {
  int good = 0;
  for (int i = 0; i < net->n_layers; i++) {
    typedef void (*fn_t)(const float *, float *, const float *, float *);
    osc_plan p;
    osc_error err;
    char sym[160];
    int n = net->batch > 0 ? net->batch : 1;
    fn_t fn;
    uint64_t st = osc_test_seed() + (uint64_t)i;
    if (osc_plan_layer(&net->layers[i], &p, &err)) continue;
    snprintf(sym, sizeof sym, "%s_%s", net->name, net->layers[i].name);
    fn = (fn_t)(uintptr_t)dlsym(h, sym);
    size_t in_n = osc_plan_input_size(&p) * n, out_n = osc_plan_output_size(&p) * n;
    float *x = malloc(in_n * 4), *w = malloc(osc_plan_weights_size(&p) * 4);
    float *y = malloc(out_n * 4), *r = malloc(out_n * 4), *s = malloc((osc_plan_scratch_size(&p) + 1) * 4);
    if (fn && x && w && y && r && s) {
      fill(x, in_n, &st);
      fill(w, osc_plan_weights_size(&p), &st);
      fn(x, y, w, s);   /* the batch-sized entry point */
      if (oscref_chain(&p, n, x, w, r) == 0 && rel_l2(y, r, out_n) < 1e-5) good++;
      else fprintf(stderr, "\n%s differs from the reference\n", sym);
    }
    free(x); free(w); free(y); free(r); free(s);
  }
  return good;
}

/* gen, then: a TU that includes the header and the .c must compile (the
** prototypes agree) with the header's sizes equal to the plan's; the .c as
** a shared object must compute every layer. Twice gives the same bytes. */
static void test_gen(void) {
  env e;
  osc_config *cfg = NULL;
  osc_error err;
  char *msg, args[512], out[128], out2[128];
  if (setup(&e)) return;
  snprintf(out, sizeof out, "%s/out", e.dir);
  snprintf(out2, sizeof out2, "%s/out2", e.dir);
  snprintf(args, sizeof args, "gen '%s' -o '%s'", e.config, out);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 0);
  CU_ASSERT_STRING_EQUAL(msg ? msg : "?", "");
  free(msg);
  snprintf(args, sizeof args, "gen '%s' -o '%s'", e.config, out2);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 0);
  free(msg);
  CU_ASSERT_EQUAL_FATAL(osc_config_load(e.config, NULL, &cfg, &err), OSC_OK);
  CU_ASSERT_EQUAL(cfg->n_networks, 2);
  for (int k = 0; k < cfg->n_networks; k++) {
    const osc_network *net = &cfg->networks[k];
    char c_path[256], h_path[256], c2[256], h2[256], check[256], cmd[1200], so[256];
    char *a, *b;
    size_t la, lb;
    osc_buf t;
    snprintf(c_path, sizeof c_path, "%s/%s.c", out, net->name);
    snprintf(h_path, sizeof h_path, "%s/%s.h", out, net->name);
    snprintf(c2, sizeof c2, "%s/%s.c", out2, net->name);
    snprintf(h2, sizeof h2, "%s/%s.h", out2, net->name);
    a = osc_test_slurp(c_path, &la);
    b = osc_test_slurp(c2, &lb);
    CU_ASSERT(a && b && la == lb && memcmp(a, b, la) == 0);
    free(a); free(b);
    a = osc_test_slurp(h_path, &la);
    b = osc_test_slurp(h2, &lb);
    CU_ASSERT(a && b && la == lb && memcmp(a, b, la) == 0);
    free(a); free(b);
    /* the header's macros, checked at compile time against the plans */
    osc_buf_init(&t);
    osc_buf_printf(&t, "#include \"%s\"\n#include \"%s\"\n", h_path, c_path);
    for (int i = 0; i < net->n_layers; i++) {
      osc_plan p;
      char m[160];
      CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&net->layers[i], &p, &err), OSC_OK);
      snprintf(m, sizeof m, "%s_%s", net->name, net->layers[i].name);
      for (char *q = m; *q; q++) *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
      osc_buf_printf(&t, "typedef char c%d_%d[(%s_INPUT_SIZE == %zu && %s_OUTPUT_SIZE == %zu && "
                     "%s_WEIGHTS_SIZE == %zu && %s_SCRATCH_SIZE == %zu && %s_BATCH == %d) ? 1 : -1];\n",
                     k, i, m, osc_plan_input_size(&p), m, osc_plan_output_size(&p), m,
                     osc_plan_weights_size(&p), m, osc_plan_scratch_size(&p), m,
                     net->batch > 0 ? net->batch : 1);
    }
    snprintf(check, sizeof check, "%s/check.c", e.dir);
    CU_ASSERT_EQUAL(write_file(check, t.data), 0);
    osc_buf_free(&t);
    snprintf(cmd, sizeof cmd, "cc -std=c99 -Wall -Wextra -pedantic -Werror -Wno-unused-local-typedefs "
             "-c '%s' -o '%s/check.o'", check, e.dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    snprintf(so, sizeof so, "%s/%s.so", e.dir, net->name);
    snprintf(cmd, sizeof cmd, "cc -std=c99 -O1 -shared -fPIC -Wall -Wextra -pedantic -Werror "
             "-o '%s' '%s'", so, c_path);
    CU_ASSERT_EQUAL(system(cmd), 0);
    {
      void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
      CU_ASSERT_PTR_NOT_NULL(h);
      if (h) {
        CU_ASSERT_EQUAL(check_network(h, net), net->n_layers);
        dlclose(h);
      }
    }
    unlink(c_path); unlink(h_path); unlink(c2); unlink(h2);
  }
  osc_config_free(cfg);
  rmdir(out);
  rmdir(out2);
  teardown(&e);
}

/* A failing gen leaves existing files alone and writes nothing new. */
static void test_gen_errors(void) {
  env e;
  char *msg, args[512], bad[128], out[128], old_c[160];
  if (setup(&e)) return;
  snprintf(bad, sizeof bad, "%s/bad.lua", e.dir);
  snprintf(out, sizeof out, "%s/out", e.dir);
  snprintf(old_c, sizeof old_c, "%s/alpha.c", out);
  /* the second network's layer cannot be planned in its mode */
  write_file(bad, "network { name = 'alpha' }\n"
                  "conv { name = 'a', in_channels = 4, out_channels = 4, size = 5, kernel = 3 }\n"
                  "network { name = 'gamma' }\n"
                  "conv { name = 'b', in_channels = 4, out_channels = 4, size = 5, kernel = 1,\n"
                  "       mode = 'depthwise' }\n");
  mkdir(out, 0777);
  write_file(old_c, "old");
  snprintf(args, sizeof args, "gen '%s' -o '%s'", bad, out);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "layer 'b'"));
  free(msg);
  {
    char *c = osc_test_slurp(old_c, NULL);
    CU_ASSERT(c && strcmp(c, "old") == 0);
    free(c);
  }
  {
    char p[200];
    snprintf(p, sizeof p, "%s/gamma.c", out);
    CU_ASSERT_EQUAL(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/alpha.h", out);
    CU_ASSERT_EQUAL(access(p, F_OK), -1);
  }
  unlink(old_c);
  /* two networks whose functions would clash when linked together */
  write_file(bad, "network { name = 'a' }\n"
                  "conv { name = 'b_c', in_channels = 4, out_channels = 4, size = 5, kernel = 3 }\n"
                  "network { name = 'a_b' }\n"
                  "conv { name = 'c', in_channels = 4, out_channels = 4, size = 5, kernel = 3 }\n");
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "both define the function a_b_c"));
  free(msg);
  /* the output is a file, not a directory */
  write_file(old_c, "old");
  snprintf(args, sizeof args, "gen '%s' -o '%s'", e.config, old_c);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "not a directory"));
  free(msg);
  unlink(old_c);
  CU_ASSERT_EQUAL(rmdir(out), 0);   /* no temp file left in it */
  snprintf(args, sizeof args, "gen '%s'", e.config);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 2);
  free(msg);
  teardown(&e);
}

/* exec on (N, C, H, W) and (C, H, W) input, against the reference. */
static void exec_case(const env *e, const char *layer, int batched) {
  osc_config *cfg = NULL;
  osc_error err;
  osc_plan p;
  const osc_layer *l;
  char x_path[128], w_path[128], y_path[128], args[800], *msg;
  osc_npy y;
  uint64_t st = osc_test_seed();
  int n = batched ? 3 : 1;
  CU_ASSERT_EQUAL_FATAL(osc_config_load(e->config, NULL, &cfg, &err), OSC_OK);
  l = osc_config_find_layer(cfg, layer, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(l, &p, &err), OSC_OK);
  size_t in_n = osc_plan_input_size(&p) * n, out_n = osc_plan_output_size(&p) * n;
  size_t w_n = osc_plan_weights_size(&p);
  float *x = malloc(in_n * 4), *w = malloc(w_n * 4), *r = malloc(out_n * 4);
  size_t xs[4] = {(size_t)n, (size_t)l->in_channels, (size_t)l->in_h, (size_t)l->in_w};
  fill(x, in_n, &st);
  fill(w, w_n, &st);
  snprintf(x_path, sizeof x_path, "%s/x.npy", e->dir);
  snprintf(w_path, sizeof w_path, "%s/w.npy", e->dir);
  snprintf(y_path, sizeof y_path, "%s/y.npy", e->dir);
  CU_ASSERT_EQUAL(osc_npy_write(x_path, batched ? 4 : 3, batched ? xs : xs + 1, x, &err), 0);
  CU_ASSERT_EQUAL(osc_npy_write(w_path, 1, &w_n, w, &err), 0);
  snprintf(args, sizeof args, "exec '%s' --layer %s --input '%s' --weights '%s' --output '%s'",
           e->config, layer, x_path, w_path, y_path);
  {
    char prefix[128];
    snprintf(prefix, sizeof prefix, "TMPDIR='%s'", e->dir);   /* its temp dir must vanish */
    CU_ASSERT_EQUAL(run(e, prefix, args, &msg), 0);
  }
  if (msg && *msg) fprintf(stderr, "\n%s", msg);
  free(msg);
  CU_ASSERT_EQUAL_FATAL(osc_npy_read(y_path, &y, &err), OSC_OK);
  {
    const osc_stage *s = &p.stage[p.n_stages - 1];
    size_t want[4] = {(size_t)n, (size_t)s->c_out, (size_t)s->h_out, (size_t)s->w_out};
    CU_ASSERT_EQUAL(y.ndim, batched ? 4 : 3);
    CU_ASSERT(memcmp(y.shape, batched ? want : want + 1, (size_t)y.ndim * sizeof(size_t)) == 0);
    CU_ASSERT_EQUAL_FATAL(y.count, out_n);
  }
  CU_ASSERT_EQUAL(oscref_chain(&p, n, x, w, r), 0);
  CU_ASSERT(rel_l2(y.data, r, out_n) < 1e-5);
  osc_npy_free(&y);
  unlink(y_path);
  free(x); free(w); free(r);
  osc_config_free(cfg);
}

static void test_exec(void) {
  env e;
  if (setup(&e)) return;
  exec_case(&e, "stem", 1);
  exec_case(&e, "alpha.down", 0);
  exec_case(&e, "beta.chain", 1);
  exec_case(&e, "opt", 1);
  teardown(&e);
}

/* Each mistake: exit 1, a message naming the culprit, no Y.npy. */
static void exec_refused(const env *e, const char *prefix, const char *args, const char *why) {
  char *msg, y_path[128];
  snprintf(y_path, sizeof y_path, "%s/y.npy", e->dir);
  CU_ASSERT_EQUAL(run(e, prefix, args, &msg), 1);
  if (!msg || !strstr(msg, why))
    fprintf(stderr, "\nmessage '%s' lacks '%s'\n", msg ? msg : "(none)", why);
  CU_ASSERT(msg && strstr(msg, why));
  CU_ASSERT_EQUAL(access(y_path, F_OK), -1);
  free(msg);
}

static void test_exec_errors(void) {
  env e;
  osc_error err;
  char x[128], w[128], y[128], args[800], prefix[160];
  size_t good[4] = {1, 3, 9, 7}, wrong[4] = {1, 3, 7, 9}, wn = 100;
  float *buf = calloc(1000, sizeof *buf);
  if (setup(&e)) { free(buf); return; }
  snprintf(x, sizeof x, "%s/x.npy", e.dir);
  snprintf(w, sizeof w, "%s/w.npy", e.dir);
  snprintf(y, sizeof y, "%s/y.npy", e.dir);
  osc_npy_write(x, 4, wrong, buf, &err);
  osc_npy_write(w, 1, &wn, buf, &err);
  snprintf(args, sizeof args, "exec '%s' --layer stem --input '%s' --weights '%s' --output '%s'",
           e.config, x, w, y);
  exec_refused(&e, "", args, "x.npy: shape (1, 3, 7, 9); layer 'stem' needs (N, 3, 9, 7)");
  osc_npy_write(x, 4, good, buf, &err);
  exec_refused(&e, "", args, "w.npy: holds 100 floats; layer 'stem'");
  wn = 8 * 3 * 9 + 8;
  osc_npy_write(w, 1, &wn, buf, &err);
  /* a compiler that fails: exit 1, its temp dir removed */
  snprintf(prefix, sizeof prefix, "CC=false TMPDIR='%s'", e.dir);
  exec_refused(&e, prefix, args, "the C compiler 'false' failed");
  snprintf(args, sizeof args, "exec '%s' --layer nope --input '%s' --weights '%s' --output '%s'",
           e.config, x, w, y);
  exec_refused(&e, "", args, "no layer named 'nope'");
  snprintf(args, sizeof args, "exec '%s' --layer stem --input '%s/none.npy' --weights '%s' "
           "--output '%s'", e.config, e.dir, w, y);
  exec_refused(&e, "", args, "none.npy: cannot open");
  snprintf(args, sizeof args, "exec '%s' --layer stem --input '%s' --weights '%s' --output "
           "'%s/no/such/dir/y.npy'", e.config, x, w, e.dir);
  exec_refused(&e, "", args, "no/such/dir/y.npy");
  {
    char *msg;
    snprintf(args, sizeof args, "exec '%s' --layer stem --input '%s'", e.config, x);
    CU_ASSERT_EQUAL(run(&e, "", args, &msg), 2);
    free(msg);
  }
  free(buf);
  teardown(&e);
}

static CU_TestInfo tests[] = {
    {"gen: header, code, determinism", test_gen},
    {"gen: all or nothing", test_gen_errors},
    {"exec: batched and unbatched", test_exec},
    {"exec: refusals", test_exec_errors},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("gen", tests)

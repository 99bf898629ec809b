/*
** test_gen.c -- the `osconv gen` and `osconv exec` commands, run as a user
** runs them (the binary named by OSCONV_CLI), checked against the
** reference: generated files compile with their header and compute the
** chain; exec's Y.npy matches; every error exits 1 and writes nothing.
*/
#include <dlfcn.h>
#include <stdint.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osc_cli.h"
#include "osc_test.h"
#include "oscbuf.h"
#include "oscfile.h"
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
    "conv { name = 'skip', in_channels = 6, out_channels = 6, size = 5, kernel = 3,\n"
    "       padding = 1, residual = true, activation = 'relu' }\n"
    /* the plans of skip and chain again: entry points calling theirs */
    "conv { name = 'skip2', in_channels = 6, out_channels = 6, size = 5, kernel = 3,\n"
    "       padding = 1, residual = true, activation = 'relu' }\n"
    "network { name = 'beta' }\n"
    "conv { name = 'chain', in_channels = 16, out_channels = 16, size = 6, kernel = 3,\n"
    "       padding = 1, stages = { {kernel = {3, 1}, groups = 4}, {kernel = {1, 3}, groups = 4} } }\n"
    "conv { name = 'chain2', in_channels = 16, out_channels = 16, size = 6, kernel = 3,\n"
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
                         "alpha.so", "beta.so", "bad.lua", "one.lua"};
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
    typedef void (*res_fn_t)(const float *, const float *, float *, const float *, float *);
    osc_plan p;
    osc_error err;
    char sym[160];
    int n = net->batch > 0 ? net->batch : 1;
    void *fn;
    uint64_t st = osc_test_seed() + (uint64_t)i;
    if (osc_plan_layer(&net->layers[i], &p, &err)) continue;
    snprintf(sym, sizeof sym, "%s_%s", net->name, net->layers[i].name);
    fn = dlsym(h, sym);
    size_t in_n = osc_plan_input_size(&p) * n, out_n = osc_plan_output_size(&p) * n;
    float *x = malloc(in_n * 4), *w = malloc(osc_plan_weights_size(&p) * 4);
    float *y = malloc(out_n * 4), *r = malloc(out_n * 4), *s = malloc((osc_plan_scratch_size(&p) + 1) * 4);
    float *res = malloc(out_n * 4);
    if (fn && x && w && y && r && s && res) {
      fill(x, in_n, &st);
      fill(w, osc_plan_weights_size(&p), &st);
      fill(res, out_n, &st);
      memcpy(y, res, out_n * 4);   /* a residual layer runs in place */
      if (p.layer.residual) ((res_fn_t)(uintptr_t)fn)(x, y, y, w, s);
      else ((fn_t)(uintptr_t)fn)(x, y, w, s);   /* the batch-sized entry point */
      if (oscref_chain_residual(&p, n, x, p.layer.residual ? res : NULL, w, r) == 0 &&
          rel_l2(y, r, out_n) < 1e-5) good++;
      else fprintf(stderr, "\n%s differs from the reference\n", sym);
    }
    free(x); free(w); free(y); free(r); free(s); free(res);
  }
  return good;
}

/* The line of `text` that starts with `start` contains `needle`. */
static int line_has(const char *text, const char *start, const char *needle) {
  const char *p = text ? strstr(text, start) : NULL, *end;
  size_t n = strlen(needle);
  if (!p || (p != text && p[-1] != '\n')) return 0;
  end = strchr(p, '\n');
  for (; end && p + n <= end; p++)
    if (!memcmp(p, needle, n)) return 1;
  return 0;
}

/* Every layer's plan hash, on its comment line in the .h and in its
** translation unit's comment in the .c. */
static void check_plan_hashes(const osc_network *net, const char *c_path, const char *h_path) {
  char *c = osc_test_slurp(c_path, NULL), *h = osc_test_slurp(h_path, NULL);
  for (int i = 0; i < net->n_layers; i++) {
    osc_plan p;
    osc_error err;
    char start[128], hash[64];
    CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&net->layers[i], &p, &err), OSC_OK);
    snprintf(start, sizeof start, "/* layer '%s': ", net->layers[i].name);
    snprintf(hash, sizeof hash, "plan hash 0x%016llx */", (unsigned long long)osc_plan_hash(&p));
    CU_ASSERT(line_has(h, start, hash));
    snprintf(hash, sizeof hash, " * plan hash: 0x%016llx\n", (unsigned long long)osc_plan_hash(&p));
    CU_ASSERT(c && strstr(c, hash));
  }
  free(c);
  free(h);
}

/* A layer of an earlier layer's plan (skip2, chain2) has no code of its
** own, only entry points calling that layer's: its stages are not in the
** .c, the first one's are (which compute it: check_network). */
static void check_aliases(const osc_network *net, const char *c_path) {
  char *c = osc_test_slurp(c_path, NULL);
  int aliases = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  for (int i = 0; i < net->n_layers; i++) {
    const char *name = net->layers[i].name;
    char stage[160], call[200];
    size_t n = strlen(name);
    snprintf(stage, sizeof stage, "%s_%s_s0(", net->name, name);
    if (n > 1 && name[n - 1] == '2') {
      snprintf(call, sizeof call, "  %s_%.*s_n(n, in, ", net->name, (int)n - 1, name);
      CU_ASSERT_PTR_NULL(strstr(c, stage));
      CU_ASSERT_PTR_NOT_NULL(strstr(c, call));
      aliases++;
    } else {
      CU_ASSERT_PTR_NOT_NULL(strstr(c, stage));
    }
  }
  CU_ASSERT_EQUAL(aliases, 1);
  free(c);
}

/* <net>_layer_table: a row per layer in config order whose name, entry
** points and shapes are the layer's (the struct as the header declares it). */
typedef struct table_row {
  const char *name;
  void (*run)(const float *, float *, const float *, float *);
  void (*run_n)(int, const float *, float *, const float *, float *);
  int in_c, in_h, in_w, out_c, out_h, out_w, stages;
  long input_size, output_size, weights_size, scratch_size;
  int (*tiles)(int);
  void (*run_tiles)(int, int, int, const float *, float *, const float *, float *);
  int residual;
  void (*run_residual)(const float *, const float *, float *, const float *, float *);
  void (*run_residual_n)(int, const float *, const float *, float *, const float *, float *);
  void (*run_residual_tiles)(int, int, int, const float *, const float *, float *, const float *,
                             float *);
  void (*pack)(const float *, float *);   /* NULL: no layer here takes packed weights */
} table_row;

/* The tile ABI, built by gcc: each stage's tiles run one at a time, last
** first, give _n's bits for two images; nothing past the output written.
** A residual layer's tiles take a residual (nonzero, so a tile that left it
** out would differ). */
static void check_tiles(const table_row *t) {
  size_t in_n = 2 * (size_t)t->input_size, out_n = 2 * (size_t)t->output_size;
  float *in = malloc(in_n * sizeof *in), *w = malloc((size_t)t->weights_size * sizeof *w);
  float *want = calloc(out_n, sizeof *want), *got = calloc(out_n + 1, sizeof *got);
  float *scratch = malloc(((size_t)t->scratch_size + 1) * sizeof *scratch);
  float *res = malloc(out_n * sizeof *res);
  for (size_t i = 0; i < in_n; i++) in[i] = (float)((i * 7919) % 201) / 100.0f - 1.0f;
  for (long i = 0; i < t->weights_size; i++) w[i] = (float)((i * 104729) % 199) / 400.0f - 0.25f;
  for (size_t i = 0; i < out_n; i++) res[i] = (float)((i * 613) % 97) / 50.0f - 0.9f;
  got[out_n] = 12345.0f;
  if (t->residual) t->run_residual_n(2, in, res, want, w, scratch);
  else t->run_n(2, in, want, w, scratch);
  for (int img = 0; img < 2; img++)
    for (int s = 0; s < t->stages; s++) {
      int n = t->tiles(s);
      const float *x = in + img * t->input_size;
      float *y = got + img * t->output_size;
      CU_ASSERT(n >= 1);
      for (int tile = n - 1; tile >= 0; tile--)
        if (t->residual)
          t->run_residual_tiles(s, tile, 1, x, res + img * t->output_size, y, w, scratch);
        else t->run_tiles(s, tile, 1, x, y, w, scratch);
    }
  CU_ASSERT_EQUAL(t->tiles(t->stages), 0);   /* no such stage */
  CU_ASSERT(memcmp(got, want, out_n * sizeof *got) == 0);
  CU_ASSERT_EQUAL(got[out_n], 12345.0f);
  free(in), free(w), free(want), free(got), free(scratch), free(res);
}

static void check_layer_table(void *h, const osc_network *net) {
  char sym[160];
  const table_row *t;
  snprintf(sym, sizeof sym, "%s_layer_table", net->name);
  t = (const table_row *)dlsym(h, sym);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  for (int i = 0; i < net->n_layers; i++) {
    const osc_layer *l = &net->layers[i];
    char fn[160];
    snprintf(fn, sizeof fn, "%s_%s", net->name, l->name);
    CU_ASSERT_STRING_EQUAL(t[i].name, l->name);
    CU_ASSERT_EQUAL(t[i].residual, l->residual);
    CU_ASSERT((void *)(uintptr_t)(l->residual ? (void (*)(void))t[i].run_residual
                                              : (void (*)(void))t[i].run) == dlsym(h, fn));
    CU_ASSERT(l->residual ? !t[i].run && !t[i].run_n : !t[i].run_residual && !t[i].run_residual_n);
    CU_ASSERT(t[i].in_c == l->in_channels && t[i].in_h == l->in_h && t[i].in_w == l->in_w);
    CU_ASSERT(t[i].out_c == l->out_channels && t[i].out_h == osc_layer_out_h(l) &&
              t[i].out_w == osc_layer_out_w(l));
    CU_ASSERT_EQUAL(t[i].input_size, (long)l->in_channels * l->in_h * l->in_w);
    snprintf(fn, sizeof fn, "%s_%s_tiles", net->name, l->name);
    CU_ASSERT((void *)(uintptr_t)t[i].tiles == dlsym(h, fn));
    snprintf(fn, sizeof fn, "%s_%s_run_tiles", net->name, l->name);
    CU_ASSERT((void *)(uintptr_t)(l->residual ? (void (*)(void))t[i].run_residual_tiles
                                              : (void (*)(void))t[i].run_tiles) == dlsym(h, fn));
    CU_ASSERT(l->residual ? !t[i].run_tiles : !t[i].run_residual_tiles);
    snprintf(fn, sizeof fn, "%s_%s_pack", net->name, l->name);
    CU_ASSERT((void *)(uintptr_t)t[i].pack == dlsym(h, fn));   /* both NULL without oc_lanes */
    check_tiles(&t[i]);
  }
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
                     "%s_WEIGHTS_SIZE == %zu && %s_SCRATCH_SIZE == %zu && %s_BATCH == %d && "
                     "%s_RESIDUAL == %d) ? 1 : -1];\n",
                     k, i, m, osc_plan_input_size(&p), m, osc_plan_output_size(&p), m,
                     osc_plan_weights_size(&p), m, osc_plan_scratch_size(&p), m,
                     net->batch > 0 ? net->batch : 1, m, net->layers[i].residual);
      /* shapes and weight slices, summed here from each stage's own numbers */
      {
        const osc_layer *l = &net->layers[i];
        size_t at = 0;
        osc_buf_printf(&t, "typedef char s%d_%d[(%s_IN_C == %d && %s_IN_H == %d && %s_IN_W == %d && "
                       "%s_OUT_C == %d && %s_STAGES == %d) ? 1 : -1];\n", k, i, m,
                       l->in_channels, m, l->in_h, m, l->in_w, m, l->out_channels, m,
                       p.n_stages);
        for (int st = 0; st < p.n_stages; st++) {
          const osc_stage *g = &p.stage[st];
          size_t sz = (size_t)g->c_out * (size_t)(g->c_in / g->groups) * (size_t)(g->k_h * g->k_w);
          osc_buf_printf(&t, "typedef char w%d_%d_%d[(%s_STAGE%d_WEIGHTS_OFFSET == %zu && "
                         "%s_STAGE%d_WEIGHTS_SIZE == %zu) ? 1 : -1];\n", k, i, st, m, st + 1, at,
                         m, st + 1, sz);
          at += sz;
        }
        if (l->bias)
          osc_buf_printf(&t, "typedef char b%d_%d[(%s_BIAS_OFFSET == %zu) ? 1 : -1];\n", k, i, m,
                         at);
      }
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
        check_layer_table(h, net);
        dlclose(h);
      }
    }
    check_plan_hashes(net, c_path, h_path);
    check_aliases(net, c_path);
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
  /* -o is a file, not a directory (a FILE.c names one network's files) */
  write_file(old_c, "old");
  snprintf(args, sizeof args, "gen '%s' -o '%s'", e.config, old_c);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "but the config declares 2 networks: give -o a directory"));
  free(msg);
  unlink(old_c);
  {
    char plain[160];
    snprintf(plain, sizeof plain, "%s/plain", out);
    write_file(plain, "old");
    snprintf(args, sizeof args, "gen '%s' -o '%s'", e.config, plain);
    CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
    CU_ASSERT(msg && strstr(msg, "not a directory"));
    free(msg);
    unlink(plain);
  }
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
    char prefix[128], *out = NULL, line[400];
    const char *bare = strchr(layer, '.') ? strchr(layer, '.') + 1 : layer;
    snprintf(prefix, sizeof prefix, "TMPDIR='%s'", e->dir);   /* its temp dir must vanish */
    CU_ASSERT_EQUAL(osc_test_cli(prefix, args, &out, &msg), 0);
    /* one line: the output and its shape, the layer, plan, backend, time */
    snprintf(line, sizeof line, "osconv: wrote %s (%s%zu, ", y_path, batched ? "3, " : "",
             (size_t)p.stage[p.n_stages - 1].c_out);
    CU_ASSERT(out && strncmp(out, line, strlen(line)) == 0);
    snprintf(line, sizeof line, "layer '%s', %s ", bare, osc_mode_name(p.mode));
    CU_ASSERT(out && strstr(out, line) && strstr(out, "aot (cc -O2)") && strstr(out, " ms\n"));
    CU_ASSERT(out && strchr(out, '\n') == out + strlen(out) - 1);
    free(out);
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

/* exec on layers with oc_lanes (their code reads packed weights: exec
** packs the PyTorch-layout W.npy itself), AOT against the reference, then
** --jit equal to the AOT output bit for bit. */
static void test_exec_oc_lanes(void) {
  env e;
  char x_path[128], w_path[128], y_path[128], args[800];
  osc_npy a, j;
  osc_error err;
  if (setup(&e)) return;
  CU_ASSERT_FATAL(write_file(e.config,
      "network { name = 'ocx', bias = true, oc_lanes = true }\n"
      "conv { name = 'd', in_channels = 64, out_channels = 32, size = 7, kernel = 3,\n"
      "       padding = 1, stride = 2, activation = 'relu', mode = 'conventional' }\n") == 0);
  exec_case(&e, "d", 1);   /* leaves x.npy and w.npy */
  snprintf(x_path, sizeof x_path, "%s/x.npy", e.dir);
  snprintf(w_path, sizeof w_path, "%s/w.npy", e.dir);
  snprintf(y_path, sizeof y_path, "%s/y.npy", e.dir);
  for (int jit = 0; jit < 2; jit++) {
    char *msg = NULL;
    snprintf(args, sizeof args, "exec '%s' --layer d --input '%s' --weights '%s' --output '%s'%s",
             e.config, x_path, w_path, y_path, jit ? " --jit" : "");
    CU_ASSERT_EQUAL(run(&e, "", args, &msg), 0);
    free(msg);
    CU_ASSERT_EQUAL_FATAL(osc_npy_read(y_path, jit ? &j : &a, &err), OSC_OK);
  }
  CU_ASSERT(a.count == j.count && memcmp(a.data, j.data, a.count * sizeof *a.data) == 0);
  osc_npy_free(&a);
  osc_npy_free(&j);
  unlink(y_path);
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
  exec_refused(&e, "", args, "needs exactly 224: stage 1 (3x3/g1) [8][3][3][3] = 216, then the "
                             "bias 8");
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

/* ---- check, plan and gen refuse the same configs, saying where -------------------- */

#define SMALL(name) \
  "conv { name = '" name "', in_channels = 4, out_channels = 4, size = 5, kernel = 3 }\n"

/* `check` and `gen` both exit 1 with the same message, which contains
** `why`; gen writes nothing, not even the directory. */
static void refused_alike(const env *e, const char *config, const char *why) {
  char bad[128], out[128], args[512], *by_check = NULL, *by_gen = NULL;
  snprintf(bad, sizeof bad, "%s/bad.lua", e->dir);
  snprintf(out, sizeof out, "%s/out", e->dir);
  CU_ASSERT_EQUAL_FATAL(write_file(bad, config), 0);
  snprintf(args, sizeof args, "check '%s'", bad);
  CU_ASSERT_EQUAL(run(e, "", args, &by_check), 1);
  snprintf(args, sizeof args, "gen '%s' -o '%s'", bad, out);
  CU_ASSERT_EQUAL(run(e, "", args, &by_gen), 1);
  if (!by_check || !strstr(by_check, why))
    fprintf(stderr, "\ncheck said '%s', expected '%s'\n", by_check ? by_check : "", why);
  CU_ASSERT(by_check && strstr(by_check, why));
  CU_ASSERT(by_check && by_gen && !strcmp(by_check, by_gen));
  CU_ASSERT_EQUAL(access(out, F_OK), -1);
  free(by_check);
  free(by_gen);
}

static void test_check_refuses_what_gen_refuses(void) {
  static const struct { const char *config, *why; } cases[] = {
      {"network { name = 'n' }\n" SMALL("a") SMALL("a_n"),
       "bad.lua:3: layer 'a_n': its function n_a_n is already a function of layer 'a' (line 2)"},
      {"network { name = 'n' }\n" SMALL("A") SMALL("a"),
       "bad.lua:3: layer 'a': its macros would be those of layer 'A' (line 2)"},
      /* 1024 x 2048 x 2048 = 2^32 floats of input per image */
      {"network { name = 'n' }\n"
       "conv { name = 'big', in_channels = 1024, out_channels = 1024, size = 2048, kernel = 3,\n"
       "       padding = 1, mode = 'depthwise' }\n",
       "bad.lua:2: layer 'big': stage 1: its input has 4294967296 floats per image"},
      {"network { name = 'net' }\n" SMALL("a") "network { name = 'NET' }\n" SMALL("b"),
       "bad.lua:3: network 'NET': its name differs from network 'net' (line 1) only in case"},
      {"network { name = 'a' }\n" SMALL("b_c") "network { name = 'a_b' }\n" SMALL("c"),
       "bad.lua:4: layer 'c': it and layer 'b_c' of network 'a' (line 2) would both define "
       "the function a_b_c"},
      {"network { name = 'a' }\n" SMALL("B_c") "network { name = 'a_b' }\n" SMALL("c"),
       "bad.lua:4: layer 'c': its macros A_B_C_* are also those of layer 'B_c' of network 'a' "
       "(line 2)"},
      {"network { name = 'a' }\n" SMALL("b") "network { name = 'a_b' }\n" SMALL("n"),
       "bad.lua:4: layer 'n': its function a_b_n is also the n-image entry of layer 'b' of "
       "network 'a' (line 2)"},
      /* names C or POSIX reserve: size_t would break any file with <stddef.h> */
      {"network { name = 'size' }\n" SMALL("t"),
       "bad.lua:2: layer 't': its function size_t is a reserved name: POSIX reserves names "
       "ending in _t"},
      {"network { name = 'pthread' }\n" SMALL("a"),
       "bad.lua:1: network 'pthread': the name is reserved: every generated name would begin "
       "with pthread_ or PTHREAD_, which <pthread.h> reserves"},
  };
  env e;
  char args[512], *msg = NULL;
  if (setup(&e)) return;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    refused_alike(&e, cases[i].config, cases[i].why);
  /* plan builds the same plans: the tensor limit holds there too */
  {
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.lua", e.dir);
    write_file(bad, cases[2].config);
    snprintf(args, sizeof args, "plan '%s'", bad);
    CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
    CU_ASSERT(msg && strstr(msg, cases[2].why));
    free(msg);
  }
  /* and the good config passes check */
  snprintf(args, sizeof args, "check '%s'", e.config);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 0);
  free(msg);
  teardown(&e);
}

/* ---- all or nothing ------------------------------------------------------------------- */

/* A directory where beta.c goes is refused before anything is written:
** alpha.c keeps its old content, no alpha.h appears, no temp file is left.
** (A failure while the files are put in place, which puts the old ones
** back, is in test_files.c.) */
static void test_gen_dir_in_the_way(void) {
  env e;
  char out[128], p[200], args[512], listing[512], *msg = NULL, *old;
  if (setup(&e)) return;
  snprintf(out, sizeof out, "%s/out", e.dir);
  CU_ASSERT_EQUAL_FATAL(mkdir(out, 0777), 0);
  snprintf(p, sizeof p, "%s/alpha.c", out);
  write_file(p, "old alpha.c");
  snprintf(p, sizeof p, "%s/beta.c", out);
  CU_ASSERT_EQUAL_FATAL(mkdir(p, 0777), 0);
  snprintf(p, sizeof p, "%s/beta.c/keep", out);
  write_file(p, "x");
  snprintf(args, sizeof args, "gen '%s' -o '%s'", e.config, out);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "beta.c: is a directory; it is left alone"));
  free(msg);
  snprintf(p, sizeof p, "%s/alpha.c", out);
  old = osc_test_slurp(p, NULL);
  CU_ASSERT(old && !strcmp(old, "old alpha.c"));
  free(old);
  osc_test_list_dir(out, listing, sizeof listing);
  if (strcmp(listing, "alpha.c beta.c")) fprintf(stderr, "\nleft in out/: %s\n", listing);
  CU_ASSERT_STRING_EQUAL(listing, "alpha.c beta.c");
  unlink(p);
  snprintf(p, sizeof p, "%s/beta.c/keep", out);
  unlink(p);
  snprintf(p, sizeof p, "%s/beta.c", out);
  rmdir(p);
  CU_ASSERT_EQUAL(rmdir(out), 0);
  teardown(&e);
}

/* The lowest free descriptor: a leaked one shows up as a higher number. */
static int lowest_free_fd(void) {
  int fd = dup(2);
  if (fd >= 0) close(fd);
  return fd;
}

/* A write that fails (the file size limit) closes and removes the temp
** file: no descriptor leaks, nothing is left in the directory. */
static void test_stage_write_failure(void) {
  char dir[] = "/tmp/osconv-stage-XXXXXX", path[64], listing[256];
  osc_file_out f;
  static char data[100000];
  struct rlimit old, low;
  void (*old_handler)(int);
  osc_error err;
  int before, after;
  osc_status s;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/f.c", dir);
  CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
  low = old;
  low.rlim_cur = 4096;
  before = lowest_free_fd();
  old_handler = signal(SIGXFSZ, SIG_IGN);   /* the write fails with EFBIG instead */
  CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &low), 0);
  s = osc_file_stage(path, data, sizeof data, &f, &err);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  after = lowest_free_fd();
  CU_ASSERT_EQUAL(s, OSC_EIO);
  CU_ASSERT(strstr(err.msg, "f.c: write failed") != NULL);
  CU_ASSERT(f.fd == -1 && f.path == NULL && f.tmp == NULL);   /* abandoned */
  CU_ASSERT_EQUAL(after, before);
  osc_test_list_dir(dir, listing, sizeof listing);
  CU_ASSERT_STRING_EQUAL(listing, "");
  CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* A one-layer config `text` (its layer 'tiny': 1 channel, 2x2, 1x1) and
** the paths of its x.npy (1, 2, 2), w.npy (1 weight) and y.npy in e->dir. */
typedef struct tiny_files { char config[128], x[128], w[128], y[128]; } tiny_files;

static void tiny_exec_files(const env *e, const char *text, tiny_files *t) {
  osc_error err;
  size_t xs[3] = {1, 2, 2}, wn = 1;
  float buf[4] = {1, 2, 3, 4};
  snprintf(t->config, sizeof t->config, "%s/one.lua", e->dir);
  write_file(t->config, text);
  snprintf(t->x, sizeof t->x, "%s/x.npy", e->dir);
  snprintf(t->w, sizeof t->w, "%s/w.npy", e->dir);
  snprintf(t->y, sizeof t->y, "%s/y.npy", e->dir);
  osc_npy_write(t->x, 3, xs, buf, &err);
  osc_npy_write(t->w, 1, &wn, buf, &err);
}

/* exec when the kernel source cannot be written: closing the file fails
** (it fits stdio's buffer, so the error shows at fclose). One clean exit 1,
** the temp dir removed. */
static void test_exec_source_write_failure(void) {
  env e;
  tiny_files t;
  char args[800], prefix[200], listing[256], *msg = NULL;
  if (setup(&e)) return;
  tiny_exec_files(&e, "conv { name = 'tiny', in_channels = 1, out_channels = 1, size = 2, "
                      "kernel = 1,\n       mode = 'conventional' }\n", &t);
  snprintf(args, sizeof args, "exec '%s' --layer tiny --input '%s' --weights '%s' --output '%s'",
           t.config, t.x, t.w, t.y);
  /* at most 1 block (512 bytes) per file: enough for the message on stderr */
  snprintf(prefix, sizeof prefix, "trap '' XFSZ; ulimit -f 1; TMPDIR='%s'", e.dir);
  CU_ASSERT_EQUAL(run(&e, prefix, args, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "kernel.c: cannot write the kernel source"));
  free(msg);
  osc_test_list_dir(e.dir, listing, sizeof listing);
  CU_ASSERT_STRING_EQUAL(listing, "nets.lua one.lua w.npy x.npy");
  teardown(&e);
}

/* ---- options and layer names ----------------------------------------------------------- */

/* A config that needs the full Lua library: refused sandboxed, accepted
** with --unsandboxed by gen and exec; the help shows the option. */
static void test_unsandboxed(void) {
  env e;
  osc_error err;
  tiny_files t;
  char out[128], args[800], p[200], *msg = NULL, *help = NULL;
  if (setup(&e)) return;
  tiny_exec_files(&e, "local n = os.getenv('OSCONV_NO_SUCH_VARIABLE') or 'tiny'\n"
                      "conv { name = n, in_channels = 1, out_channels = 1, size = 2, kernel = 1 }\n",
                  &t);
  snprintf(out, sizeof out, "%s/out", e.dir);
  snprintf(args, sizeof args, "gen '%s' -o '%s'", t.config, out);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "'os'"));
  free(msg);
  snprintf(args, sizeof args, "gen --unsandboxed '%s' -o '%s'", t.config, out);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 0);
  free(msg);
  snprintf(p, sizeof p, "%s/one.c", out);
  CU_ASSERT_EQUAL(unlink(p), 0);
  snprintf(p, sizeof p, "%s/one.h", out);
  CU_ASSERT_EQUAL(unlink(p), 0);
  CU_ASSERT_EQUAL(rmdir(out), 0);
  snprintf(args, sizeof args, "exec '%s' --layer tiny --input '%s' --weights '%s' --output '%s' "
           "--unsandboxed --jit", t.config, t.x, t.w, t.y);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 0);
  free(msg);
  {
    osc_npy r;
    CU_ASSERT_EQUAL_FATAL(osc_npy_read(t.y, &r, &err), OSC_OK);
    /* a 1x1 conv with weight 1 and no bias: the input */
    CU_ASSERT(r.count == 4 && r.data[0] == 1 && r.data[3] == 4);
    osc_npy_free(&r);
  }
  CU_ASSERT_EQUAL(osc_test_cli("", "--help", &help, NULL), 0);
  CU_ASSERT(help && strstr(help, "osconv gen CONFIG -o DIR|FILE.c [--print-outputs] [--isa auto|avx512|avx2|c] [--tuning FILE] [--rigor estimate|measure] [--budget SECONDS] [--unsandboxed]\n"));
  CU_ASSERT(help && strstr(help, "[--jit] [--unsandboxed]\n"));
  CU_ASSERT(help && strstr(help, "osconv check CONFIG [--unsandboxed]\n"));
  free(help);
  teardown(&e);
}

/* A bare layer name two networks use is refused; NET.LAYER picks one. */
static void test_exec_ambiguous_layer(void) {
  env e;
  osc_error err;
  char one[128], x[128], w[128], y[128], args[800], *msg = NULL;
  size_t xs[3] = {1, 3, 3}, wn = 3;
  float buf[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  if (setup(&e)) return;
  snprintf(one, sizeof one, "%s/one.lua", e.dir);
  write_file(one, "network { name = 'n1' }\n"
                  "conv { name = 'a', in_channels = 1, out_channels = 1, size = 3, kernel = 1 }\n"
                  "network { name = 'n2' }\n"
                  "conv { name = 'a', in_channels = 1, out_channels = 3, size = 3, kernel = 1 }\n");
  snprintf(x, sizeof x, "%s/x.npy", e.dir);
  snprintf(w, sizeof w, "%s/w.npy", e.dir);
  snprintf(y, sizeof y, "%s/y.npy", e.dir);
  osc_npy_write(x, 3, xs, buf, &err);
  osc_npy_write(w, 1, &wn, buf, &err);
  snprintf(args, sizeof args, "exec '%s' --layer a --input '%s' --weights '%s' --output '%s' --jit",
           one, x, w, y);
  exec_refused(&e, "", args, "layer 'a' is in networks 'n1' and 'n2': say n1.a or n2.a");
  snprintf(args, sizeof args, "exec '%s' --layer n2.a --input '%s' --weights '%s' --output '%s' "
           "--jit", one, x, w, y);
  CU_ASSERT_EQUAL(run(&e, "", args, &msg), 0);
  free(msg);
  {
    osc_npy r;
    CU_ASSERT_EQUAL_FATAL(osc_npy_read(y, &r, &err), OSC_OK);
    /* n2.a: 3 output channels, channel c = input * weight c (1, 2, 3) */
    CU_ASSERT(r.ndim == 3 && r.shape[0] == 3 && r.count == 27);
    if (r.count == 27) CU_ASSERT(r.data[9] == 2.0f && r.data[26] == 27.0f);
    osc_npy_free(&r);
  }
  unlink(y);
  teardown(&e);
}

static CU_TestInfo tests[] = {
    {"gen: header, code, determinism", test_gen},
    {"gen: all or nothing", test_gen_errors},
    {"exec: batched and unbatched", test_exec},
    {"exec: oc_lanes layers pack their weights (AOT, --jit)", test_exec_oc_lanes},
    {"exec: refusals", test_exec_errors},
    {"check, plan and gen refuse the same configs", test_check_refuses_what_gen_refuses},
    {"gen: a directory in the way is left alone", test_gen_dir_in_the_way},
    {"a failed write leaks no descriptor or file", test_stage_write_failure},
    {"exec: the kernel source cannot be written", test_exec_source_write_failure},
    {"--unsandboxed for gen and exec", test_unsandboxed},
    {"exec: a layer name in two networks", test_exec_ambiguous_layer},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("gen", tests)

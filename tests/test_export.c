/*
** test_export.c -- `osconv export --torch`: what the module file says,
** checked against the plan's own numbers (the numerical round trip against
** PyTorch itself is tests/torch/roundtrip.py, `make test-torch`).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osc_cli.h"
#include "osc_test.h"

static char dir[] = "/tmp/osconv-export-XXXXXX";

static int write_config(const char *name, const char *src) {
  char path[256];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (!(f = fopen(path, "w"))) return 0;
  fputs(src, f);
  return fclose(f) == 0;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
  return n;
}

/* The plan of a fixed chain is known exactly: stage by stage convs, the
** shuffle only where it is not the identity, the bias on the last stage. */
static void test_module_text(void) {
  char args[512], path[300], *out = NULL, *py;
  if (!osc_test_cli_path() || !mkdtemp(dir)) return;
  CU_ASSERT_FATAL(write_config("t.lua",
                               "network { name = 'my_net', batch = 2, bias = true }\n"
                               "conv { name = 'a', in_channels = 16, out_channels = 16, size = 8,"
                               " kernel = 3, padding = 1, activation = 'relu',\n"
                               "  stages = {{kernel = {3, 1}, groups = 4}, {kernel = {1, 3}, "
                               "groups = 4}} }\n"
                               "conv { name = 'dw', in_channels = 16, out_channels = 8, size = 8,"
                               " kernel = 3, stride = 2, mode = 'depthwise' }\n"));
  snprintf(path, sizeof path, "%s/model.py", dir);
  snprintf(args, sizeof args, "export --torch %s/t.lua -o %s", dir, path);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, NULL), 0);
  py = osc_test_slurp(path, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(py);
  CU_ASSERT_PTR_NOT_NULL(strstr(py, "class MyNet(nn.Module):"));
  CU_ASSERT_PTR_NOT_NULL(strstr(py, "names = {\"a\": 0, \"dw\": 1}"));
  CU_ASSERT_PTR_NOT_NULL(strstr(py, "nn.Conv2d(16, 16, (3, 1), stride=(1, 1), padding=(1, 0), "
                                    "groups=4, bias=False),\n            nn.ChannelShuffle(4),\n"
                                    "            nn.Conv2d(16, 16, (1, 3), stride=(1, 1), "
                                    "padding=(0, 1), groups=4, bias=True),\n"
                                    "            nn.ReLU(),"));
  /* depthwise: 16 groups of one channel, so no shuffle; the stride on the 3x3 */
  CU_ASSERT_PTR_NOT_NULL(strstr(py, "nn.Conv2d(16, 16, (3, 3), stride=(2, 2), padding=(0, 0), "
                                    "groups=16, bias=False),\n            nn.Conv2d(16, 8, "
                                    "(1, 1), stride=(1, 1), padding=(0, 0), groups=1, bias=True),"
                                    "\n        ))"));
  CU_ASSERT_EQUAL(count(py, "nn.ChannelShuffle("), 1);
  CU_ASSERT_EQUAL(count(py, "nn.ReLU()"), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(py, "for layer in self.layers:"));   /* a's output is dw's input */
  CU_ASSERT_PTR_NULL(strstr(py, "raise NotImplementedError"));
  free(py);
  free(out);
  unlink(path);
}

static void test_errors(void) {
  char args[512], *err = NULL;
  if (!osc_test_cli_path()) return;
  CU_ASSERT_FATAL(write_config("two.lua",
                               "network { name = 'my_net' }\nconv { in_channels = 4, "
                               "out_channels = 4, size = 4, kernel = 1 }\n"
                               "network { name = 'myNet' }\nconv { in_channels = 4, "
                               "out_channels = 4, size = 4, kernel = 1 }\n"));
  snprintf(args, sizeof args, "export --torch %s/two.lua -o %s/two.py", dir, dir);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, &err), 1);
  CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "networks 'my_net' and 'myNet' would both be the "
                                            "Python class MyNet"));
  snprintf(args, sizeof args, "%s/two.py", dir);
  CU_ASSERT_NOT_EQUAL(access(args, F_OK), 0);   /* nothing written */
  free(err);
  /* a layer named like the header's own table: refused by check (and so gen) */
  CU_ASSERT_FATAL(write_config("tab.lua", "network { name = 'n' }\nconv { name = 'layer_table', "
                                          "in_channels = 4, out_channels = 4, size = 4, kernel = 1 }\n"));
  snprintf(args, sizeof args, "check %s/tab.lua", dir);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, &err), 1);
  CU_ASSERT(err && strstr(err, "tab.lua:2: layer 'layer_table': n_layer_table is the network's "
                               "layer table in the generated header"));
  free(err);
  err = NULL;
  snprintf(args, sizeof args, "%s/tab.lua", dir);
  unlink(args);
  snprintf(args, sizeof args, "export %s/t.lua -o %s/x.py", dir, dir);   /* --torch missing */
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, NULL), 2);
  snprintf(args, sizeof args, "%s/two.lua", dir);
  unlink(args);
  snprintf(args, sizeof args, "%s/t.lua", dir);
  unlink(args);
  rmdir(dir);
}

/* gen -o DIR/ names DIR/demo.c, not DIR//demo.c; an empty -o is a usage error */
static void test_gen_paths(void) {
  char d[] = "/tmp/osconv-genpath-XXXXXX", args[256], path[300], *out = NULL;
  if (!osc_test_cli_path() || !mkdtemp(d)) return;
  snprintf(args, sizeof args, "gen examples/default.lua -o %s/", d);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, NULL), 0);
  snprintf(path, sizeof path, "wrote %s/demo.c and %s/demo.h", d, d);
  CU_ASSERT(out && strstr(out, path));
  CU_ASSERT(out && !strstr(out, "//"));
  free(out);
  CU_ASSERT_EQUAL(osc_test_cli("", "gen examples/default.lua -o ''", NULL, NULL), 2);
  snprintf(path, sizeof path, "%s/demo.c", d);
  unlink(path);
  snprintf(path, sizeof path, "%s/demo.h", d);
  unlink(path);
  rmdir(d);
}

/* The README's make rules, verbatim: the three lines of its ```make block
** after "In a build", run by GNU make on a network not named after its
** file and on two networks; a second make has nothing to do, and a
** touched config rebuilds. */
static char *readme_rules(void) {
  char *readme = osc_test_slurp("README.md", NULL), *at, *end, *rules = NULL;
  if (readme && (at = strstr(readme, "In a build (GNU make")) && (at = strstr(at, "```make\n")) &&
      (end = strstr(at += 8, "```"))) {
    rules = strndup(at, (size_t)(end - at));
  }
  free(readme);
  return rules;
}

static void test_readme_make_rules(void) {
  char d[] = "/tmp/osconv-make-XXXXXX", path[300], cmd[900], *rules;
  FILE *f;
  const char *cli = osc_test_cli_path();
  if (!cli || !mkdtemp(d)) return;
  rules = readme_rules();
  CU_ASSERT_PTR_NOT_NULL_FATAL(rules);
  CU_ASSERT(strstr(rules, "--print-outputs") && strstr(rules, "-o kernels/net.c"));
  snprintf(path, sizeof path, "%s/net.lua", d);
  CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
  fputs("network { name = 'mnv2' }\nconv { in_channels = 8, out_channels = 8, size = 6, "
        "kernel = 3, padding = 1 }\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/nets.lua", d);
  CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
  fputs("network { name = 'a_net' }\nconv { in_channels = 4, out_channels = 4, size = 4, "
        "kernel = 1 }\nnetwork { name = 'b_net' }\nconv { in_channels = 4, out_channels = 8, "
        "size = 4, kernel = 3 }\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/Makefile", d);
  CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
  fprintf(f, "OSCONV := %s\nall: kernels/net.c kernels/a_net.h kernels/b_net.c\n%s", cli, rules);
  fclose(f);
  free(rules);
  snprintf(cmd, sizeof cmd, "make -s -C '%s' -j2 >/dev/null 2>&1", d);
  CU_ASSERT_EQUAL(system(cmd), 0);
  {
    static const char *const files[] = {"net.c", "net.h", "a_net.c", "a_net.h", "b_net.c",
                                        "b_net.h"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      snprintf(path, sizeof path, "%s/kernels/%s", d, files[i]);
      CU_ASSERT_EQUAL(access(path, F_OK), 0);
    }
    snprintf(path, sizeof path, "%s/kernels/mnv2.c", d);   /* the name came from -o */
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
  }
  snprintf(cmd, sizeof cmd, "make -q -C '%s' >/dev/null 2>&1", d);   /* up to date */
  CU_ASSERT_EQUAL(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "touch -d '+2 seconds' '%s/nets.lua' && make -q -C '%s' >/dev/null 2>&1",
           d, d);
  CU_ASSERT_NOT_EQUAL(system(cmd), 0);   /* the config changed: the rule must run again */
  /* -o FILE.c on two networks: refused, nothing written */
  snprintf(cmd, sizeof cmd, "gen '%s/nets.lua' -o '%s/two.c'", d, d);
  {
    char *err = NULL;
    CU_ASSERT_EQUAL(osc_test_cli("", cmd, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "names one network's files, but the config declares 2 networks"));
    free(err);
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  CU_ASSERT_EQUAL(system(cmd), 0);
}

/* getopt_long conventions: --name=VALUE, options after CONFIG, `--`; each
** mistake says what is wrong and then the usage line, exit 2; a misspelt
** layer name gets a suggestion. */
static void test_cli_options(void) {
  static const struct { const char *args, *err; int status; } cases[] = {
      {"plan --explain=stem examples/default.lua", NULL, 0},
      {"plan examples/default.lua --explain stem --json", NULL, 0},
      {"plan -- examples/default.lua", NULL, 0},
      {"gen examples/default.lua -o", "osconv gen: option '-o' requires an argument\n"
                                      "usage: osconv gen CONFIG", 2},
      {"exec examples/default.lua --layer", "osconv exec: option '--layer' requires an "
                                            "argument\nusage: osconv exec ", 2},
      {"plan --jsn examples/default.lua", "osconv plan: unknown option '--jsn'\nusage: ", 2},
      {"run -q examples/default.lua", "osconv run: unknown option '-q'\nusage: ", 2},
      {"check a.lua b.lua", "osconv check: unexpected argument 'b.lua'\nusage: ", 2},
      {"check", "osconv check: no CONFIG given\nusage: osconv check CONFIG", 2},
      {"plan examples/default.lua --explain stm", "no layer named 'stm' (did you mean 'stem'?)",
       1},
      {"plan examples/default.lua --explain demo.dwn",
       "no layer named 'demo.dwn' (did you mean 'demo.down'?)", 1},
      {"plan examples/default.lua --explain qqqq", "no layer named 'qqqq' (write LAYER or "
                                                   "NETWORK.LAYER)", 1},
  };
  if (!osc_test_cli_path()) return;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *out = NULL, *err = NULL;
    int st = osc_test_cli("", cases[i].args, &out, &err);
    if (st != cases[i].status || (cases[i].err && !(err && strstr(err, cases[i].err))))
      fprintf(stderr, "\n%s: status %d, stderr '%s'\n", cases[i].args, st, err ? err : "");
    CU_ASSERT_EQUAL(st, cases[i].status);
    if (cases[i].err) {
      CU_ASSERT(err && strstr(err, cases[i].err));
    } else {
      CU_ASSERT(out && strstr(out, "stem"));
    }
    free(out);
    free(err);
  }
}

static CU_TestInfo tests[] = {
    {"module text", test_module_text},
    {"errors", test_errors},
    {"gen output paths", test_gen_paths},
    {"README make rules", test_readme_make_rules},
    {"CLI options (getopt_long), layer suggestions", test_cli_options},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("export", tests)

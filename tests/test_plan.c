/*
** test_plan.c -- `osconv plan` as a tool would use it: the JSON parses, and
** every number in it agrees with a recomputation from the JSON's own layer
** fields (SPEC.md's formulas), not with the code that printed it.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osc_cli.h"
#include "osc_test.h"

static json_int_t geti(json_t *o, const char *key) {
  return json_integer_value(json_object_get(o, key));
}

static json_int_t at(json_t *o, const char *key, size_t i) {
  return json_integer_value(json_array_get(json_object_get(o, key), i));
}

static json_t *plan_json(const char *config) {
  char args[512], *out = NULL;
  json_error_t e;
  json_t *root = NULL;
  snprintf(args, sizeof args, "plan --json '%s'", config);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, NULL), 0);
  if (out) root = json_loads(out, 0, &e);
  CU_ASSERT_PTR_NOT_NULL(root);
  free(out);
  return root;
}

/* The chain obeys SPEC.md: widths link up, groups divide, kernels span the
** layer's, fan-in product covers the inputs, the last size is the layer's;
** and its MACs/params are the sums of C_i * n_i * a_i (* H_i W_i). */
static void check_plan(json_t *layer, json_t *plan) {
  json_t *stages = json_object_get(plan, "stages");
  json_int_t c = geti(layer, "in_channels"), eh = 0, ew = 0, prod = 1, macs = 0, params = 0;
  size_t n = json_array_size(stages);
  CU_ASSERT(n >= 1);
  CU_ASSERT_EQUAL((json_int_t)n, geti(plan, "stages_count"));
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(stages, i);
    json_int_t g = geti(s, "groups"), out = geti(s, "out_channels");
    json_int_t a = at(s, "kernel", 0) * at(s, "kernel", 1);
    CU_ASSERT_EQUAL(geti(s, "in_channels"), c);
    CU_ASSERT(g >= 1 && c % g == 0 && out % g == 0);
    eh += at(s, "kernel", 0) - 1;
    ew += at(s, "kernel", 1) - 1;
    prod *= c / g;
    params += out * (c / g) * a;
    macs += out * (c / g) * a * at(s, "out_size", 0) * at(s, "out_size", 1);
    CU_ASSERT_EQUAL(geti(s, "params"), out * (c / g) * a);
    if (i + 1 < n && g > 1 && g < out) {
      CU_ASSERT_EQUAL(geti(s, "shuffle_after"), g);
    } else {   /* the last stage, or an identity shuffle (one group, one channel per group) */
      CU_ASSERT(json_is_null(json_object_get(s, "shuffle_after")));
    }
    if (i + 1 < n) {  /* sizes link up */
      json_t *next = json_array_get(stages, i + 1);
      CU_ASSERT_EQUAL(at(next, "in_size", 0), at(s, "out_size", 0));
      CU_ASSERT_EQUAL(at(next, "in_size", 1), at(s, "out_size", 1));
    } else {
      CU_ASSERT_EQUAL(at(s, "out_size", 0), at(layer, "out_size", 0));
      CU_ASSERT_EQUAL(at(s, "out_size", 1), at(layer, "out_size", 1));
    }
    c = out;
  }
  CU_ASSERT_EQUAL(c, geti(layer, "out_channels"));
  CU_ASSERT_EQUAL(eh + 1, at(layer, "kernel", 0));
  CU_ASSERT_EQUAL(ew + 1, at(layer, "kernel", 1));
  CU_ASSERT(prod * geti(layer, "groups") >= geti(layer, "in_channels"));
  CU_ASSERT_EQUAL(geti(plan, "macs"), macs);
  CU_ASSERT_EQUAL(geti(plan, "params"),
                  params + (json_is_true(json_object_get(layer, "bias"))
                                ? geti(layer, "out_channels") : 0));
}

/* Conventional cost from the layer's own fields. */
static json_int_t conventional_macs(json_t *l) {
  json_int_t hw = at(l, "out_size", 0) * at(l, "out_size", 1);
  json_int_t oh = (at(l, "in_size", 0) + 2 * at(l, "padding", 0) - at(l, "kernel", 0)) /
                      at(l, "stride", 0) + 1;
  json_int_t ow = (at(l, "in_size", 1) + 2 * at(l, "padding", 1) - at(l, "kernel", 1)) /
                      at(l, "stride", 1) + 1;
  CU_ASSERT_EQUAL(hw, oh * ow);
  return geti(l, "out_channels") * geti(l, "in_channels") / geti(l, "groups") *
         at(l, "kernel", 0) * at(l, "kernel", 1) * hw;
}

static void check_config(const char *config, int layers_expected, int residuals_expected) {
  json_t *root = plan_json(config), *nets;
  int layers = 0, residuals = 0;
  if (!root) return;
  nets = json_object_get(root, "networks");
  CU_ASSERT(json_array_size(nets) >= 1);
  for (size_t n = 0; n < json_array_size(nets); n++) {
    json_t *net = json_array_get(nets, n), *ls = json_object_get(net, "layers");
    json_t *tot = json_object_get(net, "totals");
    json_int_t macs = 0, params = 0, conv = 0;
    for (size_t i = 0; i < json_array_size(ls); i++, layers++) {
      json_t *l = json_array_get(ls, i), *p = json_object_get(l, "plan");
      json_t *base = json_object_get(l, "baselines");
      check_plan(l, p);
      CU_ASSERT(json_is_boolean(json_object_get(l, "residual")));
      residuals += json_is_true(json_object_get(l, "residual"));
      CU_ASSERT_EQUAL(geti(json_object_get(base, "conventional"), "macs"), conventional_macs(l));
      if (!strcmp(json_string_value(json_object_get(l, "mode")), "optimal"))
        /* the optimum can never lose to the baselines it could have picked */
        for (const char *const *m = (const char *const[]){"conventional", "depthwise",
                                                          "spatial", NULL}; *m; m++) {
          json_t *b = json_object_get(base, *m);
          if (json_is_object(b) && geti(l, "max_stages") >= 2 &&
              !strcmp(json_string_value(json_object_get(l, "objective")), "macs"))
            CU_ASSERT(geti(p, "macs") <= geti(b, "macs"));
        }
      if (!strcmp(json_string_value(json_object_get(l, "objective")), "time") &&
          geti(l, "max_stages") >= 2)   /* by the model, never slower than a baseline */
        for (const char *const *m = (const char *const[]){"conventional", "depthwise",
                                                          "spatial", NULL}; *m; m++) {
          json_t *b = json_object_get(base, *m);
          if (json_is_object(b))
            CU_ASSERT(json_number_value(json_object_get(p, "model_ns")) <=
                      json_number_value(json_object_get(b, "model_ns")));
        }
      CU_ASSERT(json_number_value(json_object_get(p, "model_ns")) > 0);
      macs += geti(p, "macs");
      params += geti(p, "params");
      conv += geti(json_object_get(base, "conventional"), "macs");
    }
    CU_ASSERT_EQUAL(geti(tot, "macs"), macs);
    CU_ASSERT_EQUAL(geti(tot, "params"), params);
    CU_ASSERT_EQUAL(geti(tot, "conventional_macs"), conv);
  }
  CU_ASSERT_EQUAL(layers, layers_expected);
  CU_ASSERT_EQUAL(residuals, residuals_expected);
  json_decref(root);
}

static void test_json_examples(void) {
  if (!osc_test_cli_path()) return;
  check_config("examples/default.lua", 7, 1);
  check_config("examples/resnet18.lua", 20, 0);
  check_config("examples/resnet50.lua", 53, 0);
  check_config("examples/cifar_resnet20.lua", 21, 0);
  check_config("examples/mobilenet.lua", 27, 0);
}

/* objective = "time" through the CLI: ResNet-50 with it, at max_stages 2
** and 4, checked as above; the text shows modelled time for every plan. */
static void test_objective_time(void) {
  char dir[] = "/tmp/osconv-time-XXXXXX", path[64], args[128], *out = NULL;
  FILE *f, *src;
  char line[512];
  if (!osc_test_cli_path()) return;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  for (int ms = 2; ms <= 4; ms += 2) {
    snprintf(path, sizeof path, "%s/r50.lua", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(src = fopen("examples/resnet50.lua", "r"));
    while (fgets(line, sizeof line, src)) {
      char *at = strstr(line, "max_stages = 2,");
      if (at) fprintf(f, "network { name = \"resnet50\", batch = 1, max_stages = %d, bias = true,"
                         " objective = \"time\" }\n", ms);
      else fputs(line, f);
    }
    fclose(src);
    fclose(f);
    check_config(path, 53, 0);
  }
  snprintf(args, sizeof args, "plan '%s'", path);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, NULL), 0);
  CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "objective time"));
  CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "model   plan:"));   /* on the baselines' lines */
  free(out);
  snprintf(args, sizeof args, "plan --explain layer1_0_conv2 '%s'", path);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, NULL), 0);
  CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "us model\n"));
  free(out);
  unlink(path);
  rmdir(dir);
}

/* --explain names the chain --json chose, and lists every stage count. */
static void test_explain(void) {
  char *out = NULL, *err = NULL;
  json_t *root;
  if (!osc_test_cli_path() || !(root = plan_json("examples/resnet50.lua"))) return;
  json_t *l = json_array_get(json_object_get(json_array_get(
                                 json_object_get(root, "networks"), 0), "layers"), 10);
  const char *chain = json_string_value(json_object_get(json_object_get(l, "plan"), "chain"));
  char args[256];
  snprintf(args, sizeof args, "plan examples/resnet50.lua --explain %s",
           json_string_value(json_object_get(l, "name")));
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  if (out && chain) {
    const char *chosen = strstr(out, "chosen (mode optimal): ");
    CU_ASSERT_PTR_NOT_NULL(chosen);
    CU_ASSERT(chosen && strstr(chosen, chain) != NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  1 stage:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  2 stages:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "rejected:"));
  }
  free(out);
  free(err);
  /* a conventional layer: the chosen chain is its own, the search's is beside it */
  CU_ASSERT_EQUAL(osc_test_cli("", "plan examples/default.lua --explain stem", &out, &err), 0);
  CU_ASSERT(out && strstr(out, "chosen (mode conventional): 3x3/g1 "));
  CU_ASSERT(out && strstr(out, "the optimal search would choose: "));
  free(out);
  free(err);
  /* --json --explain is JSON, and its optimum is the plan --json chose */
  snprintf(args, sizeof args, "plan examples/resnet50.lua --json --explain %s",
           json_string_value(json_object_get(l, "name")));
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  {
    json_t *ex = out ? json_loads(out, 0, NULL) : NULL;
    json_t *opt = json_object_get(json_object_get(ex, "search"), "optimum");
    CU_ASSERT_PTR_NOT_NULL(ex);
    CU_ASSERT(chain && json_string_value(json_object_get(opt, "chain")) &&
              !strcmp(json_string_value(json_object_get(opt, "chain")), chain));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(ex, "search"), "levels")),
                    (size_t)geti(l, "max_stages"));
    json_decref(ex);
  }
  free(out);
  free(err);
  /* an unknown layer: a clear error, exit 1 */
  CU_ASSERT_EQUAL(osc_test_cli("", "plan examples/default.lua --explain nope", &out, &err), 1);
  CU_ASSERT(err && strstr(err, "no layer named 'nope'"));
  CU_ASSERT_STRING_EQUAL(out ? out : "?", "");
  free(out);
  free(err);
  json_decref(root);
}

/* --csv: a row per layer whose conventional cost is the closed form
** C_out C_in K_h K_w H W of its own columns (resnet50 has no grouped layer),
** whose reduction is that over its MACs, and whose MACs sum to --table's
** total; bad flag combinations are usage errors. */
static void test_csv_and_table(void) {
  char *out = NULL, *err = NULL, *line, *save = NULL;
  long long sum = 0;
  int rows = 0;
  if (!osc_test_cli_path()) return;
  CU_ASSERT_EQUAL_FATAL(osc_test_cli("", "plan examples/resnet50.lua --csv", &out, &err), 0);
  line = strtok_r(out, "\n", &save);
  CU_ASSERT(line && !strncmp(line, "network,layer,line,in_channels,", 31));
  while ((line = strtok_r(NULL, "\n", &save))) {
    char net[64], name[64], mode[32], chain[256];
    int ln, ci, hi, wi, co, ho, wo, kh, kw, sh, sw, st;
    long long macs, params, cmacs, cparams;
    double rm, rp;
    int got = sscanf(line,
                     "%63[^,],%63[^,],%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%31[^,],%d,%255[^,],%lld,"
                     "%lld,%lld,%lld,%lf,%lf",
                     net, name, &ln, &ci, &hi, &wi, &co, &ho, &wo, &kh, &kw, &sh, &sw, mode, &st,
                     chain, &macs, &params, &cmacs, &cparams, &rm, &rp);
    CU_ASSERT_EQUAL(got, 22);
    if (got != 22) break;
    CU_ASSERT_STRING_EQUAL(net, "resnet50");
    CU_ASSERT_EQUAL(cmacs, (long long)co * ci * kh * kw * ho * wo);
    CU_ASSERT_EQUAL(cparams, (long long)co * ci * kh * kw + co);   /* resnet50.lua: bias */
    CU_ASSERT(macs > 0 && macs <= cmacs);
    CU_ASSERT(rm > (double)cmacs / (double)macs - 1e-4 && rm < (double)cmacs / (double)macs + 1e-4);
    sum += macs;
    rows++;
  }
  CU_ASSERT_EQUAL(rows, 53);
  free(out);
  free(err);
  CU_ASSERT_EQUAL(osc_test_cli("", "plan examples/resnet50.lua --table", &out, &err), 0);
  {
    char total[64];
    const char *t = out ? strstr(out, "\ntotal ") : NULL;
    int lines = 0;
    for (const char *p = out; p && *p; p++) lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 53 + 3);   /* title, header, layers, total */
    snprintf(total, sizeof total, "%.1fM", (double)sum / 1e6);
    CU_ASSERT(t && strstr(t, total));
  }
  free(out);
  free(err);
  CU_ASSERT_EQUAL(osc_test_cli("", "plan examples/default.lua --csv --json", NULL, NULL), 2);
  CU_ASSERT_EQUAL(osc_test_cli("", "plan examples/default.lua --table --explain stem", NULL, NULL),
                  2);
}

static CU_TestInfo tests[] = {
    {"objective time through the CLI", test_objective_time},
    {"json of every example agrees with SPEC's formulas", test_json_examples},
    {"explain names the chosen chain", test_explain},
    {"csv and table", test_csv_and_table},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("plan", tests)

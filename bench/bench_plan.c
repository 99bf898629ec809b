/*
** bench_plan.c -- how long the exact optimal search takes: every conv layer
** of ResNet-50 (53 layers, 224x224) planned with max_stages 2, 4 and 8, with
** and without the --explain report, median of several runs; then SPEC.md's
** deep case (C = 1024, K = 5, max_stages 16).
**   build/bench/bench_plan [--runs N] [CONFIG]   (default: examples/resnet50.lua;
**                                                 built-in shapes if it cannot load)
** Measured, not asserted. Target: the whole network well under a second.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "osconv.h"
#include "oscplan.h"
#include "oscsearch.h"

#define MAX_LAYERS 256

static void add_layer(osc_layer *ls, int *n, const char *name, int cin, int cout, int size,
                      int k, int stride) {
  osc_layer *l = &ls[(*n)++];
  osc_layer_init(l);
  snprintf(l->name, sizeof l->name, "%s", name);
  l->in_channels = cin;
  l->out_channels = cout;
  l->in_h = l->in_w = size;
  l->k_h = l->k_w = k;
  l->stride_h = l->stride_w = stride;
  l->pad_h = l->pad_w = k / 2;
  l->bias = 1;
}

/* The same 53 layers as examples/resnet50.lua (torchvision v1.5 layout). */
static int resnet50_builtin(osc_layer *ls) {
  static const int stages[4][2] = {{64, 3}, {128, 4}, {256, 6}, {512, 3}};
  int n = 0, c = 64, size = 56;
  char name[OSC_NAME_MAX];
  add_layer(ls, &n, "conv1", 3, 64, 224, 7, 2);
  for (int s = 0; s < 4; s++)
    for (int b = 0; b < stages[s][1]; b++) {
      int width = stages[s][0], stride = s > 0 && b == 0 ? 2 : 1, cout = 4 * width;
      snprintf(name, sizeof name, "layer%d_%d_conv1", s + 1, b);
      add_layer(ls, &n, name, c, width, size, 1, 1);
      snprintf(name, sizeof name, "layer%d_%d_conv2", s + 1, b);
      add_layer(ls, &n, name, width, width, size, 3, stride);
      snprintf(name, sizeof name, "layer%d_%d_conv3", s + 1, b);
      add_layer(ls, &n, name, width, cout, size / stride, 1, 1);
      if (stride != 1 || c != cout) {
        snprintf(name, sizeof name, "layer%d_%d_downsample", s + 1, b);
        add_layer(ls, &n, name, c, cout, size, 1, stride);
      }
      c = cout;
      size /= stride;
    }
  return n;
}

static int load_layers(const char *path, osc_layer *ls) {
  osc_config *cfg = NULL;
  osc_error err;
  int n = 0;
  if (osc_config_load(path, NULL, &cfg, &err)) {
    printf("could not load %s (%s): using the built-in ResNet-50 shapes\n", path, err.msg);
    return resnet50_builtin(ls);
  }
  for (int i = 0; i < cfg->n_networks; i++)
    for (int j = 0; j < cfg->networks[i].n_layers && n < MAX_LAYERS; j++) {
      ls[n] = cfg->networks[i].layers[j];
      ls[n].file = NULL;   /* points into cfg, freed below */
      ls[n].mode = OSC_MODE_OPTIMAL;
      ls[n].groups = 1;
      n++;
    }
  osc_config_free(cfg);
  printf("%s: %d layers\n", path, n);
  return n;
}

/* Plan every layer `runs` times; print the median network and layer times. */
static int bench_network(osc_layer *ls, int n, int max_stages, int explain, int runs) {
  static osc_search_report rep;
  double net[64], layer[MAX_LAYERS][64], worst = 0, lmed;
  int64_t macs = 0, conv = 0;
  const char *worst_name = "";
  for (int r = 0; r < runs; r++) {
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
      osc_plan p;
      osc_error err;
      double t = now_ms();
      ls[i].max_stages = max_stages;
      if (osc_search_optimal(&ls[i], explain ? &rep : NULL, &p, &err)) {
        printf("layer %s: %s\n", ls[i].name, err.msg);
        return 1;
      }
      layer[i][r] = now_ms() - t;
      if (r == 0) {
        macs += p.macs;
        conv += (int64_t)ls[i].in_channels * ls[i].out_channels * ls[i].k_h * ls[i].k_w *
                osc_layer_out_h(&ls[i]) * osc_layer_out_w(&ls[i]);
      }
    }
    net[r] = now_ms() - t0;
  }
  for (int i = 0; i < n; i++)
    if ((lmed = median(layer[i], runs)) > worst) { worst = lmed; worst_name = ls[i].name; }
  lmed = median(net, runs);
  printf("max_stages %2d %-10s network %8.2f ms  per layer %7.3f ms  slowest %7.3f ms (%s)"
         "  MACs %.3g (conventional %.3g)\n",
         max_stages, explain ? "+report" : "", lmed, lmed / n, worst, worst_name,
         (double)macs, (double)conv);
  return 0;
}

/* SPEC.md's deep optimum: C = 1024, K = 5 needs 7 stages. */
static int bench_deep(int runs) {
  static osc_search_report rep;
  double t[64];
  osc_layer l;
  osc_plan p;
  osc_error err;
  char buf[512];
  osc_layer_init(&l);
  l.in_channels = l.out_channels = 1024;
  l.in_h = l.in_w = 14;
  l.k_h = l.k_w = 5;
  l.pad_h = l.pad_w = 2;
  l.max_stages = 16;
  for (int obj = 0; obj < 2; obj++) {
    l.objective = obj ? OSC_OBJ_PARAMS : OSC_OBJ_MACS;
    for (int r = 0; r < runs; r++) {
      double t0 = now_ms();
      if (osc_search_optimal(&l, &rep, &p, &err)) {
        printf("deep case: %s\n", err.msg);
        return 1;
      }
      t[r] = now_ms() - t0;
    }
    osc_plan_describe(&p, buf, sizeof buf);
    printf("C=1024 K=5 max_stages 16 %-6s +report %7.2f ms: %d stages, %lld params: %s\n",
           osc_objective_name(l.objective), median(t, runs), p.n_stages,
           (long long)p.params, buf);
  }
  return 0;
}

int main(int argc, char **argv) {
  static osc_layer ls[MAX_LAYERS];
  const char *path = "examples/resnet50.lua";
  int runs = 7, n;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
    else path = argv[i];
  }
  if (runs < 1) runs = 1;
  if (runs > 64) runs = 64;
  n = load_layers(path, ls);
  printf("median of %d runs, objective %s\n", runs, osc_objective_name(ls[0].objective));
  for (int explain = 0; explain < 2; explain++)
    for (int m = 2; m <= 8; m *= 2)
      if (bench_network(ls, n, m, explain, runs)) return 1;
  return bench_deep(runs);
}

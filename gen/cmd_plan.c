/*
** cmd_plan.c -- `osconv plan CONFIG [--json] [--explain LAYER]`: the chain
** chosen for every layer beside the paper's baselines, network totals,
** and, for one layer, what the search weighed.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osccli.h"
#include "osconv.h"
#include "oscerr.h"
#include "oscjson.h"
#include "oscplan.h"
#include "oscsearch.h"
#include "osctime.h"

/* The baselines every layer is compared with, in table order. */
static const osc_mode baseline_modes[] = {OSC_MODE_CONVENTIONAL, OSC_MODE_DEPTHWISE,
                                          OSC_MODE_SPATIAL};
#define N_BASELINES 3

/* What is printed of a baseline: its costs only, so a config of 100000
** layers keeps 1.3 KB a layer, not four whole plans. */
typedef struct cost { int64_t macs, params; double ns; } cost;

typedef struct layer_plans {
  osc_plan chosen;
  cost base[N_BASELINES];
  int has_base[N_BASELINES];
} layer_plans;

typedef struct totals { int64_t macs, params, conv_macs, conv_params; } totals;

static int plan_all(const osc_layer *l, layer_plans *lp, osc_error *err) {
  if (osc_cli_plan_chosen(l, &lp->chosen, err)) return 1;
  for (int b = 0; b < N_BASELINES; b++) {
    osc_error ignored;
    osc_plan base;
    lp->has_base[b] = osc_cli_plan(l, baseline_modes[b], &base, &ignored) == 0;
    if (lp->has_base[b]) lp->base[b] = (cost){base.macs, base.params, osc_time_plan(&base)};
    if (!lp->has_base[b] && ignored.code == OSC_ELIMIT) {   /* the planning budget */
      *err = ignored;
      return 1;
    }
  }
  return 0;
}

/* "118.0M" style, so columns stay narrow and readable */
static const char *human(int64_t v, char *buf) {
  static const char *const unit[] = {"", "K", "M", "G", "T"};
  double d = (double)v;
  int u = 0;
  while (d >= 1000.0 && u < 4) { d /= 1000.0; u++; }
  if (u == 0) sprintf(buf, "%" PRId64, v);
  else sprintf(buf, "%.*f%s", d < 10 ? 2 : 1, d, unit[u]);
  return buf;
}

/* A modelled time (gen/osctime.h), "12.3us" style. */
static const char *model_time(double ns, char *buf) {
  if (ns < 1e3) sprintf(buf, "%.0fns", ns);
  else if (ns < 1e6) sprintf(buf, "%.*fus", ns < 1e4 ? 2 : 1, ns / 1e3);
  else sprintf(buf, "%.*fms", ns < 1e7 ? 2 : 1, ns / 1e6);
  return buf;
}

static double ratio(int64_t base, int64_t v) { return v ? (double)base / (double)v : 0.0; }

static void print_layer(const osc_layer *l, const layer_plans *lp) {
  const osc_plan *p = &lp->chosen;
  char a[32], b[32], t[32], act[64];
  printf("\nlayer %s (line %d): %d -> %d channels, %dx%d -> %dx%d, kernel %dx%d, "
         "stride %dx%d, padding %dx%d%s%s%s%s\n",
         l->name, l->line, l->in_channels, l->out_channels, l->in_h, l->in_w,
         osc_layer_out_h(l), osc_layer_out_w(l), l->k_h, l->k_w, l->stride_h, l->stride_w,
         l->pad_h, l->pad_w, l->bias ? ", bias" : "", l->residual ? ", residual" : "",
         l->act ? ", " : "", osc_act_describe(l, act, sizeof act));
  printf("  mode %s", osc_mode_name(p->mode));
  if (p->mode == OSC_MODE_OPTIMAL)
    printf(" (max_stages %d, objective %s)", l->max_stages, osc_objective_name(l->objective));
  printf("\n  %-5s %-11s %6s %7s %6s %7s %11s %10s %10s %s\n", "stage", "channels", "groups",
         "kernel", "stride", "padding", "out size", "MACs", "params", "then");
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    char ch[24], k[16], st[16], pd[16], sz[24], then[32] = "";
    snprintf(ch, sizeof ch, "%d->%d", s->c_in, s->c_out);
    snprintf(k, sizeof k, "%dx%d", s->k_h, s->k_w);
    snprintf(st, sizeof st, "%dx%d", s->stride_h, s->stride_w);
    snprintf(pd, sizeof pd, "%dx%d", s->pad_h, s->pad_w);
    snprintf(sz, sizeof sz, "%dx%d", s->h_out, s->w_out);
    if (osc_plan_shuffle_after(p, i)) snprintf(then, sizeof then, "shuffle(%d)", s->groups);
    printf("  %-5d %-11s %6d %7s %6s %7s %11s %10s %10s %s\n", i + 1, ch, s->groups, k, st, pd,
           sz, human(osc_stage_macs(s), a), human(osc_stage_params(s), b), then);
  }
  printf("  %-14s %10s MACs %10s params %9s model\n", "this plan", human(p->macs, a),
         human(p->params, b), model_time(osc_time_plan(p), t));
  for (int i = 0; i < N_BASELINES; i++) {
    if (!lp->has_base[i]) {
      printf("  %-14s %10s\n", osc_mode_name(baseline_modes[i]), "n/a");
      continue;
    }
    double r = ratio(lp->base[i].macs, p->macs);
    printf("  %-14s %10s MACs %10s params %9s model   ", osc_mode_name(baseline_modes[i]),
           human(lp->base[i].macs, a), human(lp->base[i].params, b),
           model_time(lp->base[i].ns, t));
    if (lp->base[i].macs == p->macs) printf("plan: same MACs\n");
    else printf("plan: %.2fx %s MACs\n", r > 1.0 ? r : 1.0 / r, r > 1.0 ? "fewer" : "more");
  }
}

static void add_totals(totals *t, const layer_plans *lp) {
  t->macs += lp->chosen.macs;
  t->params += lp->chosen.params;
  t->conv_macs += lp->base[0].macs;
  t->conv_params += lp->base[0].params;
}

static void print_totals(const osc_network *net, const totals *t) {
  char a[32], b[32], c[32], d[32];
  printf("\nnetwork %s totals: %s MACs, %s params; conventional %s MACs, %s params; "
         "reduction %.2fx MACs, %.2fx params (1 MAC = 2 FLOPs, per image)\n",
         net->name, human(t->macs, a), human(t->params, b), human(t->conv_macs, c),
         human(t->conv_params, d), ratio(t->conv_macs, t->macs),
         ratio(t->conv_params, t->params));
}

static json_t *cost_json(const cost *p) {
  return json_pack("{s:I, s:I, s:f}", "macs", (json_int_t)p->macs, "params", (json_int_t)p->params,
                   "model_ns", p->ns);
}

static json_t *layer_json(const osc_layer *l, const layer_plans *lp) {
  json_t *o = osc_json_layer(l), *base = json_object();
  for (int i = 0; i < N_BASELINES; i++)
    json_object_set_new(base, osc_mode_name(baseline_modes[i]),
                        lp->has_base[i] ? cost_json(&lp->base[i]) : json_null());
  json_object_set_new(o, "plan", osc_json_plan(&lp->chosen));
  json_object_set_new(o, "baselines", base);
  json_object_set_new(o, "reduction",
                      json_pack("{s:f, s:f}", "macs", ratio(lp->base[0].macs, lp->chosen.macs),
                                "params", ratio(lp->base[0].params, lp->chosen.params)));
  return o;
}

static json_t *totals_json(const totals *t) {
  return json_pack("{s:I, s:I, s:I, s:I, s:f, s:f}", "macs", (json_int_t)t->macs, "params",
                   (json_int_t)t->params, "conventional_macs", (json_int_t)t->conv_macs,
                   "conventional_params", (json_int_t)t->conv_params, "reduction_macs",
                   ratio(t->conv_macs, t->macs), "reduction_params",
                   ratio(t->conv_params, t->params));
}

/* Plan every layer first, so an error prints nothing but the error. */
static int plan_config(const osc_config *cfg, layer_plans **out, osc_error *err) {
  int total = 0, k = 0;
  for (int n = 0; n < cfg->n_networks; n++) total += cfg->networks[n].n_layers;
  *out = calloc((size_t)(total ? total : 1), sizeof **out);
  if (!*out) { osc_error_set(err, OSC_ENOMEM, "out of memory"); return 1; }
  for (int n = 0; n < cfg->n_networks; n++)
    for (int i = 0; i < cfg->networks[n].n_layers; i++)
      if (plan_all(&cfg->networks[n].layers[i], &(*out)[k++], err)) return 1;
  return 0;
}

/* A file name as a JSON string: JSON text is UTF-8, a path need not be;
** bytes that are not valid UTF-8 become '?'. */
static json_t *json_path(const char *path) {
  json_t *s = json_string(path);
  char *copy;
  if (s || !(copy = strdup(path))) return s;
  for (char *c = copy; *c; c++)
    if ((unsigned char)*c >= 0x80) *c = '?';
  s = json_string(copy);
  free(copy);
  return s;
}

/* Print and release a document; NULL means building it ran out of memory.
** Write errors are caught once, when the command ends (see osc_cmd_plan). */
static int print_document(json_t *root) {
  char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(root);
  if (!text) return osc_cli_fail("could not build the JSON output (out of memory)");
  fputs(text, stdout);
  putchar('\n');
  free(text);
  return 0;
}

static int print_json(const osc_config *cfg, const layer_plans *lp) {
  json_t *root = json_pack("{s:s, s:o, s:{s:s, s:s}}", "osconv", OSC_VERSION, "config",
                           json_path(cfg->file), "units", "macs",
                           "multiply-accumulates per image (1 MAC = 2 FLOPs)", "params",
                           "weights, plus bias where the layer has one");
  char isa_note[96];
  snprintf(isa_note, sizeof isa_note, "modelled run time per image on %s, ns (gen/osctime.h)",
           osc_isa_name(osc_time_isa()));
  json_object_set_new(json_object_get(root, "units"), "model_ns", json_string(isa_note));
  json_t *nets = json_array();
  int k = 0;
  for (int n = 0; n < cfg->n_networks; n++) {
    const osc_network *net = &cfg->networks[n];
    json_t *layers = json_array();
    totals t = {0, 0, 0, 0};
    for (int i = 0; i < net->n_layers; i++, k++) {
      json_array_append_new(layers, layer_json(&net->layers[i], &lp[k]));
      add_totals(&t, &lp[k]);
    }
    json_array_append_new(nets, json_pack("{s:s, s:i, s:o, s:o}", "name", net->name, "batch",
                                          net->batch, "layers", layers, "totals",
                                          totals_json(&t)));
  }
  if (root && json_object_set_new(root, "networks", nets)) {
    json_decref(root);
    root = NULL;
  }
  return print_document(root);
}

static void print_tables(const osc_config *cfg, const layer_plans *lp) {
  int k = 0;
  for (int n = 0; n < cfg->n_networks; n++) {
    const osc_network *net = &cfg->networks[n];
    totals t = {0, 0, 0, 0};
    printf("network %s: %d layer%s, batch %d (MACs and params per image)\n", net->name,
           net->n_layers, net->n_layers == 1 ? "" : "s", net->batch);
    for (int i = 0; i < net->n_layers; i++, k++) {
      print_layer(&net->layers[i], &lp[k]);
      add_totals(&t, &lp[k]);
    }
    print_totals(net, &t);
    if (n + 1 < cfg->n_networks) putchar('\n');
  }
}

/* --table: one line per layer, then the network's totals. */
static void print_compact(const osc_config *cfg, const layer_plans *lp) {
  int k = 0;
  for (int n = 0; n < cfg->n_networks; n++) {
    const osc_network *net = &cfg->networks[n];
    totals t = {0, 0, 0, 0};
    char a[32], b[32];
    printf("%snetwork %s (batch %d; MACs per image)\n", n ? "\n" : "", net->name, net->batch);
    printf("%-24s %-21s %-13s %-34s %10s %9s\n", "layer", "in -> out", "mode", "chain", "MACs",
           "reduction");
    for (int i = 0; i < net->n_layers; i++, k++) {
      const osc_layer *l = &net->layers[i];
      char shape[64], chain[512];
      snprintf(shape, sizeof shape, "%dx%dx%d->%dx%dx%d", l->in_channels, l->in_h, l->in_w,
               l->out_channels, osc_layer_out_h(l), osc_layer_out_w(l));
      osc_plan_describe(&lp[k].chosen, chain, sizeof chain);
      printf("%-24s %-21s %-13s %-34s %10s %8.2fx\n", l->name, shape,
             osc_mode_name(lp[k].chosen.mode), chain, human(lp[k].chosen.macs, a),
             ratio(lp[k].base[0].macs, lp[k].chosen.macs));
      add_totals(&t, &lp[k]);
    }
    printf("%-24s %-21s %-13s %-34s %10s %8.2fx   (conventional %s)\n", "total", "", "", "",
           human(t.macs, a), ratio(t.conv_macs, t.macs), human(t.conv_macs, b));
  }
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s, int last) {
  if (strpbrk(s, ",\"\n\r")) {
    putchar('"');
    for (; *s; s++) {
      if (*s == '"') putchar('"');
      putchar(*s);
    }
    putchar('"');
  } else {
    fputs(s, stdout);
  }
  putchar(last ? '\n' : ',');
}

/* --csv: one row per layer, numbers in full, for spreadsheets and plots. */
static void print_csv(const osc_config *cfg, const layer_plans *lp) {
  int k = 0;
  puts("network,layer,line,in_channels,in_h,in_w,out_channels,out_h,out_w,k_h,k_w,stride_h,"
       "stride_w,mode,stages,chain,macs,params,conventional_macs,conventional_params,"
       "reduction_macs,reduction_params");
  for (int n = 0; n < cfg->n_networks; n++)
    for (int i = 0; i < cfg->networks[n].n_layers; i++, k++) {
      const osc_layer *l = &cfg->networks[n].layers[i];
      const osc_plan *p = &lp[k].chosen;
      const cost *c = &lp[k].base[0];
      char chain[512];
      osc_plan_describe(p, chain, sizeof chain);
      csv_field(cfg->networks[n].name, 0);
      csv_field(l->name, 0);
      printf("%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%s,%d,", l->line, l->in_channels, l->in_h,
             l->in_w, l->out_channels, osc_layer_out_h(l), osc_layer_out_w(l), l->k_h, l->k_w,
             l->stride_h, l->stride_w, osc_mode_name(p->mode), p->n_stages);
      csv_field(chain, 0);
      printf("%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%.4f,%.4f\n", p->macs, p->params,
             c->macs, c->params, ratio(c->macs, p->macs), ratio(c->params, p->params));
    }
}

/* rank 0: the chain alone, on the current line */
static void print_candidate(const osc_plan *p, int rank) {
  char chain[512], a[32], b[32], t[32];
  osc_plan_describe(p, chain, sizeof chain);
  if (rank) printf("    %d. ", rank);
  printf("%-40s %10s MACs %10s params %9s model\n", chain, human(p->macs, a), human(p->params, b),
         model_time(osc_time_plan(p), t));
}

static void explain_text(const osc_layer *l, const osc_plan *chosen,
                         const osc_search_report *rep, const osc_plan *optimum) {
  printf("layer %s: %d -> %d, kernel %dx%d, objective %s, max_stages %d (mode %s)\n",
         l->name, l->in_channels, l->out_channels, l->k_h, l->k_w,
         osc_objective_name(l->objective), l->max_stages, osc_mode_name(l->mode));
  if (rep) {
    printf("valid chain: fan-in product >= %d, kernels spanning %dx%d, groups dividing "
           "widths; ties: fewer stages, then %s\n",
           l->in_channels, l->k_h, l->k_w,
           l->objective == OSC_OBJ_MACS ? "fewer params" : "fewer MACs");
    printf("model: modelled run time per image on %s (gen/osctime.h)\n",
           osc_isa_name(osc_time_isa()));
    for (int n = 1; n <= rep->max_stages; n++) {
      const osc_search_level *lv = &rep->level[n];
      printf("\n  %d stage%s:\n", n, n > 1 ? "s" : "");
      if (lv->n_best == 0) printf("    no valid chain\n");
      for (int i = 0; i < lv->n_best; i++) print_candidate(&lv->best[i], i + 1);
      printf("    rejected: %" PRId64 " by channel coverage (fan-in product too small), %" PRId64
             " by the coverage walk, %" PRId64 " by receptive field, %" PRId64
             " by divisibility; %" PRId64 " branches pruned by the cost bound\n",
             lv->rejected_coverage, lv->rejected_structure, lv->rejected_field,
             lv->rejected_divisibility, lv->pruned_bound);
    }
  } else {
    printf("a grouped layer (groups %d) is only generated as 'conventional': nothing to "
           "search\n", l->groups);
  }
  if (rep && l->mode != OSC_MODE_OPTIMAL) {
    printf("\nthe optimal search would choose: ");
    print_candidate(optimum, 0);
  }
  printf("\nchosen (mode %s): ", osc_mode_name(chosen->mode));
  print_candidate(chosen, 0);
}

static json_t *level_json(int n, const osc_search_level *lv) {
  json_t *best = json_array();
  for (int i = 0; i < lv->n_best; i++) json_array_append_new(best, osc_json_plan(&lv->best[i]));
  return json_pack("{s:i, s:o, s:{s:I, s:I, s:I, s:I}, s:I}", "stages", n, "best", best,
                   "rejected", "coverage", (json_int_t)lv->rejected_coverage, "structure",
                   (json_int_t)lv->rejected_structure, "receptive_field",
                   (json_int_t)lv->rejected_field, "divisibility",
                   (json_int_t)lv->rejected_divisibility, "pruned_bound",
                   (json_int_t)lv->pruned_bound);
}

static int explain_json(const osc_layer *l, const osc_plan *chosen,
                        const osc_search_report *rep, const osc_plan *optimum) {
  json_t *search = json_null();
  if (rep) {
    json_t *levels = json_array();
    for (int n = 1; n <= rep->max_stages; n++)
      json_array_append_new(levels, level_json(n, &rep->level[n]));
    search = json_pack("{s:i, s:o, s:o}", "max_stages", rep->max_stages, "optimum",
                       osc_json_plan(optimum), "levels", levels);
  }
  return print_document(json_pack("{s:o, s:o, s:o}", "layer", osc_json_layer(l), "plan",
                                  osc_json_plan(chosen), "search", search));
}

/* --explain: the layer's own plan, and what the search weighed for it
** (every layer that is not grouped can be searched, whatever its mode). */
static int explain(const osc_config *cfg, const char *name, int json) {
  const osc_layer *l = osc_cli_find_layer(cfg, name);
  osc_search_report *rep = NULL;
  osc_plan chosen, optimum;
  osc_error err;
  int rc;
  if (!l) return 1;
  if (osc_cli_plan_chosen(l, &chosen, &err)) return osc_cli_fail("%s", err.msg);
  if (l->groups == 1) {
    osc_layer copy = *l;
    copy.mode = OSC_MODE_OPTIMAL;
    if (!(rep = calloc(1, sizeof *rep))) return osc_cli_fail("out of memory");
    if (osc_search_optimal(&copy, rep, &optimum, &err)) {
      free(rep);
      return osc_cli_fail("%s", err.msg);
    }
  }
  if (json) rc = explain_json(l, &chosen, rep, &optimum);
  else {
    explain_text(l, &chosen, rep, &optimum);
    rc = 0;
  }
  free(rep);
  return rc;
}

int osc_cmd_plan(int argc, char **argv) {
  const char *path = NULL, *explain_layer = NULL, *tuning = NULL, *rigor = NULL, *budget = NULL;
  int json = 0, table = 0, csv = 0, rc = 0;
  osc_config_options opt = {0, 0, 0};
  osc_config *cfg;
  osc_error err;
  layer_plans *lp = NULL;
  const osc_cli_opt opts[] = {{"json", 0, &json, NULL},
                              {"table", 0, &table, NULL},
                              {"csv", 0, &csv, NULL},
                              {"explain", 0, NULL, &explain_layer},
                              {"tuning", 0, NULL, &tuning},
                              {"rigor", 0, NULL, &rigor},
                              {"budget", 0, NULL, &budget},
                              {"unsandboxed", 0, &opt.unsandboxed, NULL},
                              {NULL, 0, NULL, NULL}};
  if ((rc = osc_cli_parse(argc, argv, opts, &path))) return rc;
  if (json + table + csv > 1 || (explain_layer && (table || csv))) {
    fprintf(stderr, "osconv plan: --json, --table and --csv exclude each other, and "
                    "--explain takes only --json\n");
    return osc_cli_usage("plan");
  }
  if ((rc = osc_cli_rigor("plan", rigor, budget))) return rc;
  if (osc_cli_tuning_open(tuning, &err)) return osc_cli_fail("%s", err.msg);
  if (osc_config_load(path, &opt, &cfg, &err)) {
    osc_cli_tuning_close();
    return osc_cli_fail("%s", err.msg);
  }
  if (explain_layer) rc = explain(cfg, explain_layer, json);
  else if (plan_config(cfg, &lp, &err)) rc = osc_cli_fail("%s", err.msg);
  else if (json) rc = print_json(cfg, lp);
  else if (table) print_compact(cfg, lp);
  else if (csv) print_csv(cfg, lp);
  else print_tables(cfg, lp);
  free(lp);
  osc_config_free(cfg);
  osc_cli_tuning_close();
  if (fflush(stdout) || ferror(stdout))
    rc = osc_cli_fail("could not write the output: %s", strerror(errno));
  return rc;
}

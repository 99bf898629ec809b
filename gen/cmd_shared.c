/*
** cmd_shared.c -- steps several subcommands take the same way, so that
** they accept and refuse the same configs and name the same layers.
*/
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osccli.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscsuggest.h"
#include "oscplanner.h"

/* One planner for the process: a command plans one config, and all of it
** shares the planning budget (osc_plan_budget_default). */
static osc_planner *planner(void) {
  static osc_planner *p;
  if (!p) p = osc_planner_new(osc_plan_budget_default());
  return p;   /* NULL (out of memory) plans unbudgeted: still correct */
}

osc_status osc_cli_plan(const osc_layer *l, osc_mode mode, osc_plan *out, osc_error *err) {
  return osc_planner_plan(planner(), l, mode, out, err);
}

static osc_tuning *tuning;   /* --tuning */

osc_status osc_cli_tuning_open(const char *path, osc_error *err) {
  osc_cli_tuning_close();
  return path ? osc_tuning_load(path, &tuning, err) : OSC_OK;
}

void osc_cli_tuning_close(void) {
  osc_tuning_free(tuning);
  tuning = NULL;
}

static osc_rigor rigor = OSC_RIGOR_ESTIMATE;   /* --rigor */
static double rigor_budget = 0.5;             /* --budget, seconds per layer */

int osc_cli_rigor(const char *cmd, const char *name, const char *budget) {
  char *end;
  if (name && !strcmp(name, "measure")) rigor = OSC_RIGOR_MEASURE;
  else if (name && strcmp(name, "estimate")) {
    fprintf(stderr, "osconv %s: --rigor '%s': expected estimate or measure\n", cmd, name);
    return osc_cli_usage(cmd);
  }
  if (budget) {
    rigor_budget = strtod(budget, &end);
    if (*end || end == budget || !(rigor_budget > 0 && rigor_budget <= 3600)) {
      fprintf(stderr, "osconv %s: --budget takes seconds per layer, more than 0 and at most "
                      "3600, got '%s'\n", cmd, budget);
      return osc_cli_usage(cmd);
    }
  }
  return 0;
}

static void say(const osc_layer *l, const char *note, const char *then) {
  if (l->file) fprintf(stderr, "%s:%d: ", l->file, l->line);
  fprintf(stderr, "layer '%s': %s%s\n", l->name, note, then);
}

osc_status osc_cli_plan_chosen(const osc_layer *l, osc_plan *out, osc_error *err) {
  osc_kernel_options unused = {0};
  return osc_cli_plan_chosen_options(l, out, &unused, err);
}

osc_status osc_cli_plan_chosen_options(const osc_layer *l, osc_plan *out,
                                       osc_kernel_options *ko, osc_error *err) {
  osc_tuning_verdict v = OSC_TUNING_ABSENT;
  char note[700];
  osc_status s;
  if (tuning) {
    if ((s = osc_tuning_lookup_options(tuning, l, out, ko, &v, note, sizeof note, err))) return s;
    say(l, note, v == OSC_TUNING_USED ? "" : rigor == OSC_RIGOR_MEASURE ? "; measuring instead"
                                                                        : "; planned as the config says");
    if (v == OSC_TUNING_USED) return OSC_OK;
  }
  if (rigor == OSC_RIGOR_ESTIMATE) return osc_cli_plan(l, l->mode, out, err);
  if ((s = osc_plan_layer_rigor_options(l, rigor, rigor_budget, out, ko, note, sizeof note, err)))
    return s;
  say(l, note, " (rigor measure)");
  return OSC_OK;
}

osc_status osc_cli_plan_network(const osc_network *net, osc_plan **plans, osc_error *err) {
  osc_plan *p = calloc(net->n_layers > 0 ? (size_t)net->n_layers : 1, sizeof *p);
  osc_status s = OSC_OK;
  *plans = NULL;
  if (!p) return osc_error_set(err, OSC_ENOMEM, "out of memory planning network '%s'", net->name);
  for (int i = 0; i < net->n_layers && !s; i++) s = osc_cli_plan_chosen(&net->layers[i], &p[i], err);
  if (!s) s = osc_emit_check_network(net, p, err);
  if (s) free(p);
  else *plans = p;
  return s;
}

/* The networks holding a layer called `name`: how many, the first two. */
static int networks_with(const osc_config *cfg, const char *name, const osc_network *with[2]) {
  int n = 0;
  for (int i = 0; i < cfg->n_networks; i++)
    for (int k = 0; k < cfg->networks[i].n_layers; k++)
      if (!strcmp(cfg->networks[i].layers[k].name, name)) {
        if (n < 2) with[n] = &cfg->networks[i];
        n++;
        break;
      }
  return n;
}

/* The layer name closest to `name` (its bare name, or NETWORK.LAYER when
** `name` has a dot), at most 2 edits away and not a 1-2 letter guess; or 0. */
static int closest_layer(const osc_config *cfg, const char *name, char *buf, size_t size) {
  int best = 3;
  for (int i = 0; i < cfg->n_networks; i++)
    for (int k = 0; k < cfg->networks[i].n_layers; k++) {
      char full[2 * OSC_NAME_MAX + 2];
      const char *l = cfg->networks[i].layers[k].name;
      int d;
      snprintf(full, sizeof full, "%s.%s", cfg->networks[i].name, l);
      d = osc_suggest_distance(name, strchr(name, '.') ? full : l);
      if (d < best && !(d > 1 && strlen(l) <= 2)) {
        best = d;
        snprintf(buf, size, "%s", strchr(name, '.') ? full : l);
      }
    }
  return best < 3;
}

const osc_layer *osc_cli_find_layer(const osc_config *cfg, const char *name) {
  const osc_network *with[2] = {NULL, NULL};
  const osc_layer *l;
  int n = strchr(name, '.') ? 1 : networks_with(cfg, name, with);
  if (n > 1) {
    osc_cli_fail("%s: layer '%s' is in networks '%s' and '%s'%s: say %s.%s or %s.%s", cfg->file,
                 name, with[0]->name, with[1]->name, n > 2 ? " (and more)" : "", with[0]->name,
                 name, with[1]->name, name);
    return NULL;
  }
  if (!(l = osc_config_find_layer(cfg, name, NULL))) {
    char guess[2 * OSC_NAME_MAX + 2];
    if (closest_layer(cfg, name, guess, sizeof guess))
      osc_cli_fail("%s: no layer named '%s' (did you mean '%s'?)", cfg->file, name, guess);
    else
      osc_cli_fail("%s: no layer named '%s' (write LAYER or NETWORK.LAYER)", cfg->file, name);
  }
  return l;
}

/* ---- options ------------------------------------------------------------------ */

#define MAX_OPTS 16
#define LONG_ONLY 256   /* getopt_long's val for an option without a letter: 256 + index */

static const osc_cli_opt *opt_of(const osc_cli_opt *opts, int val) {
  for (int i = 0; opts[i].name; i++)
    if (val == (opts[i].letter ? opts[i].letter : LONG_ONLY + i)) return &opts[i];
  return NULL;
}

/* "--layer" or "-o": how the user wrote an option */
static void opt_spelling(const osc_cli_opt *o, char *buf, size_t size) {
  if (o->letter) snprintf(buf, size, "-%c", o->letter);
  else snprintf(buf, size, "--%s", o->name);
}

static int parse_error(const char *cmd, const char *fmt, const char *what) {
  fprintf(stderr, "osconv %s: ", cmd);
  fprintf(stderr, fmt, what);
  fputc('\n', stderr);
  return osc_cli_usage(cmd);
}

int osc_cli_parse(int argc, char **argv, const osc_cli_opt *opts, const char **config) {
  struct option longs[MAX_OPTS + 1];
  char shorts[2 * MAX_OPTS + 3] = ":", spelled[64];   /* ':' first: a missing value is ':' */
  size_t ns = 1;
  int n = 0, c;
  for (; opts[n].name; n++) {
    assert(n < MAX_OPTS);
    longs[n] = (struct option){opts[n].name, opts[n].value ? required_argument : no_argument,
                               NULL, opts[n].letter ? opts[n].letter : LONG_ONLY + n};
    if (opts[n].letter) {
      shorts[ns++] = (char)opts[n].letter;
      if (opts[n].value) shorts[ns++] = ':';
    }
  }
  longs[n] = (struct option){NULL, 0, NULL, 0};
  shorts[ns] = '\0';
  *config = NULL;
  opterr = 0;
  optind = 0;   /* GNU: start afresh (the tests parse several times in one process) */
  while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    const osc_cli_opt *o = opt_of(opts, c == ':' || c == '?' ? optopt : c);
    if (c == ':' && o) {
      opt_spelling(o, spelled, sizeof spelled);
      return parse_error(argv[0], "option '%s' requires an argument", spelled);
    }
    if (c == '?' || c == ':' || !o) {
      if (optopt && optopt < LONG_ONLY) snprintf(spelled, sizeof spelled, "-%c", optopt);
      else snprintf(spelled, sizeof spelled, "%.60s", argv[optind - 1]);
      return parse_error(argv[0], "unknown option '%s'", spelled);
    }
    if (o->value) *o->value = optarg;
    else *o->flag = 1;
  }
  if (optind < argc) *config = argv[optind++];
  if (optind < argc) return parse_error(argv[0], "unexpected argument '%s'", argv[optind]);
  if (!*config) return parse_error(argv[0], "%s", "no CONFIG given");
  return 0;
}

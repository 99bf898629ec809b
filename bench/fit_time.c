/*
** fit_time.c -- fit the time model (gen/osctime.h) to stage timings.
**   fit_time SWEEP.csv [--eval LAYERS.csv] [-o gen/osctime_coef.h]
** SWEEP.csv: "stage" rows of bench_stages (any ISA). Per stage the emitter
** is asked again which kernel it gets and that kernel's cost estimate (rows
** whose kernel changed since they were measured are skipped and counted);
** per kernel, ns ~ a * estimate + b * floats in and out + c, a, b, c >= 0,
** least relative squares (gen/osctimefit.h). --eval: the layer rows of
** LAYERS.csv (bench_stages --layers, not used in the fit) are predicted as
** the sum of their stages' predictions and the relative error reported.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscemit.h"
#include "oscisa.h"
#include "osconv.h"
#include "osctime.h"
#include "osctimefit.h"

#define MAX_ROWS 20000
#define MAX_KERNELS 32
#define COLS 22
_Static_assert(OSC_TIMEFIT_VARS == OSC_TIME_VARS, "the fit has a coefficient per feature");

typedef struct row {
  char kind[8], layer[64], plan[128], kernel[32];
  int stage;
  osc_isa isa;
  osc_stage s;
  double ns;
} row;

/* One CSV line into r; 0 on success. */
static int parse(char *line, row *r) {
  char *f[COLS];
  int n = 0, *v[13];
  for (char *p = line; n < COLS;) {
    f[n++] = p;
    if (!(p = strchr(p, ','))) break;
    *p++ = '\0';
  }
  if (n != COLS || !strcmp(f[0], "row")) return -1;
  memset(r, 0, sizeof *r);
  snprintf(r->kind, sizeof r->kind, "%s", f[0]);
  snprintf(r->layer, sizeof r->layer, "%s", f[1]);
  snprintf(r->plan, sizeof r->plan, "%s", f[2]);
  snprintf(r->kernel, sizeof r->kernel, "%s", f[5]);
  r->stage = atoi(f[3]);
  if (osc_isa_parse(f[4], &r->isa)) return -1;
  v[0] = &r->s.c_in, v[1] = &r->s.c_out, v[2] = &r->s.groups, v[3] = &r->s.k_h;
  v[4] = &r->s.k_w, v[5] = &r->s.stride_h, v[6] = &r->s.stride_w, v[7] = &r->s.pad_h;
  v[8] = &r->s.pad_w, v[9] = &r->s.h_in, v[10] = &r->s.w_in, v[11] = &r->s.h_out;
  v[12] = &r->s.w_out;
  for (int i = 0; i < 13; i++) *v[i] = atoi(f[6 + i]);
  r->ns = atof(f[20]);
  return r->ns > 0 ? 0 : -1;
}

static int load(const char *path, row *rows, int n) {
  char line[1024];
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); exit(1); }
  while (n < MAX_ROWS && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!parse(line, &rows[n])) n++;
  }
  fclose(f);
  return n;
}

/* The features of a stage row: its kernel now (index, -1 if none), and x. */
static int features(const row *r, double x[OSC_TIMEFIT_VARS]) {
  return osc_time_features(&r->s, 1, 0, r->isa, x);
}

static double coef[MAX_KERNELS][OSC_TIMEFIT_VARS];
static int fitted[MAX_KERNELS];

static double predict(const row *r) {
  double x[OSC_TIMEFIT_VARS];
  int k = features(r, x);
  if (k < 0 || !fitted[k]) return x[0];   /* osctime.c's fallback: 1 ns per unit */
  double ns = 0;
  for (int j = 0; j < OSC_TIMEFIT_VARS; j++) ns += coef[k][j] * x[j];
  return ns;
}

static void fit(const row *rows, int n, FILE *out) {
  static double x[MAX_ROWS][OSC_TIMEFIT_VARS], y[MAX_ROWS];
  int changed = 0;
  fprintf(out, "/* Written by bench/fit_time.c (`make fit-time`) from bench/data/stages.csv:\n"
               "** per stage kernel, ns = coefficients . osc_time_features (gen/osctime.h).\n"
               "** Columns after the coefficients: samples, median and worst relative error\n"
               "** of the fit on them. Do not edit; refit. */\n"
               "static const time_coef osc_time_coefs[] = {\n");
  for (int k = 0; k < osc_emit_kernel_count(); k++) {
    int m = 0;
    double med, worst;
    for (int i = 0; i < n; i++) {
      double f[OSC_TIMEFIT_VARS];
      int got = features(&rows[i], f);
      if (strcmp(rows[i].kernel, osc_emit_kernel_name(got))) { changed += k == 0; continue; }
      if (got != k) continue;
      memcpy(x[m], f, sizeof f);
      y[m++] = rows[i].ns;
    }
    if (m < 3 || osc_timefit(m, OSC_TIMEFIT_VARS, (const double(*)[OSC_TIMEFIT_VARS])x, y, coef[k]) < 0) {
      fprintf(stderr, "fit_time: %s: %d samples, not fitted (falls back to 1 ns per unit)\n",
              osc_emit_kernel_name(k), m);
      continue;
    }
    fitted[k] = 1;
    osc_timefit_error(m, OSC_TIMEFIT_VARS, (const double(*)[OSC_TIMEFIT_VARS])x, y, coef[k], &med, &worst);
    fprintf(out, "    {\"%s\", {", osc_emit_kernel_name(k));
    for (int j = 0; j < OSC_TIMEFIT_VARS; j++) fprintf(out, "%s%.6g", j ? ", " : "", coef[k][j]);
    fprintf(out, "}},   /* %d, %.1f%%, %.1f%% */\n", m, 100 * med, 100 * worst);
    fprintf(stderr, "fit_time: %-10s %4d samples:", osc_emit_kernel_name(k), m);
    for (int j = 0; j < OSC_TIMEFIT_VARS; j++) fprintf(stderr, " %.4g", coef[k][j]);
    fprintf(stderr, "; relative error median %.1f%%, worst %.1f%%\n", 100 * med, 100 * worst);
  }
  fprintf(out, "};\n");
  if (changed)
    fprintf(stderr, "fit_time: %d rows skipped: the emitter now picks another kernel\n",
            changed);
}

static int cmp_double(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return (u > v) - (u < v);
}

/* Layer rows predicted from their stage rows (which follow them). */
static void evaluate(const row *rows, int n) {
  static double err[MAX_ROWS], serr[MAX_ROWS];
  int m = 0, ms = 0;
  for (int i = 0; i < n; i++) {
    double pred = 0;
    int j = i + 1;
    if (strcmp(rows[i].kind, "layer")) continue;
    for (; j < n && !strcmp(rows[j].kind, "stage") && !strcmp(rows[j].layer, rows[i].layer) &&
           !strncmp(rows[i].plan, rows[j].plan, strlen(rows[j].plan));
         j++) {
      double p = predict(&rows[j]);
      pred += p;
      serr[ms++] = fabs(p - rows[j].ns) / rows[j].ns;
    }
    if (j - i - 1 != rows[i].stage) continue;   /* a stage failed to build */
    err[m] = (pred - rows[i].ns) / rows[i].ns;
    printf("%-20s %-40.40s measured %10.1f us, model %10.1f us, %+6.1f%%\n", rows[i].layer,
           rows[i].plan, rows[i].ns / 1e3, pred / 1e3, 100 * err[m]);
    err[m] = fabs(err[m]);
    m++;
  }
  if (!m) return;
  qsort(err, (size_t)m, sizeof *err, cmp_double);
  qsort(serr, (size_t)ms, sizeof *serr, cmp_double);
  printf("held-out layers: %d, relative error median %.1f%%, worst %.1f%%; their %d stages "
         "alone: median %.1f%%, worst %.1f%%\n",
         m, 100 * err[m / 2], 100 * err[m - 1], ms, 100 * serr[ms / 2], 100 * serr[ms - 1]);
}

int main(int argc, char **argv) {
  static row fit_rows[MAX_ROWS], eval_rows[MAX_ROWS];
  const char *in = NULL, *eval = NULL, *out = NULL;
  int n = 0, verbose = 0;
  FILE *o = stdout;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--eval") && i + 1 < argc) eval = argv[++i];
    else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "-v")) verbose = 1;
    else if (!in && argv[i][0] != '-') in = argv[i];
    else {
      fprintf(stderr, "usage: fit_time SWEEP.csv [--eval LAYERS.csv] [-o OUT.h] [-v]\n");
      return 2;
    }
  }
  if (!in) {
    fprintf(stderr, "usage: fit_time SWEEP.csv [--eval LAYERS.csv] [-o OUT.h] [-v]\n");
    return 2;
  }
  n = load(in, fit_rows, 0);
  if (out && !(o = fopen(out, "w"))) { perror(out); return 1; }
  fit(fit_rows, n, o);
  if (out && fclose(o)) { perror(out); return 1; }
  if (verbose)
    for (int i = 0; i < n; i++) {
      double x[OSC_TIMEFIT_VARS], p = predict(&fit_rows[i]);
      const osc_stage *s = &fit_rows[i].s;
      features(&fit_rows[i], x);
      printf("%-10s %4d->%-4d g%-4d %dx%d s%d %3dx%-3d est %10.0f moved %9.0f: %10.1f ns, "
             "model %+6.1f%%\n", fit_rows[i].kernel, s->c_in, s->c_out, s->groups, s->k_h,
             s->k_w, s->stride_h, s->h_out, s->w_out, x[0], x[1], fit_rows[i].ns,
             100 * (p - fit_rows[i].ns) / fit_rows[i].ns);
    }
  if (eval) evaluate(eval_rows, load(eval, eval_rows, 0));
  return 0;
}

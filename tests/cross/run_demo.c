/*
** run_demo.c -- runs every layer of the generated network `demo`
** (examples/default.lua) on deterministic data and writes the outputs, one
** layer after another, as raw floats: built natively and for another
** architecture (scripts/test-cross.sh runs that one under qemu-user), so the
** two builds' results can be compared byte for byte.
**
**   run_demo OUT.bin               write every layer's output
**   run_demo --compare A.bin B.bin worst relative L2 error over the layers
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

/* Values in [-1, 1) with 12 significant bits: exact in every float format,
** the same on every machine. */
static float value(unsigned long i, unsigned salt) {
  unsigned long x = (i + 1) * 2654435761ul + salt * 40503ul;
  x ^= x >> 13;
  x *= 0x5bd1e995ul;
  x ^= x >> 15;
  return (float)((long)(x & 4095) - 2048) / 2048.0f;
}

static float *filled(long n, unsigned salt) {
  float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
  if (p)
    for (long i = 0; i < n; i++) p[i] = value((unsigned long)i, salt);
  return p;
}

static int run_all(const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) { perror(path); return 1; }
  for (int l = 0; l < DEMO_N_LAYERS; l++) {
    const demo_layer_info *d = &demo_layer_table[l];
    float *in = filled(d->input_size, 1u + (unsigned)l), *w = filled(d->weights_size, 100u + (unsigned)l);
    float *out = calloc((size_t)d->output_size, sizeof *out);
    float *scratch = calloc((size_t)(d->scratch_size > 0 ? d->scratch_size : 1), sizeof *scratch);
    /* a residual layer (run is NULL there) adds a residual of its own */
    float *res = d->residual ? filled(d->output_size, 200u + (unsigned)l) : NULL;
    if (!in || !w || !out || !scratch || (d->residual && !res)) {
      fprintf(stderr, "run_demo: out of memory\n");
      return 1;
    }
    if (d->residual) d->run_residual(in, res, out, w, scratch);
    else d->run(in, out, w, scratch);
    if (fwrite(out, sizeof *out, (size_t)d->output_size, f) != (size_t)d->output_size) return 1;
    free(in); free(w); free(out); free(scratch); free(res);
  }
  return fclose(f) != 0;
}

static float *slurp(const char *path, long n) {
  float *p = malloc((size_t)n * sizeof *p);
  FILE *f = fopen(path, "rb");
  if (!p || !f || fread(p, sizeof *p, (size_t)n, f) != (size_t)n || fgetc(f) != EOF) {
    fprintf(stderr, "run_demo: %s: not %ld floats\n", path, n);
    exit(1);
  }
  fclose(f);
  return p;
}

static int compare(const char *a_path, const char *b_path) {
  long total = 0;
  for (int l = 0; l < DEMO_N_LAYERS; l++) total += demo_layer_table[l].output_size;
  float *a = slurp(a_path, total), *b = slurp(b_path, total);
  double worst = 0;
  long off = 0;
  for (int l = 0; l < DEMO_N_LAYERS; l++) {
    double num = 0, den = 0;
    for (long i = 0; i < demo_layer_table[l].output_size; i++, off++) {
      double d = (double)a[off] - b[off];
      num += d * d;
      den += (double)b[off] * b[off];
    }
    double rel = sqrt(num / (den > 0 ? den : 1));
    if (rel > worst) worst = rel;
  }
  printf("%.3g\n", worst);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2) return run_all(argv[1]);
  if (argc == 4 && strcmp(argv[1], "--compare") == 0) return compare(argv[2], argv[3]);
  fprintf(stderr, "usage: run_demo OUT.bin | run_demo --compare A.bin B.bin\n");
  return 2;
}

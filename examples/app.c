/*
** app.c -- the smallest program using an installed osconv:
**   cc app.c $(pkg-config --cflags --libs osconv) -o app
** Describe a layer, plan it, JIT-compile the plan, run it on a batch of two
** images, check the result against the reference backend, print a summary.
** Needs nothing but osconv (not even libm).
*/
#include <osconv.h>
#include <stdio.h>
#include <stdlib.h>

static float *floats(size_t n, unsigned seed) {
  float *x = malloc(n * sizeof *x);
  for (size_t i = 0; x && i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    x[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
  }
  return x;
}

int main(void) {
  osc_layer l;
  osc_plan p;
  osc_kernel *jit = NULL, *ref = NULL;
  osc_kernel_options ro = {.backend = OSC_BACKEND_REFERENCE};
  osc_kernel_info info;
  osc_error err;
  const int n = 2;
  double diff = 0, norm = 0, worst = 0;
  int status = 1;

  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "demo");
  l.in_channels = l.out_channels = 16;
  l.in_h = l.in_w = 16;
  l.k_h = l.k_w = 3;
  l.pad_h = l.pad_w = 1;
  l.bias = 1;
  l.act = OSC_ACT_RELU;   /* mode: optimal, at most 2 stages (the defaults) */
  if (osc_plan_layer(&l, &p, &err) || osc_kernel_create(&p, NULL, &jit, &err) ||
      osc_kernel_create(&p, &ro, &ref, &err)) {
    fprintf(stderr, "app: %s\n", err.msg);
    goto done;
  }
  {
    size_t out_n = n * osc_plan_output_size(&p);
    float *in = floats(n * osc_plan_input_size(&p), 1), *w = floats(osc_plan_weights_size(&p), 2);
    float *a = malloc(out_n * sizeof *a), *b = malloc(out_n * sizeof *b);
    if (!in || !w || !a || !b) {
      fprintf(stderr, "app: out of memory for the data\n");
    } else if (osc_kernel_run(jit, n, in, a, w, NULL, &err) ||
               osc_kernel_run(ref, n, in, b, w, NULL, &err)) {
      fprintf(stderr, "app: %s\n", err.msg);
    } else {
      for (size_t i = 0; i < out_n; i++) {
        double d = (double)a[i] - b[i];
        diff += d * d;
        norm += (double)b[i] * b[i];
        if (d < 0) d = -d;
        if (d > worst) worst = d;
      }
      status = diff <= 1e-10 * norm ? 0 : 1;   /* relative L2 error below 1e-5 */
    }
    free(in), free(w), free(a), free(b);
  }
  osc_kernel_get_info(jit, &info);
  printf("osconv %s: %d stages, %lld MACs per image, backend %s, code %zu bytes, "
         "compile %.2f ms, largest difference from the reference %.2e: %s\n",
         OSC_VERSION, p.n_stages, (long long)p.macs, osc_backend_name(info.backend),
         info.code_size, info.compile_ms, worst, status ? "FAIL" : "ok");
done:
  osc_kernel_free(jit);
  osc_kernel_free(ref);
  return status;
}

/*
** fuzz_emit.c -- libFuzzer target for what `osconv gen` does after loading:
** any bytes run as a sandboxed config (fuzz.h), then, as in cmd_gen.c,
** osc_emit_check_config, every layer planned, osc_emit_check_network, and
** each network emitted as C source into memory (nothing is compiled). Then
** every planned layer is emitted once more with unroll knobs and a forced
** stage kernel drawn from a hash of the input, and once for AVX-512 with
** its pointwise runs fused in blocks of 1..512 pixels (gen/x86/oscfuse.h),
** also drawn from the hash, and once with every pair of pointwise stages
** that can be fused in registers (gen/x86/oscregfuse.h).
**
** Properties: no crash, leak or UB; every refusal says "fuzz.lua:" first;
** a network that passes the checks emits (the README's promise that what
** `check` passes generates), and its .c defines each layer's function.
**
** Bounded work: the first FUZZ_LAYERS layers of the config are planned,
** network by network, until planning has used FUZZ_PLAN_SECONDS of CPU;
** a network planned in full is emitted, the rest is only loaded. Under
** ASan + UBSan a search runs about 25 times slower than plain (10 s for
** the largest layer the search takes on, 16380 channels, 7x7, 16 stages),
** and this keeps an input within the per-input timeout. Planning and
** emitting 100000 layers is a question of budgets, not of memory safety,
** and has its own tests.
*/
#include <time.h>

#include "fuzz.h"
#include "oscemit.h"
#include "oscisa.h"

#define FUZZ_LAYERS 4
#define FUZZ_PLAN_SECONDS 2.0

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* FNV-1a: the same input always draws the same knobs. */
static uint64_t hash(const uint8_t *data, size_t size) {
  uint64_t h = 14695981039346656037u;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211u;
  return h;
}

/* The next `bits` bits of the hash. */
static int take(uint64_t *h, int bits) {
  int v = (int)(*h & ((1u << bits) - 1));
  *h >>= bits;
  return v;
}

/* Knobs in the ranges osc_emit_layer_knobs accepts, so emitting must succeed. */
static osc_emit_knobs draw_knobs(uint64_t h) {
  static const char *const kernels[] = {NULL, "direct", "unrolled", "pointwise", "depthwise"};
  osc_emit_knobs k = {0};
  uint64_t g = h * 0x9e3779b97f4a7c15ull;                 /* more bits, for the code variant */
  k.simd_oct = take(&g, 4) % 9;                           /* 0 (the ISA's)..8 */
  k.simd_pv = take(&g, 4) % 9;
  k.simd_body = take(&g, 1) ? 0 : 32 + take(&g, 12) % 4065;   /* 0 (480), or 32..4096 */
  k.simd_split = take(&g, 2) % 3 - 1;                     /* never, the cost's, always */
  k.max_expr_terms = 1 + take(&h, 7);                     /* 1..128 */
  k.max_body_terms = 1 + take(&h, 10);                    /* 1..1024 */
  k.full_unroll_terms = take(&h, 1) ? -1 : take(&h, 11);  /* never, or 0 (default)..2047 */
  k.max_oc_block = 1 + take(&h, 3);                       /* 1..8 */
  k.max_px_block = 1 + take(&h, 3);
  k.kernel = kernels[take(&h, 3) % 5];
  k.max_border_terms = take(&h, 1) ? -1 : take(&h, 12);   /* none, or 0 (default)..4095 */
  return k;
}

static int has_definition(const osc_buf *c, const char *prefix) {
  char decl[2 * OSC_NAME_MAX + 16];
  snprintf(decl, sizeof decl, "void %s(", prefix);
  return strstr(c->data, decl) != NULL;
}

static void emit_network(const osc_network *net, const osc_plan *plans) {
  osc_buf c, h;
  osc_error err;
  osc_buf_init(&c);
  osc_buf_init(&h);
  FUZZ_CHECK(osc_emit_network(net, plans, &c, &h, &err) == OSC_OK);
  FUZZ_CHECK(!osc_buf_failed(&c) && !osc_buf_failed(&h) && c.len > 0 && h.len > 0);
  FUZZ_CHECK(strlen(c.data) == c.len && strlen(h.data) == h.len);
  for (int i = 0; i < net->n_layers; i++) {
    char prefix[2 * OSC_NAME_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s_%s", net->name, net->layers[i].name);
    FUZZ_CHECK(has_definition(&c, prefix));
  }
  osc_buf_free(&c);
  osc_buf_free(&h);
}

static void emit_with_knobs(const osc_plan *p, const osc_emit_knobs *k, int block) {
  osc_emit_options o = {"fuzz_layer", 1, OSC_ISA_AUTO};
  osc_buf c;
  osc_error err;
  osc_buf_init(&c);
  FUZZ_CHECK(osc_emit_layer_knobs(p, &o, k, &c, &err) == OSC_OK);
  FUZZ_CHECK(!osc_buf_failed(&c) && has_definition(&c, "fuzz_layer"));
  osc_buf_free(&c);
  osc_buf_init(&c);
  o.isa = OSC_ISA_AVX512;
  FUZZ_CHECK(osc_emit_layer_fuse(p, &o, k, block, &c, &err) == OSC_OK);
  FUZZ_CHECK(!osc_buf_failed(&c) && has_definition(&c, "fuzz_layer"));
  osc_buf_free(&c);
  osc_buf_init(&c);   /* every pair that fuses in registers (-2, gen/x86/oscregfuse.h) */
  FUZZ_CHECK(osc_emit_layer_fuse(p, &o, k, -2, &c, &err) == OSC_OK);
  FUZZ_CHECK(!osc_buf_failed(&c) && has_definition(&c, "fuzz_layer"));
  osc_buf_free(&c);
}

/* deadline: in CPU seconds; past it, the network is only loaded */
static void plan_and_emit(const osc_network *net, const osc_emit_knobs *k, int block,
                          double deadline) {
  osc_plan *plans = calloc((size_t)net->n_layers, sizeof *plans);
  osc_error err;
  osc_status s = OSC_OK;
  FUZZ_CHECK(plans != NULL);
  for (int i = 0; i < net->n_layers && !s; i++) {
    if (cpu_seconds() > deadline) {
      free(plans);
      return;
    }
    s = osc_plan_layer(&net->layers[i], &plans[i], &err);
  }
  if (!s) s = osc_emit_check_network(net, plans, &err);
  if (s) {
    FUZZ_CHECK_MESSAGE(&err, "fuzz.lua");
  } else {
    emit_network(net, plans);
    for (int i = 0; i < net->n_layers; i++) emit_with_knobs(&plans[i], k, block);
  }
  free(plans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  osc_config_options opt = fuzz_config_options();
  osc_emit_knobs knobs = draw_knobs(hash(data, size));
  int block = 1 + (int)(hash(data, size) >> 55);   /* 1..512: bits draw_knobs leaves */
  int layers = FUZZ_LAYERS;   /* still to plan */
  double deadline;
  osc_config *cfg;
  osc_error err;
  if (osc_config_load_buffer("fuzz.lua", (const char *)data, size, &opt, &cfg, &err)) return 0;
  if (osc_emit_check_config(cfg, &err) == OSC_OK) {
    deadline = cpu_seconds() + FUZZ_PLAN_SECONDS;
    for (int i = 0; i < cfg->n_networks && layers > 0; i++) {
      osc_network *net = &cfg->networks[i];
      if (net->n_layers > layers) net->n_layers = layers;   /* layers[] is freed whole */
      layers -= net->n_layers;
      plan_and_emit(net, &knobs, block, deadline);
    }
  } else {
    FUZZ_CHECK_MESSAGE(&err, "fuzz.lua");
  }
  osc_config_free(cfg);
  return 0;
}

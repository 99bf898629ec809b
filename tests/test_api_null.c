/*
** test_api_null.c -- every function of osconv.h given NULL for each of its
** pointer arguments does what osconv.h says: no crash, OSC_EINVAL (with a
** message) where a pointer is needed, nothing written through the others.
*/
#define _DEFAULT_SOURCE   /* mkstemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osc_test.h"
#include "osconv.h"

#define SRC "network { name = 'n' }\n" \
            "conv { name = 'a', in_channels = 2, out_channels = 2, size = 4, kernel = 3 }\n"

/* st is OSC_EINVAL and err says so with a message. */
static int einval(osc_status st, const osc_error *err) {
  return st == OSC_EINVAL && err->code == OSC_EINVAL && err->msg[0] != '\0';
}

static osc_layer small_layer(void) {
  osc_layer l;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "a");
  l.in_channels = l.out_channels = 2;
  l.in_h = l.in_w = 4;
  l.k_h = l.k_w = 3;
  return l;
}

static void test_layers_and_names(void) {
  osc_layer l = small_layer();
  osc_mode m = OSC_MODE_SPATIAL;
  osc_objective o = OSC_OBJ_PARAMS;
  osc_error err;
  osc_layer_init(NULL);
  CU_ASSERT(einval(osc_layer_validate(NULL, &err), &err));
  CU_ASSERT_EQUAL(osc_layer_validate(NULL, NULL), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_layer_out_h(NULL), 0);
  CU_ASSERT_EQUAL(osc_layer_out_w(NULL), 0);
  CU_ASSERT_EQUAL(osc_layer_out_h(&l), 2);
  CU_ASSERT_EQUAL(osc_mode_from_name(NULL, &m), -1);
  CU_ASSERT_EQUAL(m, OSC_MODE_SPATIAL);
  CU_ASSERT_EQUAL(osc_mode_from_name("optimal", NULL), -1);
  CU_ASSERT_EQUAL(osc_objective_from_name(NULL, &o), -1);
  CU_ASSERT_EQUAL(o, OSC_OBJ_PARAMS);
  CU_ASSERT_EQUAL(osc_objective_from_name("macs", NULL), -1);
  CU_ASSERT_EQUAL(osc_mode_from_name("depthwise", &m), 0);
  CU_ASSERT_EQUAL(m, OSC_MODE_DEPTHWISE);
}

static void test_plans(void) {
  osc_layer l = small_layer();
  osc_plan p;
  osc_error err;
  CU_ASSERT(einval(osc_plan_layer(NULL, &p, &err), &err));
  CU_ASSERT(einval(osc_plan_layer(&l, NULL, &err), &err));
  CU_ASSERT(einval(osc_plan_layer_mode(NULL, OSC_MODE_SPATIAL, &p, &err), &err));
  CU_ASSERT(einval(osc_plan_layer_mode(&l, OSC_MODE_SPATIAL, NULL, &err), &err));
  CU_ASSERT_EQUAL(osc_plan_layer(&l, NULL, NULL), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_plan_input_size(NULL), 0);
  CU_ASSERT_EQUAL(osc_plan_output_size(NULL), 0);
  CU_ASSERT_EQUAL(osc_plan_weights_size(NULL), 0);
  CU_ASSERT_EQUAL(osc_plan_scratch_size(NULL), 0);
  CU_ASSERT_EQUAL(osc_plan_stage_weights_offset(NULL, 1), 0);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &p, NULL), OSC_OK);
  CU_ASSERT_EQUAL(osc_plan_input_size(&p), 32);
}

static void test_configs(void) {
  char path[] = "/tmp/osconv-null-XXXXXX";
  int fd = mkstemp(path);
  osc_config *cfg = (osc_config *)1;
  const osc_network *net = NULL;
  osc_error err;
  CU_ASSERT_FATAL(fd >= 0 && write(fd, SRC, strlen(SRC)) == (ssize_t)strlen(SRC));
  close(fd);
  CU_ASSERT(einval(osc_config_load(NULL, NULL, &cfg, &err), &err));
  CU_ASSERT_PTR_NULL(cfg);
  CU_ASSERT(einval(osc_config_load(path, NULL, NULL, &err), &err));
  cfg = (osc_config *)1;
  CU_ASSERT(einval(osc_config_load_string("x.lua", NULL, NULL, &cfg, &err), &err));
  CU_ASSERT_PTR_NULL(cfg);
  CU_ASSERT(einval(osc_config_load_string("x.lua", SRC, NULL, NULL, &err), &err));
  cfg = (osc_config *)1;
  CU_ASSERT(einval(osc_config_load_buffer("x.lua", NULL, 0, NULL, &cfg, &err), &err));
  CU_ASSERT_PTR_NULL(cfg);
  CU_ASSERT(einval(osc_config_load_buffer("x.lua", NULL, 10, NULL, &cfg, &err), &err));
  CU_ASSERT(einval(osc_config_load_buffer("x.lua", SRC, strlen(SRC), NULL, NULL, &err), &err));
  osc_config_free(NULL);
  /* a NULL name stands as "config"; opt and net may be NULL */
  CU_ASSERT_EQUAL_FATAL(osc_config_load_string(NULL, SRC, NULL, &cfg, &err), OSC_OK);
  CU_ASSERT_STRING_EQUAL(cfg->file, "config");
  osc_config_free(cfg);
  CU_ASSERT_EQUAL_FATAL(osc_config_load_buffer(NULL, SRC, strlen(SRC), NULL, &cfg, NULL), OSC_OK);
  CU_ASSERT_STRING_EQUAL(cfg->file, "config");
  CU_ASSERT_PTR_NULL(osc_config_find_layer(NULL, "a", &net));
  CU_ASSERT_PTR_NULL(osc_config_find_layer(cfg, NULL, &net));
  CU_ASSERT_PTR_NULL(net);
  CU_ASSERT_PTR_NOT_NULL(osc_config_find_layer(cfg, "n.a", NULL));
  osc_config_free(cfg);
  CU_ASSERT_EQUAL_FATAL(osc_config_load(path, NULL, &cfg, NULL), OSC_OK);
  osc_config_free(cfg);
  unlink(path);
}

static void test_kernels(void) {
  osc_layer l = small_layer();
  osc_kernel_options ref = {.backend = OSC_BACKEND_REFERENCE};
  osc_kernel *k = (osc_kernel *)1;
  osc_kernel_info info;
  osc_cache_stats stats;
  osc_plan p;
  osc_error err;
  float in[32], w[36], out[8], scratch[1];
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, OSC_MODE_CONVENTIONAL, &p, NULL), OSC_OK);
  CU_ASSERT(einval(osc_kernel_create(NULL, &ref, &k, &err), &err));
  CU_ASSERT_PTR_NULL(k);
  CU_ASSERT(einval(osc_kernel_create(&p, &ref, NULL, &err), &err));
  CU_ASSERT_EQUAL(osc_kernel_create(NULL, NULL, NULL, NULL), OSC_EINVAL);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, NULL, &k, &err), OSC_OK);   /* opt NULL: JIT */
  CU_ASSERT_EQUAL(osc_kernel_backend(k), OSC_BACKEND_JIT);
  for (int i = 0; i < 32; i++) in[i] = (float)i;
  for (int i = 0; i < 36; i++) w[i] = 1.0f;
  for (int i = 0; i < 8; i++) out[i] = -7.0f;
  CU_ASSERT(einval(osc_kernel_run(NULL, 1, in, out, w, NULL, &err), &err));
  CU_ASSERT(einval(osc_kernel_run(k, 1, NULL, out, w, NULL, &err), &err));
  CU_ASSERT(einval(osc_kernel_run(k, 1, in, NULL, w, NULL, &err), &err));
  CU_ASSERT(einval(osc_kernel_run(k, 1, in, out, NULL, NULL, &err), &err));
  CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in, out, NULL, NULL, NULL), OSC_EINVAL);
  CU_ASSERT(einval(osc_kernel_run_residual(NULL, 1, in, out, out, w, NULL, &err), &err));
  CU_ASSERT(einval(osc_kernel_run_residual(k, 1, in, NULL, out, w, NULL, &err), &err));
  CU_ASSERT_EQUAL(osc_kernel_run_residual(k, 1, NULL, NULL, NULL, NULL, NULL, NULL), OSC_EINVAL);
  for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(out[i], -7.0f);   /* nothing written */
  CU_ASSERT_EQUAL(osc_kernel_run(k, 0, NULL, NULL, NULL, NULL, &err), OSC_OK);
  /* scratch NULL (this plan needs none) and err NULL: it runs. Output 0
  ** sums the 3x3 windows at the corner of both input planes (in[i] = i,
  ** weights 1): 9 times their centres 5 and 21 */
  CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in, out, w, NULL, NULL), OSC_OK);
  CU_ASSERT_EQUAL(out[0], 9 * 5 + 9 * 21);
  CU_ASSERT_EQUAL(osc_kernel_run(k, 1, in, out, w, scratch, NULL), OSC_OK);
  {   /* osc_kernel_pack: NULL or overlapping buffers refused, nothing written; a
      ** kernel without oc_lanes copies */
    float pk[36];
    for (int i = 0; i < 36; i++) pk[i] = -7.0f;
    CU_ASSERT(einval(osc_kernel_pack(NULL, w, pk, &err), &err));
    CU_ASSERT(einval(osc_kernel_pack(k, NULL, pk, &err), &err));
    CU_ASSERT(einval(osc_kernel_pack(k, w, NULL, &err), &err));
    CU_ASSERT(einval(osc_kernel_pack(k, w, w + 1, &err), &err));
    CU_ASSERT_EQUAL(osc_kernel_pack(k, w, NULL, NULL), OSC_EINVAL);
    CU_ASSERT_EQUAL(pk[0], -7.0f);
    CU_ASSERT_EQUAL(osc_kernel_packs(NULL), 0);
    CU_ASSERT_EQUAL(osc_kernel_packs(k), 0);
    CU_ASSERT_EQUAL(osc_kernel_pack(k, w, pk, NULL), OSC_OK);
    CU_ASSERT(memcmp(pk, w, sizeof pk) == 0);
  }
  CU_ASSERT_EQUAL(osc_kernel_backend(NULL), OSC_BACKEND_NONE);
  CU_ASSERT_STRING_EQUAL(osc_backend_name(OSC_BACKEND_NONE), "none");
  CU_ASSERT_PTR_NULL(osc_kernel_plan(NULL));
  CU_ASSERT_PTR_NOT_NULL(osc_kernel_plan(k));
  memset(&info, 0x5a, sizeof info);
  osc_kernel_get_info(NULL, &info);
  CU_ASSERT(info.backend == OSC_BACKEND_NONE && info.fallback == NULL && info.code_size == 0 &&
            info.cache_hit == 0);
  osc_kernel_get_info(k, NULL);
  osc_cache_get_stats(NULL);
  osc_cache_get_stats(&stats);
  osc_kernel_free(k);
  osc_kernel_free(NULL);
}

static CU_TestInfo tests[] = {
    {"layers and names", test_layers_and_names},
    {"plans", test_plans},
    {"configs", test_configs},
    {"kernels and the cache", test_kernels},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("api-null", tests)

/*
** test_layer.c -- the C API's checks of a hand-filled osc_layer: every
** out-of-range field is an OSC_EINVAL with a message naming it, never a
** crash (the ASan run reads past nothing).
*/
#include <string.h>

#include "osc_test.h"
#include "osconv.h"

static void base_layer(osc_layer *l) {
  osc_layer_init(l);
  strcpy(l->name, "t");
  l->in_channels = l->out_channels = 8;
  l->in_h = l->in_w = 6;
  l->k_h = l->k_w = 3;
  l->pad_h = l->pad_w = 1;
}

/* Plan the layer; expect `code` and a message containing `words`. */
static void expect(const osc_layer *l, osc_status code, const char *words) {
  osc_plan p;
  osc_error e;
  memset(&e, 0, sizeof e);
  CU_ASSERT_EQUAL(osc_plan_layer(l, &p, &e), code);
  CU_ASSERT_EQUAL(e.code, code);
  CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, words));
  if (!strstr(e.msg, words)) fprintf(stderr, "\n  got: %s (want '%s')\n", e.msg, words);
}

static void test_fields_out_of_range(void) {
  osc_layer l;
  osc_plan p;
  base_layer(&l);
  CU_ASSERT_EQUAL(osc_plan_layer(&l, &p, NULL), OSC_OK);   /* the base is fine */
  base_layer(&l); l.bias = 5;                 expect(&l, OSC_EINVAL, "bias must be 0 or 1");
  base_layer(&l); l.act = (osc_activation)7;  expect(&l, OSC_EINVAL, "unknown activation 7");
  base_layer(&l); l.objective = (osc_objective)9; expect(&l, OSC_EINVAL, "unknown objective 9");
  base_layer(&l); l.mode = (osc_mode)-1;      expect(&l, OSC_EINVAL, "unknown mode -1");
  base_layer(&l); l.mode = OSC_MODE_COUNT;    expect(&l, OSC_EINVAL, "unknown mode");
  base_layer(&l); l.n_widths = 40;            expect(&l, OSC_EINVAL, "n_widths must be between 0 and 8");
  base_layer(&l); l.n_widths = -1;            expect(&l, OSC_EINVAL, "n_widths");
  base_layer(&l); l.n_fixed = 99; l.mode = OSC_MODE_FIXED;
  expect(&l, OSC_EINVAL, "n_fixed must be between 0 and 16");
  base_layer(&l); memset(l.name, 'x', sizeof l.name);
  expect(&l, OSC_EINVAL, "at most 63 characters");
  base_layer(&l); l.in_channels = 0;          expect(&l, OSC_EINVAL, "in_channels must be between 1");
  base_layer(&l); l.groups = 3;               expect(&l, OSC_EINVAL, "groups 3 does not divide in_channels 8");
  base_layer(&l); l.mode = OSC_MODE_FIXED;    expect(&l, OSC_ENOPLAN, "needs a list of stages");
  base_layer(&l); l.k_h = 9;                  expect(&l, OSC_EINVAL, "kernel 9x3 is larger than the padded input 8x8");
}

static void test_null_arguments(void) {
  osc_layer l;
  osc_plan p;
  osc_error e;
  base_layer(&l);
  osc_layer_init(NULL);   /* harmless */
  CU_ASSERT_EQUAL(osc_plan_layer(NULL, &p, &e), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_plan_layer(&l, NULL, &e), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_layer_validate(NULL, &e), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_plan_layer_mode(&l, OSC_MODE_COUNT, &p, &e), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_plan_layer(&l, &p, NULL), OSC_OK);   /* err may be NULL */
}

static CU_TestInfo tests[] = {
    {"fields out of range", test_fields_out_of_range},
    {"NULL arguments", test_null_arguments},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("layer", tests)

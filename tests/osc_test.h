/*
** osc_test.h -- CUnit glue: every test file registers its suite with
** OSC_SUITE, so adding a file never means editing a central list.
*/
#ifndef OSC_TEST_H
#define OSC_TEST_H

#include <CUnit/CUnit.h>
#include <stdint.h>

void osc_test_add_suite(const char *name, CU_TestInfo *tests);

#define OSC_SUITE(name, tests)                                       \
  __attribute__((constructor)) static void osc_register_suite(void) { \
    osc_test_add_suite(name, tests);                                 \
  }

/* Seeded generator for random specs: OSCONV_TEST_SEED overrides the seed. */
uint64_t osc_test_seed(void);
uint32_t osc_test_rand(uint64_t *state);
int osc_test_range(uint64_t *state, int lo, int hi); /* inclusive */
/* 1 under OSCONV_TEST_QUICK (the sanitizer run): use fewer random cases. */
int osc_test_quick(void);

#endif

/*
** main.c -- the CUnit runner. `osconv-tests [SUBSTRING]` runs the suites
** whose name contains SUBSTRING. Exits non-zero on any failure.
*/
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osc_test.h"

#define MAX_SUITES 64
static struct { const char *name; CU_TestInfo *tests; } suites[MAX_SUITES];
static int n_suites;

void osc_test_add_suite(const char *name, CU_TestInfo *tests) {
  if (n_suites == MAX_SUITES) {
    fprintf(stderr, "too many suites; raise MAX_SUITES\n");
    exit(2);
  }
  suites[n_suites].name = name;
  suites[n_suites].tests = tests;
  n_suites++;
}

uint64_t osc_test_seed(void) {
  const char *s = getenv("OSCONV_TEST_SEED");
  return s ? strtoull(s, NULL, 0) : 20261126u;
}

uint32_t osc_test_rand(uint64_t *state) {
  /* splitmix64: small, good enough for picking shapes */
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}

int osc_test_range(uint64_t *state, int lo, int hi) {
  return lo + (int)(osc_test_rand(state) % (uint32_t)(hi - lo + 1));
}

int osc_test_quick(void) {
  const char *s = getenv("OSCONV_TEST_QUICK");
  return s && *s && strcmp(s, "0") != 0;
}

int main(int argc, char **argv) {
  const char *filter = argc > 1 ? argv[1] : NULL;
  unsigned failed_tests, failed_asserts, run_tests;
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  for (int i = 0; i < n_suites; i++) {
    if (filter && !strstr(suites[i].name, filter)) continue;
    CU_pSuite s = CU_add_suite(suites[i].name, NULL, NULL);
    for (CU_TestInfo *t = suites[i].tests; s && t->pName; t++)
      CU_add_test(s, t->pName, t->pTestFunc);
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  /* read the counts before CU_cleanup_registry() resets them */
  failed_tests = CU_get_number_of_tests_failed();
  failed_asserts = CU_get_number_of_failures();
  run_tests = CU_get_number_of_tests_run();
  CU_cleanup_registry();
  if (run_tests == 0) {
    fprintf(stderr, "no test ran\n");
    return 1;
  }
  return failed_tests || failed_asserts ? 1 : 0;
}

/*
** test_tmpl.c -- the template language (osctmpl.h): substitution, code
** lines, the helpers, and errors that name the template line.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osc_test.h"
#include "osctmpl.h"

/* Expand `text` with params; returns the output (caller frees) or NULL
** with *st and err set. */
static char *expand(const char *text, const osc_tmpl_params *ps, osc_status *st, osc_error *err) {
  osc_buf b;
  osc_buf_init(&b);
  *st = osc_tmpl_expand_text("t.c.in", text, ps, &b, err);
  if (*st) {
    osc_buf_free(&b);
    return NULL;
  }
  return osc_buf_take(&b);
}

static void expect(const char *text, const osc_tmpl_params *ps, const char *want) {
  osc_status st;
  osc_error err;
  char *got = expand(text, ps, &st, &err);
  if (!got || strcmp(got, want) != 0)
    fprintf(stderr, "\n--- template:\n%s--- got:\n%s--- want:\n%s---\n", text,
            got ? got : err.msg, want);
  CU_ASSERT_PTR_NOT_NULL(got);
  if (got) CU_ASSERT_STRING_EQUAL(got, want);
  free(got);
}

static void expect_error(const char *text, const char *want) {
  osc_status st;
  osc_error err;
  char *got = expand(text, NULL, &st, &err);
  CU_ASSERT_PTR_NULL(got);
  CU_ASSERT_EQUAL(st, OSC_EINTERNAL);
  if (st == OSC_EINTERNAL && !strstr(err.msg, want))
    fprintf(stderr, "\nerror '%s' lacks '%s'\n", err.msg, want);
  CU_ASSERT(st == OSC_EINTERNAL && strstr(err.msg, want) != NULL);
  free(got);
}

static void test_substitution(void) {
  osc_tmpl_params ps;
  long long v[3] = {4, 5, 6};
  const char *names[2] = {"in", "out"};
  osc_tmpl_params_init(&ps);
  osc_tmpl_int(&ps, "n", 3);
  osc_tmpl_str(&ps, "name", "conv");
  osc_tmpl_ints(&ps, "v", v, 3);
  osc_tmpl_strs(&ps, "bufs", names, 2);
  expect("int ${name}_${n} = ${n * 2 + 1};\n", &ps, "int conv_3 = 7;\n");
  expect("a ${v[1]}${v[3]} ${#v} ${bufs[2]}\n", &ps, "a 46 3 out\n");
  expect("$for i = 0, n - 1 do\nx[${i}] = ${v[i + 1]};\n$end\n", &ps,
         "x[0] = 4;\nx[1] = 5;\nx[2] = 6;\n");
  /* a `$` line may be indented; braces and quotes inside ${} */
  expect("  $local t = {a = '}'}\n${t.a}${#{1, 2}}\n", &ps, "}2\n");
  /* a multi-line value keeps its line's indentation; blank lines are dropped */
  expect("    ${'a;\\nb;'}\n  ${''}\nend\n", &ps, "    a;\n    b;\nend\n");
  /* no newline at the end stays without one */
  expect("x${n}", &ps, "x3");
}

static void test_helpers(void) {
  osc_tmpl_params ps;
  osc_tmpl_params_init(&ps);
  osc_tmpl_int(&ps, "max_expr_terms", 3);
  expect("${sum({'a', 'b', 'c'})}|${sum({})}\n", &ps, "a + b + c|0.0f\n");
  expect("  ${assign('acc', {'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'}, '=')}\n", &ps,
         "  acc = p1 + p2 + p3;\n  acc += p4 + p5 + p6;\n  acc += p7;\n");
  expect("${assign('acc', {}, '=')}|\n${assign('acc', {}, '+=')}\n", &ps, "acc = 0.0f;|\n");
  expect("${lin(0, 'oh', 9, 'ow', 1)} ${lin(-10, 'p', 1)} ${lin(5, 'x', 0)} ${lin(3)}\n", &ps,
         "oh * 9 + ow p - 10 5 3\n");
  expect("${ptr('x', '0')} ${ptr('x', 'p')} ${ptr('x', 'p - 1')}\n", &ps,
         "x x + p x + (p - 1)\n");
  expect("${cat(range(2, 5), ',')}\n", &ps, "2,3,4\n");
  /* products are summed in parenthesised groups of sum_group (4) */
  expect("${sum({'a', 'b', 'c', 'd', 'e', 'f'})}\n", &ps, "(a + b + c + d) + (e + f)\n");
  expect("${sum({'a', 'b', 'c', 'd', 'e'})}\n", &ps, "(a + b + c + d) + e\n");
  /* long sums wrap before line_width */
  {
    osc_status st;
    osc_error err;
    char *got = expand("$line_width, sum_group = 20, 1\n"
                       "${sum({'aaaa', 'bbbb', 'cccc', 'dddd', 'eeee'})}\n", &ps, &st, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "aaaa + bbbb + cccc +\n    dddd + eeee\n");
    free(got);
  }
}

static void test_errors(void) {
  osc_tmpl_params ps;
  osc_buf b;
  osc_error err;
  expect_error("ok\n$local = 3\nx\n", "t.c.in:2:");                      /* syntax */
  expect_error("ok\nok\n$local x = nil + 1\n", "t.c.in:3:");           /* runtime */
  expect_error("a\n${nope}\n", "t.c.in:2: undefined name 'nope'");
  expect_error("$local x\n${x}\n", "t.c.in:2: ${x} is nil");
  expect_error("${7 / 2}\n", "t.c.in:1: ${7 / 2} is the float 3.5");
  expect_error("${true}\n", "is boolean");
  expect_error("a\nb ${x\n", "t.c.in:2: '${' without its '}'");
  expect_error("${assign('a', nil, '=')}\n", "t.c.in:1:");             /* inside a helper */
  /* nothing that reaches files or the process */
  expect_error("$local f = io\n", "undefined name 'io'");
  expect_error("$local f = os\n", "undefined name 'os'");
  expect_error("$dofile('/etc/passwd')\n", "t.c.in:1:");
  /* a missing embedded template, too many parameters */
  osc_buf_init(&b);
  CU_ASSERT_EQUAL(osc_tmpl_expand("none.c.in", NULL, &b, &err), OSC_EINTERNAL);
  CU_ASSERT(strstr(err.msg, "none.c.in") != NULL);
  osc_tmpl_params_init(&ps);
  for (int i = 0; i <= OSC_TMPL_MAX_PARAMS; i++) osc_tmpl_int(&ps, "x", i);
  CU_ASSERT_EQUAL(osc_tmpl_expand_text("t.c.in", "x\n", &ps, &b, &err), OSC_EINTERNAL);
  osc_buf_free(&b);
}

static void test_embedded(void) {
  const char *names[] = {"layer.c.in", "network.c.in", "network_header.c.in",
                         "stage_direct.c.in", "stage_unrolled.c.in"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    CU_ASSERT_PTR_NOT_NULL(osc_tmpl_find(names[i]));
}

/* osc_buf_printf into the room left and across every growth (one
** vsnprintf when it fits, two when it grows): the text a plain snprintf
** into one big array makes. */
static void test_buf_printf(void) {
  static char want[80000];   /* about 41000 used */
  size_t n = 0;
  osc_buf b;
  osc_buf_init(&b);
  for (int i = 0; i < 3000; i++) {
    const char *pad = i % 7 ? "" : "a longer piece, now and then, of some forty chars";
    osc_buf_printf(&b, "%d%s,", i * 37, pad);
    n += (size_t)snprintf(want + n, sizeof want - n, "%d%s,", i * 37, pad);
  }
  CU_ASSERT_FALSE(osc_buf_failed(&b));
  CU_ASSERT_EQUAL(b.len, n);
  CU_ASSERT(b.data && strlen(b.data) == n && !strcmp(b.data, want));
  osc_buf_free(&b);
}

static CU_TestInfo tests[] = {
    {"substitution and code lines", test_substitution},
    {"helpers", test_helpers},
    {"errors name the line", test_errors},
    {"embedded templates", test_embedded},
    {"osc_buf_printf across growth", test_buf_printf},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("tmpl", tests)

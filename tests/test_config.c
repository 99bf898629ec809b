/*
** test_config.c -- the Lua config loader, its sandbox, the examples and
** `osconv check`. Expected messages are written out in full: they are the
** interface a user sees. Architecture figures come from the papers and an
** independent count (see each test), not from the loader.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osc_cli.h"
#include "osc_test.h"
#include "osconv.h"
#include "oscplan.h"

#define SHAPE "in_channels = 8, out_channels = 8, size = 8"

static osc_config *load(const char *src, const osc_config_options *opt) {
  osc_config *c = (osc_config *)1;
  osc_error e;
  osc_status s = osc_config_load_string("t.lua", src, opt, &c, &e);
  if (s) fprintf(stderr, "\nunexpected error: %s\n", e.msg);
  CU_ASSERT_EQUAL(s, OSC_OK);
  return s ? NULL : c;
}

/* Loading `src` fails with exactly `code` and `msg`, and returns nothing. */
static void expect_error_opt(const char *name, const char *src, const osc_config_options *opt,
                             osc_status code, const char *msg) {
  osc_config *c = (osc_config *)1;
  osc_error e;
  osc_status s = osc_config_load_string(name, src, opt, &c, &e);
  if (s != code || strcmp(e.msg, msg) != 0)
    fprintf(stderr, "\nsource:   %s\nexpected: [%s] %s\ngot:      [%s] %s\n", src,
            osc_status_name(code), msg, osc_status_name(s), s ? e.msg : "(loaded)");
  CU_ASSERT_EQUAL(s, code);
  CU_ASSERT_STRING_EQUAL(e.msg, msg);
  CU_ASSERT_EQUAL(e.code, code);
  CU_ASSERT_PTR_NULL(c);
  if (!s) osc_config_free(c);
}

static void expect_error(const char *src, osc_status code, const char *msg) {
  expect_error_opt("t.lua", src, NULL, code, msg);
}

/* ---- error classes --------------------------------------------------------- */

static const struct { const char *src, *msg; } config_errors[] = {
    /* Lua's own syntax and runtime errors */
    {"conv { " SHAPE ", kernel = 3 ", "t.lua:1: '}' expected near <eof>"},
    {"local x\n\nx.y = 1", "t.lua:3: attempt to index a nil value (local 'x')"},
    {"\nerror('boom')", "t.lua:2: boom"},
    {"\n\nerror('no position', 0)", "t.lua:3: no position"},
    {"error({})", "t.lua:1: (error object is a table value)"},
    {"local f = load('error(\"inner\")')\nf()", "t.lua:2: [string \"error(\"inner\")\"]:1: inner"},
    /* fields */
    {"conv { " SHAPE ", kernel = 3, strid = 2 }",
     "t.lua:1: layer 'conv1': unknown field 'strid' (did you mean 'stride'?)"},
    {"conv { " SHAPE ", kernel = 3, kernel_size = 3 }",
     "t.lua:1: layer 'conv1': unknown field 'kernel_size' (did you mean 'kernel'?)"},
    {"conv { " SHAPE ", kernel = 3, act = 'relu' }",
     "t.lua:1: layer 'conv1': unknown field 'act' (did you mean 'activation'?)"},
    {"conv { " SHAPE ", kernel = 3, colour = 'red' }",
     "t.lua:1: layer 'conv1': unknown field 'colour'"},
    {"conv { " SHAPE ", kernel = 3, dilation = 2 }",
     "t.lua:1: layer 'conv1': dilation is not supported"},
    {"conv { " SHAPE ", kernel = 3, 5 }",
     "t.lua:1: layer 'conv1': fields need names (like kernel = 3), got a value at position 1"},
    {"network { kernal = 3 }",
     "t.lua:1: network 't': unknown field 'kernal' (did you mean 'kernel'?)"},
    {"conv { " SHAPE ", kernel = 3, stages = {{kernel = {3, 1}, group = 8}} }",
     "t.lua:1: layer 'conv1': stages[1]: unknown field 'group' (did you mean 'groups'?)"},
    /* types */
    {"conv { " SHAPE ", kernel = 'x' }",
     "t.lua:1: layer 'conv1': kernel must be a number or {height, width}, got string"},
    {"conv { " SHAPE ", kernel = {1, 2, 3} }",
     "t.lua:1: layer 'conv1': kernel must be a number or {height, width}, got a table that is "
     "not a list of two numbers"},
    {"conv { " SHAPE ", kernel = {3, 'x'} }",
     "t.lua:1: layer 'conv1': kernel width must be a number, got string"},
    {"conv { " SHAPE ", kernel = 2.5 }",
     "t.lua:1: layer 'conv1': kernel must be a whole number, got 2.5"},
    {"conv { in_channels = '8', out_channels = 8, size = 8, kernel = 3 }",
     "t.lua:1: layer 'conv1': in_channels must be a number, got string"},
    {"conv { " SHAPE ", kernel = 3, bias = 1 }",
     "t.lua:1: layer 'conv1': bias must be true or false, got number"},
    {"conv { " SHAPE ", kernel = 3, padding = true }",
     "t.lua:1: layer 'conv1': padding must be a number, {height, width}, \"same\" or \"valid\", "
     "got boolean"},
    {"conv { " SHAPE ", kernel = 3, widths = 16 }",
     "t.lua:1: layer 'conv1': widths must be a list of numbers like {32, 48}, got number"},
    {"conv { " SHAPE ", kernel = 3, widths = {1, 2, 3, 4, 5, 6, 7, 8, 9} }",
     "t.lua:1: layer 'conv1': widths can list at most 8 entries, got 9"},
    {"conv { " SHAPE ", kernel = 3, stages = {3} }",
     "t.lua:1: layer 'conv1': stages[1] must be a table like {kernel = {3, 1}, groups = 8}, "
     "got number"},
    {"conv { " SHAPE ", kernel = 3, in_channels = 1e12 }",
     "t.lua:1: layer 'conv1': in_channels is out of range, got 1000000000000"},
    {"conv 'x'",
     "t.lua:1: conv needs one table of fields, like conv { in_channels = 16, out_channels = 16, "
     "size = 8, kernel = 3 }, got string"},
    /* enumerations */
    {"conv { " SHAPE ", kernel = 3, mode = 'optimum' }",
     "t.lua:1: layer 'conv1': mode must be one of \"conventional\", \"depthwise\", \"spatial\", "
     "\"optimal\" or \"fixed\", got \"optimum\" (did you mean \"optimal\"?)"},
    {"conv { " SHAPE ", kernel = 3, objective = 'flops' }",
     "t.lua:1: layer 'conv1': objective must be one of \"macs\", \"params\" or \"time\", got \"flops\""},
    {"conv { " SHAPE ", kernel = 3, objective = 'times' }",
     "t.lua:1: layer 'conv1': objective must be one of \"macs\", \"params\" or \"time\", got "
     "\"times\" (did you mean \"time\"?)"},
    /* another operation, so no "did you mean 'relu'?" */
    {"conv { " SHAPE ", kernel = 3, activation = 'gelu' }",
     "t.lua:1: layer 'conv1': activation must be \"none\", \"relu\", \"relu6\" or {\"clamp\", min, "
     "max}, got \"gelu\""},
    {"conv { " SHAPE ", kernel = 3, activation = 'clamp' }",
     "t.lua:1: layer 'conv1': activation \"clamp\" needs its bounds: {\"clamp\", min, max}"},
    {"conv { " SHAPE ", kernel = 3, activation = {'clamp', 1} }",
     "t.lua:1: layer 'conv1': activation must be \"none\", \"relu\", \"relu6\" or {\"clamp\", min, "
     "max}"},
    {"conv { " SHAPE ", kernel = 3, activation = {'clamp', 2, 1} }",
     "t.lua:1: layer 'conv1': activation {\"clamp\", 2, 1}: min and max must be finite with min <= "
     "max"},
    {"conv { " SHAPE ", kernel = 3, activation = {'clamp', 0, 1/0} }",
     "t.lua:1: layer 'conv1': activation {\"clamp\", 0, inf}: min and max must be finite with min "
     "<= max"},
    {"conv { " SHAPE ", kernel = 3, activation = {'clamp', 0, 'x'} }",
     "t.lua:1: layer 'conv1': activation {\"clamp\", min, max}: max must be a number, got string"},
    {"conv { " SHAPE ", kernel = 3, residual = 1 }",
     "t.lua:1: layer 'conv1': residual must be true or false, got number"},
    {"network { name = 'n', residual = 'yes' }\nconv { " SHAPE ", kernel = 3 }",
     "t.lua:1: network 'n': residual must be true or false, got string"},
    {"conv { " SHAPE ", kernel = 3, oc_lanes = 1 }",
     "t.lua:1: layer 'conv1': oc_lanes must be true or false, got number"},
    {"conv { " SHAPE ", kernel = 3, residuals = true }",
     "t.lua:1: layer 'conv1': unknown field 'residuals' (did you mean 'residual'?)"},
    {"conv { " SHAPE ", kernel = 3, padding = 'full' }",
     "t.lua:1: layer 'conv1': padding must be \"same\" or \"valid\", got \"full\""},
    /* missing fields */
    {"conv { in_channels = 8, size = 8, kernel = 3 }",
     "t.lua:1: layer 'conv1': missing field 'out_channels'"},
    {"conv { out_channels = 8, size = 8, kernel = 3 }",
     "t.lua:1: layer 'conv1': missing field 'in_channels'"},
    {"conv { " SHAPE " }", "t.lua:1: layer 'conv1': missing field 'kernel'"},
    {"conv { in_channels = 8, out_channels = 8, kernel = 3 }",
     "t.lua:1: layer 'conv1': missing field 'size' (or 'height' and 'width')"},
    {"conv { in_channels = 8, out_channels = 8, height = 8, kernel = 3 }",
     "t.lua:1: layer 'conv1': missing field 'width'"},
    {"conv { " SHAPE ", height = 4, kernel = 3 }",
     "t.lua:1: layer 'conv1': give either size or height and width, not both"},
    /* names */
    {"conv { name = 'a', " SHAPE ", kernel = 3 }\n\nconv { name = 'a', " SHAPE ", kernel = 1 }",
     "t.lua:3: layer 'a': the name is already used at line 1 in network 't'"},
    {"conv { " SHAPE ", kernel = 3 }\nconv { name = 'conv1', " SHAPE ", kernel = 1 }",
     "t.lua:2: layer 'conv1': the name is already used at line 1 in network 't'"},
    {"conv { name = 'a-b', " SHAPE ", kernel = 3 }",
     "t.lua:1: layer name 'a-b' may only contain letters, digits and underscores"},
    {"conv { name = 'a\\0b', " SHAPE ", kernel = 3 }",
     "t.lua:1: layer name 'a\\x00b' contains a NUL byte"},
    {"conv { name = '', " SHAPE ", kernel = 3 }", "t.lua:1: layer name must not be empty"},
    {"conv { name = 3, " SHAPE ", kernel = 3 }",
     "t.lua:1: layer name must be a string, got number"},
    {"conv { name = string.rep('x', 64), " SHAPE ", kernel = 3 }",
     "t.lua:1: layer name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is too long (64 "
     "characters, at most 63)"},
    {"network { name = '1x' }",
     "t.lua:1: network name '1x' must not start with a digit (it prefixes C symbols)"},
    {"network { name = 'n' }\nconv { " SHAPE ", kernel = 3 }\nnetwork { name = 'n' }",
     "t.lua:3: network 'n' is already declared at line 1"},
    {"conv { " SHAPE ", kernel = 3 }\nnetwork { }",
     "t.lua:2: network 't' is already declared at line 1 (give each network a name)"},
    /* the layer's values */
    {"conv { in_channels = 64, out_channels = 64, size = 8, kernel = 3, groups = 5,\n"
     "       mode = 'conventional' }",
     "t.lua:1: layer 'conv1': groups 5 does not divide in_channels 64"},
    {"conv { " SHAPE ", kernel = 9 }",
     "t.lua:1: layer 'conv1': kernel 9x9 is larger than the padded input 8x8"},
    {"conv { " SHAPE ", kernel = 4, padding = 'same' }",
     "t.lua:1: layer 'conv1': padding \"same\" needs an odd kernel, got 4x4"},
    {"conv { " SHAPE ", kernel = {3, 2}, padding = 'same' }",
     "t.lua:1: layer 'conv1': padding \"same\" needs an odd kernel, got 3x2"},
    {"conv { " SHAPE ", kernel = 3, max_stages = 17 }",
     "t.lua:1: layer 'conv1': max_stages must be between 1 and 16, got 17"},
    {"conv { " SHAPE ", kernel = 3, max_stages = 0 }",
     "t.lua:1: layer 'conv1': max_stages must be between 1 and 16, got 0"},
    {"conv { " SHAPE ", kernel = 3, stride = {2, 0} }",
     "t.lua:1: layer 'conv1': stride width must be between 1 and 64, got 0"},
    {"network { batch = 0 }",
     "t.lua:1: network 't': batch must be between 1 and 65536, got 0"},
    /* fixed chains */
    {"conv { " SHAPE ", kernel = 3, mode = 'fixed' }",
     "t.lua:1: layer 'conv1': mode \"fixed\" needs stages = {{kernel = ..., groups = ...}, ...}"},
    {"conv { " SHAPE ", kernel = 3, stages = {} }",
     "t.lua:1: layer 'conv1': stages must list at least one stage"},
    {"conv { " SHAPE ", kernel = 3, mode = 'optimal', stages = {{kernel = 3}} }",
     "t.lua:1: layer 'conv1': stages are only used in mode \"fixed\", but mode is \"optimal\""},
    {"conv { " SHAPE ", kernel = 3,\n"
     "  stages = {{kernel = {3, 1}, groups = 3}, {kernel = {1, 3}}} }",
     "t.lua:1: layer 'conv1': stage 1: groups 3 does not divide its in_channels 8"},
    {"conv { " SHAPE ", kernel = 3, stages = {{kernel = {3, 1}, groups = 8}, {kernel = {1, 3}, "
     "groups = 8}} }",
     "t.lua:1: layer 'conv1': the chain does not connect every output channel to every input "
     "channel (fan-in product 1, in_channels 8)"},
    {"conv { " SHAPE ", kernel = 3, stages = {{kernel = 3}, {kernel = 3}} }",
     "t.lua:1: layer 'conv1': the stages' kernels span 5x5, the layer's kernel is 3x3 "
     "(receptive field: sum of (k-1), plus 1, must match)"},
    /* the config as a whole */
    {"", "t.lua: the config declares no layers (use conv{...})"},
    {"local x = 1", "t.lua: the config declares no layers (use conv{...})"},
    {"network { name = 'a' }\nconv { " SHAPE ", kernel = 3 }\nnetwork { name = 'b' }",
     "t.lua:3: network 'b' has no layers"},
};

static void test_error_messages(void) {
  for (size_t i = 0; i < sizeof config_errors / sizeof config_errors[0]; i++)
    expect_error(config_errors[i].src, OSC_ECONFIG, config_errors[i].msg);
}

/* The line is the conv{} call's, wherever the call sits. */
static void test_error_lines(void) {
  expect_error("network { name = 'n' }\n\nconv {\n  in_channels = 8,\n  out_channels = 8,\n"
               "  size = 8,\n  kernel = 9,\n}",
               OSC_ECONFIG,
               "t.lua:3: layer 'conv1': kernel 9x9 is larger than the padded input 8x8");
  expect_error("local function block(c)\n  conv { in_channels = c, out_channels = 8, size = 8,\n"
               "         kernel = 3, groups = 3, mode = 'conventional' }\nend\n\nblock(8)",
               OSC_ECONFIG,
               "t.lua:2: layer 'conv1': groups 3 does not divide in_channels 8 (called from "
               "line 6)");
  /* from a chunk load()ed by the config: the config's line that ran it */
  expect_error("local f = load('conv { " SHAPE ", kernel = 11 }')\n\nf()", OSC_ECONFIG,
               "t.lua:3: layer 'conv1': kernel 11x11 is larger than the padded input 8x8");
  /* a network default that is wrong for one layer: the layer's line */
  expect_error("network { name = 'n', kernel = 5 }\nconv { " SHAPE " }\nconv { in_channels = 4, "
               "out_channels = 4, size = 4 }",
               OSC_ECONFIG,
               "t.lua:3: layer 'conv2': kernel 5x5 is larger than the padded input 4x4");
}

/* Lua shortens long chunk names in its messages; the loader restores them. */
static void test_long_file_name(void) {
  const char *name = "/a/rather/long/directory/name/that/goes/on/and/on/for/a/while/config.lua";
  char msg[256];
  snprintf(msg, sizeof msg, "%s:2: boom", name);
  expect_error_opt(name, "\nerror('boom')", NULL, OSC_ECONFIG, msg);
  snprintf(msg, sizeof msg, "%s:1: '}' expected near <eof>", name);
  expect_error_opt(name, "conv { kernel = 3", NULL, OSC_ECONFIG, msg);
  snprintf(msg, sizeof msg, "%s:1: layer 'conv1': missing field 'kernel'", name);
  expect_error_opt(name, "conv { " SHAPE " }", NULL, OSC_ECONFIG, msg);
}

/* Files: a "#!" line and a UTF-8 byte order mark are skipped as lua does,
** keeping line numbers; unreadable paths say why. */
static void test_files(void) {
  char dir[] = "/tmp/osc-cfg-XXXXXX", path[600], want[800];
  osc_config *c = (osc_config *)1;
  osc_error e;
  FILE *f;
  if (!mkdtemp(dir)) { CU_FAIL("mkdtemp"); return; }
  snprintf(path, sizeof path, "%s/x.lua", dir);
  if ((f = fopen(path, "wb"))) {
    fputs("\xEF\xBB\xBF#!/usr/bin/env osconv check\nconv { " SHAPE ", kernel = 3 }\n"
          "error('line 3')\n", f);
    fclose(f);
  }
  snprintf(want, sizeof want, "%s:3: line 3", path);
  CU_ASSERT_EQUAL(osc_config_load(path, NULL, &c, &e), OSC_ECONFIG);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  CU_ASSERT_PTR_NULL(c);
  unlink(path);
  snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
  CU_ASSERT_EQUAL(osc_config_load(path, NULL, &c, &e), OSC_EIO);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  snprintf(want, sizeof want, "%s: is a directory, not a regular file", dir);
  CU_ASSERT_EQUAL(osc_config_load(dir, NULL, &c, &e), OSC_EIO);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  /* a FIFO with no writer is refused at once, never waited on */
  CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
  snprintf(want, sizeof want, "%s: is a FIFO (named pipe), not a regular file", path);
  CU_ASSERT_EQUAL(osc_config_load(path, NULL, &c, &e), OSC_EIO);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  unlink(path);
  CU_ASSERT_EQUAL(rmdir(dir), 0);
}

/* ---- the sandbox -------------------------------------------------------------- */

static void test_sandbox_library(void) {
  expect_error("io.open('/etc/passwd')", OSC_ECONFIG,
               "t.lua:1: attempt to index a nil value (global 'io')");
  expect_error("os.execute('true')", OSC_ECONFIG,
               "t.lua:1: attempt to index a nil value (global 'os')");
  expect_error("require('io')", OSC_ECONFIG,
               "t.lua:1: attempt to call a nil value (global 'require')");
  expect_error("dofile('/etc/passwd')", OSC_ECONFIG,
               "t.lua:1: attempt to call a nil value (global 'dofile')");
  expect_error("loadfile('/etc/passwd')", OSC_ECONFIG,
               "t.lua:1: attempt to call a nil value (global 'loadfile')");
  expect_error("debug.getinfo(1)", OSC_ECONFIG,
               "t.lua:1: attempt to index a nil value (global 'debug')");
  /* bytecode cannot come in through load, even when asked for */
  expect_error("local f, msg = load(string.dump(function() return 1 end), 'x', 'b')\n"
               "assert(f, msg)",
               OSC_ECONFIG, "t.lua:2: attempt to load a binary chunk (mode is 't')");
  /* finalizers run with hooks off, so they are refused */
  expect_error("setmetatable({}, {__gc = function() while true do end end})", OSC_ECONFIG,
               "t.lua:1: setmetatable: __gc metamethods are not allowed in a sandboxed config");
  /* what remains works: text load, string, table, math, utf8, metatables */
  osc_config *c = load("local n = load('return 2 + 3')()\n"
                       "local t = setmetatable({}, {__index = function() return 8 end})\n"
                       "local s = table.concat({string.format('%d', n)}, '') .. utf8.char(65)\n"
                       "assert(s == '5A' and math.max(1, n) == 5)\n"
                       "conv { in_channels = t.x, out_channels = n + 3, size = 8, kernel = 3 }",
                       NULL);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].layers[0].in_channels, 8);
    osc_config_free(c);
  }
}

static void test_unsandboxed(void) {
  osc_config_options opt = {0};
  osc_config *c;
  opt.unsandboxed = 1;
  c = load("assert(io and os and require and debug)\nconv { " SHAPE ", kernel = 3 }", &opt);
  if (c) osc_config_free(c);
  expect_error("assert(io)", OSC_ECONFIG, "t.lua:1: assertion failed!");
}

static void test_instruction_limit(void) {
  osc_config_options opt = {0};
  opt.instruction_limit = 50000;
  expect_error_opt("t.lua", "local x = 0\n\nwhile true do x = x + 1 end", &opt, OSC_ELIMIT,
                   "t.lua:3: config ran for more than 50000 instructions (an endless loop?)");
  /* a pcall in the script cannot swallow the limit */
  expect_error_opt("t.lua", "while true do pcall(function() while true do end end) end", &opt,
                   OSC_ELIMIT,
                   "t.lua:1: config ran for more than 50000 instructions (an endless loop?)");
  /* nor can an error handler that loops */
  expect_error_opt("t.lua", "xpcall(error, function() while true do end end)", &opt, OSC_ELIMIT,
                   "t.lua:1: config ran for more than 50000 instructions (an endless loop?)");
  /* the default is 100 million; a short script is far from it */
  expect_error_opt("t.lua", "conv { " SHAPE ", kernel = 3 }\nerror('after')", NULL, OSC_ECONFIG,
                   "t.lua:2: after");
  /* a script just under a limit runs */
  opt.instruction_limit = 200000;
  osc_config *c = load("local x = 0\nfor i = 1, 10000 do x = x + i end\n"
                       "conv { in_channels = 8, out_channels = 8, size = 8, kernel = 3 }",
                       &opt);
  if (c) osc_config_free(c);
}

static void test_memory_limit(void) {
  osc_config_options opt = {0};
  opt.memory_limit = 1 << 20;
  expect_error_opt("t.lua", "local t = {}\n\nfor i = 1, 1e9 do t[i] = i end", &opt, OSC_ELIMIT,
                   "t.lua:3: config used more than 1 MiB of memory");
  /* one C call that asks for too much at once: still the line that asked */
  expect_error_opt("t.lua", "local s = string.rep('x', 1e8)", &opt, OSC_ELIMIT,
                   "t.lua:1: config used more than 1 MiB of memory");
  expect_error_opt("t.lua", "local s = 'x'\nwhile true do s = s .. s end", &opt, OSC_ELIMIT,
                   "t.lua:2: config used more than 1 MiB of memory");
  /* inside a function: the line in it; after a call on the same line: that line */
  expect_error_opt("t.lua", "local function f()\n  return string.rep('x', 1e8)\nend\n\nf()", &opt,
                   OSC_ELIMIT, "t.lua:2: config used more than 1 MiB of memory");
  expect_error_opt("t.lua",
                   "local function f() return 1 end\n\nlocal x = f(); local s = ('x'):rep(1e8)",
                   &opt, OSC_ELIMIT, "t.lua:3: config used more than 1 MiB of memory");
  /* tables built by a constructor (an allocation in the VM itself, not in a call) */
  expect_error_opt("t.lua", "local t = {}\nfor i = 1, 1e9 do\n  t[i] = {i, i, i}\nend", &opt,
                   OSC_ELIMIT, "t.lua:3: config used more than 1 MiB of memory");
  /* the memory a script frees counts no longer: 1000 x 100 KiB in a 1 MiB cap */
  osc_config *c = load("for i = 1, 1000 do local s = string.rep('x', 100000) end\n"
                       "conv { " SHAPE ", kernel = 3 }",
                       &opt);
  if (c) osc_config_free(c);
  opt.memory_limit = 100;
  expect_error_opt("t.lua", "conv { " SHAPE ", kernel = 3 }", &opt, OSC_ELIMIT,
                   "t.lua: not enough memory to start Lua (memory limit 100 bytes)");
}

/* A runaway loop stops at OSC_CONFIG_LAYER_LIMIT layers. */
static void test_layer_limit(void) {
  char msg[128];
  snprintf(msg, sizeof msg, "t.lua:2: too many layers (more than %d; a runaway loop?)",
           OSC_CONFIG_LAYER_LIMIT);
  expect_error("for i = 1, 1e9 do\n  conv { " SHAPE ", kernel = 1 }\nend", OSC_ELIMIT, msg);
}

/* ---- what the sandbox bounds ------------------------------------------------------ */

#define NO_PATTERNS                                                                     \
  "patterns are not available in a sandboxed config (their backtracking cannot be "   \
  "limited); use plain find, or --unsandboxed for a trusted config"

/* A pattern backtracks inside one C call, out of every limit's reach (the
** first one ran for hours): patterns are refused, plain searches work. */
static void test_sandbox_patterns(void) {
  osc_config_options opt = {0};
  osc_config *c;
  expect_error("local x = string.rep('a', 30):find(string.rep('a*', 30) .. 'b')", OSC_ECONFIG,
               "t.lua:1: string.find: " NO_PATTERNS);
  expect_error("local x = ('a-b'):find('-')", OSC_ECONFIG, "t.lua:1: string.find: " NO_PATTERNS);
  expect_error("\nlocal x = ('ab'):match('a')", OSC_ECONFIG,
               "t.lua:2: string.match: " NO_PATTERNS);
  expect_error("for w in string.gmatch('a b', 'a') do end", OSC_ECONFIG,
               "t.lua:1: string.gmatch: " NO_PATTERNS);
  expect_error("local s = ('a-b'):gsub('-', '_')", OSC_ECONFIG,
               "t.lua:1: string.gsub: " NO_PATTERNS);
  /* plain: magic characters are taken as they are; Lua's positions */
  c = load("local i, j = ('a.b*c'):find('.b*', 1, true)\nassert(i == 2 and j == 4)\n"
           "assert(('hello'):find('l') == 3 and ('hello'):find('l', -2) == 4)\n"
           "assert(('hello'):find('', 6) == 6 and ('hello'):find('', 7) == nil)\n"
           "assert(('hello'):find('x') == nil and string.find('', '') == 1)\n"
           "conv { " SHAPE ", kernel = 3 }",
           NULL);
  if (c) osc_config_free(c);
  /* a trusted config keeps them */
  opt.unsandboxed = 1;
  c = load("assert(('a1'):match('%d') == '1' and ('a-b'):gsub('-', '_') == 'a_b')\n"
           "conv { " SHAPE ", kernel = 3 }",
           &opt);
  if (c) osc_config_free(c);
}

/* The functions the sandbox replaces (string.find, string.rep, table.insert,
** remove, move, concat, unpack) behave as Lua's own, which an unsandboxed
** config gets: the same random calls run in both, and the error each run
** ends with carries a hash of every result and error message. */
static const char same_results_src[] =
    "math.randomseed(SEED)\n"
    "local out = {}\n"
    "local function put(...)\n"
    "  local v = table.pack(...)\n"
    "  for i = 1, v.n do out[#out + 1] = tostring(v[i]) end\n"
    "  out[#out + 1] = ';'\n"
    "end\n"
    "local function dump(t)\n"
    "  local keys, parts = {}, {}\n"
    "  for k in pairs(t) do keys[#keys + 1] = k end\n"
    "  table.sort(keys)\n"
    "  for _, k in ipairs(keys) do parts[#parts + 1] = k .. '=' .. tostring(t[k]) end\n"
    "  return table.concat(parts, ',')\n"
    "end\n"
    "local function list(n)\n"
    "  local t = {}\n"
    "  for i = 1, n do t[i] = math.random(1, 9) end\n"
    "  return t\n"
    "end\n"
    "local function word(n)\n"
    "  local w = {}\n"
    "  for i = 1, n do local k = math.random(1, 4); w[i] = ('ab.%'):sub(k, k) end\n"
    "  return table.concat(w)\n"
    "end\n"
    "for round = 1, ROUNDS do\n"
    "  local n = math.random(0, 6)\n"
    "  local t = list(n)\n"
    "  put(pcall(table.insert, t, math.random(-1, n + 2), 100)); put(dump(t))\n"
    "  table.insert(t, 200); put(dump(t)); put(pcall(table.insert, t, 1, 2, 3))\n"
    "  t = list(n)\n"
    "  local pos = math.random(0, n + 1)\n"
    "  if pos ~= n and (pos < 1 or pos > n + 1) then pos = n end\n"
    "  put(table.remove(t, pos)); put(dump(t)); put(table.remove(t)); put(dump(t))\n"
    "  t = list(n)\n"
    "  local f, e, d = math.random(-1, n + 1), math.random(-1, n + 1), math.random(-1, n + 3)\n"
    "  local other = list(2)\n"
    "  local ok, r = pcall(table.move, t, f, e, d); put(ok, ok and r == t or r); put(dump(t))\n"
    "  ok, r = pcall(table.move, t, f, e, d, other); put(ok, ok and r == other or r)\n"
    "  put(dump(other))\n"
    "  ok, r = pcall(table.move, t, -2^63, 1, 1); put(ok, ok and r == t or r)\n"
    "  local i, j = math.random(-1, n + 1), math.random(-1, n + 1)\n"
    "  put(pcall(table.concat, t, '-', i, j)); put(pcall(table.concat, t, ', '))\n"
    "  put(pcall(table.concat, {1, {}, 3})); put(pcall(table.unpack, t, i, j))\n"
    "  put(table.unpack(t)); put(pcall(table.unpack, t, 1, 1e8))\n"
    "  local s, p = word(math.random(0, 8)), word(math.random(0, 3))\n"
    "  put(s:find(p, math.random(-10, 10), true)); put(string.find(s, p, nil, true))\n"
    "  put(string.rep(p, math.random(-1, 4), word(math.random(0, 2))))\n"
    "  put(pcall(string.rep, 'x', 2^40))\n"
    "end\n"
    "local s, h = table.concat(out, ' '), 0\n"
    "for k = 1, #s do h = (h * 31 + s:byte(k)) % 2147483647 end\n"
    "error(string.format('%d rounds, %d bytes, hash %d', ROUNDS, #s, h), 0)\n";

static void test_sandbox_same_results(void) {
  uint64_t rng = osc_test_seed();
  int rounds = osc_test_quick() ? 100 : 400, got_rounds = 0, bytes = 0;
  size_t cap = sizeof same_results_src + 100;
  char *src = malloc(cap), sandboxed[sizeof ((osc_error *)0)->msg];
  osc_config_options trusted = {0};
  osc_config *c = NULL;
  osc_error e;
  if (!src) { CU_FAIL("out of memory"); return; }
  snprintf(src, cap, "local SEED, ROUNDS = %u, %d\n%s", (unsigned)osc_test_rand(&rng), rounds,
           same_results_src);
  CU_ASSERT_EQUAL(osc_config_load_string("t.lua", src, NULL, &c, &e), OSC_ECONFIG);
  snprintf(sandboxed, sizeof sandboxed, "%s", e.msg);
  trusted.unsandboxed = 1;
  CU_ASSERT_EQUAL(osc_config_load_string("t.lua", src, &trusted, &c, &e), OSC_ECONFIG);
  if (strcmp(sandboxed, e.msg) != 0)
    fprintf(stderr, "\nsandboxed: %s\nLua's own: %s\n", sandboxed, e.msg);
  CU_ASSERT_STRING_EQUAL(sandboxed, e.msg);
  if (sscanf(sandboxed, "t.lua:%*d: %d rounds, %d bytes", &got_rounds, &bytes) != 2)
    fprintf(stderr, "\n%s\n", sandboxed);
  CU_ASSERT_EQUAL(sscanf(sandboxed, "t.lua:%*d: %d rounds, %d bytes", &got_rounds, &bytes), 2);
  CU_ASSERT_EQUAL(got_rounds, rounds);
  CU_ASSERT(bytes > rounds * 50);   /* every round said something */
  free(src);
}

/* C loops whose trip count a script sets without allocating ran for hours
** (or for ever) inside one call, where the hook never fires: each is now
** done without the loop, or charged as work before it starts. */
#define SPARSE_TABLE                                                                     \
  "local parts = {'return {1, 2, 3, 4, [5] = 1'}\n"                                     \
  "for k = 3, 50 do parts[#parts + 1] = string.format('[%d] = 1', 1 << k) end\n"        \
  "local t = load(table.concat(parts, ', ') .. '}')()\n"                                \
  "assert(#t == 2^50)\n"   /* a border of 2^50 with 52 elements */

static void expect_too_much(const char *src, int line, const char *fn, long long steps) {
  char msg[300];
  snprintf(msg, sizeof msg,
           "t.lua:%d: %s would take %lld steps, more than a config may do (100 million "
           "instructions)",
           line, fn, steps);
  expect_error(src, OSC_ELIMIT, msg);
}

static void test_sandbox_c_loops(void) {
  osc_config_options opt = {0};
  osc_config *c;
  /* Lua's rep loops n times to build an empty string */
  c = load("assert(string.rep('', 2^62) == '' and string.rep('', 2^62, '') == '')\n"
           "assert(string.rep('ab', 3, ',') == 'ab,ab,ab' and string.rep('', 3, '-') == '--')\n"
           "assert(string.rep('x', 0) == '' and string.rep('x', -1, 'y') == '')\n"
           "conv { " SHAPE ", kernel = 3 }",
           NULL);
  if (c) osc_config_free(c);
  /* table functions over 2^50 elements: explicit bounds, a __len metamethod,
  ** an __index that answers with a C function, a sparse table */
  expect_too_much("table.move({}, 1, 2^50, 1)", 1, "table.move", 1LL << 50);
  expect_too_much("local t = setmetatable({}, {__len = function() return 2^50 end})\n"
                  "table.insert(t, 1, 0)",
                  2, "table.insert", 1LL << 50);
  expect_too_much("local t = setmetatable({}, {__len = function() return 2^50 end})\n"
                  "table.remove(t, 1)",
                  2, "table.remove", (1LL << 50) - 1);
  expect_too_much("local u = setmetatable({}, {__index = table.concat})\n"
                  "table.concat(setmetatable({}, {__index = u}), '', 1, 2^50)",
                  2, "table.concat", 1LL << 50);
  expect_too_much(SPARSE_TABLE "table.insert(t, 1, 0)", 5, "table.insert", 1LL << 50);
  expect_too_much(SPARSE_TABLE "table.remove(t, 1)", 5, "table.remove", (1LL << 50) - 1);
  expect_too_much(SPARSE_TABLE "table.concat(t)", 5, "table.concat", 1LL << 50);
  expect_error(SPARSE_TABLE "table.sort(t)", OSC_ECONFIG,
               "t.lua:5: bad argument #1 to 'sort' (array too big)");
  expect_error(SPARSE_TABLE "table.unpack(t)", OSC_ECONFIG, "t.lua:5: too many results to unpack");
  /* sort takes its length once, so not from a __len that could change it */
  expect_error("table.sort(setmetatable({}, {__len = function() return 2^30 end}), getmetatable)",
               OSC_ECONFIG,
               "t.lua:1: table.sort: a table with a __len metamethod cannot be sorted in a "
               "sandboxed config");
  expect_error("table.remove({1, 2}, 7)", OSC_ECONFIG,
               "t.lua:1: bad argument #2 to 'remove' (position out of bounds)");
  c = load("local t = {5, 2, 9, 1}\ntable.sort(t)\nassert(table.concat(t, ' ') == '1 2 5 9')\n"
           "table.sort(t, function(a, b) return a > b end)\n"
           "assert(table.concat(t, ' ') == '9 5 2 1')\nconv { " SHAPE ", kernel = 3 }",
           NULL);
  if (c) osc_config_free(c);
  /* collecting walks the heap, so it is charged; tuning is refused */
  expect_error("collectgarbage('incremental', 0, 1000)", OSC_ECONFIG,
               "t.lua:1: collectgarbage: option 'incremental' is not available in a "
               "sandboxed config");
  c = load("collectgarbage()\ncollectgarbage('step')\n"
           "assert(collectgarbage('count') > 0 and collectgarbage('isrunning'))\n"
           "conv { " SHAPE ", kernel = 3 }",
           NULL);
  if (c) osc_config_free(c);
  /* charges add up like instructions: 100 unpacks of 1000 values > 50000 */
  opt.instruction_limit = 50000;
  expect_error_opt("t.lua", "local t = {}\nfor i = 1, 100 do table.unpack(t, 1, 1000) end", &opt,
                   OSC_ELIMIT,
                   "t.lua:2: config ran for more than 50000 instructions (an endless loop?)");
  /* printing is charged per byte, before anything is written */
  expect_error_opt("t.lua", "print(('x'):rep(60000))", &opt, OSC_ELIMIT,
                   "t.lua:1: print would take 60001 steps, more than a config may do (50000 "
                   "instructions)");
}

/* Some single VM instructions take time in proportion to their operands
** (comparing two equal 1 MiB strings) yet count as one: the CPU-time cap,
** 100 ns per allowed instruction (at least 0.1 s), stops them long before
** the count would. */
static void test_sandbox_time_limit(void) {
  osc_config_options opt = {0};
  osc_config *c;
  opt.instruction_limit = 2000000;   /* 200 ms */
  expect_error_opt("t.lua",
                   "local a, b = ('x'):rep(2^20), ('x'):rep(2^20)\n"
                   "while true do local _ = a == b end",
                   &opt, OSC_ELIMIT,
                   "t.lua:2: config ran for more than 200 ms of CPU time (an endless loop?)");
  /* time spent in conv{} is the host's: 800 wide fixed chains checked and
  ** planned (0.2-0.6 s of CPU) by 12000 instructions of script fit a budget
  ** of 200000 instructions, 0.1 s */
  opt.instruction_limit = 200000;
  c = load("local stages = {{kernel = {3, 1}, groups = 64}, {kernel = {1, 3}, groups = 64}}\n"
           "for i = 1, 800 do\n"
           "  conv { in_channels = 4096, out_channels = 4096, size = 8, kernel = 3,\n"
           "         stages = stages }\n"
           "end",
           &opt);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].n_layers, 800);
    osc_config_free(c);
  }
}

/* A network default that is wrong for any layer is reported where it is
** written; the limits are osc_layer_validate's (64 for kernels, strides and
** padding, 16384 channels, 65536 pixels a side). */
static const struct { const char *fields, *msg; } bad_defaults[] = {
    {"kernel = 0", "kernel height must be between 1 and 64, got 0"},
    {"kernel = {3, 65}", "kernel width must be between 1 and 64, got 65"},
    {"in_channels = 0", "in_channels must be between 1 and 16384, got 0"},
    {"out_channels = 16385", "out_channels must be between 1 and 16384, got 16385"},
    {"size = 0", "height must be between 1 and 65536, got 0"},
    {"width = 65537", "width must be between 1 and 65536, got 65537"},
    {"stride = {1, 0}", "stride width must be between 1 and 64, got 0"},
    {"padding = -1", "padding height must be between 0 and 64, got -1"},
    {"groups = 0", "groups must be between 1 and 16384, got 0"},
    {"groups = 16385", "groups must be between 1 and 16384, got 16385"},
    {"max_stages = 17", "max_stages must be between 1 and 16, got 17"},
    {"widths = {8, 0}", "an entry of widths must be between 1 and 16384, got 0"},
};

static void test_network_defaults(void) {
  char src[300], msg[300];
  osc_config *c;
  for (size_t i = 0; i < sizeof bad_defaults / sizeof bad_defaults[0]; i++) {
    snprintf(src, sizeof src, "network { name = 'n', %s }\nconv { " SHAPE ", kernel = 3 }",
             bad_defaults[i].fields);
    snprintf(msg, sizeof msg, "t.lua:1: network 'n': %s", bad_defaults[i].msg);
    expect_error(src, OSC_ECONFIG, msg);
  }
  /* the largest valid values are fine on their own, and a layer overrides them */
  c = load("network { name = 'n', kernel = 64, groups = 16384, stride = 64, padding = 64,\n"
           "          size = 65536, in_channels = 16384, max_stages = 16, widths = {16384} }\n"
           "conv { " SHAPE ", kernel = 3, groups = 1, stride = 1, padding = 1, max_stages = 2, "
           "widths = {} }",
           NULL);
  if (c) {
    CU_ASSERT(c->networks[0].layers[0].k_h == 3 && c->networks[0].layers[0].groups == 1);
    CU_ASSERT(c->networks[0].layers[0].in_channels == 8 && c->networks[0].layers[0].in_h == 8);
    osc_config_free(c);
  }
  /* stages are written for one layer, not as a default: before, the default
  ** failed a layer that never wrote stages ("only used in mode fixed") */
  expect_error("network { name = 'n', stages = {{kernel = 3}} }\n"
               "conv { " SHAPE ", kernel = 3, mode = 'optimal' }",
               OSC_ECONFIG,
               "t.lua:1: network 'n': stages cannot be a network default (a chain is written "
               "for one layer); give them in each conv{}");
  /* mode 'fixed' can be the default: each layer then gives its stages */
  c = load("network { name = 'n', mode = 'fixed' }\n"
           "conv { " SHAPE ", kernel = 3, stages = {{kernel = {3, 1}, groups = 8}, "
           "{kernel = {1, 3}}} }\nconv { " SHAPE ", kernel = 3, mode = 'optimal' }",
           NULL);
  if (c) {
    CU_ASSERT(c->networks[0].layers[0].mode == OSC_MODE_FIXED);
    CU_ASSERT(c->networks[0].layers[1].mode == OSC_MODE_OPTIMAL);
    osc_config_free(c);
  }
  expect_error("network { name = 'n', mode = 'fixed' }\nconv { " SHAPE ", kernel = 3 }",
               OSC_ECONFIG,
               "t.lua:2: layer 'conv1': mode \"fixed\" needs stages = {{kernel = ..., groups = "
               "...}, ...}");
}

/* A grouped layer has one mode, so defaults give it "conventional"; a mode
** it names itself is still checked. max_stages only means something for
** "optimal", so a conv{} that sets it with another mode is refused. */
static void test_mode_defaults(void) {
  osc_config *c = load("network { name = 'n', mode = 'spatial' }\n"
                       "conv { " SHAPE ", kernel = 3, groups = 4 }\n"
                       "conv { " SHAPE ", kernel = 3 }\n"
                       "conv { " SHAPE ", kernel = 3, groups = 2, mode = 'conventional' }",
                       NULL);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].layers[0].mode, OSC_MODE_CONVENTIONAL);
    CU_ASSERT_EQUAL(c->networks[0].layers[1].mode, OSC_MODE_SPATIAL);
    CU_ASSERT_EQUAL(c->networks[0].layers[2].mode, OSC_MODE_CONVENTIONAL);
    osc_config_free(c);
  }
  c = load("conv { " SHAPE ", kernel = 3, groups = 8 }", NULL);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].layers[0].mode, OSC_MODE_CONVENTIONAL);
    osc_config_free(c);
  }
  expect_error("conv { " SHAPE ", kernel = 3, groups = 4, mode = 'optimal' }", OSC_ECONFIG,
               "t.lua:1: layer 'conv1': a grouped layer (groups 4) can only use mode "
               "'conventional', not 'optimal'");
  expect_error("conv { " SHAPE ", kernel = 3, mode = 'spatial', max_stages = 3 }", OSC_ECONFIG,
               "t.lua:1: layer 'conv1': max_stages is only used in mode \"optimal\", but mode "
               "is \"spatial\"");
  expect_error("network { name = 'n', mode = 'depthwise' }\n\nconv { " SHAPE
               ", kernel = 3, max_stages = 4 }",
               OSC_ECONFIG,
               "t.lua:3: layer 'conv1': max_stages is only used in mode \"optimal\", but mode "
               "is \"depthwise\"");
  /* a network default is a default: layers in other modes just do not use it */
  c = load("network { name = 'n', max_stages = 4 }\nconv { " SHAPE
           ", kernel = 3, mode = 'spatial' }\nconv { " SHAPE ", kernel = 3 }",
           NULL);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].layers[1].max_stages, 4);
    osc_config_free(c);
  }
}

/* relu6 and {"clamp", min, max} load as those activations; a network
** default carries the bounds. */
static void test_activations(void) {
  osc_config *c = load("network { name = 'n', activation = {'clamp', -0.5, 2} }\n"
                       "conv { " SHAPE ", kernel = 3, activation = 'relu6' }\n"
                       "conv { " SHAPE ", kernel = 3 }",
                       NULL);
  if (c) {
    const osc_layer *l = c->networks[0].layers;
    CU_ASSERT_EQUAL(l[0].act, OSC_ACT_RELU6);
    CU_ASSERT(l[1].act == OSC_ACT_CLAMP && l[1].clamp_min == -0.5f && l[1].clamp_max == 2.0f);
    osc_config_free(c);
  }
}

/* residual defaults to false; true in a conv{} or as a network default,
** which a conv{} may turn off again. */
static void test_residual_field(void) {
  osc_config *c = load("conv { " SHAPE ", kernel = 3 }\n"
                       "network { name = 'n', residual = true }\n"
                       "conv { " SHAPE ", kernel = 3 }\n"
                       "conv { " SHAPE ", kernel = 3, residual = false }",
                       NULL);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].layers[0].residual, 0);
    CU_ASSERT_EQUAL(c->networks[1].layers[0].residual, 1);
    CU_ASSERT_EQUAL(c->networks[1].layers[1].residual, 0);
    osc_config_free(c);
  }
}

/* oc_lanes defaults to false; true in a conv{} or as a network default,
** which a conv{} may turn off again; plan --json says so where set. */
static void test_oc_lanes_field(void) {
  osc_config *c = load("conv { " SHAPE ", kernel = 3 }\n"
                       "network { name = 'n', oc_lanes = true }\n"
                       "conv { " SHAPE ", kernel = 3 }\n"
                       "conv { " SHAPE ", kernel = 3, oc_lanes = false }",
                       NULL);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].layers[0].oc_lanes, 0);
    CU_ASSERT_EQUAL(c->networks[1].layers[0].oc_lanes, 1);
    CU_ASSERT_EQUAL(c->networks[1].layers[1].oc_lanes, 0);
    osc_config_free(c);
  }
}

/* input = x takes in_channels and the size from an earlier output; given
** fields must agree with it; branches are several layers on one input. */
static void test_input_chaining(void) {
  osc_config *c = load("local a = conv { name = 'a', in_channels = 3, out_channels = 16, "
                       "size = 32, kernel = 3, padding = 1, stride = 2 }\n"
                       "local b = conv { name = 'b', input = a, out_channels = 24, kernel = 3 }\n"
                       "conv { name = 'c', input = a, in_channels = 16, height = 16, "
                       "out_channels = 8, kernel = 1 }\n"
                       "conv { name = 'd', input = {channels = 5, height = 7, width = 9}, "
                       "out_channels = 8, kernel = 1 }",
                       NULL);
  if (c) {
    const osc_layer *l = c->networks[0].layers;
    CU_ASSERT(l[1].in_channels == 16 && l[1].in_h == 16 && l[1].in_w == 16);   /* a's output */
    CU_ASSERT(l[2].in_channels == 16 && l[2].in_h == 16 && l[2].in_w == 16);   /* a branch */
    CU_ASSERT(l[3].in_channels == 5 && l[3].in_h == 7 && l[3].in_w == 9);
    osc_config_free(c);
  }
  expect_error("local a = conv { name = 'a', " SHAPE ", kernel = 3, out_channels = 32 }\n"
               "conv { name = 'b', input = a, in_channels = 64, out_channels = 8, kernel = 1 }",
               OSC_ECONFIG,
               "t.lua:2: layer 'b': in_channels 64 does not match input 'a', which has "
               "channels 32");
  expect_error("local a = conv { name = 'a', " SHAPE ", kernel = 3 }\n"
               "conv { name = 'b', input = a, size = 8, out_channels = 8, kernel = 1 }",
               OSC_ECONFIG,
               "t.lua:2: layer 'b': height 8 does not match input 'a', which has height 6");
  expect_error("conv { input = 3, out_channels = 8, kernel = 1 }", OSC_ECONFIG,
               "t.lua:1: layer 'conv1': input must be the shape an earlier conv{} returned "
               "(local x = conv{...}; conv{input = x, ...}), got number");
  expect_error("conv { input = {channels = 3, height = 4}, out_channels = 8, kernel = 1 }",
               OSC_ECONFIG,
               "t.lua:1: layer 'conv1': input has no 'width' (not the shape conv{} returns?)");
  expect_error("network { name = 'n', input = {channels = 3, height = 4, width = 4} }",
               OSC_ECONFIG,
               "t.lua:1: network 'n': input cannot be a network default (it is one layer's "
               "input); give it in each conv{}");
}

/* A conv{} inside a function: its own line, then the lines that called it. */
static void test_call_sites(void) {
  static const char bad[] = "conv { " SHAPE ", kernel = 9 }";
  static const char msg[] = "layer 'conv1': kernel 9x9 is larger than the padded input 8x8";
  char src[600], want[300];
  snprintf(src, sizeof src, "local function block()\n  %s\nend\n\nblock()", bad);
  snprintf(want, sizeof want, "t.lua:2: %s (called from line 5)", msg);
  expect_error(src, OSC_ECONFIG, want);
  snprintf(src, sizeof src,
           "local function inner()\n  %s\nend\nlocal function outer() inner() end\n\n\nouter()",
           bad);
  snprintf(want, sizeof want, "t.lua:2: %s (called from line 4, from line 7)", msg);
  expect_error(src, OSC_ECONFIG, want);
  /* through C (pcall) and through a load()ed chunk: the config's lines only */
  snprintf(src, sizeof src, "function block()\n  %s\nend\nlocal ok, e = pcall(block)\nerror(e, 0)",
           bad);
  snprintf(want, sizeof want, "t.lua:2: %s (called from line 4)", msg);
  expect_error(src, OSC_ECONFIG, want);
  snprintf(src, sizeof src, "function block()\n  %s\nend\nload('block()')()", bad);
  snprintf(want, sizeof want, "t.lua:2: %s (called from line 4)", msg);
  expect_error(src, OSC_ECONFIG, want);
  /* deep recursion: four call sites, then "..." */
  snprintf(src, sizeof src,
           "local function r(n)\n  if n == 0 then %s end\n  r(n - 1)\nend\nr(6)", bad);
  snprintf(want, sizeof want,
           "t.lua:2: %s (called from line 3, from line 3, from line 3, from line 3, ...)", msg);
  expect_error(src, OSC_ECONFIG, want);
  /* network{} too, and the field errors conv{} finds itself */
  expect_error("local function net()\n  network { name = 'n', batch = 0 }\nend\nnet()", OSC_ECONFIG,
               "t.lua:2: network 'n': batch must be between 1 and 65536, got 0 (called from "
               "line 4)");
  expect_error("local function f() conv { " SHAPE ", kernel = 3, strid = 2 } end\nf()",
               OSC_ECONFIG,
               "t.lua:1: layer 'conv1': unknown field 'strid' (did you mean 'stride'?) (called "
               "from line 2)");
}

/* ---- what a config declares ------------------------------------------------------ */

/* objective = "time" reaches the layer, by name both ways, from a network's defaults too. */
static void test_objective_time(void) {
  osc_config *c = load("network { name = 'n', objective = 'time' }\n"
                       "conv { in_channels = 8, out_channels = 8, size = 6, kernel = 3 }\n"
                       "conv { in_channels = 8, out_channels = 8, size = 6, kernel = 3,\n"
                       "       objective = 'macs' }\n", NULL);
  osc_objective o = OSC_OBJ_MACS;
  if (!c) return;
  CU_ASSERT_EQUAL(c->networks[0].layers[0].objective, OSC_OBJ_TIME);
  CU_ASSERT_EQUAL(c->networks[0].layers[1].objective, OSC_OBJ_MACS);
  CU_ASSERT_EQUAL(osc_objective_from_name("time", &o), 0);
  CU_ASSERT_EQUAL(o, OSC_OBJ_TIME);
  CU_ASSERT_STRING_EQUAL(osc_objective_name(OSC_OBJ_TIME), "time");
  osc_config_free(c);
}

static void test_defaults_and_fields(void) {
  osc_config *c = load(
      "network { name = 'n', batch = 4, bias = true, activation = 'relu', padding = 'same',\n"
      "          objective = 'params', max_stages = 3, widths = {24} }\n"
      "conv { in_channels = 16, out_channels = 32, height = 10, width = 12, kernel = {5, 3},\n"
      "       stride = {2, 1} }\n"
      "conv { name = 'plain', in_channels = 32, out_channels = 32, size = {6, 7}, kernel = 1,\n"
      "       bias = false, activation = 'none', padding = 'valid', mode = 'depthwise' }\n"
      "conv { in_channels = 32, out_channels = 32, size = 6, kernel = 3, padding = {0, 2},\n"
      "       groups = 4, mode = 'conventional' }\n"
      "conv { in_channels = 16, out_channels = 16, size = 8, kernel = 3,\n"
      "       stages = {{kernel = {3, 1}, groups = 4},\n"
      "                 {kernel = {1, 3}, groups = 4, out_channels = 16}} }\n",
      NULL);
  const osc_network *n;
  const osc_layer *l;
  if (!c) return;
  CU_ASSERT_EQUAL(c->n_networks, 1);
  n = &c->networks[0];
  CU_ASSERT_STRING_EQUAL(n->name, "n");
  CU_ASSERT_EQUAL(n->batch, 4);
  CU_ASSERT_EQUAL(n->line, 1);
  CU_ASSERT_EQUAL(n->n_layers, 4);
  l = &n->layers[0];
  CU_ASSERT_STRING_EQUAL(l->name, "conv1");
  CU_ASSERT(l->in_channels == 16 && l->out_channels == 32 && l->in_h == 10 && l->in_w == 12);
  CU_ASSERT(l->k_h == 5 && l->k_w == 3 && l->stride_h == 2 && l->stride_w == 1);
  CU_ASSERT(l->pad_h == 2 && l->pad_w == 1);   /* "same" from the network, per dimension */
  CU_ASSERT(l->bias == 1 && l->act == OSC_ACT_RELU && l->groups == 1);
  CU_ASSERT(l->mode == OSC_MODE_OPTIMAL && l->objective == OSC_OBJ_PARAMS && l->max_stages == 3);
  CU_ASSERT(l->n_widths == 1 && l->widths[0] == 24);
  CU_ASSERT(l->file == c->file && l->line == 3);
  l = &n->layers[1];
  CU_ASSERT_STRING_EQUAL(l->name, "plain");
  CU_ASSERT(l->in_h == 6 && l->in_w == 7 && l->k_h == 1 && l->pad_h == 0 && l->pad_w == 0);
  CU_ASSERT(l->bias == 0 && l->act == OSC_ACT_NONE && l->mode == OSC_MODE_DEPTHWISE);
  CU_ASSERT_EQUAL(l->line, 5);
  l = &n->layers[2];
  CU_ASSERT_STRING_EQUAL(l->name, "conv3");
  CU_ASSERT(l->pad_h == 0 && l->pad_w == 2 && l->groups == 4 && l->mode == OSC_MODE_CONVENTIONAL);
  l = &n->layers[3];
  CU_ASSERT_EQUAL(l->mode, OSC_MODE_FIXED);   /* stages and no mode: fixed */
  CU_ASSERT_EQUAL(l->n_fixed, 2);
  CU_ASSERT(l->fixed[0].k_h == 3 && l->fixed[0].k_w == 1 && l->fixed[0].groups == 4 &&
            l->fixed[0].out_channels == 0);
  CU_ASSERT(l->fixed[1].k_h == 1 && l->fixed[1].k_w == 3 && l->fixed[1].out_channels == 16);
  CU_ASSERT_PTR_EQUAL(osc_config_find_layer(c, "plain", NULL), &n->layers[1]);
  osc_config_free(c);
}

static void test_networks(void) {
  osc_config *c = load("conv { " SHAPE ", kernel = 3 }\n"
                       "network { name = 'second', kernel = 1 }\n"
                       "conv { name = 'conv1', " SHAPE " }\n"
                       "conv { " SHAPE ", kernel = 3 }\n",
                       NULL);
  const osc_network *net = NULL;
  if (!c) return;
  CU_ASSERT_EQUAL(c->n_networks, 2);
  CU_ASSERT_STRING_EQUAL(c->networks[0].name, "t");   /* implicit: the file's name */
  CU_ASSERT_EQUAL(c->networks[0].batch, 1);
  CU_ASSERT_EQUAL(c->networks[0].n_layers, 1);
  CU_ASSERT_EQUAL(c->networks[1].n_layers, 2);
  CU_ASSERT_EQUAL(c->networks[1].layers[0].k_h, 1);
  CU_ASSERT_STRING_EQUAL(c->networks[1].layers[1].name, "conv2");
  CU_ASSERT_PTR_EQUAL(osc_config_find_layer(c, "second.conv1", &net), &c->networks[1].layers[0]);
  CU_ASSERT_PTR_EQUAL(net, &c->networks[1]);
  CU_ASSERT_PTR_EQUAL(osc_config_find_layer(c, "t.conv1", &net), &c->networks[0].layers[0]);
  CU_ASSERT_PTR_EQUAL(osc_config_find_layer(c, "conv1", NULL), &c->networks[0].layers[0]);
  CU_ASSERT_PTR_NULL(osc_config_find_layer(c, "second.conv3", NULL));
  CU_ASSERT_PTR_NULL(osc_config_find_layer(c, "sec.conv1", NULL));
  osc_config_free(c);
}

/* The implicit network is named after the file: a C identifier. */
static void test_network_name_from_file(void) {
  static const struct { const char *file, *name; } cases[] = {
      {"examples/resnet18.lua", "resnet18"}, {"/x/my-net.v2.lua", "my_net_v2"},
      {"3d.lua", "net_3d"},                  {"plain", "plain"},
      {".lua", "_lua"},                      {"dir/", "net"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    osc_config *c = NULL;
    osc_error e;
    CU_ASSERT_EQUAL(osc_config_load_string(cases[i].file, "conv { " SHAPE ", kernel = 1 }", NULL,
                                           &c, &e), OSC_OK);
    if (!c) continue;
    CU_ASSERT_STRING_EQUAL(c->networks[0].name, cases[i].name);
    CU_ASSERT_STRING_EQUAL(c->file, cases[i].file);
    osc_config_free(c);
  }
}

static int conv_out(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

/* Random layers written as Lua come back field for field, and conv{}
** returns the output shape PyTorch's formula gives. */
static void test_random_layers(void) {
  static const char *const modes[] = {"conventional", "depthwise", "spatial", "optimal"};
  uint64_t rng = osc_test_seed();
  int n = osc_test_quick() ? 40 : 300;
  size_t cap = (size_t)n * 400 + 64, len = 0;
  char *src = malloc(cap);
  int (*want)[11] = malloc((size_t)n * sizeof *want);
  osc_config *c;
  if (!src || !want) { free(src); free(want); CU_FAIL("out of memory"); return; }
  len += (size_t)snprintf(src + len, cap - len, "network { name = 'r' }\n");
  for (int i = 0; i < n; i++) {
    int ci = osc_test_range(&rng, 1, 64), co = osc_test_range(&rng, 1, 64);
    int kh = osc_test_range(&rng, 2, 7), kw = osc_test_range(&rng, 2, 7);
    int sh = osc_test_range(&rng, 1, 3), sw = osc_test_range(&rng, 1, 3);
    int ph = osc_test_range(&rng, 0, 3), pw = osc_test_range(&rng, 0, 3);
    int h = osc_test_range(&rng, kh, 40), w = osc_test_range(&rng, kw, 40);
    int mode = osc_test_range(&rng, 0, 3), bias = osc_test_range(&rng, 0, 1);
    int v[11] = {ci, co, h, w, kh, kw, sh, sw, ph, pw, mode * 2 + bias};
    memcpy(want[i], v, sizeof v);
    len += (size_t)snprintf(
        src + len, cap - len,
        "do local y = conv { name = 'l%d', in_channels = %d, out_channels = %d, height = %d, "
        "width = %d, kernel = {%d, %d}, stride = {%d, %d}, padding = {%d, %d}, mode = '%s', "
        "bias = %s }\nassert(y.name == 'l%d' and y.channels == %d and y.height == %d and "
        "y.width == %d) end\n",
        i, ci, co, h, w, kh, kw, sh, sw, ph, pw, modes[mode], bias ? "true" : "false", i, co,
        conv_out(h, kh, sh, ph), conv_out(w, kw, sw, pw));
  }
  c = load(src, NULL);
  if (c) {
    CU_ASSERT_EQUAL(c->networks[0].n_layers, n);
    for (int i = 0; i < n && i < c->networks[0].n_layers; i++) {
      const osc_layer *l = &c->networks[0].layers[i];
      int got[11] = {l->in_channels, l->out_channels, l->in_h, l->in_w, l->k_h, l->k_w,
                     l->stride_h, l->stride_w, l->pad_h, l->pad_w, (int)l->mode * 2 + l->bias};
      char name[16];
      snprintf(name, sizeof name, "l%d", i);
      CU_ASSERT(memcmp(got, want[i], sizeof got) == 0);
      CU_ASSERT_STRING_EQUAL(l->name, name);
      CU_ASSERT_EQUAL(l->line, 2 + 2 * i);
    }
    osc_config_free(c);
  }
  free(src);
  free(want);
}

/* ---- the examples ----------------------------------------------------------------- */

static const char *examples_dir(void) {
  const char *d = getenv("OSCONV_EXAMPLES");
  return d && *d ? d : "examples";
}

static osc_config *load_example(const char *file) {
  char path[512];
  osc_config *c = NULL;
  osc_error e;
  snprintf(path, sizeof path, "%s/%s", examples_dir(), file);
  if (osc_config_load(path, NULL, &c, &e)) {
    fprintf(stderr, "\n%s\n", e.msg);
    CU_FAIL("example does not load");
    return NULL;
  }
  return c;
}

/* Every layer plans in its own mode; returns the conventional MACs
** (C_out * C_in/g * K_h * K_w * H_out * W_out, counted here) and params. */
static void plan_all(const osc_network *n, int64_t *macs, int64_t *params) {
  *macs = *params = 0;
  for (int i = 0; i < n->n_layers; i++) {
    const osc_layer *l = &n->layers[i];
    osc_plan p;
    osc_error e;
    int64_t per_pixel = (int64_t)l->out_channels * (l->in_channels / l->groups) * l->k_h * l->k_w;
    int ho = conv_out(l->in_h, l->k_h, l->stride_h, l->pad_h);
    int wo = conv_out(l->in_w, l->k_w, l->stride_w, l->pad_w);
    if (osc_plan_layer(l, &p, &e)) {
      fprintf(stderr, "\n%s\n", e.msg);
      CU_FAIL("an example layer does not plan");
    }
    *macs += per_pixel * ho * wo;
    *params += per_pixel;
  }
}

static int count_kernels(const osc_network *n, int k, int stride) {
  int count = 0;
  for (int i = 0; i < n->n_layers; i++)
    count += n->layers[i].k_h == k && n->layers[i].k_w == k && n->layers[i].stride_h == stride;
  return count;
}

/* ResNet-18, torchvision layout, every conv in order: C_in, C_out, H_in, K, stride, pad. */
static const int resnet18_layers[20][6] = {
    {3, 64, 224, 7, 2, 3},
    {64, 64, 56, 3, 1, 1},    {64, 64, 56, 3, 1, 1},   {64, 64, 56, 3, 1, 1},
    {64, 64, 56, 3, 1, 1},    {64, 128, 56, 3, 2, 1},  {128, 128, 28, 3, 1, 1},
    {64, 128, 56, 1, 2, 0},   {128, 128, 28, 3, 1, 1}, {128, 128, 28, 3, 1, 1},
    {128, 256, 28, 3, 2, 1},  {256, 256, 14, 3, 1, 1}, {128, 256, 28, 1, 2, 0},
    {256, 256, 14, 3, 1, 1},  {256, 256, 14, 3, 1, 1}, {256, 512, 14, 3, 2, 1},
    {512, 512, 7, 3, 1, 1},   {256, 512, 14, 1, 2, 0}, {512, 512, 7, 3, 1, 1},
    {512, 512, 7, 3, 1, 1},
};

static void test_example_resnet18(void) {
  osc_config *c = load_example("resnet18.lua");
  int64_t macs, params;
  if (!c) return;
  CU_ASSERT_EQUAL(c->n_networks, 1);
  CU_ASSERT_STRING_EQUAL(c->networks[0].name, "resnet18");
  CU_ASSERT_EQUAL(c->networks[0].n_layers, 20);
  for (int i = 0; i < 20 && i < c->networks[0].n_layers; i++) {
    const osc_layer *l = &c->networks[0].layers[i];
    const int *r = resnet18_layers[i];
    CU_ASSERT(l->in_channels == r[0] && l->out_channels == r[1] && l->in_h == r[2] &&
              l->in_w == r[2] && l->k_h == r[3] && l->k_w == r[3] && l->stride_h == r[4] &&
              l->stride_w == r[4] && l->pad_h == r[5] && l->pad_w == r[5]);
  }
  plan_all(&c->networks[0], &macs, &params);
  /* 1.8 GMACs (He et al. 2016, table 1); exactly, without the fc layer: */
  CU_ASSERT_EQUAL(macs, 1813561344);
  /* torchvision's 11,689,512 parameters = convs + batch norm 9,600 + fc 513,000 */
  CU_ASSERT_EQUAL(params, 11689512 - 9600 - 513000);
  CU_ASSERT_EQUAL(count_kernels(&c->networks[0], 1, 2), 3);   /* the downsample convs */
  osc_config_free(c);
}

static void test_example_resnet50(void) {
  osc_config *c = load_example("resnet50.lua");
  int64_t macs, params;
  if (!c) return;
  CU_ASSERT_STRING_EQUAL(c->networks[0].name, "resnet50");
  CU_ASSERT_EQUAL(c->networks[0].n_layers, 53);   /* 1 + 16 * 3 + 4 */
  CU_ASSERT_EQUAL(count_kernels(&c->networks[0], 7, 2), 1);
  CU_ASSERT_EQUAL(count_kernels(&c->networks[0], 3, 1), 13);
  CU_ASSERT_EQUAL(count_kernels(&c->networks[0], 3, 2), 3);   /* v1.5: stride on the 3x3 */
  CU_ASSERT_EQUAL(count_kernels(&c->networks[0], 1, 2), 3);   /* downsample, stages 2-4 */
  CU_ASSERT_EQUAL(count_kernels(&c->networks[0], 1, 1), 33);  /* 32 + stage 1's downsample */
  for (int i = 0; i < c->networks[0].n_layers; i++)
    CU_ASSERT_EQUAL(c->networks[0].layers[i].max_stages, 2);
  plan_all(&c->networks[0], &macs, &params);
  /* torchvision's ResNet-50 is 4.09 GMACs with the fc layer (2048 x 1000) */
  CU_ASSERT_EQUAL(macs, 4087136256);
  /* torchvision's 25,557,032 parameters = convs + batch norm 53,120 + fc 2,049,000 */
  CU_ASSERT_EQUAL(params, 25557032 - 53120 - 2049000);
  osc_config_free(c);
}

static void test_example_cifar_resnet20(void) {
  osc_config *c = load_example("cifar_resnet20.lua");
  int64_t macs, params;
  if (!c) return;
  CU_ASSERT_EQUAL(c->networks[0].n_layers, 21);   /* 19 + 2 option-B projections */
  CU_ASSERT_EQUAL(count_kernels(&c->networks[0], 1, 2), 2);
  for (int i = 0; i < c->networks[0].n_layers; i++) CU_ASSERT(c->networks[0].layers[i].in_h <= 32);
  plan_all(&c->networks[0], &macs, &params);
  /* 0.27 M parameters (He et al. 2016, table 6) = 267696 in 3x3 convs + 640 fc
  ** (+ BN); the projections add 16*32 + 32*64 = 2560 */
  CU_ASSERT_EQUAL(params, 267696 + 2560);
  osc_config_free(c);
}

static void test_example_mobilenet(void) {
  osc_config *c = load_example("mobilenet.lua");
  int64_t macs, params;
  int depthwise = 0;
  if (!c) return;
  CU_ASSERT_EQUAL(c->networks[0].n_layers, 27);
  for (int i = 0; i < c->networks[0].n_layers; i++) {
    const osc_layer *l = &c->networks[0].layers[i];
    if (l->groups > 1) {
      depthwise++;
      CU_ASSERT(l->groups == l->in_channels && l->in_channels == l->out_channels && l->k_h == 3);
      CU_ASSERT_EQUAL(l->mode, OSC_MODE_CONVENTIONAL);
    }
  }
  CU_ASSERT_EQUAL(depthwise, 13);
  plan_all(&c->networks[0], &macs, &params);
  /* 569 M mult-adds and 4.2 M parameters (Howard et al. 2017, table 8), fc
  ** (1024 x 1000) included */
  CU_ASSERT_EQUAL(macs + 1024 * 1000, 568740352);
  CU_ASSERT_EQUAL(params + 1024 * 1000 + 1000, 4210088);
  osc_config_free(c);
}

static void test_example_default(void) {
  osc_config *c = load_example("default.lua");
  int seen[OSC_MODE_COUNT] = {0}, strided = 0, pointwise = 0, widening = 0, non_square = 0;
  int residual = 0;
  int64_t macs, params;
  if (!c) return;
  CU_ASSERT_EQUAL(c->networks[0].n_layers, 7);
  for (int i = 0; i < c->networks[0].n_layers; i++) {
    const osc_layer *l = &c->networks[0].layers[i];
    seen[l->mode]++;
    residual += l->residual;
    strided += l->stride_h == 2;
    pointwise += l->k_h == 1 && l->k_w == 1;
    widening += l->in_channels != l->out_channels;
    non_square += l->k_h != l->k_w;
    CU_ASSERT(l->in_h <= 32 && l->in_channels <= 64 && l->out_channels <= 64);
  }
  for (int m = 0; m < OSC_MODE_COUNT; m++) CU_ASSERT(seen[m] > 0);
  CU_ASSERT(strided > 0 && pointwise > 0 && widening > 0 && non_square > 0 && residual > 0);
  plan_all(&c->networks[0], &macs, &params);
  osc_config_free(c);
}

/* ---- osconv check, end to end ------------------------------------------------------ */

static void test_cli_check(void) {
  const char *cli = osc_test_cli_path();
  char dir[] = "/tmp/osc-cfg-XXXXXX", bad[600], good[600], gen_dir[600], args[1400], want[1400];
  char *out, *err;
  FILE *f;
  if (!cli) return;
  if (!mkdtemp(dir)) { CU_FAIL("mkdtemp"); return; }
  snprintf(bad, sizeof bad, "%s/bad.lua", dir);
  snprintf(good, sizeof good, "%s/good.lua", dir);
  snprintf(gen_dir, sizeof gen_dir, "%s/out", dir);
  f = fopen(bad, "w");
  if (f) {
    fputs("network { name = 'net' }\nconv { name = 'b3', in_channels = 64, out_channels = 64,\n"
          "  size = 8, kernel = 3, groups = 5, mode = 'conventional' }\n", f);
    fclose(f);
  }
  f = fopen(good, "w");
  if (f) {
    fputs("network { name = 'one' }\nconv { " SHAPE ", kernel = 3 }\n"
          "network { name = 'two' }\nfor i = 1, 3 do conv { " SHAPE ", kernel = 1 } end\n", f);
    fclose(f);
  }
  /* a wrong layer: the message on stderr, exit 1, nothing on stdout */
  snprintf(args, sizeof args, "check '%s'", bad);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 1);
  snprintf(want, sizeof want,
           "osconv: %s:2: layer 'b3': groups 5 does not divide in_channels 64\n", bad);
  CU_ASSERT_STRING_EQUAL(err, want);
  CU_ASSERT_STRING_EQUAL(out, "");
  free(out);
  free(err);
  /* a good config: one line per network */
  snprintf(args, sizeof args, "check '%s'", good);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_STRING_EQUAL(out, "one: 1 layer OK\ntwo: 3 layers OK\n");
  CU_ASSERT_STRING_EQUAL(err, "");
  free(out);
  free(err);
  /* usage errors exit 2 */
  CU_ASSERT_EQUAL(osc_test_cli("", "check", &out, &err), 2);
  free(out);
  free(err);
  snprintf(args, sizeof args, "check '%s' --frobnicate", good);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 2);
  free(out);
  free(err);
  /* a missing file */
  snprintf(args, sizeof args, "check '%s/none.lua'", dir);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 1);
  snprintf(want, sizeof want, "osconv: %s/none.lua: cannot open: No such file or directory\n", dir);
  CU_ASSERT_STRING_EQUAL(err, want);
  free(out);
  free(err);
  /* gen on the wrong config writes nothing */
  snprintf(args, sizeof args, "gen '%s' -o '%s'", bad, gen_dir);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 1);
  CU_ASSERT_EQUAL(access(gen_dir, F_OK), -1);
  free(out);
  free(err);
  rmdir(gen_dir);
  unlink(bad);
  unlink(good);
  CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static CU_TestInfo tests[] = {
    {"error messages", test_error_messages},
    {"error lines", test_error_lines},
    {"long file name", test_long_file_name},
    {"files", test_files},
    {"sandbox library", test_sandbox_library},
    {"unsandboxed", test_unsandboxed},
    {"instruction limit", test_instruction_limit},
    {"memory limit", test_memory_limit},
    {"layer limit", test_layer_limit},
    {"sandbox patterns", test_sandbox_patterns},
    {"sandbox same results as Lua", test_sandbox_same_results},
    {"sandbox C loops", test_sandbox_c_loops},
    {"sandbox time limit", test_sandbox_time_limit},
    {"network defaults", test_network_defaults},
    {"mode defaults", test_mode_defaults},
    {"input chaining", test_input_chaining},
    {"activations relu6 and clamp", test_activations},
    {"residual field", test_residual_field},
    {"oc_lanes field", test_oc_lanes_field},
    {"call sites", test_call_sites},
    {"defaults and fields", test_defaults_and_fields},
    {"objective time", test_objective_time},
    {"networks", test_networks},
    {"network name from file", test_network_name_from_file},
    {"random layers", test_random_layers},
    {"example resnet18", test_example_resnet18},
    {"example resnet50", test_example_resnet50},
    {"example cifar_resnet20", test_example_cifar_resnet20},
    {"example mobilenet", test_example_mobilenet},
    {"example default", test_example_default},
    {"cli check", test_cli_check},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("config", tests)

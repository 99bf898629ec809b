/*
** oscconfig.c -- the config language: a Lua script (loops, functions and
** locals welcome) that declares networks and their conv layers.
**
**   network { name = "resnet18", batch = 1, max_stages = 2 }
**   conv { name = "conv1", in_channels = 3, out_channels = 64, size = 224,
**          kernel = 7, stride = 2, padding = 3, bias = true, activation = "relu" }
**   conv { name = "b1", in_channels = 64, out_channels = 64, height = 56, width = 56,
**          kernel = {3, 3}, padding = "same" }
**   conv { name = "x", in_channels = 64, out_channels = 64, size = 16, kernel = 3,
**          padding = 1, stages = { {kernel = {3, 1}, groups = 8},
**                                  {kernel = {1, 3}, groups = 8} } }
**
** network{} starts a network (name: a C identifier, default the file's base
** name; batch: images per call, default 1); its other fields are defaults for
** the layers that follow, each checked on its own when network{} runs (a
** kernel of 0 is wrong for any layer). stages is not a network field: a
** chain is written for one layer. A conv{} before any network{} opens an
** implicit network named after the file. conv{} returns the shape of its
** output, {name =, channels =, height =, width =}, so layers can be chained.
**
** Layer fields: name (default "conv<N>", N its position in the network;
** letters, digits, underscore; unique in the network), in_channels,
** out_channels, size (a number or {height, width}) or height and width,
** kernel (a number or {height, width}), stride (same; default 1), padding
** (a number, {height, width}, "valid" = 0 (default) or "same" = (k-1)/2 per
** dimension, odd kernels only: the size at stride 1, ceil(size/stride)
** otherwise), groups (default 1; >1 only in mode "conventional", its default), bias
** (default false), activation ("none", "relu", "relu6", {"clamp", min, max}),
** residual (default false: true adds an input of the output's shape after
** the bias, before the activation), mode ("conventional",
** "depthwise", "spatial", "optimal" (default) or "fixed"), max_stages (1..16,
** default 2), objective ("macs", "params" or "time"), widths (extra internal widths
** the search may use), oc_lanes (default false: true lets stages use lanes
** over output channels where that costs less, the layer then taking its
** weights packed: README "ABI"), stages (mode "fixed": a list of {kernel =, groups =
** (default 1), out_channels = (default: in_channels, the layer's out_channels
** for the last stage)}; a conv{} that lists stages and names no mode is in
** mode "fixed").
**
** Every error reads "file:line: ..." with the line of the conv{}/network{}
** call, where the wrong field is written; a call inside a function adds the
** lines that called it: "t.lua:2: layer 'x': ... (called from line 5)".
** Unknown fields get a suggestion. Layers are validated and fixed chains
** planned as they are declared, so the script stops at the first wrong
** layer. Nothing is returned on error.
**
** The script runs in oscsandbox.c's sandbox unless the caller asks for
** unsandboxed (trusted) loading: bounded memory, work and CPU time, no io,
** os, require or debug, and no Lua patterns -- string.match, gmatch and gsub
** raise an error and string.find does plain searches only, since a pattern
** can backtrack for years inside one C call where no limit reaches it.
*/
#include "osconv.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "oscerr.h"
#include "oscvariant.h"
#include "oscfile.h"
#include "oscmode.h"
#include "oscplanner.h"
#include "oscsandbox.h"
#include "oscsuggest.h"

#define BATCH_MAX 65536
#define INT_FIELD_MAX (1 << 30)   /* beyond any valid value, and far from overflow */
#define FILE_MAX ((long)64 << 20)

/* ---- fields --------------------------------------------------------------- */

enum field {
  F_NAME, F_IN, F_OUT, F_SIZE, F_HEIGHT, F_WIDTH, F_KERNEL, F_STRIDE, F_PADDING,
  F_GROUPS, F_BIAS, F_ACTIVATION, F_RESIDUAL, F_MODE, F_MAX_STAGES, F_OBJECTIVE, F_WIDTHS,
  F_CODE, F_OC_LANES, F_STAGES, F_INPUT, F_BATCH, F_COUNT
};
#define BIT(f) (1u << (f))
#define LAYER_FIELDS (BIT(F_BATCH) - 1u)
#define NETWORK_FIELDS ((BIT(F_COUNT) - 1u) & ~(BIT(F_STAGES) | BIT(F_INPUT)))

static const char *const field_names[F_COUNT] = {
    "name", "in_channels", "out_channels", "size", "height", "width", "kernel",
    "stride", "padding", "groups", "bias", "activation", "residual", "mode", "max_stages",
    "objective", "widths", "code", "oc_lanes", "stages", "input", "batch"};

static const char *const stage_fields[] = {"kernel", "groups", "out_channels"};
static const char *const mode_names[] = {"conventional", "depthwise", "spatial",
                                         "optimal", "fixed"};   /* osc_mode order */
_Static_assert(sizeof mode_names / sizeof mode_names[0] == OSC_MODE_COUNT, "a mode per name");
static const char *const objective_names[] = {"macs", "params", "time"};
static const char *const activation_names[] = {"none", "relu", "relu6"};   /* osc_activation order */

/* Names people bring from other frameworks. */
static const struct { const char *alias, *field; } aliases[] = {
    {"kernel_size", "kernel"}, {"filters", "out_channels"},
    {"input_channels", "in_channels"}, {"output_channels", "out_channels"},
};

/* What one table (a conv{} or the defaults of a network{}) said. */
typedef struct spec {
  unsigned set;      /* BIT(F_*) of the fields given; size sets height and width */
  int same;          /* padding = "same", resolved once the kernel is known */
  osc_layer l;       /* the values; osc_layer_init defaults elsewhere */
} spec;

/* ---- the loader ------------------------------------------------------------ */

typedef struct loader {
  osc_sandbox sb;
  osc_config *cfg;
  osc_planner *planner;         /* fixed chains, planned in conv{}: the host's budget */
  int layer_limit, total_layers;
  int network_cap, layer_cap;   /* capacities of cfg->networks, current layers */
  spec defaults;                /* of the current network */
  char raised[sizeof ((osc_error *)0)->msg];  /* the last error conv/network raised */
  osc_status raised_code;
} loader;

static const char names_key = 'n';      /* registry: layer name -> line, current network */
static const char networks_key = 'N';   /* registry: network name -> line */

/* One call of conv{} or network{}: where it is and what it declares. */
typedef struct call {
  loader *ld;
  lua_State *L;
  int line;
  char what[96];   /* "layer 'x': ", "network 'x': " or "" */
} call;

#define MAX_CALLERS 4   /* call sites named in a message */

/* " (called from line 5, from line 9)" when the call sits in a function of
** the config: the main chunk's frames above the one whose line the message
** gives; "" at the top level. */
static void call_sites(call *c, char *buf, size_t size) {
  int level = 1, n = 0, line;
  size_t k = 0;
  buf[0] = '\0';
  if (!osc_sandbox_next_line(c->L, &level)) return;
  for (level++; (line = osc_sandbox_next_line(c->L, &level)) > 0; level++, n++) {
    if (n == MAX_CALLERS) {
      k += (size_t)snprintf(buf + k, size - k, ", ...");
      break;
    }
    k += (size_t)snprintf(buf + k, size - k, "%s%d", n ? ", from line " : " (called from line ",
                          line);
    if (k >= size) break;
  }
  if (n > 0 && k < size) snprintf(buf + k, size - k, ")");
}

/* Raise `msg` (already "file:line: ...") as the call's error, with its call sites. */
static int raise_placed(call *c, osc_status code, const char *msg) {
  char sites[160];
  call_sites(c, sites, sizeof sites);
  snprintf(c->ld->raised, sizeof c->ld->raised, "%s%s", msg, sites);
  c->ld->raised_code = code;
  lua_pushstring(c->L, c->ld->raised);
  return lua_error(c->L);
}

static int raise_at(call *c, osc_status code, const char *fmt, ...) OSC_PRINTF(3, 4);
static int raise_at(call *c, osc_status code, const char *fmt, ...) {
  char msg[900], placed[sizeof ((osc_error *)0)->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->line > 0)
    snprintf(placed, sizeof placed, "%s:%d: %s%s", c->ld->sb.file, c->line, c->what, msg);
  else
    snprintf(placed, sizeof placed, "%s: %s%s", c->ld->sb.file, c->what, msg);
  return raise_placed(c, code, placed);
}

#define fail(c, ...) raise_at((c), OSC_ECONFIG, __VA_ARGS__)

/* ---- messages --------------------------------------------------------------- */

/* A string as a message can show it: escaped and cut short. */
static void show_string(const char *s, size_t len, char *buf, size_t size) {
  size_t n = 0;
  for (size_t i = 0; i < len && n + 8 < size; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (i == 40) { n += (size_t)snprintf(buf + n, size - n, "..."); break; }
    if (ch >= 0x20 && ch < 0x7f) buf[n++] = (char)ch;
    else n += (size_t)snprintf(buf + n, size - n, "\\x%02x", ch);
  }
  buf[n] = '\0';
}

/* The known name `key` was most likely meant as, or NULL. */
static const char *suggest(const char *key, const char *const *names, int n,
                           unsigned mask, int use_aliases) {
  const char *best = NULL;
  int best_d = 3;
  size_t klen = strlen(key);
  if (use_aliases)
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
      if (strcmp(key, aliases[i].alias) == 0) return aliases[i].field;
  for (int i = 0; i < n; i++) {
    int d;
    if (!(mask & BIT(i))) continue;
    d = osc_suggest_distance(key, names[i]);
    if (d > 1 && strlen(names[i]) <= 4) continue;   /* too short to guess from */
    if (d < best_d) { best = names[i]; best_d = d; }
  }
  if (best) return best;
  for (int i = 0; i < n; i++)   /* an abbreviation: "act", "pad", "obj" */
    if ((mask & BIT(i)) && klen >= 3 && strncmp(key, names[i], klen) == 0) return names[i];
  return NULL;
}

/* "a", "b" or "c" */
static void list_names(const char *const *names, int n, char *buf, size_t size) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < n && k < size; i++)
    k += (size_t)snprintf(buf + k, size - k, "%s\"%s\"",
                          i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
}

/* ---- reading values ----------------------------------------------------------- */

/* Push t[name] (raw: a config's tables are plain data); 0 if it is nil. */
static int get(lua_State *L, int t, const char *name) {
  lua_pushstring(L, name);
  if (lua_rawget(L, t) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  return 0;
}

static int to_int(call *c, int idx, const char *what) {
  lua_State *L = c->L;
  lua_Integer v;
  int ok;
  if (lua_type(L, idx) != LUA_TNUMBER)
    fail(c, "%s must be a number, got %s", what, luaL_typename(L, idx));
  v = lua_tointegerx(L, idx, &ok);
  if (!ok) fail(c, "%s must be a whole number, got %.14g", what, lua_tonumber(L, idx));
  if (v < -INT_FIELD_MAX || v > INT_FIELD_MAX)
    fail(c, "%s is out of range, got %lld", what, (long long)v);
  return (int)v;
}

/* Length of a list (keys exactly 1..n), or -1. */
static lua_Integer list_length(lua_State *L, int t) {
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1)) { lua_pop(L, 1); return -1; }
    n++;
  }
  for (lua_Integer i = 1; i <= n; i++) {
    int missing = lua_rawgeti(L, t, i) == LUA_TNIL;
    lua_pop(L, 1);
    if (missing) return -1;
  }
  return n;
}

/* A number for both, or {height, width}. `expect` names the accepted forms. */
static void to_pair(call *c, int idx, const char *what, const char *expect, int *h, int *w) {
  lua_State *L = c->L;
  char part[64];
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TNUMBER) {
    *h = *w = to_int(c, idx, what);
    return;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    fail(c, "%s must be %s, got %s", what, expect, luaL_typename(L, idx));
  if (list_length(L, idx) != 2)
    fail(c, "%s must be %s, got a table that is not a list of two numbers", what, expect);
  lua_rawgeti(L, idx, 1);
  snprintf(part, sizeof part, "%s height", what);
  *h = to_int(c, -1, part);
  lua_rawgeti(L, idx, 2);
  snprintf(part, sizeof part, "%s width", what);
  *w = to_int(c, -1, part);
  lua_pop(L, 2);
}

static int to_enum(call *c, int idx, const char *what, const char *const *names, int n) {
  lua_State *L = c->L;
  char list[160], shown[200];
  const char *s, *guess;
  size_t len = 0;
  list_names(names, n, list, sizeof list);
  if (lua_type(L, idx) != LUA_TSTRING)
    fail(c, "%s must be %s%s, got %s", what, n > 2 ? "one of " : "", list,
         luaL_typename(L, idx));
  s = lua_tolstring(L, idx, &len);
  for (int i = 0; i < n; i++)
    if (strlen(names[i]) == len && strcmp(s, names[i]) == 0) return i;
  show_string(s, len, shown, sizeof shown);
  guess = strlen(s) == len ? suggest(s, names, n, ~0u, 0) : NULL;
  if (guess)
    fail(c, "%s must be %s%s, got \"%s\" (did you mean \"%s\"?)", what, n > 2 ? "one of " : "",
         list, shown, guess);
  return fail(c, "%s must be %s%s, got \"%s\"", what, n > 2 ? "one of " : "", list, shown);
}

/* Every key of table t must be one of names[] (allowed by mask). */
static void check_keys(call *c, int t, const char *const *names, int n, unsigned mask,
                       const char *where) {
  lua_State *L = c->L;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    const char *key, *guess;
    size_t len;
    int known = 0;
    char shown[200];
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      if (lua_isinteger(L, -1))
        fail(c, "%sfields need names (like kernel = 3), got a value at position %lld",
             where, (long long)lua_tointeger(L, -1));
      fail(c, "%sfields need names (like kernel = 3), got a %s key", where,
           luaL_typename(L, -1));
    }
    key = lua_tolstring(L, -1, &len);
    for (int i = 0; i < n && !known; i++)
      known = (mask & BIT(i)) && strlen(names[i]) == len && strcmp(key, names[i]) == 0;
    if (known) continue;
    show_string(key, len, shown, sizeof shown);
    guess = strlen(key) == len ? suggest(key, names, n, mask, names == field_names) : NULL;
    if (guess) fail(c, "%sunknown field '%s' (did you mean '%s'?)", where, shown, guess);
    if (strcmp(key, "dilation") == 0 && names == field_names)
      fail(c, "%sdilation is not supported", where);
    fail(c, "%sunknown field '%s'", where, shown);
  }
}

/* ---- names ------------------------------------------------------------------ */

static int ident_char(int ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_';
}

static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }

/* t.name into out; `dflt` if absent. A network's name must be a C
** identifier (it prefixes symbols), a layer's only an identifier fragment. */
static void read_name(call *c, int t, const char *kind, int identifier, const char *dflt,
                      char *out) {
  lua_State *L = c->L;
  const char *s;
  size_t len = 0;
  char shown[200];
  if (!get(L, t, "name")) {
    snprintf(out, OSC_NAME_MAX, "%s", dflt);
    return;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    fail(c, "%s name must be a string, got %s", kind, luaL_typename(L, -1));
  s = lua_tolstring(L, -1, &len);
  show_string(s, len, shown, sizeof shown);
  if (len == 0) fail(c, "%s name must not be empty", kind);
  if (strlen(s) != len) fail(c, "%s name '%s' contains a NUL byte", kind, shown);
  if (len >= OSC_NAME_MAX)
    fail(c, "%s name '%s' is too long (%zu characters, at most %d)", kind, shown, len,
         OSC_NAME_MAX - 1);
  for (size_t i = 0; i < len; i++)
    if (!ident_char((unsigned char)s[i]))
      fail(c, "%s name '%s' may only contain letters, digits and underscores", kind, shown);
  if (identifier && is_digit((unsigned char)s[0]))
    fail(c, "%s name '%s' must not start with a digit (it prefixes C symbols)", kind, shown);
  memcpy(out, s, len + 1);
  lua_pop(L, 1);
}

/* "examples/resnet-18.lua" -> "resnet_18" */
static void file_network_name(const char *file, char *out) {
  const char *base = strrchr(file, '/'), *dot;
  size_t n, k = 0;
  base = base ? base + 1 : file;
  dot = strrchr(base, '.');
  n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  if (n > 0 && is_digit((unsigned char)base[0])) k = (size_t)snprintf(out, OSC_NAME_MAX, "net_");
  for (size_t i = 0; i < n && k + 1 < OSC_NAME_MAX; i++)
    out[k++] = ident_char((unsigned char)base[i]) ? base[i] : '_';
  out[k] = '\0';
  if (k == 0) snprintf(out, OSC_NAME_MAX, "net");
}

/* ---- a table of layer fields -------------------------------------------------- */

static void read_widths(call *c, int idx, osc_layer *l) {
  lua_State *L = c->L;
  lua_Integer n = 0;
  char what[32];
  if (lua_type(L, idx) != LUA_TTABLE || (n = list_length(L, idx)) < 0)
    fail(c, "widths must be a list of numbers like {32, 48}, got %s",
         lua_type(L, idx) == LUA_TTABLE ? "a table that is not a list" : luaL_typename(L, idx));
  if (n > OSC_MAX_WIDTHS)
    fail(c, "widths can list at most %d entries, got %lld", OSC_MAX_WIDTHS, (long long)n);
  for (int i = 0; i < (int)n; i++) {
    lua_rawgeti(L, idx, i + 1);
    snprintf(what, sizeof what, "widths[%d]", i + 1);
    l->widths[i] = to_int(c, -1, what);
    lua_pop(L, 1);
  }
  l->n_widths = (int)n;
}

static void read_stage(call *c, int t, int i, osc_stage_spec *st) {
  lua_State *L = c->L;
  char where[40], what[64];
  snprintf(where, sizeof where, "stages[%d]: ", i);
  if (lua_type(L, t) != LUA_TTABLE)
    fail(c, "stages[%d] must be a table like {kernel = {3, 1}, groups = 8}, got %s", i,
         luaL_typename(L, t));
  check_keys(c, t, stage_fields, 3, 7u, where);
  st->k_h = st->k_w = 1;
  st->groups = 1;
  st->out_channels = 0;
  if (get(L, t, "kernel")) {
    snprintf(what, sizeof what, "stages[%d].kernel", i);
    to_pair(c, -1, what, "a number or {height, width}", &st->k_h, &st->k_w);
    lua_pop(L, 1);
  }
  if (get(L, t, "groups")) {
    snprintf(what, sizeof what, "stages[%d].groups", i);
    st->groups = to_int(c, -1, what);
    lua_pop(L, 1);
  }
  if (get(L, t, "out_channels")) {
    snprintf(what, sizeof what, "stages[%d].out_channels", i);
    st->out_channels = to_int(c, -1, what);
    lua_pop(L, 1);
  }
}

static void read_stages(call *c, int idx, osc_layer *l) {
  lua_State *L = c->L;
  lua_Integer n = 0;
  if (lua_type(L, idx) != LUA_TTABLE || (n = list_length(L, idx)) < 0)
    fail(c, "stages must be a list of stages like {{kernel = {3, 1}, groups = 8}, ...}, got %s",
         lua_type(L, idx) == LUA_TTABLE ? "a table that is not a list" : luaL_typename(L, idx));
  if (n < 1) fail(c, "stages must list at least one stage");
  if (n > OSC_MAX_STAGES)
    fail(c, "stages can list at most %d stages, got %lld", OSC_MAX_STAGES, (long long)n);
  for (int i = 0; i < (int)n; i++) {
    lua_rawgeti(L, idx, i + 1);
    read_stage(c, lua_absindex(L, -1), i + 1, &l->fixed[i]);
    lua_pop(L, 1);
  }
  l->n_fixed = (int)n;
}

/* activation = "none" | "relu" | "relu6" | {"clamp", min, max}. A name
** that is none of them gets no "did you mean": "gelu" is not a misspelt
** "relu" but another operation. */
static void read_activation(call *c, int t, osc_layer *l) {
  static const char usage[] = "\"none\", \"relu\", \"relu6\" or {\"clamp\", min, max}";
  lua_State *L = c->L;
  if (lua_type(L, t) == LUA_TSTRING) {
    const char *s = lua_tostring(L, t);
    for (int i = 0; i < 3; i++)
      if (!strcmp(s, activation_names[i])) {
        l->act = (osc_activation)i;
        return;
      }
    if (!strcmp(s, "clamp")) fail(c, "activation \"clamp\" needs its bounds: {\"clamp\", min, max}");
    fail(c, "activation must be %s, got \"%.40s\"", usage, s);
  }
  if (lua_type(L, t) != LUA_TTABLE) fail(c, "activation must be %s, got %s", usage, luaL_typename(L, t));
  lua_rawgeti(L, t, 1);
  if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "clamp") != 0 ||
      luaL_len(L, t) != 3)
    fail(c, "activation must be %s", usage);
  lua_pop(L, 1);
  for (int i = 0; i < 2; i++) {
    lua_rawgeti(L, t, 2 + i);
    if (!lua_isnumber(L, -1)) fail(c, "activation {\"clamp\", min, max}: %s must be a number, got %s",
                                   i ? "max" : "min", luaL_typename(L, -1));
    if (i) l->clamp_max = (float)lua_tonumber(L, -1);
    else l->clamp_min = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  if (!(isfinite(l->clamp_min) && isfinite(l->clamp_max) && l->clamp_min <= l->clamp_max))
    fail(c, "activation {\"clamp\", %g, %g}: min and max must be finite with min <= max",
         (double)l->clamp_min, (double)l->clamp_max);
  l->act = OSC_ACT_CLAMP;
}

/* input = x: the shape an earlier conv{} returned (channels, height, width)
** gives in_channels and the size; any of them also given must agree. */
static void read_input(call *c, int t, spec *s) {
  static const char *const keys[] = {"channels", "height", "width"};
  static const int fields[] = {F_IN, F_HEIGHT, F_WIDTH};
  int *dst[] = {&s->l.in_channels, &s->l.in_h, &s->l.in_w};
  char from[96] = "the input";
  lua_State *L = c->L;
  if (lua_type(L, t) != LUA_TTABLE)
    fail(c, "input must be the shape an earlier conv{} returned (local x = conv{...}; "
            "conv{input = x, ...}), got %s", luaL_typename(L, t));
  if (get(L, t, "name")) {
    if (lua_type(L, -1) == LUA_TSTRING)
      snprintf(from, sizeof from, "input '%.64s'", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  for (int i = 0; i < 3; i++) {
    char what[32];
    int v;
    snprintf(what, sizeof what, "input.%s", keys[i]);
    if (!get(L, t, keys[i])) fail(c, "input has no '%s' (not the shape conv{} returns?)", keys[i]);
    v = to_int(c, -1, what);
    lua_pop(L, 1);
    if ((s->set & BIT(fields[i])) && *dst[i] != v)
      fail(c, "%s %d does not match %s, which has %s %d", field_names[fields[i]], *dst[i], from,
           keys[i], v);
    *dst[i] = v;
    s->set |= BIT(fields[i]);
  }
}

/* code = "4x6/u240": the SIMD stages' code variant (gen/oscvariant.h), kept
** canonical ("auto" is kept as ""). */
static void read_code(call *c, int idx, osc_layer *l) {
  char canon[OSC_VARIANT_MAX];
  osc_error why;
  if (lua_type(c->L, idx) != LUA_TSTRING)
    fail(c, "code must be a code variant name (\"auto\", \"4x6\", \"8x2/u240\"), got %s",
         luaL_typename(c->L, idx));
  if (osc_variant_parse(lua_tostring(c->L, idx), &(osc_emit_knobs){0}, canon, &why))
    fail(c, "%s", why.msg);
  _Static_assert(sizeof l->code >= OSC_VARIANT_MAX, "a canonical name fits");
  snprintf(l->code, sizeof l->code, "%s", strcmp(canon, "auto") ? canon : "");
}

/* One field's value (on top of the stack) into s. */
static void read_field(call *c, int f, spec *s) {
  static const char *const pair = "a number or {height, width}";
  lua_State *L = c->L;
  osc_layer *l = &s->l;
  const char *name = field_names[f];
  int top = lua_gettop(L), v;
  switch (f) {
  case F_IN: l->in_channels = to_int(c, top, name); break;
  case F_OUT: l->out_channels = to_int(c, top, name); break;
  case F_SIZE: to_pair(c, top, name, pair, &l->in_h, &l->in_w); break;
  case F_HEIGHT: l->in_h = to_int(c, top, name); break;
  case F_WIDTH: l->in_w = to_int(c, top, name); break;
  case F_KERNEL: to_pair(c, top, name, pair, &l->k_h, &l->k_w); break;
  case F_STRIDE: to_pair(c, top, name, pair, &l->stride_h, &l->stride_w); break;
  case F_PADDING:
    s->same = 0;
    if (lua_type(L, top) == LUA_TSTRING) {
      v = to_enum(c, top, name, (const char *const[]){"same", "valid"}, 2);
      s->same = v == 0;
      l->pad_h = l->pad_w = 0;
    } else {
      to_pair(c, top, name, "a number, {height, width}, \"same\" or \"valid\"", &l->pad_h,
              &l->pad_w);
    }
    break;
  case F_GROUPS: l->groups = to_int(c, top, name); break;
  case F_BIAS:
    if (lua_type(L, top) != LUA_TBOOLEAN)
      fail(c, "bias must be true or false, got %s", luaL_typename(L, top));
    l->bias = lua_toboolean(L, top);
    break;
  case F_ACTIVATION: read_activation(c, top, l); break;
  case F_RESIDUAL:
    if (lua_type(L, top) != LUA_TBOOLEAN)
      fail(c, "residual must be true or false, got %s", luaL_typename(L, top));
    l->residual = lua_toboolean(L, top);
    break;
  case F_OC_LANES:
    if (lua_type(L, top) != LUA_TBOOLEAN)
      fail(c, "oc_lanes must be true or false, got %s", luaL_typename(L, top));
    l->oc_lanes = lua_toboolean(L, top);
    break;
  case F_MODE: l->mode = (osc_mode)to_enum(c, top, name, mode_names, OSC_MODE_COUNT); break;
  case F_MAX_STAGES: l->max_stages = to_int(c, top, name); break;
  case F_OBJECTIVE: l->objective = (osc_objective)to_enum(c, top, name, objective_names, 3); break;
  case F_WIDTHS: read_widths(c, top, l); break;
  case F_CODE: read_code(c, top, l); break;
  case F_STAGES: read_stages(c, top, l); break;
  case F_INPUT: read_input(c, top, s); break;
  default: break;
  }
}

/* The layer fields of table t (name and batch are the caller's). */
static void read_spec(call *c, int t, spec *s) {
  lua_State *L = c->L;
  memset(s, 0, sizeof *s);
  osc_layer_init(&s->l);
  for (int f = F_IN; f < F_BATCH; f++) {
    if (!get(L, t, field_names[f])) continue;
    if (f == F_SIZE) s->set |= BIT(F_HEIGHT) | BIT(F_WIDTH);
    else if ((f == F_HEIGHT || f == F_WIDTH) && (s->set & BIT(F_SIZE)))
      fail(c, "give either size or height and width, not both");
    s->set |= BIT(f);
    read_field(c, f, s);
    lua_pop(L, 1);
  }
}

/* d takes field f from s. */
static void take(spec *d, const spec *s, int f) {
  osc_layer *a = &d->l;
  const osc_layer *b = &s->l;
  switch (f) {
  case F_IN: a->in_channels = b->in_channels; break;
  case F_OUT: a->out_channels = b->out_channels; break;
  case F_HEIGHT: a->in_h = b->in_h; break;
  case F_WIDTH: a->in_w = b->in_w; break;
  case F_KERNEL: a->k_h = b->k_h; a->k_w = b->k_w; break;
  case F_STRIDE: a->stride_h = b->stride_h; a->stride_w = b->stride_w; break;
  case F_PADDING: a->pad_h = b->pad_h; a->pad_w = b->pad_w; d->same = s->same; break;
  case F_GROUPS: a->groups = b->groups; break;
  case F_BIAS: a->bias = b->bias; break;
  case F_ACTIVATION:
    a->act = b->act;
    a->clamp_min = b->clamp_min;
    a->clamp_max = b->clamp_max;
    break;
  case F_RESIDUAL: a->residual = b->residual; break;
  case F_OC_LANES: a->oc_lanes = b->oc_lanes; break;
  case F_MODE: a->mode = b->mode; break;
  case F_MAX_STAGES: a->max_stages = b->max_stages; break;
  case F_OBJECTIVE: a->objective = b->objective; break;
  case F_CODE: memcpy(a->code, b->code, sizeof a->code); break;
  case F_WIDTHS:
    a->n_widths = b->n_widths;
    memcpy(a->widths, b->widths, sizeof a->widths);
    break;
  case F_STAGES:
    a->n_fixed = b->n_fixed;
    memcpy(a->fixed, b->fixed, sizeof a->fixed);
    break;
  default: return;
  }
  d->set |= BIT(f);
}

/* A grouped layer has one mode, so a default (the network's or the global
** one) gives it "conventional"; only a mode it names itself is refused. */
static osc_mode resolve_mode(const spec *own, const spec *net, int groups) {
  if (own->set & BIT(F_MODE)) return own->l.mode;
  if (own->set & BIT(F_STAGES)) return OSC_MODE_FIXED;
  if (groups > 1) return OSC_MODE_CONVENTIONAL;
  if (net->set & BIT(F_MODE)) return net->l.mode;
  return OSC_MODE_OPTIMAL;
}

/* The layer a conv{} declares: its own fields over the network's defaults. */
static void resolve(call *c, const spec *own, const spec *net, osc_layer *l) {
  spec s = *own;
  for (int f = F_IN; f < F_BATCH; f++)
    if (!(s.set & BIT(f)) && (net->set & BIT(f))) take(&s, net, f);
  s.l.mode = resolve_mode(own, net, s.l.groups);
  if ((own->set & BIT(F_MAX_STAGES)) && s.l.mode != OSC_MODE_OPTIMAL)
    fail(c, "max_stages is only used in mode \"optimal\", but mode is \"%s\"",
         osc_mode_name(s.l.mode));
  if (!(s.set & BIT(F_IN))) fail(c, "missing field 'in_channels'");
  if (!(s.set & BIT(F_OUT))) fail(c, "missing field 'out_channels'");
  if (!(s.set & (BIT(F_HEIGHT) | BIT(F_WIDTH))))
    fail(c, "missing field 'size' (or 'height' and 'width')");
  if (!(s.set & BIT(F_HEIGHT))) fail(c, "missing field 'height'");
  if (!(s.set & BIT(F_WIDTH))) fail(c, "missing field 'width'");
  if (!(s.set & BIT(F_KERNEL))) fail(c, "missing field 'kernel'");
  if (s.same) {
    if (s.l.k_h % 2 == 0 || s.l.k_w % 2 == 0)
      fail(c, "padding \"same\" needs an odd kernel, got %dx%d", s.l.k_h, s.l.k_w);
    s.l.pad_h = (s.l.k_h - 1) / 2;
    s.l.pad_w = (s.l.k_w - 1) / 2;
  }
  if (s.l.mode == OSC_MODE_FIXED && s.l.n_fixed == 0)
    fail(c, "mode \"fixed\" needs stages = {{kernel = ..., groups = ...}, ...}");
  if (s.l.mode != OSC_MODE_FIXED && s.l.n_fixed > 0)
    fail(c, "stages are only used in mode \"fixed\", but mode is \"%s\"",
         osc_mode_name(s.l.mode));
  *l = s.l;
}

/* ---- networks and layers ------------------------------------------------------ */

static osc_network *current(loader *ld) {
  return ld->cfg->n_networks ? &ld->cfg->networks[ld->cfg->n_networks - 1] : NULL;
}

/* registry[key][name]: the line it was declared at, or 0 */
static int declared_at(lua_State *L, const void *key, const char *name) {
  int line;
  lua_rawgetp(L, LUA_REGISTRYINDEX, key);
  lua_getfield(L, -1, name);
  line = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
  return line;
}

static void declare(lua_State *L, const void *key, const char *name, int line) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, key);
  lua_pushinteger(L, line);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

static void open_network(call *c, const char *name, int batch, const spec *defaults) {
  loader *ld = c->ld;
  osc_config *cfg = ld->cfg;
  osc_network *net;
  if (cfg->n_networks == ld->network_cap) {
    int cap = ld->network_cap ? 2 * ld->network_cap : 4;
    osc_network *grown = realloc(cfg->networks, (size_t)cap * sizeof *grown);
    if (!grown) raise_at(c, OSC_ENOMEM, "out of memory");
    cfg->networks = grown;
    ld->network_cap = cap;
  }
  /* the names table first: if it fails, the network was not added */
  lua_newtable(c->L);
  lua_rawsetp(c->L, LUA_REGISTRYINDEX, &names_key);
  declare(c->L, &networks_key, name, c->line);
  net = &cfg->networks[cfg->n_networks++];
  memset(net, 0, sizeof *net);
  snprintf(net->name, sizeof net->name, "%s", name);
  net->batch = batch;
  net->line = c->line;
  ld->defaults = *defaults;
  ld->layer_cap = 0;
}

static void start_call(call *c, lua_State *L, const char *fn, const char *example) {
  c->ld = lua_touserdata(L, lua_upvalueindex(1));
  c->L = L;
  c->line = osc_sandbox_line(L, 1);
  c->what[0] = '\0';
  if (c->ld->sb.finished) fail(c, "%s{} called after the config finished", fn);
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TTABLE)
    fail(c, "%s needs one table of fields, like %s, got %s", fn, example,
         lua_gettop(L) == 0 ? "nothing" : lua_gettop(L) > 1 ? "several values"
                                                           : luaL_typename(L, 1));
}

/* Fields whose values osc_layer_validate checks against ranges. */
#define RANGED_FIELDS                                                                    \
  (BIT(F_IN) | BIT(F_OUT) | BIT(F_HEIGHT) | BIT(F_WIDTH) | BIT(F_KERNEL) | BIT(F_STRIDE) | \
   BIT(F_PADDING) | BIT(F_GROUPS) | BIT(F_MAX_STAGES) | BIT(F_WIDTHS))

/* A valid 1x1 layer over a 1x1 input that takes field f from the network.
** roomy: the other fields make room for any valid value of f (an input as
** large as the kernel, channels divisible by the groups); else they stay
** minimal, so an invalid f is the first thing validation finds. */
static void probe_layer(const spec *net, int f, int roomy, osc_layer *l) {
  spec p;
  memset(&p, 0, sizeof p);
  osc_layer_init(&p.l);
  p.l.in_channels = p.l.out_channels = p.l.in_h = p.l.in_w = p.l.k_h = p.l.k_w = 1;
  take(&p, net, f);
  if (roomy && f == F_KERNEL) {
    p.l.in_h = p.l.k_h > 1 ? p.l.k_h : 1;
    p.l.in_w = p.l.k_w > 1 ? p.l.k_w : 1;
  }
  if (roomy && f == F_GROUPS && p.l.groups > 1) {
    p.l.in_channels = p.l.out_channels = p.l.groups;
    p.l.mode = OSC_MODE_CONVENTIONAL;
  }
  *l = p.l;
}

/* Each default the network gives must be valid on its own: wrong for
** every layer, it is reported here, where it is written, not at the first
** layer that takes it. */
static void check_defaults(call *c, const spec *net) {
  static const char prefix[] = "layer '?': ";
  for (int f = F_IN; f < F_BATCH; f++) {
    osc_layer l;
    osc_error e;
    if (!(net->set & RANGED_FIELDS & BIT(f))) continue;
    probe_layer(net, f, 1, &l);
    if (osc_layer_validate(&l, &e) == OSC_OK) continue;
    probe_layer(net, f, 0, &l);
    if (osc_layer_validate(&l, &e) == OSC_OK) continue;
    fail(c, "%s", strncmp(e.msg, prefix, sizeof prefix - 1) ? e.msg : e.msg + sizeof prefix - 1);
  }
}

static int l_network(lua_State *L) {
  call c;
  char name[OSC_NAME_MAX], dflt[OSC_NAME_MAX];
  spec defaults;
  int batch = 1, prev;
  long long entered = osc_sandbox_host_enter(L);
  start_call(&c, L, "network", "network { name = \"net\", batch = 1 }");
  if (c.ld->cfg->n_networks >= c.ld->layer_limit)
    raise_at(&c, OSC_ELIMIT, "too many networks (more than %d)", c.ld->layer_limit);
  file_network_name(c.ld->sb.file, dflt);
  read_name(&c, 1, "network", 1, dflt, name);
  snprintf(c.what, sizeof c.what, "network '%s': ", name);
  if (get(L, 1, "stages"))
    fail(&c, "stages cannot be a network default (a chain is written for one layer); "
             "give them in each conv{}");
  if (get(L, 1, "input"))
    fail(&c, "input cannot be a network default (it is one layer's input); give it in each "
             "conv{}");
  check_keys(&c, 1, field_names, F_COUNT, NETWORK_FIELDS, "");
  if (get(L, 1, "batch")) {
    batch = to_int(&c, -1, "batch");
    if (batch < 1 || batch > BATCH_MAX)
      fail(&c, "batch must be between 1 and %d, got %d", BATCH_MAX, batch);
    lua_pop(L, 1);
  }
  read_spec(&c, 1, &defaults);
  check_defaults(&c, &defaults);
  if ((prev = declared_at(L, &networks_key, name))) {
    c.what[0] = '\0';
    fail(&c, "network '%s' is already declared at line %d%s", name, prev,
         strcmp(name, dflt) == 0 ? " (give each network a name)" : "");
  }
  open_network(&c, name, batch, &defaults);
  osc_sandbox_host_leave(L, entered);
  return 0;
}

static osc_layer *append_layer(call *c, osc_network *net) {
  loader *ld = c->ld;
  if (net->n_layers == ld->layer_cap) {
    int cap = ld->layer_cap ? 2 * ld->layer_cap : 8;
    osc_layer *grown = realloc(net->layers, (size_t)cap * sizeof *grown);
    if (!grown) raise_at(c, OSC_ENOMEM, "out of memory");
    net->layers = grown;
    ld->layer_cap = cap;
  }
  ld->total_layers++;
  return &net->layers[net->n_layers++];
}

/* Lua error with a message osc_error_layer already placed. */
static int fail_with(call *c, const osc_error *e) {
  return raise_placed(c, OSC_ECONFIG, e->msg);
}

/* conv{} returns its output's shape */
static void push_shape(lua_State *L, const osc_layer *l) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, l->name);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, l->out_channels);
  lua_setfield(L, -2, "channels");
  lua_pushinteger(L, osc_layer_out_h(l));
  lua_setfield(L, -2, "height");
  lua_pushinteger(L, osc_layer_out_w(l));
  lua_setfield(L, -2, "width");
}

static int l_conv(lua_State *L) {
  call c;
  char dflt[OSC_NAME_MAX], name[OSC_NAME_MAX];
  spec own;
  osc_layer l;
  osc_network *net;
  osc_error e;
  osc_plan plan;
  int prev;
  long long entered = osc_sandbox_host_enter(L);
  start_call(&c, L, "conv", "conv { in_channels = 16, out_channels = 16, size = 8, kernel = 3 }");
  if (!current(c.ld)) {
    spec none;
    memset(&none, 0, sizeof none);
    file_network_name(c.ld->sb.file, dflt);
    open_network(&c, dflt, 1, &none);
  }
  net = current(c.ld);
  if (c.ld->total_layers >= c.ld->layer_limit)
    raise_at(&c, OSC_ELIMIT, "too many layers (more than %d; a runaway loop?)",
             c.ld->layer_limit);
  snprintf(dflt, sizeof dflt, "conv%d", net->n_layers + 1);
  read_name(&c, 1, "layer", 0, dflt, name);
  snprintf(c.what, sizeof c.what, "layer '%s': ", name);
  check_keys(&c, 1, field_names, F_COUNT, LAYER_FIELDS, "");
  if ((prev = declared_at(L, &names_key, name)))
    fail(&c, "the name is already used at line %d in network '%s'", prev, net->name);
  read_spec(&c, 1, &own);
  resolve(&c, &own, &c.ld->defaults, &l);
  memcpy(l.name, name, sizeof l.name);
  l.file = c.ld->cfg->file;
  l.line = c.line;
  if (osc_layer_validate(&l, &e)) return fail_with(&c, &e);
  if (l.mode == OSC_MODE_FIXED && osc_planner_plan(c.ld->planner, &l, l.mode, &plan, &e))
    return fail_with(&c, &e);
  declare(L, &names_key, l.name, c.line);
  *append_layer(&c, net) = l;
  push_shape(L, &l);
  osc_sandbox_host_leave(L, entered);
  return 1;
}

static void setup(lua_State *L, void *ud) {
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &networks_key);
  lua_pushlightuserdata(L, ud);
  lua_pushcclosure(L, l_network, 1);
  lua_setglobal(L, "network");
  lua_pushlightuserdata(L, ud);
  lua_pushcclosure(L, l_conv, 1);
  lua_setglobal(L, "conv");
}

/* ---- loading ------------------------------------------------------------------- */

/* What the script left, checked as a whole. */
static osc_status check_config(const osc_config *cfg, osc_error *err) {
  osc_status s;
  if (cfg->n_networks == 0)
    return osc_error_set(err, OSC_ECONFIG, "%s: the config declares no layers (use conv{...})",
                         cfg->file);
  for (int i = 0; i < cfg->n_networks; i++) {
    const osc_network *n = &cfg->networks[i];
    if (n->n_layers == 0)
      return osc_error_set(err, OSC_ECONFIG, "%s:%d: network '%s' has no layers", cfg->file,
                           n->line, n->name);
    for (int j = 0; j < n->n_layers; j++)
      if ((s = osc_layer_validate(&n->layers[j], err))) return s;
  }
  return OSC_OK;
}

/* A positive whole number from the environment (a default limit), or dflt. */
static long long env_limit(const char *name, long long dflt) {
  const char *s = getenv(name);
  char *end;
  long long v;
  if (!s || !*s) return dflt;
  errno = 0;
  v = strtoll(s, &end, 10);
  return errno || *end || v <= 0 ? dflt : v;
}

static void init_loader(loader *ld, osc_config *cfg, const osc_config_options *opt) {
  int sandboxed = !(opt && opt->unsandboxed);
  size_t mem_default = (size_t)env_limit("OSCONV_CONFIG_MEMORY", OSC_CONFIG_MEMORY_LIMIT);
  long long insn_default = env_limit("OSCONV_CONFIG_INSTRUCTIONS", OSC_CONFIG_INSTRUCTION_LIMIT);
  memset(ld, 0, sizeof *ld);
  ld->cfg = cfg;
  ld->sb.file = cfg->file;
  ld->sb.sandboxed = sandboxed;
  ld->sb.mem_limit = opt && opt->memory_limit ? opt->memory_limit
                     : sandboxed                ? mem_default
                                                : SIZE_MAX;
  ld->sb.insn_limit = opt && opt->instruction_limit > 0 ? opt->instruction_limit
                      : sandboxed                       ? insn_default
                                                        : 0;
  ld->layer_limit = OSC_CONFIG_LAYER_LIMIT;
  ld->planner = osc_planner_new(osc_sandbox_time_limit(ld->sb.insn_limit));
}

osc_status osc_config_load_string(const char *name, const char *source,
                                  const osc_config_options *opt, osc_config **out,
                                  osc_error *err) {
  if (out) *out = NULL;
  return source ? osc_config_load_buffer(name, source, strlen(source), opt, out, err)
                : osc_error_set(err, OSC_EINVAL, "%s: no source given", name ? name : "config");
}

osc_status osc_config_load_buffer(const char *name, const char *source, size_t len,
                                  const osc_config_options *opt, osc_config **out,
                                  osc_error *err) {
  osc_config *cfg;
  loader *ld;
  osc_error e;
  osc_status s;
  if (out) *out = NULL;
  if (!name) name = "config";
  if (!out) return osc_error_set(err, OSC_EINVAL, "%s: nowhere to put the config", name);
  if (!source) return osc_error_set(err, OSC_EINVAL, "%s: no source given", name);
  cfg = calloc(1, sizeof *cfg);
  ld = malloc(sizeof *ld);
  if (!cfg || !ld || !(cfg->file = strdup(name))) {
    free(ld);
    osc_config_free(cfg);
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory", name);
  }
  init_loader(ld, cfg, opt);
  osc_error_clear(&e);
  s = osc_sandbox_run(&ld->sb, source, len, setup, ld, &e);
  if (s == OSC_ECONFIG && strcmp(e.msg, ld->raised) == 0) s = ld->raised_code;
  osc_planner_free(ld->planner);
  free(ld);
  if (!s) s = check_config(cfg, &e);
  if (s) {
    osc_config_free(cfg);
    e.code = s;
    if (err) *err = e;
    return s;
  }
  *out = cfg;
  return OSC_OK;
}

/* The whole file; a BOM and a "#!" first line are blanked as Lua's loadfile
** skips them. osc_file_read refuses FIFOs, devices and directories. */
static osc_status read_file(const char *path, char **text, size_t *len, osc_error *err) {
  size_t start = 0;
  char *buf;
  osc_status s = osc_file_read(path, (size_t)FILE_MAX, text, len, err);
  if (s == OSC_ELIMIT)
    return osc_error_set(err, OSC_ELIMIT, "%s: config is larger than %ld MiB", path,
                         FILE_MAX >> 20);
  if (s) return s;
  buf = *text;
  if (*len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
    memset(buf, ' ', 3);
    start = 3;
  }
  if (start < *len && buf[start] == '#')
    for (size_t i = start; i < *len && buf[i] != '\n'; i++) buf[i] = ' ';
  return OSC_OK;
}

osc_status osc_config_load(const char *path, const osc_config_options *opt,
                           osc_config **out, osc_error *err) {
  char *text;
  size_t len = 0;
  osc_status s;
  if (out) *out = NULL;
  if (!path) return osc_error_set(err, OSC_EINVAL, "no config file given");
  if ((s = read_file(path, &text, &len, err))) return s;
  s = osc_config_load_buffer(path, text, len, opt, out, err);
  free(text);
  return s;
}

void osc_config_free(osc_config *c) {
  if (!c) return;
  for (int i = 0; i < c->n_networks; i++) free(c->networks[i].layers);
  free(c->networks);
  free(c->file);
  free(c);
}

const osc_layer *osc_config_find_layer(const osc_config *c, const char *name,
                                       const osc_network **net) {
  const char *dot, *layer;
  size_t nlen;
  if (!c || !name) return NULL;
  dot = strchr(name, '.');
  layer = dot ? dot + 1 : name;
  nlen = dot ? (size_t)(dot - name) : 0;
  for (int i = 0; i < c->n_networks; i++) {
    const osc_network *n = &c->networks[i];
    if (dot && (strlen(n->name) != nlen || strncmp(n->name, name, nlen) != 0)) continue;
    for (int j = 0; j < n->n_layers; j++)
      if (strcmp(n->layers[j].name, layer) == 0) {
        if (net) *net = n;
        return &n->layers[j];
      }
  }
  return NULL;
}

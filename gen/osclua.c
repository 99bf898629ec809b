/*
** osclua.c -- the Lua module `osconv`: the public C API as Lua functions
** for tuning scripts (README, "Autotuning").
**
** Layers and plans cross as plain tables (a script may read and change
** them); kernels and tuning databases as userdata freed by the collector.
** Every osc_status becomes a Lua error carrying osc_error.msg. Memory a
** function needs across a call that can raise is Lua userdata, so an error
** leaks nothing.
*/
#include "osclua.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oscemit.h"
#include "oscerr.h"
#include "oscisa.h"
#include "oscpool.h"
#include "osctime.h"
#include "osconv.h"
#include "oscplan.h"
#include "oscmeasure.h"
#include "osctune.h"

#define KERNEL_MT "osconv.kernel"
#define TUNING_MT "osconv.tuning"

static int fail(lua_State *L, const osc_error *e) { return luaL_error(L, "%s", e->msg); }

/* ---- layers ------------------------------------------------------------------- */

static const char *const act_names[] = {"none", "relu", "relu6", "clamp", NULL};

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}
static void set_str(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}
static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void push_layer(lua_State *L, const osc_layer *l, const char *network) {
  char key[OSC_TUNE_KEY_MAX];
  lua_createtable(L, 0, 28);
  set_str(L, "name", l->name);
  if (network) set_str(L, "network", network);
  set_int(L, "in_channels", l->in_channels);
  set_int(L, "out_channels", l->out_channels);
  set_int(L, "in_h", l->in_h);
  set_int(L, "in_w", l->in_w);
  set_int(L, "out_h", osc_layer_out_h(l));
  set_int(L, "out_w", osc_layer_out_w(l));
  set_int(L, "k_h", l->k_h);
  set_int(L, "k_w", l->k_w);
  set_int(L, "stride_h", l->stride_h);
  set_int(L, "stride_w", l->stride_w);
  set_int(L, "pad_h", l->pad_h);
  set_int(L, "pad_w", l->pad_w);
  set_int(L, "groups", l->groups);
  lua_pushboolean(L, l->bias);
  lua_setfield(L, -2, "bias");
  set_str(L, "activation", act_names[l->act]);
  if (l->act == OSC_ACT_CLAMP) {
    set_num(L, "clamp_min", l->clamp_min);
    set_num(L, "clamp_max", l->clamp_max);
  }
  set_str(L, "mode", osc_mode_name(l->mode));
  set_int(L, "max_stages", l->max_stages);
  set_str(L, "objective", osc_objective_name(l->objective));
  set_str(L, "code", l->code[0] ? l->code : "auto");
  lua_createtable(L, l->n_widths, 0);
  for (int i = 0; i < l->n_widths; i++) {
    lua_pushinteger(L, l->widths[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "widths");
  lua_createtable(L, l->n_fixed, 0);
  for (int i = 0; i < l->n_fixed; i++) {
    lua_createtable(L, 0, 4);
    set_int(L, "out_channels", l->fixed[i].out_channels);
    set_int(L, "groups", l->fixed[i].groups);
    set_int(L, "k_h", l->fixed[i].k_h);
    set_int(L, "k_w", l->fixed[i].k_w);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "fixed");
  osc_tune_key(l, key);
  set_str(L, "key", key);
  if (l->file) set_str(L, "file", l->file);
  set_int(L, "line", l->line);
}

/* Field k of the table at t as an int; absent: *v stays. `what` names the
** table in messages ("layer", "stage 2"). */
static void get_int(lua_State *L, int t, const char *what, const char *k, int *v, int required) {
  int isnum;
  lua_Integer x;
  int ty = lua_getfield(L, t, k);
  if (ty == LUA_TNIL && !required) { lua_pop(L, 1); return; }
  x = lua_tointegerx(L, -1, &isnum);
  if (!isnum || x < -2147483647 || x > 2147483647)
    luaL_error(L, "%s.%s must be an integer, got %s", what, k,
               ty == LUA_TNIL ? "nothing" : luaL_typename(L, -1));
  *v = (int)x;
  lua_pop(L, 1);
}

/* Field k as a string from `names` (NULL-terminated); absent: *v stays. */
static void get_name(lua_State *L, int t, const char *what, const char *k,
                     int (*parse)(const char *, int *), int *v, const char *expected) {
  int ty = lua_getfield(L, t, k);
  if (ty != LUA_TNIL) {
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!s) luaL_error(L, "%s.%s must be a string, got %s", what, k, luaL_typename(L, -1));
    if (parse(s, v)) luaL_error(L, "%s.%s: unknown %s '%s' (expected %s)", what, k, k, s, expected);
  }
  lua_pop(L, 1);
}

static int parse_mode(const char *s, int *v) {
  osc_mode m;
  if (osc_mode_from_name(s, &m)) return -1;
  *v = (int)m;
  return 0;
}
static int parse_objective(const char *s, int *v) {
  osc_objective o;
  if (osc_objective_from_name(s, &o)) return -1;
  *v = (int)o;
  return 0;
}
static int parse_act(const char *s, int *v) {
  for (int i = 0; act_names[i]; i++)
    if (!strcmp(s, act_names[i])) { *v = i; return 0; }
  return -1;
}

#define MODES "conventional, depthwise, spatial, optimal or fixed"

static void get_list(lua_State *L, int t, const char *what, const char *k, int max,
                     int *n) {
  int ty = lua_getfield(L, t, k);
  if (ty != LUA_TNIL && ty != LUA_TTABLE)
    luaL_error(L, "%s.%s must be a list, got %s", what, k, luaL_typename(L, -1));
  *n = ty == LUA_TNIL ? 0 : (int)lua_rawlen(L, -1);
  if (*n > max) luaL_error(L, "%s.%s: at most %d entries, got %d", what, k, max, *n);
}

static void get_fixed(lua_State *L, int t, osc_layer *l) {
  get_list(L, t, "layer", "fixed", OSC_MAX_STAGES, &l->n_fixed);
  for (int i = 0; i < l->n_fixed; i++) {
    char what[32];
    osc_stage_spec *s = &l->fixed[i];
    snprintf(what, sizeof what, "layer.fixed[%d]", i + 1);
    if (lua_rawgeti(L, -1, i + 1) != LUA_TTABLE)
      luaL_error(L, "%s must be a table, got %s", what, luaL_typename(L, -1));
    *s = (osc_stage_spec){0, 1, 1, 1};
    get_int(L, lua_gettop(L), what, "out_channels", &s->out_channels, 0);
    get_int(L, lua_gettop(L), what, "groups", &s->groups, 0);
    get_int(L, lua_gettop(L), what, "k_h", &s->k_h, 1);
    get_int(L, lua_gettop(L), what, "k_w", &s->k_w, 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* The layer table at index t (as push_layer makes, or written by hand),
** validated. Its file name points into the table: valid during this call. */
static void check_layer(lua_State *L, int t, osc_layer *l) {
  static const char *const ints[] = {"stride_h", "stride_w", "pad_h", "pad_w", "groups",
                                     "max_stages", NULL};
  int *const slots[] = {&l->stride_h, &l->stride_w, &l->pad_h, &l->pad_w, &l->groups,
                        &l->max_stages};
  int mode, obj, act = 0, bias;
  osc_error err;
  t = lua_absindex(L, t);
  luaL_checktype(L, t, LUA_TTABLE);
  osc_layer_init(l);
  mode = (int)l->mode, obj = (int)l->objective;
  if (lua_getfield(L, t, "name") == LUA_TSTRING) snprintf(l->name, sizeof l->name, "%s", lua_tostring(L, -1));
  else if (!lua_isnil(L, -1)) luaL_error(L, "layer.name must be a string, got %s", luaL_typename(L, -1));
  lua_pop(L, 1);
  get_int(L, t, "layer", "in_channels", &l->in_channels, 1);
  get_int(L, t, "layer", "out_channels", &l->out_channels, 1);
  get_int(L, t, "layer", "in_h", &l->in_h, 1);
  get_int(L, t, "layer", "in_w", &l->in_w, 1);
  get_int(L, t, "layer", "k_h", &l->k_h, 1);
  get_int(L, t, "layer", "k_w", &l->k_w, 1);
  for (int i = 0; ints[i]; i++) get_int(L, t, "layer", ints[i], slots[i], 0);
  bias = lua_getfield(L, t, "bias");
  if (bias != LUA_TNIL && bias != LUA_TBOOLEAN)
    luaL_error(L, "layer.bias must be a boolean, got %s", luaL_typename(L, -1));
  l->bias = lua_toboolean(L, -1);
  lua_pop(L, 1);
  get_name(L, t, "layer", "activation", parse_act, &act, "none, relu, relu6 or clamp");
  l->act = (osc_activation)act;
  if (l->act == OSC_ACT_CLAMP) {
    lua_getfield(L, t, "clamp_min");
    lua_getfield(L, t, "clamp_max");
    if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
      luaL_error(L, "layer.clamp_min and layer.clamp_max must be numbers (activation clamp)");
    l->clamp_min = (float)lua_tonumber(L, -2);
    l->clamp_max = (float)lua_tonumber(L, -1);
    lua_pop(L, 2);
  }
  get_name(L, t, "layer", "mode", parse_mode, &mode, MODES);
  get_name(L, t, "layer", "objective", parse_objective, &obj, "macs or params");
  l->mode = (osc_mode)mode, l->objective = (osc_objective)obj;
  get_list(L, t, "layer", "widths", OSC_MAX_WIDTHS, &l->n_widths);
  for (int i = 0; i < l->n_widths; i++) {
    int isnum;
    lua_rawgeti(L, -1, i + 1);
    l->widths[i] = (int)lua_tointegerx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "layer.widths[%d] must be an integer", i + 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  get_fixed(L, t, l);
  if (lua_getfield(L, t, "code") == LUA_TSTRING) {   /* canonical, "" for auto, as configs */
    char canon[OSC_VARIANT_MAX];
    osc_error why;
    if (osc_variant_parse(lua_tostring(L, -1), &(osc_emit_knobs){0}, canon, &why))
      luaL_error(L, "layer.code: %s", why.msg);
    snprintf(l->code, sizeof l->code, "%s", strcmp(canon, "auto") ? canon : "");
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "layer.code must be a string, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  if (lua_getfield(L, t, "file") == LUA_TSTRING) l->file = lua_tostring(L, -1);
  lua_pop(L, 1);   /* the table keeps the string alive */
  get_int(L, t, "layer", "line", &l->line, 0);
  if (osc_layer_validate(l, &err)) fail(L, &err);
}

/* ---- plans ---------------------------------------------------------------------- */

static void push_plan(lua_State *L, const osc_plan *p) {
  char chain[512];
  lua_createtable(L, 0, 8);
  set_str(L, "mode", osc_mode_name(p->mode));
  push_layer(L, &p->layer, NULL);
  lua_setfield(L, -2, "layer");
  lua_createtable(L, p->n_stages, 0);
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    lua_createtable(L, 0, 12);
    set_int(L, "in_channels", s->c_in);
    set_int(L, "out_channels", s->c_out);
    set_int(L, "groups", s->groups);
    set_int(L, "k_h", s->k_h);
    set_int(L, "k_w", s->k_w);
    set_int(L, "stride_h", s->stride_h);
    set_int(L, "stride_w", s->stride_w);
    set_int(L, "pad_h", s->pad_h);
    set_int(L, "pad_w", s->pad_w);
    set_int(L, "out_h", s->h_out);
    set_int(L, "out_w", s->w_out);
    set_int(L, "macs", osc_stage_macs(s));
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "stages");
  set_int(L, "n_stages", p->n_stages);
  set_int(L, "macs", p->macs);
  set_int(L, "params", p->params);
  set_num(L, "model_s", osc_time_plan(p) * 1e-9);   /* the stage-time model, JIT's ISA */
  osc_plan_describe(p, chain, sizeof chain);
  set_str(L, "chain", chain);
}

/* A plan table back into a plan: its layer, mode and stages, rebuilt and so
** checked by osc_plan_build. */
static void check_plan(lua_State *L, int t, osc_plan *p) {
  osc_layer l;
  osc_stage_spec chain[OSC_MAX_STAGES];
  int mode = OSC_MODE_FIXED, n;
  osc_error err;
  t = lua_absindex(L, t);
  luaL_checktype(L, t, LUA_TTABLE);
  if (lua_getfield(L, t, "layer") != LUA_TTABLE)
    luaL_error(L, "plan.layer must be a layer table, got %s", luaL_typename(L, -1));
  check_layer(L, -1, &l);
  get_name(L, t, "plan", "mode", parse_mode, &mode, MODES);
  get_list(L, t, "plan", "stages", OSC_MAX_STAGES, &n);
  if (n < 1) luaL_error(L, "plan.stages must list 1 to %d stages", OSC_MAX_STAGES);
  for (int i = 0; i < n; i++) {
    char what[32];
    snprintf(what, sizeof what, "plan.stages[%d]", i + 1);
    if (lua_rawgeti(L, -1, i + 1) != LUA_TTABLE) luaL_error(L, "%s must be a table", what);
    chain[i] = (osc_stage_spec){0, 1, 1, 1};
    get_int(L, lua_gettop(L), what, "out_channels", &chain[i].out_channels, 1);
    get_int(L, lua_gettop(L), what, "groups", &chain[i].groups, 0);
    get_int(L, lua_gettop(L), what, "k_h", &chain[i].k_h, 1);
    get_int(L, lua_gettop(L), what, "k_w", &chain[i].k_w, 1);
    lua_pop(L, 1);
  }
  if (osc_plan_build(&l, (osc_mode)mode, n, chain, p, &err)) fail(L, &err);
  lua_pop(L, 2);   /* stages, layer (kept until the plan is built: l.file) */
  p->layer.file = NULL;   /* the plan outlives the table's string */
}

/* opts.k of the options table at index o (or none), as an int. */
static int opt_int(lua_State *L, int o, const char *k, int dflt) {
  int v = dflt;
  if (lua_type(L, o) == LUA_TTABLE) get_int(L, o, "options", k, &v, 0);
  else if (!lua_isnoneornil(L, o)) luaL_typeerror(L, o, "table of options");
  return v;
}
static double opt_num(lua_State *L, int o, const char *k, double dflt) {
  double v = dflt;
  if (lua_type(L, o) != LUA_TTABLE) return v;
  if (lua_getfield(L, o, k) != LUA_TNIL) {
    if (!lua_isnumber(L, -1)) luaL_error(L, "options.%s must be a number, got %s", k, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}
static const char *opt_str(lua_State *L, int o, const char *k) {
  const char *v = NULL;
  if (lua_type(L, o) != LUA_TTABLE) return NULL;
  if (lua_getfield(L, o, k) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "options.%s must be a string, got %s", k, luaL_typename(L, -1));
    v = lua_tostring(L, -1);   /* kept alive by the options table */
  }
  lua_pop(L, 1);
  return v;
}

/* osconv.plan(layer [, {mode=, max_stages=, objective=}]) */
static int l_plan(lua_State *L) {
  osc_layer l;
  osc_plan p;
  osc_error err;
  int mode, obj;
  check_layer(L, 1, &l);
  mode = (int)l.mode, obj = (int)l.objective;
  opt_int(L, 2, "max_stages", 0);   /* type checks the options */
  if (lua_istable(L, 2)) {
    get_name(L, 2, "options", "mode", parse_mode, &mode, MODES);
    get_name(L, 2, "options", "objective", parse_objective, &obj, "macs or params");
  }
  l.max_stages = opt_int(L, 2, "max_stages", l.max_stages);
  l.objective = (osc_objective)obj;
  l.mode = (osc_mode)mode;
  if (osc_layer_validate(&l, &err) || osc_plan_layer(&l, &p, &err)) return fail(L, &err);
  push_plan(L, &p);
  return 1;
}

/* osconv.candidates(layer [, {max_stages=N}]): osc_candidates (oscmeasure.h),
** N the layer's max_stages unless given. */
static int l_candidates(lua_State *L) {
  osc_layer l;
  osc_plan *c;
  osc_error err;
  int n;
  check_layer(L, 1, &l);
  n = opt_int(L, 2, "max_stages", l.max_stages);
  c = lua_newuserdatauv(L, sizeof *c * OSC_MAX_CANDIDATES, 0);
  if ((n = osc_candidates(&l, n, c, &err)) < 0) return fail(L, &err);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    push_plan(L, &c[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* ---- variants ------------------------------------------------------------------- */

/* osconv.variants(): the ISAs this CPU runs, best first; each a table
** {isa=..., codes={...}}, codes the code variants worth timing on it
** (gen/oscvariant.h, "auto" first); and .threads, the thread counts worth
** timing: 1, 2, 4, ... below the CPUs this process may use
** (osc_pool_default_threads), and that count. */
static int l_variants(lua_State *L) {
  osc_isa host = osc_isa_host();
  int n = 0, cpus = osc_pool_default_threads();
  lua_newtable(L);
  for (int isa = (int)host; isa >= (int)OSC_ISA_C; isa--) {
    const char *const *codes = osc_variant_list(isa);
    lua_createtable(L, 0, 2);
    set_str(L, "isa", osc_isa_name((osc_isa)isa));
    lua_newtable(L);
    for (int i = 0; codes[i]; i++) {
      lua_pushstring(L, codes[i]);
      lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "codes");
    lua_rawseti(L, -2, ++n);
  }
  lua_newtable(L);
  n = 0;
  for (int t = 1; t < cpus; t *= 2) {
    lua_pushinteger(L, t);
    lua_rawseti(L, -2, ++n);
  }
  lua_pushinteger(L, cpus);
  lua_rawseti(L, -2, ++n);
  lua_setfield(L, -2, "threads");
  return 1;
}

/* opts.threads: absent 0 (the shared pool), else an integer 1..1024. */
static int opt_threads(lua_State *L, int o) {
  lua_Integer v;
  int ok;
  if (lua_type(L, o) != LUA_TTABLE || lua_getfield(L, o, "threads") == LUA_TNIL) {
    if (lua_type(L, o) == LUA_TTABLE) lua_pop(L, 1);
    return 0;
  }
  v = lua_tointegerx(L, -1, &ok);
  if (!ok || v < 1 || v > OSC_TUNE_THREADS_MAX)
    luaL_error(L, "options.threads must be an integer 1 to %d, got %s", OSC_TUNE_THREADS_MAX,
               luaL_tolstring(L, -1, NULL));
  lua_pop(L, 1);
  return (int)v;
}

/* opts.code, a code variant (gen/oscvariant.h): into k's simd fields and
** its canonical name into canon; absent: "auto". 1: it was given. */
static int opt_code(lua_State *L, int o, osc_emit_knobs *k, char canon[OSC_VARIANT_MAX]) {
  const char *s = opt_str(L, o, "code");
  osc_error err;
  if (osc_variant_parse(s, k, canon, &err)) luaL_error(L, "options.code: %s", err.msg);
  return s != NULL;
}

/* opts.isa, checked against what the CPU runs; OSC_ISA_AUTO when absent. */
static osc_isa opt_isa(lua_State *L, int o, int allow_auto) {
  const char *s = opt_str(L, o, "isa");
  osc_isa isa = OSC_ISA_AUTO;
  if (!s) return isa;
  if (osc_isa_parse(s, &isa) || (isa == OSC_ISA_AUTO && !allow_auto))
    luaL_error(L, "options.isa: unknown isa '%s' (expected avx512, avx2 or c%s)", s,
               allow_auto ? " or auto" : "");
  if (isa > osc_isa_host())
    luaL_error(L, "options.isa: this CPU cannot run %s (its best is %s)", s,
               osc_isa_name(osc_isa_host()));
  return isa;
}

/* osconv.emit(plan [, {isa=, prefix=, code=}]): the source `osconv gen`
** writes for it, in that code variant. */
static int l_emit(lua_State *L) {
  osc_plan p;
  osc_error err;
  osc_buf b;
  osc_emit_options eo = {"layer", 1, 0};
  osc_emit_knobs kn = {0};
  char code[OSC_VARIANT_MAX];
  const char *prefix;
  osc_status s;
  check_plan(L, 1, &p);
  opt_code(L, 2, &kn, code);
  prefix = opt_str(L, 2, "prefix");
  if (lua_istable(L, 2) && lua_getfield(L, 2, "isa") != LUA_TNIL) {
    const char *name = luaL_checkstring(L, -1);
    osc_isa isa;
    if (osc_isa_parse(name, &isa)) return luaL_error(L, "options.isa: unknown isa '%s'", name);
    eo.isa = (int)isa;
  }
  if (prefix) {
    if (!osc_emit_is_identifier(prefix))
      return luaL_error(L, "options.prefix must be a C identifier, got '%s'", prefix);
    eo.prefix = prefix;
  }
  osc_buf_init(&b);
  s = osc_emit_layer_knobs(&p, &eo, &kn, &b, &err);
  if (!s) lua_pushlstring(L, b.data ? b.data : "", b.len);
  osc_buf_free(&b);
  return s ? fail(L, &err) : 1;
}

/* ---- kernels ---------------------------------------------------------------------- */

typedef struct lkernel { osc_kernel *k; } lkernel;

static osc_kernel *check_kernel(lua_State *L, int i) {
  lkernel *u = luaL_checkudata(L, i, KERNEL_MT);
  if (!u->k) luaL_error(L, "the kernel was freed");
  return u->k;
}

static int l_kernel_gc(lua_State *L) {
  lkernel *u = luaL_checkudata(L, 1, KERNEL_MT);
  osc_kernel_free(u->k);
  u->k = NULL;
  return 0;
}

/* osconv.compile(plan [, {isa=, threads=, code=, backend="jit"|"reference"}]) */
static int l_compile(lua_State *L) {
  osc_plan p;
  osc_error err;
  osc_kernel_options ko = {0};
  osc_isa isa;
  const char *backend;
  lkernel *u;
  char code[OSC_VARIANT_MAX];
  check_plan(L, 1, &p);
  if (opt_code(L, 2, &(osc_emit_knobs){0}, code)) ko.code = code;   /* copied by the kernel;
                                                                      ** absent: the layer's */
  isa = opt_isa(L, 2, 0);
  ko.isa = isa == OSC_ISA_AUTO ? NULL : osc_isa_name(isa);
  ko.threads = opt_threads(L, 2);
  if ((backend = opt_str(L, 2, "backend"))) {
    if (!strcmp(backend, "reference")) ko.backend = OSC_BACKEND_REFERENCE;
    else if (strcmp(backend, "jit"))
      return luaL_error(L, "options.backend: unknown backend '%s' (expected jit or reference)", backend);
  }
  u = lua_newuserdatauv(L, sizeof *u, 0);
  u->k = NULL;
  luaL_setmetatable(L, KERNEL_MT);
  if (osc_kernel_create(&p, &ko, &u->k, &err)) return fail(L, &err);
  return 1;
}

static int l_kernel_info(lua_State *L) {
  osc_kernel_info i;
  osc_kernel_get_info(check_kernel(L, 1), &i);
  lua_createtable(L, 0, 6);
  set_str(L, "backend", osc_backend_name(i.backend));
  if (i.isa) set_str(L, "isa", i.isa);
  if (i.code) set_str(L, "code", i.code);
  lua_pushboolean(L, i.cache_hit);
  lua_setfield(L, -2, "cache_hit");
  set_num(L, "compile_ms", i.emit_ms + i.compile_ms);
  set_int(L, "code_size", (lua_Integer)i.code_size);
  set_int(L, "threads", i.threads);
  if (i.fallback) set_str(L, "fallback", i.fallback);
  return 1;
}

static int l_kernel_plan(lua_State *L) {
  push_plan(L, osc_kernel_plan(check_kernel(L, 1)));
  return 1;
}

/* kernel:time{batch=1, warmup=1, min_reps=3, reps=1000, budget=0.2}:
** osc_measure_kernel. Returns {median=, spread= (interquartile range), min=,
** max=, reps=}, seconds per call of `batch` images. */
static int l_kernel_time(lua_State *L) {
  osc_kernel *k = check_kernel(L, 1);
  osc_measure_options o = OSC_MEASURE_DEFAULTS;
  osc_timing t;
  osc_error err;
  o.batch = opt_int(L, 2, "batch", o.batch);
  o.warmup = opt_int(L, 2, "warmup", o.warmup);
  o.min_reps = opt_int(L, 2, "min_reps", o.min_reps);
  o.max_reps = opt_int(L, 2, "reps", o.max_reps);
  o.budget_s = opt_num(L, 2, "budget", o.budget_s);
  if (osc_measure_kernel(k, &o, &t, &err)) return fail(L, &err);
  lua_createtable(L, 0, 5);
  set_num(L, "median", t.median);
  set_num(L, "spread", t.spread);
  set_num(L, "min", t.min);
  set_num(L, "max", t.max);
  set_int(L, "reps", t.reps);
  return 1;
}

/* kernel:verify{seed=1, batch=1, tolerance=1e-5}: the kernel against the
** reference backend on random data. Returns ok, relative L2 error, max
** absolute error. */
static int l_kernel_verify(lua_State *L) {
  osc_kernel *k = check_kernel(L, 1);
  int batch = opt_int(L, 2, "batch", 1), seed = opt_int(L, 2, "seed", 1);
  double tol = opt_num(L, 2, "tolerance", OSC_VERIFY_TOLERANCE), rel, max;
  osc_error err;
  if (osc_verify_kernel(k, batch, (uint64_t)seed, &rel, &max, &err)) return fail(L, &err);
  lua_pushboolean(L, rel < tol);
  lua_pushnumber(L, rel);
  lua_pushnumber(L, max);
  return 3;
}

/* ---- configs ------------------------------------------------------------------ */

/* osconv.load_config(path [, {unsandboxed=true}]) -> {file=, networks={{name=,
** batch=, layers={...}}}, layers={every layer, with .network}} */
static int l_load_config(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  osc_config_options opt = {0, 0, 0};
  osc_config *c;
  osc_error err;
  int all = 0;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "unsandboxed");
    opt.unsandboxed = lua_toboolean(L, -1);
    lua_pop(L, 1);
  } else if (!lua_isnoneornil(L, 2)) luaL_typeerror(L, 2, "table of options");
  if (osc_config_load(path, &opt, &c, &err)) return fail(L, &err);
  lua_createtable(L, 0, 3);
  set_str(L, "file", c->file);
  lua_createtable(L, c->n_networks, 0);   /* networks */
  lua_newtable(L);                        /* layers */
  for (int i = 0; i < c->n_networks; i++) {
    const osc_network *n = &c->networks[i];
    lua_createtable(L, 0, 4);
    set_str(L, "name", n->name);
    set_int(L, "batch", n->batch);
    lua_createtable(L, n->n_layers, 0);
    for (int j = 0; j < n->n_layers; j++) {
      push_layer(L, &n->layers[j], n->name);
      lua_pushvalue(L, -1);
      lua_rawseti(L, -3, j + 1);
      lua_rawseti(L, -4, ++all);
    }
    lua_setfield(L, -2, "layers");
    lua_rawseti(L, -3, i + 1);
  }
  lua_setfield(L, -3, "layers");
  lua_setfield(L, -2, "networks");
  osc_config_free(c);
  return 1;
}

/* osconv.find_layer(config, "layer" | "network.layer") */
static int l_find_layer(lua_State *L) {
  const char *name = luaL_checkstring(L, 2), *dot = strchr(name, '.');
  int found = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getfield(L, 1, "layers") != LUA_TTABLE)
    return luaL_error(L, "find_layer: the first argument is not a config (no .layers)");
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, 3); i <= n; i++) {
    const char *ln, *nn;
    lua_rawgeti(L, 3, i);
    lua_getfield(L, -1, "name");
    lua_getfield(L, -2, "network");
    ln = lua_tostring(L, -2), nn = lua_tostring(L, -1);
    lua_pop(L, 2);
    if (ln && (dot ? nn && (size_t)(dot - name) == strlen(nn) && !strncmp(name, nn, strlen(nn)) &&
                         !strcmp(dot + 1, ln)
                   : !strcmp(name, ln))) {
      if (found) return luaL_error(L, "find_layer: '%s' is in several networks: say NETWORK.%s", name, name);
      found = lua_gettop(L);
    } else lua_pop(L, 1);
  }
  if (!found) return luaL_error(L, "find_layer: no layer named '%s'", name);
  lua_pushvalue(L, found);
  return 1;
}

/* ---- the tuning database ------------------------------------------------------------ */

typedef struct ltuning { osc_tuning *t; } ltuning;

static osc_tuning *check_tuning(lua_State *L, int i) {
  return ((ltuning *)luaL_checkudata(L, i, TUNING_MT))->t;
}

static int l_tuning_gc(lua_State *L) {
  ltuning *u = luaL_checkudata(L, 1, TUNING_MT);
  osc_tuning_free(u->t);
  u->t = NULL;
  return 0;
}

/* A new database userdata holding t (which it then owns); NULL t: out of memory. */
static void push_tuning(lua_State *L, osc_tuning *t) {
  ltuning *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->t = t;
  luaL_setmetatable(L, TUNING_MT);
  if (!t) luaL_error(L, "out of memory for a tuning database");
}

static int l_tuning_new(lua_State *L) {
  push_tuning(L, osc_tune_new());
  return 1;
}

static int l_tuning_load(lua_State *L) {
  osc_tuning *t;
  osc_error err;
  ltuning *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->t = NULL;
  luaL_setmetatable(L, TUNING_MT);
  if (osc_tuning_load(luaL_checkstring(L, 1), &t, &err)) return fail(L, &err);
  u->t = t;
  return 1;
}

static int l_tuning_save(lua_State *L) {
  osc_error err;
  if (osc_tuning_save(check_tuning(L, 1), luaL_checkstring(L, 2), &err)) return fail(L, &err);
  return 0;
}

static void push_record(lua_State *L, const osc_tune_record *r) {
  char why[512], key[OSC_TUNE_KEY_MAX];
  const char *mismatch = osc_tune_mismatch(r, why, sizeof why);
  osc_plan p;
  osc_error err;
  lua_createtable(L, 0, 14);
  osc_tune_key(&r->layer, key);
  set_str(L, "key", key);
  if (osc_tune_plan(r, &r->layer, &p, &err)) fail(L, &err);   /* checked when loaded */
  push_plan(L, &p);
  lua_setfield(L, -2, "plan");
  set_str(L, "isa", r->isa);
  if (r->threads > 0) set_int(L, "threads", r->threads);
  set_str(L, "code", r->code);
  set_num(L, "median", r->median_s);
  set_num(L, "spread", r->spread_s);
  set_int(L, "reps", r->reps);
  if (r->model_s >= 0) set_num(L, "model", r->model_s);
  lua_createtable(L, 0, 3);
  set_str(L, "cpu", r->machine.cpu);
  set_str(L, "isa", r->machine.isa);
  set_int(L, "cores", r->machine.cores);
  lua_setfield(L, -2, "machine");
  set_str(L, "osconv", r->version);
  set_str(L, "compiler", r->compiler);
  lua_pushboolean(L, mismatch == NULL);
  lua_setfield(L, -2, "usable");
  if (mismatch) set_str(L, "rejected", mismatch);
}

/* db:records(): every record, in key order */
static int l_tuning_records(lua_State *L) {
  osc_tuning *t = check_tuning(L, 1);
  lua_createtable(L, t->n, 0);
  for (int i = 0; i < t->n; i++) {
    push_record(L, &t->rec[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int l_tuning_count(lua_State *L) {
  lua_pushinteger(L, osc_tuning_count(check_tuning(L, 1)));
  return 1;
}

/* db:lookup(layer) -> record or nil, "used" | "absent" | "rejected", note */
static int l_tuning_lookup(lua_State *L) {
  osc_tuning *t = check_tuning(L, 1);
  static const char *const words[] = {"used", "absent", "rejected"};
  const osc_tune_record *r;
  osc_tuning_verdict v;
  osc_layer l;
  osc_plan p;
  osc_error err;
  char note[600];
  check_layer(L, 2, &l);
  if (osc_tuning_lookup(t, &l, &p, &v, note, sizeof note, &err)) return fail(L, &err);
  if ((r = osc_tune_find(t, &l))) push_record(L, r);
  else lua_pushnil(L);
  lua_pushstring(L, words[v]);
  lua_pushstring(L, note);
  return 3;
}

/* db:put(plan, {isa=, threads=, code=, median=, spread=, reps=}) -> true if it went in
** (no record for its layer shape, or a slower one) */
static int l_tuning_put(lua_State *L) {
  osc_tuning *t = check_tuning(L, 1);
  osc_tune_record r;
  osc_plan p;
  osc_isa isa;
  double median, spread;
  int reps, in, threads;
  char code[OSC_VARIANT_MAX];
  check_plan(L, 2, &p);
  luaL_checktype(L, 3, LUA_TTABLE);
  isa = opt_isa(L, 3, 0);
  opt_code(L, 3, &(osc_emit_knobs){0}, code);
  median = opt_num(L, 3, "median", -1), spread = opt_num(L, 3, "spread", 0);
  reps = opt_int(L, 3, "reps", 1);
  threads = opt_threads(L, 3);
  if (isa == OSC_ISA_AUTO) isa = osc_isa_host();
  if (!(median >= 0) || !(spread >= 0) || reps < 1)
    return luaL_error(L, "put: need median >= 0 and spread >= 0 (seconds), reps >= 1");
  osc_tune_record_make(&p, osc_isa_name(isa), threads, code, median, spread, reps, &r);
  if ((in = osc_tune_put(t, &r)) < 0) return luaL_error(L, "out of memory");
  lua_pushboolean(L, in);
  return 1;
}

/* osconv.tuning_merge(a, b [, b_name]) -> a new database */
static int l_tuning_merge(lua_State *L) {
  osc_tuning *a = check_tuning(L, 1), *b = check_tuning(L, 2), *m;
  const char *name = luaL_optstring(L, 3, "the second database");
  osc_error err;
  ltuning *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->t = NULL;
  luaL_setmetatable(L, TUNING_MT);
  if (osc_tune_merge(a, b, name, &m, &err)) return fail(L, &err);
  u->t = m;
  return 1;
}

static int l_tuning_text(lua_State *L) {
  size_t len;
  char *text = osc_tune_text(check_tuning(L, 1), &len);
  if (!text) return luaL_error(L, "out of memory");
  lua_pushlstring(L, text, len);
  free(text);
  return 1;
}

/* osconv.fingerprint() -> {cpu=, isa=, cores=, osconv=, compiler=} */
static int l_fingerprint(lua_State *L) {
  const osc_tune_machine *m = osc_tune_host();
  lua_createtable(L, 0, 5);
  set_str(L, "cpu", m->cpu);
  set_str(L, "isa", m->isa);
  set_int(L, "cores", m->cores);
  set_str(L, "osconv", OSC_VERSION);
  set_str(L, "compiler", osc_tune_compiler());
  return 1;
}

static int l_layer_key(lua_State *L) {
  osc_layer l;
  char key[OSC_TUNE_KEY_MAX];
  check_layer(L, 1, &l);
  osc_tune_key(&l, key);
  lua_pushstring(L, key);
  return 1;
}

static int l_clock(lua_State *L) {
  lua_pushnumber(L, osc_clock());
  return 1;
}

int luaopen_osconv(lua_State *L) {
  static const luaL_Reg kernel[] = {{"time", l_kernel_time}, {"verify", l_kernel_verify},
                                    {"info", l_kernel_info}, {"plan", l_kernel_plan},
                                    {"free", l_kernel_gc}, {NULL, NULL}};
  static const luaL_Reg tuning[] = {{"save", l_tuning_save}, {"records", l_tuning_records},
                                    {"count", l_tuning_count}, {"lookup", l_tuning_lookup},
                                    {"put", l_tuning_put}, {"text", l_tuning_text},
                                    {NULL, NULL}};
  static const luaL_Reg module[] = {
      {"load_config", l_load_config}, {"find_layer", l_find_layer}, {"plan", l_plan},
      {"candidates", l_candidates},   {"variants", l_variants},     {"emit", l_emit},
      {"compile", l_compile},         {"tuning_new", l_tuning_new}, {"tuning_load", l_tuning_load},
      {"tuning_merge", l_tuning_merge}, {"fingerprint", l_fingerprint},
      {"layer_key", l_layer_key},     {"clock", l_clock},           {NULL, NULL}};
  luaL_newmetatable(L, KERNEL_MT);
  luaL_newlib(L, kernel);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_kernel_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newmetatable(L, TUNING_MT);
  luaL_newlib(L, tuning);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_tuning_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 2);
  luaL_newlib(L, module);
  set_str(L, "version", OSC_VERSION);
  set_str(L, "compiler", osc_tune_compiler());
  return 1;
}

/*
** oscsandlib.c -- the standard library a sandboxed config gets: Lua's,
** less what reaches outside the process or runs Lua code with hooks off,
** and with every C loop whose length the script controls either bounded
** by an allocation made first or charged as work before it starts
** (osc_sandbox_charge). The table functions below follow ltablib.c.
**
** Audit of Lua 5.4's C library: every function a sandboxed config can call,
** what it costs and what bounds it. "Charged": work counted before (or as)
** the function runs, against the instruction limit; every charge also
** looks at the CPU clock. "Time cap": O(operands) inside one call, with
** operands bounded by the memory cap, so one call takes milliseconds and
** repeated calls are stopped by the CPU-time cap (checked every 1000
** instructions). "Allocates": the result is allocated first, and bytes
** allocated are charged (1 step per 64) and capped.
**   parse  the config and every load() of text: fed to Lua's compiler in
**          slices (a line, at most 4 KiB, osc_sandbox_load), charged per 64
**          bytes, with the work and time limits checked between slices:
**          the compiler is quadratic on some inputs (a long 'a or a or ...'
**          is minutes for 4 MB), so no up-front charge could bound it.
**          Syntax nesting is capped by Lua (200 C levels).
**   base   assert, error, getmetatable, rawget, rawset, rawlen, type,
**          pcall, ipairs (a step per call), _G, _VERSION: O(1). rawequal:
**          memcmp of long strings, time cap. tostring: __tostring runs as
**          Lua, __name is O(1); numbers O(1). tonumber: O(length), time
**          cap. select: O(1) (the VM copies the values, time cap). next/
**          pairs: one step may skip O(table size) empty slots, time cap.
**          print: charged per byte, to stderr. warn: a no-op (the state
**          has no warning function). load: replaced, see parse; mode forced
**          to "t"; a reader function's pieces are sliced too, and each call
**          of it runs as Lua (hook) or as one of these functions.
**          collectgarbage: collect and step charged per 64 bytes of heap,
**          count/isrunning/stop/restart O(1), tuning options refused.
**          xpcall: the handler runs after the unwind, under the hook.
**          setmetatable: refuses __gc. dofile, loadfile: removed.
**   string byte: one result per byte, at most the 1M stack slots, time
**          cap. char, format, lower, upper, reverse, sub, dump: allocate
**          their result first (format: each item is at most 120 bytes or
**          a copied string; %q of a long string allocates). len: O(1).
**          rep: replaced -- Lua loops n times when the result is empty
**          (rep("", 2^62)); here an empty result returns at once, any
**          other is allocated before the copies. find: replaced, plain
**          searches only, by glibc's memmem (two-way, linear, for needles
**          over 256 bytes; at most a needle's length of compares per
**          position below), charged for the bytes scanned and for
**          hlen * min(nlen, 256) compares at 256 a step (find_cost).
**          match, gmatch, gsub: refused (backtracking, see oscsandbox.h).
**          pack: per option; padding, alignment and 'c' fill allocate.
**          packsize: per format byte, time cap. unpack: per format byte,
**          one result each within the stack, time cap.
**   table  move, insert, remove, concat, unpack: replaced; the element
**          count -- explicit bounds, or #t, which a __len metamethod or a
**          sparse table ({[1]=1, [2]=1, [4]=1, ...}) makes 2^50 with no
**          allocation at all -- is charged before the loop (unpack is also
**          capped by the stack). pack: allocates. sort: refuses a __len
**          metamethod (so the length it uses is the raw one, computed
**          once here), charges n * log2(n) compares up front, and without
**          a comparator compares through charged_less, which charges each
**          compare of two strings for the bytes it may read (Lua's own
**          strcoll of two 8 MiB strings, 20000 times, took minutes).
**   math   all O(1), except max and min: O(arguments), within the stack,
**          time cap. random's rejection loop takes 2 draws on average.
**   utf8   char: allocates. codepoint: one result per character within
**          the stack, time cap. len, offset, codes' iterator: O(length)
**          per call, time cap. charpattern: a string.
**   VM     '..' allocates; comparing or coercing long strings, '#t' (a
**          binary search), copying varargs: O(operands), time cap.
**   metamethods  C functions called as __index, __len, __lt, ... are the
**          calls above; Lua ones run under the hook; __index chains stop
**          after 2000 links; __gc refused; __close runs under the hook,
**          even while an error unwinds.
**   host   conv{} and network{}: O(fields); a fixed chain is planned in
**          conv{}, against the planning budget (oscplanner.h), as planning
**          after the script is. Their time is not the script's.
*/
#define _GNU_SOURCE   /* memmem */
#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "oscsandbox.h"

#define SPECIALS "^$*+?.([%-"

static const char no_patterns_msg[] =
    "patterns are not available in a sandboxed config (their backtracking cannot be "
    "limited); use plain find, or --unsandboxed for a trusted config";

/* Charge a count that may not fit a long long. */
static void charge_steps(lua_State *L, lua_Unsigned n, const char *what) {
  osc_sandbox_charge(L, n > (lua_Unsigned)LLONG_MAX ? LLONG_MAX : (long long)n, what);
}

/* ---- base -------------------------------------------------------------------- */

/* load(chunk [, name [, mode [, env]]]) as lbaselib's, with the mode forced
** to "t" (no bytecode) and the text parsed in slices with the limits
** checked between them (osc_sandbox_load): the compiler is quadratic on
** some inputs, so a charge per byte up front would not bound it. */
static int sliced_load(lua_State *L) {
  size_t len = 0;
  const char *s = lua_tolstring(L, 1, &len), *chunkname;
  int env = !lua_isnone(L, 4) ? 4 : 0, status;
  luaL_optstring(L, 3, NULL);   /* mode: checked, then ignored */
  if (s) {
    chunkname = luaL_optstring(L, 2, s);
  } else {
    chunkname = luaL_optstring(L, 2, "=(load)");
    luaL_checktype(L, 1, LUA_TFUNCTION);
  }
  status = osc_sandbox_load(L, s, len, s ? 0 : 1, chunkname, 0);
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (env) {
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  }
  return 1;
}

/* setmetatable without __gc: finalizers run with hooks off (lgc.c GCTM),
** so one could loop forever past the instruction limit. A __gc added to
** the metatable later is harmless: only setmetatable marks for finalizing. */
static int no_gc_setmetatable(lua_State *L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "setmetatable: __gc metamethods are not allowed in a sandboxed config");
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* xpcall(f, handler, ...) whose handler runs once the error has unwound.
** Lua calls a message handler where the error is raised; for the error the
** instruction hook raises, that is inside the hook, with hooks off, where
** a looping handler would never be stopped. */
static int xpcall_after(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_checkstack(L, n, "too many arguments");
  lua_pushvalue(L, 1);
  for (int i = 3; i <= n; i++) lua_pushvalue(L, i);
  if (lua_pcall(L, n - 2, LUA_MULTRET, 0) == LUA_OK) {
    lua_pushboolean(L, 1);
    lua_insert(L, n + 1);
    return lua_gettop(L) - n;
  }
  lua_pushvalue(L, 2);
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  lua_pushboolean(L, 0);
  lua_insert(L, -2);
  return 2;
}

/* collectgarbage: a collection walks the heap, so it is charged for it;
** the tuning options are refused, as a pause of 0 would make every small
** allocation pay for a whole collection. */
static int bounded_collectgarbage(lua_State *L) {
  static const char *const opts[] = {"collect", "step", "count", "isrunning", "stop",
                                     "restart", "incremental", "generational",
                                     "setpause", "setstepmul", NULL};
  int o = luaL_checkoption(L, 1, "collect", opts);
  if (o >= 6)
    return luaL_error(L, "collectgarbage: option '%s' is not available in a sandboxed config",
                      opts[o]);
  if (o <= 1) {
    luaL_optinteger(L, 2, 0);
    osc_sandbox_charge(L, (long long)(osc_sandbox_of(L)->mem_used / OSC_SANDBOX_BYTES_PER_INSN),
                       "collectgarbage");
  }
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, LUA_MULTRET);
  return lua_gettop(L);
}

/* print to stderr, so a config cannot corrupt output written to stdout;
** each byte printed is an instruction of work */
static int print_stderr(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, i, &len);
    osc_sandbox_charge(L, (long long)len + 1, "print");
    if (i > 1) fputc('\t', stderr);
    fwrite(s, 1, len, stderr);
    lua_pop(L, 1);
  }
  fputc('\n', stderr);
  fflush(stderr);
  return 0;
}

/* ---- string ------------------------------------------------------------------ */

static int has_specials(const char *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (p[i] && memchr(SPECIALS, p[i], sizeof SPECIALS - 1)) return 1;
  return 0;
}

/* Where needle first occurs in hay, or NULL: glibc's memmem, which is
** linear for needles over 256 bytes (two-way) and compares at most the
** needle's length per position for shorter ones, so a search costs at most
** hlen * min(nlen, 256) + nlen byte compares. (A memchr-and-memcmp loop is
** O(hlen * nlen): minutes for 'a' x 8e6 against 'a' x 4e6 .. 'b'.) */
static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen) {
  return nlen == 0 ? hay : memmem(hay, hlen, needle, nlen);
}

/* What find_bytes may cost, in instructions of work: the bytes scanned
** (one step per OSC_SANDBOX_BYTES_PER_INSN, as elsewhere) plus its
** worst-case byte compares at FIND_COMPARES_PER_INSN a step -- memcmp runs
** several bytes per ns, an instruction buys 100 ns of CPU time. Measured
** (64 MiB of 'a' against 'a'*k .. 'b' .. 'a'*(m-k-1), m <= 4e6): at most
** 0.25 s, charged at most 64 Mi steps (6.7 s of the time cap). */
#define FIND_SHORT_NEEDLE 256
#define FIND_COMPARES_PER_INSN 256
static lua_Unsigned find_cost(size_t hlen, size_t nlen) {
  lua_Unsigned per = nlen < FIND_SHORT_NEEDLE ? nlen : FIND_SHORT_NEEDLE;
  return ((lua_Unsigned)hlen + nlen) / OSC_SANDBOX_BYTES_PER_INSN +
         (lua_Unsigned)hlen * per / FIND_COMPARES_PER_INSN;
}

/* string.find(s, text [, init [, plain]]): as Lua's, plain searches only. */
static int plain_find(lua_State *L) {
  size_t ls, lp, init;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  lua_Integer pos = luaL_optinteger(L, 3, 1);
  const char *hit;
  if (!lua_toboolean(L, 4) && has_specials(p, lp))
    return luaL_error(L, "string.find: %s", no_patterns_msg);
  /* Lua's posrelatI: negative counts from the end, clipped to 1 */
  init = pos > 0 ? (size_t)pos : pos == 0 || pos < -(lua_Integer)ls ? 1 : ls + (size_t)pos + 1;
  if (--init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  charge_steps(L, find_cost(ls - init, lp), "string.find");
  if (!(hit = find_bytes(s + init, ls - init, p, lp))) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
  lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
  return 2;
}

static int no_patterns(lua_State *L) {
  return luaL_error(L, "%s: %s", lua_tostring(L, lua_upvalueindex(1)), no_patterns_msg);
}

/* string.rep(s, n [, sep]): the result is allocated before any copy, and
** an empty one is returned without looping n times. */
static int bounded_rep(lua_State *L) {
  size_t l, lsep, total;
  const char *s = luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char *sep = luaL_optlstring(L, 3, "", &lsep);
  luaL_Buffer b;
  char *p;
  if (n <= 0 || l + lsep == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  if (l + lsep < l || l + lsep > (size_t)INT_MAX / (lua_Unsigned)n)
    return luaL_error(L, "resulting string too large");
  total = (size_t)n * l + (size_t)(n - 1) * lsep;
  p = luaL_buffinitsize(L, &b, total);
  for (lua_Integer i = 0; i < n; i++) {
    memcpy(p, s, l);
    p += l;
    if (i + 1 < n && lsep > 0) {
      memcpy(p, sep, lsep);
      p += lsep;
    }
  }
  luaL_pushresultsize(&b, total);
  return 1;
}

/* ---- table ------------------------------------------------------------------- */

enum { TAB_R = 1, TAB_W = 2, TAB_L = 4 };

static int has_field(lua_State *L, const char *key, int n) {
  lua_pushstring(L, key);
  return lua_rawget(L, -n) != LUA_TNIL;
}

/* arg is a table or has the metamethods to act as one (ltablib.c checktab) */
static void check_table(lua_State *L, int arg, int what) {
  int n = 1;
  if (lua_type(L, arg) == LUA_TTABLE) return;
  if (lua_getmetatable(L, arg) && (!(what & TAB_R) || has_field(L, "__index", ++n)) &&
      (!(what & TAB_W) || has_field(L, "__newindex", ++n)) &&
      (!(what & TAB_L) || has_field(L, "__len", ++n)))
    lua_pop(L, n);
  else
    luaL_checktype(L, arg, LUA_TTABLE);
}

static lua_Integer length(lua_State *L, int arg, int what) {
  check_table(L, arg, what | TAB_L);
  return luaL_len(L, arg);
}

static int bounded_insert(lua_State *L) {
  lua_Integer e = (lua_Integer)((lua_Unsigned)length(L, 1, TAB_R | TAB_W) + 1u), pos;
  switch (lua_gettop(L)) {
  case 2:
    pos = e;
    break;
  case 3:
    pos = luaL_checkinteger(L, 2);
    luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
    charge_steps(L, (lua_Unsigned)e - (lua_Unsigned)pos, "table.insert");
    for (lua_Integer i = e; i > pos; i--) {
      lua_geti(L, 1, i - 1);
      lua_seti(L, 1, i);
    }
    break;
  default:
    return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return 0;
}

static int bounded_remove(lua_State *L) {
  lua_Integer size = length(L, 1, TAB_R | TAB_W);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size)
    luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
  if (pos < size) charge_steps(L, (lua_Unsigned)size - (lua_Unsigned)pos, "table.remove");
  lua_geti(L, 1, pos);
  for (; pos < size; pos++) {
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return 1;
}

static int bounded_move(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
  check_table(L, 1, TAB_R);
  check_table(L, tt, TAB_W);
  if (e >= f) {
    lua_Integer n;
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    charge_steps(L, (lua_Unsigned)n, "table.move");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (lua_Integer i = 0; i < n; i++) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    } else {
      for (lua_Integer i = n - 1; i >= 0; i--) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

static void add_field(lua_State *L, luaL_Buffer *b, lua_Integer i) {
  lua_geti(L, 1, i);
  if (!lua_isstring(L, -1))
    luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1),
               (LUAI_UACINT)i);
  luaL_addvalue(b);
}

static int bounded_concat(lua_State *L) {
  luaL_Buffer b;
  lua_Integer last = length(L, 1, TAB_R);
  size_t lsep;
  const char *sep = luaL_optlstring(L, 2, "", &lsep);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  last = luaL_optinteger(L, 4, last);
  if (i <= last) charge_steps(L, (lua_Unsigned)last - (lua_Unsigned)i + 1u, "table.concat");
  luaL_buffinit(L, &b);
  for (; i < last; i++) {
    add_field(L, &b, i);
    luaL_addlstring(&b, sep, lsep);
  }
  if (i == last) add_field(L, &b, i);
  luaL_pushresult(&b);
  return 1;
}

static int bounded_unpack(lua_State *L) {
  lua_Unsigned n;
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer e = luaL_opt(L, luaL_checkinteger, 3, luaL_len(L, 1));
  if (i > e) return 0;
  n = (lua_Unsigned)e - (lua_Unsigned)i;
  if (n >= (unsigned int)INT_MAX || !lua_checkstack(L, (int)(++n)))
    return luaL_error(L, "too many results to unpack");
  charge_steps(L, n, "table.unpack");
  for (; i < e; i++) lua_geti(L, 1, i);
  lua_geti(L, 1, e);
  return (int)n;
}

static long long log2_ceil(lua_Integer n) {
  long long k = 0;
  while (((lua_Integer)1 << k) < n) k++;
  return k;
}

/* sort's default order, a < b, charged as it goes: Lua's own compares
** strings with strcoll in C, so 20000 references to one 8 MiB string
** would cost minutes inside one call. Each compare of two strings is
** charged for the bytes it may read (the shorter one), and the charge looks
** at the clock too. */
static int charged_less(lua_State *L) {
  size_t la, lb;
  if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING) {
    lua_tolstring(L, 1, &la);
    lua_tolstring(L, 2, &lb);
    osc_sandbox_charge(L, (long long)((la < lb ? la : lb) / OSC_SANDBOX_BYTES_PER_INSN), "table.sort");
  }
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
  return 1;
}

/* table.sort(t [, less]): Lua's quicksort, after checking here what it
** would otherwise check (so errors name 'sort') and charging n * log2(n)
** compares; without `less`, charged_less compares. */
static int bounded_sort(lua_State *L) {
  lua_Integer n;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (luaL_getmetafield(L, 1, "__len") != LUA_TNIL)
    return luaL_error(L, "table.sort: a table with a __len metamethod cannot be sorted in a "
                         "sandboxed config");
  n = (lua_Integer)lua_rawlen(L, 1);
  if (n > 1) {
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    charge_steps(L, (lua_Unsigned)n * (lua_Unsigned)log2_ceil(n), "table.sort");
  }
  lua_settop(L, 2);
  if (lua_isnil(L, 2)) {
    lua_pushcfunction(L, charged_less);
    lua_replace(L, 2);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 0);
  return 0;
}

/* ---- opening ----------------------------------------------------------------- */

/* table[name] = f, with the former table[name] as f's upvalue (table on top) */
static void wrap(lua_State *L, const char *name, lua_CFunction f) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, name);
}

static void set(lua_State *L, const char *name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_setfield(L, -2, name);
}

static void open_base(lua_State *L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_pushnil(L);
  lua_setfield(L, -2, "dofile");
  lua_pushnil(L);
  lua_setfield(L, -2, "loadfile");
  set(L, "load", sliced_load);
  wrap(L, "setmetatable", no_gc_setmetatable);
  wrap(L, "collectgarbage", bounded_collectgarbage);
  set(L, "xpcall", xpcall_after);
  lua_pop(L, 1);
}

static void open_string(lua_State *L) {
  static const char *const refused[] = {"match", "gmatch", "gsub"};
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  set(L, "find", plain_find);   /* also ("x"):find: strings' __index is this table */
  set(L, "rep", bounded_rep);
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    lua_pushfstring(L, "string.%s", refused[i]);
    lua_pushcclosure(L, no_patterns, 1);
    lua_setfield(L, -2, refused[i]);
  }
  lua_pop(L, 1);
}

static void open_table(lua_State *L) {
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  set(L, "insert", bounded_insert);
  set(L, "remove", bounded_remove);
  set(L, "move", bounded_move);
  set(L, "concat", bounded_concat);
  set(L, "unpack", bounded_unpack);
  wrap(L, "sort", bounded_sort);
  lua_pop(L, 1);
}

void osc_sandbox_open_libs(lua_State *L, int sandboxed) {
  if (sandboxed) {
    open_base(L);
    open_string(L);
    open_table(L);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_pop(L, 2);
  } else {
    luaL_openlibs(L);
  }
  lua_pushcfunction(L, print_stderr);
  lua_setglobal(L, "print");
}

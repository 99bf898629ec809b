/*
** oscsandbox.c -- a Lua state with a memory cap, an instruction cap and a
** trimmed standard library, and one protected run of a script in it.
**
** Everything that touches the state, library setup included, runs inside a
** single lua_pcall: a memory error anywhere becomes a returned status, never
** a panic. The message handler gives every error a "file:line:" of the main
** chunk, so even error("x", 0) or an error inside load()ed text says where.
*/
#include "oscsandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscerr.h"

#define HOOK_EVERY 1000

osc_sandbox *osc_sandbox_of(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  return ud;
}

/* ---- memory --------------------------------------------------------------- */

/* lua_Alloc: when ptr is NULL, osize is a type tag, not a size (manual 4.6).
** Only growth can be refused: Lua assumes shrinking never fails. */
static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  osc_sandbox *sb = ud;
  size_t old = ptr ? osize : 0;
  void *p;
  if (nsize == 0) {
    free(ptr);
    sb->mem_used -= old;
    return NULL;
  }
  if (nsize > old && nsize - old > sb->mem_limit - sb->mem_used) {
    sb->mem_refused = 1;
    return NULL;
  }
  p = realloc(ptr, nsize);
  if (p) sb->mem_used = sb->mem_used - old + nsize;
  return p;
}

/* ---- where are we ---------------------------------------------------------- */

int osc_sandbox_line(lua_State *L, int level) {
  osc_sandbox *sb = osc_sandbox_of(L);
  lua_Debug ar;
  for (; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar)) break;
    if (ar.currentline > 0 && strcmp(ar.source, sb->chunkname) == 0) return ar.currentline;
  }
  return 0;
}

static void amount(char *buf, size_t n, long long v, int bytes) {
  if (bytes && v % (1 << 20) == 0) snprintf(buf, n, "%lld MiB", v >> 20);
  else if (bytes && v % (1 << 10) == 0) snprintf(buf, n, "%lld KiB", v >> 10);
  else if (bytes) snprintf(buf, n, "%lld bytes", v);
  else if (v % 1000000 == 0) snprintf(buf, n, "%lld million", v / 1000000);
  else snprintf(buf, n, "%lld", v);
}

/* "file:line: " or "file: " */
static void position(const osc_sandbox *sb, int line, char *buf, size_t n) {
  if (line > 0) snprintf(buf, n, "%s:%d: ", sb->file, line);
  else snprintf(buf, n, "%s: ", sb->file);
}

/* ---- instructions ----------------------------------------------------------- */

static void count_hook(lua_State *L, lua_Debug *ar) {
  osc_sandbox *sb = osc_sandbox_of(L);
  int line = osc_sandbox_line(L, 0);
  (void)ar;
  if (line) sb->last_line = line;
  sb->insns += sb->hook_every;
  if (sb->insns <= sb->insn_limit) return;
  if (!sb->insn_hit) {
    char pos[300], n[64];
    position(sb, line, pos, sizeof pos);
    amount(n, sizeof n, sb->insn_limit, 0);
    snprintf(sb->limit_msg, sizeof sb->limit_msg,
             "%sconfig ran for more than %s instructions (an endless loop?)", pos, n);
    sb->insn_hit = 1;
    /* from now on every instruction fails, so a pcall in the script
    ** cannot swallow the limit and carry on */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  }
  lua_pushstring(L, sb->limit_msg);
  lua_error(L);
}

/* ---- the trimmed library -------------------------------------------------- */

/* load(chunk, name, mode, env) with mode forced to "t": no bytecode. */
static int text_only_load(lua_State *L) {
  if (lua_gettop(L) < 3) lua_settop(L, 3);
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
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

/* print to stderr, so a config cannot corrupt output written to stdout */
static int print_stderr(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, i, &len);
    if (i > 1) fputc('\t', stderr);
    fwrite(s, 1, len, stderr);
    lua_pop(L, 1);
  }
  fputc('\n', stderr);
  fflush(stderr);
  return 0;
}

static void open_sandboxed(lua_State *L) {
  static const struct { const char *name; lua_CFunction open; } libs[] = {
      {LUA_GNAME, luaopen_base},         {LUA_STRLIBNAME, luaopen_string},
      {LUA_TABLIBNAME, luaopen_table},   {LUA_MATHLIBNAME, luaopen_math},
      {LUA_UTF8LIBNAME, luaopen_utf8},
  };
  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    luaL_requiref(L, libs[i].name, libs[i].open, 1);
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  lua_setglobal(L, "dofile");
  lua_pushnil(L);
  lua_setglobal(L, "loadfile");
  lua_getglobal(L, "load");
  lua_pushcclosure(L, text_only_load, 1);
  lua_setglobal(L, "load");
  lua_pushcfunction(L, xpcall_after);
  lua_setglobal(L, "xpcall");
  lua_getglobal(L, "setmetatable");
  lua_pushcclosure(L, no_gc_setmetatable, 1);
  lua_setglobal(L, "setmetatable");
}

/* ---- the protected run ---------------------------------------------------- */

static int starts_with(const char *msg, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(msg, prefix, n) == 0 && msg[n] == ':';
}

/* "chunkid:" (Lua's) or "file:" (ours) */
static int has_position(const osc_sandbox *sb, const char *msg) {
  return starts_with(msg, sb->chunkid) || starts_with(msg, sb->file);
}

/* Give a message without a position in the main chunk one. */
static int message_handler(lua_State *L) {
  osc_sandbox *sb = osc_sandbox_of(L);
  const char *msg = lua_tostring(L, 1);
  int line;
  if (!msg)
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  if (has_position(sb, msg)) return 1;
  line = osc_sandbox_line(L, 1);
  if (line) lua_pushfstring(L, "%s:%d: %s", sb->file, line, msg);
  else lua_pushfstring(L, "%s: %s", sb->file, msg);
  return 1;
}

typedef struct run_args {
  const char *src;
  size_t len;
  osc_sandbox_setup setup;
  void *ud;
  int load_status;
} run_args;

static int protected_run(lua_State *L) {
  osc_sandbox *sb = osc_sandbox_of(L);
  run_args *a = lua_touserdata(L, 1);
  if (sb->sandboxed) open_sandboxed(L);
  else luaL_openlibs(L);
  lua_pushcfunction(L, print_stderr);
  lua_setglobal(L, "print");
  a->setup(L, a->ud);
  a->load_status = luaL_loadbufferx(L, a->src, a->len, sb->chunkname, "t");
  if (a->load_status != LUA_OK) return lua_error(L);
  if (sb->insn_limit > 0) lua_sethook(L, count_hook, LUA_MASKCOUNT, sb->hook_every);
  lua_call(L, 0, 0);
  sb->finished = 1;
  return 0;
}

/* Lua shortens long chunk names in its messages; put the whole name back. */
static void copy_message(const osc_sandbox *sb, const char *msg, osc_error *err,
                         osc_status code) {
  size_t idlen = strlen(sb->chunkid), flen = strlen(sb->file);
  if (flen > idlen && starts_with(msg, sb->chunkid) && !starts_with(msg, sb->file))
    osc_error_set(err, code, "%s%s", sb->file, msg + idlen);
  else
    osc_error_set(err, code, "%s", msg);
}

static osc_status failure(osc_sandbox *sb, lua_State *L, int status,
                          const run_args *a, osc_error *err) {
  const char *msg = lua_tostring(L, -1);
  char pos[300], n[64];
  if (sb->insn_hit) return osc_error_set(err, OSC_ELIMIT, "%s", sb->limit_msg);
  if (status == LUA_ERRMEM || a->load_status == LUA_ERRMEM) {
    position(sb, sb->last_line, pos, sizeof pos);
    if (!sb->mem_refused) return osc_error_set(err, OSC_ENOMEM, "%sout of memory", pos);
    amount(n, sizeof n, (long long)sb->mem_limit, 1);
    return osc_error_set(err, OSC_ELIMIT, "%sconfig used more than %s of memory", pos, n);
  }
  if (!msg) return osc_error_set(err, OSC_ECONFIG, "%s: config failed", sb->file);
  copy_message(sb, msg, err, OSC_ECONFIG);
  return OSC_ECONFIG;
}

osc_status osc_sandbox_run(osc_sandbox *sb, const char *src, size_t len,
                           osc_sandbox_setup setup, void *ud, osc_error *err) {
  run_args a = {src, len, setup, ud, LUA_OK};
  size_t flen = strlen(sb->file);
  osc_status s = OSC_OK;
  lua_State *L;
  int status;
  sb->mem_used = 0;
  sb->mem_refused = sb->insn_hit = sb->last_line = sb->finished = 0;
  sb->insns = 0;
  sb->hook_every = sb->insn_limit > 0 && sb->insn_limit < HOOK_EVERY ? (int)sb->insn_limit
                                                                     : HOOK_EVERY;
  if (!(sb->chunkname = malloc(flen + 2)))
    return osc_error_set(err, OSC_ENOMEM, "%s: out of memory", sb->file);
  sb->chunkname[0] = '=';
  memcpy(sb->chunkname + 1, sb->file, flen + 1);
  /* luaO_chunkid: the name whole if it fits LUA_IDSIZE, else its head */
  snprintf(sb->chunkid, sizeof sb->chunkid, "%s", sb->file);
  if (!(L = lua_newstate(counting_alloc, sb))) {
    free(sb->chunkname);
    sb->chunkname = NULL;
    return osc_error_set(err, sb->mem_refused ? OSC_ELIMIT : OSC_ENOMEM,
                         "%s: not enough memory to start Lua (memory limit %zu bytes)", sb->file,
                         sb->mem_limit);
  }
  /* neither push allocates, so nothing here can fail unprotected */
  lua_pushcfunction(L, message_handler);
  lua_pushcfunction(L, protected_run);
  lua_pushlightuserdata(L, &a);
  status = lua_pcall(L, 1, 0, 1);
  if (status != LUA_OK) s = failure(sb, L, status, &a, err);
  lua_close(L);
  free(sb->chunkname);
  sb->chunkname = NULL;
  return s;
}

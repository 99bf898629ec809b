/*
** cmd_script.c -- `osconv script FILE.lua [ARGS]`: run a Lua script with the
** full standard library and the module `osconv` (gen/osclua.h) preloaded,
** as the global `osconv` and for require "osconv". Scripts are the user's
** own programs, so they are not sandboxed (configs they load still are).
** As the lua interpreter: `arg[0]` is the script, arg[1..] and `...` its
** arguments; an error prints its message and a traceback and exits 1.
*/
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>

#include "osccli.h"
#include "osclua.h"

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(an error that is not a string)", 1);
  return 1;
}

/* The script at argv[1] with argv[2..] as its arguments. */
static int run_script(lua_State *L, int argc, char **argv) {
  int base;
  luaL_openlibs(L);
  luaL_requiref(L, "osconv", luaopen_osconv, 1);
  lua_pop(L, 1);
  lua_createtable(L, argc, 1);
  for (int i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  lua_pushcfunction(L, traceback);
  base = lua_gettop(L);
  if (luaL_loadfile(L, argv[1])) return osc_cli_fail("script: %s", lua_tostring(L, -1));
  for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
  if (lua_pcall(L, argc - 2, 0, base)) return osc_cli_fail("script: %s", lua_tostring(L, -1));
  return 0;
}

int osc_cmd_script(int argc, char **argv) {
  lua_State *L;
  int rc;
  if (argc < 2) {
    fprintf(stderr, "osconv script: no FILE.lua given\n");
    return osc_cli_usage("script");
  }
  if (!(L = luaL_newstate())) return osc_cli_fail("script: out of memory");
  rc = run_script(L, argc, argv);
  lua_close(L);
  return rc;
}

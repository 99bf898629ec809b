/*
** osclua.h -- the Lua module `osconv` (README, "Autotuning"): configs,
** candidate plans, variants, emitting, JIT kernels, timing, verification
** and the tuning database, for tuning scripts. `osconv script` preloads it;
** build/osconv.so is the same module for a stock lua5.4 (require "osconv").
** Every failure is a Lua error with a message; nothing here aborts.
*/
#ifndef OSCLUA_H
#define OSCLUA_H

#include <lua.h>

/* Push the module table. */
int luaopen_osconv(lua_State *L);

#endif

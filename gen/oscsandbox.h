/*
** oscsandbox.h -- running an untrusted Lua script with bounded memory and
** instructions and only the harmless parts of the standard library.
**
** Sandboxed: base, string, table, math, utf8; no io, os, package/require,
** debug, coroutine. From base: no dofile/loadfile; load refuses bytecode;
** print writes to stderr; setmetatable refuses __gc and xpcall runs its
** handler after the error unwinds, as both would otherwise run Lua code
** with hooks off. Memory is counted by the allocator and capped; VM
** instructions are counted by a hook every 1000 instructions and capped.
** Not bounded: time spent inside one C function (a pathological string
** pattern can run long) -- run untrusted configs under a wall-clock timeout.
*/
#ifndef OSCSANDBOX_H
#define OSCSANDBOX_H

#include <lua.h>
#include <stddef.h>

#include "osconv.h"

typedef struct osc_sandbox {
  const char *file;          /* the script's name in messages */
  char *chunkname;           /* "=" file, as given to Lua */
  char chunkid[LUA_IDSIZE];  /* what Lua prints for the chunk (maybe truncated) */
  int sandboxed;
  size_t mem_used, mem_limit;  /* bytes; limit SIZE_MAX = none */
  int mem_refused;             /* the allocator said no at least once */
  long long insns, insn_limit; /* limit 0 = none */
  int hook_every;
  int insn_hit;
  int last_line;             /* last line of the main chunk seen running */
  int finished;              /* the main chunk returned (finalizers may still run) */
  char limit_msg[512];       /* the instruction-limit message, once hit */
} osc_sandbox;

/* Called inside the protected run, after the libraries are open: register
** globals. May raise Lua errors. */
typedef void (*osc_sandbox_setup)(lua_State *L, void *ud);

/* Run `src` as the main chunk of a fresh state and close it. Returns OSC_OK,
** or OSC_ECONFIG (syntax or runtime error, Lua's "file:line: message"),
** OSC_ELIMIT (memory or instruction limit), OSC_ENOMEM. `sb` needs `file`,
** `sandboxed`, `mem_limit` and `insn_limit` set; the rest is filled here. */
osc_status osc_sandbox_run(osc_sandbox *sb, const char *src, size_t len,
                           osc_sandbox_setup setup, void *ud, osc_error *err);

/* The current line in the main chunk: the first frame at `level` or above
** that runs the main chunk's code. 0 if none does. */
int osc_sandbox_line(lua_State *L, int level);

/* The sandbox of a state (its allocator's user data). */
osc_sandbox *osc_sandbox_of(lua_State *L);

#endif

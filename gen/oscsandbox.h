/*
** oscsandbox.h -- running an untrusted Lua script with bounded memory, work
** and time, and only the harmless parts of the standard library.
**
** Sandboxed: base, string, table, math, utf8; no io, os, package/require,
** debug, coroutine. From base: no dofile/loadfile; load refuses bytecode;
** print writes to stderr; setmetatable refuses __gc and xpcall runs its
** handler after the error unwinds, as both would otherwise run Lua code
** with hooks off; collectgarbage keeps count, collect, step, stop, restart
** and isrunning (the tuning options could make every allocation pay for a
** whole collection).
**
** Lua patterns are not available: string.match, gmatch and gsub raise an
** error, and string.find only does plain searches (plain = true, or a
** pattern without any of ^$*+?.([%-). A pattern can backtrack for years
** inside one C call, where no limit can stop it. Unsandboxed configs
** (trusted ones) keep the whole library, patterns included.
**
** Limits. Memory: counted by the allocator and capped. Work: VM
** instructions, counted by a hook every 1000 instructions, plus work done
** inside C functions -- one instruction per 64 bytes allocated, per byte
** printed, per element moved or visited by table.move/insert/remove/concat/
** unpack/sort, per 64 bytes of two strings sort compares, per 64 bytes
** (plus its worst-case compares) string.find searches, per 64 bytes parsed
** (the config and load()ed text, fed to the parser in slices with the
** limits checked between them), per 64 bytes of heap a collection walks. C loops whose trip count a
** script controls without allocating are closed (string.rep of an empty
** string, table functions over a __len or sparse table): oscsandlib.c lists
** what was checked. Time: some single VM instructions cost time in
** proportion to their operands and count once (comparing two long equal
** strings, copying a million varargs, next() over a table emptied by
** assignments, coercing a long numeric string), so CPU time is capped too,
** at 100 ns per allowed instruction and at least 0.1 s (10 s for the
** default budget), checked by the same hook, after every MiB allocated, in
** every charge, and between the slices the parser is fed (the config's own
** text included, parsed before any instruction runs); time spent in the
** host's own functions (conv{}, network{}) does not count: their planning
** has its own budget (oscplanner.h). A pathological script may overrun the time cap by what 1000 such
** instructions cost (seconds at worst), never without bound.
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
  lua_State *L;              /* while it runs */
  size_t mem_used, mem_limit;  /* bytes; limit SIZE_MAX = none */
  int mem_refused;             /* the allocator said no at least once */
  int mem_line;                /* main-chunk line running when memory last ran out */
  long long insns, insn_limit; /* work in instructions; limit 0 = none */
  int hook_every;
  int hooked;                /* the count hook is installed */
  int hook_soon;             /* the hook was asked to run at the next instruction */
  size_t grown;              /* bytes allocated since the hook last ran */
  long long time_limit;      /* ns of CPU time; 0 = none */
  long long cpu_start, wall_start, host_ns, next_cpu_check;   /* ns */
  int limit_hit;
  int finished;              /* the main chunk returned (finalizers may still run) */
  int parse_line;            /* while the main chunk is parsed: the line the parser reached */
  char limit_msg[sizeof ((osc_error *)0)->msg];   /* the work- or time-limit message, once hit */
} osc_sandbox;

/* Called inside the protected run, after the libraries are open: register
** globals. May raise Lua errors. */
typedef void (*osc_sandbox_setup)(lua_State *L, void *ud);

/* Run `src` as the main chunk of a fresh state and close it. Returns OSC_OK,
** or OSC_ECONFIG (syntax or runtime error, Lua's "file:line: message"),
** OSC_ELIMIT (memory, work or time limit), OSC_ENOMEM. `sb` needs `file`,
** `sandboxed`, `mem_limit` and `insn_limit` set; the rest is filled here. */
osc_status osc_sandbox_run(osc_sandbox *sb, const char *src, size_t len,
                           osc_sandbox_setup setup, void *ud, osc_error *err);

/* The current line in the main chunk: the first frame at `level` or above
** that runs the main chunk's code. 0 if none does. */
int osc_sandbox_line(lua_State *L, int level);

/* The same, starting at *level; *level becomes that frame's level. Call
** again from *level + 1 for the line that called it, and so on. */
int osc_sandbox_next_line(lua_State *L, int *level);

/* The sandbox of a state (its allocator's user data). */
osc_sandbox *osc_sandbox_of(lua_State *L);

/* Count `n` instructions of work a C function is about to do; raises the
** limit error if that is more than is left. `what` names the function
** ("table.move") for the message when the work alone is more than the
** whole budget. A no-op without an instruction limit. */
void osc_sandbox_charge(lua_State *L, long long n, const char *what);

/* The CPU-time cap that goes with an instruction limit (ns; 0 = none). */
long long osc_sandbox_time_limit(long long insn_limit);

/* Time spent in a host function (conv{}, network{}) does not count as the
** script's: call enter first, leave with its result before returning. */
long long osc_sandbox_host_enter(lua_State *L);
void osc_sandbox_host_leave(lua_State *L, long long entered);

/* Load Lua text (never bytecode) as lua_load does, with a function on the
** stack or an error message, returning its status. The parser gets the
** text in slices of OSC_SANDBOX_PARSE_SLICE bytes, and between slices the
** work (a step per OSC_SANDBOX_BYTES_PER_INSN bytes) and CPU-time limits are
** checked, so a parse that is slow (Lua's compiler is quadratic on a long
** `a or a or ...`) stops at the time cap plus one slice's work. src may be
** NULL to read from the function at stack index `reader` (load's reader
** argument: each piece it returns is sliced too); `main` counts lines for
** the limit messages of the main chunk, which has no frame yet. */
int osc_sandbox_load(lua_State *L, const char *src, size_t len, int reader,
                     const char *chunkname, int main);

#define OSC_SANDBOX_PARSE_SLICE 4096

/* Work charged per byte a C function allocates, searches or parses. */
#define OSC_SANDBOX_BYTES_PER_INSN 64

/* Open the standard library: trimmed and bounded if `sandboxed`, whole
** otherwise; print goes to stderr either way (oscsandlib.c). */
void osc_sandbox_open_libs(lua_State *L, int sandboxed);

#endif

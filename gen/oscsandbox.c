/*
** oscsandbox.c -- a Lua state with a memory cap, a work cap and a CPU-time
** cap, and one protected run of a script in it. The library it opens is
** oscsandlib.c's.
**
** Everything that touches the state, library setup included, runs inside a
** single lua_pcall: a memory error anywhere becomes a returned status, never
** a panic. The message handler gives every error a "file:line:" of the main
** chunk, so even error("x", 0) or an error inside load()ed text says where.
*/
#include "oscsandbox.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oscerr.h"

#define HOOK_EVERY 1000
#define NS_PER_INSN 100              /* the CPU time each allowed instruction buys */
#define MIN_TIME_NS 100000000LL      /* but at least 0.1 s, far above any stall of the host's */
#define CHECK_AFTER_BYTES (1u << 20) /* allocated since the last hook: look at the time now */

osc_sandbox *osc_sandbox_of(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  return ud;
}

static long long clock_ns(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts)) return 0;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- where are we ---------------------------------------------------------- */

static int line_from(const osc_sandbox *sb, lua_State *L, int *level) {
  lua_Debug ar;
  for (; lua_getstack(L, *level, &ar); ++*level) {
    if (!lua_getinfo(L, "Sl", &ar)) break;
    if (ar.currentline > 0 && strcmp(ar.source, sb->chunkname) == 0) return ar.currentline;
  }
  return 0;
}

int osc_sandbox_next_line(lua_State *L, int *level) {
  return line_from(osc_sandbox_of(L), L, level);
}

int osc_sandbox_line(lua_State *L, int level) {
  return line_from(osc_sandbox_of(L), L, &level);
}

/* ---- memory --------------------------------------------------------------- */

static void count_hook(lua_State *L, lua_Debug *ar);

/* insns += n, saturating (a limit near LLONG_MAX is no limit) */
static void add_work(osc_sandbox *sb, long long n) {
  sb->insns = n > LLONG_MAX - sb->insns ? LLONG_MAX : sb->insns + n;
}

/* Remember the line that ran out of memory: Lua raises memory errors
** without calling the message handler, and unwinds the stack. Reading the
** stack here is safe: a failed allocation has touched no memory, Lua keeps
** the CallInfo chain valid across every allocation (5.4.4 even grows the
** stack by allocate-copy-free), and lua_getstack/lua_getinfo("Sl") only read
** it. It is also exact: with the count hook on (always, sandboxed) each Lua
** frame's pc is saved before every instruction (luaG_traceexec); without
** it the line may be an earlier one of the same function. A line hook
** would cost 2.5-3.5 times the count hook on tight loops, and would still
** miss the line a function returns to. */
static void out_of_memory(osc_sandbox *sb) {
  int level = 0;
  if (sb->L) sb->mem_line = line_from(sb, sb->L, &level);
  if (!sb->mem_line) sb->mem_line = sb->parse_line;
}

/* Allocation is work too (bytes / OSC_SANDBOX_BYTES_PER_INSN). After each
** MiB, or once that work is over the budget, the hook runs at the next
** instruction to look at both limits, so a loop of big copies overruns
** them by one copy at most. */
static void charge_growth(osc_sandbox *sb, size_t bytes) {
  if (sb->insn_limit <= 0) return;
  add_work(sb, (long long)(bytes / OSC_SANDBOX_BYTES_PER_INSN));
  sb->grown += bytes;
  if ((sb->grown >= CHECK_AFTER_BYTES || sb->insns > sb->insn_limit) && sb->L && sb->hooked &&
      !sb->hook_soon && !sb->limit_hit) {
    sb->hook_soon = 1;
    lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, 1);   /* signal-safe by design */
  }
}

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
    out_of_memory(sb);
    return NULL;
  }
  if (!(p = realloc(ptr, nsize))) {
    out_of_memory(sb);
    return NULL;
  }
  sb->mem_used = sb->mem_used - old + nsize;
  if (nsize > old) charge_growth(sb, nsize - old);
  return p;
}

/* ---- messages ----------------------------------------------------------------- */

static void amount(char *buf, size_t n, long long v, int bytes) {
  if (bytes && v % (1 << 20) == 0) snprintf(buf, n, "%lld MiB", v >> 20);
  else if (bytes && v % (1 << 10) == 0) snprintf(buf, n, "%lld KiB", v >> 10);
  else if (bytes) snprintf(buf, n, "%lld bytes", v);
  else if (v % 1000000 == 0) snprintf(buf, n, "%lld million", v / 1000000);
  else snprintf(buf, n, "%lld", v);
}

static void duration(char *buf, size_t n, long long ns) {
  if (ns >= 1000000000LL) snprintf(buf, n, "%g s", (double)ns / 1e9);
  else snprintf(buf, n, "%g ms", (double)ns / 1e6);
}

/* "file:line: " or "file: ", then the message, into buf: the position
** first, in a buffer as large as an osc_error's, so a long path keeps its
** ":line:" (a config path may be hundreds of characters long). */
static void placed(const osc_sandbox *sb, int line, char *buf, size_t n, const char *fmt, ...)
    OSC_PRINTF(5, 6);
static void placed(const osc_sandbox *sb, int line, char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  int k = line > 0 ? snprintf(buf, n, "%s:%d: ", sb->file, line) : snprintf(buf, n, "%s: ", sb->file);
  if (k < 0 || (size_t)k >= n) return;
  va_start(ap, fmt);
  vsnprintf(buf + k, n - (size_t)k, fmt, ap);
  va_end(ap);
}

/* The line a limit message gives: the main chunk's, or, while the main
** chunk is still being parsed, the line the parser has reached. */
static int limit_line(const osc_sandbox *sb, lua_State *L) {
  int line = osc_sandbox_line(L, 0);
  return line ? line : sb->parse_line;
}

/* ---- work and time ------------------------------------------------------------ */

/* Raise the limit error; from now on every instruction raises it again, so
** a pcall in the script cannot swallow the limit and carry on. */
static void raise_limit(lua_State *L, osc_sandbox *sb) {
  if (!sb->limit_hit) {
    sb->limit_hit = 1;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  }
  lua_pushstring(L, sb->limit_msg);
  lua_error(L);
}

/* what: NULL for the budget running out, else the one piece of work, of
** `steps` instructions, that alone is more than the whole budget. */
static void over_work(lua_State *L, osc_sandbox *sb, const char *what, long long steps) {
  char n[64];
  if (!sb->limit_hit) {
    amount(n, sizeof n, sb->insn_limit, 0);
    if (what)
      placed(sb, limit_line(sb, L), sb->limit_msg, sizeof sb->limit_msg,
             "%s would take %lld steps, more than a config may do (%s instructions)", what,
             steps, n);
    else
      placed(sb, limit_line(sb, L), sb->limit_msg, sizeof sb->limit_msg,
             "config ran for more than %s instructions (an endless loop?)", n);
  }
  raise_limit(L, sb);
}

static void over_time(lua_State *L, osc_sandbox *sb) {
  char t[64];
  if (!sb->limit_hit) {
    duration(t, sizeof t, sb->time_limit);
    if (sb->parse_line)
      placed(sb, sb->parse_line, sb->limit_msg, sizeof sb->limit_msg,
             "parsing the config took more than %s of CPU time (a source Lua compiles "
             "slowly, like a long 'a or a or ...')", t);
    else
      placed(sb, limit_line(sb, L), sb->limit_msg, sizeof sb->limit_msg,
             "config ran for more than %s of CPU time (an endless loop?)", t);
  }
  raise_limit(L, sb);
}

/* The script's CPU time: the thread's, less the host functions' time. The
** thread clock is a system call, so it is read only once the cheap wall
** clock says the limit may be near: CPU time never grows faster than wall
** time. (Host time is measured on the wall clock, which can only make the
** script's share look smaller.) */
static int out_of_time(osc_sandbox *sb) {
  long long wall = clock_ns(CLOCK_MONOTONIC) - sb->wall_start - sb->host_ns, used;
  if (wall < sb->next_cpu_check) return 0;
  used = clock_ns(CLOCK_THREAD_CPUTIME_ID) - sb->cpu_start - sb->host_ns;
  if (used > sb->time_limit) return 1;
  sb->next_cpu_check = wall + (sb->time_limit - used);
  return 0;
}

static void count_hook(lua_State *L, lua_Debug *ar) {
  osc_sandbox *sb = osc_sandbox_of(L);
  (void)ar;
  if (sb->limit_hit) raise_limit(L, sb);
  if (sb->hook_soon) {   /* called early for an allocation, which paid for it */
    sb->hook_soon = 0;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, sb->hook_every);
  } else {
    add_work(sb, sb->hook_every);
  }
  sb->grown = 0;
  if (sb->insns > sb->insn_limit) over_work(L, sb, NULL, 0);
  if (sb->time_limit > 0 && out_of_time(sb)) over_time(L, sb);
}

/* Charges also look at the clock: a C function that charges as it goes
** (a sort's compares) runs no VM instruction, so the hook cannot. */
void osc_sandbox_charge(lua_State *L, long long n, const char *what) {
  osc_sandbox *sb = osc_sandbox_of(L);
  if (sb->insn_limit <= 0 || n <= 0) return;
  if (sb->limit_hit) raise_limit(L, sb);
  if (n > sb->insn_limit - sb->insns)
    over_work(L, sb, n > sb->insn_limit ? what : NULL, n);
  add_work(sb, n);
  if (sb->time_limit > 0 && out_of_time(sb)) over_time(L, sb);
}

/* ---- parsing in slices -------------------------------------------------------- */

typedef struct slicer {
  const char *p;   /* what is left of the current piece */
  size_t left;
  int reader;      /* stack index of load's reader function, or 0 */
  int anchor;      /* stack index keeping the reader's current piece alive */
  int main;        /* the main chunk: count its lines for the messages */
  int lines;       /* newlines given to the parser so far */
  int done;
} slicer;

/* The next piece from load's reader function, as lbaselib's generic_reader. */
static void next_piece(lua_State *L, slicer *s) {
  luaL_checkstack(L, 2, "too many nested functions");
  lua_pushvalue(L, s->reader);
  lua_call(L, 0, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    s->done = 1;
    return;
  }
  if (!lua_isstring(L, -1)) luaL_error(L, "reader function must return a string");
  lua_replace(L, s->anchor);
  s->p = lua_tolstring(L, s->anchor, &s->left);
  if (s->left == 0) s->done = 1;
}

static const char *slice_reader(lua_State *L, void *ud, size_t *size) {
  slicer *s = ud;
  const char *out;
  size_t n;
  *size = 0;
  if (s->left == 0 && s->reader && !s->done) next_piece(L, s);
  if (s->left == 0) return NULL;
  out = s->p;
  n = s->left < OSC_SANDBOX_PARSE_SLICE ? s->left : OSC_SANDBOX_PARSE_SLICE;
  if (s->main) {   /* a line at a time, so the parser is on the line of the last slice */
    const char *nl = memchr(out, '\n', n);
    if (nl) n = (size_t)(nl - out) + 1;
    osc_sandbox_of(L)->parse_line = s->lines + 1;
    s->lines += nl != NULL;
  }
  osc_sandbox_charge(L, (long long)(n / OSC_SANDBOX_BYTES_PER_INSN) + 1, "parsing");
  s->p += n;
  s->left -= n;
  *size = n;
  return out;
}

int osc_sandbox_load(lua_State *L, const char *src, size_t len, int reader,
                     const char *chunkname, int main) {
  slicer s = {src, src ? len : 0, 0, 0, main, 0, 0};
  int status;
  if (!src) {
    s.reader = lua_absindex(L, reader);
    lua_pushnil(L);   /* the anchor */
    s.anchor = lua_gettop(L);
  }
  if (main) osc_sandbox_of(L)->parse_line = 1;
  status = lua_load(L, slice_reader, &s, chunkname, "t");
  if (main) osc_sandbox_of(L)->parse_line = 0;
  if (!src) lua_remove(L, s.anchor);
  return status;
}

long long osc_sandbox_host_enter(lua_State *L) {
  return osc_sandbox_of(L)->time_limit > 0 ? clock_ns(CLOCK_MONOTONIC) : 0;
}

void osc_sandbox_host_leave(lua_State *L, long long entered) {
  osc_sandbox *sb = osc_sandbox_of(L);
  if (sb->time_limit > 0) sb->host_ns += clock_ns(CLOCK_MONOTONIC) - entered;
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
  if (!line) line = sb->parse_line;   /* the parser's "C stack overflow" */
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
  osc_sandbox_open_libs(L, sb->sandboxed);
  a->setup(L, a->ud);
  a->load_status = osc_sandbox_load(L, a->src, a->len, 0, sb->chunkname, 1);
  if (a->load_status != LUA_OK) return lua_error(L);
  if (sb->insn_limit > 0) {
    lua_sethook(L, count_hook, LUA_MASKCOUNT, sb->hook_every);
    sb->hooked = 1;
  }
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
  char n[64];
  if (sb->limit_hit) return osc_error_set(err, OSC_ELIMIT, "%s", sb->limit_msg);
  /* LUA_ERRERR: the message handler itself ran out of memory */
  if (status == LUA_ERRMEM || a->load_status == LUA_ERRMEM ||
      (status == LUA_ERRERR && sb->mem_refused)) {
    err->code = sb->mem_refused ? OSC_ELIMIT : OSC_ENOMEM;
    amount(n, sizeof n, (long long)sb->mem_limit, 1);
    if (!sb->mem_refused) placed(sb, sb->mem_line, err->msg, sizeof err->msg, "out of memory");
    else placed(sb, sb->mem_line, err->msg, sizeof err->msg, "config used more than %s of memory", n);
    return err->code;
  }
  if (!msg) return osc_error_set(err, OSC_ECONFIG, "%s: config failed", sb->file);
  copy_message(sb, msg, err, OSC_ECONFIG);
  return OSC_ECONFIG;
}

long long osc_sandbox_time_limit(long long insn_limit) {
  return insn_limit <= 0                                ? 0
         : insn_limit > LLONG_MAX / NS_PER_INSN         ? 0
         : insn_limit * NS_PER_INSN > MIN_TIME_NS ? insn_limit * NS_PER_INSN
                                                  : MIN_TIME_NS;
}

static void reset(osc_sandbox *sb) {
  sb->L = NULL;
  sb->mem_used = 0;
  sb->mem_refused = sb->mem_line = sb->hooked = sb->hook_soon = 0;
  sb->limit_hit = sb->finished = 0;
  sb->insns = 0;
  sb->grown = 0;
  sb->hook_every = sb->insn_limit > 0 && sb->insn_limit < HOOK_EVERY ? (int)sb->insn_limit
                                                                     : HOOK_EVERY;
  sb->time_limit = osc_sandbox_time_limit(sb->insn_limit);
  sb->host_ns = 0;
  sb->next_cpu_check = sb->time_limit;
  sb->wall_start = clock_ns(CLOCK_MONOTONIC);
  sb->cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

osc_status osc_sandbox_run(osc_sandbox *sb, const char *src, size_t len,
                           osc_sandbox_setup setup, void *ud, osc_error *err) {
  run_args a = {src, len, setup, ud, LUA_OK};
  size_t flen = strlen(sb->file);
  osc_status s = OSC_OK;
  lua_State *L;
  int status;
  reset(sb);
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
  sb->L = L;
  /* neither push allocates, so nothing here can fail unprotected */
  lua_pushcfunction(L, message_handler);
  lua_pushcfunction(L, protected_run);
  lua_pushlightuserdata(L, &a);
  status = lua_pcall(L, 1, 0, 1);
  if (status != LUA_OK) s = failure(sb, L, status, &a, err);
  sb->L = NULL;
  lua_close(L);
  free(sb->chunkname);
  sb->chunkname = NULL;
  return s;
}

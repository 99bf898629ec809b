/*
** oscjit.c -- libtcc, used the careful way: one lock, our own pages, W^X,
** errors routed into osc_error with the generated source's line.
*/
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include "oscjit.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oscerr.h"
#include "oscfault.h"
#include "osctcc.h"

/* No libc: a kernel links only against what we hand it below, so a stray
** call (printf, malloc) is a link error, not a surprise at run time. */
#define JIT_FLAGS "-nostdlib -w"

static pthread_mutex_t tcc_lock = PTHREAD_MUTEX_INITIALIZER;

/* What tcc_relocate asked to make executable, recorded by osc_jit_mprotect
** during our call (page-aligned ranges). Past MAX_EXEC ranges the last one
** grows to cover the rest: more executable than asked, never writable. */
#define MAX_EXEC 8
typedef struct exec_ranges {
  int relocating;   /* 1 inside our tcc_relocate call */
  int n;
  uintptr_t lo[MAX_EXEC], hi[MAX_EXEC];
} exec_ranges;
static _Thread_local exec_ranges exec;

/* libtcc's references to libc's stdout, stderr and environ are renamed to
** these at build time (see the Makefile: Debian's libtcc.a is PIE, and a
** shared object cannot take those references as they are). Hidden, so they
** bind inside our own object; filled under the lock before libtcc runs. */
#define HIDDEN __attribute__((visibility("hidden")))
extern HIDDEN FILE *osc_tcc_stdout, *osc_tcc_stderr;
extern HIDDEN char **osc_tcc_environ;
FILE *osc_tcc_stdout, *osc_tcc_stderr;
char **osc_tcc_environ;
extern char **environ;

void osc_jit_lock(void) {
  pthread_mutex_lock(&tcc_lock);
  osc_tcc_stdout = stdout;
  osc_tcc_stderr = stderr;
  osc_tcc_environ = environ;
}

void osc_jit_unlock(void) { pthread_mutex_unlock(&tcc_lock); }
const char *osc_jit_flags(void) { return JIT_FLAGS; }

static void note_exec(uintptr_t lo, uintptr_t hi) {
  if (exec.n == MAX_EXEC) {
    int last = MAX_EXEC - 1;
    if (lo < exec.lo[last]) exec.lo[last] = lo;
    if (hi > exec.hi[last]) exec.hi[last] = hi;
    return;
  }
  exec.lo[exec.n] = lo;
  exec.hi[exec.n] = hi;
  exec.n++;
}

int osc_jit_mprotect(void *addr, size_t len, int prot) {
  if ((prot & PROT_WRITE) && (prot & PROT_EXEC)) {
    if (!exec.relocating) {
      errno = EACCES;   /* write+execute is never granted */
      return -1;
    }
    note_exec((uintptr_t)addr, (uintptr_t)addr + len);
    prot &= ~PROT_EXEC;   /* we switch to read+execute once relocated */
  }
  return mprotect(addr, len, prot);
}

/* ---- the runtime directory -------------------------------------------------- */

/* Kernels are compiled -nostdlib and include nothing: of libtcc's runtime
** directory they need libtcc1.a alone (linked into every kernel). */
static int has_file(const char *dir, const char *name) {
  char path[4096];
  struct stat st;
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return 0;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

osc_status osc_jit_lib_path(const char *path, const char **out, osc_error *err) {
  const char *from = "osc_kernel_options.tcc_lib_path";
  if (!path || !*path) {
    path = getenv("OSCONV_TCC_LIB_PATH");
    from = "OSCONV_TCC_LIB_PATH";
  }
  if (!path || !*path) {
    path = OSC_TCC_DEBIAN_LIB_PATH;
    from = "the default";
  }
  if (!has_file(path, "libtcc1.a"))
    return osc_error_set(err, OSC_EJIT,
                         "libtcc's runtime directory '%s' (%s) has no libtcc1.a: point "
                         "OSCONV_TCC_LIB_PATH at the directory holding it (Debian's tcc "
                         "package puts it in %s)",
                         path, from, OSC_TCC_DEBIAN_LIB_PATH);
  *out = path;
  return OSC_OK;
}

/* ---- messages ------------------------------------------------------------------ */

typedef struct jit_log {
  char first[512];   /* the first error libtcc reported */
  int errors;
} jit_log;

static void on_message(void *opaque, const char *msg) {
  jit_log *log = opaque;
  if (strstr(msg, "warning:")) return;
  if (log->errors++ == 0) snprintf(log->first, sizeof log->first, "%s", msg);
}

/* Line `line` (1-based) of `source`, at most `size - 1` characters of it. */
static void source_line(const char *source, int line, char *buf, size_t size) {
  const char *p = source, *end;
  size_t n;
  for (int i = 1; i < line && p; i++) {
    p = strchr(p, '\n');
    if (p) p++;
  }
  buf[0] = '\0';
  if (!p) return;
  while (*p == ' ' || *p == '\t') p++;
  end = strchr(p, '\n');
  n = end ? (size_t)(end - p) : strlen(p);
  if (n >= size) n = size - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
}

static osc_status jit_fail(osc_error *err, const char *stage, const jit_log *log,
                           const char *source) {
  const char *at = strstr(log->first, "<string>:");
  char text[160] = "";
  int line = 0;
  if (at && sscanf(at, "<string>:%d:", &line) == 1 && line > 0)
    source_line(source, line, text, sizeof text);
  return osc_error_set(err, OSC_EJIT, "jit: %s failed: %s%s%s%s", stage,
                       log->errors ? log->first : "(libtcc said nothing)",
                       text[0] ? " (the line reads: " : "", text, text[0] ? ")" : "");
}

/* ---- compiling ------------------------------------------------------------------ */

/* All a kernel may call. Keep it small: each entry is a promise. */
static const struct { const char *name; const void *addr; } jit_symbols[] = {
    {"memset", (const void *)memset},   {"memcpy", (const void *)memcpy},
    {"memmove", (const void *)memmove}, {"fabsf", (const void *)fabsf},
    {"fmaxf", (const void *)fmaxf},     {"fminf", (const void *)fminf},
    {"sqrtf", (const void *)sqrtf},     {"expf", (const void *)expf},
    {"tanhf", (const void *)tanhf},     {"floorf", (const void *)floorf},
};

static osc_status link_runtime(TCCState *s, const char *lib_path, jit_log *log,
                               const char *source, osc_error *err) {
  char lib[4096];
  if ((size_t)snprintf(lib, sizeof lib, "%s/libtcc1.a", lib_path) >= sizeof lib)
    return osc_error_set(err, OSC_EJIT, "jit: libtcc's runtime directory path is too long");
  if (tcc_add_file(s, lib) < 0) return jit_fail(err, "loading libtcc1.a", log, source);
  for (size_t i = 0; i < sizeof jit_symbols / sizeof jit_symbols[0]; i++)
    tcc_add_symbol(s, jit_symbols[i].name, jit_symbols[i].addr);
  return OSC_OK;
}

static int executable(uintptr_t addr) {
  for (int i = 0; i < exec.n; i++)
    if (addr >= exec.lo[i] && addr < exec.hi[i]) return 1;
  return 0;
}

/* The mapping read-only, then the pages libtcc asked to execute (its text
** sections) read+execute: the data after them stays read-only. */
static osc_status protect_code(const osc_jit_code *code, const char *symbol,
                               osc_error *err) {
  uintptr_t lo = (uintptr_t)code->mem, hi = lo + code->size;
  if (exec.n == 0)
    return osc_error_set(err, OSC_EJIT,
                         "jit: libtcc made its code executable without going through "
                         "osconv (the libtcc linked in is not osconv's renamed copy, so "
                         "its pages may have been writable and executable at once); the "
                         "code is refused: link libosconv as built, not a foreign libtcc "
                         "in its place");
  for (int i = 0; i < exec.n; i++)
    if (exec.lo[i] < lo || exec.hi[i] > hi)
      return osc_error_set(err, OSC_EJIT,
                           "jit: libtcc asked to execute memory outside the code's pages");
  if (!executable((uintptr_t)code->entry))
    return osc_error_set(err, OSC_EJIT, "jit: '%s' is not a function", symbol);
  if (mprotect(code->mem, code->size, PROT_READ) != 0)
    return osc_error_set(err, OSC_EJIT, "jit: cannot make the code read-only");
  for (int i = 0; i < exec.n; i++)
    if (mprotect((void *)exec.lo[i], exec.hi[i] - exec.lo[i], PROT_READ | PROT_EXEC) != 0)
      return osc_error_set(err, OSC_EJIT, "jit: cannot make the code executable "
                           "(mprotect refused read+execute; a W^X policy?)");
  return OSC_OK;
}

/* <prefix>_tiles and <prefix>_run_tiles beside an entry <prefix>_n, kept
** only where both are functions of the code: a source without them (an
** older one, or another entry) runs whole. */
static void tile_symbols(TCCState *s, const char *symbol, osc_jit_code *code) {
  char name[256];
  size_t len = strlen(symbol);
  if (len < 2 || len + 16 > sizeof name || strcmp(symbol + len - 2, "_n") != 0) return;
  snprintf(name, sizeof name, "%.*s_tiles", (int)(len - 2), symbol);
  code->tiles = tcc_get_symbol(s, name);
  snprintf(name, sizeof name, "%.*s_run_tiles", (int)(len - 2), symbol);
  code->run_tiles = tcc_get_symbol(s, name);
  if (!code->tiles || !code->run_tiles || !executable((uintptr_t)code->tiles) ||
      !executable((uintptr_t)code->run_tiles))
    code->tiles = code->run_tiles = NULL;
  snprintf(name, sizeof name, "%.*s_pack", (int)(len - 2), symbol);
  code->pack = tcc_get_symbol(s, name);
  if (code->pack && !executable((uintptr_t)code->pack)) code->pack = NULL;
}

/* Relocate the compiled state into fresh pages of ours, read+write meanwhile. */
static osc_status place_code(TCCState *s, const char *symbol, jit_log *log,
                             const char *source, osc_jit_code *code, osc_error *err) {
  long page = sysconf(_SC_PAGESIZE);
  int need = tcc_relocate(s, NULL), r;
  if (need < 0) return jit_fail(err, "linking", log, source);
  code->size = ((size_t)need + (size_t)page - 1) / (size_t)page * (size_t)page;
  if (code->size == 0) code->size = (size_t)page;
  code->mem = osc_rt_fault() ? MAP_FAILED
                             : mmap(NULL, code->size, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code->mem == MAP_FAILED) {
    code->mem = NULL;
    return osc_error_set(err, OSC_ENOMEM, "jit: cannot map %zu bytes for the code",
                         code->size);
  }
  exec.n = 0;
  exec.relocating = 1;
  r = tcc_relocate(s, code->mem);
  exec.relocating = 0;
  if (r < 0) return jit_fail(err, "relocating", log, source);
  code->entry = tcc_get_symbol(s, symbol);
  if (!code->entry)
    return osc_error_set(err, OSC_EJIT, "jit: the source defines no function '%s'", symbol);
  tile_symbols(s, symbol, code);
  return protect_code(code, symbol, err);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

osc_status osc_jit_compile_locked(const char *source, const char *symbol,
                                  const char *lib_path, osc_jit_code **out,
                                  osc_error *err) {
  jit_log log = {{0}, 0};
  osc_jit_code *code = osc_rt_calloc(1, sizeof *code);
  TCCState *s;
  osc_status st = OSC_OK;
  double t0 = now_ms();
  *out = NULL;
  if (!code) return osc_error_set(err, OSC_ENOMEM, "jit: out of memory");
  if (!(s = tcc_new())) {
    free(code);
    return osc_error_set(err, OSC_ENOMEM, "jit: libtcc could not start (out of memory)");
  }
  tcc_set_error_func(s, &log, on_message);
  tcc_set_lib_path(s, lib_path);
  tcc_set_options(s, JIT_FLAGS);
  tcc_set_output_type(s, TCC_OUTPUT_MEMORY);   /* before compiling: it sets up paths */
  if (tcc_compile_string(s, source) < 0)
    st = jit_fail(err, "compiling", &log, source);
  if (!st) st = link_runtime(s, lib_path, &log, source, err);
  if (!st) st = place_code(s, symbol, &log, source, code, err);
  tcc_delete(s);
  if (st) {
    osc_jit_code_free(code);
    return st;
  }
  code->compile_ms = now_ms() - t0;
  *out = code;
  return OSC_OK;
}

osc_status osc_jit_compile(const char *source, const char *symbol, const char *lib_path,
                           osc_jit_code **out, osc_error *err) {
  osc_status st;
  osc_jit_lock();
  st = osc_jit_compile_locked(source, symbol, lib_path, out, err);
  osc_jit_unlock();
  return st;
}

void osc_jit_code_free(osc_jit_code *c) {
  if (!c) return;
  if (c->mem) munmap(c->mem, c->size);
  free(c);
}

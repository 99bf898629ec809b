/*
** oscjit.h -- compiling one C translation unit in memory with libtcc.
** libtcc 0.9.27 keeps global state, so every use of it is serialized by one
** process-wide lock. Code lands in pages we map ourselves: read+write while
** libtcc copies and relocates, then read+execute where libtcc placed code
** and read-only elsewhere (its data); never write+execute (see
** osc_jit_mprotect).
*/
#ifndef OSCJIT_H
#define OSCJIT_H

#include <stddef.h>

#include "osconv.h"

#define OSC_TCC_DEBIAN_LIB_PATH "/usr/lib/x86_64-linux-gnu/tcc"

typedef struct osc_jit_code {
  void *mem;           /* our mapping: code read+execute, its data read-only */
  size_t size;         /* bytes mapped, whole pages */
  void *entry;         /* address of the requested symbol */
  void *tiles, *run_tiles;  /* when the symbol is <prefix>_n: <prefix>_tiles and
                            ** <prefix>_run_tiles (the tile ABI), NULL if absent */
  void *pack;          /* <prefix>_pack: the code takes its weights packed; NULL if absent */
  double compile_ms;   /* compiling, linking, placing: not waiting for the lock */
} osc_jit_code;

/* The directory libtcc needs (for libtcc1.a; kernels include no headers):
** `path` if not NULL, else $OSCONV_TCC_LIB_PATH, else the Debian path.
** Checks that it holds libtcc1.a. *out points at `path`, the environment
** or a constant. */
osc_status osc_jit_lib_path(const char *path, const char **out, osc_error *err);

/* The compiler options in force: part of every cache key. */
const char *osc_jit_flags(void);

/* Compile `source`, link it (against libtcc1.a in lib_path and the libc /
** libm functions generated kernels may call, nothing else) and return the
** mapping with the address of `symbol` (and of the tile ABI's two
** functions beside a <prefix>_n, where the source has them). Messages carry libtcc's
** "<string>:LINE: error: ..." plus the offending source line. */
osc_status osc_jit_compile(const char *source, const char *symbol, const char *lib_path,
                           osc_jit_code **out, osc_error *err);
void osc_jit_code_free(osc_jit_code *c);

/* The lock osc_jit_compile takes, for callers that need more done under it
** (the cache's compile-once rule); compile with osc_jit_compile_locked then. */
void osc_jit_lock(void);
void osc_jit_unlock(void);
osc_status osc_jit_compile_locked(const char *source, const char *symbol,
                                  const char *lib_path, osc_jit_code **out,
                                  osc_error *err);

/* libtcc's own calls to mprotect are renamed to this one at build time
** (objcopy --redefine-sym, see the Makefile); nobody else calls it. While
** we relocate, tcc_relocate's request for read+write+execute on its text is
** narrowed to read+write and the range noted: afterwards exactly those pages
** become read+execute, the rest read-only. If no request came, the libtcc
** linked in is not the renamed copy and the compile fails. A write+execute
** request outside our relocation is refused (EACCES). */
int osc_jit_mprotect(void *addr, size_t len, int prot);

#endif

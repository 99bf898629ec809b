/*
** osccache.h -- the process-wide kernel cache: compiled code keyed by a hash
** of what determines it (the source, the backend, the compiler flags, the
** libtcc1.a linked in), so
** the same plan asked for twice compiles once. Bounded (entries and code
** bytes, least recently used goes first); entries are refcounted, so an
** evicted entry a kernel still holds stays valid until that kernel is freed.
*/
#ifndef OSCCACHE_H
#define OSCCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "oscjit.h"
#include "osconv.h"

typedef struct osc_key {
  uint64_t hi, lo;   /* XXH3 128-bit */
} osc_key;

/* The key of a kernel: XXH3-128 over the source, the entry symbol, the
** backend, the flags and, for the JIT, libtcc's runtime directory (its
** libtcc1.a is linked into the code); lib_path NULL for an AOT build. */
osc_key osc_kernel_key(const char *source, const char *symbol, osc_backend backend,
                       const char *flags, const char *lib_path);
/* "0123...": 32 hex digits, for messages and file names; buf >= 33 bytes. */
void osc_key_hex(const osc_key *k, char *buf);

typedef struct osc_code osc_code;   /* compiled code, refcounted */

void *osc_code_entry(const osc_code *c);
void *osc_code_tiles(const osc_code *c);       /* the tile ABI (oscjit.h), or NULL */
void *osc_code_run_tiles(const osc_code *c);
void *osc_code_pack(const osc_code *c);        /* <prefix>_pack, or NULL (oscjit.h) */
size_t osc_code_size(const osc_code *c);
double osc_code_compile_ms(const osc_code *c);   /* how long libtcc took for it */
void osc_code_release(osc_code *c);

/* The code for `key`: from the cache (*hit = 1), or compiled from `source`
** (*hit = 0) and, if use_cache, inserted. Several threads asking for the same
** key at once compile it once. Failed compiles are not cached. */
osc_status osc_cache_get(const osc_key *key, int use_cache, const char *source,
                         const char *symbol, const char *lib_path, osc_code **out,
                         int *hit, osc_error *err);

/* The cached code for `key`, or NULL (a hit is counted; a miss is not). */
osc_code *osc_cache_lookup(const osc_key *key);

/* Which key a plan's source hashed to with libtcc's runtime directory
** `lib_path`, remembered so that a cache hit need not emit the source
** again. A plan is recognised by everything the emitter reads from it
** (mode, bias, activation, groups, every stage), the ISA and the code
** variant's canonical name (gen/oscvariant.h). 1 if known. */
int osc_cache_plan_key(const osc_plan *p, const char *lib_path, int isa, const char *code,
                       osc_key *key);
void osc_cache_note_plan(const osc_plan *p, const char *lib_path, int isa, const char *code,
                         const osc_key *key);

/* Kernels the cache may hold: 256, or OSCONV_CACHE_CAPACITY (0: the cache
** is off), or what osc_cache_set_limits set. */
size_t osc_cache_capacity(void);

/* Test hook: bounds of the cache (0 = the default: 256 entries, 64 MiB).
** Shrinking evicts at once. */
void osc_cache_set_limits(size_t max_entries, size_t max_bytes);

#endif

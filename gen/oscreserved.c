/*
** oscreserved.c -- generated names that C or POSIX reserve (the rules:
** C11 7.1.3 and 7.31, POSIX.1-2017 XSH 2.2.2 "The Name Space").
**
** Refused: names beginning with '_' (C reserves them at file scope, where
** the generated functions are; '__' and '_' + capital everywhere); names
** containing '__' (C++ reserves them, and the header has extern "C"); names
** ending in _t (POSIX reserves them for types: network `size` with layer
** `t` would define size_t); C keywords and standard library names that a
** generated function can spell (static_assert, aligned_alloc, jmp_buf ...);
** network names that are a reserved prefix word (pthread, sig, posix ...),
** since every generated name starts with the network name and '_'.
**
** Not refused: the open-ended reservations that continue a prefix with a
** letter (functions is[a-z]*, to[a-z]*, str[a-z]*, mem[a-z]*, wcs[a-z]*;
** macros E[0-9A-Z]*, SIG[A-Z]*, PRI[a-zX]*): they would refuse ordinary
** names such as total, memory, edge or sigma, and no header defines such
** a name with our shape (a '_' after the network name, then the layer).
*/
#include "oscreserved.h"

#include <stdio.h>
#include <string.h>

/* Prefix words: <word>_ functions or types, <WORD>_ macros (XSH 2.2.2,
** and C's own for atomic, cnd, fe, lc, mtx, sig, thrd, time, tss, va). */
static const struct { const char *word, *header; } prefixes[] = {
    {"aio", "<aio.h>"},        {"lio", "<aio.h>"},           {"atomic", "<stdatomic.h>"},
    {"clock", "<time.h>"},     {"timer", "<time.h>"},        {"time", "<time.h>"},
    {"tm", "<time.h>"},        {"it", "<sys/time.h>"},       {"tv", "<sys/time.h>"},
    {"cnd", "<threads.h>"},    {"mtx", "<threads.h>"},       {"thrd", "<threads.h>"},
    {"tss", "<threads.h>"},    {"f", "<fcntl.h>"},           {"o", "<fcntl.h>"},
    {"fd", "<sys/select.h>"},  {"fe", "<fenv.h>"},           {"lc", "<locale.h>"},
    {"map", "<sys/mman.h>"},   {"mcl", "<sys/mman.h>"},      {"ms", "<sys/mman.h>"},
    {"prot", "<sys/mman.h>"},  {"shm", "<sys/mman.h>"},      {"mq", "<mqueue.h>"},
    {"posix", "POSIX"},        {"pthread", "<pthread.h>"},   {"s", "<sys/stat.h>"},
    {"st", "<sys/stat.h>"},    {"sched", "<sched.h>"},       {"sem", "<semaphore.h>"},
    {"sig", "<signal.h>"},     {"sa", "<signal.h>"},         {"si", "<signal.h>"},
    {"sigev", "<signal.h>"},   {"ss", "<signal.h>"},         {"sv", "<signal.h>"},
    {"bus", "<signal.h>"},     {"cld", "<signal.h>"},        {"fpe", "<signal.h>"},
    {"ill", "<signal.h>"},     {"poll", "<signal.h>"},       {"segv", "<signal.h>"},
    {"trap", "<signal.h>"},    {"va", "<stdarg.h>"},
};

/* Whole names with a '_' inside (others cannot be n_l or n_l_n). */
static const struct { const char *name, *why; } names[] = {
    {"static_assert", "a C23 keyword (a macro of C11's <assert.h>)"},
    {"thread_local", "a C23 keyword (a macro of C11's <threads.h>)"},
    {"typeof_unqual", "a C23 keyword"},
    {"aligned_alloc", "a function of <stdlib.h>"},
    {"quick_exit", "a function of <stdlib.h>"},
    {"at_quick_exit", "a function of <stdlib.h>"},
    {"call_once", "a function of <threads.h>"},
    {"once_flag", "a type of <threads.h>"},
    {"memory_order", "a type of <stdatomic.h>"},
    {"timespec_get", "a function of <time.h>"},
    {"timespec_getres", "a function of <time.h>"},
    {"jmp_buf", "a type of <setjmp.h>"},
    {"sigjmp_buf", "a type of <setjmp.h>"},
    {"nl_catd", "a type of <nl_types.h>"},
    {"nl_item", "a type of <langinfo.h>"},
    {"getopt_long", "a function of <getopt.h>"},
    {"getopt_long_only", "a function of <getopt.h>"},
    {"dl_iterate_phdr", "a function of <link.h>"},
    {"explicit_bzero", "a function of <string.h>"},
    {"malloc_usable_size", "a function of <malloc.h>"},
    {"get_nprocs", "a function of <sys/sysinfo.h>"},
    {"get_nprocs_conf", "a function of <sys/sysinfo.h>"},
};

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }
static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

static int same_folded(const char *a, const char *b) {
  for (; *a && lower((unsigned char)*a) == lower((unsigned char)*b); a++, b++) {}
  return *a == '\0' && *b == '\0';
}

int osc_reserved_network(const char *net, char *why, size_t size) {
  if (net[0] == '_') {
    snprintf(why, size, "names beginning with '_' are reserved at file scope, where the "
             "generated functions are (C11 7.1.3)");
    return 1;
  }
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (same_folded(net, prefixes[i].word)) {
      char up[16];
      size_t k = 0;
      for (; prefixes[i].word[k] && k + 1 < sizeof up; k++)
        up[k] = (char)upper((unsigned char)prefixes[i].word[k]);
      up[k] = '\0';
      snprintf(why, size, "every generated name would begin with %s_ or %s_, which %s reserves",
               prefixes[i].word, up, prefixes[i].header);
      return 1;
    }
  return 0;
}

const char *osc_reserved_symbol(const char *sym) {
  size_t n = strlen(sym);
  if (strstr(sym, "__"))
    return "C++ reserves names containing __, and the generated header is for C++ too";
  if (n >= 2 && !strcmp(sym + n - 2, "_t"))
    return "POSIX reserves names ending in _t for types (size_t, pid_t, ...)";
  if (!strncmp(sym, "memory_order_", 13)) return "a constant of <stdatomic.h>";
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(sym, names[i].name)) return names[i].why;
  return NULL;
}

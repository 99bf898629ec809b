/*
** fuzz.h -- what the libFuzzer targets of tests/fuzz/ share: the entry
** point, a check that aborts (so libFuzzer records the input as a crash),
** and the sandbox limits the config targets run under.
*/
#ifndef OSC_FUZZ_H
#define OSC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sanitizer/common_interface_defs.h>
#include <string.h>

#include "osconv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken property is a finding like a crash: say which and abort. The
** sanitizers' report channel carries it, since make test-fuzz closes the
** targets' stderr (-close_fd_mask=2: configs may print). */
static inline void fuzz_fail(const char *where, const char *what, const char *detail) {
  char msg[1200];
  snprintf(msg, sizeof msg, "%s: fuzz check failed: %s%s%s", where, what, detail ? ": " : "",
           detail ? detail : "");
  __sanitizer_report_error_summary(msg);
  abort();
}

#define FUZZ_STR_(x) #x
#define FUZZ_STR(x) FUZZ_STR_(x)
#define FUZZ_WHERE __FILE__ ":" FUZZ_STR(__LINE__)
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(FUZZ_WHERE, #cond, NULL))

/* Every error message names the input first ("name:" or "name:line:"). */
#define FUZZ_CHECK_MESSAGE(err, name)                             \
  (strncmp((err)->msg, name ":", sizeof name) == 0                \
       ? (void)0                                                  \
       : fuzz_fail(FUZZ_WHERE, "message starts " name ":", (err)->msg))

/* Configs run sandboxed (never --unsandboxed: a config could then call
** os.execute), with caps far below the defaults so that an endless loop
** costs 0.1 s of CPU (the floor of the time cap) rather than 10 s, and each
** input stays cheap. The targets' -timeout (Makefile) is well above that,
** so only a config the sandbox fails to stop times out. */
#define FUZZ_CONFIG_MEMORY ((size_t)16 << 20)
#define FUZZ_CONFIG_INSTRUCTIONS 1000000LL

static inline osc_config_options fuzz_config_options(void) {
  osc_config_options o = {.memory_limit = FUZZ_CONFIG_MEMORY,
                          .instruction_limit = FUZZ_CONFIG_INSTRUCTIONS};   /* sandboxed */
  return o;
}

#endif

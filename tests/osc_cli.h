/*
** osc_cli.h -- running the built osconv binary from tests, as a user would.
** `make test` names it in OSCONV_CLI; without it the CLI tests say they are
** skipped (running the test binary by hand).
*/
#ifndef OSC_CLI_H
#define OSC_CLI_H

#include <stddef.h>

/* The binary, or NULL after printing a "skipping" note. */
const char *osc_test_cli_path(void);

/* Run `PREFIX $OSCONV_CLI ARGS` through the shell (prefix: environment
** settings, may be ""). Its stdout and stderr go to *out and *err (malloc'd,
** NUL-terminated; pass NULL for a stream you do not want). Returns the exit
** status, or -1 if the command could not be run. */
int osc_test_cli(const char *prefix, const char *args, char **out, char **err);

/* A whole file, NUL-terminated (caller frees); *len gets its size if non-NULL. */
char *osc_test_slurp(const char *path, size_t *len);

/* The names in dir but . and .., sorted, joined by spaces (the first 128;
** "(no dir)" if it cannot be read). */
void osc_test_list_dir(const char *dir, char *buf, size_t size);

#endif

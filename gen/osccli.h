/*
** osccli.h -- the subcommands of the osconv CLI, one file each (cmd_*.c).
*/
#ifndef OSCCLI_H
#define OSCCLI_H

typedef struct osc_command {
  const char *name;
  const char *usage;     /* arguments, for the help text */
  const char *summary;
  int (*main)(int argc, char **argv);   /* argv[0] is the subcommand */
} osc_command;

int osc_cmd_check(int argc, char **argv);
int osc_cmd_plan(int argc, char **argv);
int osc_cmd_gen(int argc, char **argv);
int osc_cmd_exec(int argc, char **argv);
int osc_cmd_run(int argc, char **argv);

/* Print "osconv: message" to stderr; returns the exit status 1 (or 2 for usage). */
int osc_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int osc_cli_usage(const char *command);

#endif

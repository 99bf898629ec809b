/*
** osccli.h -- the subcommands of the osconv CLI, one file each (cmd_*.c).
*/
#ifndef OSCCLI_H
#define OSCCLI_H

#include "osconv.h"

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
int osc_cmd_export(int argc, char **argv);
int osc_cmd_script(int argc, char **argv);

/* Print "osconv: message" to stderr; returns the exit status 1 (or 2 for usage). */
int osc_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int osc_cli_usage(const char *command);

/* One option of a subcommand, for osc_cli_parse: its long name, its short
** letter (0: none), and where it goes: `flag` set to 1 (no argument), or
** `value` pointed at its argument. A table ends with a NULL name. */
typedef struct osc_cli_opt {
  const char *name;
  int letter;
  int *flag;
  const char **value;
} osc_cli_opt;

/* getopt_long over a subcommand's argv (argv[0] is its name): --name VALUE,
** --name=VALUE, -o VALUE, options before or after CONFIG, `--` ends them.
** Exactly one argument that is not an option goes to *config. Returns 0,
** or 2 after printing "osconv CMD: what is wrong" and the usage line. */
int osc_cli_parse(int argc, char **argv, const osc_cli_opt *opts, const char **config);

/* Shared steps (cmd_shared.c). osc_plan_layer_mode through the process's
** planner (oscplanner.h): identical layers plan once, and all planning of
** the command shares one CPU-time budget, OSCONV_PLAN_SECONDS or 10 s. */
osc_status osc_cli_plan(const osc_layer *l, osc_mode mode, osc_plan *out, osc_error *err);
/*  Plan every layer of `net` and check the
** plans and names (osc_emit_check_network); *plans (caller frees) is NULL
** on error. `check` and `gen` both go through it, after
** osc_emit_check_config, so they refuse the same configs. */
osc_status osc_cli_plan_network(const osc_network *net, osc_plan **plans, osc_error *err);
/* --tuning FILE (plan, gen, run): load the database for the process; NULL
** path does nothing. Then osc_cli_plan_chosen plans a layer by its record
** where one applies, and prints on stderr, per layer, whether a record was
** used, absent, or rejected (another machine, version or compiler). */
osc_status osc_cli_tuning_open(const char *path, osc_error *err);
void osc_cli_tuning_close(void);
/* --rigor estimate|measure and --budget SECONDS (per layer, default 0.5)
** for plan and gen: NULL strings keep the default (estimate). Returns 0, or
** 2 after printing what is wrong and the usage line. */
int osc_cli_rigor(const char *cmd, const char *rigor, const char *budget);
/* The plan of l: its tuning record's (--tuning) if one applies, else
** measured (--rigor measure, said on stderr), else in its own mode. */
osc_status osc_cli_plan_chosen(const osc_layer *l, osc_plan *out, osc_error *err);
/* The same, and a used record's variant (ISA, threads) into *ko, for the
** kernel `run` makes (osc_tuning_lookup_options). */
osc_status osc_cli_plan_chosen_options(const osc_layer *l, osc_plan *out,
                                       osc_kernel_options *ko, osc_error *err);

/* The layer NAME ("layer" or "net.layer") names, or NULL after printing
** why: no such layer, or a bare name that several networks use. */
const osc_layer *osc_cli_find_layer(const osc_config *cfg, const char *name);

#endif

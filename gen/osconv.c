/*
** osconv.c -- the CLI: dispatch to one subcommand.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "osccli.h"
#include "osconv.h"

static const osc_command commands[] = {
    {"check", "CONFIG [--unsandboxed]",
     "validate a config: run it, check every layer, plan it", osc_cmd_check},
    {"plan", "CONFIG [--json | --table | --csv] [--explain LAYER] [--tuning FILE] "
             "[--rigor estimate|measure] [--budget SECONDS] [--unsandboxed]",
     "show the chain chosen for every layer, with costs beside the baselines", osc_cmd_plan},
    {"gen", "CONFIG -o DIR|FILE.c [--print-outputs] [--isa auto|avx512|avx2|c] [--tuning FILE] "
            "[--rigor estimate|measure] [--budget SECONDS] [--unsandboxed]", "write one .c and .h per network", osc_cmd_gen},
    {"exec", "CONFIG --layer NAME --input X.npy [--residual R.npy] --weights W.npy "
             "--output Y.npy [--jit] [--unsandboxed]",
     "run one layer's kernel on NumPy data", osc_cmd_exec},
    {"run", "CONFIG [--json] [--min-time MS] [--tuning FILE] [--unsandboxed]",
     "JIT-compile and run every layer on random data, checked", osc_cmd_run},
    {"export", "--torch CONFIG -o MODEL.py [--unsandboxed]",
     "write the plans as PyTorch modules (nn.Conv2d + nn.ChannelShuffle per stage)",
     osc_cmd_export},
    {"script", "FILE.lua [ARGS...]",
     "run a Lua script with the osconv module (tuning: scripts/autotune.lua)", osc_cmd_script},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

int osc_cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("osconv: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

static void help(FILE *f) {
  fprintf(f, "osconv %s -- optimal separable convolutions, as generated C\n\nusage:\n",
          OSC_VERSION);
  for (int i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  osconv %s %s\n      %s\n", commands[i].name, commands[i].usage,
            commands[i].summary);
}

int osc_cli_usage(const char *command) {
  for (int i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i].name, command) == 0) {
      fprintf(stderr, "usage: osconv %s %s\n", commands[i].name, commands[i].usage);
      return 2;
    }
  help(stderr);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) { help(stderr); return 2; }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    help(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) { printf("osconv %s\n", OSC_VERSION); return 0; }
  for (int i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i].name, argv[1]) == 0) return commands[i].main(argc - 1, argv + 1);
  fprintf(stderr, "osconv: unknown command '%s'\n", argv[1]);
  help(stderr);
  return 2;
}

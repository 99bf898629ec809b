/*
** oscconfig.h -- loading Lua configs: networks and their conv layers.
*/
#ifndef OSCCONFIG_H
#define OSCCONFIG_H

#include <stddef.h>

#include "osconv.h"

typedef struct osc_network {
  char name[OSC_NAME_MAX];   /* a C identifier: it prefixes generated symbols */
  int batch;                 /* images per call of a generated function */
  int line;                  /* where network{} was called */
  int n_layers;
  osc_layer *layers;         /* layers[i].file points at osc_config.file */
} osc_network;

typedef struct osc_config {
  char *file;                /* the path as given; layers point into it */
  int n_networks;
  osc_network *networks;
} osc_config;

#define OSC_CONFIG_MEMORY_LIMIT ((size_t)64 << 20)
#define OSC_CONFIG_INSTRUCTION_LIMIT 100000000LL
#define OSC_CONFIG_LAYER_LIMIT 100000   /* layers in all networks: a runaway guard */

typedef struct osc_config_options {
  int unsandboxed;           /* 1: full Lua standard library (trusted configs);
                                the memory and instruction limits then apply
                                only when set explicitly */
  size_t memory_limit;       /* bytes; 0 = default (64 MiB) */
  long long instruction_limit; /* VM instructions; 0 = default (100 million) */
} osc_config_options;

/* Run a config script and collect its layers, each validated
** (osc_layer_validate). Nothing is returned on error: *out stays NULL and
** err says "file:line: what is wrong". opt may be NULL for the defaults. */
osc_status osc_config_load(const char *path, const osc_config_options *opt,
                           osc_config **out, osc_error *err);
/* The same from a string; `name` stands for the file in messages. */
osc_status osc_config_load_string(const char *name, const char *source,
                                  const osc_config_options *opt, osc_config **out,
                                  osc_error *err);
/* The same from `len` bytes (the source may hold NUL bytes). */
osc_status osc_config_load_buffer(const char *name, const char *source, size_t len,
                                  const osc_config_options *opt, osc_config **out,
                                  osc_error *err);
void osc_config_free(osc_config *c);

/* Find a layer by name ("layer" or "net.layer"); NULL if absent. */
const osc_layer *osc_config_find_layer(const osc_config *c, const char *name,
                                       const osc_network **net);

#endif

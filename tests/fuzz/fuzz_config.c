/*
** fuzz_config.c -- libFuzzer target for the config loader (gen/oscconfig.c,
** through the public osc_config_* API): any bytes run as a sandboxed config
** (fuzz.h's caps). A loaded config must hold only valid layers that say
** where they came from and can be found by name; a refused one must leave
** nothing behind and say "fuzz.lua:" first.
*/
#include "fuzz.h"

static void check_layer(const osc_config *cfg, const osc_network *net, const osc_layer *l) {
  const osc_network *found_in = NULL;
  const osc_layer *found;
  char qualified[2 * OSC_NAME_MAX + 2];
  osc_error err;
  FUZZ_CHECK(osc_layer_validate(l, &err) == OSC_OK);
  FUZZ_CHECK(l->file == cfg->file && l->line > 0);
  FUZZ_CHECK(memchr(l->name, '\0', sizeof l->name) != NULL);
  snprintf(qualified, sizeof qualified, "%s.%s", net->name, l->name);
  found = osc_config_find_layer(cfg, qualified, &found_in);
  FUZZ_CHECK(found && found_in && !strcmp(found_in->name, net->name));
  FUZZ_CHECK(!strcmp(found->name, l->name));
}

static void check_config(const osc_config *cfg) {
  FUZZ_CHECK(!strcmp(cfg->file, "fuzz.lua") && cfg->n_networks > 0);
  for (int i = 0; i < cfg->n_networks; i++) {
    const osc_network *net = &cfg->networks[i];
    FUZZ_CHECK(memchr(net->name, '\0', sizeof net->name) != NULL);
    FUZZ_CHECK(net->n_layers > 0 && net->batch > 0);
    for (int j = 0; j < net->n_layers; j++) check_layer(cfg, net, &net->layers[j]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  osc_config_options opt = fuzz_config_options();
  osc_config *cfg = (osc_config *)&opt;   /* must come back NULL on failure */
  osc_error err;
  osc_status s = osc_config_load_buffer("fuzz.lua", (const char *)data, size, &opt, &cfg, &err);
  if (s == OSC_OK) {
    check_config(cfg);
  } else {
    FUZZ_CHECK(cfg == NULL && err.code == s);
    FUZZ_CHECK_MESSAGE(&err, "fuzz.lua");
  }
  osc_config_free(cfg);
  return 0;
}

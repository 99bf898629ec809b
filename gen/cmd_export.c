/*
** cmd_export.c -- `osconv export --torch CONFIG -o MODEL.py`: the config's
** plans as PyTorch modules, so a model author trains exactly the chains
** osconv runs. Per network one nn.Module; per layer an nn.Sequential of
** its stages as nn.Conv2d(groups=g_i) with osconv's per-stage stride and
** padding (docs/spec.md section 5), nn.ChannelShuffle(g_i) between stages
** (left out where it is the identity: g_i = 1 or g_i = C_i), the bias on the last stage
** only, then the activation.
**
** Each module's osconv_weights(name) returns the layer's parameters as one
** flat float32 tensor in osconv's weight layout (stage by stage PyTorch
** layout, then the bias), which is what `osconv exec --weights` and the
** generated kernels read: scripts/torch_to_npy.py writes them as .npy.
** Layers sit in an nn.ModuleList in config order (state_dict keys
** `layers.<index>.<module>.weight`), because a layer name may be a Python
** keyword or an nn.Module attribute; `names` maps names to indices.
** The file is deterministic and written atomically (osc_file_write_atomic).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oscbuf.h"
#include "osccli.h"
#include "oscemit.h"
#include "oscerr.h"
#include "oscfile.h"
#include "oscplan.h"

/* "resnet18" -> "Resnet18", "my_net" -> "MyNet", "3d" -> "Net3d": a
** Python class name (network names are C identifiers or start with one). */
static void class_name(const char *net, char *out, size_t cap) {
  size_t n = 0;
  int up = 1;
  if (!(net[0] >= 'a' && net[0] <= 'z') && !(net[0] >= 'A' && net[0] <= 'Z')) {
    memcpy(out, "Net", 3);
    n = 3;
  }
  for (const char *p = net; *p && n + 1 < cap; p++) {
    if (*p == '_') { up = 1; continue; }
    out[n++] = (char)(up && *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    up = 0;
  }
  out[n] = '\0';
}

/* Two networks whose class names coincide would silently shadow each other. */
static osc_status check_class_names(const osc_config *cfg, osc_error *err) {
  char a[OSC_NAME_MAX + 8], b[OSC_NAME_MAX + 8];
  for (int i = 0; i < cfg->n_networks; i++)
    for (int k = 0; k < i; k++) {
      class_name(cfg->networks[i].name, a, sizeof a);
      class_name(cfg->networks[k].name, b, sizeof b);
      if (!strcmp(a, b))
        return osc_error_set(err, OSC_ECONFIG,
                             "%s: networks '%s' and '%s' would both be the Python class %s; "
                             "rename one",
                             cfg->file, cfg->networks[k].name, cfg->networks[i].name, a);
    }
  return OSC_OK;
}

static void emit_stage(osc_buf *b, const osc_stage *s, int bias) {
  osc_buf_printf(b,
                 "            nn.Conv2d(%d, %d, (%d, %d), stride=(%d, %d), padding=(%d, %d), "
                 "groups=%d, bias=%s),\n",
                 s->c_in, s->c_out, s->k_h, s->k_w, s->stride_h, s->stride_w, s->pad_h,
                 s->pad_w, s->groups, bias ? "True" : "False");
}

static void emit_layer(osc_buf *b, const osc_plan *p) {
  const osc_layer *l = &p->layer;
  osc_buf_printf(b, "        # %s (line %d): %s, %d stage%s, %lld MACs per image\n", l->name,
                 l->line, osc_mode_name(p->mode), p->n_stages, p->n_stages == 1 ? "" : "s",
                 (long long)p->macs);
  osc_buf_puts(b, l->residual ? "        self.layers.append(_Residual(\n"
                              : "        self.layers.append(nn.Sequential(\n");
  for (int i = 0; i < p->n_stages; i++) {
    const osc_stage *s = &p->stage[i];
    int last = i + 1 == p->n_stages;
    emit_stage(b, s, last && l->bias);
    if (osc_plan_shuffle_after(p, i))
      osc_buf_printf(b, "            nn.ChannelShuffle(%d),\n", s->groups);
  }
  if (l->act == OSC_ACT_RELU) osc_buf_puts(b, "            nn.ReLU(),\n");
  if (l->act == OSC_ACT_RELU6) osc_buf_puts(b, "            nn.ReLU6(),\n");
  if (l->act == OSC_ACT_CLAMP)   /* Hardtanh is clamp(min, max), NaN kept */
    osc_buf_printf(b, "            nn.Hardtanh(%.9g, %.9g),\n", (double)l->clamp_min,
                   (double)l->clamp_max);
  if (l->residual) osc_buf_printf(b, "            act=%s))\n", l->act ? "True" : "False");
  else osc_buf_puts(b, "        ))\n");
}

/* Whether every layer's input is the previous layer's output. */
static int chains(const osc_network *net) {
  for (int i = 1; i < net->n_layers; i++) {
    const osc_layer *a = &net->layers[i - 1], *l = &net->layers[i];
    if (l->in_channels != a->out_channels || l->in_h != osc_layer_out_h(a) ||
        l->in_w != osc_layer_out_w(a))
      return 0;
  }
  return 1;
}

static int has_residual(const osc_network *net) {
  for (int i = 0; i < net->n_layers; i++)
    if (net->layers[i].residual) return 1;
  return 0;
}

/* A residual layer: an nn.Sequential (its state_dict keys are a plain
** layer's) whose forward adds r before the activation, its last module. */
static const char residual_class[] =
    "\n\nclass _Residual(nn.Sequential):\n"
    "    \"\"\"act(stages(x) + r): an osconv layer with residual = true (act, if\n"
    "    there is one, is the last module).\"\"\"\n\n"
    "    def __init__(self, *modules, act):\n"
    "        super().__init__(*modules)\n"
    "        self.has_act = act\n\n"
    "    def forward(self, x, r):\n"
    "        mods = list(self)\n"
    "        for m in mods[:-1] if self.has_act else mods:\n"
    "            x = m(x)\n"
    "        return mods[-1](x + r) if self.has_act else x + r\n";

static const char forward_chain_residual[] =
    "    def forward(self, x, residuals):\n"
    "        \"\"\"The layers in config order, each on the previous one's output; a\n"
    "        residual layer adds residuals[its name] before its activation.\"\"\"\n"
    "        for name, layer in zip(self.names, self.layers):\n"
    "            x = layer(x, residuals[name]) if isinstance(layer, _Residual) else layer(x)\n"
    "        return x\n";

static const char forward_chain[] =
    "    def forward(self, x):\n"
    "        \"\"\"The layers in config order, each on the previous one's output.\"\"\"\n"
    "        for layer in self.layers:\n"
    "            x = layer(x)\n"
    "        return x\n";

static const char forward_none[] =
    "    def forward(self, x):\n"
    "        raise NotImplementedError(\n"
    "            \"the config does not say how these layers connect (they do not form one \"\n"
    "            \"chain): call run(name, x) per layer\")\n";

static const char methods[] =
    "\n"
    "    def run(self, name, x, residual=None):\n"
    "        \"\"\"One layer: its stages, shuffles and activation; a layer with\n"
    "        residual = true adds `residual` (the output's shape) before the\n"
    "        activation.\"\"\"\n"
    "        layer = self.layers[self.names[name]]\n"
    "        return layer(x) if residual is None else layer(x, residual)\n"
    "\n"
    "    def osconv_weights(self, name):\n"
    "        \"\"\"The layer's parameters in osconv's layout: every stage's weight\n"
    "        [C_i][C_{i-1}/g_i][kh][kw] in order, then the bias, flat float32.\"\"\"\n"
    "        convs = [m for m in self.layers[self.names[name]] if isinstance(m, nn.Conv2d)]\n"
    "        parts = [c.weight.detach().reshape(-1) for c in convs]\n"
    "        if convs[-1].bias is not None:\n"
    "            parts.append(convs[-1].bias.detach().reshape(-1))\n"
    "        return torch.cat(parts).to(torch.float32).contiguous()\n";

static void emit_network(osc_buf *b, const osc_network *net, const osc_plan *plans) {
  char cls[OSC_NAME_MAX + 8];
  class_name(net->name, cls, sizeof cls);
  osc_buf_printf(b, "\n\nclass %s(nn.Module):\n", cls);
  osc_buf_printf(b, "    \"\"\"osconv network '%s': %d layer%s, batch %d.\"\"\"\n\n", net->name,
                 net->n_layers, net->n_layers == 1 ? "" : "s", net->batch);
  osc_buf_printf(b, "    network = \"%s\"\n    batch = %d\n    names = {", net->name,
                 net->batch);
  for (int i = 0; i < net->n_layers; i++)
    osc_buf_printf(b, "%s\"%s\": %d", i ? ", " : "", net->layers[i].name, i);
  osc_buf_puts(b, "}\n\n    def __init__(self):\n        super().__init__()\n"
                  "        self.layers = nn.ModuleList()\n");
  for (int i = 0; i < net->n_layers; i++) emit_layer(b, &plans[i]);
  osc_buf_puts(b, "\n");
  osc_buf_puts(b, !chains(net) ? forward_none
                 : has_residual(net) ? forward_chain_residual : forward_chain);
  osc_buf_puts(b, methods);
}

static osc_status export_torch(const osc_config *cfg, osc_buf *b, osc_error *err) {
  osc_status s = osc_emit_check_config(cfg, err);
  if (!s) s = check_class_names(cfg, err);
  osc_buf_printf(b,
                 "# Generated by osconv %s (osconv export --torch) from %s. Do not edit.\n"
                 "# One nn.Module per network; each layer is its osconv plan, stage by stage:\n"
                 "# Conv2d(groups=g) -> ChannelShuffle(g) -> ... (see docs/spec.md).\n"
                 "import torch\nfrom torch import nn\n",
                 OSC_VERSION, cfg->file);
  for (int i = 0; i < cfg->n_networks; i++)
    if (has_residual(&cfg->networks[i])) {
      osc_buf_puts(b, residual_class);
      break;
    }
  for (int i = 0; i < cfg->n_networks && !s; i++) {
    osc_plan *plans;
    if ((s = osc_cli_plan_network(&cfg->networks[i], &plans, err))) break;
    emit_network(b, &cfg->networks[i], plans);
    free(plans);
  }
  if (!s && osc_buf_failed(b)) s = osc_error_set(err, OSC_ENOMEM, "out of memory");
  return s;
}

int osc_cmd_export(int argc, char **argv) {
  osc_config_options opt = {0};
  const char *config = NULL, *out = NULL;
  int torch = 0, rc = 0;
  osc_config *cfg = NULL;
  osc_error err;
  osc_buf b;
  const osc_cli_opt opts[] = {{"output", 'o', NULL, &out},
                              {"torch", 0, &torch, NULL},
                              {"unsandboxed", 0, &opt.unsandboxed, NULL},
                              {NULL, 0, NULL, NULL}};
  if ((rc = osc_cli_parse(argc, argv, opts, &config))) return rc;
  if (!out || !torch) {
    fprintf(stderr, "osconv export: %s\n", !torch ? "say what to export: --torch (the only "
                                                     "format so far)" : "-o MODEL.py is required");
    return osc_cli_usage("export");
  }
  if (osc_config_load(config, &opt, &cfg, &err)) return osc_cli_fail("%s", err.msg);
  osc_buf_init(&b);
  if (export_torch(cfg, &b, &err) || osc_file_write_atomic(out, b.data, b.len, &err))
    rc = osc_cli_fail("%s", err.msg);
  else
    printf("osconv: wrote %s (%d network%s)\n", out, cfg->n_networks,
           cfg->n_networks == 1 ? "" : "s");
  osc_buf_free(&b);
  osc_config_free(cfg);
  return rc;
}

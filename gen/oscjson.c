/*
** oscjson.c -- plans and layers as JSON.
** Every json_pack may return NULL on allocation failure; callers check
** the root once (jansson's "o" steals references and tolerates NULL by failing).
*/
#include "oscjson.h"

#include <inttypes.h>
#include <stdio.h>

#include "oscplan.h"
#include "osctime.h"

static json_t *pair(int a, int b) { return json_pack("[ii]", a, b); }

/* "none", "relu", "relu6" or "clamp" (its bounds: "clamp" beside it) */
static const char *act_name(const osc_layer *l) {
  static const char *const names[] = {"none", "relu", "relu6", "clamp"};
  return (unsigned)l->act <= OSC_ACT_CLAMP ? names[l->act] : "?";
}

json_t *osc_json_layer(const osc_layer *l) {
  json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:i, s:b, s:s, s:s, "
                   "s:i, s:s}",
                   "name", l->name, "line", l->line,
                   "in_channels", l->in_channels, "out_channels", l->out_channels,
                   "in_size", pair(l->in_h, l->in_w),
                   "out_size", pair(osc_layer_out_h(l), osc_layer_out_w(l)),
                   "kernel", pair(l->k_h, l->k_w), "stride", pair(l->stride_h, l->stride_w),
                   "padding", pair(l->pad_h, l->pad_w), "groups", l->groups,
                   "bias", l->bias, "activation", act_name(l),
                   "mode", osc_mode_name(l->mode), "max_stages", l->max_stages,
                   "objective", osc_objective_name(l->objective));
  if (o) json_object_set_new(o, "residual", json_boolean(l->residual));
  if (o && l->oc_lanes) json_object_set_new(o, "oc_lanes", json_true());
  if (o && l->act == OSC_ACT_CLAMP)
    json_object_set_new(o, "clamp", json_pack("[f, f]", (double)l->clamp_min,
                                              (double)l->clamp_max));
  return o;
}

static json_t *stage_json(const osc_plan *p, int i) {
  const osc_stage *s = &p->stage[i];
  int g = osc_plan_shuffle_after(p, i);
  json_t *shuffle = g ? json_integer(g) : json_null();
  return json_pack("{s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o}",
                   "in_channels", s->c_in, "out_channels", s->c_out, "groups", s->groups,
                   "kernel", pair(s->k_h, s->k_w), "stride", pair(s->stride_h, s->stride_w),
                   "padding", pair(s->pad_h, s->pad_w), "in_size", pair(s->h_in, s->w_in),
                   "out_size", pair(s->h_out, s->w_out),
                   "macs", (json_int_t)osc_stage_macs(s),
                   "params", (json_int_t)osc_stage_params(s), "shuffle_after", shuffle);
}

json_t *osc_json_plan(const osc_plan *p) {
  char hash[17], chain[512];
  json_t *stages = json_array();
  snprintf(hash, sizeof hash, "%016" PRIx64, osc_plan_hash(p));
  osc_plan_describe(p, chain, sizeof chain);
  for (int i = 0; stages && i < p->n_stages; i++)
    if (json_array_append_new(stages, stage_json(p, i))) {
      json_decref(stages);
      stages = NULL;
    }
  return json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:i, s:o}", "mode", osc_mode_name(p->mode),
                   "hash", hash, "chain", chain, "macs", (json_int_t)p->macs,
                   "params", (json_int_t)p->params, "model_ns", osc_time_plan(p),
                   "stages_count", p->n_stages, "stages", stages);
}

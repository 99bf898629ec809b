/*
** oscjson.h -- plans and layers as JSON (jansson), the schema that
** `osconv plan --json` prints and scripts parse (documented in README.md).
*/
#ifndef OSCJSON_H
#define OSCJSON_H

#include <jansson.h>

#include "osconv.h"

json_t *osc_json_layer(const osc_layer *l);   /* the layer as declared */
json_t *osc_json_plan(const osc_plan *p);     /* hash, macs, params, stages */

#endif

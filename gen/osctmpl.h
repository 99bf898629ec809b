/*
** osctmpl.h -- kernel templates: the files embedded from templates/, and
** their expansion.
*/
#ifndef OSCTMPL_H
#define OSCTMPL_H

typedef struct osc_template_file {
  const char *name;   /* e.g. "stage_direct.c.in" */
  const char *text;
} osc_template_file;

/* Generated from templates/ by scripts/embed-templates.sh; ends with {0,0}. */
extern const osc_template_file osc_template_files[];

#endif

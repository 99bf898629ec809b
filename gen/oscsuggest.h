/*
** oscsuggest.h -- "did you mean ...?": how far apart two names are, for
** the suggestions of the config loader (fields) and the CLI (layer names).
*/
#ifndef OSCSUGGEST_H
#define OSCSUGGEST_H

/* Optimal string alignment distance (edits, adjacent swaps counting one),
** ignoring case; strings over 64 characters are 99 apart. */
int osc_suggest_distance(const char *a, const char *b);

#endif

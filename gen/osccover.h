/*
** osccover.h -- structural channel coverage of a chain: walk the groups and
** the shuffle permutations and compute, for every output channel, the set
** of input channels it depends on. SPEC.md's product formula is a necessary
** condition; this is the check that decides.
*/
#ifndef OSCCOVER_H
#define OSCCOVER_H

#include "osconv.h"

/* For each output channel of the chain, how many distinct input channels
** it reaches. `reach` has plan->stage[n-1].c_out entries. Returns 0, or -1
** if memory ran out. */
int osc_cover_reach(const osc_plan *p, int *reach);

/* 1 if every output channel reaches in_channels / layer_groups inputs,
** 0 if one does not, -1 if memory ran out. */
int osc_cover_full(const osc_plan *p, int layer_groups);

/* Same walk on a bare chain (no shapes needed): widths c[0..n], groups
** g[0..n-1]; every output must reach `need` inputs. 1, 0, or -1 (memory). */
int osc_cover_chain_full(int n, const int *c, const int *g, int need);

#endif

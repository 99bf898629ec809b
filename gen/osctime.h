/*
** osctime.h -- the model of a stage's run time that objective "time"
** minimizes: for the kernel the emitter gives the stage on an ISA
** (osc_emit_stage_kernel), time = a * that kernel's own cost estimate
** + b * floats in and out + c per call, with (a, b, c) per kernel fitted by
** bench/fit_time.c from bench/data/stages.csv into gen/osctime_coef.h
** (`make fit-time` refits from the CSV; `make refit-time` measures again
** first, for when kernels change speed).
*/
#ifndef OSCTIME_H
#define OSCTIME_H

#include "osconv.h"
#include "oscisa.h"

/* Modelled time of one stage in picoseconds, integers so the search adds
** them exactly. `last`: it writes the layer's output, `clamped`: and the
** layer's activation is relu6 or clamp (which the SIMD stores do not do). */
int64_t osc_time_stage_ps(const osc_stage *s, int last, int clamped, osc_isa isa);

/* The same, in nanoseconds, for a stage that is not the last. */
double osc_time_stage(const osc_stage *s, osc_isa isa);

/* Modelled time of a whole plan (its stages' sum), ns, on `isa`; and on
** the ISA the JIT emits for (osc_time_isa). */
double osc_time_plan_isa(const osc_plan *p, osc_isa isa);
double osc_time_plan(const osc_plan *p);

/* The ISA objective "time" models: what the JIT emits for here
** (osc_isa_runtime: cpuid, capped by OSCONV_ISA); OSC_ISA_C when
** OSCONV_ISA is not a known name (the JIT then refuses to run anyway). */
osc_isa osc_time_isa(void);

#endif

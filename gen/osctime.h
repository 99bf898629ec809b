/*
** osctime.h -- the model of a stage's run time that objective "time"
** minimizes: for the kernel the emitter gives the stage on an ISA
** (osc_emit_stage_kernel), time = the dot product of that kernel's fitted
** coefficients with the stage's features (osc_time_features), fitted by
** bench/fit_time.c from bench/data/stages.csv into gen/osctime_coef.h
** (`make fit-time` refits from the CSV; `make refit-time` measures again
** first, for when kernels change speed).
*/
#ifndef OSCTIME_H
#define OSCTIME_H

#include "osconv.h"
#include "oscisa.h"

#define OSC_TIME_VARS 5

/* The features of a stage, x[0..OSC_TIME_VARS): its kernel's own cost
** estimate, MACs, floats read and written, output values times kernel taps,
** and 1 (the call). `last`: the stage writes the layer's output, `clamped`:
** and the layer's activation is relu6 or clamp (which the SIMD stores do
** not do). Returns the kernel's index in osc_stage_kernels, -1 if none. */
int osc_time_features(const osc_stage *s, int last, int clamped, osc_isa isa,
                      double x[OSC_TIME_VARS]);

/* Modelled time of one stage in picoseconds, integers so the search adds
** them exactly. */
int64_t osc_time_stage_ps(const osc_stage *s, int last, int clamped, osc_isa isa);

/* The same, in nanoseconds, for a stage that is not the last. */
double osc_time_stage(const osc_stage *s, osc_isa isa);

/* Modelled time of a whole plan (its stages' sum) on `isa`, in ps; in ns;
** and in ns on the ISA the JIT emits for (osc_time_isa). */
int64_t osc_time_plan_ps(const osc_plan *p, osc_isa isa);
double osc_time_plan_isa(const osc_plan *p, osc_isa isa);
double osc_time_plan(const osc_plan *p);

/* The ISA objective "time" models: what the JIT emits for here
** (osc_isa_runtime: cpuid, capped by OSCONV_ISA); OSC_ISA_C when
** OSCONV_ISA is not a known name (the JIT then refuses to run anyway). */
osc_isa osc_time_isa(void);

#endif

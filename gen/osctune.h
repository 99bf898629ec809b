/*
** osctune.h -- the tuning database (README, "Autotuning"): one record per
** layer shape, JSON lines in key order, with the plan and code variant that
** measured fastest, the time, and where it was measured. The public face is
** osc_tuning_* in osconv.h; the Lua module and the tests use these too.
*/
#ifndef OSCTUNE_H
#define OSCTUNE_H

#include "osconv.h"
#include "oscvariant.h"

#define OSC_TUNE_KEY_MAX 192

/* Where a record was measured: a record is used only where all of it,
** and the version and compiler below, are this process's. */
typedef struct osc_tune_machine {
  char cpu[128];     /* /proc/cpuinfo "model name" ("unknown" without one) */
  char isa[48];      /* the ISAs the CPU runs, best first: "avx512 avx2 c" */
  int cores;         /* online CPUs of the machine (not of an affinity mask) */
} osc_tune_machine;

typedef struct osc_tune_record {
  osc_layer layer;   /* the shape (osc_tune_key); name, from the layer measured */
  osc_mode mode;     /* the chosen plan: the mode that made it... */
  int n_stages;      /* ...and its chain */
  osc_stage_spec chain[OSC_MAX_STAGES];
  int64_t macs;
  char isa[16];      /* the variant: "avx512", "avx2", "c"... */
  int threads;       /* ...and the thread count (osc_kernel_options.threads, >= 1);
                        0: null in the file (a record from before thread variants) */
  char code[OSC_VARIANT_MAX];  /* ...and the code variant, canonical (gen/oscvariant.h);
                        "auto" is not written, and a record without one reads as it */
  double median_s, spread_s;   /* measured: median, interquartile range (seconds) */
  int reps;          /* timed runs behind the median */
  double model_s;    /* modelled time; < 0: none (no time model on this branch) */
  osc_tune_machine machine;
  char version[16];  /* OSC_VERSION */
  char compiler[32]; /* "tcc 0.9.27" */
} osc_tune_record;

struct osc_tuning {
  int n, cap;
  osc_tune_record *rec;   /* sorted by key, keys unique */
};

/* This machine, this osconv, this libtcc (computed once). */
const osc_tune_machine *osc_tune_host(void);
const char *osc_tune_compiler(void);

/* The key of a layer shape: channels, size, kernel, stride, padding,
** groups, bias and activation; not its name, mode or widths, so identical
** layers share a record. */
void osc_tune_key(const osc_layer *l, char key[OSC_TUNE_KEY_MAX]);

/* A record for plan p measured as variant `isa` with `threads` (0: null)
** and code variant `code` (canonical; NULL: "auto") (machine, version and
** compiler: this process's). */
void osc_tune_record_make(const osc_plan *p, const char *isa, int threads, const char *code,
                          double median_s, double spread_s, int reps, osc_tune_record *r);

/* The most threads a record may name (osc_kernel_create's limit). */
#define OSC_TUNE_THREADS_MAX 1024

/* NULL if this process may use r, else why not ("another machine: ..."). */
const char *osc_tune_mismatch(const osc_tune_record *r, char *buf, size_t size);

/* Rebuild the plan r holds for layer l (l's name and place in messages). */
osc_status osc_tune_plan(const osc_tune_record *r, const osc_layer *l, osc_plan *out,
                         osc_error *err);

osc_tuning *osc_tune_new(void);
/* Find the record of l's key, or NULL. */
const osc_tune_record *osc_tune_find(const osc_tuning *t, const osc_layer *l);
/* Put r in, unless the record already there for its key is faster (or as
** fast and first in byte order: merging is then associative and
** commutative) and from where r is from (one from another machine, version
** or compiler is replaced). Returns 1 if r went in, 0 if not, -1 out of
** memory. */
int osc_tune_put(osc_tuning *t, const osc_tune_record *r);

/* One record as its line (no newline; caller frees), and back. A parse
** error is "what is wrong", without the file and line. */
char *osc_tune_record_line(const osc_tune_record *r);
osc_status osc_tune_record_parse(const char *line, osc_tune_record *r, osc_error *err);

/* The whole database from text (`name` for messages: "name:7: ..."); all
** or nothing. */
osc_status osc_tune_parse(const char *name, const char *text, size_t len, osc_tuning **out,
                          osc_error *err);
/* Its text (caller frees): one line per record, in key order. */
char *osc_tune_text(const osc_tuning *t, size_t *len);

/* a and b into a new database, the faster record per key. Refused, naming
** the file (b_name) and key, when a record comes from another machine,
** version or compiler than the first record of a (or of b). */
osc_status osc_tune_merge(const osc_tuning *a, const osc_tuning *b, const char *b_name,
                          osc_tuning **out, osc_error *err);

#endif

/*
** test_tune.c -- the tuning database (gen/osctune.c, osc_tuning_* in
** osconv.h): exact round trips, refusals of records from elsewhere, all-or-
** nothing loading, merging; and the CLI path autotune.lua -> plan --tuning.
*/
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "osc_cli.h"
#include "osc_test.h"
#include "osconv.h"
#include "oscisa.h"
#include "oscmeasure.h"
#include "oscrt.h"
#include "osctune.h"

static osc_layer layer(int c_in, int c_out, int size, int k, int stride, int pad) {
  osc_layer l;
  osc_layer_init(&l);
  snprintf(l.name, sizeof l.name, "l%d_%d_%d", c_in, c_out, k);
  l.in_channels = c_in, l.out_channels = c_out, l.in_h = l.in_w = size;
  l.k_h = l.k_w = k, l.stride_h = l.stride_w = stride, l.pad_h = l.pad_w = pad;
  return l;
}

static osc_tune_record record(osc_layer l, osc_mode mode, const char *isa, double median) {
  osc_plan p;
  osc_tune_record r;
  osc_error err;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&l, mode, &p, &err), OSC_OK);
  osc_tune_record_make(&p, isa, 0, NULL, median, median / 10, 7, &r);
  return r;
}

/* Four shapes: a clamp and bias, a stride, modes of each kind. */
static osc_tuning *sample(double scale) {
  osc_tuning *t = osc_tune_new();
  osc_layer a = layer(8, 8, 6, 3, 1, 1), b = layer(8, 16, 7, 3, 2, 0), c = layer(4, 4, 5, 5, 1, 2),
            d = layer(6, 12, 4, 1, 1, 0);
  a.bias = 1, a.act = OSC_ACT_CLAMP, a.clamp_min = -0.1f, a.clamp_max = 2.5f;
  b.act = OSC_ACT_RELU6;
  osc_tune_record rs[] = {record(a, OSC_MODE_DEPTHWISE, "avx2", 1.5e-6 * scale),
                          record(b, OSC_MODE_OPTIMAL, "c", 3.25e-6 * scale),
                          record(c, OSC_MODE_SPATIAL, "avx512", 0.1 * scale),
                          record(d, OSC_MODE_CONVENTIONAL, "c", 2e-7 * scale)};
  rs[0].threads = 2, rs[2].threads = 1;   /* the others null, as old files have */
  for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(osc_tune_put(t, &rs[i]), 1);
  return t;
}

static char *tmp_path(const char *name) {
  static char dir[64];
  char *p;
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/osconv-tune-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  }
  p = malloc(strlen(dir) + strlen(name) + 2);
  sprintf(p, "%s/%s", dir, name);
  return p;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs(text, f);
  fclose(f);
}

/* Saved, loaded and saved again: the same bytes, and the values put in. */
static void test_round_trip(void) {
  osc_tuning *t = sample(1), *back = NULL;
  char *path = tmp_path("rt.jsonl"), *first, *second;
  osc_error err;
  CU_ASSERT_EQUAL(osc_tuning_save(t, path, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tuning_load(path, &back, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_tuning_count(back), 4);
  first = osc_test_slurp(path, NULL);
  second = osc_tune_text(back, NULL);
  CU_ASSERT_STRING_EQUAL(first, second);
  for (int i = 0; i < back->n; i++) {
    const osc_tune_record *r = osc_tune_find(back, &t->rec[i].layer), *w = &t->rec[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(r->median_s == w->median_s && r->spread_s == w->spread_s && r->reps == 7);
    CU_ASSERT_EQUAL(r->mode, w->mode);
    CU_ASSERT_EQUAL(r->n_stages, w->n_stages);
    CU_ASSERT(!memcmp(r->chain, w->chain, sizeof r->chain[0] * (size_t)r->n_stages));
    CU_ASSERT_STRING_EQUAL(r->isa, w->isa);
    CU_ASSERT_EQUAL(r->threads, w->threads);
    CU_ASSERT(r->layer.clamp_min == w->layer.clamp_min && r->layer.clamp_max == w->layer.clamp_max);
    CU_ASSERT_EQUAL(r->layer.act, w->layer.act);
    CU_ASSERT_EQUAL(r->layer.bias, w->layer.bias);
    CU_ASSERT(r->model_s == w->model_s && w->model_s > 0);   /* the stage-time model, exactly */
  }
  /* key order: each line's key after the one before */
  for (int i = 1; i < back->n; i++) {
    char k0[OSC_TUNE_KEY_MAX], k1[OSC_TUNE_KEY_MAX];
    osc_tune_key(&back->rec[i - 1].layer, k0);
    osc_tune_key(&back->rec[i].layer, k1);
    CU_ASSERT(strcmp(k0, k1) < 0);
  }
  CU_ASSERT_PTR_NOT_NULL(strstr(first, "\"variant\":{\"isa\":\"avx2\",\"threads\":2}"));
  CU_ASSERT_PTR_NOT_NULL(strstr(first, "\"variant\":{\"isa\":\"c\",\"threads\":null}"));
  free(first), free(second), free(path);
  osc_tuning_free(t), osc_tuning_free(back);
}

/* A line written by hand (the documented format) reads as it says. */
static void test_hand_written_line(void) {
  const char *line =
      "{\"layer\":{\"name\":\"x\",\"in_channels\":4,\"out_channels\":8,\"in_size\":[5,5],"
      "\"kernel\":[3,3],\"stride\":[1,1],\"padding\":[1,1],\"groups\":1,\"bias\":true,"
      "\"activation\":\"relu\"},\"plan\":{\"mode\":\"depthwise\",\"chain\":[[4,4,3,3],[8,1,1,1]],"
      "\"macs\":1700},\"variant\":{\"isa\":\"c\",\"threads\":null},\"time\":{\"median_s\":0.5,"
      "\"spread_s\":0.25,\"reps\":3,\"model_s\":null},\"machine\":{\"cpu\":\"CPU X\",\"isa\":\"c\","
      "\"cores\":4},\"osconv\":\"0.1.0\",\"compiler\":\"tcc 0.9.27\"}";
  osc_tune_record r;
  osc_error err;
  char *again;
  /* MACs by hand: depthwise 4 ch * 9 * 25 px = 900, pointwise 4*8*25 = 800 */
  CU_ASSERT_EQUAL_FATAL(osc_tune_record_parse(line, &r, &err), OSC_OK);
  CU_ASSERT_EQUAL(r.macs, 1700);
  CU_ASSERT(r.median_s == 0.5 && r.spread_s == 0.25 && r.reps == 3);
  CU_ASSERT_STRING_EQUAL(r.machine.cpu, "CPU X");
  CU_ASSERT_EQUAL(r.machine.cores, 4);
  CU_ASSERT_EQUAL(r.layer.bias, 1);
  CU_ASSERT_EQUAL(r.layer.act, OSC_ACT_RELU);
  CU_ASSERT_EQUAL(r.threads, 0);   /* null: a record from before thread variants */
  again = osc_tune_record_line(&r);
  CU_ASSERT_STRING_EQUAL(again, line);
  free(again);
  {   /* a thread count reads and writes back as written */
    char *with = strdup(line), *at = strstr(with, "\"threads\":null");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    memmove(at + 11, at + 14, strlen(at + 14) + 1);   /* "null" -> "3" */
    at[10] = '3';
    CU_ASSERT_EQUAL_FATAL(osc_tune_record_parse(with, &r, &err), OSC_OK);
    CU_ASSERT_EQUAL(r.threads, 3);
    again = osc_tune_record_line(&r);
    CU_ASSERT_STRING_EQUAL(again, with);
    free(again), free(with);
  }
}

/* osc_tuning_lookup_options hands over the record's ISA and threads, and a
** kernel made with them uses both (info.isa, info.threads, the stages split
** for the test); a record whose ISA is above the JIT's cap is rejected, and
** a kernel asked for such an ISA is refused, never made for another. */
static void test_variant_applied(void) {
  osc_layer l = layer(8, 16, 6, 3, 1, 1);
  osc_tune_record r = record(l, OSC_MODE_CONVENTIONAL, "c", 1e-6);
  osc_tuning *t = osc_tune_new();
  osc_kernel_options ko = {0};
  osc_tuning_verdict v;
  osc_kernel *k = NULL;
  osc_kernel_info info;
  osc_plan p;
  osc_error err;
  char note[600];
  r.threads = 2;
  CU_ASSERT_EQUAL_FATAL(osc_tune_put(t, &r), 1);
  CU_ASSERT_EQUAL_FATAL(osc_tuning_lookup_options(t, &l, &p, &ko, &v, note, sizeof note, &err), OSC_OK);
  CU_ASSERT_EQUAL(v, OSC_TUNING_USED);
  CU_ASSERT_STRING_EQUAL(ko.isa, "c");
  CU_ASSERT_EQUAL(ko.threads, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(note, "isa c, 2 threads"));
  osc_kernel_set_split_min_macs(1);   /* split even this tiny layer */
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &ko, &k, &err), OSC_OK);
  osc_kernel_get_info(k, &info);
  CU_ASSERT_STRING_EQUAL(info.isa, "c");
  CU_ASSERT_EQUAL(info.threads, 2);
  CU_ASSERT_EQUAL(osc_verify_kernel(k, 2, 3, &(double){0}, &(double){0}, &err), OSC_OK);
  osc_kernel_free(k);
  osc_kernel_set_split_min_macs(0);
  /* an old record (threads null) leaves the caller's threads alone */
  t->rec[0].threads = 0;
  ko.threads = 5;
  CU_ASSERT_EQUAL(osc_tuning_lookup_options(t, &l, &p, &ko, &v, note, sizeof note, &err), OSC_OK);
  CU_ASSERT_EQUAL(ko.threads, 5);
  CU_ASSERT_PTR_NULL(strstr(note, "thread"));
  if (osc_isa_host() >= OSC_ISA_AVX2) {
    osc_kernel_options want = {.isa = "avx2"};
    snprintf(t->rec[0].isa, sizeof t->rec[0].isa, "avx2");
    setenv("OSCONV_ISA", "c", 1);
    memset(&ko, 0, sizeof ko);
    CU_ASSERT_EQUAL(osc_tuning_lookup_options(t, &l, &p, &ko, &v, note, sizeof note, &err), OSC_OK);
    CU_ASSERT_EQUAL(v, OSC_TUNING_REJECTED);
    CU_ASSERT_PTR_NULL(ko.isa);
    CU_ASSERT_PTR_NOT_NULL(strstr(note, "tuning record rejected: its isa avx2 is above what the JIT runs here (c"));
    CU_ASSERT_EQUAL(osc_tuning_lookup(t, &l, &p, &v, NULL, 0, &err), OSC_OK);
    CU_ASSERT_EQUAL(v, OSC_TUNING_REJECTED);
    k = (osc_kernel *)&v;
    want.allow_fallback = 1;   /* the wrong ISA is an error, not a fallback */
    CU_ASSERT_EQUAL(osc_kernel_create(&p, &want, &k, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "kernel: isa 'avx2': this process's JIT runs at most c"));
    unsetenv("OSCONV_ISA");
    CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, &want, &k, &err), OSC_OK);
    osc_kernel_get_info(k, &info);
    CU_ASSERT_STRING_EQUAL(info.isa, "avx2");
    osc_kernel_free(k);
  }
  {
    osc_kernel_options bad = {.isa = "sse9"};
    CU_ASSERT_EQUAL(osc_kernel_create(&p, &bad, &k, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "isa 'sse9': expected avx512, avx2 or c"));
  }
  osc_tuning_free(t);
}

/* Another machine, version or compiler: lookup says rejected and why, and
** plans nothing; merge refuses the record and names the file. */
static void test_refused_elsewhere(void) {
  static const char *const why[] = {"another machine", "another machine", "another machine",
                                    "another osconv version", "another compiler"};
  for (int c = 0; c < 5; c++) {
    osc_tuning *t = sample(1), *other = sample(1), *merged = NULL;
    osc_tune_record *r = &other->rec[0];
    osc_tuning_verdict v = OSC_TUNING_USED;
    osc_plan p, untouched;
    osc_error err;
    char note[600];
    if (c == 0) snprintf(r->machine.cpu, sizeof r->machine.cpu, "Other %.100s", osc_tune_host()->cpu);
    if (c == 1) r->machine.cores++;
    if (c == 2) snprintf(r->machine.isa, sizeof r->machine.isa, "c");
    if (c == 2 && !strcmp(osc_tune_host()->isa, "c")) continue;
    if (c == 3) snprintf(r->version, sizeof r->version, "0.0.0-other");
    if (c == 4) snprintf(r->compiler, sizeof r->compiler, "tcc 0.0.1");
    memset(&p, 0x5a, sizeof p);
    untouched = p;
    CU_ASSERT_EQUAL(osc_tuning_lookup(other, &r->layer, &p, &v, note, sizeof note, &err), OSC_OK);
    CU_ASSERT_EQUAL(v, OSC_TUNING_REJECTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(note, why[c]));
    CU_ASSERT(!memcmp(&p, &untouched, sizeof p));
    CU_ASSERT_EQUAL(osc_tuning_lookup(other, &other->rec[1].layer, &p, &v, NULL, 0, &err), OSC_OK);
    CU_ASSERT_EQUAL(v, OSC_TUNING_USED);   /* the others still apply */
    CU_ASSERT_EQUAL(osc_tune_merge(t, other, "other.jsonl", &merged, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NULL(merged);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "other.jsonl"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why[c]));
    /* a fresh measurement here replaces it, however fast it was */
    r->median_s = 0;
    {
      osc_tune_record here = t->rec[0];
      here.median_s = 1;
      CU_ASSERT_EQUAL(osc_tune_put(other, &here), 1);
    }
    osc_tuning_free(t), osc_tuning_free(other);
  }
}

/* Each malformed line fails the whole load, names the line, returns nothing. */
static void test_malformed(void) {
  osc_tuning *t = sample(1);
  char *text = osc_tune_text(t, NULL), *second = strchr(text, '\n') + 1;
  char *path = tmp_path("bad.jsonl");
  size_t first_len = (size_t)(second - text);
  static const struct { const char *from, *to, *why; } cases[] = {
      {"{\"layer\"", "[\"layer\"", "not JSON"},
      {"\"reps\":7", "\"reps\":0", "reps >= 1"},
      {"\"isa\":\"c\"", "\"isa\":\"q\"", "isa 'q'"},
      {"\"threads\":null", "\"threads\":1234", "variant: threads must be an integer 1 to 1024"},
      {"\"threads\":null", "\"threads\":0   ", "variant: threads must be an integer"},
      {"\"threads\":null", "\"threads\":-2  ", "variant: threads must be an integer"},
      {"\"threads\":null", "\"threads\":2.5 ", "variant: threads must be an integer"},
      {"\"threads\":null", "\"threads\":\"2\" ", "variant: threads must be an integer"},
      {"\"chain\":[[12,1,1,1]]", "\"chain\":[[12,5,1,1]]", "plan: "},
      {"\"kernel\":[1,1]", "\"kernel\":[1,7]", "larger than the padded input"},
      {"\"macs\":", "\"mucs\":", "macs"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char *bad = strdup(text), *at;
    osc_tuning *out = (osc_tuning *)&c;   /* must come back NULL */
    osc_error err;
    at = strstr(bad + first_len, cases[c].from);
    CU_ASSERT_FATAL(at && at < strchr(bad + first_len, '\n'));   /* on line 2 */
    memcpy(at, cases[c].to, strlen(cases[c].to));
    write_file(path, bad);
    CU_ASSERT_EQUAL(osc_tuning_load(path, &out, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    {
      char want[256];
      snprintf(want, sizeof want, "%s:2: ", path);
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
      if (!strstr(err.msg, cases[c].why)) printf("\n  case %zu: %s\n", c, err.msg);
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[c].why));
    }
    free(bad);
  }
  {   /* a record whose chain does not fit its layer; a duplicate shape */
    char *bad = malloc(3 * strlen(text) + 1);
    osc_tuning *out = NULL;
    osc_error err;
    sprintf(bad, "%.*s%.*s", (int)first_len, text, (int)first_len, text);
    write_file(path, bad);
    CU_ASSERT_EQUAL(osc_tuning_load(path, &out, &err), OSC_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ":2: a second record"));
    free(bad);
  }
  free(text), free(path);
  osc_tuning_free(t);
}

/* Merging: the fastest record of every shape; associative and commutative. */
static void test_merge(void) {
  osc_tuning *in[3] = {sample(1), sample(0.5), sample(2)}, *ab, *abc, *bc, *abc2, *ca, *cab;
  osc_error err;
  char *x, *y, *z;
  /* make each input fastest for some shape, and a tie */
  in[1]->rec[0].median_s = 9;
  in[2]->rec[1].median_s = 1e-9;
  in[0]->rec[3].median_s = in[1]->rec[3].median_s;
  snprintf(in[0]->rec[3].isa, sizeof in[0]->rec[3].isa, "c");
  CU_ASSERT_EQUAL_FATAL(osc_tune_merge(in[0], in[1], "b", &ab, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tune_merge(ab, in[2], "c", &abc, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tune_merge(in[1], in[2], "c", &bc, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tune_merge(in[0], bc, "bc", &abc2, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tune_merge(in[2], in[0], "a", &ca, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tune_merge(ca, in[1], "b", &cab, &err), OSC_OK);
  x = osc_tune_text(abc, NULL), y = osc_tune_text(abc2, NULL), z = osc_tune_text(cab, NULL);
  CU_ASSERT_STRING_EQUAL(x, y);
  CU_ASSERT_STRING_EQUAL(x, z);
  {   /* the tie too: b with a as a with b */
    osc_tuning *ba;
    char *w, *v;
    CU_ASSERT_EQUAL_FATAL(osc_tune_merge(in[1], in[0], "a", &ba, &err), OSC_OK);
    w = osc_tune_text(ba, NULL), v = osc_tune_text(ab, NULL);
    CU_ASSERT_STRING_EQUAL(w, v);
    free(w), free(v);
    osc_tuning_free(ba);
  }
  CU_ASSERT_EQUAL(abc->n, 4);
  for (int i = 0; i < abc->n; i++) {   /* against the minimum over the inputs */
    double best = 1e300;
    for (int k = 0; k < 3; k++) {
      const osc_tune_record *r = osc_tune_find(in[k], &abc->rec[i].layer);
      CU_ASSERT_PTR_NOT_NULL_FATAL(r);
      if (r->median_s < best) best = r->median_s;
    }
    CU_ASSERT(abc->rec[i].median_s == best);
  }
  free(x), free(y), free(z);
  osc_tuning_free(ab), osc_tuning_free(abc), osc_tuning_free(bc), osc_tuning_free(abc2);
  osc_tuning_free(ca), osc_tuning_free(cab);
  for (int k = 0; k < 3; k++) osc_tuning_free(in[k]);
}

#define TINY "network { name = 'tiny' }\n" \
             "conv { name = 'a', in_channels = 8, out_channels = 8, size = 6, kernel = 3, padding = 1 }\n" \
             "conv { name = 'b', in_channels = 8, out_channels = 16, size = 6, kernel = 3 }\n"

/* autotune.lua on a tiny config with a small budget, then plan --tuning
** uses its records; an edited record is rejected, a broken file refused. */
static void test_autotune_then_plan(void) {
  char *cfg = tmp_path("tiny.lua"), *db = tmp_path("tiny.db"), args[1024], *out = NULL, *err = NULL;
  char *text;
  if (!osc_test_cli_path()) return;
  write_file(cfg, TINY);
  unlink(db);
  snprintf(args, sizeof args, "script scripts/autotune.lua %s --db %s --budget 0.5", cfg, db);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "layer 2/2 tiny.b"));
  free(out), free(err);
  text = osc_test_slurp(db, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  CU_ASSERT_EQUAL(strchr(strchr(text, '\n') + 1, '\n')[1], '\0');   /* two lines */
  {   /* each with the thread count it measured fastest with */
    osc_tuning *t = NULL;
    osc_error e;
    CU_ASSERT_EQUAL_FATAL(osc_tuning_load(db, &t, &e), OSC_OK);
    for (int i = 0; i < t->n; i++) CU_ASSERT(t->rec[i].threads >= 1);
    osc_tuning_free(t);
  }
  snprintf(args, sizeof args, "plan %s --tuning %s --table", cfg, db);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: layer 'a': tuning record used"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, ":3: layer 'b': tuning record used"));
  free(out), free(err);
  /* a re-run keeps both */
  snprintf(args, sizeof args, "script scripts/autotune.lua %s --db %s --budget 0.5", cfg, db);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "tiny.a: kept the record"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "(0 layer shapes tuned now)"));
  free(out), free(err);
  /* the first record from another osconv version */
  {
    char *v = strstr(text, "\"osconv\":\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    v[10] = v[10] == '9' ? '8' : '9';
    write_file(db, text);
  }
  snprintf(args, sizeof args, "run %s --tuning %s --min-time 0", cfg, db);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "tuning record rejected: it comes from another osconv version"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "tuning record used"));
  free(out), free(err);
  write_file(db, "{}\n");
  snprintf(args, sizeof args, "gen %s --tuning %s -o %s", cfg, db, "/dev/null/x");
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "tiny.db:1: "));
  CU_ASSERT_STRING_EQUAL(out, "");
  free(out), free(err), free(text), free(cfg), free(db);
}

/* The chosen point of every panel of the SVG at `svg` is the record
** `db` holds for that layer: its MACs and its median, exactly. */
static void check_svg_against(const char *svg_path, const osc_tuning *db) {
  char *svg = osc_test_slurp(svg_path, NULL), *p;
  int chosen = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
  CU_ASSERT(!strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
  for (p = svg; (p = strstr(p, "class=\"point chosen")); p++) {
    const char *m = strstr(p, "data-macs=\""), *t = strstr(p, "data-median=\"");
    long long macs = m ? strtoll(m + 11, NULL, 10) : -1;
    double median = t ? strtod(t + 13, NULL) : -1;
    int found = 0;
    for (int i = 0; i < db->n; i++)
      found |= db->rec[i].macs == macs && db->rec[i].median_s == median;
    CU_ASSERT(found);
    chosen++;
  }
  CU_ASSERT_EQUAL(chosen, db->n);
  if (access("/usr/bin/python3", X_OK) == 0) {   /* well-formed XML */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' %s",
             svg_path);
    CU_ASSERT_EQUAL(system(cmd), 0);
  }
  free(svg);
}

/* --job 1/2 and 2/2 cover the shapes once each; --merge combines them
** (in either order, the same bytes); --svg draws what was chosen;
** --recheck re-times every record. */
static void test_jobs_merge_svg(void) {
  char *cfg = tmp_path("jobs.lua"), *j1 = tmp_path("j1.jsonl"), *j2 = tmp_path("j2.jsonl");
  char *m12 = tmp_path("m12.jsonl"), *m21 = tmp_path("m21.jsonl"), *svg = tmp_path("svg");
  char args[2048], *out = NULL, *err = NULL, *a, *b, *svg_file;
  osc_tuning *t1 = NULL, *t2 = NULL, *m = NULL;
  osc_error e;
  if (!osc_test_cli_path()) return;
  write_file(cfg, TINY);
  unlink(j1), unlink(j2);
  snprintf(args, sizeof args, "mkdir -p %s", svg);
  CU_ASSERT_EQUAL(system(args), 0);
  for (int j = 1; j <= 2; j++) {
    snprintf(args, sizeof args, "script scripts/autotune.lua %s --job %d/2 --db %s --budget 0.3 --svg %s",
             cfg, j, j == 1 ? j1 : j2, svg);
    CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "layer 1/1 tiny."));
    free(out), free(err);
  }
  CU_ASSERT_EQUAL_FATAL(osc_tuning_load(j1, &t1, &e), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_tuning_load(j2, &t2, &e), OSC_OK);
  CU_ASSERT(t1->n == 1 && t2->n == 1 && !osc_tune_find(t1, &t2->rec[0].layer));
  svg_file = malloc(strlen(svg) + 16);
  sprintf(svg_file, "%s/tiny.svg", svg);
  check_svg_against(svg_file, t2);   /* job 2 drew last */
  snprintf(args, sizeof args, "script scripts/autotune.lua --merge %s %s %s", m12, j1, j2);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, NULL), 0);
  snprintf(args, sizeof args, "script scripts/autotune.lua --merge %s %s %s", m21, j2, j1);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, NULL), 0);
  a = osc_test_slurp(m12, NULL), b = osc_test_slurp(m21, NULL);
  CU_ASSERT(a && b && !strcmp(a, b));
  CU_ASSERT_EQUAL_FATAL(osc_tuning_load(m12, &m, &e), OSC_OK);
  CU_ASSERT_EQUAL(m->n, 2);
  snprintf(args, sizeof args, "script scripts/autotune.lua %s --db %s --recheck --budget 0.2", cfg, m12);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "recheck: 2 shapes ("));
  free(out), free(err), free(a), free(b), free(svg_file);
  osc_tuning_free(t1), osc_tuning_free(t2), osc_tuning_free(m);
  free(cfg), free(j1), free(j2), free(m12), free(m21), free(svg);
}

/* NULL arguments do what osconv.h says; rigor estimate is osc_plan_layer;
** measure picks one of the candidates, and it matches the reference. */
static void test_rigor_and_nulls(void) {
  osc_layer l = layer(8, 8, 6, 3, 1, 1);
  osc_plan p, q, c[OSC_MAX_CANDIDATES];
  osc_tuning *t = (osc_tuning *)&l;
  osc_tuning_verdict v;
  osc_kernel *k = NULL;
  osc_error err;
  char note[300];
  double rel, max;
  int n, found = 0;
  CU_ASSERT_EQUAL(osc_tuning_load(NULL, &t, &err), OSC_EINVAL);
  CU_ASSERT_PTR_NULL(t);
  CU_ASSERT_EQUAL(osc_tuning_load("x", NULL, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_tuning_save(NULL, "x", &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_tuning_count(NULL), 0);
  osc_tuning_free(NULL);
  CU_ASSERT_EQUAL(osc_tuning_lookup(NULL, &l, &p, &v, NULL, 0, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_plan_layer_rigor(NULL, OSC_RIGOR_MEASURE, 1, &p, NULL, 0, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_plan_layer_rigor(&l, OSC_RIGOR_MEASURE, 0, &p, NULL, 0, &err), OSC_EINVAL);
  CU_ASSERT_EQUAL(osc_plan_layer_rigor(&l, OSC_RIGOR_MEASURE, 1, NULL, NULL, 0, NULL), OSC_EINVAL);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_rigor(&l, OSC_RIGOR_ESTIMATE, 0, &p, NULL, 0, &err), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer(&l, &q, &err), OSC_OK);
  CU_ASSERT(p.macs == q.macs && p.n_stages == q.n_stages && p.mode == q.mode);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_rigor(&l, OSC_RIGOR_MEASURE, 0.05, &p, note, sizeof note, &err), OSC_OK);
  CU_ASSERT_PTR_NOT_NULL(strstr(note, "candidates"));
  n = osc_candidates(&l, l.max_stages, c, &err);
  CU_ASSERT(n >= 3);
  for (int i = 0; i < n; i++)
    found |= c[i].macs == p.macs && c[i].n_stages == p.n_stages &&
             c[i].stage[0].groups == p.stage[0].groups && c[i].stage[0].k_h == p.stage[0].k_h;
  CU_ASSERT(found);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, NULL, &k, &err), OSC_OK);
  CU_ASSERT_EQUAL(osc_verify_kernel(k, 2, 7, &rel, &max, &err), OSC_OK);
  CU_ASSERT(rel < OSC_VERIFY_TOLERANCE);
  osc_kernel_free(k);
}

/* A residual layer is measured and verified through osc_kernel_run_residual
** (osc_kernel_run refuses it: before, no candidate could be timed). */
static void test_rigor_residual(void) {
  osc_layer l = layer(8, 8, 6, 3, 1, 1);
  osc_measure_options o = OSC_MEASURE_DEFAULTS;
  osc_timing t;
  osc_kernel *k = NULL;
  osc_error err;
  osc_plan p;
  char note[300];
  double rel, max;
  l.residual = 1;
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_rigor(&l, OSC_RIGOR_MEASURE, 0.05, &p, note, sizeof note,
                                             &err), OSC_OK);
  CU_ASSERT_EQUAL(p.layer.residual, 1);
  CU_ASSERT_EQUAL_FATAL(osc_kernel_create(&p, NULL, &k, &err), OSC_OK);
  o.budget_s = 0.01;
  CU_ASSERT_EQUAL(osc_measure_kernel(k, &o, &t, &err), OSC_OK);
  CU_ASSERT(t.reps >= 1 && t.median > 0);
  CU_ASSERT_EQUAL(osc_verify_kernel(k, 2, 7, &rel, &max, &err), OSC_OK);
  CU_ASSERT(rel < OSC_VERIFY_TOLERANCE);
  osc_kernel_free(k);
}

/* plan --rigor measure says so per layer; a bad --rigor is a usage error */
static void test_rigor_cli(void) {
  char *cfg = tmp_path("rigor.lua"), args[1024], *out = NULL, *err = NULL;
  if (!osc_test_cli_path()) return;
  write_file(cfg, TINY);
  snprintf(args, sizeof args, "plan %s --rigor measure --budget 0.05 --table", cfg);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: layer 'a': measured "));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, ":3: layer 'b': measured "));
  free(out), free(err);
  snprintf(args, sizeof args, "gen %s --rigor fast -o /dev/null", cfg);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "--rigor 'fast': expected estimate or measure"));
  free(out), free(err), free(cfg);
}

/* Ctrl-C (SIGINT) once the first of three shapes is recorded: the
** database holds it, nothing half-written is left beside it, and a re-run
** keeps it and tunes the rest. The layers are big enough that each shape
** takes its share of the budget (2 s) to time. */
static void test_interrupt_keeps_measured(void) {
  char *cfg = tmp_path("int.lua"), *db = tmp_path("int.jsonl"), list[1024], dir[512];
  char args[1024], *out = NULL, *err = NULL;
  const char *cli = osc_test_cli_path();
  osc_tuning *t = NULL;
  struct stat st;
  osc_error e;
  pid_t pid;
  int status = 0;
  if (!cli) return;
  write_file(cfg, "network { name = 'n' }\n"
                  "conv { name = 'a', in_channels = 32, out_channels = 32, size = 24, kernel = 3, padding = 1 }\n"
                  "conv { name = 'b', in_channels = 32, out_channels = 64, size = 24, kernel = 3, padding = 1 }\n"
                  "conv { name = 'c', in_channels = 64, out_channels = 64, size = 12, kernel = 3, padding = 1 }\n");
  unlink(db);
  pid = fork();
  CU_ASSERT_FATAL(pid >= 0);
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
    signal(SIGINT, SIG_DFL);
    execl(cli, cli, "script", "scripts/autotune.lua", cfg, "--db", db, "--budget", "6", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 1200 && !(stat(db, &st) == 0 && st.st_size > 0); i++) usleep(50000);
  kill(pid, SIGINT);
  CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
  CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
  CU_ASSERT_EQUAL_FATAL(osc_tuning_load(db, &t, &e), OSC_OK);
  CU_ASSERT(t->n >= 1 && t->n < 3);
  osc_tuning_free(t);
  snprintf(dir, sizeof dir, "%s", db);
  *strrchr(dir, '/') = '\0';
  osc_test_list_dir(dir, list, sizeof list);
  CU_ASSERT_PTR_NULL(strstr(list, ".tmp"));
  snprintf(args, sizeof args, "script scripts/autotune.lua %s --db %s --budget 0.3", cfg, db);
  CU_ASSERT_EQUAL(osc_test_cli("", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "kept the record"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, ": 3 records"));
  free(out), free(err), free(cfg), free(db);
}

/* run --tuning makes each layer's kernel with its record's ISA and threads:
** OSCONV_VERBOSE's kernel line says isa c and 2 threads (the layer is big
** enough for the runtime to split it in two), where without the record it
** says the CPU's best; a record whose ISA OSCONV_ISA caps off is rejected. */
static void test_run_uses_variant(void) {
  char *cfg = tmp_path("var.lua"), *db = tmp_path("var.jsonl"), args[1024], *out = NULL, *err = NULL;
  osc_config *c = NULL;
  osc_tuning *t = osc_tune_new();
  osc_tune_record r;
  osc_plan p;
  osc_error e;
  if (!osc_test_cli_path()) return;
  write_file(cfg, "network { name = 'v' }\n"
                  "conv { name = 'big', in_channels = 32, out_channels = 32, size = 16, kernel = 3, padding = 1 }\n");
  CU_ASSERT_EQUAL_FATAL(osc_config_load(cfg, NULL, &c, &e), OSC_OK);
  CU_ASSERT_EQUAL_FATAL(osc_plan_layer_mode(&c->networks[0].layers[0], OSC_MODE_CONVENTIONAL, &p, &e), OSC_OK);
  osc_tune_record_make(&p, "c", 2, NULL, 1e-3, 1e-5, 5, &r);
  CU_ASSERT_EQUAL_FATAL(osc_tune_put(t, &r), 1);
  CU_ASSERT_EQUAL_FATAL(osc_tuning_save(t, db, &e), OSC_OK);
  snprintf(args, sizeof args, "run %s --tuning %s --min-time 0", cfg, db);
  CU_ASSERT_EQUAL(osc_test_cli("OSCONV_VERBOSE=1 OSCONV_NUM_THREADS=1", args, &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: layer 'big': tuning record used: conventional 3x3/g1, isa c, 2 threads"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "osconv: kernel 'big' 3x3/g1 [conventional]: jit, cache miss, isa c,"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, ", threads 2, "));
  if (!strstr(err, ", threads 2, ")) printf("\n%s\n", err);
  free(out), free(err);
  if (osc_isa_host() > OSC_ISA_C) {   /* without the record: the CPU's best, one thread */
    snprintf(args, sizeof args, "run %s --min-time 0", cfg);
    CU_ASSERT_EQUAL(osc_test_cli("OSCONV_VERBOSE=1 OSCONV_NUM_THREADS=1", args, &out, &err), 0);
    CU_ASSERT_PTR_NULL(strstr(err, "isa c,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ", threads 1, "));
    free(out), free(err);
    snprintf(t->rec[0].isa, sizeof t->rec[0].isa, "%s", osc_isa_name(osc_isa_host()));
    CU_ASSERT_EQUAL_FATAL(osc_tuning_save(t, db, &e), OSC_OK);
    snprintf(args, sizeof args, "run %s --tuning %s --min-time 0", cfg, db);
    CU_ASSERT_EQUAL(osc_test_cli("OSCONV_ISA=c", args, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "layer 'big': tuning record rejected: its isa "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "; planned as the config says"));
    free(out), free(err);
  }
  osc_config_free(c), osc_tuning_free(t);
  free(cfg), free(db);
}

/* The Lua API's own checks (tests/tune/api.lua) through `osconv script`. */
static void test_lua_api(void) {
  char *out = NULL, *err = NULL;
  if (!osc_test_cli_path()) return;
  CU_ASSERT_EQUAL(osc_test_cli("", "script tests/tune/api.lua examples/default.lua", &out, &err), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "api.lua: ok"));
  if (!strstr(out ? out : "", "api.lua: ok")) printf("\n%s\n%s\n", out, err);
  free(out), free(err);
}

static CU_TestInfo tests[] = {
    {"database round-trips exactly, in key order", test_round_trip},
    {"a hand-written record reads as documented", test_hand_written_line},
    {"a record's ISA and threads make the kernel", test_variant_applied},
    {"records from another machine, version or compiler are refused", test_refused_elsewhere},
    {"a malformed database loads nothing and names the line", test_malformed},
    {"merge keeps the faster record, associative and commutative", test_merge},
    {"autotune.lua writes a database plan/run/gen --tuning use", test_autotune_then_plan},
    {"autotune.lua --job, --merge, --svg, --recheck", test_jobs_merge_svg},
    {"Ctrl-C keeps what was measured; a re-run continues", test_interrupt_keeps_measured},
    {"run --tuning makes the record's ISA and threads", test_run_uses_variant},
    {"Lua API: results and error paths", test_lua_api},
    {"rigor estimate and measure; NULL arguments", test_rigor_and_nulls},
    {"rigor measure of a residual layer", test_rigor_residual},
    {"plan|gen --rigor", test_rigor_cli},
    CU_TEST_INFO_NULL,
};
OSC_SUITE("tune", tests)

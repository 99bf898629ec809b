/*
** test_files.c -- the file-safety rules of README "Files": what an output
** may be (decided on paths in a temp dir, and by gen and exec), symlinks,
** and what an interrupted gen or exec leaves: the CLI runs as a child,
** stops at a test pause point (OSCONV_TEST_PAUSE_AT) in the middle of a
** write, and is killed there with SIGTERM or SIGKILL.
*/
#define _DEFAULT_SOURCE   /* mkdtemp, realpath, setenv */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "osc_cli.h"
#include "osc_test.h"
#include "oscfile.h"
#include "oscnpy.h"

static const char two_nets[] =
    "network { name = 'alpha' }\n"
    "conv { name = 'a', in_channels = 8, out_channels = 8, size = 6, kernel = 3, padding = 1 }\n"
    "network { name = 'beta' }\n"
    "conv { name = 'b', in_channels = 4, out_channels = 4, size = 5, kernel = 3 }\n";

static const char tiny[] =
    "conv { name = 'tiny', in_channels = 1, out_channels = 1, size = 2, kernel = 1,\n"
    "       mode = 'conventional' }\n";

static int put_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  int ok = f && fputs(text, f) >= 0;
  if (f && fclose(f)) ok = 0;
  return ok ? 0 : -1;
}

/* `want` ending in '*' is a prefix. */
static void expect_listing(const char *dir, const char *want) {
  char got[4096];
  size_t n = strlen(want);
  int ok;
  osc_test_list_dir(dir, got, sizeof got);
  ok = n && want[n - 1] == '*' ? !strncmp(got, want, n - 1) : !strcmp(got, want);
  if (!ok) fprintf(stderr, "\n%s holds '%s', expected '%s'\n", dir, got, want);
  CU_ASSERT(ok);
}

/* A fresh temp dir with `x.npy` (1, 2, 2), `w.npy` (1 weight) and
** `tiny.lua`, `nets.lua`; and its subdirectories out/ and tmp/. */
typedef struct box { char dir[64], out[80], tmp[80], x[80], w[80], tiny[80], nets[80]; } box;

static int box_open(box *b) {
  osc_error err;
  size_t xs[3] = {1, 2, 2}, wn = 1;
  float v[4] = {1, 2, 3, 4};
  snprintf(b->dir, sizeof b->dir, "/tmp/osconv-files-XXXXXX");
  if (!mkdtemp(b->dir)) return -1;
  snprintf(b->out, sizeof b->out, "%s/out", b->dir);
  snprintf(b->tmp, sizeof b->tmp, "%s/tmp", b->dir);
  snprintf(b->x, sizeof b->x, "%s/x.npy", b->dir);
  snprintf(b->w, sizeof b->w, "%s/w.npy", b->dir);
  snprintf(b->tiny, sizeof b->tiny, "%s/tiny.lua", b->dir);
  snprintf(b->nets, sizeof b->nets, "%s/nets.lua", b->dir);
  if (mkdir(b->out, 0777) || mkdir(b->tmp, 0777) || put_text(b->tiny, tiny) ||
      put_text(b->nets, two_nets) || osc_npy_write(b->x, 3, xs, v, &err) ||
      osc_npy_write(b->w, 1, &wn, v, &err))
    return -1;
  return 0;
}

/* Everything under the box goes (the tests check what is there first). */
static void box_close(box *b) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
}

/* ---- what an output may be -------------------------------------------------------- */

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
         a->st_rdev == b->st_rdev;
}

/* osc_file_target on `path`: its kind, or -1 with the message containing `why`. */
static int kind_of(const char *path, int streams, const char *why, char **real) {
  osc_out_kind kind;
  osc_error err;
  struct stat before, after;
  int had = lstat(path, &before) == 0;
  osc_status s = osc_file_target(path, streams, &kind, real, &err);
  /* deciding changes nothing */
  CU_ASSERT(had ? lstat(path, &after) == 0 && same_file(&before, &after)
                : lstat(path, &after) != 0);
  if (s) {
    if (!why || !strstr(err.msg, why))
      fprintf(stderr, "\n%s: '%s' lacks '%s'\n", path, err.msg, why ? why : "(accepted)");
    CU_ASSERT(why && strstr(err.msg, why) && !strncmp(err.msg, path, strlen(path)));
    CU_ASSERT_PTR_NULL(*real);
    return -1;
  }
  CU_ASSERT_PTR_NULL(why);
  CU_ASSERT_PTR_NOT_NULL(*real);
  return (int)kind;
}

/* A block device under /dev, if this machine shows one. */
static int find_block_device(char *path, size_t size) {
  DIR *d = opendir("/dev");
  struct dirent *de;
  struct stat st;
  int found = 0;
  while (d && !found && (de = readdir(d))) {
    snprintf(path, size, "/dev/%.*s", (int)(size > 6 ? size - 6 : 0), de->d_name);
    found = lstat(path, &st) == 0 && S_ISBLK(st.st_mode);
  }
  if (d) closedir(d);
  return found;
}

static void test_output_targets(void) {
  box b;
  char p[128], q[128], fifo[128], sock[128], *real = NULL, *want;
  struct sockaddr_un addr;
  int fd;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  snprintf(p, sizeof p, "%s/new.npy", b.out);
  CU_ASSERT_EQUAL(kind_of(p, 1, NULL, &real), OSC_OUT_NEW);
  CU_ASSERT(real && !strcmp(real, p));
  free(real);
  CU_ASSERT_EQUAL(kind_of(b.x, 0, NULL, &real), OSC_OUT_REPLACE);
  CU_ASSERT(real && !strcmp(real, b.x));
  free(real);
  /* a symlink to a regular file: its target is what gets replaced */
  snprintf(p, sizeof p, "%s/link.npy", b.out);
  CU_ASSERT_EQUAL_FATAL(symlink("../x.npy", p), 0);
  want = realpath(b.x, NULL);
  CU_ASSERT_EQUAL(kind_of(p, 0, NULL, &real), OSC_OUT_REPLACE);
  CU_ASSERT(real && want && !strcmp(real, want));
  free(real);
  free(want);
  snprintf(q, sizeof q, "%s/dangling.npy", b.out);
  CU_ASSERT_EQUAL_FATAL(symlink("nowhere/y.npy", q), 0);
  CU_ASSERT_EQUAL(kind_of(q, 1, "a symlink that leads nowhere", &real), -1);
  /* FIFO: written in place where streams are allowed (exec), else refused */
  snprintf(fifo, sizeof fifo, "%s/pipe", b.out);
  CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
  CU_ASSERT_EQUAL(kind_of(fifo, 1, NULL, &real), OSC_OUT_STREAM);
  free(real);
  CU_ASSERT_EQUAL(kind_of(fifo, 0, "is a FIFO (named pipe); it is left alone", &real), -1);
  snprintf(p, sizeof p, "%s/to-pipe", b.out);
  CU_ASSERT_EQUAL_FATAL(symlink("pipe", p), 0);
  CU_ASSERT_EQUAL(kind_of(p, 1, NULL, &real), OSC_OUT_STREAM);
  free(real);
  CU_ASSERT_EQUAL(kind_of(p, 0, "is a FIFO (named pipe) (through a symlink)", &real), -1);
  /* never anything else */
  CU_ASSERT_EQUAL(kind_of(b.tmp, 1, "is a directory; it is left alone: an output must be a new "
                                    "name or a regular file, a character device or a FIFO",
                          &real), -1);
  snprintf(sock, sizeof sock, "%s/sock", b.out);
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%.100s", sock);
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  CU_ASSERT_EQUAL(kind_of(sock, 1, "is a socket", &real), -1);
  close(fd);
  /* devices: only looked at (kind_of checks they are unchanged) */
  CU_ASSERT_EQUAL(kind_of("/dev/null", 1, NULL, &real), OSC_OUT_STREAM);
  free(real);
  CU_ASSERT_EQUAL(kind_of("/dev/null", 0, "is a character device", &real), -1);
  if (find_block_device(p, sizeof p)) {
    CU_ASSERT_EQUAL(kind_of(p, 1, "is a block device", &real), -1);
  } else {
    fprintf(stderr, "\n  (no block device in /dev: that case not checked)\n");
  }
  box_close(&b);
}

/* ---- exec and gen on such outputs ---------------------------------------------------- */

static int exec_to(const box *b, const char *output, char **msg) {
  char args[600];
  snprintf(args, sizeof args, "exec '%s' --layer tiny --input '%s' --weights '%s' --output '%s' "
           "--jit", b->tiny, b->x, b->w, output);
  return osc_test_cli("", args, NULL, msg);
}

/* The tiny layer's result is its input (a 1x1 conv with weight 1). */
static int is_tiny_result(const char *bytes, size_t len) {
  osc_npy y;
  osc_error err;
  int ok = osc_npy_parse("y", bytes, len, &y, &err) == OSC_OK && y.count == 4 &&
           y.data[0] == 1 && y.data[3] == 4;
  osc_npy_free(&y);
  return ok;
}

static void test_exec_outputs(void) {
  box b;
  char fifo[128], p[128], target[128], got[4096], *msg = NULL, *text;
  struct stat before, after;
  ssize_t n;
  size_t len;
  int fd;
  if (!osc_test_cli_path()) return;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  /* a FIFO is written in place and stays a FIFO */
  snprintf(fifo, sizeof fifo, "%s/y.pipe", b.out);
  CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
  CU_ASSERT_EQUAL_FATAL(stat(fifo, &before), 0);
  fd = open(fifo, O_RDONLY | O_NONBLOCK);   /* the reader, so exec's open does not wait */
  CU_ASSERT_EQUAL(exec_to(&b, fifo, &msg), 0);
  free(msg);
  n = read(fd, got, sizeof got);
  close(fd);
  CU_ASSERT(n > 0 && is_tiny_result(got, (size_t)n));
  CU_ASSERT(stat(fifo, &after) == 0 && S_ISFIFO(after.st_mode) && same_file(&before, &after));
  /* /dev/null: written in place, never replaced (its inode and device stay) */
  CU_ASSERT_EQUAL_FATAL(stat("/dev/null", &before), 0);
  CU_ASSERT_EQUAL(exec_to(&b, "/dev/null", &msg), 0);
  free(msg);
  CU_ASSERT(stat("/dev/null", &after) == 0 && S_ISCHR(after.st_mode) &&
            same_file(&before, &after));
  /* a directory is refused and left as it was */
  CU_ASSERT_EQUAL(exec_to(&b, b.tmp, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "tmp: is a directory; it is left alone"));
  free(msg);
  /* a symlink: its target gets the result, the link stays a link */
  snprintf(target, sizeof target, "%s/real.npy", b.dir);
  put_text(target, "old");
  snprintf(p, sizeof p, "%s/y.npy", b.out);
  CU_ASSERT_EQUAL_FATAL(symlink("../real.npy", p), 0);
  CU_ASSERT_EQUAL(exec_to(&b, p, &msg), 0);
  free(msg);
  CU_ASSERT(lstat(p, &after) == 0 && S_ISLNK(after.st_mode));
  text = osc_test_slurp(target, &len);
  CU_ASSERT(text && is_tiny_result(text, len));
  free(text);
  unlink(p);
  CU_ASSERT_EQUAL_FATAL(symlink("../none/y.npy", p), 0);
  CU_ASSERT_EQUAL(exec_to(&b, p, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "y.npy: a symlink that leads nowhere"));
  free(msg);
  unlink(p);
  expect_listing(b.out, "y.pipe");
  expect_listing(b.dir, "nets.lua out real.npy tiny.lua tmp w.npy x.npy");
  box_close(&b);
}

/* gen refuses an output that is a FIFO and follows a symlinked one. */
static void test_gen_outputs(void) {
  box b;
  char p[128], target[128], args[600], *msg = NULL, *text;
  struct stat st;
  if (!osc_test_cli_path()) return;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  snprintf(p, sizeof p, "%s/beta.h", b.out);
  CU_ASSERT_EQUAL_FATAL(mkfifo(p, 0600), 0);
  snprintf(args, sizeof args, "gen '%s' -o '%s'", b.nets, b.out);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, &msg), 1);
  CU_ASSERT(msg && strstr(msg, "beta.h: is a FIFO (named pipe); it is left alone: an output "
                               "must be a new name or a regular file\n"));
  free(msg);
  CU_ASSERT(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
  expect_listing(b.out, "beta.h");
  unlink(p);
  snprintf(target, sizeof target, "%s/alpha-real.c", b.dir);
  put_text(target, "old");
  snprintf(p, sizeof p, "%s/alpha.c", b.out);
  CU_ASSERT_EQUAL_FATAL(symlink("../alpha-real.c", p), 0);
  CU_ASSERT_EQUAL(osc_test_cli("", args, NULL, &msg), 0);
  free(msg);
  CU_ASSERT(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
  text = osc_test_slurp(target, NULL);
  CU_ASSERT(text && strstr(text, "void alpha_a("));
  free(text);
  expect_listing(b.out, "alpha.c alpha.h beta.c beta.h");
  box_close(&b);
}

/* gen keeps two unnamed files open per network until it commits; past the
** open-file limit (less a reserve) it stages named hidden files instead:
** 60 networks (120 files) under `ulimit -n 100` all land, and nothing
** else is left. */
static void test_gen_many_networks(void) {
  box b;
  char cfg[128], args[600], want[4096], *msg = NULL;
  size_t len = 0;
  FILE *f;
  if (!osc_test_cli_path()) return;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  snprintf(cfg, sizeof cfg, "%s/many.lua", b.dir);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(cfg, "w"));
  fprintf(f, "for i = 10, 69 do\n  network { name = 'n' .. i }\n"
             "  conv { name = 'c', in_channels = 1, out_channels = 1, size = 2, kernel = 1 }\n"
             "end\n");
  fclose(f);
  for (int i = 10; i < 70; i++)
    len += (size_t)snprintf(want + len, sizeof want - len, "%sn%d.c n%d.h", i > 10 ? " " : "", i,
                            i);
  snprintf(args, sizeof args, "gen '%s' -o '%s'", cfg, b.out);
  CU_ASSERT_EQUAL(osc_test_cli("ulimit -n 100;", args, NULL, &msg), 0);
  if (msg && *msg) fprintf(stderr, "\n%s", msg);
  free(msg);
  expect_listing(b.out, want);
  box_close(&b);
}

/* ---- interrupted -------------------------------------------------------------------- */

typedef struct child { pid_t pid; int in, err; } child;

/* Start the CLI with `env` settings ("NAME=value", NULL-ended) added, its
** stdin and stderr on pipes, its stdout on /dev/null. */
static int start(child *c, const char *const *env, const char *const *argv) {
  int in[2], er[2];
  const char *cli = osc_test_cli_path();
  if (!cli || pipe(in) || pipe(er)) return -1;
  if ((c->pid = fork()) < 0) return -1;
  if (c->pid == 0) {
    char *args[16];
    int n = 0, null = open("/dev/null", O_WRONLY);
    dup2(in[0], 0);
    dup2(er[1], 2);
    dup2(null, 1);
    for (const char *const *e = env; *e; e++) putenv((char *)*e);
    args[n++] = (char *)cli;
    for (; *argv && n < 15; argv++) args[n++] = (char *)*argv;
    args[n] = NULL;
    closefrom(3);
    execv(cli, args);
    _exit(127);
  }
  close(in[0]);
  close(er[1]);
  c->in = in[1];
  c->err = er[0];
  return 0;
}

/* Read its stderr until `line` has appeared (60 s at most). */
static int await_line(const child *c, const char *line) {
  static char buf[8192];
  size_t n = 0;
  struct pollfd p = {c->err, POLLIN, 0};
  buf[0] = '\0';
  while (!strstr(buf, line) && n + 1 < sizeof buf && poll(&p, 1, 60000) > 0) {
    ssize_t r = read(c->err, buf + n, sizeof buf - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
    buf[n] = '\0';
  }
  if (!strstr(buf, line)) fprintf(stderr, "\nno '%s' from the CLI; it said '%s'\n", line, buf);
  return strstr(buf, line) ? 0 : -1;
}

/* Its wait status, killed after 30 s if it has not ended by then. */
static int finish(child *c) {
  int status = 0;
  struct timespec tick = {0, 10 * 1000 * 1000};
  close(c->in);
  for (int i = 0; i < 3000 && waitpid(c->pid, &status, WNOHANG) == 0; i++) nanosleep(&tick, NULL);
  if (waitpid(c->pid, &status, WNOHANG) == 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, &status, 0);
  }
  close(c->err);
  return status;
}

/* Run the CLI to `point`, check `during` is what `dir` holds there, send
** `sig`, check it died of it. */
static void kill_at(const char *const *env, const char *const *argv, const char *point,
                    int sig, const char *dir, const char *during) {
  child c;
  char line[64];
  int status;
  snprintf(line, sizeof line, "osconv: test pause at %s\n", point);
  CU_ASSERT_EQUAL_FATAL(start(&c, env, argv), 0);
  if (await_line(&c, line) == 0 && during) expect_listing(dir, during);
  kill(c.pid, sig);
  status = finish(&c);
  CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == sig);
}

static void test_gen_interrupted(void) {
  const char *write_at[] = {"OSCONV_TEST_PAUSE_AT=write", NULL};
  const char *named[] = {"OSCONV_TEST_PAUSE_AT=write", "OSCONV_TEST_NO_TMPFILE=1", NULL};
  const int sigs[] = {SIGTERM, SIGKILL, SIGINT};
  box b;
  char new_dir[128];
  if (!osc_test_cli_path()) return;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  {
    const char *argv[] = {"gen", b.nets, "-o", b.out, NULL};
    for (int i = 0; i < 3; i++) {
      /* mid-write alpha.c is unnamed: nothing shows, nothing is left */
      kill_at(write_at, argv, "write", sigs[i], b.out, "");
      expect_listing(b.out, "");
    }
    /* the named fallback: its hidden temp file shows, SIGTERM removes it */
    kill_at(named, argv, "write", SIGTERM, b.out, ".alpha.c.tmp-*");
    expect_listing(b.out, "");
  }
  /* a DIR that gen made goes on SIGTERM; SIGKILL leaves it empty */
  snprintf(new_dir, sizeof new_dir, "%s/made", b.dir);
  {
    const char *argv[] = {"gen", b.nets, "-o", new_dir, NULL};
    kill_at(write_at, argv, "write", SIGTERM, new_dir, "");
    CU_ASSERT_EQUAL(access(new_dir, F_OK), -1);
    kill_at(write_at, argv, "write", SIGKILL, new_dir, "");
    expect_listing(new_dir, "");
  }
  box_close(&b);
}

/* SIGTERM while the files are being put in place waits until all are. */
static void test_gen_commit_holds_signals(void) {
  const char *env[] = {"OSCONV_TEST_PAUSE_AT=commit", NULL};
  box b;
  child c;
  int status;
  char args[600], ref[128], p[160], q[160], *msg = NULL;
  if (!osc_test_cli_path()) return;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  snprintf(ref, sizeof ref, "%s/ref", b.dir);
  snprintf(args, sizeof args, "gen '%s' -o '%s'", b.nets, ref);
  CU_ASSERT_EQUAL_FATAL(osc_test_cli("", args, NULL, &msg), 0);
  free(msg);
  {
    const char *argv[] = {"gen", b.nets, "-o", b.out, NULL};
    CU_ASSERT_EQUAL_FATAL(start(&c, env, argv), 0);
    if (await_line(&c, "osconv: test pause at commit\n") == 0) expect_listing(b.out, "alpha.c");
    kill(c.pid, SIGTERM);
    CU_ASSERT_EQUAL(write(c.in, "go", 1), 1);
    status = finish(&c);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  }
  expect_listing(b.out, "alpha.c alpha.h beta.c beta.h");
  for (int i = 0; i < 4; i++) {
    const char *names[] = {"alpha.c", "alpha.h", "beta.c", "beta.h"};
    char *x, *y;
    size_t lx, ly;
    snprintf(p, sizeof p, "%s/%s", ref, names[i]);
    snprintf(q, sizeof q, "%s/%s", b.out, names[i]);
    x = osc_test_slurp(p, &lx);
    y = osc_test_slurp(q, &ly);
    CU_ASSERT(x && y && lx == ly && !memcmp(x, y, lx));
    free(x);
    free(y);
  }
  box_close(&b);
}

/* Until the compiler in exec's work dir in `tmp` has said "ready" in its
** log, 30 s at most. */
static void wait_for_compiler(const char *tmp) {
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 3000; i++) {
    char name[256], log[400], *text;
    int ready;
    osc_test_list_dir(tmp, name, sizeof name);
    snprintf(log, sizeof log, "%s/%s/cc.log", tmp, name);
    text = strncmp(name, "osconv-exec-", 12) ? NULL : osc_test_slurp(log, NULL);
    ready = text && strstr(text, "ready");
    free(text);
    if (ready) return;
    nanosleep(&tick, NULL);
  }
  CU_FAIL("the compiler did not start");
}

/* beta.c becomes a directory while the files are put in place (after
** alpha.c): alpha.c gets its old content back, alpha.h (new) goes away,
** and no temp or kept file is left. */
static void test_gen_commit_failure(void) {
  const char *env[] = {"OSCONV_TEST_PAUSE_AT=commit", NULL};
  box b;
  child c;
  int status;
  char p[160], *old;
  if (!osc_test_cli_path()) return;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  snprintf(p, sizeof p, "%s/alpha.c", b.out);
  put_text(p, "old alpha.c");
  {
    const char *argv[] = {"gen", b.nets, "-o", b.out, NULL};
    CU_ASSERT_EQUAL_FATAL(start(&c, env, argv), 0);
    await_line(&c, "osconv: test pause at commit\n");
    snprintf(p, sizeof p, "%s/beta.c", b.out);
    CU_ASSERT_EQUAL(mkdir(p, 0777), 0);
    CU_ASSERT_EQUAL(write(c.in, "go", 1), 1);
    CU_ASSERT_EQUAL(await_line(&c, "beta.c: is now a directory; it is left alone; nothing was "
                                   "written"), 0);
    status = finish(&c);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  }
  snprintf(p, sizeof p, "%s/alpha.c", b.out);
  old = osc_test_slurp(p, NULL);
  CU_ASSERT(old && !strcmp(old, "old alpha.c"));
  free(old);
  expect_listing(b.out, "alpha.c beta.c");
  box_close(&b);
}

static void test_exec_interrupted(void) {
  char tmpdir[128], y[128], cc[128], cc_env[160], mark[128], script[400], *said;
  const char *write_at[] = {"OSCONV_TEST_PAUSE_AT=write", tmpdir, NULL};
  const char *compiled[] = {"OSCONV_TEST_PAUSE_AT=compiled", tmpdir, NULL};
  const char *loaded[] = {"OSCONV_TEST_PAUSE_AT=loaded", tmpdir, NULL};
  box b;
  if (!osc_test_cli_path()) return;
  if (box_open(&b)) { CU_FAIL("box"); return; }
  snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", b.tmp);
  snprintf(y, sizeof y, "%s/y.npy", b.out);
  {
    const char *argv[] = {"exec", b.tiny, "--layer", "tiny", "--input", b.x, "--weights", b.w,
                          "--output", y, NULL};
    /* mid-write of y.npy (the work dir is gone by then) */
    kill_at(write_at, argv, "write", SIGTERM, b.out, "");
    kill_at(write_at, argv, "write", SIGKILL, b.out, "");
    expect_listing(b.out, "");
    expect_listing(b.tmp, "");
    /* SIGTERM with the work dir full: it goes */
    kill_at(compiled, argv, "compiled", SIGTERM, b.out, "");
    expect_listing(b.tmp, "");
    expect_listing(b.out, "");
    /* once the kernel is loaded, the dir is gone: even SIGKILL leaves nothing */
    kill_at(loaded, argv, "loaded", SIGKILL, b.tmp, "");
    expect_listing(b.out, "");
  }
  /* SIGTERM while the compiler runs: the compiler is stopped, the dir goes */
  snprintf(cc, sizeof cc, "%s/slow-cc", b.dir);
  snprintf(mark, sizeof mark, "%s/cc-stopped", b.dir);
  snprintf(script, sizeof script, "#!/bin/sh\ntrap 'echo TERM > %s; kill $!; exit 1' TERM\n"
           "sleep 30 &\necho ready\nwait\n", mark);
  put_text(cc, script);
  chmod(cc, 0755);
  snprintf(cc_env, sizeof cc_env, "CC=%s", cc);
  {
    const char *env[] = {tmpdir, cc_env, NULL};
    const char *argv[] = {"exec", b.tiny, "--layer", "tiny", "--input", b.x, "--weights", b.w,
                          "--output", y, NULL};
    child c;
    int status;
    time_t t0;
    CU_ASSERT_EQUAL_FATAL(start(&c, env, argv), 0);
    wait_for_compiler(b.tmp);
    t0 = time(NULL);
    kill(c.pid, SIGTERM);
    status = finish(&c);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CU_ASSERT(time(NULL) - t0 < 10);
    /* the compiler got SIGTERM, which lets a real one remove its temp files */
    said = osc_test_slurp(mark, NULL);
    CU_ASSERT(said && !strcmp(said, "TERM\n"));
    free(said);
    expect_listing(b.tmp, "");
    expect_listing(b.out, "");
  }
  box_close(&b);
}

static CU_TestInfo tests[] = {
    {"what an output may be", test_output_targets},
    {"exec: FIFO, /dev/null, directory, symlinks", test_exec_outputs},
    {"gen: a FIFO refused, a symlink followed", test_gen_outputs},
    {"gen: more files than open descriptors", test_gen_many_networks},
    {"gen: killed mid-write leaves nothing", test_gen_interrupted},
    {"gen: SIGTERM waits for the commit", test_gen_commit_holds_signals},
    {"gen: a failure in the commit puts the old files back", test_gen_commit_failure},
    {"exec: killed mid-write or mid-compile leaves nothing", test_exec_interrupted},
    CU_TEST_INFO_NULL,
};

OSC_SUITE("files", tests)

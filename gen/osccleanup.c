/*
** osccleanup.c -- removing what an interrupted command leaves behind.
** The registry is changed only with the signals blocked, so the handler
** always sees it whole; the handler calls only async-signal-safe
** functions (kill, waitpid, nanosleep, unlink, rmdir, sigaction,
** sigprocmask, raise).
*/
#include "osccleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_SIGNALS ((int)(sizeof signals / sizeof signals[0]))

typedef struct entry { const char *path; int is_dir; } entry;
static entry *entries;
static size_t n_entries, cap_entries;
static volatile pid_t child;

static void signal_set(sigset_t *set) {
  sigemptyset(set);
  for (int i = 0; i < N_SIGNALS; i++) sigaddset(set, signals[i]);
}

void osc_cleanup_hold(sigset_t *saved) {
  sigset_t set;
  signal_set(&set);
  sigprocmask(SIG_BLOCK, &set, saved);
}

void osc_cleanup_release(const sigset_t *saved) { sigprocmask(SIG_SETMASK, saved, NULL); }

/* SIGTERM, up to 2 s to go (200 x 10 ms), then SIGKILL. */
static void stop_child(pid_t pid) {
  struct timespec tick = {0, 10 * 1000 * 1000};
  kill(pid, SIGTERM);
  for (int i = 0; i < 200; i++) {
    if (waitpid(pid, NULL, WNOHANG) != 0) return;
    nanosleep(&tick, NULL);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

static void on_signal(int sig) {
  struct sigaction dfl;
  sigset_t set;
  if (child > 0) stop_child(child);
  for (size_t i = n_entries; i-- > 0;) {
    if (entries[i].is_dir) rmdir(entries[i].path);
    else unlink(entries[i].path);
  }
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, NULL);
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
}

void osc_cleanup_install(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  signal_set(&sa.sa_mask);   /* one handler at a time */
  for (int i = 0; i < N_SIGNALS; i++)
    if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
      sigaction(signals[i], &sa, NULL);
}

int osc_cleanup_add(const char *path, int is_dir) {
  sigset_t saved;
  int r = 0;
  osc_cleanup_hold(&saved);
  if (n_entries == cap_entries) {
    size_t cap = cap_entries ? 2 * cap_entries : 16;
    entry *e = realloc(entries, cap * sizeof *e);
    if (e) {
      entries = e;
      cap_entries = cap;
    }
  }
  if (n_entries < cap_entries) entries[n_entries++] = (entry){path, is_dir};
  else r = -1;
  osc_cleanup_release(&saved);
  return r;
}

void osc_cleanup_forget(const char *path) {
  sigset_t saved;
  osc_cleanup_hold(&saved);
  for (size_t i = n_entries; i-- > 0;)
    if (entries[i].path == path) {
      memmove(entries + i, entries + i + 1, (n_entries - i - 1) * sizeof *entries);
      n_entries--;
      break;
    }
  osc_cleanup_release(&saved);
}

void osc_cleanup_child(pid_t pid) { child = pid; }

/* ---- the test hook ------------------------------------------------------------------ */

static int paused;

int osc_test_pausing(const char *point) {
  const char *at = getenv("OSCONV_TEST_PAUSE_AT");
  return !paused && at && !strcmp(at, point);
}

void osc_test_pause(const char *point) {
  char c;
  if (!osc_test_pausing(point)) return;
  paused = 1;
  fprintf(stderr, "osconv: test pause at %s\n", point);
  fflush(stderr);
  while (read(0, &c, 1) < 0 && errno == EINTR) {}
}

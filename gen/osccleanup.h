/*
** osccleanup.h -- what an interrupted command leaves behind: nothing it
** can help. `gen` and `exec` install handlers for SIGINT, SIGTERM, SIGHUP
** and SIGQUIT (not for one that was ignored when the process started, as
** nohup leaves SIGHUP) that stop a registered child, remove the registered
** paths, and raise the signal again with its default action, so the exit
** status still says what ended the command. SIGKILL cannot be caught:
** what must survive it is arranged so that nothing needs removing
** (oscfile.h: unnamed temp files).
*/
#ifndef OSCCLEANUP_H
#define OSCCLEANUP_H

#include <signal.h>
#include <sys/types.h>

void osc_cleanup_install(void);

/* Remove `path` (a file, or with is_dir an empty directory) if one of the
** signals ends the process; newest first, so a directory's files go before
** it. The string must live until osc_cleanup_forget(path) (same pointer).
** Returns -1 (and registers nothing) only when out of memory. */
int osc_cleanup_add(const char *path, int is_dir);
void osc_cleanup_forget(const char *path);

/* A child process to stop and reap before the paths are removed (SIGTERM,
** so a compiler removes its own temp files, then SIGKILL after 2 s); 0
** for none. */
void osc_cleanup_child(pid_t pid);

/* Hold the signals over a step that must finish once begun (renaming
** files into place); release delivers any that came meanwhile. */
void osc_cleanup_hold(sigset_t *saved);
void osc_cleanup_release(const sigset_t *saved);

/* Test hook, for the interruption tests only: with OSCONV_TEST_PAUSE_AT
** set to `point`, the first call for that point prints "osconv: test pause
** at POINT" on stderr and waits for a byte (or end of file) on stdin.
** osc_test_pausing says whether it would pause, without pausing. */
int osc_test_pausing(const char *point);
void osc_test_pause(const char *point);

#endif

// The minimal init of `skiff run --init` (see cshim_init.h). Only async-signal-safe calls after
// the fork: the container's init stage is single-threaded, but keep it that way regardless.
#define _GNU_SOURCE
#include "cshim_init.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_error(const char *path, int code) {
    const char *prefix = "skiff-init: exec ";
    const char *reason = code == ENOENT ? ": no such file or directory\n" : ": cannot execute\n";
    (void)!write(2, prefix, strlen(prefix));
    (void)!write(2, path, strlen(path));
    (void)!write(2, reason, strlen(reason));
}

int skiff_init_reaper_exec(const char *path, char *const *argv, char *const *envp) {
    sigset_t all, previous;
    sigfillset(&all);
    if (sigprocmask(SIG_SETMASK, &all, &previous) != 0) return -1;
    pid_t child = fork();
    if (child < 0) {
        int code = errno;
        sigprocmask(SIG_SETMASK, &previous, NULL);
        errno = code;
        return -1;
    }
    if (child == 0) {
        if (isatty(0)) {
            // As tini does: the program gets its own process group and the terminal's
            // foreground, so ctrl-c reaches it once, not through PID 1 too.
            setpgid(0, 0);
            signal(SIGTTOU, SIG_IGN);
            tcsetpgrp(0, getpgrp());
            signal(SIGTTOU, SIG_DFL);
        }
        sigprocmask(SIG_SETMASK, &previous, NULL);
        execve(path, argv, envp);
        int code = errno;
        write_error(path, code);
        _exit(code == ENOENT ? 127 : 126);
    }
    // PID 1 holds nothing of the set-up (the exec fifo `start` waits on, the init socket), and
    // `ps` in the container names it for what it is.
    prctl(PR_SET_NAME, (unsigned long)"skiff-init", 0, 0, 0);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        for (;;) {
            int status = 0;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0) break;
            if (pid == child) {
                if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
                if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
            }
        }
    }
}

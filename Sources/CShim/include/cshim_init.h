// The minimal init of `skiff run --init`: PID 1 of the container that reaps zombies and forwards
// signals to the one program it runs. It lives in C because it forks, and it is not a separate
// binary because the image may have no libc to run one.
#ifndef SKIFF_CSHIM_INIT_H
#define SKIFF_CSHIM_INIT_H

/// Forks: the child executes `path` (in its own process group in the terminal's foreground
/// when stdin is a terminal); the caller stays as the container's PID 1, closes every
/// descriptor above 2, and loops on sigwaitinfo: SIGCHLD reaps every exited process, any other
/// signal is forwarded to the child. It exits with the child's status (128 + signal when the
/// child was killed). Returns only when the fork fails (-1, errno set).
int skiff_init_reaper_exec(const char *path, char *const *argv, char *const *envp);

#endif

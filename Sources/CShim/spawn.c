// Cloning into namespaces. Only async-signal-safe system calls run in the children: no malloc,
// no stdio, no Swift. The final child re-executes the runtime binary, which then finishes the
// container set-up as an ordinary, single-threaded Swift process.
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static pid_t raw_clone(unsigned long flags) {
    // Without a new stack the child continues here like fork(), sharing nothing.
    return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// clone3 with CLONE_INTO_CGROUP: the child starts in its cgroup, so nobody has to move it there
// afterwards (a move takes the kernel's threadgroup lock, which first waits for an RCU grace
// period). Like raw_clone, no new stack: the child continues here. -1 if the kernel refuses
// (before 5.7, no permission for the cgroup, a foreign cgroup namespace): the caller falls back.
static pid_t clone_into_cgroup(unsigned long flags, int cgroup_fd) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_INTO_CGROUP;
    // clone3 refuses an exit signal with CLONE_PARENT: the child inherits ours (SIGCHLD).
    args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

static void write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

static void report_and_exit(int fd, int stage, int err) {
    char msg[9];
    int32_t s = stage, e = err;
    msg[0] = 'E';
    memcpy(msg + 1, &s, 4);
    memcpy(msg + 5, &e, 4);
    write_all(fd, msg, sizeof msg);
    _exit(1);
}

static void final_child(const struct skiff_spawn_args *a) {
    int fd = a->sync_fd;
    if (a->sync_fd_target >= 0 && fd != a->sync_fd_target) {
        if (dup2(fd, a->sync_fd_target) < 0) report_and_exit(fd, SKIFF_STAGE_EXEC, errno);
        fd = a->sync_fd_target;
    } else {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    // Everything the caller did not ask to keep is closed on exec.
    unsigned int first = (unsigned int)a->keep_fds_below;
    if ((unsigned int)fd >= first) {
        if (fd > (int)first) syscall(SYS_close_range, first, (unsigned int)fd - 1, CLOSE_RANGE_CLOEXEC);
        syscall(SYS_close_range, (unsigned int)fd + 1, ~0U, CLOSE_RANGE_CLOEXEC);
    } else {
        syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
    }
    if (a->exe_fd >= 0) syscall(SYS_execveat, a->exe_fd, "", a->argv, a->envp, AT_EMPTY_PATH);
    else execve(a->path, a->argv, a->envp);
    report_and_exit(fd, SKIFF_STAGE_EXEC, errno);
}

static void intermediate_child(const struct skiff_spawn_args *a) {
    int fd = a->sync_fd;
    // Every namespace is tried before the user namespace, with the caller's privileges: one
    // owned by another user namespace (a network namespace the engine made as host root for a
    // user-namespaced container) can no longer be joined from inside the container's. What that
    // refuses with EPERM is tried again after the user namespace (a rootless caller owns the
    // container's user namespace, and only gains its powers there). At most 16 are retried.
    int joined_user = 0;
    int retry[16], nretry = 0;
    for (int i = 0; i < a->njoins; i++) {
        if (a->joins[i].nstype == CLONE_NEWUSER) continue;
        if (setns(a->joins[i].fd, a->joins[i].nstype) == 0) continue;
        if (errno != EPERM || nretry == (int)(sizeof retry / sizeof retry[0])) report_and_exit(fd, SKIFF_STAGE_SETNS, errno);
        retry[nretry++] = i;
    }
    for (int i = 0; i < a->njoins; i++) {
        if (a->joins[i].nstype != CLONE_NEWUSER) continue;
        if (setns(a->joins[i].fd, CLONE_NEWUSER) < 0) report_and_exit(fd, SKIFF_STAGE_SETNS, errno);
        joined_user = 1;
    }
    for (int k = 0; k < nretry; k++) {
        if (setns(a->joins[retry[k]].fd, a->joins[retry[k]].nstype) < 0) report_and_exit(fd, SKIFF_STAGE_SETNS, errno);
    }
    // In a joined user namespace our host ids are usually unmapped: become its root, or the
    // exec of the init stage would drop the capabilities that setns gave us. Raw system calls:
    // glibc's versions wait for the parent's other threads, which do not exist here.
    if (joined_user && (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0))
        report_and_exit(fd, SKIFF_STAGE_SETID, errno);
    if (a->new_user_ns) {
        if (unshare(CLONE_NEWUSER) < 0) report_and_exit(fd, SKIFF_STAGE_UNSHARE_USER, errno);
        char c = 'U';
        write_all(fd, &c, 1);
        ssize_t n;
        do { n = read(fd, &c, 1); } while (n < 0 && errno == EINTR);
        if (n != 1) report_and_exit(fd, SKIFF_STAGE_USER_SYNC, n < 0 ? errno : EPIPE);
        if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
            report_and_exit(fd, SKIFF_STAGE_SETID, errno);
    }
    if (a->new_time_ns) {
        if (unshare(CLONE_NEWTIME) < 0) report_and_exit(fd, SKIFF_STAGE_TIME, errno);
        if (a->time_offsets != NULL && a->time_offsets[0] != '\0') {
            int offsets = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
            if (offsets < 0) report_and_exit(fd, SKIFF_STAGE_TIME, errno);
            size_t length = strlen(a->time_offsets);
            if (write(offsets, a->time_offsets, length) != (ssize_t)length) report_and_exit(fd, SKIFF_STAGE_TIME, errno);
            close(offsets);
        }
    }
    pid_t pid = -1;
    char placed = 0;
    if (a->cgroup_fd >= 0) {
        pid = clone_into_cgroup((unsigned long)a->clone_flags | CLONE_PARENT, a->cgroup_fd);
        if (pid >= 0) placed = 1;
    }
    if (pid < 0) pid = raw_clone((unsigned long)a->clone_flags | CLONE_PARENT | SIGCHLD);
    if (pid < 0) report_and_exit(fd, SKIFF_STAGE_CLONE, errno);
    if (pid == 0) final_child(a);
    char msg[6];
    int32_t p = pid;
    msg[0] = 'P';
    memcpy(msg + 1, &p, 4);
    msg[5] = placed;
    write_all(fd, msg, sizeof msg);
    _exit(0);
}

pid_t skiff_spawn(const struct skiff_spawn_args *args) {
    pid_t pid = raw_clone(SIGCHLD);
    if (pid == 0) intermediate_child(args);
    return pid;
}

// A child that dies with the thread that spawned it (PR_SET_PDEATHSIG SIGKILL, checked against a
// parent that died first), for programs that have no such option: QEMU hosting a micro-VM. What
// posix_spawn would do besides (signals back to their defaults and unblocked, stdio from files,
// descriptors at fixed numbers) happens in the child, with async-signal-safe calls only. An exec
// that fails reports its errno through a close-on-exec pipe, as posix_spawn's return does.
pid_t skiff_spawn_dying_with_parent(const char *path, char *const *argv, char *const *envp, const char *stdout_path,
                                    const char *stderr_path, const int *sources, const int *targets, int count) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(report[0]);
        close(report[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        int err = 0;
        int reporter = report[1];
        sigset_t none;
        sigemptyset(&none);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // The report pipe above every number the child is given, so no dup2 below replaces it.
        int moved = fcntl(report[1], F_DUPFD_CLOEXEC, 64);
        if (moved >= 0) reporter = moved;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) goto fail;
        if (getppid() != parent) _exit(127);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int out = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int errfd = stderr_path ? open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : out;
        if (in < 0 || out < 0 || errfd < 0) goto fail;
        // stdio first: the files just opened may have a number the loop below gives away; the
        // loop's sources were moved above every target (and stdio) by the caller.
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0) goto fail;
        for (int i = 0; i < count; i++) {
            if (dup2(sources[i], targets[i]) < 0) goto fail;
        }
        execve(path, argv, envp);
    fail:
        err = errno;
        while (write(reporter, &err, sizeof err) < 0 && errno == EINTR) {}
        _exit(127);
    }
    close(report[1]);
    int err = 0;
    ssize_t n;
    do {
        n = read(report[0], &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof err) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = err;
        return -1;
    }
    return pid;
}

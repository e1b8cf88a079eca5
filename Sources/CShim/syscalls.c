// Thin wrappers for calls Swift cannot make directly: variadic functions, raw syscalls without a
// glibc wrapper, GNU-only declarations and macros.
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/mount.h>
#include <termios.h>

int skiff_send_fds(int sock, const int *fds, int nfds, const void *data, size_t len) {
    struct msghdr msg;
    struct iovec iov;
    char dummy = 0;
    union { char buf[CMSG_SPACE(sizeof(int) * 16)]; struct cmsghdr align; } u;
    if (nfds < 0 || nfds > 16) { errno = EINVAL; return -1; }
    memset(&msg, 0, sizeof msg);
    memset(&u, 0, sizeof u);
    iov.iov_base = len ? (void *)data : &dummy;
    iov.iov_len = len ? len : 1;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

ssize_t skiff_recv_fds(int sock, int *fds, int maxfds, int *nfds, void *data, size_t len) {
    struct msghdr msg;
    struct iovec iov;
    union { char buf[CMSG_SPACE(sizeof(int) * 16)]; struct cmsghdr align; } u;
    if (maxfds > 16) maxfds = 16;
    memset(&msg, 0, sizeof msg);
    iov.iov_base = data;
    iov.iov_len = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    *nfds = 0;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *in = (int *)CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            if (*nfds < maxfds) fds[(*nfds)++] = in[i];
            else close(in[i]);
        }
    }
    return n;
}

int skiff_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}
int skiff_setns(int fd, int nstype) { return setns(fd, nstype); }
int skiff_unshare(int flags) { return unshare(flags); }
int skiff_sethostname(const char *name, size_t len) { return sethostname(name, len); }
int skiff_setdomainname(const char *name, size_t len) { return setdomainname(name, len); }

int skiff_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int skiff_mount_setattr_propagation(int dirfd, const char *path, unsigned int flags, uint64_t propagation) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.propagation = propagation;
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

int skiff_syncfs(int fd) { return syncfs(fd); }

int skiff_bind_onto_itself(int fd) {
    int tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    if (tree < 0) return -1;
    if (syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
        int saved = errno;
        close(tree);
        errno = saved;
        return -1;
    }
    return tree;
}

int skiff_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
int skiff_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}
int skiff_close_range_cloexec(unsigned int first) {
    return (int)syscall(SYS_close_range, first, ~0U, 1U << 2);
}

int skiff_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}

int skiff_capget(uint32_t out[6]) {
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) < 0) return -1;
    out[0] = d[0].effective; out[1] = d[1].effective;
    out[2] = d[0].permitted; out[3] = d[1].permitted;
    out[4] = d[0].inheritable; out[5] = d[1].inheritable;
    return 0;
}

int skiff_capset(const uint32_t in[6]) {
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    d[0].effective = in[0]; d[1].effective = in[1];
    d[0].permitted = in[2]; d[1].permitted = in[3];
    d[0].inheritable = in[4]; d[1].inheritable = in[5];
    return (int)syscall(SYS_capset, &h, d);
}

int skiff_last_cap(void) {
    static int cached = -1;
    if (cached >= 0) return cached;
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) cached = atoi(buf);
    }
    if (cached < 0) cached = CAP_LAST_CAP;
    return cached;
}

long skiff_keyctl_join_session(const char *name) {
    return syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name);
}

int skiff_ioctl_int(int fd, unsigned long request, int value) { return ioctl(fd, request, value); }
int skiff_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

int skiff_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    ws.ws_row = rows;
    ws.ws_col = cols;
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int skiff_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int skiff_set_ctty(int fd) { return ioctl(fd, TIOCSCTTY, 0); }

int skiff_unlockpt(int master) {
    int unlock = 0;
    return ioctl(master, TIOCSPTLCK, &unlock);
}

int skiff_open_pty_peer(int master) {
#ifdef TIOCGPTPEER
    int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) return fd;
#endif
    int n = 0;
    if (ioctl(master, TIOCGPTN, &n) < 0) return -1;
    char path[64];
    snprintf(path, sizeof path, "/dev/pts/%d", n);
    return open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

uint64_t skiff_makedev(unsigned int ma, unsigned int mi) { return (uint64_t)makedev(ma, mi); }
unsigned int skiff_major(uint64_t dev) { return major((dev_t)dev); }
unsigned int skiff_minor(uint64_t dev) { return minor((dev_t)dev); }

int skiff_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
int skiff_open(const char *path, int flags, unsigned int mode) { return open(path, flags, mode); }
int skiff_openat(int dirfd, const char *path, int flags, unsigned int mode) {
    return openat(dirfd, path, flags, mode);
}
int skiff_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int skiff_execve(const char *path, char *const *argv, char *const *envp) { return execve(path, argv, envp); }
int skiff_setresuid(uid_t uid) { return setresuid(uid, uid, uid); }
int skiff_setresgid(gid_t gid) { return setresgid(gid, gid, gid); }


// See idmap_shim.h.
#define _GNU_SOURCE
#include "idmap_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = strlen(text);
    ssize_t written = write(fd, text, length);
    int saved = errno;
    close(fd);
    if (written != (ssize_t)length) {
        errno = written < 0 ? saved : EIO;
        return -1;
    }
    return 0;
}

int skiff_userns_fd(const char *uid_map, const char *gid_map) {
    // `hold` keeps the child (and so the namespace) alive until we have it open; on `report` the
    // child names itself as /proc sees it: the caller may be in a pid namespace of its own (a
    // container's init stage) while /proc still belongs to the host's, where the pid clone
    // returned would name another process.
    int hold[2], report[2];
    if (pipe2(hold, O_CLOEXEC) < 0) return -1;
    if (pipe2(report, O_CLOEXEC) < 0) {
        int saved = errno;
        close(hold[0]);
        close(hold[1]);
        errno = saved;
        return -1;
    }
    pid_t child = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
    if (child < 0) {
        int saved = errno;
        close(hold[0]);
        close(hold[1]);
        close(report[0]);
        close(report[1]);
        errno = saved;
        return -1;
    }
    if (child == 0) {
        char self[32], byte;
        close(hold[1]);
        close(report[0]);
        ssize_t n = readlink("/proc/self", self, sizeof self);
        if (n > 0) (void)!write(report[1], self, (size_t)n);
        close(report[1]);
        while (read(hold[0], &byte, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(hold[0]);
    close(report[1]);
    char name[32];
    size_t length = 0;
    while (length < sizeof name - 1) {
        ssize_t n = read(report[0], name + length, sizeof name - 1 - length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        length += (size_t)n;
    }
    close(report[0]);
    if (length == 0) length = (size_t)snprintf(name, sizeof name, "%d", (int)child);
    name[length] = '\0';

    char path[64];
    int result = -1, saved = 0;
    snprintf(path, sizeof path, "/proc/%s/uid_map", name);
    if (write_file(path, uid_map) == 0) {
        snprintf(path, sizeof path, "/proc/%s/gid_map", name);
        if (write_file(path, gid_map) == 0) {
            snprintf(path, sizeof path, "/proc/%s/ns/user", name);
            result = open(path, O_RDONLY | O_CLOEXEC);
        }
    }
    saved = errno;
    close(hold[1]);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
    errno = saved;
    return result;
}

int skiff_idmapped_bind(const char *source, int target_fd, int userns_fd, int recursive) {
    unsigned int open_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, open_flags);
    if (tree < 0) return 1;
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = (unsigned long long)userns_fd;
    int result = 0;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0) result = 2;
    else if (syscall(SYS_move_mount, tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) result = 3;
    int saved = errno;
    close(tree);
    errno = saved;
    return result;
}

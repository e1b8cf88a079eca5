// See sealed_exe_shim.h.
#define _GNU_SOURCE
#include "sealed_exe_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

int skiff_readonly_overlay(const char *lower, int *step) {
    *step = 1;
    int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0) return -1;
    *step = 2;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0) { int e = errno; close(fs); errno = e; return -1; }
    *step = 3;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) { int e = errno; close(fs); errno = e; return -1; }
    *step = 4;
    int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
    int e = errno;
    close(fs);
    errno = e;
    return mnt;
}

int skiff_memfd_create_sealable(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return fd;
}

int skiff_seal_memfd(int fd) {
    int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    if (fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) == 0) return 0;
    if (errno != EINVAL) return -1;
    return fcntl(fd, F_ADD_SEALS, seals);
}

int skiff_execveat_fd(int fd, char *const *argv, char *const *envp) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

// The init stage (this binary re-executed inside a container, recognised by _SKIFF_INIT_FD)
// turns non-dumpable before anything else runs, C library start-up and Swift's included: while
// dumpable, a process in the container's pid namespace could open /proc/PID/fd/* (the socket to
// the runtime) or attach to it. Constructors run before main, so the window is the kernel's
// execve and the dynamic loader's work only.
__attribute__((constructor)) static void skiff_init_stage_guard(void) {
    if (getenv("_SKIFF_INIT_FD") != NULL) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

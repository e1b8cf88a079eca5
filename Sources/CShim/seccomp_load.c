// See cshim_seccomp.h.
#define _GNU_SOURCE
#include "cshim_seccomp.h"
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int skiff_seccomp_load_program(const void *program, size_t length, unsigned int flags) {
    if (length == 0 || length % sizeof(struct sock_filter) != 0 || length / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        errno = EINVAL;
        return -1;
    }
    struct sock_fprog prog = {
        .len = (unsigned short)(length / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)program,
    };
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc != 0 && errno == ENOSYS && flags == 0) {
        rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
    }
    return rc == 0 ? 0 : -1;
}

int skiff_memfd_create(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

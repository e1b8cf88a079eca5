// Loading an already compiled seccomp filter (classic BPF), so a container start need not run
// libseccomp's compiler when the runtime has the program cached.
#ifndef SKIFF_CSHIM_SECCOMP_H
#define SKIFF_CSHIM_SECCOMP_H

#include <stddef.h>

/// Installs `length` bytes of BPF instructions (struct sock_filter, 8 bytes each) as a seccomp
/// filter of the calling thread with seccomp(2) SECCOMP_SET_MODE_FILTER and `flags`
/// (SECCOMP_FILTER_FLAG_*). Returns 0, or -1 with errno set (EINVAL for a length that is not a
/// whole number of instructions or too long).
int skiff_seccomp_load_program(const void *program, size_t length, unsigned int flags);

/// memfd_create(name, MFD_CLOEXEC): an anonymous file for a compiled program (glibc declares it
/// only under _GNU_SOURCE, which Swift's Glibc module does not see).
int skiff_memfd_create(const char *name);

#endif

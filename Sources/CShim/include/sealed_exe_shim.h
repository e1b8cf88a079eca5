// A read-only reference to the runtime's own binary for re-executing it inside a container
// (the CVE-2019-5736 class: a container must never hold a writable reference to a host binary).
// Only the system calls live here; the choice between them is Swift's (ProtectedExecutable).
#ifndef SKIFF_SEALED_EXE_SHIM_H
#define SKIFF_SEALED_EXE_SHIM_H

/// A detached, read-only overlayfs mount with `lower` as its lowerdir option ("A:B": overlayfs
/// needs two lower layers when it has no upper one), made with the new mount API
/// (fsopen/fsconfig/fsmount, never attached to any mount namespace). Returns the mount's root
/// descriptor (close-on-exec), or -1 with errno set and *step naming the call that failed
/// (1 fsopen, 2 fsconfig lowerdir, 3 fsconfig create, 4 fsmount). An overlay without an upper
/// layer has a read-only superblock: nothing opened through it can be written, whatever the
/// mount flags say, and no remount can change that.
int skiff_readonly_overlay(const char *lower, int *step);

/// memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), with MFD_EXEC where the kernel knows it
/// (6.3+, needed when vm.memfd_noexec forbids executable memfds by default).
int skiff_memfd_create_sealable(const char *name);

/// Seals a memfd against every change: F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
/// (and F_SEAL_EXEC where known, so its mode cannot be changed either). 0 or -1 with errno.
int skiff_seal_memfd(int fd);

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH). Returns only on failure (-1, errno set).
int skiff_execveat_fd(int fd, char *const *argv, char *const *envp);

#endif

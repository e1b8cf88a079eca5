// Calls the image store needs that Swift's Glibc module does not export: xattrs, O_PATH, and
// overlayfs mounts for container root filesystems.
#ifndef SKIFF_CSHIM_IMAGE_H
#define SKIFF_CSHIM_IMAGE_H

#include <stddef.h>
#include <sys/types.h>

/// O_PATH (needs _GNU_SOURCE, which Swift's Glibc import does not define).
int skiff_o_path(void);
int skiff_fsetxattr(int fd, const char *name, const void *value, size_t size);
/// setxattr on a path (following symlinks: used with /proc/self/fd/N of an O_PATH fd).
int skiff_setxattr(const char *path, const char *name, const void *value, size_t size);
ssize_t skiff_lgetxattr(const char *path, const char *name, void *value, size_t size);
ssize_t skiff_llistxattr(const char *path, char *list, size_t size);
/// mount(2) of an overlay filesystem with `options` (lowerdir=...,upperdir=...,workdir=...).
int skiff_mount_overlay(const char *target, const char *options);
/// umount2(target, MNT_DETACH).
int skiff_umount_detach(const char *target);

#endif

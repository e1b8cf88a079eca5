// Wrappers for the image store: xattrs, O_PATH and overlay mounts. See cshim_image.h.
#define _GNU_SOURCE
#include "cshim_image.h"
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/xattr.h>

int skiff_o_path(void) { return O_PATH; }

int skiff_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

int skiff_setxattr(const char *path, const char *name, const void *value, size_t size) {
    return setxattr(path, name, value, size, 0);
}

ssize_t skiff_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}

ssize_t skiff_llistxattr(const char *path, char *list, size_t size) {
    return llistxattr(path, list, size);
}

int skiff_mount_overlay(const char *target, const char *options) {
    return mount("overlay", target, "overlay", 0, options);
}

int skiff_umount_detach(const char *target) {
    return umount2(target, MNT_DETACH);
}

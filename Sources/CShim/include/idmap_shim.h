// Idmapped mounts (OCI mounts[].uidMappings/gidMappings): a user namespace that only carries an
// id mapping, and the new mount API calls that attach a bind mount through it.
#ifndef SKIFF_IDMAP_SHIM_H
#define SKIFF_IDMAP_SHIM_H

/// Makes a user namespace with these uid_map and gid_map texts ("INSIDE OUTSIDE COUNT\n"
/// lines) and returns an open descriptor to it, or -1 with errno set. A short-lived child holds
/// the namespace while the maps are written; only async-signal-safe calls run in it.
int skiff_userns_fd(const char *uid_map, const char *gid_map);

/// Clones the mount tree at `source` (recursively if asked), makes the clone show file owners
/// through the mapping of `userns_fd` (MOUNT_ATTR_IDMAP) and attaches it on the directory or
/// file open as `target_fd` (an O_PATH descriptor is enough).
/// 0, or with errno set the step that failed: 1 open_tree, 2 mount_setattr, 3 move_mount.
int skiff_idmapped_bind(const char *source, int target_fd, int userns_fd, int recursive);

#endif

// Network namespaces for the engine's bridge networking: a new, persisted namespace made
// without forking (a short-lived thread unshares it and bind-mounts its ns file).
#ifndef SKIFF_NETNS_SHIM_H
#define SKIFF_NETNS_SHIM_H

/// Creates a new network namespace, brings its loopback interface up, and bind-mounts the
/// namespace onto `path` (an existing empty regular file) so it lives without any process.
/// The work happens on a dedicated thread (unshare(CLONE_NEWNET) only changes that thread),
/// so the caller's own namespace never changes. Returns 0, or -1 with errno set.
int skiff_netns_create(const char *path);

/// The filesystem type (statfs f_type) of what `path` is on, or -1 with errno set. Swift's Glibc
/// module does not export statfs.
long long skiff_fs_type(const char *path);

/// Makes the tap device `name` (vnet header, no packet info) inside the network namespace at
/// `netns_path` and brings it up; returns its descriptor (close-on-exec), or -1 with errno set.
/// A dedicated thread joins the namespace, so the caller's own namespace never changes. The
/// container-in-a-VM path puts the VM's NIC behind it.
int skiff_tap_open_in_netns(const char *netns_path, const char *name);

/// An AF_INET socket of `type` (SOCK_DGRAM, SOCK_STREAM; close-on-exec) made inside the network
/// namespace at `netns_path`: a socket stays in the namespace it was made in, so binding and
/// serving it from any thread works there. A dedicated thread joins the namespace, so the
/// caller's own namespace never changes. Returns the descriptor, or -1 with errno set. The
/// monitor's embedded DNS listens on 127.0.0.11 in the container's namespace this way.
int skiff_socket_in_netns(const char *netns_path, int type);

#endif

// The C that Swift cannot do itself: clone into namespaces without running Swift in a forked
// child, variadic calls (ioctl, prctl, syscall), and fd passing with SCM_RIGHTS.
#ifndef SKIFF_CSHIM_H
#define SKIFF_CSHIM_H

#include <stdint.h>
#include <sys/types.h>

/// A namespace to join with setns(2) before the container process is cloned.
struct skiff_ns_join {
    int fd;      // an open /proc/PID/ns/* file
    int nstype;  // CLONE_NEW* constant
};

/// Everything `skiff_spawn` needs. All memory is owned by the caller.
struct skiff_spawn_args {
    const char *path;          // program the final child executes (our own binary, re-executed)
    int exe_fd;                // if >= 0: execute this open file (execveat AT_EMPTY_PATH) instead of path
    char *const *argv;
    char *const *envp;
    int clone_flags;           // CLONE_NEW* flags for namespaces created at clone time
    int new_user_ns;           // 1: unshare a user namespace first and wait for the parent to map ids
    const struct skiff_ns_join *joins;
    int njoins;
    int sync_fd;               // the child's end of the socket shared with the parent
    int sync_fd_target;        // fd number the sync socket gets in the final child
    int keep_fds_below;        // fds below this number (stdio, preserved fds) stay open across exec
    int new_time_ns;           // 1: unshare a time namespace for the final child (CLONE_NEWTIME
                               // cannot go to clone: its bit is the exit-signal field there)
    const char *time_offsets;  // if set: written to /proc/self/timens_offsets before the clone
    int cgroup_fd;             // if >= 0: a cgroup2 directory the final child is cloned into
                               // (clone3 CLONE_INTO_CGROUP); plain clone if the kernel refuses
};

/// Forks an intermediate child that joins namespaces, optionally creates a user namespace
/// (writing 'U' on sync_fd and waiting for one byte back once the parent has written the id maps),
/// then clones the final child into the new namespaces as a sibling (CLONE_PARENT), writes its pid
/// ('P' + int32 pid + one byte: 1 if it was cloned into cgroup_fd, 0 if not)
/// as an int32 on sync_fd and exits. The final child executes `path`.
/// Returns the intermediate child's pid, or -1 with errno set.
pid_t skiff_spawn(const struct skiff_spawn_args *args);

/// Runs `path` as a child that gets SIGKILL when the calling thread ends (PR_SET_PDEATHSIG), with
/// signals at their defaults, stdin /dev/null, stdout (and stderr, or stdout again when
/// `stderr_path` is NULL) truncated files, and `sources[i]` at `targets[i]` (each source above
/// every target and 2). Returns the child's pid, or -1 with errno set (the exec's when it failed).
pid_t skiff_spawn_dying_with_parent(const char *path, char *const *argv, char *const *envp, const char *stdout_path,
                                    const char *stderr_path, const int *sources, const int *targets, int count);

/// The phase at which an intermediate or final child failed, written as 'E' + int32 stage + int32 errno.
enum skiff_spawn_stage {
    SKIFF_STAGE_SETNS = 1,
    SKIFF_STAGE_UNSHARE_USER = 2,
    SKIFF_STAGE_USER_SYNC = 3,
    SKIFF_STAGE_CLONE = 4,
    SKIFF_STAGE_EXEC = 5,
    SKIFF_STAGE_SETID = 6,
    SKIFF_STAGE_TIME = 7,
};

int skiff_send_fds(int sock, const int *fds, int nfds, const void *data, size_t len);
/// Receives up to `maxfds` descriptors; returns bytes read and stores the count in *nfds.
ssize_t skiff_recv_fds(int sock, int *fds, int maxfds, int *nfds, void *data, size_t len);

int skiff_pivot_root(const char *new_root, const char *put_old);
int skiff_setns(int fd, int nstype);
int skiff_unshare(int flags);
int skiff_sethostname(const char *name, size_t len);
int skiff_setdomainname(const char *name, size_t len);
int skiff_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int skiff_mount_setattr_propagation(int dirfd, const char *path, unsigned int flags, uint64_t propagation);
/// A recursive bind of the directory open as `fd` onto itself (open_tree + move_mount, so no path
/// is walked): returns a close-on-exec descriptor of the new mount's root, or -1 with errno set.
/// `fd` must be a directory of the caller's own mount namespace.
int skiff_bind_onto_itself(int fd);
/// syncfs(2) (glibc declares it only under _GNU_SOURCE).
int skiff_syncfs(int fd);
int skiff_pidfd_open(pid_t pid);
int skiff_pidfd_send_signal(int pidfd, int sig);
int skiff_close_range_cloexec(unsigned int first);

int skiff_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
int skiff_capget(uint32_t out[6]);  // effective, permitted, inheritable: low word then high word each
int skiff_capset(const uint32_t in[6]);
int skiff_last_cap(void);
long skiff_keyctl_join_session(const char *name);

int skiff_ioctl_int(int fd, unsigned long request, int value);
int skiff_ioctl_ptr(int fd, unsigned long request, void *arg);
int skiff_set_winsize(int fd, unsigned short rows, unsigned short cols);
int skiff_get_winsize(int fd, unsigned short *rows, unsigned short *cols);
int skiff_set_ctty(int fd);
/// Opens the pty slave matching the master `master` (TIOCGPTPEER, falling back to ptsname).
int skiff_open_pty_peer(int master);
int skiff_unlockpt(int master);

uint64_t skiff_makedev(unsigned int major, unsigned int minor);
unsigned int skiff_major(uint64_t dev);
unsigned int skiff_minor(uint64_t dev);

int skiff_fcntl_int(int fd, int cmd, int arg);
int skiff_pipe2(int fds[2], int flags);
int skiff_setresuid(uid_t uid);
int skiff_setresgid(gid_t gid);
int skiff_execve(const char *path, char *const *argv, char *const *envp);
int skiff_open(const char *path, int flags, unsigned int mode);
int skiff_openat(int dirfd, const char *path, int flags, unsigned int mode);

// Every header of this target is reached through this one (SwiftPM treats it as the umbrella).
#include "bpf_shim.h"
#include "kvm_shim.h"
#include "cshim_image.h"
#include "cshim_init.h"
#include "cshim_seccomp.h"
#include "netns_shim.h"
#include "guest_shim.h"
#include "idmap_shim.h"
#include "kvm_split_shim.h"
#include "sealed_exe_shim.h"

#endif

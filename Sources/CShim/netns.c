// See netns_shim.h.
#define _GNU_SOURCE
#include "netns_shim.h"
#include "guest_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

struct netns_job {
    const char *path;
    int error;
};

static void *netns_thread(void *arg) {
    struct netns_job *job = arg;
    if (unshare(CLONE_NEWNET) != 0) { job->error = errno; return NULL; }
    if (skiff_interface_up("lo") != 0) { job->error = errno; return NULL; }
    if (mount("/proc/thread-self/ns/net", job->path, "none", MS_BIND, NULL) != 0) { job->error = errno; return NULL; }
    job->error = 0;
    // The thread ends here: its reference to the namespace goes, the bind mount keeps it.
    return NULL;
}

int skiff_netns_create(const char *path) {
    struct netns_job job = { path, EINVAL };
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, netns_thread, &job);
    if (rc != 0) { errno = rc; return -1; }
    pthread_join(thread, NULL);
    if (job.error != 0) { errno = job.error; return -1; }
    return 0;
}

long long skiff_fs_type(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    return (long long)info.f_type;
}

/// Moves the calling thread into the network namespace at `path` (the threads below are made
/// for it and end there). Returns 0 or the errno.
static int join_netns(const char *path) {
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) return errno;
    int rc = setns(ns, CLONE_NEWNET);
    int saved = errno;
    close(ns);
    return rc == 0 ? 0 : saved;
}

struct tap_job {
    const char *netns;
    const char *name;
    int fd;
    int error;
};

static void *tap_thread(void *arg) {
    struct tap_job *job = arg;
    if ((job->error = join_netns(job->netns)) != 0) return NULL;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) { job->error = errno; return NULL; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(ifr.ifr_name, job->name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0 || skiff_interface_up(job->name) != 0) {
        job->error = errno;
        close(fd);
        return NULL;
    }
    job->fd = fd;
    job->error = 0;
    // The thread ends in the namespace; the tap stays there, held by the descriptor.
    return NULL;
}

int skiff_tap_open_in_netns(const char *netns_path, const char *name) {
    if (strlen(name) >= IFNAMSIZ) { errno = ENAMETOOLONG; return -1; }
    struct tap_job job = { netns_path, name, -1, EINVAL };
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, tap_thread, &job);
    if (rc != 0) { errno = rc; return -1; }
    pthread_join(thread, NULL);
    if (job.error != 0) { errno = job.error; return -1; }
    return job.fd;
}

struct socket_job {
    const char *netns;
    int type;
    int fd;
    int error;
};

static void *socket_thread(void *arg) {
    struct socket_job *job = arg;
    if ((job->error = join_netns(job->netns)) != 0) return NULL;
    int fd = socket(AF_INET, job->type | SOCK_CLOEXEC, 0);
    if (fd < 0) { job->error = errno; return NULL; }
    job->fd = fd;
    job->error = 0;
    // The thread ends in the namespace; the socket stays there for good.
    return NULL;
}

int skiff_socket_in_netns(const char *netns_path, int type) {
    struct socket_job job = { netns_path, type, -1, EINVAL };
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, socket_thread, &job);
    if (rc != 0) { errno = rc; return -1; }
    pthread_join(thread, NULL);
    if (job.error != 0) { errno = job.error; return -1; }
    return job.fd;
}

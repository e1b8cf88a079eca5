// See netns_shim.h.
#define _GNU_SOURCE
#include "netns_shim.h"
#include "guest_shim.h"

#include <errno.h>
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

#define _GNU_SOURCE
#include "guest_shim.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

static int with_socket(int (*body)(int fd, void *arg), void *arg) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int rc = body(fd, arg);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int name_into(struct ifreq *ifr, const char *name) {
    memset(ifr, 0, sizeof *ifr);
    if (strlen(name) >= IFNAMSIZ) { errno = ENAMETOOLONG; return -1; }
    strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
    return 0;
}

static int up_body(int fd, void *arg) {
    struct ifreq ifr;
    if (name_into(&ifr, arg) != 0) return -1;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

int skiff_interface_up(const char *name) { return with_socket(up_body, (void *)name); }

struct link_args { const char *name; const uint8_t *mac; int mtu; };

static int link_body(int fd, void *arg) {
    struct link_args *a = arg;
    struct ifreq ifr;
    if (name_into(&ifr, a->name) != 0) return -1;
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, a->mac, 6);
    if (ioctl(fd, SIOCSIFHWADDR, &ifr) != 0) return -1;
    if (a->mtu > 0) {
        if (name_into(&ifr, a->name) != 0) return -1;
        ifr.ifr_mtu = a->mtu;
        if (ioctl(fd, SIOCSIFMTU, &ifr) != 0) return -1;
    }
    return 0;
}

int skiff_interface_set_link(const char *name, const uint8_t mac[6], int mtu) {
    struct link_args a = { name, mac, mtu };
    return with_socket(link_body, &a);
}

struct address_args { const char *name; uint32_t address; int prefix; };

static void set_ipv4(struct sockaddr *sa, uint32_t address) {
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    memset(in, 0, sizeof *in);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = address;
}

static uint32_t mask_of(int prefix) {
    return prefix <= 0 ? 0 : htonl(prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1));
}

static int address_body(int fd, void *arg) {
    struct address_args *a = arg;
    struct ifreq ifr;
    if (name_into(&ifr, a->name) != 0) return -1;
    set_ipv4(&ifr.ifr_addr, a->address);
    if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) return -1;
    if (name_into(&ifr, a->name) != 0) return -1;
    set_ipv4(&ifr.ifr_netmask, mask_of(a->prefix));
    return ioctl(fd, SIOCSIFNETMASK, &ifr);
}

int skiff_interface_add_ipv4(const char *name, uint32_t address, int prefix) {
    if (prefix < 0 || prefix > 32) { errno = EINVAL; return -1; }
    struct address_args a = { name, address, prefix };
    return with_socket(address_body, &a);
}

struct route_args { uint32_t destination; int prefix; uint32_t gateway; };

static int route_body(int fd, void *arg) {
    struct route_args *a = arg;
    struct rtentry route;
    memset(&route, 0, sizeof route);
    set_ipv4(&route.rt_dst, a->destination);
    set_ipv4(&route.rt_genmask, mask_of(a->prefix));
    set_ipv4(&route.rt_gateway, a->gateway);
    route.rt_flags = RTF_UP | (a->gateway ? RTF_GATEWAY : 0);
    return ioctl(fd, SIOCADDRT, &route);
}

int skiff_route_add_ipv4(uint32_t destination, int prefix, uint32_t gateway) {
    if (prefix < 0 || prefix > 32) { errno = EINVAL; return -1; }
    struct route_args a = { destination, prefix, gateway };
    return with_socket(route_body, &a);
}

int skiff_end_guest(void) {
    sync();
    return reboot(RB_AUTOBOOT);
}

/* The static Swift runtime looks for its own path in /proc when it starts, and stops the
 * program when it cannot. skiff's agent starts as PID 1 of a guest (/init of the initramfs, and
 * again after it moves onto its tmpfs root), where nothing is mounted yet: mount /proc before
 * any Swift code or runtime initialiser runs. Only for that program: PID 1 named /init whose
 * /proc is missing. */
__attribute__((constructor(101))) static void skiff_guest_early_proc(int argc, char **argv, char **envp) {
    (void)envp;
    if (getpid() != 1 || argc < 1 || argv == NULL || argv[0] == NULL || strcmp(argv[0], "/init") != 0) return;
    if (access("/proc/self/exe", F_OK) == 0) return;
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

// KVM for the VMM target: ioctl numbers and struct layouts come from <linux/kvm.h>; Swift cannot
// call variadic ioctl(2) nor expand its _IOW macros, so each request has a small typed wrapper here.
// All policy (what to set, when, and what an exit means) is decided in Swift.
#ifndef SKIFF_KVM_SHIM_H
#define SKIFF_KVM_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <linux/kvm.h>

/// The KVM capabilities the monitor asks about (values of KVM_CAP_*).
enum skiff_kvm_cap {
    SKIFF_KVM_CAP_IRQCHIP = KVM_CAP_IRQCHIP,
    SKIFF_KVM_CAP_IOEVENTFD = KVM_CAP_IOEVENTFD,
    SKIFF_KVM_CAP_IRQFD = KVM_CAP_IRQFD,
    SKIFF_KVM_CAP_PIT2 = KVM_CAP_PIT2,
    SKIFF_KVM_CAP_USER_MEMORY = KVM_CAP_USER_MEMORY,
    SKIFF_KVM_CAP_SET_TSS_ADDR = KVM_CAP_SET_TSS_ADDR,
    SKIFF_KVM_CAP_EXT_CPUID = KVM_CAP_EXT_CPUID,
    SKIFF_KVM_CAP_NR_VCPUS = KVM_CAP_NR_VCPUS,
    SKIFF_KVM_CAP_MAX_VCPUS = KVM_CAP_MAX_VCPUS,
    SKIFF_KVM_CAP_IMMEDIATE_EXIT = KVM_CAP_IMMEDIATE_EXIT,
};

/// Exit reasons the run loop distinguishes (values of KVM_EXIT_*).
enum skiff_kvm_exit {
    SKIFF_KVM_EXIT_UNKNOWN = KVM_EXIT_UNKNOWN,
    SKIFF_KVM_EXIT_EXCEPTION = KVM_EXIT_EXCEPTION,
    SKIFF_KVM_EXIT_IO = KVM_EXIT_IO,
    SKIFF_KVM_EXIT_HLT = KVM_EXIT_HLT,
    SKIFF_KVM_EXIT_MMIO = KVM_EXIT_MMIO,
    SKIFF_KVM_EXIT_SHUTDOWN = KVM_EXIT_SHUTDOWN,
    SKIFF_KVM_EXIT_FAIL_ENTRY = KVM_EXIT_FAIL_ENTRY,
    SKIFF_KVM_EXIT_INTR = KVM_EXIT_INTR,
    SKIFF_KVM_EXIT_INTERNAL_ERROR = KVM_EXIT_INTERNAL_ERROR,
    SKIFF_KVM_EXIT_SYSTEM_EVENT = KVM_EXIT_SYSTEM_EVENT,
};

/// A decoded KVM_EXIT_IO: `count` accesses of `size` bytes at `data` inside the run page.
struct skiff_kvm_io_exit {
    uint16_t port;
    uint8_t is_write;
    uint8_t size;
    uint32_t count;
    uint8_t *data;
};

/// A decoded KVM_EXIT_MMIO: one access of `len` (at most 8) bytes.
struct skiff_kvm_mmio_exit {
    uint64_t address;
    uint8_t is_write;
    uint32_t len;
    uint8_t *data;
};

int skiff_kvm_get_api_version(int kvm_fd);
int skiff_kvm_check_extension(int fd, long cap);
int skiff_kvm_create_vm(int kvm_fd);
int skiff_kvm_get_vcpu_mmap_size(int kvm_fd);
/// Fills `entries` (capacity `*nent`) with the host's supported CPUID leaves; sets *nent to the count.
int skiff_kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid_entry2 *entries, uint32_t *nent);

int skiff_kvm_set_tss_addr(int vm_fd, uint64_t address);
int skiff_kvm_set_identity_map_addr(int vm_fd, uint64_t address);
int skiff_kvm_create_irqchip(int vm_fd);
int skiff_kvm_create_pit2(int vm_fd);
int skiff_kvm_set_user_memory_region(int vm_fd, uint32_t slot, uint64_t guest_phys, uint64_t size, void *host);
int skiff_kvm_irq_line(int vm_fd, uint32_t irq, int level);
int skiff_kvm_irqfd(int vm_fd, int event_fd, uint32_t gsi, int deassign);
/// Registers (or with `deassign` removes) an eventfd signalled on a 4-byte MMIO write of `datamatch` at `address`.
int skiff_kvm_ioeventfd_mmio(int vm_fd, int event_fd, uint64_t address, uint32_t len, uint64_t datamatch, int deassign);
int skiff_kvm_create_vcpu(int vm_fd, unsigned long id);

int skiff_kvm_run(int vcpu_fd);
int skiff_kvm_get_regs(int vcpu_fd, struct kvm_regs *regs);
int skiff_kvm_set_regs(int vcpu_fd, const struct kvm_regs *regs);
int skiff_kvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs);
int skiff_kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs);
int skiff_kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *fpu);
int skiff_kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid_entry2 *entries, uint32_t nent);
/// Sets `count` MSRs (index/value pairs); returns how many KVM accepted.
int skiff_kvm_set_msrs(int vcpu_fd, const uint32_t *indices, const uint64_t *values, uint32_t count);
int skiff_kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *state);
int skiff_kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *state);

/// Fields of the shared kvm_run page, which is a union Swift cannot reach safely.
uint32_t skiff_kvm_run_exit_reason(const struct kvm_run *run);
void skiff_kvm_run_set_immediate_exit(struct kvm_run *run, uint8_t value);
struct skiff_kvm_io_exit skiff_kvm_run_io(struct kvm_run *run);
struct skiff_kvm_mmio_exit skiff_kvm_run_mmio(struct kvm_run *run);
uint32_t skiff_kvm_run_system_event_type(const struct kvm_run *run);
uint32_t skiff_kvm_run_internal_suberror(const struct kvm_run *run);
uint64_t skiff_kvm_run_fail_entry_reason(const struct kvm_run *run);
uint32_t skiff_kvm_system_event_shutdown(void);
uint32_t skiff_kvm_system_event_reset(void);

// Host-side event plumbing for the monitor's device loop: eventfd, epoll (its event struct is
// packed on x86-64, which Swift cannot lay out) and tap devices (TUNSETIFF takes a struct ifreq).
int skiff_eventfd(unsigned int initial);
/// A non-blocking, close-on-exec timerfd (CLOCK_MONOTONIC) that fires every `milliseconds`,
/// first after one period; -1 with errno on failure. Armed here so its user needs no
/// timerfd_settime later (the monitor's seccomp lists do not have it).
int skiff_timerfd_periodic(unsigned int milliseconds);
/// Adds `fd` to `epfd` watching readability; `token` comes back from skiff_epoll_wait.
int skiff_epoll_add(int epfd, int fd, uint64_t token);
int skiff_epoll_del(int epfd, int fd);
/// Waits up to `timeout_ms`; fills tokens[0..<n] and returns n, or -1 with errno.
int skiff_epoll_wait(int epfd, uint64_t *tokens, int max, int timeout_ms);
/// Opens /dev/net/tun and attaches to tap `name` without packet info, with a 12-byte virtio-net
/// header (IFF_VNET_HDR) when `vnet_hdr` is set; returns the fd or -1 with errno.
int skiff_tap_open(const char *name, int vnet_hdr);

/// Sets the virtio-net header size an open IFF_VNET_HDR tap uses (TUNSETVNETHDRSZ).
int skiff_tap_set_vnet_header_size(int fd, int size);
int skiff_epoll_create(void);
/// Changes what `fd` is watched for: readability when `want_read`, writability when `want_write`.
int skiff_epoll_mod(int epfd, int fd, uint64_t token, int want_read, int want_write);
/// Adds `fd` to `epfd` watching writability edge-triggered (EPOLLOUT | EPOLLET): one event each
/// time room appears, none while it merely stays writable.
int skiff_epoll_add_writable_edge(int epfd, int fd, uint64_t token);

#endif

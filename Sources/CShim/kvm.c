// Typed wrappers over the KVM ioctls declared in kvm_shim.h; no policy lives here.
#include "kvm_shim.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

int skiff_kvm_get_api_version(int kvm_fd) { return ioctl(kvm_fd, KVM_GET_API_VERSION, 0); }
int skiff_kvm_check_extension(int fd, long cap) { return ioctl(fd, KVM_CHECK_EXTENSION, cap); }
int skiff_kvm_create_vm(int kvm_fd) { return ioctl(kvm_fd, KVM_CREATE_VM, 0); }
int skiff_kvm_get_vcpu_mmap_size(int kvm_fd) { return ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0); }

int skiff_kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid_entry2 *entries, uint32_t *nent) {
    size_t size = sizeof(struct kvm_cpuid2) + (size_t)*nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *cpuid = calloc(1, size);
    if (!cpuid) { errno = ENOMEM; return -1; }
    cpuid->nent = *nent;
    int rc = ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
    if (rc == 0) {
        *nent = cpuid->nent;
        memcpy(entries, cpuid->entries, (size_t)cpuid->nent * sizeof(struct kvm_cpuid_entry2));
    }
    int saved = errno;
    free(cpuid);
    errno = saved;
    return rc;
}

int skiff_kvm_set_tss_addr(int vm_fd, uint64_t address) { return ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)address); }
int skiff_kvm_set_identity_map_addr(int vm_fd, uint64_t address) {
    __u64 a = address;
    return ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &a);
}
int skiff_kvm_create_irqchip(int vm_fd) { return ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0); }
int skiff_kvm_create_pit2(int vm_fd) {
    struct kvm_pit_config config;
    memset(&config, 0, sizeof config);
    config.flags = KVM_PIT_SPEAKER_DUMMY;
    return ioctl(vm_fd, KVM_CREATE_PIT2, &config);
}
int skiff_kvm_set_user_memory_region(int vm_fd, uint32_t slot, uint64_t guest_phys, uint64_t size, void *host) {
    struct kvm_userspace_memory_region region = {
        .slot = slot, .flags = 0, .guest_phys_addr = guest_phys,
        .memory_size = size, .userspace_addr = (__u64)(uintptr_t)host,
    };
    return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}
int skiff_kvm_irq_line(int vm_fd, uint32_t irq, int level) {
    struct kvm_irq_level line = { .irq = irq, .level = (__u32)level };
    return ioctl(vm_fd, KVM_IRQ_LINE, &line);
}
int skiff_kvm_irqfd(int vm_fd, int event_fd, uint32_t gsi, int deassign) {
    struct kvm_irqfd request;
    memset(&request, 0, sizeof request);
    request.fd = (__u32)event_fd;
    request.gsi = gsi;
    request.flags = deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0;
    return ioctl(vm_fd, KVM_IRQFD, &request);
}
int skiff_kvm_ioeventfd_mmio(int vm_fd, int event_fd, uint64_t address, uint32_t len, uint64_t datamatch, int deassign) {
    struct kvm_ioeventfd request;
    memset(&request, 0, sizeof request);
    request.datamatch = datamatch;
    request.addr = address;
    request.len = len;
    request.fd = event_fd;
    request.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0);
    return ioctl(vm_fd, KVM_IOEVENTFD, &request);
}
int skiff_kvm_create_vcpu(int vm_fd, unsigned long id) { return ioctl(vm_fd, KVM_CREATE_VCPU, id); }

int skiff_kvm_run(int vcpu_fd) { return ioctl(vcpu_fd, KVM_RUN, 0); }
int skiff_kvm_get_regs(int vcpu_fd, struct kvm_regs *regs) { return ioctl(vcpu_fd, KVM_GET_REGS, regs); }
int skiff_kvm_set_regs(int vcpu_fd, const struct kvm_regs *regs) { return ioctl(vcpu_fd, KVM_SET_REGS, regs); }
int skiff_kvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs) { return ioctl(vcpu_fd, KVM_GET_SREGS, sregs); }
int skiff_kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs) { return ioctl(vcpu_fd, KVM_SET_SREGS, sregs); }
int skiff_kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *fpu) { return ioctl(vcpu_fd, KVM_SET_FPU, fpu); }

int skiff_kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid_entry2 *entries, uint32_t nent) {
    size_t size = sizeof(struct kvm_cpuid2) + (size_t)nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *cpuid = calloc(1, size);
    if (!cpuid) { errno = ENOMEM; return -1; }
    cpuid->nent = nent;
    memcpy(cpuid->entries, entries, (size_t)nent * sizeof(struct kvm_cpuid_entry2));
    int rc = ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid);
    int saved = errno;
    free(cpuid);
    errno = saved;
    return rc;
}

int skiff_kvm_set_msrs(int vcpu_fd, const uint32_t *indices, const uint64_t *values, uint32_t count) {
    size_t size = sizeof(struct kvm_msrs) + (size_t)count * sizeof(struct kvm_msr_entry);
    struct kvm_msrs *msrs = calloc(1, size);
    if (!msrs) { errno = ENOMEM; return -1; }
    msrs->nmsrs = count;
    for (uint32_t i = 0; i < count; i++) {
        msrs->entries[i].index = indices[i];
        msrs->entries[i].data = values[i];
    }
    int rc = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
    int saved = errno;
    free(msrs);
    errno = saved;
    return rc;
}
int skiff_kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *state) { return ioctl(vcpu_fd, KVM_GET_LAPIC, state); }
int skiff_kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *state) { return ioctl(vcpu_fd, KVM_SET_LAPIC, state); }

uint32_t skiff_kvm_run_exit_reason(const struct kvm_run *run) { return run->exit_reason; }
void skiff_kvm_run_set_immediate_exit(struct kvm_run *run, uint8_t value) { run->immediate_exit = value; }
struct skiff_kvm_io_exit skiff_kvm_run_io(struct kvm_run *run) {
    struct skiff_kvm_io_exit io = {
        .port = run->io.port, .is_write = run->io.direction == KVM_EXIT_IO_OUT,
        .size = run->io.size, .count = run->io.count,
        .data = (uint8_t *)run + run->io.data_offset,
    };
    return io;
}
struct skiff_kvm_mmio_exit skiff_kvm_run_mmio(struct kvm_run *run) {
    struct skiff_kvm_mmio_exit mmio = {
        .address = run->mmio.phys_addr, .is_write = run->mmio.is_write,
        .len = run->mmio.len > 8 ? 8 : run->mmio.len, .data = run->mmio.data,
    };
    return mmio;
}
uint32_t skiff_kvm_run_system_event_type(const struct kvm_run *run) { return run->system_event.type; }
uint32_t skiff_kvm_run_internal_suberror(const struct kvm_run *run) { return run->internal.suberror; }
uint64_t skiff_kvm_run_fail_entry_reason(const struct kvm_run *run) { return run->fail_entry.hardware_entry_failure_reason; }
uint32_t skiff_kvm_system_event_shutdown(void) { return KVM_SYSTEM_EVENT_SHUTDOWN; }
uint32_t skiff_kvm_system_event_reset(void) { return KVM_SYSTEM_EVENT_RESET; }

// Wrappers declared in kvm_split_shim.h.
#include "kvm_split_shim.h"
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

long skiff_kvm_cap_split_irqchip(void) { return KVM_CAP_SPLIT_IRQCHIP; }
long skiff_kvm_cap_signal_msi(void) { return KVM_CAP_SIGNAL_MSI; }
long skiff_kvm_cap_tsc_deadline_timer(void) { return KVM_CAP_TSC_DEADLINE_TIMER; }
uint32_t skiff_kvm_exit_ioapic_eoi(void) { return KVM_EXIT_IOAPIC_EOI; }

int skiff_kvm_enable_split_irqchip(int vm_fd, uint32_t ioapic_pins) {
    struct kvm_enable_cap cap;
    memset(&cap, 0, sizeof cap);
    cap.cap = KVM_CAP_SPLIT_IRQCHIP;
    cap.args[0] = ioapic_pins;
    return ioctl(vm_fd, KVM_ENABLE_CAP, &cap);
}

int skiff_kvm_signal_msi(int vm_fd, uint32_t address_lo, uint32_t address_hi, uint32_t data) {
    struct kvm_msi msi;
    memset(&msi, 0, sizeof msi);
    msi.address_lo = address_lo;
    msi.address_hi = address_hi;
    msi.data = data;
    return ioctl(vm_fd, KVM_SIGNAL_MSI, &msi);
}

// KVM requests for the split irqchip (local APICs in the kernel, IOAPIC in the monitor) and the
// TSC-deadline capability the CPUID policy asks about. Kept apart from kvm_shim.h, which other
// code owns; same rule: typed wrappers only, every decision is made in Swift.
#ifndef SKIFF_KVM_SPLIT_SHIM_H
#define SKIFF_KVM_SPLIT_SHIM_H

#include <stdint.h>

/// KVM_CAP_SPLIT_IRQCHIP and KVM_CAP_SIGNAL_MSI and KVM_CAP_TSC_DEADLINE_TIMER, for KVM_CHECK_EXTENSION.
long skiff_kvm_cap_split_irqchip(void);
long skiff_kvm_cap_signal_msi(void);
long skiff_kvm_cap_tsc_deadline_timer(void);

/// KVM_EXIT_IOAPIC_EOI, the exit a split irqchip makes when the guest ends a level-triggered interrupt.
uint32_t skiff_kvm_exit_ioapic_eoi(void);

/// KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): local APICs in the kernel, `ioapic_pins` routes reserved
/// for a userspace IOAPIC; no in-kernel PIC, IOAPIC or PIT. Must come before any vCPU is created.
int skiff_kvm_enable_split_irqchip(int vm_fd, uint32_t ioapic_pins);

/// KVM_SIGNAL_MSI: delivers one message-signalled interrupt to the in-kernel local APICs.
/// Returns > 0 when delivered, 0 when the guest blocked it, -1 with errno on failure.
int skiff_kvm_signal_msi(int vm_fd, uint32_t address_lo, uint32_t address_hi, uint32_t data);

#endif

// For the engine (loopback of a new network namespace) and skiff's guest agent (the NIC of a
// micro-VM guest, from what the host's CNI plugins gave the container; powering the guest off).
#ifndef SKIFF_GUEST_SHIM_H
#define SKIFF_GUEST_SHIM_H

#include <stdint.h>

/// Sets IFF_UP on the interface `name`. Returns 0, or -1 with errno set.
int skiff_interface_up(const char *name);

/// Sets the hardware address (6 bytes) and MTU (when > 0) of `name`, while it is down.
int skiff_interface_set_link(const char *name, const uint8_t mac[6], int mtu);

/// Adds the IPv4 address `address` (network byte order) with `prefix` bits to `name`.
int skiff_interface_add_ipv4(const char *name, uint32_t address, int prefix);

/// Adds an IPv4 route to `destination`/`prefix` (network byte order) via `gateway`.
int skiff_route_add_ipv4(uint32_t destination, int prefix, uint32_t gateway);

/// Syncs and ends the guest by resetting it (reboot(2) with LINUX_REBOOT_CMD_RESTART): both
/// backends end the VM on a reset (QEMU with -no-reboot, skiff's monitor on the i8042 reset
/// line), while a power-off needs ACPI, which QEMU's microvm machine runs without, and only
/// halts there. Returns only on failure, -1 with errno set.
int skiff_end_guest(void);

#endif

// The bpf(2) calls for cgroup2 device filters: load a BPF_PROG_TYPE_CGROUP_DEVICE program and
// attach it to a cgroup directory. The program itself is generated in Swift.
#ifndef SKIFF_BPF_SHIM_H
#define SKIFF_BPF_SHIM_H

#include <stdint.h>

/// Loads `count` 8-byte instructions; returns the program fd or -1 with errno set. The verifier's
/// log (if it rejects the program) is written to `log`.
int skiff_bpf_load_device_program(const uint64_t *insns, uint32_t count, char *log, uint32_t log_size);
/// Attaches a device program to an open cgroup2 directory with BPF_F_ALLOW_MULTI.
int skiff_bpf_attach_device_program(int cgroup_fd, int prog_fd);

#endif

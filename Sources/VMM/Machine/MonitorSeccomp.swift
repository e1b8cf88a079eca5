#if canImport(Glibc)
import Glibc
#endif
import CSeccomp

/// The kinds of monitor threads, each confined to its own list of system calls.
public enum MonitorThreadKind: String, Sendable, CaseIterable {
    /// Runs KVM_RUN and the exits it returns (port and MMIO devices, the console sink).
    case vcpu
    /// The device event loop; it is the thread that called `MicroVM.run()`, so its list also
    /// covers what the monitor does after the guest ended (joins, unmaps, closes, exits).
    case deviceLoop = "device-loop"
}

/// A seccomp filter per monitor thread, installed by the thread itself (without
/// SECCOMP_FILTER_FLAG_TSYNC, so each thread keeps its own): a system call outside the list kills
/// the whole monitor with SIGSYS (SCMP_ACT_KILL_PROCESS), so a guest that gets the monitor to do
/// something unexpected (open a file, exec, map new devices) ends the VM instead.
///
/// The lists are what the code on those threads calls, including glibc and the Swift runtime
/// (allocation, locks, thread exit). vCPU threads also get the device-processing calls (block
/// I/O, vsock sockets) because without ioeventfd a queue notification is handled on the vCPU that
/// wrote it. Sockets can be made only with AF_UNIX (vsock's host side); ioctl only with KVM's
/// requests (type 0xAE), FIONREAD (vsock) and TCGETS/TCSETS (the terminal mode restored at exit),
/// so not TIOCSTI into the user's terminal; there is no open, exec, fork, mount or ptrace.
public enum MonitorSeccomp {
    /// Memory, locks, signals, time and exit: glibc and the Swift runtime on any thread.
    static let runtime = [
        "mmap", "munmap", "mprotect", "madvise", "brk", "mremap",
        "futex", "sched_yield", "gettid", "getpid", "tgkill",
        "rt_sigprocmask", "rt_sigreturn", "rt_sigaction", "restart_syscall",
        "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "getrandom",
        "exit", "exit_group",
    ]
    /// KVM, interrupt lines, the console sink and the virtio devices' host side.
    static let devices = [
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
        "fdatasync", "fsync", "close", "fcntl", "poll", "ppoll", "epoll_ctl",
        "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "connect",
    ]
    /// The event loop's own calls, and the monitor's exit path (vsock socket removal).
    static let loopOnly = ["epoll_wait", "epoll_pwait", "epoll_pwait2", "accept", "accept4", "unlink", "unlinkat"]

    /// The system calls `kind` may make without conditions (by name; `ioctl` and `socket` are
    /// added with argument checks in `install`).
    public static func allowed(for kind: MonitorThreadKind) -> [String] {
        switch kind {
        case .vcpu: return runtime + devices
        case .deviceLoop: return runtime + devices + loopOnly
        }
    }

    /// Installs the filter for `kind` on the calling thread.
    public static func install(for kind: MonitorThreadKind) throws(VMMError) {
        guard let ctx = seccomp_init(0x8000_0000 /* SCMP_ACT_KILL_PROCESS */) else {
            throw .seccomp(thread: kind.rawValue, reason: "libseccomp could not create a filter")
        }
        defer { seccomp_release(ctx) }
        // Report kernel errors as they are; this thread only (no TSYNC), so each kind keeps its list.
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0)
        let allow: UInt32 = 0x7fff_0000  // SCMP_ACT_ALLOW
        for name in allowed(for: kind) {
            let number = seccomp_syscall_resolve_name(name)
            if number == __NR_SCMP_ERROR { continue }  // not a call on this architecture (e.g. epoll_pwait2 on old headers)
            let rc = seccomp_rule_add_array(ctx, allow, number, 0, nil)
            guard rc == 0 else { throw .seccomp(thread: kind.rawValue, reason: "the rule for \(name) was refused (error \(-rc))") }
        }
        // The kernel reads an ioctl request as 32 bits, so compare only those.
        let requests: [(mask: UInt64, value: UInt64)] = [
            (0xFF00, 0xAE00),  // every KVM ioctl (_IO*(KVMIO = 0xAE, ...))
            (0xFFFF_FFFF, UInt64(FIONREAD)),
            (0xFFFF_FFFF, UInt64(TCGETS)),
            (0xFFFF_FFFF, UInt64(TCSETS)),
        ]
        var conditions = requests.map { scmp_arg_cmp(arg: 1, op: SCMP_CMP_MASKED_EQ, datum_a: $0.mask, datum_b: $0.value) }
        conditions.append(scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: UInt64(AF_UNIX), datum_b: 0))
        for (index, condition) in conditions.enumerated() {
            var condition = condition
            let name = index < requests.count ? "ioctl" : "socket"
            let rc = seccomp_rule_add_array(ctx, allow, seccomp_syscall_resolve_name(name), 1, &condition)
            guard rc == 0 else { throw .seccomp(thread: kind.rawValue, reason: "a rule for \(name) was refused (error \(-rc))") }
        }
        // libseccomp sets no_new_privs first (the monitor never executes anything, so it costs nothing).
        let loaded = seccomp_load(ctx)
        guard loaded == 0 else { throw .seccomp(thread: kind.rawValue, reason: "the kernel refused the filter: \(VMMError.text(-loaded))") }
    }
}

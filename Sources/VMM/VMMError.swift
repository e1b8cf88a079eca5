#if canImport(Glibc)
import Glibc
#endif

/// Everything that can stop a micro-VM from being built or run, each with a message that says
/// what was wrong and what the user can do about it.
public enum VMMError: Error, CustomStringConvertible, Equatable {
    case kvmUnavailable(path: String, errno: Int32)
    case kvmAPIMismatch(version: Int32)
    case kvmCapabilityMissing(String)
    case kvmCall(String, errno: Int32)
    case memoryTooSmall(requestedMiB: UInt64, minimumMiB: UInt64)
    case memoryTooLarge(requestedMiB: UInt64)
    case hostMemory(String, errno: Int32)
    case kernelUnreadable(path: String, errno: Int32)
    case kernelFormat(String)
    case kernelDoesNotFit(String)
    case initrdUnreadable(path: String, errno: Int32)
    case initrdDoesNotFit(size: UInt64)
    case commandLineTooLong(length: Int, maximum: Int)
    case diskUnopenable(path: String, errno: Int32)
    case tapUnavailable(name: String, errno: Int32)
    case vsockSocket(path: String, errno: Int32)
    case tooManyCPUs(requested: Int, maximum: Int)
    case tooManyDevices(maximum: Int)
    case invalidConfiguration(String)
    case seccomp(thread: String, reason: String)
    /// The monitor could not be confined (`MonitorJail`): why.
    case jail(String)
    /// A step of confining the monitor failed with `errno`.
    case jailStep(String, errno: Int32)

    public var description: String {
        switch self {
        case .kvmUnavailable(let path, let e):
            return
                "cannot open \(path): \(Self.text(e)); load the kvm module (kvm_intel/kvm_amd) and run as a user with access to \(path) "
                + "(docs/vm-monitor.md, \"What the host needs\"; `skiff run --vm` runs without KVM through QEMU's emulation)"
        case .kvmAPIMismatch(let v):
            return "KVM API version \(v) is not the stable version 12 this monitor speaks; update the host kernel"
        case .kvmCapabilityMissing(let cap):
            return "the host KVM lacks \(cap), which the monitor needs; use a kernel with full KVM support"
        case .kvmCall(let what, let e):
            return "KVM call \(what) failed: \(Self.text(e))"
        case .memoryTooSmall(let req, let min):
            return "--memory \(req) MiB is too little: the guest needs at least \(min) MiB"
        case .memoryTooLarge(let req):
            return "--memory \(req) MiB is more than this monitor can map; choose a smaller size"
        case .hostMemory(let what, let e):
            return "cannot reserve host memory for \(what): \(Self.text(e)); lower --memory"
        case .kernelUnreadable(let path, let e):
            return "cannot read kernel \(path): \(Self.text(e)); pass an existing file with --kernel"
        case .kernelFormat(let why):
            return "the kernel is not bootable: \(why); pass a bzImage or an uncompressed vmlinux ELF with a PVH note"
        case .kernelDoesNotFit(let why):
            return "the kernel does not fit in guest memory: \(why); raise --memory"
        case .initrdUnreadable(let path, let e):
            return "cannot read initrd \(path): \(Self.text(e)); pass an existing file with --initrd"
        case .initrdDoesNotFit(let size):
            return "the initrd (\(size) bytes) does not fit below the kernel's initrd limit; raise --memory or use a smaller initrd"
        case .commandLineTooLong(let length, let maximum):
            return "the kernel command line is \(length) bytes, more than the kernel accepts (\(maximum)); shorten --cmdline"
        case .diskUnopenable(let path, let e):
            return "cannot open disk \(path): \(Self.text(e)); check the path and permissions, or add ,ro for a read-only disk"
        case .tapUnavailable(let name, let e):
            return "cannot attach tap device \(name): \(Self.text(e)); create it first (ip tuntap add \(name) mode tap) and run as root"
        case .vsockSocket(let path, let e):
            return "cannot listen on vsock socket \(path): \(Self.text(e)); choose a path in a writable directory that does not exist yet"
        case .tooManyCPUs(let req, let max):
            return "--cpus \(req) is more than this monitor supports (\(max))"
        case .tooManyDevices(let max):
            return "too many virtio devices: at most \(max) fit in the MMIO window"
        case .seccomp(let thread, let reason):
            return "cannot confine the \(thread) thread with seccomp: \(reason); run with --no-seccomp to start the VM without the filter"
        case .jail(let why):
            return "cannot jail the monitor: \(why); run with --no-jail to start the VM without the jail"
        case .jailStep(let step, let e):
            let hint =
                e == EPERM || e == EACCES
                ? (geteuid() == 0
                    ? " (started as root, the jail needs CAP_SYS_ADMIN for the mount namespace, and CAP_SETPCAP, CAP_SETUID and CAP_SETGID to drop the rest)"
                    : " (started without root, the jail needs unprivileged user namespaces: sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, AppArmor's userns restriction)")
                : ""
            return "cannot jail the monitor: \(step) failed: \(Self.text(e))\(hint); run with --no-jail to start the VM without the jail"
        case .invalidConfiguration(let why):
            return "invalid VM configuration: \(why)"
        }
    }

    static func text(_ e: Int32) -> String { String(cString: strerror(e)) }
}

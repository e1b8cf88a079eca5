#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// What a backend boots for a container in a micro-VM.
struct MicroVMLaunch: Sendable {
    var kernel: String
    var initrd: String
    var memoryMiB: Int
    var cpus: Int
    /// Read-only disks first (the image's layers, lowest first), then the scratch disk; each
    /// with the virtio serial the agent finds it by.
    var disks: [(path: String, serial: String, readOnly: Bool)]
    /// The NIC: a tap in the container's network namespace and the MAC the guest takes (nil: no NIC).
    var nic: (tap: Int32, mac: String)?
    /// Host directories served to the guest over virtio-9p.
    var shares: [GuestSpec.Share] = []
    /// Where the guest's console (kernel messages, the agent's own errors) is written.
    var consoleLog: String
    /// The host end of the agent's stream is the other half of this connected socket pair.
    var agentSocket: Int32
}

/// A booted micro-VM: the process that runs it and the console it wrote.
protocol RunningMicroVM: AnyObject {
    /// The host process whose end is the VM's end (QEMU, or the monitor thread's process).
    var pid: Int32 { get }
    var consoleLog: String { get }
    /// Ends the VM at once (the guest gets no say).
    func terminate()
}

/// A way to boot micro-VMs: skiff's own monitor, or QEMU. Chosen per container (`--vm-backend`),
/// refused with the reason where it cannot work on this host.
protocol MicroVMBackend: Sendable {
    var name: String { get }
    /// nil when the backend works here, else why not.
    func unavailableReason() -> String?
    func launch(_ launch: MicroVMLaunch) throws -> any RunningMicroVM
}

enum MicroVMBackends {
    static let names = ["qemu", "skiff"]

    /// The backend `--vm-backend` names, or the default for this host: skiff's own monitor where
    /// /dev/kvm can boot Linux, QEMU elsewhere.
    static func select(_ name: String?) throws -> any MicroVMBackend {
        switch name {
        case nil, "qemu":
            let backend = QEMUBackend()
            if let reason = backend.unavailableReason() {
                throw EngineError.invalidOption("--vm-backend qemu cannot work on this host: \(reason)")
            }
            return backend
        case "skiff":
            throw EngineError.invalidOption(
                "--vm-backend skiff cannot run containers yet: skiff's own monitor has no agent transport for containers; use --vm-backend qemu"
            )
        case let other?:
            throw EngineError.invalidOption("--vm-backend '\(other)' is not one of \(names.joined(separator: ", "))")
        }
    }

    /// What `skiff info` says about each backend here.
    static func report() -> [Engine.VMBackendInfo] {
        let qemu = QEMUBackend()
        let qemuReason = qemu.unavailableReason()
        let acceleration = kvmBootsLinux() ? "with KVM" : "with TCG (software emulation: this host's /dev/kvm cannot boot Linux)"
        return [
            Engine.VMBackendInfo(
                Name: "qemu", Usable: qemuReason == nil, Default: qemuReason == nil, Note: qemuReason ?? "microvm machine, \(acceleration)"),
            Engine.VMBackendInfo(
                Name: "skiff", Usable: false, Default: false,
                Note: "skiff's own monitor (skiff vm run) does not run containers yet: it has no agent transport for them"),
        ]
    }

    /// Whether this host's /dev/kvm can run a Linux guest: present, usable, and not kvm_pvm (which
    /// runs only freestanding guests).
    static func kvmBootsLinux() -> Bool {
        guard access("/dev/kvm", R_OK | W_OK) == 0 else { return false }
        return !FileIO.exists("/sys/module/kvm_pvm")
    }
}

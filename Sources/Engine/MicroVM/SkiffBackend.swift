#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import VMM

/// skiff's own KVM monitor as the micro-VM backend: `skiff vm run` as a child of the container's
/// monitor, as QEMU is, with what the container needs handed over as descriptors: the agent's
/// stream (one half of the socket pair, bridged by the VM's virtio-vsock to guest port 1024 once
/// the agent listens there) and the tap the container's network namespace holds. The child dies
/// with the monitor (PR_SET_PDEATHSIG) and jails itself (`MonitorJail`: an empty read-only root,
/// no capabilities, uid 65534, per-thread seccomp) before the guest runs, so a guest that takes
/// over its monitor holds only that VM's descriptors, not the container monitor's powers (the
/// engine's store, the network, the other containers). Only where /dev/kvm boots Linux.
/// The guest has no shared-file device here (skiff's monitor serves no 9p): volumes and
/// directory binds are refused at create (`MicroVMBackends.refuseShares`).
struct SkiffBackend: MicroVMBackend {
    var name: String { "skiff" }
    /// The `skiff` binary the monitor child runs (`skiff vm run`).
    var executable: String

    /// The descriptors the child sees: the agent's socket, the tap and the disk lock.
    static let agentFD: Int32 = 3
    static let tapFD: Int32 = 4
    /// The container's disk lock (`MicroVMDiskLock`), only held open: no argument names it.
    static let lockFD: Int32 = 5
    /// The guest's vsock address and the port the agent accepts on (skiff-agent's AgentTransport).
    static let guestCID: UInt64 = 3
    static let agentPort: UInt32 = 1024
    /// The guest kernel's command line before the virtio-mmio devices the monitor appends: the
    /// serial console, a reset (through the i8042, which the monitor takes as the VM's end) at
    /// once on panic or reboot, no PCI or modules, quiet.
    static let commandLine = "console=ttyS0 reboot=k panic=-1 pci=off nomodule i8042.noaux i8042.nomux i8042.dumbkbd quiet"

    func unavailableReason() -> String? { MicroVMBackends.kvmProblem() }

    /// The child's command line (pure, unit-tested): `parent` is the container monitor's pid.
    static func arguments(_ launch: MicroVMLaunch, parent: Int32) -> [String] {
        var args = [
            "vm", "run", "--kernel", launch.kernel, "--initrd", launch.initrd, "--cmdline", commandLine,
            "--cpus", "\(launch.cpus)", "--memory", "\(launch.memoryMiB)",
        ]
        for disk in launch.disks {
            args += ["--disk", "\(disk.path)\(disk.readOnly ? ",ro" : ""),serial=\(disk.serial)"]
        }
        if let nic = launch.nic { args += ["--net", "fd=\(tapFD)", "--mac", nic.mac] }
        args += ["--vsock", "\(guestCID)", "--vsock-stream", "\(agentFD):\(agentPort)", "--die-with-parent", "\(parent)"]
        return args
    }

    func launch(_ launch: MicroVMLaunch) throws -> any RunningMicroVM {
        if let reason = unavailableReason() { throw EngineError.startFailed("--vm-backend skiff cannot work on this host: \(reason)") }
        // Refused at create; a record from before that check must not boot without its volumes.
        guard launch.shares.isEmpty else { throw EngineError.invalidOption(MicroVMBackends.sharesRefusal) }
        for disk in launch.disks where disk.path.contains(",") {
            throw EngineError.startFailed("the disk \(disk.path) has a comma in its path, which skiff vm run's --disk cannot take")
        }
        var wanted = [(source: launch.agentSocket, target: Self.agentFD)]
        if let nic = launch.nic { wanted.append((nic.tap, Self.tapFD)) }
        if let lock = launch.diskLock { wanted.append((lock, Self.lockFD)) }
        // The guest's serial console is the child's standard output; its own messages go beside it.
        let pid = try ChildDescriptors(wanted).spawn(
            executable, arguments: Self.arguments(launch, parent: getpid()), output: launch.consoleLog,
            errors: SkiffVMProcess.monitorLog(launch.consoleLog))
        return SkiffVMProcess(pid: pid, consoleLog: launch.consoleLog)
    }
}

/// `skiff vm run` hosting one container's VM, a child of the container's monitor.
final class SkiffVMProcess: RunningMicroVM {
    let pid: Int32
    let consoleLog: String
    var monitorLog: String { Self.monitorLog(consoleLog) }

    static func monitorLog(_ consoleLog: String) -> String { consoleLog + ".vmm" }

    init(pid: Int32, consoleLog: String) {
        self.pid = pid
        self.consoleLog = consoleLog
    }

    func terminate() { kill(pid, SIGKILL) }
}

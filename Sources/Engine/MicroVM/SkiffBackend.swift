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

    /// The descriptors the child sees: the agent's socket and the tap.
    static let agentFD: Int32 = 3
    static let tapFD: Int32 = 4
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
        // The dup2s below must not overwrite one source with the other: move low ones out of the way.
        var moved: [Int32] = []
        defer { for fd in moved { close(fd) } }
        func above(_ fd: Int32) throws -> Int32 {
            guard fd <= Self.tapFD else { return fd }
            let copy = try sysCall("duplicate descriptor \(fd)") { fcntl(fd, F_DUPFD_CLOEXEC, 10) }
            moved.append(copy)
            return copy
        }
        let agentSocket = try above(launch.agentSocket)
        let tap = try launch.nic.map { try above($0.tap) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // The guest's serial console is the child's standard output; its own messages go beside it.
        posix_spawn_file_actions_addopen(&actions, 1, launch.consoleLog, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, SkiffVMProcess.monitorLog(launch.consoleLog), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, agentSocket, Self.agentFD)
        if let tap { posix_spawn_file_actions_adddup2(&actions, tap, Self.tapFD) }
        let attributes = CleanSpawnAttributes()
        let argv = CStringArray([executable] + Self.arguments(launch, parent: getpid()))
        let envp = CStringArray(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        var pid: pid_t = 0
        let rc = withExtendedLifetime((argv, envp)) {
            posix_spawn(&pid, executable, &actions, &attributes.attributes, argv.pointers, envp.pointers)
        }
        guard rc == 0 else { throw SystemError("run \(executable) vm run", errno: rc) }
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

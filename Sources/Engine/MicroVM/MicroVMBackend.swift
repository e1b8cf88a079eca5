#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// What a backend boots for a container in a micro-VM. The kernel, initramfs, disks and agent
/// socket come from the container's `MicroVMBootPlan.boot`.
struct MicroVMLaunch: Sendable {
    var kernel = ""
    var initrd = ""
    var memoryMiB: Int
    var cpus: Int
    /// Read-only disks first (the image's layers, lowest first), then the scratch disk; each
    /// with the virtio serial the agent finds it by.
    var disks: [(path: String, serial: String, readOnly: Bool)] = []
    /// The NIC: a tap in the container's network namespace and the MAC the guest takes (nil: no NIC).
    var nic: (tap: Int32, mac: String)? = nil
    /// Host directories served to the guest over virtio-9p.
    var shares: [GuestSpec.Share] = []
    /// Where the guest's console (kernel messages, the agent's own errors) is written.
    var consoleLog: String
    /// The host end of the agent's stream is the other half of this connected socket pair.
    var agentSocket: Int32 = -1
    /// The lock on the container's disks (`MicroVMDiskLock`), which the VM's process inherits so
    /// that it is held until that process is gone, not only its parent.
    var diskLock: Int32? = nil
}

/// The descriptors a backend's child gets at fixed numbers, and its spawn: a source at or below
/// the highest number (or stdio) is first duplicated above it, so that no dup2 of the spawn
/// overwrites another's source. The duplicates close with this value (after the spawn).
final class ChildDescriptors {
    private(set) var pairs: [(source: Int32, target: Int32)] = []
    private var moved: [Int32] = []

    init(_ wanted: [(source: Int32, target: Int32)]) throws {
        let highest = max(wanted.map(\.target).max() ?? 2, 2)
        for (source, target) in wanted {
            var from = source
            if source <= highest {
                from = try sysCall("duplicate descriptor \(source)") { fcntl(source, F_DUPFD_CLOEXEC, highest + 1) }
                moved.append(from)
            }
            pairs.append((from, target))
        }
    }

    deinit { for fd in moved { close(fd) } }

    /// Runs `executable` with these descriptors, stdin /dev/null, stdout to `output` and stderr to
    /// `errors` (or to `output`), as a child that dies with the calling thread: the VM ends with
    /// the process that hosts it, even one killed with SIGKILL (QEMU has no option for that).
    func spawn(_ executable: String, arguments: [String], output: String, errors: String?) throws -> pid_t {
        let argv = CStringArray([executable] + arguments)
        let envp = CStringArray(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        let sources = pairs.map(\.source), targets = pairs.map(\.target)
        let pid = withExtendedLifetime((argv, envp)) {
            skiff_spawn_dying_with_parent(
                executable, argv.pointers, envp.pointers, output, errors, sources, targets, Int32(pairs.count))
        }
        guard pid > 0 else { throw SystemError("run \(executable)") }
        return pid
    }
}

/// A booted micro-VM: the process that runs it and the console it wrote. Sendable: a files-only
/// boot serves its session on a thread of its own (`MicroVMFilesBoot`).
protocol RunningMicroVM: AnyObject, Sendable {
    /// The host process whose end is the VM's end (QEMU, or `skiff vm run`): a child of the
    /// container's monitor, which waits for it.
    var pid: Int32 { get }
    var consoleLog: String { get }
    /// Where the VM's monitor (QEMU, `skiff vm run`) writes its own messages.
    var monitorLog: String { get }
    /// Ends the VM at once (the guest gets no say).
    func terminate()
}

extension RunningMicroVM {
    /// The last lines of the guest's console (and the VM monitor's own messages), for errors.
    func consoleTail(lines: Int = 15) -> String {
        var text = ""
        for (path, label) in [(consoleLog, "guest console"), (monitorLog, "VM monitor")] {
            guard let content = try? FileIO.readString(path), !content.isEmpty else { continue }
            // The serial console ends its lines with CRLF.
            let tail = content.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).suffix(lines).joined(separator: "\n")
            text += "\n--- \(label) ---\n" + tail
        }
        return text
    }
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
    /// /dev/kvm can boot Linux, QEMU elsewhere, and QEMU for a container that `needsShares`
    /// (volumes, directory binds), which skiff's monitor cannot serve. `executable` is the `skiff`
    /// binary skiff's backend runs its monitor with.
    static func select(_ name: String?, needsShares: Bool = false, executable: String = "/proc/self/exe") throws -> any MicroVMBackend {
        let qemu = QEMUBackend()
        let chosen = try choose(name, needsShares: needsShares, kvmProblem: kvmProblem(), qemuProblem: qemu.unavailableReason())
        return chosen == "skiff" ? SkiffBackend(executable: executable) : qemu
    }

    /// The choice `select` makes, given what keeps each backend from working here (pure,
    /// unit-tested): the backend's name, or the error that says why none fits.
    static func choose(_ name: String?, needsShares: Bool, kvmProblem: String?, qemuProblem: String?) throws -> String {
        let chosen = name ?? (needsShares ? "qemu" : defaultName(kvmProblem: kvmProblem))
        switch chosen {
        case "qemu":
            if let qemuProblem { throw EngineError.invalidOption("--vm-backend qemu cannot work on this host: \(qemuProblem)") }
        case "skiff":
            if let kvmProblem {
                throw EngineError.invalidOption(
                    "--vm-backend skiff cannot work on this host: \(kvmProblem) (skiff's own monitor needs a /dev/kvm that boots Linux); use --vm-backend qemu "
                        + "(docs/vm-monitor.md, \"What the host needs\")"
                )
            }
            if needsShares { throw EngineError.invalidOption(sharesRefusal) }
        default:
            throw EngineError.invalidOption("--vm-backend '\(chosen)' is not one of \(names.joined(separator: ", "))")
        }
        return chosen
    }

    /// The default backend given what stops /dev/kvm from booting Linux (nil: nothing).
    static func defaultName(kvmProblem: String?) -> String { kvmProblem == nil ? "skiff" : "qemu" }

    /// What `skiff info` says about each backend here.
    /// `configured`: the store's `vm.backend`, the default where it is set.
    static func report(configured: String? = nil) -> [Engine.VMBackendInfo] {
        let qemuReason = QEMUBackend().unavailableReason()
        let problem = kvmProblem()
        let defaultBackend = configured ?? defaultName(kvmProblem: problem)
        let acceleration = problem == nil ? "with KVM" : "with TCG (software emulation: \(problem ?? ""))"
        return [
            Engine.VMBackendInfo(
                Name: "qemu", Usable: qemuReason == nil, Default: qemuReason == nil && defaultBackend == "qemu",
                Note: qemuReason ?? "microvm machine, \(acceleration)"),
            Engine.VMBackendInfo(
                Name: "skiff", Usable: problem == nil, Default: problem == nil && defaultBackend == "skiff",
                Note: problem.map { "skiff's own monitor cannot boot Linux here: \($0)" }
                    ?? "skiff's own KVM monitor (skiff vm run; agent over virtio-vsock; no volumes or directory binds)"),
        ]
    }

    /// Whether this host's /dev/kvm can run a Linux guest: present, usable, and not kvm_pvm (which
    /// runs only freestanding guests).
    static func kvmBootsLinux() -> Bool { kvmProblem() == nil }

    /// Why /dev/kvm cannot boot Linux here, or nil when it can. The paths are parameters for tests.
    static func kvmProblem(device: String = "/dev/kvm", pvmModule: String = "/sys/module/kvm_pvm") -> String? {
        guard FileIO.exists(device) else { return "\(device) does not exist (no KVM on this host)" }
        guard access(device, R_OK | W_OK) == 0 else { return "\(device) is not readable and writable here" }
        if FileIO.exists(pvmModule) {
            return "\(device) is kvm_pvm, which runs only freestanding guests, not Linux"
        }
        return nil
    }

    /// The error for volumes and directory binds under skiff's monitor.
    static let sharesRefusal =
        "--vm-backend skiff has no shared-file device (skiff's monitor serves no virtio-9p): volumes and directory binds (-v, --mount, an image's VOLUME) need --vm-backend qemu"

    /// Whether `commandLine` (of a container's recorded pid) is a VM monitor process: QEMU or
    /// `skiff vm run`; so a SIGKILL never reaches a process that reused the pid.
    static func isVMProcess(commandLine: [String]) -> Bool {
        guard let first = commandLine.first else { return false }
        if first.contains("qemu") { return true }
        return commandLine.count > 2 && commandLine[1] == "vm" && commandLine[2] == "run" && commandLine.contains("--die-with-parent")
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import LinuxSupport
import VMM

/// `skiff vm run`: boots a kernel in a micro-VM with the serial console on our terminal and
/// exits with the VM's status (0 after a clean guest shutdown or reboot).
struct VMRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a Linux kernel (bzImage or PVH vmlinux) in a micro-VM.",
        discussion: """
            Exit codes: 0 the guest shut down or rebooted, 1 monitor failure, 3 guest triple fault, \
            4 KVM internal error, 5 KVM refused entry, 130 stopped by a signal.
            Disks appear as /dev/vda, /dev/vdb, ... in the order given.
            """
    )

    @Option(help: "Kernel image: a bzImage or an uncompressed vmlinux with a PVH note (default: skiff's guest kernel, built on first use).")
    var kernel: String?

    @Option(help: "Initial ramdisk (initramfs) for the kernel.")
    var initrd: String?

    @Option(help: "Kernel command line (the virtio-mmio devices are appended).")
    var cmdline: String = VMConfiguration.defaultCommandLine

    @Option(help: "Number of vCPUs.")
    var cpus: Int = 1

    @Option(help: "Guest memory in MiB.")
    var memory: UInt64 = 128

    @Option(help: "Raw disk image as virtio-blk, FILE[,ro][,serial=ID] (ID: what the guest reads as the disk's serial); repeatable.")
    var disk: [String] = []

    @Option(help: "Network: tap=NAME to attach an existing tap device, fd=N for an open tap descriptor this process inherited, or none.")
    var net: String = "none"

    @Option(help: "The guest NIC's MAC address (default: derived from the tap's name).")
    var mac: String?

    @Option(
        help:
            "virtio-vsock as CID[,SOCKET_PATH]: host connects to SOCKET_PATH and sends 'CONNECT PORT\\n'; guest connections to port P reach SOCKET_PATH_P. Without a path, only --vsock-stream reaches the guest."
    )
    var vsock: String?

    @Option(
        help:
            "FD:PORT: an inherited, connected stream descriptor bridged to guest vsock port PORT once the guest listens there (asked again every 20 ms until then); needs --vsock. Repeatable."
    )
    var vsockStream: [String] = []

    @Option(help: .hidden)
    var dieWithParent: Int32?

    @Option(
        help:
            "Interrupt controllers: split (IOAPIC in the monitor, local APICs in KVM, no PIC/PIT; Linux needs CONFIG_KVM_GUEST) or kernel (PIC, IOAPIC and PIT in KVM, as Firecracker)."
    )
    var irqchip: String = InterruptControllerMode.split.rawValue

    @Flag(
        help:
            "Do not confine the monitor's threads with seccomp (each vCPU thread and the device loop normally get a filter of the system calls they need; any other call kills the monitor with SIGSYS)."
    )
    var noSeccomp = false

    @Flag(
        help:
            "Do not jail the monitor. Normally, once the VM is built and before the guest runs, the monitor moves into a mount namespace whose root is an empty read-only tmpfs (holding only the vsock socket's directory), drops every capability, sets no_new_privs and, when started as root, switches to --jail-uid/--jail-gid."
    )
    var noJail = false

    @Option(
        help:
            "The uid the jailed monitor runs as when started as root (default: 65534; without this option a VM with --vsock keeps the caller's uid, which the socket directory and the host's sockets are meant for)."
    )
    var jailUid: UInt32?

    @Option(help: "The gid the jailed monitor runs as (default: the --jail-uid value, or 65534).")
    var jailGid: UInt32?

    @Option(help: .hidden)
    var seccompProbe: String?

    mutating func run() throws {
        // First, so a parent that dies while the machine is built takes this process with it.
        if let dieWithParent, !MicroVM.dieWithParent(dieWithParent) {
            printError("skiff vm: the parent process \(dieWithParent) is gone; not starting the VM")
            throw ExitCode(1)
        }
        let configuration = try makeConfiguration()
        let console = FileDescriptorSink(fd: STDOUT_FILENO)
        let machine = try MicroVM(configuration: configuration, console: console)
        // Kept to the process's end (a local would be released after its last use, and its deinit
        // would give SIGTERM its default action back): a SIGTERM that comes while the guest's own
        // end is being reported must not replace the guest's exit code with a death by signal.
        let stopSignals = try StopSignals.watch()
        _ = Unmanaged.passRetained(stopSignals)
        try machine.stop(whenReadable: stopSignals.descriptor)
        // The guest's tty does echo and line editing; Ctrl-C still reaches us and stops the VM.
        let terminal = configuration.interactive ? TerminalMode.enterCharacterMode() : nil
        defer { terminal?.restore() }
        let status = machine.run()
        console.finish()
        if console.droppedBytes > 0 {
            printError(
                "skiff vm: \(console.droppedBytes) bytes of guest console output were dropped because standard output did not take them (nothing reading it, or too slowly); redirect it to a file to keep everything"
            )
        }
        for fault in machine.deviceFaults.messages { printError("skiff vm: \(fault)") }
        if status != .guestStopped { printError("skiff vm: \(status)") }
        if status == .stoppedByHost {
            let where_ = machine.instructionPointers().enumerated().map {
                "vCPU \($0.offset) at rip 0x\(String($0.element ?? 0, radix: 16))"
            }
            printError("skiff vm: \(where_.joined(separator: ", "))")
        }
        throw ExitCode(status.exitCode)
    }

    func makeConfiguration() throws -> VMConfiguration {
        var configuration = VMConfiguration(kernelPath: try kernel ?? GuestKernel().ensure())
        configuration.initrdPath = initrd
        configuration.commandLine = cmdline
        configuration.cpus = cpus
        configuration.memoryMiB = memory
        configuration.disks = try disk.map { try VMConfiguration.Disk.parse($0) }
        switch net {
        case "none": break
        case let value where value.hasPrefix("tap="): configuration.tapName = String(value.dropFirst(4))
        case let value where value.hasPrefix("fd="):
            guard let fd = Int32(value.dropFirst(3)), fd > 2, fcntl(fd, F_GETFD) >= 0 else {
                throw ValidationError("--net fd=N needs an open descriptor above 2, not '\(value)'")
            }
            configuration.tapDescriptor = fd
        default: throw ValidationError("--net must be tap=NAME, fd=N or none, not '\(net)'")
        }
        if let mac {
            guard net != "none" else { throw ValidationError("--mac needs --net") }
            configuration.macAddress = try Self.parseMAC(mac)
        }
        configuration.vsock = try vsock.map { try VMConfiguration.Vsock.parse($0) }
        if !vsockStream.isEmpty {
            guard configuration.vsock != nil else { throw ValidationError("--vsock-stream needs --vsock CID") }
            for text in vsockStream {
                let stream = try VMConfiguration.Vsock.parseStream(text)
                guard fcntl(stream.fd, F_GETFD) >= 0 else {
                    throw ValidationError("--vsock-stream \(text): descriptor \(stream.fd) is not open")
                }
                configuration.vsock?.hostStreams.append(stream)
            }
        }
        configuration.parentProcess = dieWithParent
        guard let mode = InterruptControllerMode(rawValue: irqchip) else {
            throw ValidationError("--irqchip must be split or kernel, not '\(irqchip)'")
        }
        configuration.interruptController = mode
        configuration.interactive = isatty(STDIN_FILENO) != 0
        configuration.seccomp = !noSeccomp
        if noJail {
            guard jailUid == nil && jailGid == nil else {
                throw ValidationError("--jail-uid and --jail-gid need the jail; drop them or --no-jail")
            }
        } else {
            configuration.jail = MonitorJail(
                directories: MonitorJail.directories(for: configuration),
                identity: try jailIdentity(vsock: configuration.vsock?.socketPath != nil))
        }
        if let seccompProbe {
            guard let kind = MonitorThreadKind(rawValue: seccompProbe) else {
                throw ValidationError(
                    "--seccomp-probe must be one of \(MonitorThreadKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.seccompProbe = kind
        }
        try configuration.validate()
        return configuration
    }
}

extension VMRun {
    /// "02:42:ac:11:00:02" into six bytes.
    static func parseMAC(_ text: String) throws -> [UInt8] {
        let bytes = text.split(separator: ":", omittingEmptySubsequences: false).compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        guard bytes.count == 6, text.count == 17 else {
            throw ValidationError("--mac '\(text)' is not a MAC address (six hex pairs with colons)")
        }
        return bytes
    }

    /// The ids the jailed monitor switches to: only a monitor started as root switches (nothing
    /// else may change ids); by default to 65534, except that with a --vsock socket path it keeps
    /// its own, since it still connects to the host's Unix sockets by path and removes its own at
    /// exit, which the caller's files are set up for (host streams are descriptors and need no
    /// path). --jail-uid/--jail-gid always switch.
    func jailIdentity(vsock: Bool) throws -> MonitorJail.Identity? {
        if jailUid == nil && jailGid == nil && (vsock || geteuid() != 0) { return nil }
        guard geteuid() == 0 else { throw ValidationError("--jail-uid and --jail-gid need skiff vm run to be started as root") }
        let uid = jailUid ?? MonitorJail.unprivilegedID
        return MonitorJail.Identity(uid: uid, gid: jailGid ?? jailUid ?? MonitorJail.unprivilegedID)
    }
}

/// SIGINT/SIGTERM as events on a `SignalWatcher`'s pipe (its handler only writes, which is
/// async-signal safe and allowed by the monitor's seccomp filter); the machine's device loop
/// watches the descriptor and stops the VM cleanly, whichever thread the kernel interrupted.
enum StopSignals {
    static func watch() throws -> SignalWatcher {
        // We may have inherited a mask that blocks them (a test runner's thread, a supervisor):
        // unblock them here, before the vCPU threads are made, so that they always stop the VM.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for signal in [SIGINT, SIGTERM] { sigaddset(&wanted, signal) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        return try SignalWatcher([SIGINT, SIGTERM])
    }
}

/// The terminal settings to restore after the guest had the console.
struct TerminalMode {
    let saved: termios

    static func enterCharacterMode() -> TerminalMode? {
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { return nil }
        let saved = settings
        settings.c_lflag &= ~tcflag_t(ICANON | ECHO)
        settings.c_iflag &= ~tcflag_t(ICRNL)
        withUnsafeMutableBytes(of: &settings.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &settings)
        return TerminalMode(saved: saved)
    }

    func restore() {
        var settings = saved
        tcsetattr(STDIN_FILENO, TCSANOW, &settings)
    }
}

func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

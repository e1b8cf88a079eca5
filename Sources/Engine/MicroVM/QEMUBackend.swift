#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// QEMU (Debian's qemu-system-x86) as the micro-VM backend: its `microvm` machine with
/// virtio-mmio devices (announced on the kernel command line, which skiff's guest kernel reads),
/// KVM when this host's /dev/kvm boots Linux and TCG otherwise. The agent's stream is a
/// virtio-console port whose host end is one half of a socket pair QEMU inherits.
struct QEMUBackend: MicroVMBackend {
    var name: String { "qemu" }
    static let candidates = ["/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64"]

    var executable: String? { Self.candidates.first { access($0, X_OK) == 0 } }

    func unavailableReason() -> String? {
        executable == nil ? "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)" : nil
    }

    /// The command line for `launch` (pure, unit-tested): `agentFD` is the descriptor number the
    /// child sees for its half of the socket pair.
    static func arguments(_ launch: MicroVMLaunch, agentFD: Int32, tapFD: Int32 = 4, kvm: Bool) -> [String] {
        var args = [
            // Under KVM the guest keeps time with kvm-clock and needs no legacy PIT or PIC; under
            // TCG it has neither kvm-clock nor another way to calibrate its TSC than the PIT.
            "-machine", kvm ? "microvm,acpi=off,rtc=off,pit=off,pic=off,isa-serial=on" : "microvm,acpi=off,rtc=off,isa-serial=on",
            "-accel", kvm ? "kvm" : "tcg", "-cpu", kvm ? "host" : "max",
            "-m", "\(launch.memoryMiB)M", "-smp", "\(launch.cpus)",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-chardev", "file,id=console,path=\(launch.consoleLog)", "-serial", "chardev:console",
            "-kernel", launch.kernel, "-initrd", launch.initrd,
            "-append", "console=ttyS0 reboot=k panic=-1 quiet",
            "-device", "virtio-serial-device",
            "-chardev", "socket,id=agent,fd=\(agentFD)",
            "-device", "virtserialport,chardev=agent,name=org.skiff.agent",
        ]
        for (index, disk) in launch.disks.enumerated() {
            args += [
                "-drive", "file=\(disk.path),if=none,id=disk\(index),format=raw,readonly=\(disk.readOnly ? "on" : "off")",
                "-device", "virtio-blk-device,drive=disk\(index),serial=\(disk.serial)",
            ]
        }
        if let nic = launch.nic {
            args += ["-netdev", "tap,id=net0,fd=\(tapFD),vhost=off", "-device", "virtio-net-device,netdev=net0,mac=\(nic.mac)"]
        }
        for (index, share) in launch.shares.enumerated() {
            // passthrough: the guest sees the host's owners and modes, as a process container
            // does; QEMU runs as root here, like the monitor.
            args += [
                "-fsdev", "local,id=fs\(index),path=\(share.hostPath),security_model=passthrough\(share.readOnly ? ",readonly=on" : "")",
                "-device", "virtio-9p-device,fsdev=fs\(index),mount_tag=\(share.tag)",
            ]
        }
        return args
    }

    func launch(_ launch: MicroVMLaunch) throws -> any RunningMicroVM {
        guard let executable else { throw EngineError.startFailed(unavailableReason() ?? "no QEMU") }
        // The child's copy of the agent socket: a fixed number above stdio (the dup2 clears its
        // close-on-exec flag).
        let childFD: Int32 = 3
        let childTapFD: Int32 = 4
        // The disk lock needs no argument: QEMU only has to hold it open.
        let childLockFD: Int32 = 5
        let args = Self.arguments(launch, agentFD: childFD, tapFD: childTapFD, kvm: MicroVMBackends.kvmBootsLinux())
        var wanted = [(source: launch.agentSocket, target: childFD)]
        if let nic = launch.nic { wanted.append((nic.tap, childTapFD)) }
        if let lock = launch.diskLock { wanted.append((lock, childLockFD)) }
        // QEMU's messages beside the console; it dies with the monitor (or the `cp`) that hosts it.
        let pid = try ChildDescriptors(wanted).spawn(
            executable, arguments: args, output: launch.consoleLog + ".qemu", errors: nil)
        return QEMUProcess(pid: pid, consoleLog: launch.consoleLog)
    }
}

final class QEMUProcess: RunningMicroVM {
    let pid: Int32
    let consoleLog: String
    var monitorLog: String { consoleLog + ".qemu" }

    init(pid: Int32, consoleLog: String) {
        self.pid = pid
        self.consoleLog = consoleLog
    }

    func terminate() { kill(pid, SIGKILL) }
}

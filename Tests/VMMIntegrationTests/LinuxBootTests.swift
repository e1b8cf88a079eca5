import CShim
import Foundation
import Testing
import VMM

/// The kernel the Linux boot tests use: $SKIFF_VM_TEST_KERNEL, else the default guest kernel
/// built by kernel/build.sh, else the host's own /boot/vmlinuz (which has virtio as modules, so
/// only the tests that need no virtio device can use it).
enum LinuxTestKernel {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let ownKernel: String? = {
        if let path = ProcessInfo.processInfo.environment["SKIFF_VM_TEST_KERNEL"], FileManager.default.fileExists(atPath: path) {
            return path
        }
        let built = repository + "/kernel/out/vmlinux"
        return FileManager.default.fileExists(atPath: built) ? built : nil
    }()

    static let anyKernel: String? = {
        if let ownKernel { return ownKernel }
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let path = "/boot/vmlinuz-\(release)"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    static let busybox = FileManager.default.fileExists(atPath: "/bin/busybox") ? "/bin/busybox" : nil
    static let canBoot = Host.hasHardwareVirtualization && anyKernel != nil && busybox != nil
    static let canUseVirtio = Host.hasHardwareVirtualization && ownKernel != nil && busybox != nil
    static let reasonText =
        "needs hardware virtualization (vmx/svm in /proc/cpuinfo and kvm_pvm not loaded: on kvm_pvm Linux never reaches userspace), busybox-static and a kernel"
    static let virtioText = reasonText + " with virtio-mmio built in (kernel/build.sh or $SKIFF_VM_TEST_KERNEL)"
    static let reason = Comment(rawValue: reasonText)
    static let virtioReason = Comment(rawValue: virtioText)
    static let netReason = Comment(rawValue: virtioText + ", root and iproute2")
    static let vsockReason = Comment(rawValue: virtioText + " and gcc")

    /// An initramfs with busybox, `extra` files, and `script` as /init (which ends with reboot -f).
    static func initramfs(script: String, extra: [Initramfs.Entry] = [], in scratch: ScratchDirectory) throws -> String {
        let busybox = [UInt8](try Data(contentsOf: URL(fileURLWithPath: self.busybox ?? "/bin/busybox")))
        let entries = Initramfs.busyboxEntries(busybox: busybox, initScript: "#!/bin/sh\n" + script + "\nreboot -f\n") + extra
        let path = scratch.file("initrd.cpio")
        try Data(Initramfs.archive(entries)).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let prologue = """
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        """
}

@Suite(.serialized)
struct LinuxBootTests {
    func configuration(kernel: String?, initrd: String, cpus: Int = 1, memory: UInt64 = 256) -> VMConfiguration {
        var config = VMConfiguration(kernelPath: kernel ?? "")
        config.initrdPath = initrd
        config.cpus = cpus
        config.memoryMiB = memory
        return config
    }

    @Test(.enabled(if: LinuxTestKernel.canBoot, LinuxTestKernel.reason))
    func linuxBootsToUserspaceWithTheRequestedCPUsAndMemory() throws {
        let scratch = try ScratchDirectory("skiff-linux")
        let initrd = try LinuxTestKernel.initramfs(
            script: LinuxTestKernel.prologue + """

                echo "\(Initramfs.readyMarker) nproc=$(nproc) memkb=$(sed -n 's/MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo)"
                """, in: scratch)
        let run = try boot(configuration(kernel: LinuxTestKernel.anyKernel, initrd: initrd, cpus: 2, memory: 256), timeout: 120)
        #expect(run.status == .guestStopped, "output: \(run.output)")
        let line = try #require(run.output.split(separator: "\n").first { $0.contains(Initramfs.readyMarker) }, "output: \(run.output)")
        #expect(line.contains("nproc=2"))
        let memkb = Int(line.split(separator: "=").last ?? "") ?? 0
        #expect(memkb > 200 * 1024 && memkb <= 256 * 1024)
    }

    @Test(
        .enabled(
            if: LinuxTestKernel.canUseVirtio && FileManager.default.fileExists(atPath: "/sbin/mkfs.ext4"), LinuxTestKernel.virtioReason))
    func aFileWrittenOnVirtioBlockSurvivesTheVM() throws {
        let scratch = try ScratchDirectory("skiff-linux-blk")
        let disk = scratch.file("disk.ext4")
        _ = FileManager.default.createFile(atPath: disk, contents: Data(count: 32 << 20))
        try runCommand("/sbin/mkfs.ext4", ["-q", "-F", disk])
        let initrd = try LinuxTestKernel.initramfs(
            script: LinuxTestKernel.prologue + """

                mount -t ext4 /dev/vda /mnt && echo survived-the-vm > /mnt/proof && umount /mnt && echo BLK-WRITTEN
                """, in: scratch)
        var config = configuration(kernel: LinuxTestKernel.ownKernel, initrd: initrd)
        config.disks = [.init(path: disk, readOnly: false)]
        let run = try boot(config, timeout: 120)
        #expect(run.output.contains("BLK-WRITTEN"), "output: \(run.output)")
        let proof = try runCommand("/sbin/debugfs", ["-R", "cat /proof", disk])
        #expect(proof.contains("survived-the-vm"))
    }

    @Test(.enabled(if: LinuxTestKernel.canUseVirtio && Host.isRoot && Host.hasIP, LinuxTestKernel.netReason))
    func theGuestPingsThroughATapInANetworkNamespace() throws {
        let scratch = try ScratchDirectory("skiff-linux-net")
        let link = try TestTapAndNamespace(tapPrefix: "skl", namespacePrefix: "skiff-vmlinux")
        defer { withExtendedLifetime(link) {} }  // removed at the end of the test, not after its last use
        let tap = link.tap, namespace = link.namespace
        try runCommand("/usr/sbin/ip", ["link", "set", tap, "netns", namespace])
        try runCommand("/usr/sbin/ip", ["-n", namespace, "addr", "add", "10.213.0.1/24", "dev", tap])
        try runCommand("/usr/sbin/ip", ["-n", namespace, "link", "set", tap, "up"])
        let initrd = try LinuxTestKernel.initramfs(
            script: LinuxTestKernel.prologue + """

                ip link set eth0 up && ip addr add 10.213.0.2/24 dev eth0 && ping -c 1 -W 5 10.213.0.1 && echo PING-OK
                """, in: scratch)
        var config = configuration(kernel: LinuxTestKernel.ownKernel, initrd: initrd)
        // The tap lives in the test's namespace; the monitor opens it from there by name via /proc.
        config.tapName = tap
        let run = try withNetworkNamespace(namespace) { try boot(config, timeout: 120) }
        #expect(run.output.contains("PING-OK"), "output: \(run.output)")
    }

    @Test(.enabled(if: LinuxTestKernel.canUseVirtio && Host.gccPath != nil, LinuxTestKernel.vsockReason))
    func vsockCarriesBytesBothWaysBetweenLinuxAndHostProcesses() throws {
        let scratch = try ScratchDirectory("skiff-linux-vsock")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Guest/vsockcheck.c").path
        try runCommand(Host.gccPath ?? "gcc", ["-static", "-O2", "-o", scratch.file("vsockcheck"), source])
        let program = [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.file("vsockcheck"))))
        let initrd = try LinuxTestKernel.initramfs(
            script: LinuxTestKernel.prologue + "\n/bin/vsockcheck",
            extra: [.file("bin/vsockcheck", program, mode: 0o755)], in: scratch)
        var config = configuration(kernel: LinuxTestKernel.ownKernel, initrd: initrd)
        let base = scratch.file("v.sock")
        config.vsock = .init(guestCID: 3, socketPath: base)
        let listener = try UnixSocket.listen(path: base + "_5000")
        let run = try boot(config, timeout: 120) { _, sink in
            let connection = try listener.accept(timeout: 100)
            #expect(try connection.read(count: 16) == "hello-from-linux")
            try connection.write("hello-from-host")
            #expect(waitFor("VSOCK-GUEST-LISTENING", in: sink, timeout: 30))
            let inbound = try UnixSocket.connect(path: base)
            try inbound.write("CONNECT 6000\n")
            #expect(try inbound.readLine().hasPrefix("OK "))
            #expect(try inbound.read(count: 21) == "hello-host-from-linux")
            try inbound.write("hi-linux")
            _ = waitFor("VSOCK-GUEST-LISTENER-GOT", in: sink, timeout: 30)
        }
        #expect(run.output.contains("VSOCK-GUEST-GOT hello-from-host"), "output: \(run.output)")
        #expect(run.output.contains("VSOCK-GUEST-LISTENER-GOT hi-linux"))
    }
}

/// Runs `body` with the calling thread in network namespace `name` (setns affects one thread),
/// so a tap that lives there can be opened by name; the thread returns to its namespace after.
let cloneNewNet: Int32 = 0x4000_0000

func withNetworkNamespace<T>(_ name: String, _ body: () throws -> T) throws -> T {
    let original = open("/proc/thread-self/ns/net", O_RDONLY)
    let target = open("/run/netns/\(name)", O_RDONLY)
    defer {
        if original >= 0 {
            _ = skiff_setns(original, cloneNewNet)
            close(original)
        }
        if target >= 0 { close(target) }
    }
    guard original >= 0, target >= 0, skiff_setns(target, cloneNewNet) == 0 else { throw POSIXError(.EPERM) }
    return try body()
}

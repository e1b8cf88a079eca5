import Foundation
@testable import Engine
import Testing

/// `--vm-backend skiff`: the `skiff vm run` command line a container's monitor starts, and which
/// backend a container gets (or why none), without booting anything.
@Suite struct SkiffBackendTests {
    func launch(nic: (tap: Int32, mac: String)? = (tap: 11, mac: "02:42:ac:11:00:02")) -> MicroVMLaunch {
        MicroVMLaunch(
            kernel: "/k/vmlinux", initrd: "/i/agent.cpio", memoryMiB: 640, cpus: 2,
            disks: [
                (path: "/d/l0.erofs", serial: "layer0", readOnly: true), (path: "/d/l1.erofs", serial: "layer1", readOnly: true),
                (path: "/c/scratch.ext4", serial: "scratch", readOnly: false),
            ],
            nic: nic, consoleLog: "/c/console.log", agentSocket: 9)
    }

    @Test func theMonitorGetsTheDisksBySerialTheTapAndTheAgentStreamAsDescriptors() {
        let args = SkiffBackend.arguments(launch(), parent: 4242)
        func values(after flag: String) -> [String] { args.indices.filter { args[$0] == flag }.map { args[$0 + 1] } }
        #expect(Array(args.prefix(2)) == ["vm", "run"])
        #expect(values(after: "--kernel") == ["/k/vmlinux"] && values(after: "--initrd") == ["/i/agent.cpio"])
        #expect(values(after: "--memory") == ["640"] && values(after: "--cpus") == ["2"])
        // Layers read-only, lowest first, then the scratch disk: each with the serial the agent
        // looks for in /sys/block/*/serial.
        #expect(
            values(after: "--disk") == ["/d/l0.erofs,ro,serial=layer0", "/d/l1.erofs,ro,serial=layer1", "/c/scratch.ext4,serial=scratch"])
        // The tap the container's network namespace holds, as descriptor 4, with the veth's MAC.
        #expect(values(after: "--net") == ["fd=\(SkiffBackend.tapFD)"] && SkiffBackend.tapFD == 4)
        #expect(values(after: "--mac") == ["02:42:ac:11:00:02"])
        // The agent's stream: descriptor 3 bridged to the guest's vsock port 1024 (skiff-agent's
        // AgentTransport), no Unix socket for the guest to reach the host by.
        #expect(values(after: "--vsock") == ["3"])
        #expect(values(after: "--vsock-stream") == ["3:1024"] && SkiffBackend.agentFD == 3)
        #expect(values(after: "--die-with-parent") == ["4242"])
        // The serial console, the devices (appended by the monitor) and nothing for ACPI or PCI.
        let commandLine = values(after: "--cmdline").first ?? ""
        #expect(commandLine.contains("console=ttyS0") && commandLine.contains("pci=off") && commandLine.contains("reboot=k"))
        #expect(!commandLine.contains("virtio_mmio"))
        #expect(!args.contains("--no-jail") && !args.contains("--no-seccomp"))
    }

    @Test func withoutANetworkThereIsNoNIC() {
        let args = SkiffBackend.arguments(launch(nic: nil), parent: 1)
        #expect(!args.contains("--net") && !args.contains("--mac"))
    }

    @Test func theDefaultIsSkiffWhereKVMBootsLinuxAndQEMUElsewhereOrWithVolumes() throws {
        #expect(try MicroVMBackends.choose(nil, needsShares: false, kvmProblem: nil, qemuProblem: nil) == "skiff")
        #expect(try MicroVMBackends.choose(nil, needsShares: false, kvmProblem: "kvm_pvm", qemuProblem: nil) == "qemu")
        #expect(try MicroVMBackends.choose(nil, needsShares: true, kvmProblem: nil, qemuProblem: nil) == "qemu")
        #expect(try MicroVMBackends.choose("qemu", needsShares: false, kvmProblem: nil, qemuProblem: nil) == "qemu")
        #expect(try MicroVMBackends.choose("skiff", needsShares: false, kvmProblem: nil, qemuProblem: "no qemu") == "skiff")
    }

    func refusal(_ name: String?, needsShares: Bool = false, kvmProblem: String? = nil, qemuProblem: String? = nil) -> String {
        do {
            _ = try MicroVMBackends.choose(name, needsShares: needsShares, kvmProblem: kvmProblem, qemuProblem: qemuProblem)
            return ""
        } catch { return "\(error)" }
    }

    @Test func aBackendThatCannotWorkIsRefusedWithTheReason() {
        let noKVM = refusal("skiff", kvmProblem: "/dev/kvm is kvm_pvm, which runs only freestanding guests, not Linux")
        #expect(noKVM.contains("--vm-backend skiff cannot work on this host: /dev/kvm is kvm_pvm"), "\(noKVM)")
        #expect(noKVM.contains("use --vm-backend qemu") && noKVM.contains("docs/vm-monitor.md"), "the error points at the docs")
        let volumes = refusal("skiff", needsShares: true)
        #expect(volumes.contains("volumes and directory binds") && volumes.contains("--vm-backend qemu"), "\(volumes)")
        #expect(refusal("qemu", qemuProblem: "qemu-system-x86_64 is not installed").contains("not installed"))
        #expect(refusal("firecracker").contains("is not one of qemu, skiff"))
    }

    @Test func kvmProblemsAreNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-kvm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let device = directory + "/kvm", module = directory + "/kvm_pvm"
        #expect(MicroVMBackends.kvmProblem(device: device, pvmModule: module)?.contains("does not exist") == true)
        #expect(FileManager.default.createFile(atPath: device, contents: nil, attributes: [.posixPermissions: 0o600]))
        #expect(MicroVMBackends.kvmProblem(device: device, pvmModule: module) == nil)
        try FileManager.default.createDirectory(atPath: module, withIntermediateDirectories: true)
        #expect(MicroVMBackends.kvmProblem(device: device, pvmModule: module)?.contains("kvm_pvm") == true)
    }

    @Test func theReportAgreesWithTheChoice() {
        let report = MicroVMBackends.report()
        let skiff = report.first { $0.Name == "skiff" }
        #expect(skiff?.Usable == (MicroVMBackends.kvmProblem() == nil))
        #expect(report.filter(\.Default).count <= 1)
        if let problem = MicroVMBackends.kvmProblem() {
            #expect(skiff?.Note.contains(problem) == true)
            #expect(skiff?.Default == false)
        }
    }

    @Test func onlyVMMonitorsAreKilledByRecordedPID() {
        #expect(MicroVMBackends.isVMProcess(commandLine: ["/usr/bin/qemu-system-x86_64", "-machine", "microvm"]))
        #expect(MicroVMBackends.isVMProcess(commandLine: ["/opt/skiff", "vm", "run", "--kernel", "k", "--die-with-parent", "7"]))
        #expect(!MicroVMBackends.isVMProcess(commandLine: ["/opt/skiff", "vm", "run", "--kernel", "k"]))
        #expect(!MicroVMBackends.isVMProcess(commandLine: ["/bin/sleep", "100"]))
        #expect(!MicroVMBackends.isVMProcess(commandLine: []))
    }
}

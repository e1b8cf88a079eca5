import Foundation
import Testing

/// skiff's own monitor booting Linux one level down (docs/nested-kvm-tests.md): on a host whose
/// /dev/kvm cannot boot Linux (kvm_pvm) or that has none, scripts/nested-kvm/run.sh boots Debian's
/// kernel in QEMU/TCG with an emulated AMD SVM (L1), loads kvm_amd there and runs `skiff vm run` and
/// `skiff run --vm` against that /dev/kvm. The harness runs once per test process; each test below
/// checks the result line L1 printed for one test.
enum NestedKVM {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = repository + "/scripts/nested-kvm/run.sh"

    /// The tests L1 runs with skiff's monitor, and what each proves (the QEMU-in-L1 variants run
    /// by hand: scripts/nested-kvm/run.sh --only run-vm-qemu,exec-vm-qemu).
    static let tests: [String] = [
        "l1-kvm",  // L1 booted and kvm_amd gave it a /dev/kvm
        "vm-probe",  // `skiff vm run` of the default kernel boots to the agent (SKIFF_PROBE=1)
        "vm-net-ping",  // virtio-net: L2 pings L1 over a tap made in L1, and answers L1's ping
        "vm-smp-disk",  // `skiff vm run --cpus 2 --disk`: 2 vCPUs see the disk
    ]

    /// The same container tests through skiff's own monitor (`--vm-backend skiff`, the default
    /// in L1, whose /dev/kvm boots Linux). A refusal there is a failure.
    static let skiffBackendTests = ["run-vm-skiff", "exec-vm-skiff"]

    /// A container in a micro-VM on skiff's monitor on a user bridge network (the CNI path of
    /// process containers, the VM's tap mirrored to the veth): a published port, the container's
    /// address, a peer by name, nothing left after `rm -f` and `network rm`. L1 reports it skipped
    /// when the host lacks what run.sh packs for it (iptables, the CNI plugins, the modules).
    static let bridgeNetworkTest = "run-vm-skiff-bridge"

    /// The binaries the harness packs: the ones beside this test bundle (.build/debug).
    static let binaries: String = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("skiff").path) { return directory.path }
        return directory.deletingLastPathComponent().path
    }()

    static let guestKernel = (ProcessInfo.processInfo.environment["SKIFF_STORE"] ?? "/var/lib/skiff") + "/kernels/default/vmlinux"
    static let l1Linux = ProcessInfo.processInfo.environment["SKIFF_NESTED_LINUX"] ?? "/var/lib/skiff/nested-kvm/linux"

    /// Why the harness cannot run here, or nil.
    static let unavailableReason: String? = {
        let files = FileManager.default
        if getuid() != 0 { return "needs root" }
        if !files.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") { return "needs qemu-system-x86_64 (qemu-system-x86)" }
        if !files.fileExists(atPath: guestKernel) { return "needs the guest kernel \(guestKernel) (kernel/build.sh)" }
        let boot = (try? files.contentsOfDirectory(atPath: l1Linux + "/boot")) ?? []
        if !boot.contains(where: { $0.hasPrefix("vmlinuz-") }) {
            return "needs Debian's kernel unpacked under \(l1Linux) (scripts/install-deps.sh)"
        }
        for tool in ["skiff", "skiff-runtime", "skiff-agent"] where !files.isExecutableFile(atPath: binaries + "/" + tool) {
            return "needs \(binaries)/\(tool) (swift build)"
        }
        return nil
    }()
    static let enabled = unavailableReason == nil
    static let reason = Comment(rawValue: "nested KVM harness: " + (unavailableReason ?? ""))

    struct Outcome: Sendable {
        /// Test name to (verdict, the rest of the line).
        var results: [String: (verdict: String, detail: String)] = [:]
        var output: String
        var status: Int32
        var seconds: Double
    }

    /// The harness's one run, shared by every test of this suite.
    static let outcome: Outcome = {
        let started = Date()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["--bin", binaries]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Outcome(output: "could not start \(script): \(error)", status: -1, seconds: 0)
        }
        // The script bounds its own QEMU with `timeout` and removes its files on every exit.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var outcome = Outcome(
            output: String(decoding: data, as: UTF8.self), status: process.terminationStatus, seconds: Date().timeIntervalSince(started))
        for line in outcome.output.split(separator: "\n") where line.hasPrefix("SKIFF-NESTED RESULT ") {
            let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count >= 4 else { continue }
            outcome.results[String(fields[2])] = (String(fields[3]), fields.count > 4 ? String(fields[4]) : "")
        }
        // The result lines with their timings, for the CI log.
        print("nested KVM harness: exit \(outcome.status) after \(Int(outcome.seconds)) s\n\(outcome.output.suffix(6000))")
        return outcome
    }()

    static func check(_ name: String, skippable: Bool = false) throws {
        let outcome = outcome
        guard let result = outcome.results[name] else {
            Issue.record("L1 printed no result for \(name) (harness exit \(outcome.status)):\n\(outcome.output.suffix(4000))")
            return
        }
        if skippable && result.verdict == "skip" { try Test.cancel("\(name) skipped in L1: \(result.detail)") }
        #expect(result.verdict == "pass", "\(name): \(result.verdict) \(result.detail)")
    }
}

@Suite(.serialized)
struct NestedKVMTests {
    @Test(.enabled(if: NestedKVM.enabled, NestedKVM.reason), .timeLimit(.minutes(25)), arguments: NestedKVM.tests)
    func skiffsMonitorInNestedKVM(_ name: String) throws {
        try NestedKVM.check(name)
    }

    @Test(
        .enabled(if: NestedKVM.enabled, NestedKVM.reason),
        .timeLimit(.minutes(25)), arguments: NestedKVM.skiffBackendTests)
    func containersOnSkiffsMonitorInNestedKVM(_ name: String) throws {
        try NestedKVM.check(name)
    }

    @Test(.enabled(if: NestedKVM.enabled, NestedKVM.reason), .timeLimit(.minutes(25)))
    func bridgeNetworkOnSkiffsMonitorInNestedKVM() throws {
        try NestedKVM.check(NestedKVM.bridgeNetworkTest, skippable: true)
    }

    @Test(.enabled(if: NestedKVM.enabled, NestedKVM.reason), .timeLimit(.minutes(25)))
    func theHarnessRanToItsEndInTime() {
        let outcome = NestedKVM.outcome
        #expect(outcome.status == 0, "harness exit \(outcome.status):\n\(outcome.output.suffix(4000))")
        #expect(outcome.seconds < 20 * 60)
    }
}

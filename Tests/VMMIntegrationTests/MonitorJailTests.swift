import Foundation
import Synchronization
import Testing
import VMM

/// `skiff vm run`'s jail seen from outside while the guest runs: /proc/PID/task/*/status for the
/// credentials of every monitor thread, /proc/PID/mountinfo and /proc/PID/root for what the
/// monitor can still reach by path.
@Suite(
    .serialized,
    .enabled(
        if: Host.canBuildAndRunGuests && Host.isRoot && SkiffBinary.path != nil,
        "needs root, /dev/kvm, gcc and the built skiff binary (swift build)"))
struct MonitorJailTests {
    static let noCapabilities = "0000000000000000"

    /// With --no-seccomp the jail alone must set no_new_privs (libseccomp sets it with a filter).
    @Test(arguments: [
        ([String](), UInt32(65534), UInt32(65534)),
        (["--jail-uid", "1234", "--jail-gid", "4321"], UInt32(1234), UInt32(4321)),
        (["--no-seccomp"], UInt32(65534), UInt32(65534)),
    ])
    func theJailedMonitorHasNoCapabilitiesNoRootAndAnEmptyReadOnlyRoot(options: [String], uid: UInt32, gid: UInt32) throws {
        let seccomp = options.contains("--no-seccomp") ? "0" : "2"
        let monitor = try RunningMonitor(
            ["--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=spin"] + options)
        #expect(monitor.waitForOutput("SPINNING"), "the guest did not start; stderr: \(monitor.stop().stderr)")
        // The device loop installs its filter after making the vCPU threads: wait for every
        // thread's, which also shows the filters went in after (and despite) the jail.
        let tasks = monitor.pollTasks { tasks in tasks.count >= 2 && tasks.values.allSatisfy { $0["Seccomp"] == seccomp } }
        #expect(tasks.count >= 2, "monitor threads: \(tasks.keys.sorted())")
        for (tid, status) in tasks.sorted(by: { $0.key < $1.key }) {
            for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                #expect(status[set] == Self.noCapabilities, "thread \(tid) \(set): \(status[set] ?? "missing")")
            }
            #expect(status["NoNewPrivs"] == "1", "thread \(tid)")
            #expect(status["Seccomp"] == seccomp, "thread \(tid)")
            #expect(status["Uid"] == "\(uid)\t\(uid)\t\(uid)\t\(uid)", "thread \(tid) Uid: \(status["Uid"] ?? "missing")")
            #expect(status["Gid"] == "\(gid)\t\(gid)\t\(gid)\t\(gid)", "thread \(tid) Gid: \(status["Gid"] ?? "missing")")
            #expect(status["Groups"] == "", "thread \(tid) Groups: \(status["Groups"] ?? "missing")")
        }
        let mounts = monitor.mounts()
        #expect(mounts.count == 1, "mounts: \(mounts)")
        #expect(mounts.first?.point == "/" && mounts.first?.type == "tmpfs", "mounts: \(mounts)")
        #expect(mounts.first?.options.split(separator: ",").contains("ro") == true, "mounts: \(mounts)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(monitor.pid)/root") == [])
        let ended = monitor.stop()
        #expect(ended.status == 130, "stderr: \(ended.stderr)")
        #expect(ended.stderr.contains("stopped by a signal"), "stderr: \(ended.stderr)")
    }

    /// The control: the same checks fail without the jail, so the test above can fail.
    @Test func withNoJailTheMonitorKeepsRootsPowersAndTheHostsMounts() throws {
        let monitor = try RunningMonitor([
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=spin", "--no-jail",
        ])
        #expect(monitor.waitForOutput("SPINNING"), "the guest did not start; stderr: \(monitor.stop().stderr)")
        let tasks = monitor.pollTasks { !$0.isEmpty }
        let main = tasks[monitor.pid]
        #expect(main?["CapEff"] != Self.noCapabilities && main?["CapBnd"] != Self.noCapabilities, "\(main ?? [:])")
        #expect(main?["Uid"]?.hasPrefix("0\t") == true)
        #expect(monitor.mounts().count > 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(monitor.pid)/root").count > 1)
        #expect(monitor.stop().status == 130)
    }

    @Test func vsockThroughTheJailReachesOnlyTheSocketDirectoryByARelativePath() throws {
        let scratch = try ScratchDirectory("skiff-jail-vsock")
        // Used only by the host thread once made; the closure's reference keeps it open until then.
        nonisolated(unsafe) let listener = try UnixSocket.listen(path: scratch.file("v.sock_5000"))
        let accepted = DispatchSemaphore(value: 0), inspected = DispatchSemaphore(value: 0)
        let host = Thread {
            defer { accepted.signal() }
            guard let connection = try? listener.accept(timeout: 15) else { return }
            _ = try? connection.read(count: 16)
            // The guest now waits for the answer: the test looks at the monitor meanwhile.
            accepted.signal()
            _ = inspected.wait(timeout: .now() + 15)
            try? connection.write("hello-from-host")
        }
        host.start()
        let monitor = try RunningMonitor(
            ["--kernel", try GuestImages.shared().elf64, "--memory", "16", "--vsock", "3,v.sock", "--cmdline", "test=vsock"],
            directory: scratch.path)
        defer { inspected.signal() }
        #expect(accepted.wait(timeout: .now() + 20) == .success)
        let status = monitor.pollTasks { !$0.isEmpty }[monitor.pid]
        #expect(
            status?["CapEff"] == Self.noCapabilities && status?["CapPrm"] == Self.noCapabilities && status?["CapBnd"] == Self.noCapabilities
        )
        #expect(status?["NoNewPrivs"] == "1")
        // With --vsock and no --jail-uid the monitor keeps the caller's uid (its sockets).
        #expect(status?["Uid"]?.hasPrefix("0\t") == true)
        let mounts = monitor.mounts()
        #expect(mounts.map(\.point) == ["/", scratch.path], "mounts: \(mounts)")
        #expect(mounts.last?.options.split(separator: ",").contains("rw") == true, "mounts: \(mounts)")
        let root = "/proc/\(monitor.pid)/root"
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["tmp"])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root + "/tmp") == [URL(fileURLWithPath: scratch.path).lastPathComponent])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + scratch.path).sorted() == ["v.sock", "v.sock_5000"])
        inspected.signal()
        #expect(monitor.waitForOutput("GUEST-DONE"))
        let ended = monitor.stop()
        #expect(ended.status == 0, "stderr: \(ended.stderr)")
        #expect(monitor.output.contains("VSOCK-GOT hello-from-host"), "stdout: \(monitor.output)")
        // The monitor removed its socket from inside the jail.
        #expect(!FileManager.default.fileExists(atPath: scratch.file("v.sock")))
    }

    @Test func aWritableDiskIsWrittenByTheMonitorAsNobody() throws {
        let scratch = try ScratchDirectory("skiff-jail-blk")
        var disk = Data(count: 1 << 20)
        disk.replaceSubrange(0..<24, with: Data("hello-from-the-host-disk".utf8))
        try disk.write(to: URL(fileURLWithPath: scratch.file("d.img")))
        chmod(scratch.file("d.img"), 0o600)  // root's alone: only the descriptor opened before the jail reaches it
        let monitor = try RunningMonitor([
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--disk", scratch.file("d.img"), "--cmdline", "test=blk",
        ])
        #expect(monitor.waitForOutput("GUEST-DONE"))
        let ended = monitor.stop()
        #expect(ended.status == 0, "stderr: \(ended.stderr)")
        #expect(monitor.output.contains("BLK-WRITE OK"), "stdout: \(monitor.output)")
        let written = try Data(contentsOf: URL(fileURLWithPath: scratch.file("d.img")))
        #expect(written[512..<532] == Data("written-by-the-guest".utf8))
    }

    @Test(.enabled(if: Host.hasIP && Host.python != nil, "needs iproute2 and python3 to make a tap in a network namespace"))
    func aTapAttachedBeforeTheJailCarriesFramesForAMonitorRunningAsNobody() throws {
        let link = try TestTapAndNamespace(tapPrefix: "skj", namespacePrefix: "skiff-jailtest")
        defer { withExtendedLifetime(link) {} }  // removed at the end of the test, not after its last use
        let tap = link.tap, namespace = link.namespace
        let monitor = try RunningMonitor([
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--net", "tap=" + tap, "--cmdline", "test=net",
        ])
        #expect(monitor.waitForOutput("NET-READY"), "stderr: \(monitor.stop().stderr)")
        #expect(monitor.pollTasks { !$0.isEmpty }[monitor.pid]?["Uid"]?.hasPrefix("65534\t") == true)
        // The monitor holds the tap open; move it into the test's namespace and talk from there.
        let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Guest/netpeer.py").path
        try runCommand("/usr/sbin/ip", ["link", "set", tap, "netns", namespace])
        try runCommand("/usr/sbin/ip", ["-n", namespace, "link", "set", tap, "up"])
        let peerOutput = try runCommand("/usr/sbin/ip", ["netns", "exec", namespace, Host.python ?? "python3", peer, tap])
        #expect(peerOutput.contains("PEER-GOT-PONG"))
        #expect(monitor.waitForOutput("GUEST-DONE"))
        let ended = monitor.stop()
        #expect(ended.status == 0, "stderr: \(ended.stderr)")
        #expect(monitor.output.contains("NET-REPLIED"), "stdout: \(monitor.output)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs setpriv (util-linux)"))
    func withoutCapSysAdminTheJailFailsSayingWhatAndHowToRunWithout() throws {
        let setpriv = [
            "/usr/bin/setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", SkiffBinary.path ?? "skiff", "vm", "run",
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=none",
        ]
        let jailed = try RunningMonitor(command: setpriv)
        let failed = jailed.stop(after: 20)
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("cannot jail the monitor: unshare(CLONE_NEWNS)"), "stderr: \(failed.stderr)")
        #expect(failed.stderr.contains("Operation not permitted") && failed.stderr.contains("--no-jail"), "stderr: \(failed.stderr)")
        #expect(!jailed.output.contains("GUEST-START"), "the guest ran without the jail")
        let unjailed = try RunningMonitor(command: setpriv + ["--no-jail"])
        let ran = unjailed.stop(after: 20)
        #expect(ran.status == 0, "stderr: \(ran.stderr)")
        #expect(unjailed.output == "GUEST-START\nGUEST-DONE\n")
    }

    @Test(
        .enabled(
            if: ["/usr/bin/unshare", "/usr/bin/setpriv", "/bin/sh"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) },
            "needs unshare, setpriv (util-linux) and sh"))
    func startedWithoutRootTheMonitorJailsItselfInAUserNamespaceOfItsOwn() throws {
        let scratch = try ScratchDirectory("skiff-jail-user")
        chmod(scratch.path, 0o755)
        let kernel = scratch.file("guest.elf")
        try FileManager.default.copyItem(atPath: try GuestImages.shared().elf64, toPath: kernel)
        chmod(kernel, 0o644)
        // A KVM node that only uid 65534 may open, bound over /dev/kvm in a mount namespace the
        // command makes for itself: the host's /dev/kvm stays as it is.
        var kvm = stat()
        try #require(stat("/dev/kvm", &kvm) == 0)
        let node = scratch.file("kvm")
        try #require(mknod(node, S_IFCHR | 0o600, kvm.st_rdev) == 0 && chown(node, 65534, 65534) == 0)
        let monitor = try RunningMonitor(command: [
            "/usr/bin/unshare", "-m", "--propagation", "private", "--", "/bin/sh", "-c",
            "mount --bind \"$0\" /dev/kvm && exec /usr/bin/setpriv --reuid 65534 --regid 65534 --clear-groups \"$@\"", node,
            SkiffBinary.path ?? "skiff", "vm", "run", "--kernel", kernel, "--memory", "16", "--cmdline", "test=spin",
        ])
        #expect(monitor.waitForOutput("SPINNING"), "the guest did not start; stderr: \(monitor.stop().stderr)")
        let tasks = monitor.pollTasks { tasks in tasks.count >= 2 && tasks.values.allSatisfy { $0["Seccomp"] == "2" } }
        #expect(tasks.count >= 2, "monitor threads: \(tasks.keys.sorted())")
        for (tid, status) in tasks.sorted(by: { $0.key < $1.key }) {
            for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                #expect(status[set] == Self.noCapabilities, "thread \(tid) \(set): \(status[set] ?? "missing")")
            }
            #expect(status["NoNewPrivs"] == "1" && status["Seccomp"] == "2", "thread \(tid)")
            #expect(status["Uid"] == "65534\t65534\t65534\t65534", "thread \(tid) Uid: \(status["Uid"] ?? "missing")")
        }
        let userNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(monitor.pid)/ns/user")
        #expect(userNamespace != (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")))
        let mounts = monitor.mounts()
        #expect(mounts.count == 1 && mounts.first?.point == "/" && mounts.first?.type == "tmpfs", "mounts: \(mounts)")
        #expect(mounts.first?.options.split(separator: ",").contains("ro") == true, "mounts: \(mounts)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(monitor.pid)/root") == [])
        let ended = monitor.stop()
        #expect(ended.status == 130, "stderr: \(ended.stderr)")
    }

    /// In-process callers: a process with other threads is refused before anything changes (they
    /// would keep root's powers outside the jail), and this test process is left as it was.
    @Test func aProcessWithOtherThreadsIsNotJailed() throws {
        var configuration = VMConfiguration(kernelPath: try GuestImages.shared().elf64)
        configuration.memoryMiB = 16
        configuration.commandLine = "test=none"
        configuration.jail = MonitorJail()
        let mountsBefore = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let run = try boot(configuration)
        guard case .hostFailure(let why) = run.status else {
            Issue.record("the VM ran: \(run.status)")
            return
        }
        #expect(why.contains("threads") && why.contains("--no-jail"), "\(why)")
        #expect(run.output.isEmpty)
        #expect(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) == mountsBefore)
        #expect(getuid() == 0)
    }
}

/// A `skiff vm run` left running while a test looks at it; stopped by pid (SIGTERM, then SIGKILL)
/// when the test is done, or when the object goes away.
final class RunningMonitor {
    let process = Process()
    let pid: Int32
    private let stdout = OutputCollector()
    private let stderrPipe = Pipe()

    convenience init(_ arguments: [String], directory: String? = nil) throws {
        try self.init(command: [SkiffBinary.path ?? "skiff", "vm", "run"] + arguments, directory: directory)
    }

    init(command: [String], directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        pid = process.processIdentifier
        stdout.collect(from: out.fileHandleForReading)
    }

    deinit { _ = stop() }

    var output: String { stdout.text }

    func waitForOutput(_ marker: String, timeout: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(marker) { return true }
            if !process.isRunning { return output.contains(marker) }
            usleep(10_000)
        }
        return false
    }

    /// /proc/PID/task/*/status by thread id, polled until `ready` holds or 10 s pass.
    func pollTasks(until ready: ([Int32: [String: String]]) -> Bool) -> [Int32: [String: String]] {
        let deadline = Date().addingTimeInterval(10)
        var tasks: [Int32: [String: String]] = [:]
        repeat {
            tasks = [:]
            for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
                guard let id = Int32(tid), let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8) else {
                    continue
                }
                var fields: [String: String] = [:]
                for line in text.split(separator: "\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                tasks[id] = fields
            }
            if ready(tasks) { break }
            usleep(10_000)
        } while Date() < deadline
        return tasks
    }

    /// The monitor's mounts as it sees them (mount point, type, per-mount options).
    func mounts() -> [(point: String, type: String, options: String)] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 6, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { return nil }
            return (fields[4], fields[dash + 1], fields[5])
        }
    }

    /// Waits up to `seconds` for the monitor to end by itself, then `stop()`s it.
    func stop(after seconds: Double) -> (status: Int32, stderr: String) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return stop()
    }

    /// Ends the monitor (SIGTERM, SIGKILL after 10 s) unless it ended already; its status and stderr.
    func stop() -> (status: Int32, stderr: String) {
        if process.isRunning {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        stdout.waitForEnd()
        let stderr = String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, stderr)
    }
}

/// Reads a pipe to its end on a thread of its own, so a test can look at the output so far.
final class OutputCollector: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    private let ended = DispatchSemaphore(value: 0)

    func collect(from handle: FileHandle) {
        let fd = handle.fileDescriptor
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                bytes.withLock { $0 += buffer[0..<n] }
            }
            ended.signal()
        }
        thread.start()
    }

    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits (at most 10 s) for the writer's end to close.
    func waitForEnd() {
        if ended.wait(timeout: .now() + 10) == .success { ended.signal() }
    }
}

import Foundation
import Testing
import VMM

/// The `skiff vm run` binary end to end: output, exit codes, error messages and signals.
@Suite(
    .serialized,
    .enabled(if: Host.canBuildAndRunGuests && SkiffBinary.path != nil, "needs /dev/kvm, gcc and the built skiff binary (swift build)"))
struct VMRunCommandTests {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func run(_ arguments: [String], stopAfter seconds: Double? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SkiffBinary.path ?? "skiff")
        process.arguments = ["vm", "run"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A monitor that ignores SIGTERM must fail the test (status 9), not hang the test run.
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        if let seconds {
            Thread.sleep(forTimeInterval: seconds)
            kill(process.processIdentifier, SIGTERM)
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func aGuestThatPowersOffExitsZeroWithItsConsoleOnStdout() throws {
        let result = try run(["--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=none"])
        #expect(result.status == 0)
        #expect(result.stdout == "GUEST-START\nGUEST-DONE\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func theInKernelIrqchipIsAnOption() throws {
        let result = try run(["--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=irq", "--irqchip", "kernel"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("IRQ-DELIVERED"))
    }

    @Test func disksAndCPUsFromTheCommandLineReachTheGuest() throws {
        let scratch = try ScratchDirectory("skiff-cli-blk")
        var disk = Data(count: 1 << 20)
        disk.replaceSubrange(0..<24, with: Data("hello-from-the-host-disk".utf8))
        try disk.write(to: URL(fileURLWithPath: scratch.file("d.img")))
        let result = try run([
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cpus", "2",
            "--disk", scratch.file("d.img") + ",ro", "--cmdline", "test=blk",
        ])
        #expect(result.status == 0)
        #expect(result.stdout.contains("BLK-READ hello-from-the-host-disk"))
        #expect(result.stdout.contains("BLK-WRITE IOERR"))
    }

    @Test func aTripleFaultExitsThree() throws {
        let result = try run(["--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=fault"])
        #expect(result.status == 3)
        #expect(result.stderr.contains("triple-faulted"))
    }

    @Test func sigtermStopsASpinningGuestWithExitCode130() throws {
        let result = try run(["--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=spin"], stopAfter: 1.0)
        #expect(result.status == 130)
        #expect(result.stdout.contains("SPINNING"))
        #expect(result.stderr.contains("stopped by a signal"))
    }

    @Test func sigtermStopsAGuestPrintingIntoAStdoutNobodyReads() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SkiffBinary.path ?? "skiff")
        process.arguments = ["vm", "run", "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=flood"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        defer {
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }
        // The pipe fills up (64 KiB by default) and nobody reads it: from now on every console
        // write would block a monitor that writes synchronously.
        let readEnd = out.fileHandleForReading.fileDescriptor
        func queued() -> Int32 {
            var n: Int32 = 0
            _ = ioctl(readEnd, UInt(FIONREAD), &n)
            return n
        }
        let capacity = fcntl(readEnd, 1032)  // F_GETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 8; Glibc does not export it to Swift)
        let filled = Date().addingTimeInterval(20)
        while queued() < capacity && Date() < filled && process.isRunning { usleep(10_000) }
        #expect(capacity > 0 && queued() == capacity, "the guest filled only \(queued()) of \(capacity) bytes of the pipe")
        let sent = Date()
        kill(pid, SIGTERM)
        let deadline = sent.addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!process.isRunning, "the monitor did not end within 5 s of SIGTERM")
        if process.isRunning { return }
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130)
        #expect(stderr.contains("bytes of guest console output were dropped"), "stderr: \(stderr)")
    }

    @Test(arguments: MonitorThreadKind.allCases)
    func aForbiddenSystemCallFromAMonitorThreadKillsTheMonitorWithSIGSYS(thread: MonitorThreadKind) throws {
        let confined = try runProcess([
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=none",
            "--seccomp-probe", thread.rawValue,
        ])
        #expect(confined.reason == .uncaughtSignal && confined.status == SIGSYS, "ended with \(confined.reason) \(confined.status)")
        // The same call without the filter is harmless: the probe itself is not what kills.
        let unconfined = try runProcess([
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--cmdline", "test=none",
            "--seccomp-probe", thread.rawValue, "--no-seccomp",
        ])
        #expect(unconfined.reason == .exit && unconfined.status == 0)
    }

    @Test func vsockWorksInsideTheSeccompFilters() throws {
        let scratch = try ScratchDirectory("skiff-cli-vsock")
        let base = scratch.file("v.sock")
        // Used only by the host thread once made; the closure's reference keeps it open until then.
        nonisolated(unsafe) let listener = try UnixSocket.listen(path: base + "_5000")
        let host = Thread {
            guard let connection = try? listener.accept(timeout: 15) else { return }
            _ = try? connection.read(count: 16)
            try? connection.write("hello-from-host")
        }
        host.start()
        let result = try run([
            "--kernel", try GuestImages.shared().elf64, "--memory", "16", "--vsock", "3," + base, "--cmdline", "test=vsock",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("VSOCK-GOT hello-from-host"))
    }

    /// How `skiff run --vm --vm-backend skiff` runs its VM: `skiff vm run` as the child of a
    /// container's monitor (here a python process in its place), the agent's stream handed over as
    /// descriptor 3 and bridged to guest port 1024 once the guest accepts (after one reset), the
    /// disks with the serials the agent finds them by, the jail and seccomp on; and when the
    /// parent is killed with SIGKILL, the VM goes with it.
    @Test(.enabled(if: Host.python != nil, "needs python3 to stand in for a container's monitor"))
    func theSkiffBackendsMonitorGetsItsAgentStreamAsADescriptorAndDiesWithItsParent() throws {
        let scratch = try ScratchDirectory("skiff-cli-stream")
        let socketPath = scratch.file("agent.sock")
        let listener = try UnixSocket.listen(path: socketPath)
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: scratch.file("layer.img")))
        let console = scratch.file("console.log")
        let script = """
            import os, socket, subprocess, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(sys.argv[1])
            os.dup2(s.fileno(), 3)
            with open(sys.argv[2], "w") as console:
                vm = subprocess.Popen(sys.argv[3:] + ["--die-with-parent", str(os.getpid())], pass_fds=[3],
                                      stdin=subprocess.DEVNULL, stdout=console)
            print(vm.pid, flush=True)
            vm.wait()
            """
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: Host.python ?? "python3")
        parent.arguments = [
            "-c", script, socketPath, console, SkiffBinary.path ?? "skiff", "vm", "run", "--kernel", try GuestImages.shared().elf64,
            "--memory", "16", "--cmdline", "test=diskid test=agentstream test=spin",
            "--disk", scratch.file("layer.img") + ",ro,serial=layer0", "--vsock", "3", "--vsock-stream", "3:1024",
        ]
        let out = Pipe()
        parent.standardOutput = out
        parent.standardInput = FileHandle.nullDevice
        // Not the runner's stderr: a VM that outlived its parent would hold it open.
        parent.standardError = FileHandle.nullDevice
        try parent.run()
        var vmPID: Int32 = 0
        defer {
            if parent.isRunning { kill(parent.processIdentifier, SIGKILL) }
            parent.waitUntilExit()
            // Only if the VM outlived its parent (the failure this test is for), and is still ours.
            if vmPID > 0, Self.procFile(vmPID, "cmdline")?.contains(scratch.file("layer.img")) == true {
                kill(vmPID, SIGKILL)
            }
        }
        let host = try listener.accept(timeout: 15)
        #expect(try host.read(count: 16) == "hello-from-agent")
        try host.write("hello-from-host")
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(out.fileHandleForReading.fileDescriptor, &byte, 1) == 1, byte != 0x0A { line.append(byte) }
        vmPID = Int32(String(decoding: line, as: UTF8.self)) ?? 0
        #expect(vmPID > 0)
        let spinning = Date().addingTimeInterval(15)
        func consoleText() -> String { (try? String(contentsOfFile: console, encoding: .utf8)) ?? "" }
        while !consoleText().contains("SPINNING") && Date() < spinning { usleep(10_000) }
        let text = consoleText()
        #expect(text.contains("BLK-ID layer0"), "console: \(text)")
        #expect(text.contains("VSOCK-REFUSED-ONCE"))
        #expect(text.contains("VSOCK-ACCEPT-GOT hello-from-host"), "console: \(text)")
        #expect(text.contains("SPINNING"))

        kill(parent.processIdentifier, SIGKILL)
        parent.waitUntilExit()
        func vmGone() -> Bool {
            guard let stat = Self.procFile(vmPID, "stat") else { return true }
            // A zombie waiting for its new parent to reap it is gone too.
            return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
        }
        let deadline = Date().addingTimeInterval(10)
        while !vmGone() && Date() < deadline { usleep(10_000) }
        #expect(vmGone(), "skiff vm run (pid \(vmPID)) outlived its parent")
    }

    /// /proc/PID/NAME read to its end (such files report no size), or nil when the process is gone.
    static func procFile(_ pid: Int32, _ name: String) -> String? {
        let fd = open("/proc/\(pid)/\(name)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `skiff vm run` to its end without reading its output (for short runs): how it ended.
    func runProcess(_ arguments: [String]) throws -> (reason: Process.TerminationReason, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SkiffBinary.path ?? "skiff")
        process.arguments = ["vm", "run"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationReason, process.terminationStatus)
    }

    @Test(arguments: [
        (["--kernel", "/etc/hostname"], "neither a bzImage"),
        (["--kernel", "/nonexistent/kernel"], "cannot read kernel /nonexistent/kernel"),
        (["--disk", "/nonexistent/disk.img"], "cannot open disk /nonexistent/disk.img"),
        (["--memory", "2"], "--memory 2 MiB is too little"),
        (["--net", "bogus"], "--net must be tap=NAME, fd=N or none"),
        (["--net", "fd=987"], "--net fd=N needs an open descriptor above 2"),
        (["--vsock", "1,/tmp/x"], "--vsock needs CID[,SOCKET_PATH]"),
        (["--vsock-stream", "3:1024"], "--vsock-stream needs --vsock CID"),
        (["--vsock", "3", "--vsock-stream", "987:1024"], "descriptor 987 is not open"),
        (["--disk", "/etc/hostname,ro,serial=a-serial-longer-than-twenty"], "disk serial 'a-serial-longer-than-twenty' must be 1 to 20"),
        (["--irqchip", "pit"], "--irqchip must be split or kernel"),
    ])
    func badInputGetsAClearMessageAndExitOne(arguments: [String], message: String) throws {
        var full = arguments
        if !arguments.contains("--kernel") { full = ["--kernel", try GuestImages.shared().elf64] + arguments }
        let result = try run(full)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
    }
}

/// The skiff executable next to this test bundle (swift build puts products in the same directory).
enum SkiffBinary {
    static let path: String? = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for candidate in [
            bundle.appendingPathComponent("skiff").path,
            bundle.deletingLastPathComponent().appendingPathComponent("skiff").path,
        ] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return nil
    }()
}

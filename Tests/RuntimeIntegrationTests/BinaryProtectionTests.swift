import ContainerRuntime
import Foundation
import LinuxSupport
import Testing

/// CVE-2019-5736: a container must not be able to overwrite the host's runtime binary through
/// /proc/PID/exe of a runtime process that runs in its pid namespace. The attack is mounted for
/// real against a copy of skiff-runtime: a racer as the container's PID 1, then `exec` of
/// /proc/self/exe (the host binary, executed as the user's program, dumpable).
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct BinaryProtectionTests {
    /// The racer script, shared with the engine's test of `skiff exec`.
    static let racer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/overwrite-runtime-racer.sh").path

    /// `overlay`: the copy lives in a directory of its own, so the runtime re-executes it through
    /// a read-only overlay. `memfd`: the copy lives in the directory that holds the state root,
    /// which overlayfs cannot stack (overlapping layers), so the runtime takes a sealed copy.
    @Test(arguments: [ProtectedExecutable.Kind.overlay, .memfd])
    func containerCannotOverwriteTheRuntimeBinary(kind: ProtectedExecutable.Kind) throws {
        let b = try TestBundle("cve5736")
        let binaryDirectory: String
        switch kind {
        case .overlay: binaryDirectory = NSTemporaryDirectory() + TestEnvironment.uniqueName("bin")
        case .memfd: binaryDirectory = (b.root as NSString).deletingLastPathComponent
        }
        let binary = binaryDirectory + "/" + TestEnvironment.uniqueName("skiff-runtime")
        try FileManager.default.createDirectory(atPath: binaryDirectory, withIntermediateDirectories: true)
        defer {
            // The container goes first, while its runtime binary (the copy) still exists.
            _ = try? b.runtime(["delete", "--force", b.id])
            unlink(binary)
            if kind == .overlay { rmdir(binaryDirectory) }
        }
        let original = try FileIO.read(TestEnvironment.runtimeBinary)
        try FileIO.write(binary, original, mode: 0o755)
        b.runtimeBinary = binary
        // A debug build is dynamically linked: give the container the host's loader and libraries
        // so the binary can run in it, as a static release binary always can.
        try SharedLibraries.copy(of: binary, into: b.dir + "/rootfs")
        for tool in ["mkfifo", "sleep"] where !FileManager.default.fileExists(atPath: b.dir + "/rootfs/bin/" + tool) {
            try FileManager.default.createSymbolicLink(atPath: b.dir + "/rootfs/bin/" + tool, withDestinationPath: "busybox")
        }
        b.spec.process?.args = ["sh", "-c", try String(contentsOfFile: Self.racer, encoding: .utf8)]
        try #require(try b.create().code == 0)
        try #require(try b.runtime(["start", b.id]).code == 0)
        let ready = Poll.until(seconds: 10) { FileManager.default.fileExists(atPath: b.dir + "/rootfs/ready") }
        try #require(ready, "the racer never started")

        let exec = try b.runtime(
            ["exec", b.id, "/proc/self/exe", "--log", "/tmp/f", "state", "nope"],
            env: ProcessInfo.processInfo.environment.merging(["SKIFF_RUNTIME_TRACE": "1"]) { $1 })
        #expect(exec.err.contains("protected executable: \(kind.rawValue)"), "\(exec.err)")
        var result = ""
        _ = Poll.until(seconds: 20) {
            result = (try? String(contentsOfFile: b.dir + "/rootfs/result", encoding: .utf8)) ?? ""
            return result.contains("WROTE") || result.contains("NOTWRITTEN") || result.contains("GAVEUP")
        }
        // The attack must have reached the binary, or this test proves nothing.
        #expect(result.hasPrefix("opened "), "the racer never opened the runtime's /proc/PID/exe: \(result) \(exec)")
        #expect(!result.contains("WROTE"), "\(result)")
        #expect(result.contains(kind == .overlay ? "Read-only file system" : "Operation not permitted"), "\(result)")
        #expect(try FileIO.read(binary) == original, "the host binary changed")
    }

    /// The init stage (the container's PID 1 between create and start) is not dumpable: a process
    /// in the container can neither open its /proc/PID/exe nor read its environment or descriptors.
    @Test func initStageIsNotDumpable() throws {
        let b = try TestBundle("dumpable")
        b.shell("sleep 30")
        try #require(try b.create().code == 0)
        let probe = try b.runtime([
            "exec", b.id, "sh", "-c",
            "readlink /proc/1/exe || echo exe-refused; cat /proc/1/environ || echo environ-refused; readlink /proc/1/fd/0 || echo fd-refused",
        ])
        #expect(probe.out.contains("exe-refused") && probe.out.contains("environ-refused") && probe.out.contains("fd-refused"), "\(probe)")
        #expect(!probe.out.contains("_SKIFF_INIT_FD"), "\(probe)")
    }
}

/// Polling with a deadline instead of fixed sleeps.
enum Poll {
    static func until(seconds: Double, every interval: useconds_t = 20_000, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(interval)
        }
        return try condition()
    }
}

/// The shared libraries and loader a dynamically linked binary needs, copied into a rootfs at
/// the same paths (nothing for a static binary).
enum SharedLibraries {
    static func copy(of binary: String, into rootfs: String) throws {
        let r = try Command.run("/usr/bin/ldd", [binary])
        guard r.code == 0 else { return }
        for line in r.out.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let path = words.count >= 3 && words[1] == "=>" ? String(words[2]) : (words.first.map(String.init) ?? "")
            guard path.hasPrefix("/") else { continue }
            let target = rootfs + path
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileIO.write(target, try FileIO.read(path), mode: 0o755)
        }
    }
}

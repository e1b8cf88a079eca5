import Foundation
import Testing
import OCISpec
import ImageStore
import Registry

/// Pulls that a slow or stalling registry cannot hold for ever, and a store lock that a pull
/// waiting on the network does not hold: the low-speed limit, the deadline for small requests,
/// `rmi`/`image prune` running while a pull is stalled, and the message of a command that must
/// wait for the lock. Every process is started here, stopped by its pid, and waited for with a
/// deadline, so a regression fails the test instead of hanging it.
@Suite(.serialized, .enabled(if: integrationEnabled, skipReason))
struct BoundedPullTests {
    @Test func aDrippingLayerFailsOnTheLowSpeedLimit() throws {
        let scratch = try Scratch()
        let port = try freePort()
        let server = try PythonServers.start(PythonServers.misbehavingRegistry, name: "drip", scratch: scratch, port: port, arguments: [])
        defer { server.stop() }
        let root = scratch.path + "/store"
        let pull = try Background(
            [
                skiffBinary, "pull", "--root", root, "--low-speed-limit", "1024", "--low-speed-time", "3",
                "127.0.0.1:\(port)/drip/app:1",
            ], scratch: scratch, name: "pull")
        defer { pull.stop() }
        // One byte a second never trips the 30 s idle timeout: only the low-speed limit ends it.
        let status = try #require(pull.wait(within: 40), "the pull must end; it ran for \(pull.elapsed) s")
        #expect(status != 0)
        // Before the 30 s idle timeout could (the message below names the low-speed limit); loose,
        // since the full suite loads this 2-core machine.
        #expect(pull.elapsed < 30, "within --low-speed-time plus slack: \(pull.elapsed) s")
        let stderr = pull.stderr
        #expect(stderr.contains("registry 127.0.0.1:\(port) sent layer sha256:"), "names the registry and the blob: \(stderr)")
        #expect(stderr.contains("of 127.0.0.1:\(port)/drip/app:1"), "names the image: \(stderr)")
        #expect(
            stderr.range(of: #"at [0-9.]+ B/s over the last 3 s, below the low-speed limit of 1 KiB/s"#, options: .regularExpression)
                != nil,
            "gives the measured rate: \(stderr)")
        #expect(stderr.contains("--low-speed-limit"), "says what to change: \(stderr)")
        let store = try ImageStore(root: root)
        #expect(try store.records().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty, "the partial download is gone")
        #expect(store.snapshots.all().isEmpty)
    }

    @Test func aDrippingManifestEndsAtTheRequestDeadline() throws {
        let scratch = try Scratch()
        let port = try freePort()
        let server = try PythonServers.start(
            PythonServers.misbehavingRegistry, name: "dripmanifest", scratch: scratch, port: port, arguments: [])
        defer { server.stop() }
        let root = scratch.path + "/store"
        // 16 KiB/s passes the default low-speed limit; the manifest would still take minutes.
        let pull = try Background(
            [skiffBinary, "pull", "--root", root, "--request-deadline", "3", "127.0.0.1:\(port)/dripmanifest/app:1"],
            scratch: scratch, name: "pull")
        defer { pull.stop() }
        let status = try #require(pull.wait(within: 40), "the pull must end; it ran for \(pull.elapsed) s")
        #expect(status != 0)
        #expect(pull.elapsed >= 2.5 && pull.elapsed < 30, "at the deadline plus slack (loaded machine): \(pull.elapsed) s")
        let stderr = pull.stderr
        #expect(
            stderr.contains("registry 127.0.0.1:\(port) did not finish sending manifest 127.0.0.1:\(port)/dripmanifest/app:1 within 3 s"),
            "\(stderr)")
        #expect(stderr.contains("--request-deadline"), "\(stderr)")
        #expect(try ImageStore(root: root).records().isEmpty)
    }

    @Test func rmiAndPruneRunWhileAPullIsStalledOnTheNetwork() throws {
        let scratch = try Scratch()
        let registry = try LocalRegistry(scratch: scratch)
        defer { registry.stop() }
        let factory = try ImageFactory(scratch: scratch)
        try factory.busybox(tag: "other")
        try factory.push(tag: "other", to: "\(registry.host)/other:1")
        let root = scratch.path + "/store"
        try run([skiffBinary, "pull", "-q", "--root", root, "\(registry.host)/other:1"])

        let port = try freePort()
        let gate = scratch.path + "/gate"
        let server = try PythonServers.start(
            PythonServers.misbehavingRegistry, name: "gated", scratch: scratch, port: port, arguments: [gate])
        defer { server.stop() }
        let pull = try Background(
            [
                skiffBinary, "pull", "-q", "--root", root, "--low-speed-limit", "0", "--timeout", "120",
                "127.0.0.1:\(port)/gated/app:1",
            ], scratch: scratch, name: "gated-pull")
        defer { pull.stop() }
        // Half the layer in an ingest file, the rest held back by the server until the gate opens.
        let ingest = try #require(
            poll(within: 30) { () -> String? in
                let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/ingest")) ?? []
                return names.first { name in
                    var st = stat()
                    return stat(root + "/ingest/" + name, &st) == 0 && st.st_size > 1 << 20
                }
            }, "the pull must get half way: \(pull.stderr)")

        let rmi = try Background([skiffBinary, "rmi", "--root", root, "\(registry.host)/other:1"], scratch: scratch, name: "rmi")
        defer { rmi.stop() }
        #expect(rmi.wait(within: 15) == 0, "rmi must not wait for the stalled pull: \(rmi.stderr)")
        #expect(rmi.elapsed < 10, "\(rmi.elapsed) s")
        #expect(!rmi.stderr.contains("waiting for another skiff process"), "\(rmi.stderr)")
        let prune = try Background([skiffBinary, "image", "prune", "--root", root], scratch: scratch, name: "prune")
        defer { prune.stop() }
        #expect(prune.wait(within: 15) == 0, "prune must not wait for the stalled pull: \(prune.stderr)")
        // The collections left the download in progress and what the pull committed so far.
        #expect(FileManager.default.fileExists(atPath: root + "/ingest/" + ingest), "an open download's ingest file is kept")
        let store = try ImageStore(root: root)
        #expect(store.content.allDigests().count == 1, "only the leased config of the pull in progress: \(store.content.allDigests())")
        #expect(try store.records().isEmpty)

        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        #expect(pull.wait(within: 60) == 0, "the pull completes once the server goes on: \(pull.stderr)")
        let image = try store.image("127.0.0.1:\(port)/gated/app:1")
        #expect(store.snapshots.has(image.config.rootfs.diffIDs[0]))
        #expect(store.content.has(image.manifest.layers[0].digest) && store.content.has(image.configDigest))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: root + "/leases")) ?? []).isEmpty, "the lease ends with the pull")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: root + "/lock-holders")) ?? []).isEmpty)
    }

    @Test func aCommandWaitingForTheStoreLockSaysForWhom() throws {
        let scratch = try Scratch()
        let root = scratch.path + "/store"
        _ = try ImageStore(root: root)
        // `load` holds the store lock shared while it reads its archive: a FIFO nobody writes.
        let fifo = scratch.path + "/archive.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = open(fifo, O_RDWR | O_CLOEXEC)
        try #require(writer >= 0)
        var writerOpen = true
        defer { if writerOpen { close(writer) } }
        let load = try Background([skiffBinary, "load", "--root", root, "-i", fifo], scratch: scratch, name: "load")
        defer { load.stop() }
        let holder = try #require(
            poll(within: 20) { () -> [LockHolder]? in
                let holders = try? ImageStore(root: root).lockHolders()
                return holders?.isEmpty == false ? holders : nil
            }, "load must take the lock: \(load.stderr)")
        #expect(holder.map(\.description) == ["pid \(load.pid), load"] && !holder[0].exclusive, "\(holder)")

        let rmi = try Background([skiffBinary, "rmi", "--root", root, "127.0.0.1:5000/nothing:1"], scratch: scratch, name: "rmi")
        defer { rmi.stop() }
        let message = "waiting for another skiff process (pid \(load.pid), load) to release the store..."
        let said = poll(within: 15) { rmi.stderr.contains(message) ? true : nil }
        #expect(said == true, "after a second: \(rmi.stderr)")
        #expect(rmi.isRunning, "still waiting while load holds the lock")
        // The load ends (its archive is empty), and the rmi gets the lock and finishes.
        close(writer)
        writerOpen = false
        #expect(load.wait(within: 20) != nil)
        let status = try #require(rmi.wait(within: 20), "rmi must finish once the lock is free")
        #expect(status != 0 && rmi.stderr.contains("not found"), "\(rmi.stderr)")
        #expect(rmi.stderr.components(separatedBy: "waiting for another").count == 2, "said once: \(rmi.stderr)")
    }
}

/// A skiff command running beside the test, its output in files; stopped by its pid.
final class Background: @unchecked Sendable {
    let process = Foundation.Process()
    let started = Date()
    private let errPath: String

    init(_ arguments: [String], scratch: Scratch, name: String) throws {
        errPath = "\(scratch.path)/\(name).stderr"
        let outPath = "\(scratch.path)/\(name).stdout"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var elapsed: Double { Date().timeIntervalSince(started) }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// The exit status, or nil when still running after `seconds`.
    func wait(within seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        guard !process.isRunning else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Polls `probe` every 50 ms until it returns a value or `seconds` pass.
func poll<T>(within seconds: Double, _ probe: () -> T?) -> T? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let value = probe() { return value }
        usleep(50_000)
    }
    return probe()
}

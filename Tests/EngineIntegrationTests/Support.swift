import Foundation
import LinuxSupport
import Testing

let isRoot = getuid() == 0
let haveTools = ["/usr/bin/umoci", "/bin/busybox"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
let engineTestsEnabled = isRoot && haveTools
let skipReason: Comment = "needs root (namespaces, overlay mounts, cgroups) and umoci and busybox-static (scripts/install-deps.sh)"

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion and captures its output.
@discardableResult
func run(_ arguments: [String], check: Bool = true, environment: [String: String] = [:]) throws -> CommandResult {
    let process = Foundation.Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes concurrently so a chatty stderr cannot block the program.
    nonisolated(unsafe) var errData = Data()
    let done = DispatchSemaphore(value: 0)
    Thread {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        done.signal()
    }.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    process.waitUntilExit()
    let result = CommandResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
    if check && result.status != 0 {
        throw TestError("\(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)\(result.stdout)")
    }
    return result
}

func shell(_ script: String) throws {
    try run(["/bin/sh", "-ec", script])
}

var skiffBinary: String {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidate = directory.appendingPathComponent("skiff").path
    if !FileManager.default.fileExists(atPath: candidate) {
        candidate = directory.deletingLastPathComponent().appendingPathComponent("skiff").path
    }
    return candidate
}

/// The busybox image archive (OCI layout in a tar) built once per test process with umoci:
/// busybox-static with a few applet links, a user `app` (1000:1000) in group `extra` (2000).
let busyboxArchive: Result<String, TestError> = {
    let directory = "/tmp/skiff-engine-it-image-\(getpid())"
    do {
        try shell(
            """
            rm -rf \(directory); mkdir -p \(directory); cd \(directory)
            umoci init --layout layout
            umoci new --image layout:bb
            umoci unpack --image layout:bb bundle >/dev/null
            cd bundle/rootfs
            mkdir -p bin etc tmp root home/app
            cp /bin/busybox bin/busybox
            for c in sh ls cat echo sleep id hostname env pwd true false touch kill ps httpd wget ip nc timeout readlink; do ln -sf busybox bin/$c; done
            printf 'root:x:0:0:root:/root:/bin/sh\\napp:x:1000:1000:app:/home/app:/bin/sh\\n' > etc/passwd
            printf 'root:x:0:\\napp:x:1000:\\nextra:x:2000:app\\n' > etc/group
            chmod 1777 tmp
            cd \(directory)
            umoci repack --image layout:bb bundle
            umoci config --image layout:bb --config.cmd sh --config.env PATH=/bin --config.workingdir /home/app --config.exposedports 80/tcp
            tar -C layout -cf bb.tar .
            rm -rf bundle layout
            """)
        atexit { _ = try? FileManager.default.removeItem(atPath: "/tmp/skiff-engine-it-image-\(getpid())") }
        return .success(directory + "/bb.tar")
    } catch {
        return .failure(TestError("building the busybox image failed: \(error)"))
    }
}()

/// One test's own store root, runtime root and image; `cleanup` removes every container (killing
/// processes, monitors and cgroups through `rm -f`), any mount left under it, and the directory.
final class EngineFixture: @unchecked Sendable {
    let path: String
    let image = "localhost/loaded:bb"
    var root: String { path + "/root" }
    var runtimeRoot: String { path + "/runtime" }

    init() throws {
        path = "/tmp/skiff-engine-it-\(UUID().uuidString.prefix(13))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do {
            let archive = try busyboxArchive.get()
            try run([skiffBinary, "load", "--root", root, "-i", archive])
        } catch {
            cleanup()
            throw error
        }
    }

    /// `skiff <command> --root ... --runtime-root ... <arguments>`.
    @discardableResult
    func skiff(_ command: String, _ arguments: [String], check: Bool = false) throws -> CommandResult {
        try run([skiffBinary, command, "--root", root, "--runtime-root", runtimeRoot] + arguments, check: check)
    }

    /// An image command, which takes `--root` only: `skiff <command...> --root ... <arguments>`.
    @discardableResult
    func image(_ command: [String], _ arguments: [String]) throws -> CommandResult {
        try run([skiffBinary] + command + ["--root", root] + arguments, check: false)
    }

    /// `skiff network <command> --root ... --runtime-root ... <arguments>`.
    @discardableResult
    func network(_ command: String, _ arguments: [String], check: Bool = false) throws -> CommandResult {
        try run([skiffBinary, "network", command, "--root", root, "--runtime-root", runtimeRoot] + arguments, check: check)
    }

    func containerIDs() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/containers")) ?? []
    }

    /// The container record as JSON.
    func record(_ id: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: "\(root)/containers/\(id)/container.json") else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    func mountsUnderFixture() -> [String] {
        let mounts = (try? Mounts.table()) ?? ""
        return mounts.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4].hasPrefix(path) ? String(fields[4]) : nil
        }
    }

    /// The container's cgroup directories in every hierarchy that still exist.
    func cgroupDirectories(_ id: String) -> [String] {
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        return (hierarchies + [""]).map { "/sys/fs/cgroup/\($0)/skiff/\(id)" }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    func cleanup() {
        for id in containerIDs() {
            let monitor = record(id)?["monitorPid"] as? Int
            _ = try? skiff("rm", ["-f", id])
            if let monitor, processExists(monitor) { kill(pid_t(monitor), SIGKILL) }
        }
        // Networks (the default one included) take their bridge, masquerade rule and subnet claim along.
        let networks = (try? network("ls", ["--format", "{{.Name}}"]).stdout) ?? ""
        for name in networks.split(separator: "\n") { _ = try? network("rm", [String(name)]) }
        // What a failed `network rm` left (a test that failed midway): the bridge, the subnet's
        // masquerade rule, claim and readiness marker are host-global and must not outlive the test.
        for file in (try? FileManager.default.contentsOfDirectory(atPath: root + "/networks")) ?? [] where file.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: root + "/networks/" + file),
                let definition = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let bridge = definition["bridge"] as? String, let subnet = definition["subnet"] as? String
            else { continue }
            _ = try? run(["/usr/sbin/ip", "link", "delete", bridge], check: false)
            _ = try? run(
                [
                    "/usr/sbin/iptables", "-w", "5", "-t", "nat", "-D", "POSTROUTING", "-s", subnet, "!", "-d", subnet, "-m", "comment",
                    "--comment", "skiff network \(bridge)", "-j", "MASQUERADE",
                ], check: false)
            unlink("/run/skiff/networks/claims/" + subnet.replacingOccurrences(of: "/", with: "_"))
            unlink("/run/skiff/networks/ready/" + bridge)
        }
        for mount in mountsUnderFixture().reversed() { umount2(mount, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: path)
        // The engine's shared parent cgroup: removed once empty (rmdir fails while anything,
        // another test's container or a user's, still uses it).
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        for hierarchy in hierarchies + [""] { rmdir("/sys/fs/cgroup/\(hierarchy)/skiff") }
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

func processExists(_ pid: Int) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    guard let close = stat.lastIndex(of: ")") else { return false }
    return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

/// Runs `body` for every index in 0..<count, each on its own thread and all at once (the way
/// many users start containers together); the results come back in index order.
func inParallel<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let lock = NSLock()
    nonisolated(unsafe) var results = [T?](repeating: nil, count: count)
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            defer { group.leave() }
            let value = body(index)
            lock.lock()
            results[index] = value
            lock.unlock()
        }.start()
    }
    group.wait()
    return results.compactMap { $0 }
}

/// A TCP port on 127.0.0.1 that nobody uses right now, chosen by the kernel. Tests run in
/// parallel in one process, so a port derived from the pid is the same for every test that
/// derives it: two such tests published or served on one port and one failed with "in use".
func freeLoopbackPort() -> Int {
    let (fd, port) = boundLoopbackSocket()
    close(fd)
    return port
}

/// A TCP socket bound to a port on 127.0.0.1 the kernel chose, and that port (the caller closes it).
func boundLoopbackSocket() -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length)
            return getsockname(fd, pointer, &length)
        }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// Debian's docker-registry on a free port of 127.0.0.1, storing under `directory`; `push` copies
/// the fixture's busybox image into it with skopeo (retrying while the registry starts), `stop`
/// kills it by PID.
final class LoopbackRegistry {
    let port: Int
    private let process = Foundation.Process()

    /// `htpasswd`: a file of users (htpasswd -B) the registry then asks for.
    init(directory: String, htpasswd: String? = nil) throws {
        port = freeLoopbackPort()
        let auth = htpasswd.map { "auth:\n  htpasswd:\n    realm: skiff-test\n    path: \($0)\n" } ?? ""
        try """
        version: 0.1
        storage:
          filesystem:
            rootdirectory: \(directory)/registry
        \(auth)http:
          addr: 127.0.0.1:\(port)
        """.write(toFile: directory + "/registry.yml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory + "/registry.yml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Copies the busybox fixture image to REPOSITORY:TAG here; whether it arrived within 10 s.
    func push(_ repositoryAndTag: String) throws -> Bool {
        let archive = try busyboxArchive.get()
        return try eventually(10) {
            try run(
                [
                    "/usr/bin/skopeo", "copy", "--dest-tls-verify=false", "oci-archive:\(archive):bb",
                    "docker://127.0.0.1:\(port)/\(repositoryAndTag)",
                ], check: false
            ).status == 0
        }
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// An HTTP/1.0 GET to 127.0.0.1:port, or [::1]:port with `ipv6`, from the host (5 s timeouts);
/// the body of a 200 answer, or nil.
func hostGet(port: UInt16, path: String = "/", ipv6: Bool = false) -> String? {
    let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected: Int32
    if ipv6 {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_addr = in6addr_loopback
        connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    } else {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
    guard write(fd, request, request.count) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        response += buffer[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.") && text.contains(" 200 "), let split = text.range(of: "\r\n\r\n") else { return nil }
    return String(text[split.upperBound...])
}

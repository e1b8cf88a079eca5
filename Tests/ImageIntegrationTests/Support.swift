import Foundation
import LinuxSupport
import Testing
import OCISpec
import ImageStore
import Registry
import CShim

let isRoot = getuid() == 0
let haveTools = ["/usr/bin/docker-registry", "/usr/bin/umoci", "/usr/bin/skopeo", "/usr/bin/htpasswd", "/bin/busybox"]
    .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
let integrationEnabled = isRoot && haveTools
let skipReason: Comment =
    "needs root (overlay mounts, ownership, trusted xattrs) and docker-registry, umoci, skopeo, htpasswd, busybox-static (scripts/install-deps.sh)"

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion and captures its output.
@discardableResult
func run(_ arguments: [String], environment: [String: String]? = nil, check: Bool = true) throws -> CommandResult {
    let process = Foundation.Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
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

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestError("cannot bind a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A unique temporary directory, removed (after unmounting anything beneath it) at the end.
final class Scratch: @unchecked Sendable {
    let path: String
    init() throws {
        path = "/tmp/skiff-image-it-\(UUID().uuidString.prefix(13))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() {
        if let mounts = try? Mounts.table() {
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count > 4, fields[4].hasPrefix(path) { umount2(String(fields[4]), 2) }
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
    deinit { cleanup() }
}

/// A process the test started, stopped by its PID.
final class Server: @unchecked Sendable {
    let process: Foundation.Process
    let port: Int
    let log: String

    init(_ arguments: [String], port: Int, log: String, readyPath: String = "/v2/", environment: [String: String]? = nil) throws {
        process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        self.port = port
        self.log = log
        try process.run()
        // Wait until it accepts connections.
        for _ in 0..<100 {
            if Self.connects(port) { return }
            usleep(50_000)
        }
        stop()
        throw TestError("\(arguments[0]) did not start on port \(port): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    static func connects(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            for _ in 0..<40 where process.isRunning { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// Debian's docker-registry on 127.0.0.1 with a random port and its own storage directory.
final class LocalRegistry: @unchecked Sendable {
    enum Auth {
        case none
        case htpasswd(user: String, password: String)
        case token(realm: String, certificate: String)
    }
    let server: Server
    let host: String
    let storage: String

    /// `tls` serves HTTPS with that PEM certificate and key instead of plain HTTP; `clientCA`
    /// then requires client certificates signed by it.
    init(scratch: Scratch, auth: Auth = .none, tls: (certificate: String, key: String)? = nil, clientCA: String? = nil) throws {
        let port = try freePort()
        let directory = scratch.path + "/registry-\(port)"
        storage = directory + "/data"
        try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
        var authSection = ""
        switch auth {
        case .none:
            break
        case .htpasswd(let user, let password):
            try run(["/usr/bin/htpasswd", "-Bbc", directory + "/htpasswd", user, password])
            authSection = "auth:\n  htpasswd:\n    realm: skiff-test\n    path: \(directory)/htpasswd\n"
        case .token(let realm, let certificate):
            authSection =
                "auth:\n  token:\n    realm: \(realm)\n    service: skiff-test-registry\n    issuer: skiff-test-issuer\n    rootcertbundle: \(certificate)\n"
        }
        let config = """
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: \(storage)
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            \(tls.map { "  tls:\n    certificate: \($0.certificate)\n    key: \($0.key)\n" } ?? "")\(clientCA.map { "    clientcas:\n      - \($0)\n" } ?? "")
            \(authSection)
            """
        try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        server = try Server(["/usr/bin/docker-registry", "serve", directory + "/config.yml"], port: port, log: directory + "/registry.log")
        host = "127.0.0.1:\(port)"
    }

    func stop() { server.stop() }
}

/// Builds test images as OCI layouts with umoci, and pushes them with skopeo.
struct ImageFactory {
    let scratch: Scratch
    var layout: String { scratch.path + "/oci" }

    init(scratch: Scratch) throws {
        self.scratch = scratch
        if !FileManager.default.fileExists(atPath: layout) {
            try run(["/usr/bin/umoci", "init", "--layout", layout])
        }
    }

    /// A busybox-static image: /bin/busybox, /bin/sh, a few files.
    func busybox(tag: String) throws {
        try run(["/usr/bin/umoci", "new", "--image", "\(layout):\(tag)"])
        let bundle = scratch.path + "/bundle-\(tag)"
        try run(["/usr/bin/umoci", "unpack", "--image", "\(layout):\(tag)", bundle])
        try shell(
            """
            cd \(bundle)/rootfs
            mkdir -p bin etc tmp root
            cp /bin/busybox bin/busybox
            ln -s busybox bin/sh
            ln -s busybox bin/ls
            echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd
            chmod 1777 tmp
            """)
        try run(["/usr/bin/umoci", "repack", "--image", "\(layout):\(tag)", bundle])
        try run(["/usr/bin/umoci", "config", "--image", "\(layout):\(tag)", "--config.cmd", "sh", "--config.env", "PATH=/bin"])
        try FileManager.default.removeItem(atPath: bundle)
    }

    /// busybox plus two more layers: deletions (whiteouts), a replaced directory, special files.
    func multiLayer(tag: String) throws {
        try busybox(tag: tag)
        let bundle = scratch.path + "/bundle-\(tag)"
        try run(["/usr/bin/umoci", "unpack", "--image", "\(layout):\(tag)", bundle])
        try shell(
            """
            cd \(bundle)/rootfs
            mkdir -p etc/conf.d data/keep data/replace usr/bin
            echo one > etc/conf.d/a; echo two > etc/conf.d/b; echo gone > etc/deleted
            echo old > data/replace/old; echo keep > data/keep/file
            printf 'setuid' > usr/bin/su-like; chmod 4755 usr/bin/su-like
            echo owned > data/owned; chown 1234:4321 data/owned; chmod 600 data/owned
            echo linked > data/hard1; ln data/hard1 data/hard2
            ln -s ../etc/conf.d/a data/link-to-a
            mknod dev-null c 1 3; mkfifo data/fifo
            setfattr -n user.skiff -v yes data/keep/file 2>/dev/null || true
            """)
        try run(["/usr/bin/umoci", "repack", "--refresh-bundle", "--image", "\(layout):\(tag)", bundle])
        try shell(
            """
            cd \(bundle)/rootfs
            rm etc/deleted etc/conf.d/b
            rm -rf data/replace; mkdir data/replace; echo new > data/replace/new
            echo changed > etc/conf.d/a
            rm bin/ls
            """)
        try run(["/usr/bin/umoci", "repack", "--image", "\(layout):\(tag)", bundle])
        try FileManager.default.removeItem(atPath: bundle)
    }

    /// Copies `tag` to the registry with skopeo (extra arguments such as --dest-compress-format).
    func push(tag: String, to destination: String, extra: [String] = [], all: Bool = false) throws {
        var arguments = ["/usr/bin/skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
        if all { arguments.append("--all") }
        arguments += extra + ["oci:\(layout):\(tag)", "docker://\(destination)"]
        try run(arguments)
    }

    /// umoci's own unpack of `tag`, the reference the pulled tree is compared with.
    func umociRootfs(tag: String) throws -> String {
        let bundle = scratch.path + "/umoci-\(tag)"
        try run(["/usr/bin/umoci", "unpack", "--image", "\(layout):\(tag)", bundle])
        return bundle + "/rootfs"
    }
}

/// Every path in a tree with what docker users care about: type, mode, owner, size, content,
/// link target, device number and user/security xattrs.
func describeTree(_ root: String) throws -> [String: String] {
    var result: [String: String] = [:]
    func walk(_ relative: String) throws {
        let full = relative.isEmpty ? root : root + "/" + relative
        var st = stat()
        guard lstat(full, &st) == 0 else { throw TestError("lstat \(full)") }
        let type = st.st_mode & S_IFMT
        var line = "mode=\(String(st.st_mode, radix: 8)) uid=\(st.st_uid) gid=\(st.st_gid)"
        switch type {
        case S_IFREG:
            let data = try Data(contentsOf: URL(fileURLWithPath: full))
            line += " size=\(st.st_size) sha=\(SHA256Hasher.digest([UInt8](data)).shortID) mtime=\(st.st_mtim.tv_sec)"
        case S_IFLNK:
            line += " -> \(try FileManager.default.destinationOfSymbolicLink(atPath: full))"
        case S_IFCHR, S_IFBLK:
            line += " rdev=\(st.st_rdev)"
        default:
            break
        }
        var names = [CChar](repeating: 0, count: 4096)
        let length = skiff_llistxattr(full, &names, names.count)
        if length > 0 {
            let keys = String(decoding: names[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "\0").map(
                String.init)
            for key in keys.sorted() where key.hasPrefix("user.") || key.hasPrefix("security.") {
                var value = [UInt8](repeating: 0, count: 1024)
                let n = skiff_lgetxattr(full, key, &value, value.count)
                line += " \(key)=\(n > 0 ? String(decoding: value[0..<n], as: UTF8.self) : "")"
            }
        }
        result[relative.isEmpty ? "/" : relative] = line
        if type == S_IFDIR {
            for name in try FileManager.default.contentsOfDirectory(atPath: full) {
                try walk(relative.isEmpty ? name : relative + "/" + name)
            }
        }
    }
    try walk("")
    return result
}

/// Records what a transfer reported.
final class RecordingProgress: TransferProgress, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var phases: [Digest: [TransferPhase]] = [:]
    func message(_ text: String) {}
    func update(_ digest: Digest, phase: TransferPhase, done: Int64, total: Int64) {
        lock.withLock { phases[digest, default: []].append(phase) }
    }
    func saw(_ phase: TransferPhase) -> Bool { lock.withLock { phases.values.contains { $0.contains(phase) } } }
}

/// The built `skiff` binary next to the test bundle.
var skiffBinary: String {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidate = directory.appendingPathComponent("skiff").path
    if !FileManager.default.fileExists(atPath: candidate) {
        candidate = directory.deletingLastPathComponent().appendingPathComponent("skiff").path
    }
    return candidate
}

func options(timeout: Double = 10, attempts: Int = 3, authFile: String? = nil) -> RegistryOptions {
    var options = RegistryOptions()
    options.timeout = timeout
    options.attempts = attempts
    options.credentials = CredentialStore(
        skiffFile: authFile ?? "/nonexistent/skiff-auth.json", dockerFile: "/nonexistent/docker-config.json")
    return options
}

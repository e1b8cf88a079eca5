import ContainerRuntime
import Foundation
import LinuxSupport
import OCISpec

/// A busybox bundle in a temporary directory with its own state root; removes everything it
/// made (containers, state, files) when the test is done, also when it failed.
final class TestBundle {
    let dir: String
    let root: String
    var spec: Spec
    let id: String
    private var extraIDs: [String] = []

    init(_ name: String = "c") throws {
        dir = NSTemporaryDirectory() + TestEnvironment.uniqueName(name)
        root = dir + "-state"
        id = TestEnvironment.uniqueName(name)
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/rootfs/bin", withIntermediateDirectories: true)
        for d in ["proc", "sys", "dev", "tmp", "etc", "root"] {
            try fm.createDirectory(atPath: dir + "/rootfs/" + d, withIntermediateDirectories: true)
        }
        try TestEnvironment.installBusybox(at: dir + "/rootfs/bin/busybox")
        for tool in [
            "sh", "echo", "cat", "ls", "ps", "hostname", "id", "true", "false", "sleep", "mount", "grep",
            "touch", "stat", "ip", "ulimit", "umask", "domainname", "head", "wc", "mkdir", "readlink", "env", "pwd", "test", "ifconfig",
        ] {
            try fm.createSymbolicLink(atPath: dir + "/rootfs/bin/" + tool, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n".write(
            toFile: dir + "/rootfs/etc/passwd", atomically: true, encoding: .utf8)
        spec = DefaultSpec.make()
        spec.process?.terminal = false
        spec.root?.readonly = false
        spec.linux?.cgroupsPath = "/skiff-test/" + id
    }

    /// A new user namespace whose root is host uid/gid 100000 (65536 ids), the rootfs owned by
    /// that root so it stays usable.
    func useUserNamespace() throws {
        spec.linux?.namespaces?.append(Namespace(type: .user))
        spec.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 100_000, size: 65536)]
        spec.linux?.gidMappings = [IDMapping(containerID: 0, hostID: 100_000, size: 65536)]
        _ = try Command.run("/bin/chown", ["-R", "100000:100000", dir + "/rootfs"])
    }

    /// Sets the command run inside the container (through sh -c).
    func shell(_ script: String) {
        spec.process?.args = ["sh", "-c", script]
    }

    func writeConfig() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        try encoder.encode(spec).write(to: URL(fileURLWithPath: dir + "/config.json"))
    }

    /// Runs every runtime command in a private mount namespace whose /sys/fs/cgroup is the host's
    /// cgroup2 hierarchy alone: a pure cgroup2 host as skiff-runtime sees it, on a hybrid host.
    var pureCgroup2View = false

    /// The skiff-runtime binary this bundle's commands run (a copy, for tests that attack it).
    var runtimeBinary = TestEnvironment.runtimeBinary

    /// Runs skiff-runtime with the bundle's state root.
    @discardableResult
    func runtime(_ args: [String], stdin: String = "", env: [String: String]? = nil) throws -> (code: Int32, out: String, err: String) {
        if pureCgroup2View {
            let script = "umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\""
            return try Command.run(
                "/usr/bin/unshare",
                [
                    "-m", "--propagation", "private", "/bin/sh", "-c", script,
                    runtimeBinary, "--root", root,
                ] + args, stdin: stdin, env: env)
        }
        return try Command.run(runtimeBinary, ["--root", root] + args, stdin: stdin, env: env)
    }

    /// `run` the container in the foreground: exit code and output.
    func run() throws -> (code: Int32, out: String, err: String) {
        try writeConfig()
        return try runtime(["run", "--bundle", dir, id])
    }

    @discardableResult
    func create(_ id: String? = nil, extra: [String] = []) throws -> (code: Int32, out: String, err: String) {
        try writeConfig()
        if let id { extraIDs.append(id) }
        return try runtime(["create", "--bundle", dir] + extra + [id ?? self.id])
    }

    func state(_ id: String? = nil) throws -> State? {
        let r = try runtime(["state", id ?? self.id])
        guard r.code == 0 else { return nil }
        return try JSONDecoder().decode(State.self, from: Data(r.out.utf8))
    }

    /// The cgroup directories a container of this bundle would use (to check they are gone).
    var cgroupDirectories: [String] {
        let layout = (try? CgroupLayout.detect()) ?? CgroupLayout(v1: [:], unified: nil, unifiedControllers: [])
        return (Array(layout.v1.values) + (layout.unified.map { [$0] } ?? [])).map { $0 + "/skiff-test/" + id }
    }

    deinit {
        for container in [id] + extraIDs {
            _ = try? runtime(["delete", "--force", container])
        }
        for path in cgroupDirectories {
            rmdir(path)
            rmdir((path as NSString).deletingLastPathComponent)
        }
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// Runs a host program and collects its output. Output goes through files, not pipes: a
/// container created in the background keeps the runtime's stdio open long after it returns.
/// posix_spawn and waitpid on the one pid, because Foundation's Process can miss the exit of a
/// program (podman) whose daemonised children (conmon) keep its descriptors.
enum Command {
    static func run(_ path: String, _ args: [String], stdin: String = "", env: [String: String]? = nil) throws -> (
        code: Int32, out: String, err: String
    ) {
        let base = NSTemporaryDirectory() + TestEnvironment.uniqueName("io")
        defer {
            unlink(base + ".in")
            unlink(base + ".out")
            unlink(base + ".err")
        }
        try stdin.write(toFile: base + ".in", atomically: false, encoding: .utf8)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, base + ".in", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let environment = (env ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = CStringArray([path] + args)
        let envp = CStringArray(environment)
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv.pointers, envp.pointers)
        guard rc == 0 else { throw SystemError("spawn \(path)", errno: rc) }
        let code = Processes.wait(pid)
        let outText = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let errText = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return (code, outText, errText)
    }
}

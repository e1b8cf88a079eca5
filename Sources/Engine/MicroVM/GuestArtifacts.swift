#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import LinuxSupport
import VMM

/// What a micro-VM container boots besides the image's disks: the guest kernel, the agent's
/// initramfs (built from the `skiff-agent` next to `skiff`, cached in the store by the agent's
/// identity and the protocol version), and the container's scratch disk.
enum GuestArtifacts {
    /// The kernel to boot: `--kernel`, else skiff's default guest kernel (kernel/build.sh).
    static func kernel(_ override: String?) throws -> String {
        if let override {
            guard access(override, R_OK) == 0 else { throw EngineError.invalidOption("--kernel \(override): no readable file there") }
            return override
        }
        do {
            return try DefaultGuestKernel.locate()
        } catch {
            throw EngineError.startFailed("\(error)")
        }
    }

    /// The agent's initramfs: `--initrd`, else the cached archive of the sibling `skiff-agent`.
    static func initrd(_ override: String?, root: String, executable: String) throws -> String {
        if let override {
            guard access(override, R_OK) == 0 else { throw EngineError.invalidOption("--initrd \(override): no readable file there") }
            return override
        }
        guard let slash = executable.lastIndex(of: "/") else {
            throw EngineError.startFailed("cannot locate skiff-agent beside \(executable)")
        }
        let agent = String(executable[..<slash]) + "/skiff-agent"
        var st = stat()
        guard stat(agent, &st) == 0 else {
            throw EngineError.startFailed(
                "--vm needs skiff-agent beside skiff (\(agent)): build it with `swift build --product skiff-agent`")
        }
        let directory = root + "/vm"
        try FileIO.makeDirectories(directory, mode: 0o700)
        // The agent's identity: a new build (size, change time, inode) or protocol gets a new archive.
        let name = "agent-v\(AgentHandshake.version)-\(st.st_ino)-\(st.st_size)-\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec).cpio"
        let path = directory + "/" + name
        if FileIO.exists(path) { return path }
        let archive = Initramfs.archive([
            .directory("dev"),
            .characterDevice("dev/console", major: 5, minor: 1),
            .file("init", try FileIO.read(agent), mode: 0o755),
        ])
        try FileIO.writeAtomically(path, archive, mode: 0o600)
        // Older archives belong to agents that are gone.
        for other in (try? FileIO.listDirectory(directory)) ?? [] where other.hasPrefix("agent-") && other != name {
            unlink(directory + "/" + other)
        }
        return path
    }

    /// The size of a new scratch disk: sparse, so only what the container writes takes space.
    static let scratchBytes: Int64 = 16 << 30

    /// The container's writable layer in the guest: an ext4 image in its directory, made on the
    /// first start and kept across stop and start (its changes survive as a process container's
    /// upper directory does); `rm` removes it with the directory.
    static func scratchDisk(containerDirectory: String) throws -> String {
        let path = containerDirectory + "/scratch.ext4"
        if FileIO.exists(path) { return path }
        let temporary = path + ".tmp"
        unlink(temporary)
        let tool = (["/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4"] as [String]).first { access($0, X_OK) == 0 }
        guard let tool else { throw EngineError.startFailed("--vm needs mkfs.ext4 for the container's scratch disk: install e2fsprogs") }
        let result = try Subprocess.run(
            path: tool,
            args: [tool, "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", temporary, "\(scratchBytes >> 10)k"],
            env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], captureOutput: true, captureStderr: true)
        guard result.status == 0 else {
            unlink(temporary)
            throw EngineError.startFailed("mkfs.ext4 of the scratch disk failed: \(String(decoding: result.output, as: UTF8.self))")
        }
        try sysCall("rename \(temporary)") { rename(temporary, path) }
        return path
    }
}

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
    /// The kernel to boot: `--kernel`, else the store's configured one (`vm.kernel`), else skiff's
    /// default guest kernel (`GuestKernel`, which the start built when there was none).
    static func kernel(_ override: String?, config: EngineConfig, root: String) throws -> String {
        if let override {
            guard access(override, R_OK) == 0 else { throw EngineError.invalidOption("--kernel \(override): no readable file there") }
            return override
        }
        if let configured = config.vm?.kernel {
            guard access(configured, R_OK) == 0 else {
                throw EngineError.invalidOption("vm.kernel \(configured) in \(EngineConfig.path(root: root)): no readable file there")
            }
            return configured
        }
        let kernels = GuestKernel()
        guard access(kernels.defaultPath, R_OK) == 0 else {
            throw EngineError.startFailed(
                "--vm needs a guest kernel and there is none at \(kernels.defaultPath): `skiff vm kernel build` builds skiff's "
                    + "(about 11 minutes on 2 cores; `skiff start` does it too), or pass --kernel FILE (a bzImage or PVH vmlinux)")
        }
        return kernels.defaultPath
    }

    /// The initramfs the container's config names (`--initrd`, else the store's `vm.initrd`).
    static func initrdOverride(_ override: String?, config: EngineConfig) -> String? { override ?? config.vm?.initrd }

    /// The agent's initramfs: `--initrd`, else the cached archive of the sibling `skiff-agent`.
    static func initrd(_ override: String?, root: String, executable: String) throws -> String {
        if let override {
            guard access(override, R_OK) == 0 else { throw EngineError.invalidOption("initrd \(override): no readable file there") }
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
        // Touched on each use: another skiff's clean-up below spares what a start is about to open.
        if utimensat(AT_FDCWD, path, nil, 0) == 0 { return path }
        let archive = Initramfs.archive([
            .directory("dev"),
            .characterDevice("dev/console", major: 5, minor: 1),
            .file("init", try strippedAgent(agent, scratch: path + ".\(getpid()).strip"), mode: 0o755),
        ])
        try FileIO.writeAtomically(path, archive, mode: 0o600)
        removeUnusedArchives(in: directory, keeping: name)
        return path
    }

    /// The agent without its symbol table and debug sections (`strip`, from binutils, when the
    /// host has it): about half of a release build's 19 MB, which the guest's kernel unpacks and
    /// the runtime's init stage re-executes on every boot (slow under TCG). Without `strip` the
    /// agent goes in as it is.
    static func strippedAgent(_ agent: String, scratch: String) throws -> [UInt8] {
        guard let tool = (["/usr/bin/strip", "/bin/strip"] as [String]).first(where: { access($0, X_OK) == 0 }) else {
            return try FileIO.read(agent)
        }
        unlink(scratch)
        defer { unlink(scratch) }
        let result = try? Subprocess.run(
            path: tool, args: [tool, "--strip-all", "-o", scratch, agent], env: ["PATH=/usr/bin:/bin"], captureOutput: true,
            captureStderr: true)
        guard result?.status == 0, let stripped = try? FileIO.read(scratch), !stripped.isEmpty else { return try FileIO.read(agent) }
        return stripped
    }

    /// An archive unused this long belongs to an agent that is gone (a rebuilt skiff-agent).
    static let unusedArchiveSeconds = 10 * 60

    /// Removes the archives of other agents that no start has used for `unusedArchiveSeconds`:
    /// one used more recently may be what a concurrent start (of a skiff built before this one)
    /// is about to hand to its VM, and a start whose archive is gone fails.
    static func removeUnusedArchives(in directory: String, keeping name: String) {
        let now = Int64(time(nil))
        for other in (try? FileIO.listDirectory(directory)) ?? [] where other.hasPrefix("agent-") && other != name {
            var st = stat()
            guard stat(directory + "/" + other, &st) == 0, now - Int64(st.st_mtim.tv_sec) >= unusedArchiveSeconds else { continue }
            unlink(directory + "/" + other)
        }
    }

    /// The size of a new scratch disk: sparse, so only what the container writes takes space.
    static let scratchBytes: Int64 = 16 << 30

    /// The container's writable layer in the guest: an ext4 image in its directory, made on the
    /// first start and kept across stop and start (its changes survive as a process container's
    /// upper directory does); `rm` removes it with the directory. It is a sparse copy of an empty
    /// filesystem made once per store (`scratchTemplate`): mkfs.ext4 took about 300 ms of every
    /// `run --vm` (it syncs), the copy of its few MB of metadata a few.
    static func scratchDisk(containerDirectory: String, root: String) throws -> String {
        let path = containerDirectory + "/scratch.ext4"
        if FileIO.exists(path) { return path }
        let template = try scratchTemplate(root: root)
        let temporary = path + ".tmp"
        unlink(temporary)
        do {
            try SparseCopy.copy(from: template, to: temporary)
        } catch {
            throw EngineError.startFailed("cannot make the container's scratch disk from \(template): \(error)")
        }
        try sysCall("rename \(temporary)") { rename(temporary, path) }
        return path
    }

    /// The empty scratch filesystem every container's disk is copied from, in the store's `vm/`
    /// (made by mkfs.ext4 the first time, renamed into place whole). The host never mounts it or
    /// any copy: only guests do.
    static func scratchTemplate(root: String) throws -> String {
        let directory = root + "/vm"
        let path = directory + "/scratch-\(scratchBytes >> 30)g.ext4"
        if FileIO.exists(path) { return path }
        try FileIO.makeDirectories(directory, mode: 0o700)
        let temporary = path + ".tmp-\(getpid())"
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

extension Engine {
    /// Before a micro-VM container is created or started (in the command's own process, before
    /// any lock, so a user sees the progress): the store's configured backend as the container's
    /// default, and skiff's guest kernel built when the container boots the default one and
    /// there is none yet.
    func prepareMicroVM(_ settings: inout MicroVMSettings) throws {
        let config = try EngineConfig.load(root: store.root)
        if settings.backend == nil { settings.backend = config.vm?.backend }
        if settings.kernel == nil, config.vm?.kernel == nil { _ = try GuestKernel().ensure() }
    }
}

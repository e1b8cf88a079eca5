#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// Builds the container's filesystem view: the spec's mounts, /dev, and finally pivot_root.
/// Runs in the init stage, before the user's program exists, in the container's mount namespace
/// (new or joined by path). A container without one shares the runtime's namespace: then the
/// rootfs is bound at `InitConfig.rootfsMountPoint`, a private mount of the container's own that
/// everything else is mounted below, and init chroots into it (pivot_root would move the root
/// of every process in the namespace), as runc does; the host's mounts are left alone.
struct RootfsSetup {
    let config: InitConfig
    /// Where the root is built: the rootfs itself, the mount point in the runtime's namespace, or
    /// /proc/self/fd/N of the bind `prepare` made through `rootfsFD` (every later step, pivot_root
    /// included, then walks from that mount).
    private(set) var rootfs: String
    let sharesRuntimeNamespace: Bool
    /// The rootfs opened by the runtime (user-namespaced containers), or -1.
    let rootfsFD: Int32
    /// Bind-mount sources the runtime opened for us, by their path in config.json.
    let bindSources: [String: Int32]
    /// Every system call goes through here (a recording double in the plan tests).
    let syscalls: any InitSyscalls

    init(
        config: InitConfig, rootfsFD: Int32 = -1, bindSources: [String: Int32] = [:],
        syscalls: any InitSyscalls = LinuxInitSyscalls()
    ) {
        self.config = config
        self.syscalls = syscalls
        self.rootfs = config.rootfsMountPoint ?? config.rootfs
        self.sharesRuntimeNamespace = config.rootfsMountPoint != nil
        self.rootfsFD = rootfsFD
        self.bindSources = bindSources
    }

    /// The mounts that need the container's cgroup (and cgroup namespace) to exist first: cgroup
    /// filesystems and anything mounted below one. They are done by `mountCgroups`.
    var cgroupMounts: [Mount] {
        let all = config.spec.mounts ?? []
        let cgroupDestinations = all.filter { $0.type == "cgroup" || $0.type == "cgroup2" }.map { $0.destination.trimmedSlashes }
        return all.filter { m in
            let d = m.destination.trimmedSlashes
            return cgroupDestinations.contains { d == $0 || d.hasPrefix($0 + "/") }
        }
    }

    /// Everything before the createRuntime hooks that does not depend on the container's cgroup:
    /// propagation, the rootfs bind, the mounts, /dev. Runs while the runtime sets up the cgroup.
    mutating func prepare() throws {
        if sharesRuntimeNamespace {
            // The runtime's namespace: its "/" and propagation stay as they are. Private, so
            // nothing mounted below propagates anywhere; `delete` detaches it with all below.
            try syscalls.mount(source: config.rootfs, target: rootfs, type: "bind", flags: MountFlags.bind | MountFlags.rec, data: nil)
            try syscalls.mount(source: nil, target: rootfs, type: nil, flags: MountFlags.private | MountFlags.rec, data: nil)
        } else {
            let propagation = config.spec.linux?.rootfsPropagation.flatMap { MountFlags.propagationTable[$0] }
            // Nothing we mount may propagate back to the host.
            try syscalls.mount(source: nil, target: "/", type: nil, flags: MountFlags.slave | MountFlags.rec, data: nil)
            if let propagation, propagation & (MountFlags.shared) != 0 {
                try syscalls.mount(source: nil, target: "/", type: nil, flags: propagation, data: nil)
            }
            if let propagation, propagation & MountFlags.shared != 0 {
                // pivot_root refuses a shared parent mount (and a shared new root, which a bind of a
                // shared mount would be); `finish` makes the new root shared again after the pivot.
                try makeParentMountPrivate(of: rootfs)
            }
            if rootfsFD >= 0 {
                // Stays open (close-on-exec) until the program runs: it names the new root mount.
                let tree = try syscalls.bindOntoItself(rootfsFD)
                Glibc.close(rootfsFD)
                rootfs = "/proc/self/fd/\(tree)"
            } else {
                try syscalls.mount(source: rootfs, target: rootfs, type: "bind", flags: MountFlags.bind | MountFlags.rec, data: nil)
            }
        }
        let root = try RootedPath(root: rootfs)
        defer { root.close() }
        let mounts = config.spec.mounts ?? []
        let deferred = cgroupMounts
        for mount in mounts where !deferred.contains(mount) {
            try self.mount(mount, in: root)
        }
        let devIsBound = mounts.contains { $0.destination.trimmedSlashes == "dev" && MountOptions($0.options, type: $0.type).isBind }
        if !devIsBound {
            try DeviceSetup(root: root, newUserNamespace: config.newUserNamespace, syscalls: syscalls)
                .create(devices: DefaultDevices.nodes + (config.spec.linux?.devices ?? []))
        }
        // runc's rule (and so docker's `run -w DIR`): a missing working directory is made (0755,
        // root's) inside the root, after the mounts so that one below a volume is made there, and
        // before a read-only root is remounted.
        if !config.process.cwd.isEmpty, config.process.cwd != "/" {
            close(try root.makeDirectories(config.process.cwd))
        }
    }

    /// The cgroup mounts, once the init stage is in its cgroup (and cgroup namespace).
    func mountCgroups() throws {
        let mounts = cgroupMounts
        guard !mounts.isEmpty else { return }
        let root = try RootedPath(root: rootfs)
        defer { root.close() }
        for mount in mounts {
            try self.mount(mount, in: root)
        }
    }

    /// pivot_root into the rootfs (or chroot with --no-pivot) and apply the post-pivot settings.
    func enter() throws {
        try syscalls.chdir(rootfs)
        if sharesRuntimeNamespace {
            try syscalls.chroot(".")
        } else if config.noPivot {
            try syscalls.mount(source: rootfs, target: "/", type: nil, flags: MountFlags.move, data: nil)
            try syscalls.chroot(".")
        } else {
            try syscalls.pivotRoot(newRoot: ".", putOld: ".")
            // The old root is now stacked under "/": detach it without touching the host.
            try syscalls.mount(source: nil, target: ".", type: nil, flags: MountFlags.slave | MountFlags.rec, data: nil)
            try syscalls.unmount(".", flags: UnmountFlags.detach)
        }
        try syscalls.chdir("/")
    }

    /// Masked and read-only paths, sysctls, a read-only root and the final propagation.
    func finish() throws {
        let linux = config.spec.linux
        for (key, value) in (linux?.sysctl ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard !key.contains("..") else { throw RuntimeError.invalidConfig("sysctl name '\(key)' is not valid") }
            let path = "/proc/sys/" + key.replacingDots()
            do {
                try syscalls.writeExisting(path, value)
            } catch {
                throw RuntimeError.invalidConfig("sysctl \(key)=\(value): \(error)")
            }
        }
        let readonlyPaths = linux?.readonlyPaths ?? [], maskedPaths = linux?.maskedPaths ?? []
        if !readonlyPaths.isEmpty || !maskedPaths.isEmpty {
            let root = try RootedPath(root: syscalls.enteredRoot(from: rootfs))
            defer { root.close() }
            for path in readonlyPaths {
                try makeReadonly(path, in: root)
            }
            for path in maskedPaths {
                try mask(path, in: root)
            }
        }
        if config.spec.root?.readonly == true {
            try remount("/", flags: MountFlags.rdonly)
        }
        if let name = linux?.rootfsPropagation, let flags = MountFlags.propagationTable[name] {
            try syscalls.mount(source: nil, target: "/", type: nil, flags: flags, data: nil)
        }
    }

    /// Makes the mount `path` is on private: its own mount when it is a mount point (an engine's
    /// overlay rootfs), else the one that contains it, as runc's rootfsParentMountPrivate does.
    /// The bind of the rootfs onto itself copies that mount's propagation, and pivot_root refuses
    /// a shared new root: with the parent directory's mount only, rshared failed with EINVAL for
    /// every rootfs that is a mount point.
    private func makeParentMountPrivate(of path: String) throws {
        let info = try Mounts.table()
        var best = "/"
        for line in info.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let mountPoint = Mounts.unescapeMountPath(String(fields[4]))
            let isPrefix = mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
            if isPrefix && mountPoint.count > best.count { best = mountPoint }
        }
        try syscalls.mount(source: nil, target: best, type: nil, flags: MountFlags.private, data: nil)
    }

    // MARK: - mounts

    private func mount(_ m: Mount, in root: RootedPath) throws {
        let options = MountOptions(m.options, type: m.type)
        let type = m.type ?? (options.isBind ? "bind" : nil)
        if type == "cgroup" || type == "cgroup2" {
            return try CgroupMount(config: config, root: root, syscalls: syscalls).mount(at: m.destination, options: options)
        }
        if options.isBind {
            return try bindMount(m, options: options, in: root)
        }
        let target = try root.makeDirectories(m.destination)
        defer { close(target) }
        let flags = options.flags & ~(MountFlags.bind | MountFlags.rec)
        do {
            try syscalls.mount(
                source: m.source ?? type, target: RootedPath.procPath(target), type: type, flags: flags, data: options.dataString)
        } catch let error as SystemError where type == "sysfs" && (error.errno == EPERM || error.errno == EINVAL) {
            // Without a network namespace of its own, a user namespace may not mount sysfs: bind the host's.
            try syscalls.mount(
                source: "/sys", target: RootedPath.procPath(target), type: nil, flags: MountFlags.bind | MountFlags.rec, data: nil)
            try remount(at: m.destination, in: root, flags: options.bindRemountFlags | MountFlags.rdonly)
        } catch let error as SystemError where type == "mqueue" && (error.errno == EPERM || error.errno == EINVAL) {
            try syscalls.mount(source: "/dev/mqueue", target: RootedPath.procPath(target), type: nil, flags: MountFlags.bind, data: nil)
        }
        try applyPropagation(options.propagation, at: m.destination, in: root)
    }

    private func bindMount(_ m: Mount, options: MountOptions, in root: RootedPath) throws {
        guard var source = m.source else { throw RuntimeError.invalidConfig("bind mount to \(m.destination) has no source") }
        if !source.hasPrefix("/") { source = config.bundle + "/" + source }
        if let fd = bindSources[source] { source = "/proc/self/fd/\(fd)" }
        var st = stat()
        guard stat(source, &st) == 0 else {
            throw RuntimeError.invalidConfig("bind mount source \(source) for \(m.destination): \(String(cString: strerror(errno)))")
        }
        let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        let target = isDirectory ? try root.makeDirectories(m.destination) : try root.makeFile(m.destination)
        defer { close(target) }
        if m.uidMappings != nil || m.gidMappings != nil {
            try idmappedBind(m, source: source, target: target, recursive: options.isRecursive)
        } else {
            let flags = MountFlags.bind | (options.isRecursive ? MountFlags.rec : 0)
            try syscalls.mount(source: source, target: RootedPath.procPath(target), type: nil, flags: flags, data: nil)
        }
        if options.bindRemountFlags != 0 {
            try remount(at: m.destination, in: root, flags: options.bindRemountFlags)
        }
        try applyPropagation(options.propagation, at: m.destination, in: root)
    }

    /// An idmapped bind (mounts[].uidMappings/gidMappings): files show through the mapping, an
    /// owner X on disk appearing as X - containerID + hostID, as the runtime spec describes.
    private func idmappedBind(_ m: Mount, source: String, target: Int32, recursive: Bool) throws {
        guard let uids = m.uidMappings, let gids = m.gidMappings, !uids.isEmpty, !gids.isEmpty else {
            throw RuntimeError.invalidConfig("mount \(m.destination): an idmapped mount needs both uidMappings and gidMappings")
        }
        guard !(config.spec.linux?.namespaces ?? []).contains(where: { $0.type == .user }) else {
            throw RuntimeError.unsupported(
                "mount \(m.destination): idmapped mounts in a container with a user namespace are not supported yet: drop uidMappings/gidMappings from the mount or the user namespace"
            )
        }
        try syscalls.idmappedBind(
            source: source, target: target, uidMap: IDMapFile.text(uids), gidMap: IDMapFile.text(gids),
            recursive: recursive, destination: m.destination)
    }

    private func applyPropagation(_ propagation: [UInt], at destination: String, in root: RootedPath) throws {
        guard !propagation.isEmpty else { return }
        let fd = try root.open(destination)
        defer { close(fd) }
        for p in propagation {
            try syscalls.mount(source: nil, target: RootedPath.procPath(fd), type: nil, flags: p, data: nil)
        }
    }

    /// Bind-remounts the mount at `destination` with `flags`, keeping flags the kernel locked.
    func remount(at destination: String, in root: RootedPath, flags: UInt) throws {
        let fd = try root.open(destination)
        defer { close(fd) }
        try remount(RootedPath.procPath(fd), flags: flags)
    }

    private func remount(_ path: String, flags: UInt) throws {
        do {
            try syscalls.mount(source: nil, target: path, type: nil, flags: MountFlags.bind | MountFlags.remount | flags, data: nil)
        } catch let error as SystemError where error.errno == EPERM {
            // In a user namespace nodev/nosuid/noexec set by the host are locked: keep them.
            guard let locked = try? syscalls.mountFlags(at: path) else { throw error }
            try syscalls.mount(
                source: nil, target: path, type: nil, flags: MountFlags.bind | MountFlags.remount | flags | locked, data: nil)
        }
    }

    /// Opens a masked or read-only path inside the (entered) root: symlinks are followed only
    /// within it, /proc magic links not at all. nil when there is nothing to protect: the path does
    /// not exist, or init may not search its directory (EACCES), as crun and runc skip those;
    /// any other failure (ENOTDIR, ELOOP) is reported.
    private func openProtectedPath(_ path: String, in root: RootedPath, kind: String) throws -> Int32? {
        do {
            return try root.open(path)
        } catch let error as SystemError where error.errno == ENOENT || error.errno == EACCES {
            return nil
        } catch let error as SystemError {
            throw RuntimeError.invalidConfig("linux.\(kind) \(path): \(error)")
        }
    }

    /// A read-only bind of the path onto itself, made through its descriptor; the remount goes
    /// through a fresh one (the first still names the covered file).
    private func makeReadonly(_ path: String, in root: RootedPath) throws {
        guard let fd = try openProtectedPath(path, in: root, kind: "readonlyPaths") else { return }
        defer { close(fd) }
        try syscalls.mount(
            source: RootedPath.procPath(fd), target: RootedPath.procPath(fd), type: nil,
            flags: MountFlags.bind | MountFlags.rec, data: nil)
        try remount(at: path, in: root, flags: MountFlags.rdonly | MountFlags.nosuid | MountFlags.nodev | MountFlags.noexec)
    }

    /// An empty read-only tmpfs over a directory, /dev/null over anything else, mounted onto the
    /// descriptor of the path.
    private func mask(_ path: String, in root: RootedPath) throws {
        guard let fd = try openProtectedPath(path, in: root, kind: "maskedPaths") else { return }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("stat \(path) in rootfs") }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            try syscalls.mount(source: "tmpfs", target: RootedPath.procPath(fd), type: "tmpfs", flags: MountFlags.rdonly, data: nil)
        } else {
            try syscalls.mount(source: "/dev/null", target: RootedPath.procPath(fd), type: nil, flags: MountFlags.bind, data: nil)
        }
    }
}

extension String {
    var trimmedSlashes: String { split(separator: "/").joined(separator: "/") }
    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport
import OCISpec

/// `skiff cp`: files between a container and the host, with docker's naming rules. Paths in the
/// container are resolved inside its root (symlinks cannot lead out); the copy itself never
/// follows a symlink (`TreeCopy`). Works on running containers (through their mount namespace,
/// so volumes and tmpfs mounts are seen) and on stopped ones (the rootfs and volume directories).
extension Engine {
    public struct CopyOptions: Sendable {
        /// -a: keep uid/gid (otherwise root inside the container, the caller on the host).
        public var archive = false
        /// -L: follow a symlink given as the source.
        public var followLink = false
        public init() {}
    }

    /// The root a container path lives under, and the path relative to it.
    func containerRoot(for record: EngineContainer, path: String) throws -> (ContainerRoot, String) {
        let live = liveStatus(record)
        if live.isRunning, let pid = record.pid, Self.isAlive(pid: pid, startTime: nil) {
            return (try ContainerRoot(path: "/proc/\(pid)/root", description: "container \(record.name)"), path)
        }
        // Stopped: a path under a volume or bind mount is in that mount's host directory.
        if let (source, destination, inner) = volumeRoot(for: record, path: path) {
            return (try ContainerRoot(path: source, description: "volume \(destination) of container \(record.name)"), inner)
        }
        return (try ContainerRoot(path: store.directory(for: record.id) + "/merged", description: "container \(record.name)"), path)
    }

    /// The host directory of the volume or directory bind `path` is under (the innermost), its
    /// destination, and the path inside it; nil when the path is in the root filesystem.
    func volumeRoot(for record: EngineContainer, path: String) -> (source: String, destination: String, inner: String)? {
        let clean = "/" + ContainerRoot.components(path).joined(separator: "/")
        let spec = try? RuntimeJSON.decode(Spec.self, from: FileIO.read(store.directory(for: record.id) + "/config.json"))
        let binds = (spec?.mounts ?? []).filter {
            $0.type == "bind" && $0.source != nil && !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains($0.destination)
        }
        guard
            let mount = binds.filter({ clean == $0.destination || clean.hasPrefix($0.destination + "/") })
                .max(by: { $0.destination.count < $1.destination.count }), let source = mount.source, FileIO.isDirectory(source)
        else { return nil }
        return (source, mount.destination, String(clean.dropFirst(mount.destination.count)))
    }

    /// Copies `path` from the container to `destination` on the host.
    public func copyOut(_ reference: String, path: String, to destination: String, options: CopyOptions = CopyOptions()) throws {
        let record = try store.resolve(reference)
        if record.vm != nil && !stoppedMicroVMPathInVolume(record, path: path) {
            return try copyOutOfMicroVM(record, path: path, to: destination, options: options)
        }
        let (root, inner) = try containerRoot(for: record, path: path)
        let sourcePath = options.followLink ? try root.followingLinks(inner) : inner
        guard let source = try root.parentAndName(sourcePath) else {
            throw EngineError.invalidOption("no such file or directory in container \(record.name): \(path)")
        }
        let sourceDir = source.directory.raw, sourceName = source.name
        guard let st = TreeCopy.lstatAt(sourceDir, sourceName) else {
            throw EngineError.invalidOption("no such file or directory in container \(record.name): \(path)")
        }
        let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        if path.hasSuffix("/") && !isDirectory {
            throw EngineError.invalidOption("\(path) in container \(record.name) is not a directory")
        }
        let copier = TreeCopy(preserveOwnership: options.archive, owner: (getuid(), getgid()), hostSafe: !options.archive)
        try Self.place(
            copier: copier, sourceDir: sourceDir, sourceName: sourceName, sourceIsDirectory: isDirectory,
            contentsOnly: path.hasSuffix("/.") || sourceName == ".", hostDestination: destination,
            baseName: ContainerRoot.components(path).last ?? "root")
    }

    /// docker's rules on the host side: into an existing directory under the source's name,
    /// otherwise as the destination path itself (whose parent must exist).
    static func place(
        copier: TreeCopy, sourceDir: Int32, sourceName: String, sourceIsDirectory: Bool, contentsOnly: Bool,
        hostDestination: String, baseName: String
    ) throws {
        var st = stat()
        if stat(hostDestination, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            let target = try OwnedFD("open \(hostDestination)") { open(hostDestination, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            if contentsOnly && sourceIsDirectory {
                try copyContents(copier: copier, sourceDir: sourceDir, sourceName: sourceName, into: target.raw)
            } else {
                try copier.copy(from: sourceDir, sourceName, to: target.raw, baseName)
            }
            return
        }
        if hostDestination.hasSuffix("/") {
            throw EngineError.invalidOption("destination directory \(hostDestination) does not exist: create it first")
        }
        let parts = hostDestination.split(separator: "/", omittingEmptySubsequences: false)
        let parent = parts.count > 1 ? parts.dropLast().joined(separator: "/") : "."
        let name = String(parts.last ?? "")
        guard let target = try? OwnedFD("open \(parent)", { open(parent.isEmpty ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
        else {
            throw EngineError.invalidOption("destination directory \(parent) does not exist: create it first")
        }
        try copier.copy(from: sourceDir, sourceName, to: target.raw, name)
    }

    static func copyContents(copier: TreeCopy, sourceDir: Int32, sourceName: String, into target: Int32) throws {
        let source = try TreeCopy.openChild(sourceDir, sourceName, flags: O_RDONLY | O_DIRECTORY)
        for name in try TreeCopy.names(in: source.raw) { try copier.copy(from: source.raw, name, to: target, name) }
    }

    /// Copies `source` on the host into the container at `path`.
    public func copyIn(_ reference: String, from source: String, path: String, options: CopyOptions = CopyOptions()) throws {
        let record = try store.resolve(reference)
        var sourcePath = source
        if options.followLink, let resolved = realpath(source, nil) {
            sourcePath = String(cString: resolved)
            free(resolved)
        }
        var st = stat()
        guard lstat(sourcePath, &st) == 0 else { throw EngineError.invalidOption("no such file or directory on the host: \(source)") }
        let sourceIsDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        let parts = sourcePath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let contentsOnly = source.hasSuffix("/.")
        let hostParent =
            sourcePath.hasPrefix("/")
            ? "/" + parts.dropLast().joined(separator: "/") : (parts.count > 1 ? parts.dropLast().joined(separator: "/") : ".")
        let hostName = contentsOnly ? "." : (parts.last ?? ".")
        let sourceFD = try OwnedFD("open \(hostParent)") {
            open(contentsOnly ? sourcePath : hostParent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        let sourceDir = sourceFD.raw
        let copier = TreeCopy(preserveOwnership: options.archive, owner: (0, 0))
        try refuseReadOnlyRootfs(record, path: path)
        if record.vm != nil && !stoppedMicroVMPathInVolume(record, path: path) {
            // The guest names it as below: into an existing directory, else as `path` itself.
            return try copyIntoMicroVM(
                record, sourceDirectory: sourceDir, sourceName: hostName, archiveName: contentsOnly ? "." : (parts.last ?? "root"),
                path: path, options: options)
        }
        let (root, inner) = try containerRoot(for: record, path: path)

        if let target = try root.open(inner, flags: O_RDONLY | O_DIRECTORY) {
            if contentsOnly {
                for name in try TreeCopy.names(in: sourceDir) { try copier.copy(from: sourceDir, name, to: target.raw, name) }
            } else {
                try copier.copy(from: sourceDir, hostName, to: target.raw, parts.last ?? "root")
            }
            return
        }
        if path.hasSuffix("/") {
            throw EngineError.invalidOption("destination directory \(path) does not exist in container \(record.name): create it first")
        }
        guard let parent = try root.parentAndName(inner), parent.name != "." else {
            throw EngineError.invalidOption("the parent directory of \(path) does not exist in container \(record.name): create it first")
        }
        let targetDir = parent.directory.raw, targetName = parent.name
        if contentsOnly && sourceIsDirectory {
            // `dir/.` to a new path: the path becomes a directory holding dir's contents.
            if mkdirat(targetDir, targetName, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(path)") }
            let target = try TreeCopy.openChild(targetDir, targetName, flags: O_RDONLY | O_DIRECTORY)
            for name in try TreeCopy.names(in: sourceDir) { try copier.copy(from: sourceDir, name, to: target.raw, name) }
            return
        }
        try copier.copy(from: sourceDir, hostName, to: targetDir, targetName)
    }
}

extension Engine {
    /// `cp CONTAINER:PATH -`: writes `path` as a tar stream to `fd`, named by its last component.
    public func copyOutTar(_ reference: String, path: String, to fd: Int32, options: CopyOptions = CopyOptions()) throws {
        let record = try store.resolve(reference)
        if record.vm != nil && !stoppedMicroVMPathInVolume(record, path: path) {
            return try copyOutTarOfMicroVM(record, path: path, to: fd, options: options)
        }
        let (root, inner) = try containerRoot(for: record, path: path)
        let sourcePath = options.followLink ? try root.followingLinks(inner) : inner
        guard let source = try root.parentAndName(sourcePath), TreeCopy.lstatAt(source.directory.raw, source.name) != nil else {
            throw EngineError.invalidOption("no such file or directory in container \(record.name): \(path)")
        }
        try TarStream.write(
            from: source.directory.raw, source.name, as: ContainerRoot.components(path).last ?? ".", to: fd, hostSafe: false)
    }

    /// `cp - CONTAINER:DIR`: extracts the tar stream on `fd` into the existing directory `path`.
    public func copyInTar(_ reference: String, from fd: Int32, path: String, options: CopyOptions = CopyOptions()) throws {
        let record = try store.resolve(reference)
        try refuseReadOnlyRootfs(record, path: path)
        if record.vm != nil && !stoppedMicroVMPathInVolume(record, path: path) {
            return try copyInTarToMicroVM(record, from: fd, path: path, options: options)
        }
        let (root, inner) = try containerRoot(for: record, path: path)
        guard let target = try root.open(inner, flags: O_RDONLY | O_DIRECTORY) else {
            throw EngineError.invalidOption(
                "destination directory \(path) does not exist in container \(record.name): a tar stream is extracted into an existing directory"
            )
        }
        try TarStream.extract(from: fd, into: target.raw, archive: options.archive)
    }
}

extension Engine {
    /// docker refuses to copy into a `--read-only` container's root filesystem (a writable
    /// volume, bind or tmpfs below it is fine). Checked by path, before anything is written.
    func refuseReadOnlyRootfs(_ record: EngineContainer, path: String) throws {
        guard let spec = try? RuntimeJSON.decode(Spec.self, from: FileIO.read(store.directory(for: record.id) + "/config.json")),
            spec.root?.readonly == true
        else { return }
        let clean = "/" + ContainerRoot.components(path).joined(separator: "/")
        let writable = (spec.mounts ?? []).filter { ($0.type == "bind" || $0.type == "tmpfs") && !($0.options ?? []).contains("ro") }
            .filter { ["/dev", "/dev/shm", "/dev/pts", "/dev/mqueue"].contains($0.destination) == false }
        if writable.contains(where: { clean == $0.destination || clean.hasPrefix($0.destination + "/") }) { return }
        throw EngineError.invalidOption(
            "container \(record.name) has a read-only root filesystem (--read-only): copy into one of its writable volumes instead")
    }
}

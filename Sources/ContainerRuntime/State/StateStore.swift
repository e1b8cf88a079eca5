#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// The runtime's state directory (`--root`, default /run/skiff-runtime): one directory per
/// container holding state.json and, until `start`, the exec fifo.
public struct StateStore: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func directory(for id: String) -> String { root + "/" + id }
    public func fifoPath(for id: String) -> String { directory(for: id) + "/exec.fifo" }
    /// The fifo's name until init is ready; renamed to `fifoPath` then (cheaper than rewriting state).
    func creatingFifoPath(for id: String) -> String { directory(for: id) + "/exec.fifo.creating" }
    func statePath(for id: String) -> String { directory(for: id) + "/state.json" }

    /// Container ids become directory names: keep them to a safe alphabet.
    public static func validate(id: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")
        guard !id.isEmpty, id.count <= 1024, !id.hasPrefix("."), id.allSatisfy({ allowed.contains($0) }) else {
            throw RuntimeError.invalidID(id)
        }
    }

    /// Makes the container's directory; fails if the id is taken. The caller removes it on failure.
    public func reserve(id: String) throws {
        try StateStore.validate(id: id)
        try FileIO.makeDirectories(root, mode: 0o700)
        if mkdir(directory(for: id), 0o700) != 0 {
            if errno == EEXIST { throw RuntimeError.containerExists(id) }
            throw RuntimeError.system(SystemError("mkdir \(directory(for: id))"))
        }
    }

    public func save(_ record: ContainerRecord) throws {
        // Runtime state lives under /run and is worthless after a reboot: no sync (create's hot path).
        try FileIO.writeAtomically(statePath(for: record.id), try RuntimeJSON.encode(record), mode: 0o600, durable: false)
    }

    public func load(id: String) throws -> ContainerRecord {
        try StateStore.validate(id: id)
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(statePath(for: id))
        } catch let error as SystemError where error.errno == ENOENT {
            throw RuntimeError.containerNotFound(id)
        }
        do {
            return try RuntimeJSON.decode(ContainerRecord.self, from: bytes)
        } catch {
            throw RuntimeError.invalidConfig(
                "state of container '\(id)' in \(statePath(for: id)) is unreadable (\(error)): remove it with 'delete --force'")
        }
    }

    public func remove(id: String) {
        FileIO.removeTree(directory(for: id))
    }

    /// Ids of every container with a directory here (not the runtime's own dot-directories).
    public func ids() -> [String] {
        ((try? FileIO.listDirectory(root)) ?? []).filter { !$0.hasPrefix(".") && FileIO.isDirectory(directory(for: $0)) }.sorted()
    }

    /// The directory under the root for compiled seccomp programs (ids cannot start with a dot).
    static let seccompCacheName = ".seccomp-cache"

    /// Where the root of a container without a mount namespace of its own is bound, in the
    /// runtime's mount namespace. Outside the container's directory on purpose: that one is
    /// removed as a tree, which must never walk into a mounted rootfs.
    func rootfsMountPoint(for id: String) -> String { root + "/.rootfs/" + id }

    func makeRootfsMountPoint(id: String) throws {
        try FileIO.makeDirectories(root + "/.rootfs", mode: 0o700)
        let path = rootfsMountPoint(for: id)
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw RuntimeError.system(SystemError("mkdir \(path)"))
        }
    }

    /// Detaches the container's root bind (with everything mounted below it) and removes the
    /// empty mount point; nothing when there is none. Only rmdir: if the mount were still there
    /// it fails (EBUSY) rather than touch the rootfs, and the caller keeps the record to retry.
    func releaseRootfsMountPoint(id: String) throws {
        let path = rootfsMountPoint(for: id)
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        for _ in 0..<8 {
            do { try Mounts.unmount(path, flags: UnmountFlags.detach) } catch { break }
        }
        guard rmdir(path) == 0 || errno == ENOENT else {
            throw RuntimeError.system(SystemError("remove the container's root mount point \(path)"))
        }
    }
}

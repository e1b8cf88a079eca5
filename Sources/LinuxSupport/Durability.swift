#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Making what was written survive a power loss: the data of a file before it gets its final
/// name, the directory after the rename (containerd's content store does the same). The one home
/// for fsync and syncfs in the project.
public enum Durability {
    /// fsync of an open file.
    public static func sync(fd: Int32, what: String) throws {
        while fsync(fd) != 0 {
            if errno != EINTR { throw SystemError("fsync \(what)") }
        }
    }

    /// fsync of the file at `path`.
    public static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path) to sync it") }
        defer { close(fd) }
        try sync(fd: fd, what: path)
    }

    /// fsync of a directory: makes the names created, renamed or removed in it durable.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path) to sync it") }
        defer { close(fd) }
        try sync(fd: fd, what: path)
    }

    /// syncfs of the filesystem holding `path`: one call for a whole unpacked tree instead of an
    /// fsync per file (a layer can hold tens of thousands).
    public static func syncFilesystem(of path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path) to sync its filesystem") }
        defer { close(fd) }
        guard skiff_syncfs(fd) == 0 else { throw SystemError("syncfs \(path)") }
    }
}

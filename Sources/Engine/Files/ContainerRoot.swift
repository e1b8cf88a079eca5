#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// A directory descriptor standing for "/" of a container, and path resolution inside it with
/// openat2(RESOLVE_IN_ROOT): "..", absolute symlinks and relative ones all stay inside, as if
/// the process were chrooted there. For a running container this is /proc/<pid>/root (its mount
/// namespace: volumes and tmpfs included); for a stopped one the rootfs or a volume's directory.
final class ContainerRoot {
    let fd: Int32
    let description: String

    static let resolveInRoot: UInt64 = 0x10
    static let resolveNoMagicLinks: UInt64 = 0x02
    static let oPath: Int32 = 0o10000000

    init(path: String, description: String) throws {
        fd = skiff_open(path, Self.oPath | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw SystemError("open the root of \(description) (\(path))") }
        self.description = description
    }

    deinit { close(fd) }

    /// The path's components without empty ones and ".".
    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    /// Opens `path` (resolved inside the root) with `flags`; nil when it does not exist.
    func open(_ path: String, flags: Int32) throws -> Int32? {
        let relative = Self.components(path).joined(separator: "/")
        if relative.isEmpty { return try sysCall("dup") { dup(fd) } }
        let result = skiff_openat2(fd, relative, UInt64(flags | O_CLOEXEC), 0, Self.resolveInRoot | Self.resolveNoMagicLinks)
        if result < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw SystemError("open \(path) in \(description)")
        }
        return result
    }

    /// The parent directory (opened, symlinks resolved inside the root) and the last name of
    /// `path`; for "/" the root itself and ".".
    func parentAndName(_ path: String) throws -> (directory: Int32, name: String)? {
        var parts = Self.components(path)
        // ".." as the last component means its parent directory: resolve it fully.
        guard let last = parts.last, last != ".." else {
            guard let directory = try open(path, flags: O_RDONLY | O_DIRECTORY) else { return nil }
            return (directory, ".")
        }
        parts.removeLast()
        guard let directory = try open("/" + parts.joined(separator: "/"), flags: O_RDONLY | O_DIRECTORY) else { return nil }
        return (directory, last)
    }

    /// Resolves a final symlink (for `cp -L`) inside the root: the path of what it points to.
    func followingLinks(_ path: String) throws -> String {
        var current = "/" + Self.components(path).joined(separator: "/")
        for _ in 0..<40 {
            guard let (directory, name) = try parentAndName(current) else { return current }
            defer { close(directory) }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(directory, name, &buffer, buffer.count - 1)
            if n < 0 { return current }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var parent = Self.components(current)
            parent.removeLast()
            current = link.hasPrefix("/") ? link : "/" + (parent + [link]).joined(separator: "/")
        }
        throw EngineError.invalidOption("too many levels of symbolic links at \(path) in \(description)")
    }
}

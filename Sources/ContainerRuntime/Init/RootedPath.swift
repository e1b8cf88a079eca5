#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// Paths resolved inside a container's root filesystem as if it were "/": symlinks and ".." can
/// never lead outside it (openat2 with RESOLVE_IN_ROOT). Mount targets, device nodes and masked
/// paths all go through this, so a hostile image cannot redirect a mount onto the host.
struct RootedPath {
    let rootFD: Int32
    let rootPath: String

    static let resolveInRoot: UInt64 = 0x10
    static let resolveNoMagicLinks: UInt64 = 0x02
    static let oPath: Int32 = 0o10000000

    init(root: String) throws {
        rootPath = root
        rootFD = try sysCall("open rootfs \(root)") { skiff_open(root, Self.oPath | O_DIRECTORY | O_CLOEXEC, 0) }
    }

    func close() { Glibc.close(rootFD) }

    /// Opens an existing path inside the root with O_PATH (or `flags`), following symlinks within it.
    func open(_ path: String, flags: Int32 = RootedPath.oPath) throws -> Int32 {
        let relative = Self.relative(path)
        if relative.isEmpty { return try sysCall("dup rootfs") { dup(rootFD) } }
        return try sysCall("open \(path) in rootfs") {
            skiff_openat2(rootFD, relative, UInt64(flags | O_CLOEXEC), 0, Self.resolveInRoot | Self.resolveNoMagicLinks)
        }
    }

    /// Creates a directory and its parents inside the root; returns an O_PATH descriptor to it.
    func makeDirectories(_ path: String, mode: mode_t = 0o755) throws -> Int32 {
        var fd = try sysCall("dup rootfs") { dup(rootFD) }
        var prefix = ""
        for component in path.split(separator: "/") where component != "." && !component.isEmpty {
            prefix += "/" + component
            if let next = try? open(prefix, flags: Self.oPath | O_DIRECTORY) {
                Glibc.close(fd)
                fd = next
                continue
            }
            if component == ".." { continue }
            if mkdirat(fd, String(component), mode) != 0 && errno != EEXIST {
                let code = errno
                Glibc.close(fd)
                throw SystemError("mkdir \(prefix) in rootfs", errno: code)
            }
            let next: Int32
            do {
                next = try open(prefix, flags: Self.oPath | O_DIRECTORY)
            } catch {
                Glibc.close(fd)
                throw error
            }
            Glibc.close(fd)
            fd = next
        }
        return fd
    }

    /// Creates an empty file (for bind-mounting a file, or a masked path) unless something exists.
    func makeFile(_ path: String, mode: mode_t = 0o644) throws -> Int32 {
        if let fd = try? open(path) { return fd }
        let (parent, name) = Self.split(path)
        let dir = try makeDirectories(parent)
        defer { Glibc.close(dir) }
        let created = skiff_openat(dir, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, UInt32(mode))
        if created >= 0 { Glibc.close(created) } else if errno != EEXIST {
            throw SystemError("create \(path) in rootfs")
        }
        return try open(path)
    }

    /// The /proc/self/fd path through which mount(2) reaches an O_PATH descriptor.
    static func procPath(_ fd: Int32) -> String { "/proc/self/fd/\(fd)" }

    static func relative(_ path: String) -> String {
        path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    static func split(_ path: String) -> (String, String) {
        var parts = path.split(separator: "/").map(String.init)
        let name = parts.popLast() ?? ""
        return ("/" + parts.joined(separator: "/"), name)
    }
}

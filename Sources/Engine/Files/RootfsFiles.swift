#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// Reads small files (/etc/passwd, /etc/group) from a container's root filesystem on the host,
/// resolving the path with openat2(RESOLVE_IN_ROOT) so an image's symlinks cannot point the
/// engine at the host's files.
enum RootfsFiles {
    private static let resolveInRoot: UInt64 = 0x10
    private static let resolveNoMagicLinks: UInt64 = 0x02

    /// The file's text, or nil when it does not exist in the image (or is not a regular file).
    static func read(rootfs: String, path: String, limit: Int = 4 << 20) throws -> String? {
        let rootFD = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw SystemError("open rootfs \(rootfs)") }
        defer { close(rootFD) }
        let fd = skiff_openat2(rootFD, path, UInt64(O_RDONLY | O_CLOEXEC | O_NOFOLLOW), 0, resolveInRoot | resolveNoMagicLinks)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ELOOP || errno == ENOTDIR { return nil }
            throw SystemError("open \(path) in the image")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= limit else { return nil }
        let bytes = try FileIO.readAll(fd: fd, what: path)
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// The runtime's own binary, opened so that it can be re-executed inside a container without the
/// container ever holding a writable reference to the host file (CVE-2019-5736: a process in the
/// container opens /proc/PID/exe of a runtime process, waits until the binary is no longer
/// running, then reopens it for writing through /proc/self/fd and replaces the host's runtime).
///
/// The init stage and every exec'd process start as this binary inside the container's pid
/// namespace, and a `#!/proc/self/exe` script (or an exec of /proc/self/exe) run as the user's
/// program executes it once more there, dumpable. So the file those processes execute is never
/// the host's file itself, but one of, as runc 1.2 does:
/// 1. `overlay`: the same file seen through a detached overlayfs mount whose lower layers are the
///    binary's directory and a spare directory (overlayfs needs two without an upper layer; the
///    binary is found in the first) and which has no upper layer. Its superblock is read-only,
///    so an open for writing fails with EROFS whatever the mount flags; the mount is in no mount
///    namespace and disappears when the last process that executes from it is gone. It costs a
///    mount (tens of microseconds), not a copy.
/// 2. `memfd`: a sealed memfd copy (F_SEAL_WRITE, SHRINK, GROW, SEAL), where the overlay cannot be
///    made (no CAP_SYS_ADMIN, a kernel without the new mount API or overlayfs, a directory whose
///    name overlayfs cannot take). Writes fail with EPERM. It costs a copy of the binary.
public struct ProtectedExecutable: ~Copyable {
    public enum Kind: String, Sendable {
        case overlay
        case memfd
    }

    /// Open descriptor to execute with execveat(AT_EMPTY_PATH); close-on-exec.
    public let fd: Int32
    public let kind: Kind

    private init(fd: Int32, kind: Kind) {
        self.fd = fd
        self.kind = kind
    }

    deinit { close(fd) }

    /// Opens `path` (default: this process's own binary) the protected way. `spareLayer` is an
    /// existing directory neither inside nor above the binary's directory (the runtime's state
    /// root); nil or `allowOverlay: false` forces the memfd copy (tests cover both).
    public static func open(_ path: String = "/proc/self/exe", spareLayer: String?, allowOverlay: Bool = true) throws(RuntimeError)
        -> ProtectedExecutable
    {
        let source = skiff_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard source >= 0 else { throw RuntimeError.system(SystemError("open \(path)")) }
        defer { close(source) }
        var sourceStat = stat()
        guard fstat(source, &sourceStat) == 0 else { throw RuntimeError.system(SystemError("stat \(path)")) }
        if allowOverlay, let spareLayer, let fd = overlayView(of: source, stat: sourceStat, spareLayer: spareLayer) {
            RuntimeTrace.mark("protected executable: overlay")
            return ProtectedExecutable(fd: fd, kind: .overlay)
        }
        let fd = try sealedCopy(of: source, size: Int(sourceStat.st_size), name: path)
        RuntimeTrace.mark("protected executable: memfd")
        return ProtectedExecutable(fd: fd, kind: .memfd)
    }

    /// The binary through a read-only overlay of its directory, or nil when that cannot be had
    /// (the caller falls back to a copy). The file found there must be the one `source` is: a
    /// binary replaced since this process started (an upgrade) must not be executed instead.
    private static func overlayView(of source: Int32, stat sourceStat: stat, spareLayer: String) -> Int32? {
        guard let resolved = try? FileIO.readLink("/proc/self/fd/\(source)"), resolved.hasPrefix("/"),
            !resolved.hasSuffix(" (deleted)"), let slash = resolved.lastIndex(of: "/")
        else { return nil }
        let directory = slash == resolved.startIndex ? "/" : String(resolved[..<slash])
        let name = String(resolved[resolved.index(after: slash)...])
        // overlayfs refuses layers that overlap (one inside the other).
        let spare = spareLayer.hasSuffix("/") && spareLayer.count > 1 ? String(spareLayer.dropLast()) : spareLayer
        guard !name.isEmpty, spare.hasPrefix("/"), spare != directory, !spare.hasPrefix(directory == "/" ? "/" : directory + "/"),
            !directory.hasPrefix(spare == "/" ? "/" : spare + "/")
        else { return nil }
        var step: Int32 = 0
        let mount = skiff_readonly_overlay(overlayLayer(directory) + ":" + overlayLayer(spare), &step)
        guard mount >= 0 else {
            RuntimeTrace.mark("protected executable: overlay step \(step) failed: errno \(errno)")
            return nil
        }
        defer { close(mount) }
        let fd = skiff_openat(mount, name, skiff_o_path() | O_CLOEXEC | O_NOFOLLOW, 0)
        guard fd >= 0 else { return nil }
        var seen = stat()
        guard fstat(fd, &seen) == 0, (seen.st_mode & S_IFMT) == S_IFREG, seen.st_ino == sourceStat.st_ino,
            seen.st_size == sourceStat.st_size, seen.st_mtim.tv_sec == sourceStat.st_mtim.tv_sec,
            seen.st_mtim.tv_nsec == sourceStat.st_mtim.tv_nsec
        else {
            close(fd)
            return nil
        }
        return fd
    }

    /// A path as one lowerdir entry: overlayfs splits the option on ':' and ',' unless escaped
    /// with a backslash.
    static func overlayLayer(_ path: String) -> String {
        var escaped = ""
        for character in path {
            if character == "\\" || character == ":" || character == "," { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// A sealed memfd holding a copy of `source`.
    private static func sealedCopy(of source: Int32, size: Int, name: String) throws(RuntimeError) -> Int32 {
        let memfd = skiff_memfd_create_sealable("skiff-runtime")
        guard memfd >= 0 else { throw RuntimeError.system(SystemError("memfd_create for a sealed copy of \(name)")) }
        var copied = 0
        var offset = off_t(0)
        while copied < size {
            let n = sendfile(memfd, source, &offset, size - copied)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error =
                    n < 0 ? SystemError("copy \(name) into a sealed memfd") : SystemError("copy \(name) into a sealed memfd", errno: EIO)
                close(memfd)
                throw RuntimeError.system(error)
            }
            copied += n
        }
        guard skiff_seal_memfd(memfd) == 0 else {
            let error = SystemError("seal the memfd copy of \(name)")
            close(memfd)
            throw RuntimeError.system(error)
        }
        return memfd
    }
}

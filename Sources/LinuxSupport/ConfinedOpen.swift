#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Opening a path so that it cannot lead outside a directory: openat2(2) with RESOLVE_* flags,
/// as crun's safe_openat. The one place the project calls openat2, and the one definition of
/// O_PATH (Glibc hides it from Swift) and of the RESOLVE_* bits.
///
/// - `inRoot`: the directory is "/" for the path: "..", absolute symlinks and relative ones all
///   stay inside (a container's rootfs, read or mounted onto).
/// - `beneath`: anything that would leave the directory fails with EXDEV (a tree being copied
///   or unpacked, where a way out means a hostile entry, not a path to resolve).
/// - `noSymlinks`, `noMagicLinks`, `noXdev`: refuse any symlink, /proc's magic links, or a mount
///   crossing on the way.
///
/// Without openat2 (Linux before 5.6, or a seccomp filter refusing it) there is no fallback: a
/// hand-walked open would race a rename or a swapped symlink, which is what this exists to
/// prevent, so the open fails with ENOSYS and a message that says what is missing. openat2 may
/// answer EAGAIN when a rename raced a ".." check; that (and EINTR) is retried a bounded number
/// of times.
public enum ConfinedOpen {
    /// O_PATH (010000000 on every Linux architecture): a descriptor naming a place, for *at
    /// calls, fstat and mounts through /proc/self/fd, without opening the file itself.
    public static let oPath: Int32 = skiff_o_path()

    /// openat2's `resolve` bits (linux/openat2.h).
    public struct Resolve: OptionSet, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }

        public static let noXdev = Resolve(rawValue: 0x01)
        public static let noMagicLinks = Resolve(rawValue: 0x02)
        public static let noSymlinks = Resolve(rawValue: 0x04)
        public static let beneath = Resolve(rawValue: 0x08)
        public static let inRoot = Resolve(rawValue: 0x10)
    }

    /// How many EAGAIN answers (a rename racing the lookup) are retried before giving up.
    static let raceRetries = 64

    /// Opens `path` relative to `directory` under `resolve`; O_CLOEXEC is always added, and an
    /// empty path means the directory itself. An absolute path is the kernel's to judge: under
    /// `inRoot` it starts at the directory, under `beneath` it is refused (EXDEV). `what` names
    /// the path in errors ("open etc/passwd in the image").
    public static func open(
        _ path: String, in directory: Int32, flags: Int32, mode: mode_t = 0, resolve: Resolve,
        what: @autoclosure () -> String
    ) throws(SystemError) -> OwnedFD {
        let name = path.isEmpty ? "." : path
        var races = 0
        while true {
            let fd = skiff_openat2(directory, name, UInt64(flags | O_CLOEXEC), UInt64(mode), resolve.rawValue)
            if fd >= 0 { return OwnedFD(fd) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN && races < raceRetries {
                races += 1
                continue
            }
            if code == ENOSYS {
                throw SystemError(
                    "\(what()): openat2 is not available (Linux 5.6 or later is needed, and a seccomp filter must allow it)", errno: code)
            }
            throw SystemError(what(), errno: code)
        }
    }

    /// The path `path` names inside the root `root` once the symlinks at its end are followed,
    /// each resolved inside the root (up to 40, then ELOOP): `cp -L`, which copies a link's
    /// target under the link's name. A path that is not there, or not a link, is returned as it is.
    public static func followingLinks(_ path: String, in root: Int32) throws(SystemError) -> String {
        var current = "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        for _ in 0..<40 {
            var parent = current.split(separator: "/").map(String.init)
            guard let name = parent.popLast(), name != ".." else { return current }
            let directory: OwnedFD
            do {
                directory = try open(
                    "/" + parent.joined(separator: "/"), in: root, flags: oPath | O_DIRECTORY, resolve: [.inRoot, .noMagicLinks],
                    what: "open the directory of \(current)")
            } catch {
                if isMissing(error) { return current }
                throw error
            }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(directory.raw, name, &buffer, buffer.count - 1)
            if n < 0 { return current }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : "/" + (parent + [link]).joined(separator: "/")
        }
        throw SystemError("follow the symlinks at \(path)", errno: ELOOP)
    }

    /// Whether an error of `open` means the path (or a directory on the way) is not there.
    public static func isMissing(_ error: SystemError) -> Bool {
        error.errno == ENOENT || error.errno == ENOTDIR
    }
}

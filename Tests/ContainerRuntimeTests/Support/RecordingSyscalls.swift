#if canImport(Glibc)
import Glibc
#endif
@testable import ContainerRuntime
import LinuxSupport

/// The init stage's system calls written down instead of made (youki's TestHelperSyscall): the
/// plan tests read what RootfsSetup and ProcessSetup decided. Paths are walked for real by
/// RootedPath in a temporary rootfs, so descriptors in the calls (/proc/self/fd/N, dirfds) are
/// shown as the file they name, with the rootfs written `$rootfs`.
final class RecordingSyscalls: InitSyscalls {
    let rootfs: String
    private(set) var calls: [String] = []
    /// Makes the call with this prefix fail with this errno (once recorded).
    var failures: [String: Int32] = [:]

    init(rootfs: String) { self.rootfs = rootfs }

    /// Only the mount(2) and umount2(2) calls, and the root changes around them.
    var mountPlan: [String] {
        calls.filter { $0.hasPrefix("mount ") || $0.hasPrefix("umount ") || $0.hasPrefix("pivot_root") || $0.hasPrefix("chroot") }
    }

    private func record(_ call: String) throws {
        calls.append(call)
        if let (_, code) = failures.first(where: { call.hasPrefix($0.key) }) {
            throw SystemError(call, errno: code)
        }
    }

    /// A path as the test reads it: descriptors resolved to their file, the rootfs as `$rootfs`.
    func show(_ path: String) -> String {
        var resolved = path
        if path.hasPrefix("/proc/self/fd/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &buffer, buffer.count - 1)
            if n > 0 { resolved = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        if resolved == rootfs { return "$rootfs" }
        if resolved.hasPrefix(rootfs + "/") { return "$rootfs" + resolved.dropFirst(rootfs.count) }
        return resolved
    }

    func show(_ directory: Int32, _ name: String) -> String { show("/proc/self/fd/\(directory)") + "/" + name }

    static let flagNames: [(UInt, String)] = [
        (MountFlags.rdonly, "rdonly"), (MountFlags.nosuid, "nosuid"), (MountFlags.nodev, "nodev"),
        (MountFlags.noexec, "noexec"), (MountFlags.remount, "remount"), (MountFlags.bind, "bind"),
        (MountFlags.move, "move"), (MountFlags.rec, "rec"), (MountFlags.unbindable, "unbindable"),
        (MountFlags.private, "private"), (MountFlags.slave, "slave"), (MountFlags.shared, "shared"),
        (MountFlags.relatime, "relatime"), (MountFlags.strictatime, "strictatime"),
    ]

    static func names(_ flags: UInt) -> String {
        let known = flagNames.filter { flags & $0.0 != 0 }.map(\.1)
        let rest = flags & ~flagNames.reduce(0) { $0 | $1.0 }
        return (known + (rest == 0 ? [] : ["0x" + String(rest, radix: 16)])).joined(separator: "|")
    }

    func mount(source: String?, target: String, type: String?, flags: UInt, data: String?) throws {
        var call = "mount \(source.map(show) ?? "none") on \(show(target))"
        if let type { call += " type \(type)" }
        call += " [\(Self.names(flags))]"
        if let data { call += " \(data)" }
        try record(call)
    }

    func unmount(_ target: String, flags: Int32) throws {
        try record("umount \(show(target))" + (flags == UnmountFlags.detach ? " detach" : flags == 0 ? "" : " \(flags)"))
    }

    func bindOntoItself(_ fd: Int32) throws -> Int32 {
        try record("bind onto itself \(show("/proc/self/fd/\(fd)"))")
        return dup(fd)
    }

    func mountFlags(at path: String) throws -> UInt {
        try record("statvfs \(show(path))")
        return 0
    }

    func idmappedBind(
        source: String, target: Int32, uidMap: String, gidMap: String, recursive: Bool,
        destination: String
    ) throws {
        try record("idmapped bind \(show(source)) on \(show("/proc/self/fd/\(target)"))")
    }

    func writeExisting(_ path: String, _ value: String) throws { try record("write \(path) \(value)") }

    private(set) var cwd = "/"
    private(set) var root = "/"

    func chdir(_ path: String) throws {
        try record("chdir \(show(path))")
        cwd = path.hasPrefix("/") ? path : cwd + "/" + path
    }

    func chroot(_ path: String) throws {
        try record("chroot \(show(path))")
        root = path == "." ? cwd : path
    }

    func pivotRoot(newRoot: String, putOld: String) throws {
        try record("pivot_root \(newRoot) \(putOld)")
        root = newRoot == "." ? cwd : newRoot
    }

    /// Where pivot_root or chroot would have put the root (no root moved: for the plan to read
    /// masked paths from the rootfs, setup must have entered it).
    func enteredRoot(from rootfs: String) -> String { root }

    func mknod(at directory: Int32, _ name: String, mode: mode_t, device: UInt64) throws {
        let kind =
            switch mode & S_IFMT {
            case S_IFCHR: "c"
            case S_IFBLK: "b"
            case S_IFIFO: "p"
            default: "?"
            }
        try record("mknod \(show(directory, name)) \(kind) \(skiff_major_minor(device)) \(String(mode & 0o7777, radix: 8))")
    }

    func chmod(at directory: Int32, _ name: String, mode: mode_t) throws {
        try record("chmod \(show(directory, name)) \(String(mode, radix: 8))")
    }

    func chown(at directory: Int32, _ name: String, uid: UInt32, gid: UInt32) throws {
        try record("chown \(show(directory, name)) \(uid):\(gid)")
    }

    func unlinkIfPresent(at directory: Int32, _ name: String) {}

    func symlink(_ target: String, at directory: Int32, _ name: String) throws {
        try record("symlink \(show(directory, name)) -> \(target)")
    }

    func setHostname(_ name: String) throws { try record("sethostname \(name)") }
    func setDomainname(_ name: String) throws { try record("setdomainname \(name)") }
    func loopbackUp() throws { try record("loopback up") }

    func setrlimit(_ resource: Int32, soft: UInt64, hard: UInt64) throws {
        try record("setrlimit \(resource) \(soft) \(hard)")
    }

    func setgroups(_ gids: [gid_t]) throws { try record("setgroups \(gids.map(String.init).joined(separator: ","))") }
    func setresgid(_ gid: UInt32) throws { try record("setresgid \(gid)") }
    func setresuid(_ uid: UInt32) throws { try record("setresuid \(uid)") }

    func prctl(_ option: Int32, _ arg2: UInt, _ arg3: UInt) throws {
        let name =
            switch option {
            case PrctlOption.setKeepCaps: "PR_SET_KEEPCAPS"
            case PrctlOption.capBoundingSetDrop: "PR_CAPBSET_DROP"
            case PrctlOption.setNoNewPrivileges: "PR_SET_NO_NEW_PRIVS"
            case PrctlOption.capAmbient: "PR_CAP_AMBIENT"
            default: "prctl \(option)"
            }
        try record("prctl \(name) \(arg2)" + (arg3 == 0 ? "" : " \(arg3)"))
    }

    func capset(_ words: [UInt32]) throws {
        try record("capset " + words.map { String($0, radix: 16) }.joined(separator: " "))
    }

    /// A fixed kernel, so plans do not depend on the host's.
    func lastCapability() -> Int { 40 }

    func umask(_ mask: mode_t) { calls.append("umask \(String(mask, radix: 8))") }

    private func skiff_major_minor(_ device: UInt64) -> String {
        // makedev's glibc layout, reversed.
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        return "\(major):\(minor)"
    }
}

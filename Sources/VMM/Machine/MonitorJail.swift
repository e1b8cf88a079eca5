#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// Confines the whole monitor process once everything it needs is open, the way Firecracker's
/// jailer does, so that a guest that takes over the monitor holds only its descriptors:
///
/// 1. A mount namespace of its own (unshare CLONE_NEWNS) with every mount made private
///    recursively, so nothing done in it reaches the host and nothing from the host arrives.
/// 2. A new root: an empty tmpfs (mode 0755, nosuid, nodev, noexec) holding only the directories
///    the monitor still reaches by path (`directories`, each bound at its own path, nosuid, nodev,
///    noexec), entered with pivot_root; the old root is detached (MNT_DETACH) and the new root
///    made read-only. Open descriptors (the KVM VM and vCPU fds, guest memory, disks, tap, vsock
///    sockets, the console) keep working: they do not depend on paths.
///    Started without root, the monitor first makes a user namespace mapping only its own uid and
///    gid (unprivileged user namespaces must be allowed), which gives it the capabilities for
///    these steps inside that namespace alone.
/// 3. Every capability dropped: the bounding and ambient sets, then (after the id switch)
///    effective, permitted and inheritable; no_new_privs set. Optionally the uid and gid are
///    switched first (`identity`), supplementary groups cleared.
///
/// It is process-wide and cannot be undone, so it must run while the process has one thread:
/// capabilities, the mount namespace and the root are per thread in Linux, and threads made
/// afterwards (the vCPUs) inherit the jail. `MicroVM.run()` enters it, when the configuration
/// asks, before it starts any vCPU thread and before the per-thread seccomp filters go in (the
/// filters then need none of the calls used here).
public struct MonitorJail: Sendable, Equatable {
    /// The ids the monitor switches to.
    public struct Identity: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }
    }

    /// The nobody/nogroup ids that `skiff vm run` switches to by default when started as root.
    public static let unprivilegedID: UInt32 = 65534

    /// Directories the monitor still reaches by path while the guest runs, bound into the new root
    /// at the same path (so the paths in the configuration stay valid).
    public var directories: [String]
    /// The uid and gid to switch to, or nil to keep the caller's (still without capabilities).
    public var identity: Identity?

    public init(directories: [String] = [], identity: Identity? = nil) {
        self.directories = directories
        self.identity = identity
    }

    /// What `configuration`'s devices reach by path after the start: the vsock socket's directory
    /// (a guest connection to host port P connects to SOCKET_PATH_P, and the socket is removed at
    /// exit). Everything else (kernel, initrd, disks, tap, /dev/kvm) is opened before the jail.
    public static func directories(for configuration: VMConfiguration) -> [String] {
        guard let path = configuration.vsock?.socketPath else { return [] }
        return [parentDirectory(of: path)]
    }

    /// The absolute directory that holds `path` (relative paths are taken from the working
    /// directory, which the jail keeps when it exists inside it).
    static func parentDirectory(of path: String) -> String {
        var absolute = path
        if !path.hasPrefix("/") { absolute = currentDirectory() + "/" + path }
        guard let slash = absolute.lastIndex(of: "/") else { return "/" }
        let directory = String(absolute[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // Constants Glibc does not export to Swift (sys/mount.h's enum, linux/prctl.h's macros).
    static let msRdonly: UInt = 1, msNosuid: UInt = 2, msNodev: UInt = 4, msNoexec: UInt = 8
    static let msRemount: UInt = 32, msBind: UInt = 4096, msRec: UInt = 16384, msPrivate: UInt = 1 << 18
    static let mntDetach: Int32 = 2
    static let cloneNewNS: Int32 = 0x0002_0000, cloneNewUser: Int32 = 0x1000_0000
    static let prCapbsetDrop: Int32 = 24, prSetNoNewPrivs: Int32 = 38, prCapAmbient: Int32 = 47
    static let prCapAmbientClearAll: UInt = 4

    /// Places where the new root's tmpfs can be mounted before the pivot (inside the new mount
    /// namespace, so the host's directory is not touched): the first that is a directory.
    static let stagingCandidates = ["/tmp", "/mnt", "/run", "/var/tmp", "/dev"]

    /// Enters the jail. The calling process must have exactly one thread.
    public func enter() throws(VMMError) {
        let threads = Self.threadCount()
        guard threads == 1 else {
            throw .jail(
                "the monitor has \(threads.map(String.init) ?? "an unknown number of") threads; it can only be jailed while it has one (the others would keep root's powers)"
            )
        }
        let workingDirectory = Self.currentDirectory()

        // Started without root (a user in the kvm group), the monitor makes a user namespace of
        // its own, with only its own uid and gid mapped, to hold the mount namespace: inside it,
        // it has the capabilities to mount and pivot, and then drops them the same way.
        let unprivileged = geteuid() != 0
        if unprivileged {
            guard identity == nil else { throw .jail("only a monitor started as root can switch to other ids (--jail-uid, --jail-gid)") }
            let uid = geteuid(), gid = getegid()
            try Self.check(
                "unshare(CLONE_NEWUSER | CLONE_NEWNS) for a user and mount namespace of its own (started without root, so unprivileged user namespaces must be allowed)"
            ) {
                skiff_unshare(Self.cloneNewUser | Self.cloneNewNS)
            }
            try Self.writeProcFile("/proc/self/setgroups", "deny")
            try Self.writeProcFile("/proc/self/uid_map", "\(uid) \(uid) 1\n")
            try Self.writeProcFile("/proc/self/gid_map", "\(gid) \(gid) 1\n")
        } else {
            try Self.check("unshare(CLONE_NEWNS) for a mount namespace of its own") { skiff_unshare(Self.cloneNewNS) }
        }
        try Self.check("making every mount private in the new mount namespace") { mount(nil, "/", nil, Self.msRec | Self.msPrivate, nil) }
        // Opened in the new namespace (a bind's source must be one of its own mounts) and before
        // the new root is mounted (a directory under the staging mount point is hidden by it).
        var sources: [(path: String, fd: Int32)] = []
        defer { for source in sources { close(source.fd) } }
        for directory in directories {
            let fd = open(directory, ConfinedOpen.oPath | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else {
                let e = errno
                throw .jailStep("opening \(directory), which the monitor still needs by path", errno: e)
            }
            sources.append((directory, fd))
            // Binding the host's root would give the jail the whole host again.
            var st = stat(), root = stat()
            if fstat(fd, &st) == 0 && stat("/", &root) == 0 && st.st_dev == root.st_dev && st.st_ino == root.st_ino {
                throw .jail(
                    "the monitor needs \(directory) by path, which is the host's root; put the vsock socket in a directory of its own")
            }
        }
        guard let staging = Self.stagingCandidates.first(where: Self.isDirectory) else {
            throw .jail("none of \(Self.stagingCandidates.joined(separator: ", ")) is a directory to mount the new root on")
        }
        try Self.check("mounting the new root (tmpfs) on \(staging)") {
            mount("tmpfs", staging, "tmpfs", Self.msNosuid | Self.msNodev | Self.msNoexec, "mode=0755,size=64k,nr_inodes=1024")
        }
        for source in sources {
            let target = staging + source.path
            try Self.makeDirectories(target)
            // In a user namespace the mounts below a directory are locked to it: a directory with
            // some can only be bound with them (recursively).
            if mount("/proc/self/fd/\(source.fd)", target, nil, Self.msBind, nil) != 0 {
                let e = errno
                guard unprivileged && e == EINVAL else { throw .jailStep("binding \(source.path) into the new root", errno: e) }
                try Self.check("binding \(source.path) and the mounts below it into the new root") {
                    mount("/proc/self/fd/\(source.fd)", target, nil, Self.msBind | Self.msRec, nil)
                }
            }
            // A bind remount sets the mount's flags to exactly these: keep a read-only one so.
            var fs = statvfs()
            let readOnly = statvfs(target, &fs) == 0 && fs.f_flag & UInt(ST_RDONLY) != 0 ? Self.msRdonly : 0
            try Self.check("making \(source.path) nosuid, nodev, noexec in the new root") {
                mount(nil, target, nil, Self.msRemount | Self.msBind | Self.msNosuid | Self.msNodev | Self.msNoexec | readOnly, nil)
            }
        }
        // pivot_root(".", ".") stacks the old root on the new one; detaching "." then removes it
        // (runc's way: no directory for the old root is left in the new one).
        try Self.check("chdir to the new root") { chdir(staging) }
        try Self.check("pivot_root into the new root") { skiff_pivot_root(".", ".") }
        try Self.check("detaching the old root") { umount2(".", Self.mntDetach) }
        try Self.check("chdir /") { chdir("/") }
        try Self.check("making the new root read-only") {
            mount(nil, "/", nil, Self.msRemount | Self.msBind | Self.msRdonly | Self.msNosuid | Self.msNodev | Self.msNoexec, nil)
        }
        // Relative paths in the configuration (a vsock socket given as "v.sock") resolve from the
        // working directory, which exists in the jail when it is one of the bound directories or
        // above one.
        if chdir(workingDirectory) != 0 { _ = chdir("/") }

        try dropPrivileges()
    }

    /// Capabilities (all five sets), the optional id switch and no_new_privs.
    private func dropPrivileges() throws(VMMError) {
        // The bounding set first: dropping from it needs CAP_SETPCAP, which goes with the rest.
        for capability in 0...max(skiff_last_cap(), 0) {
            if skiff_prctl(Self.prCapbsetDrop, UInt(capability), 0, 0, 0) != 0 {
                let e = errno
                if e != EINVAL { throw .jailStep("dropping capability \(capability) from the bounding set", errno: e) }
            }
        }
        if skiff_prctl(Self.prCapAmbient, Self.prCapAmbientClearAll, 0, 0, 0) != 0 {
            let e = errno
            if e != EINVAL { throw .jailStep("clearing the ambient capabilities", errno: e) }
        }
        if let identity {
            try Self.check("clearing the supplementary groups") { setgroups(0, nil) }
            try Self.check("switching to gid \(identity.gid)") { skiff_setresgid(identity.gid) }
            try Self.check("switching to uid \(identity.uid)") { skiff_setresuid(identity.uid) }
        }
        let none = [UInt32](repeating: 0, count: 6)
        try Self.check("dropping the effective, permitted and inheritable capabilities") { skiff_capset(none) }
        try Self.check("setting no_new_privs") { skiff_prctl(Self.prSetNoNewPrivs, 1, 0, 0, 0) }
        var left = [UInt32](repeating: 0xFFFF_FFFF, count: 6)
        guard skiff_capget(&left) == 0, left == none else {
            throw .jail("capabilities are still held after dropping them (\(left.map { String($0, radix: 16) }))")
        }
    }

    /// The number of threads in this process (the Threads: line of /proc/self/status).
    static func threadCount() -> Int? {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.dropFirst("Threads:".count).drop(while: { $0 == " " || $0 == "\t" }))
        }
        return nil
    }

    /// One write of `text` to a /proc file (id maps must arrive in a single write).
    static func writeProcFile(_ path: String, _ text: String) throws(VMMError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw .jailStep("opening \(path)", errno: e)
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            let e = errno
            throw .jailStep("writing '\(text.split(separator: "\n").joined())' to \(path)", errno: e)
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p inside the new root's tmpfs (nothing else is mounted there yet).
    static func makeDirectories(_ path: String) throws(VMMError) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 {
                let e = errno
                if e != EEXIST { throw .jailStep("making \(prefix) in the new root", errno: e) }
            }
        }
    }

    static func check(_ step: @autoclosure () -> String, _ call: () -> Int32) throws(VMMError) {
        guard call() == 0 else {
            let e = errno
            throw .jailStep(step(), errno: e)
        }
    }
}

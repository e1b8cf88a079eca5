#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// The system calls the init stage makes to build the container's filesystem and identity:
/// RootfsSetup (with DeviceSetup and CgroupMount) and ProcessSetup make theirs through this, so
/// what they decide (what is mounted, in which order, with which flags; the identity sequence)
/// can be checked by a unit test with a recording implementation, without root.
/// `LinuxInitSyscalls` is the kernel; the recording double lives in ContainerRuntimeTests.
///
/// Paths are walked by `RootedPath`, which is not behind this seam: a test builds its plan over a
/// real directory (opening and creating directories there needs no privilege), and descriptors
/// reach the calls below as /proc/self/fd/N paths or dirfds, as they do in the kernel's case.
/// Every call throws `SystemError` (with the errno) when the kernel refuses.
protocol InitSyscalls {
    // MARK: mounts
    func mount(source: String?, target: String, type: String?, flags: UInt, data: String?) throws
    func unmount(_ target: String, flags: Int32) throws
    /// A recursive bind of the directory open as `fd` onto itself (open_tree + move_mount):
    /// a descriptor of the new mount's root.
    func bindOntoItself(_ fd: Int32) throws -> Int32
    /// The mount flags the mount at `path` has now (statvfs's ST_* bits as MS_* flags).
    func mountFlags(at path: String) throws -> UInt
    /// An idmapped bind of `source` onto the file open as `target` through a user namespace
    /// carrying these uid_map/gid_map texts; errors name `destination`.
    func idmappedBind(
        source: String, target: Int32, uidMap: String, gidMap: String, recursive: Bool,
        destination: String) throws
    /// Writes `value` to an existing file: sysctls under /proc/sys, /proc/self/oom_score_adj.
    func writeExisting(_ path: String, _ value: String) throws

    // MARK: the root
    func chdir(_ path: String) throws
    func chroot(_ path: String) throws
    func pivotRoot(newRoot: String, putOld: String) throws
    /// Where the container's root is seen once `RootfsSetup.enter` moved into `rootfs`: "/" for
    /// the kernel; a double that moves no root answers `rootfs`.
    func enteredRoot(from rootfs: String) -> String

    // MARK: files in /dev
    func mknod(at directory: Int32, _ name: String, mode: mode_t, device: UInt64) throws
    func chmod(at directory: Int32, _ name: String, mode: mode_t) throws
    func chown(at directory: Int32, _ name: String, uid: UInt32, gid: UInt32) throws
    /// Removes a file if there is one (errors ignored: mknod reports what matters).
    func unlinkIfPresent(at directory: Int32, _ name: String)
    func symlink(_ target: String, at directory: Int32, _ name: String) throws

    // MARK: identity
    func setHostname(_ name: String) throws
    func setDomainname(_ name: String) throws
    /// Brings `lo` up in the init's network namespace (a new one starts with it down).
    func loopbackUp() throws
    func setrlimit(_ resource: Int32, soft: UInt64, hard: UInt64) throws
    func setgroups(_ gids: [gid_t]) throws
    func setresgid(_ gid: UInt32) throws
    func setresuid(_ uid: UInt32) throws
    func prctl(_ option: Int32, _ arg2: UInt, _ arg3: UInt) throws
    /// capset with effective, permitted, inheritable: low then high word each.
    func capset(_ words: [UInt32]) throws
    /// The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap).
    func lastCapability() -> Int
    func umask(_ mask: mode_t)
}

/// prctl(2) options (linux/prctl.h) the init stage uses.
enum PrctlOption {
    static let setDumpable: Int32 = 4
    static let setKeepCaps: Int32 = 8
    static let capBoundingSetDrop: Int32 = 24
    static let setNoNewPrivileges: Int32 = 38
    static let capAmbient: Int32 = 47
    /// PR_CAP_AMBIENT's second argument.
    static let ambientRaise: UInt = 2
    static let ambientClearAll: UInt = 4
}

/// The kernel: each call as LinuxSupport and CShim make it, with no state (a stateless struct in
/// an existential needs no allocation, and every message is built only on failure).
struct LinuxInitSyscalls: InitSyscalls {
    func mount(source: String?, target: String, type: String?, flags: UInt, data: String?) throws {
        try Mounts.mount(source: source, target: target, type: type, flags: flags, data: data)
    }

    func unmount(_ target: String, flags: Int32) throws {
        try Mounts.unmount(target, flags: flags)
    }

    func bindOntoItself(_ fd: Int32) throws -> Int32 {
        try sysCall("bind the rootfs onto itself") { skiff_bind_onto_itself(fd) }
    }

    func mountFlags(at path: String) throws -> UInt {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { throw SystemError("statvfs \(path)") }
        return MountFlags.locked(statvfsFlags: fs.f_flag)
    }

    func idmappedBind(
        source: String, target: Int32, uidMap: String, gidMap: String, recursive: Bool,
        destination: String
    ) throws {
        let userns = skiff_userns_fd(uidMap, gidMap)
        guard userns >= 0 else {
            throw RuntimeError.invalidConfig(
                "mount \(destination): cannot make a user namespace for its id mappings (\(String(cString: strerror(errno)))): check uidMappings and gidMappings"
            )
        }
        defer { close(userns) }
        let step = skiff_idmapped_bind(source, target, userns, recursive ? 1 : 0)
        guard step == 0 else {
            let reason = String(cString: strerror(errno))
            switch step {
            case 2:
                throw RuntimeError.invalidConfig(
                    "mount \(destination): cannot idmap \(source) (\(reason)): its filesystem (or one mounted below it, with rbind) may not support idmapped mounts"
                )
            case 3: throw RuntimeError.invalidConfig("mount \(destination): cannot attach the idmapped mount of \(source) (\(reason))")
            default: throw RuntimeError.invalidConfig("mount \(destination): cannot clone the mount of \(source) (\(reason))")
            }
        }
    }

    func writeExisting(_ path: String, _ value: String) throws {
        try FileIO.writeExisting(path, value)
    }

    func chdir(_ path: String) throws {
        try sysCall("chdir \(path)") { Glibc.chdir(path) }
    }

    func chroot(_ path: String) throws {
        try sysCall("chroot \(path)") { Glibc.chroot(path) }
    }

    func pivotRoot(newRoot: String, putOld: String) throws {
        try sysCall("pivot_root \(newRoot)") { skiff_pivot_root(newRoot, putOld) }
    }

    func enteredRoot(from rootfs: String) -> String { "/" }

    func mknod(at directory: Int32, _ name: String, mode: mode_t, device: UInt64) throws {
        try sysCall("mknod \(name)") { mknodat(directory, name, mode, dev_t(device)) }
    }

    func chmod(at directory: Int32, _ name: String, mode: mode_t) throws {
        try sysCall("chmod \(name)") { fchmodat(directory, name, mode, 0) }
    }

    func chown(at directory: Int32, _ name: String, uid: UInt32, gid: UInt32) throws {
        try sysCall("chown \(name)") { fchownat(directory, name, uid, gid, AT_SYMLINK_NOFOLLOW) }
    }

    func unlinkIfPresent(at directory: Int32, _ name: String) {
        unlinkat(directory, name, 0)
    }

    func symlink(_ target: String, at directory: Int32, _ name: String) throws {
        try sysCall("symlink \(name) -> \(target)") { symlinkat(target, directory, name) }
    }

    func setHostname(_ name: String) throws {
        try sysCall("sethostname") { skiff_sethostname(name, name.utf8.count) }
    }

    func setDomainname(_ name: String) throws {
        try sysCall("setdomainname") { skiff_setdomainname(name, name.utf8.count) }
    }

    func loopbackUp() throws {
        try sysCall("bring up the loopback interface of the new network namespace") { skiff_interface_up("lo") }
    }

    func setrlimit(_ resource: Int32, soft: UInt64, hard: UInt64) throws {
        var value = rlimit(rlim_cur: rlim_t(soft), rlim_max: rlim_t(hard))
        try sysCall("setrlimit") { Glibc.setrlimit(__rlimit_resource_t(UInt32(resource)), &value) }
    }

    func setgroups(_ gids: [gid_t]) throws {
        try sysCall("setgroups") { Glibc.setgroups(gids.count, gids) }
    }

    func setresgid(_ gid: UInt32) throws {
        try sysCall("setresgid") { skiff_setresgid(gid) }
    }

    func setresuid(_ uid: UInt32) throws {
        try sysCall("setresuid") { skiff_setresuid(uid) }
    }

    func prctl(_ option: Int32, _ arg2: UInt, _ arg3: UInt) throws {
        try sysCall("prctl \(option)") { skiff_prctl(option, arg2, arg3, 0, 0) }
    }

    func capset(_ words: [UInt32]) throws {
        try sysCall("capset") { skiff_capset(words) }
    }

    func lastCapability() -> Int { Int(skiff_last_cap()) }

    func umask(_ mask: mode_t) { _ = Glibc.umask(mask) }
}

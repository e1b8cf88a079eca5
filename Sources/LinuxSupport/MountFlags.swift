/// MS_* flags of mount(2) (linux/mount.h), named so code reads as the man page does.
public enum MountFlags {
    public static let rdonly: UInt = 1
    public static let nosuid: UInt = 2
    public static let nodev: UInt = 4
    public static let noexec: UInt = 8
    public static let synchronous: UInt = 16
    public static let remount: UInt = 32
    public static let mandlock: UInt = 64
    public static let dirsync: UInt = 128
    public static let nosymfollow: UInt = 256
    public static let noatime: UInt = 1024
    public static let nodiratime: UInt = 2048
    public static let bind: UInt = 4096
    public static let move: UInt = 8192
    public static let rec: UInt = 16384
    public static let silent: UInt = 32768
    public static let unbindable: UInt = 1 << 17
    public static let `private`: UInt = 1 << 18
    public static let slave: UInt = 1 << 19
    public static let shared: UInt = 1 << 20
    public static let relatime: UInt = 1 << 21
    public static let strictatime: UInt = 1 << 24

    /// The flags of an existing mount that a bind remount must repeat, from statvfs's `f_flag`
    /// (ST_* bits): in a user namespace the kernel refuses a remount that would clear them.
    public static func locked(statvfsFlags f: UInt) -> UInt {
        var locked: UInt = 0
        if f & StatvfsFlags.rdonly != 0 { locked |= rdonly }
        if f & StatvfsFlags.nosuid != 0 { locked |= nosuid }
        if f & StatvfsFlags.nodev != 0 { locked |= nodev }
        if f & StatvfsFlags.noexec != 0 { locked |= noexec }
        return locked
    }
}

/// The flags umount2(2) takes (MNT_*, linux/fs.h).
public enum UnmountFlags {
    public static let force: Int32 = 1
    /// Lazy: detach now, clean up once the mount is no longer busy.
    public static let detach: Int32 = 2
    public static let expire: Int32 = 4
    public static let noFollow: Int32 = 8
}

/// The ST_* bits of statvfs's `f_flag` (sys/statvfs.h); not the same numbers as MS_* for all.
public enum StatvfsFlags {
    public static let rdonly: UInt = 1
    public static let nosuid: UInt = 2
    public static let nodev: UInt = 4
    public static let noexec: UInt = 8
}

/// CLONE_NEW* flags (linux/sched.h): for clone3, unshare(2) and setns(2).
public enum NamespaceFlags {
    public static let time: Int32 = 0x80
    public static let mount: Int32 = 0x0002_0000
    public static let cgroup: Int32 = 0x0200_0000
    public static let uts: Int32 = 0x0400_0000
    public static let ipc: Int32 = 0x0800_0000
    public static let user: Int32 = 0x1000_0000
    public static let pid: Int32 = 0x2000_0000
    public static let network: Int32 = 0x4000_0000
}

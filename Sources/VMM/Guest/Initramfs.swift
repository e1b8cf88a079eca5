/// Writes initramfs archives (cpio "newc", the format the kernel unpacks) so a user can boot a
/// micro-VM without crafting one by hand: busybox-static plus an /init script.
public enum Initramfs {
    /// One archive member; paths are relative ("bin/sh"), as the kernel expects.
    public enum Entry: Equatable, Sendable {
        case directory(String, mode: UInt32 = 0o755)
        case file(String, [UInt8], mode: UInt32 = 0o644)
        case symlink(String, target: String)
        case characterDevice(String, major: UInt32, minor: UInt32, mode: UInt32 = 0o600)
    }

    /// The marker the default /init prints once userspace runs (tests and benchmarks wait for it).
    public static let readyMarker = "SKIFF-GUEST-READY"

    /// The default /init: mounts the kernel filesystems, prints the marker, runs a shell on the
    /// console (or the command given as skiff.run=... on the kernel command line) and reboots,
    /// which ends the VM through the i8042 reset line.
    public static let defaultInit = """
        #!/bin/sh
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev 2>/dev/null
        mkdir -p /dev/pts /tmp && mount -t devpts devpts /dev/pts 2>/dev/null
        echo \(readyMarker)
        run=$(sed -n 's/.*skiff\\.run=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
        if [ -n "$run" ]; then sh -c "$(echo "$run" | tr , ' ')"; else setsid -c sh; fi
        reboot -f
        """

    /// The entries of a busybox-based initramfs with `initScript` as /init.
    public static func busyboxEntries(busybox: [UInt8], initScript: String = defaultInit) -> [Entry] {
        var entries: [Entry] = ["bin", "sbin", "dev", "proc", "sys", "tmp", "mnt", "etc", "root"].map { .directory($0) }
        entries.append(.characterDevice("dev/console", major: 5, minor: 1))
        entries.append(.characterDevice("dev/null", major: 1, minor: 3, mode: 0o666))
        entries.append(.file("bin/busybox", busybox, mode: 0o755))
        for tool in [
            "sh", "mount", "umount", "echo", "cat", "ls", "mkdir", "sed", "tr", "nproc", "grep", "reboot", "poweroff",
            "setsid", "sync", "mkfs.ext2", "ip", "ping", "sleep", "dd", "head",
        ] {
            entries.append(.symlink("bin/\(tool)", target: "busybox"))
        }
        entries.append(.file("init", Array(initScript.utf8), mode: 0o755))
        return entries
    }

    /// The archive bytes, ending with the TRAILER!!! record.
    public static func archive(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        var inode: UInt32 = 1
        func record(_ name: String, mode: UInt32, data: [UInt8], rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0, nlink: UInt32 = 1) {
            let nameBytes = Array(name.utf8) + [0]
            let fields: [UInt32] = [
                inode, mode, 0, 0, nlink, 0, UInt32(data.count), 0, 0, rdevMajor, rdevMinor, UInt32(nameBytes.count), 0,
            ]
            var header = Array("070701".utf8)
            for field in fields {
                let hex = String(field, radix: 16, uppercase: true)
                header += Array((String(repeating: "0", count: 8 - hex.count) + hex).utf8)
            }
            out += header + nameBytes
            while out.count % 4 != 0 { out.append(0) }
            out += data
            while out.count % 4 != 0 { out.append(0) }
            inode += 1
        }
        for entry in entries {
            switch entry {
            case .directory(let path, let mode): record(path, mode: 0o040000 | mode, data: [], nlink: 2)
            case .file(let path, let bytes, let mode): record(path, mode: 0o100000 | mode, data: bytes)
            case .symlink(let path, let target): record(path, mode: 0o120777, data: Array(target.utf8))
            case .characterDevice(let path, let major, let minor, let mode):
                record(path, mode: 0o020000 | mode, data: [], rdevMajor: major, rdevMinor: minor)
            }
        }
        inode = 0
        record("TRAILER!!!", mode: 0, data: [], nlink: 1)
        return out
    }
}

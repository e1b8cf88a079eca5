import Foundation
import OCISpec
import Testing

/// Root, mounts, /dev, masked and read-only paths, sysctl: checked from inside the container.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct FilesystemTests {
    @Test func readonlyRoot() throws {
        let b = try TestBundle("rofs")
        b.spec.root?.readonly = true
        b.shell("touch /x 2>&1 || echo denied; touch /dev/shm/ok && echo shm-writable")
        let r = try b.run()
        #expect(r.out.contains("denied"), "\(r)")
        #expect(r.out.contains("shm-writable"))
    }

    @Test func bindMountsReadOnlyAndReadWrite() throws {
        let b = try TestBundle("bind")
        let host = NSTemporaryDirectory() + TestEnvironment.uniqueName("hostdir")
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: host) }
        try "from host".write(toFile: host + "/file", atomically: true, encoding: .utf8)
        b.spec.mounts?.append(Mount(destination: "/data/ro", type: "bind", source: host, options: ["rbind", "ro", "nosuid", "nodev"]))
        b.spec.mounts?.append(Mount(destination: "/data/rw", type: "bind", source: host, options: ["bind", "rw"]))
        b.shell(
            "cat /data/ro/file; echo; touch /data/ro/new 2>/dev/null || echo ro-denied; echo hi > /data/rw/written; grep /data/ro /proc/mounts"
        )
        let r = try b.run()
        #expect(r.out.contains("from host"), "\(r)")
        #expect(r.out.contains("ro-denied"))
        #expect(r.out.contains("ro,nosuid,nodev"))
        #expect(FileManager.default.fileExists(atPath: host + "/written"))
    }

    @Test func tmpfsWithModeAndSize() throws {
        let b = try TestBundle("tmpfs")
        b.spec.mounts?.append(Mount(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["noexec", "mode=1770", "size=1m"]))
        b.shell("stat -c %a /scratch; grep /scratch /proc/mounts")
        let r = try b.run()
        #expect(r.out.hasPrefix("1770"), "\(r)")
        #expect(r.out.contains("noexec"))
        #expect(r.out.contains("size=1024k"))
    }

    @Test func mountDestinationCannotEscapeThroughSymlinks() throws {
        let b = try TestBundle("escape")
        let marker = TestEnvironment.uniqueName("escaped")
        // /evil -> / inside the image: a naive runtime would mount onto the host's /tmp.
        try FileManager.default.createSymbolicLink(atPath: b.dir + "/rootfs/evil", withDestinationPath: "/")
        try FileManager.default.createSymbolicLink(atPath: b.dir + "/rootfs/evil2", withDestinationPath: "../../../../tmp")
        b.spec.mounts?.append(Mount(destination: "/evil/tmp/\(marker)", type: "tmpfs", source: "tmpfs"))
        b.spec.mounts?.append(Mount(destination: "/evil2/\(marker)-b", type: "tmpfs", source: "tmpfs"))
        b.shell("grep \(marker) /proc/mounts | wc -l")
        let r = try b.run()
        #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(r)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)-b"))
        #expect(FileManager.default.fileExists(atPath: b.dir + "/rootfs/tmp/\(marker)"))
    }

    /// A destination missing in the rootfs is created there, also through a symlink whose target
    /// is missing (an image's /var/run -> /run): a directory, or an empty file for a file bind,
    /// as runc and crun do. Symlinks to "/..." or "../../.." still resolve inside the rootfs: what
    /// they name is created in the rootfs, never on the host.
    @Test func missingDestinationsAreCreatedInsideTheRootfs() throws {
        let b = try TestBundle("mkdest")
        let fm = FileManager.default
        let host = NSTemporaryDirectory() + TestEnvironment.uniqueName("srcfile")
        try "a file\n".write(toFile: host, atomically: true, encoding: .utf8)
        defer { try? fm.removeItem(atPath: host) }
        let outside = TestEnvironment.uniqueName("outside")
        let outsideAbsolute = TestEnvironment.uniqueName("outside-abs")
        try fm.createDirectory(atPath: b.dir + "/rootfs/var", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: b.dir + "/rootfs/var/run", withDestinationPath: "/run")
        try fm.createSymbolicLink(atPath: b.dir + "/rootfs/up", withDestinationPath: "../../../../../../\(outside)/dir")
        try fm.createSymbolicLink(atPath: b.dir + "/rootfs/abs", withDestinationPath: "/\(outsideAbsolute)/dir")
        b.spec.mounts?.append(Mount(destination: "/var/run/skiff", type: "tmpfs", source: "tmpfs"))
        b.spec.mounts?.append(Mount(destination: "/var/run/conf/file.txt", type: "bind", source: host, options: ["bind", "ro"]))
        b.spec.mounts?.append(Mount(destination: "/up/sub", type: "tmpfs", source: "tmpfs"))
        b.spec.mounts?.append(Mount(destination: "/abs/file.txt", type: "bind", source: host, options: ["bind"]))
        b.shell(
            "cut -d' ' -f5 /proc/self/mountinfo | grep -E '^/(run|\(outside)|\(outsideAbsolute))' | sort; cat /run/conf/file.txt; stat -c %F /run/skiff /run/conf/file.txt"
        )
        let r = try b.run()
        let expected = ["/\(outsideAbsolute)/dir/file.txt", "/\(outside)/dir/sub", "/run/conf/file.txt", "/run/skiff"].sorted()
        #expect(r.code == 0 && r.out == expected.joined(separator: "\n") + "\na file\ndirectory\nregular file\n", "\(r)")
        #expect(fm.fileExists(atPath: b.dir + "/rootfs/run/conf/file.txt"), "made through /var/run -> /run in the rootfs")
        #expect(!fm.fileExists(atPath: "/\(outside)") && !fm.fileExists(atPath: "/\(outsideAbsolute)"), "nothing made on the host")
        #expect(fm.fileExists(atPath: b.dir + "/rootfs/\(outside)/dir/sub"))
        #expect(fm.fileExists(atPath: b.dir + "/rootfs/\(outsideAbsolute)/dir/file.txt"))
    }

    @Test func defaultDevicesAndLinuxDevices() throws {
        let b = try TestBundle("dev")
        b.spec.linux?.devices = [Device(type: "c", path: "/dev/skiff-null", major: 1, minor: 3, fileMode: 0o640, uid: 0, gid: 0)]
        b.spec.linux?.resources?.devices = [.init(allow: false, access: "rwm")]
        b.shell(
            "for d in null zero full random urandom tty ptmx pts shm fd stdin stdout stderr; do test -e /dev/$d && echo ok-$d; done; stat -c '%a %t %T' /dev/skiff-null; echo x > /dev/skiff-null && echo wrote; head -c 4 /dev/zero | wc -c"
        )
        let r = try b.run()
        for d in ["null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "fd", "stdin", "stdout", "stderr"] {
            #expect(r.out.contains("ok-\(d)\n"), "missing /dev/\(d): \(r)")
        }
        #expect(r.out.contains("640 1 3"))
        #expect(r.out.contains("wrote"))
        #expect(r.out.contains("4"))
    }

    /// A fifo in linux.devices is made in /dev and needs no devices-cgroup rule (devices.allow
    /// takes only a, b and c: writing a "p" rule there failed create).
    @Test func fifoDevice() throws {
        let b = try TestBundle("fifo")
        b.spec.linux?.devices = [Device(type: "p", path: "/dev/skiff-fifo", fileMode: 0o620, uid: 0, gid: 0)]
        b.shell("stat -c '%F %a' /dev/skiff-fifo; (echo through > /dev/skiff-fifo &); head -n 1 /dev/skiff-fifo")
        let r = try b.run()
        #expect(r.code == 0 && r.out == "fifo 620\nthrough\n", "\(r)")
    }

    @Test func maskedAndReadonlyPaths() throws {
        let b = try TestBundle("mask")
        b.shell("cat /proc/kcore | wc -c; echo x > /proc/sys/kernel/hostname 2>/dev/null || echo sys-ro; ls /proc/acpi 2>/dev/null | wc -l")
        let r = try b.run()
        let lines = r.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "0", "\(r)")
        #expect(r.out.contains("sys-ro"))
    }

    @Test func sysctl() throws {
        let b = try TestBundle("sysctl")
        b.spec.linux?.sysctl = ["net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"]
        b.shell("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax")
        let r = try b.run()
        #expect(r.out == "1\n123456789\n", "\(r)")
    }

    @Test func procSysfsMqueueAndCgroupMounts() throws {
        let b = try TestBundle("fs")
        b.shell("grep -E ' /(proc|sys|dev/mqueue|dev/pts|sys/fs/cgroup[^ ]*) ' /proc/mounts | cut -d' ' -f2,3; ls /sys/fs/cgroup")
        b.spec.process?.args = ["sh", "-c", "cut -d' ' -f2,3 /proc/mounts; ls /sys/fs/cgroup"]
        let r = try b.run()
        for line in ["/proc proc", "/sys sysfs", "/dev/mqueue mqueue", "/dev/pts devpts"] {
            #expect(r.out.contains(line), "missing \(line): \(r)")
        }
        #expect(r.out.contains("/sys/fs/cgroup"))
        #expect(r.out.contains("memory") || r.out.contains("cgroup2"))
    }

    @Test func badMountFailsCreateWithItsReasonAndLeavesNothing() throws {
        let b = try TestBundle("badmount")
        b.spec.mounts?.append(Mount(destination: "/data", type: "bind", source: "/no/such/skiff/source", options: ["bind"]))
        let r = try b.create()
        #expect(r.code != 0 && r.err.contains("/no/such/skiff/source"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }

    @Test func missingRootfsAndBrokenConfigAreRejected() throws {
        let b = try TestBundle("bad")
        b.spec.root?.path = "no-such-rootfs"
        var r = try b.create()
        #expect(r.code != 0 && r.err.contains("no-such-rootfs"), "\(r)")
        try "{ not json".write(toFile: b.dir + "/config.json", atomically: true, encoding: .utf8)
        r = try b.runtime(["create", "--bundle", b.dir, b.id])
        #expect(r.code != 0 && r.err.contains("config.json"), "\(r)")
        b.spec = OCISpec.Spec(ociVersion: "2.0.0", process: b.spec.process, root: Root(path: "rootfs"))
        r = try b.create()
        #expect(r.code != 0 && r.err.contains("unsupported ociVersion"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
    }

    /// mounts[].uidMappings/gidMappings: an idmapped bind shows a root-owned host file as owned
    /// by the mapped ids (the mount is marked idmapped), and a mapping without its pair is refused.
    @Test func idmappedBindMount() throws {
        let b = try TestBundle("idmap")
        let host = NSTemporaryDirectory() + TestEnvironment.uniqueName("idmapdir")
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: host) }
        try "owned by root".write(toFile: host + "/file", atomically: true, encoding: .utf8)
        var idmapped = Mount(destination: "/data", type: "bind", source: host, options: ["rbind", "rw"])
        idmapped.uidMappings = [IDMapping(containerID: 0, hostID: 4242, size: 1)]
        idmapped.gidMappings = [IDMapping(containerID: 0, hostID: 4343, size: 1)]
        b.spec.mounts?.append(idmapped)
        b.shell("stat -c '%u %g' /data/file; grep ' /data ' /proc/self/mountinfo | grep -c idmapped")
        let r = try b.run()
        #expect(r.code == 0 && r.out == "4242 4343\n1\n", "\(r)")

        let half = try TestBundle("idmap-half")
        var uidOnly = Mount(destination: "/data", type: "bind", source: host, options: ["rbind"])
        uidOnly.uidMappings = [IDMapping(containerID: 0, hostID: 4242, size: 1)]
        half.spec.mounts?.append(uidOnly)
        half.shell("true")
        let refused = try half.run()
        #expect(refused.code != 0 && refused.err.contains("gidMappings"), "\(refused)")
    }
}

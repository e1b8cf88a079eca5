import Foundation
import LinuxSupport
import OCISpec
import Testing

/// The container's mount namespace joined by path, or not listed at all (shared with the
/// runtime): either way the program sees its own root, checked from inside.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct MountNamespaceTests {
    /// Mount points of our (the host's) mount namespace.
    static func hostMountPoints() -> [String] {
        let info = (try? FileIO.readString("/proc/self/mountinfo")) ?? ""
        return info.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 ? Mounts.unescapeMountPath(String(fields[4])) : nil
        }
    }

    /// The "/" line of our mountinfo without its id columns: mount options and propagation.
    static func hostRootLine() -> String {
        let info = (try? FileIO.readString("/proc/self/mountinfo")) ?? ""
        let line = info.split(separator: "\n").first { $0.split(separator: " ").dropFirst(4).first == "/" } ?? ""
        return line.split(separator: " ").dropFirst(3).joined(separator: " ")
    }

    /// A file on the host that is not in any bundle's rootfs.
    static func hostOnlyFile() throws -> String {
        let path = NSTemporaryDirectory() + TestEnvironment.uniqueName("hostonly")
        try "host\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// {"type": "mount", "path": ...}: init joins that namespace, sets the rootfs up in it and
    /// pivots, as runc does; the program sees the bundle's files, not the host's.
    @Test func joinsAMountNamespaceByPath() throws {
        let dir = NSTemporaryDirectory() + TestEnvironment.uniqueName("mntns")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let nsFile = dir + "/mnt"
        _ = FileManager.default.createFile(atPath: nsFile, contents: nil)
        defer {
            try? Mounts.unmount(nsFile, flags: 2 /* MNT_DETACH */)
            try? FileManager.default.removeItem(atPath: dir)
        }
        let made = try Command.run("/usr/bin/unshare", ["--mount=" + nsFile, "--propagation", "private", "true"])
        try #require(made.code == 0, "unshare --mount=\(nsFile): \(made)")
        let hostOnly = try Self.hostOnlyFile()
        defer { unlink(hostOnly) }

        let b = try TestBundle("joinmnt")
        try "bundle only\n".write(toFile: b.dir + "/rootfs/marker", atomically: true, encoding: .utf8)
        let namespaces = b.spec.linux?.namespaces?.map {
            $0.type == .mount ? Namespace(type: .mount, path: nsFile) : $0
        }
        b.spec.linux?.namespaces = namespaces
        b.shell("cat /marker; test -e \(hostOnly) && echo host-visible || echo host-hidden; test -d /proc/self && echo proc")
        let r = try b.run()
        #expect(r.code == 0 && r.out == "bundle only\nhost-hidden\nproc\n", "\(r)")
    }

    /// No mount namespace in linux.namespaces: the container shares the runtime's, as the spec
    /// says of an omitted namespace. Its root is still the bundle's (bound at a mount point of its
    /// own and chrooted into, as runc does), an exec sees the same, the host's "/" is untouched,
    /// and delete leaves no mount behind.
    @Test func runsWithoutAMountNamespace() throws {
        let hostOnly = try Self.hostOnlyFile()
        defer { unlink(hostOnly) }
        let rootBefore = Self.hostRootLine()
        let b = try TestBundle("nomntns")
        try "bundle only\n".write(toFile: b.dir + "/rootfs/marker", atomically: true, encoding: .utf8)
        b.spec.linux?.namespaces?.removeAll { $0.type == .mount }
        let mountPoint = b.root + "/.rootfs/" + b.id
        func leftovers() -> [String] {
            Self.hostMountPoints().filter { $0.hasPrefix(mountPoint) || $0.hasPrefix(b.dir + "/") }
        }

        b.shell(
            "cat /marker; test -e \(hostOnly) && echo host-visible || echo host-hidden; grep -q ' /proc ' /proc/self/mountinfo && echo proc; readlink /proc/self/ns/mnt"
        )
        let r = try b.run()
        let hostMountNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        #expect(r.code == 0 && r.out == "bundle only\nhost-hidden\nproc\n\(hostMountNamespace)\n", "\(r)")
        #expect(leftovers().isEmpty, "\(leftovers())")

        b.shell("sleep 60")
        let created = try b.create()
        try #require(created.code == 0, "\(created)")
        #expect(Self.hostMountPoints().contains(mountPoint), "the root is mounted while the container exists")
        let e = try b.runtime(["exec", b.id, "sh", "-c", "cat /marker; test -e \(hostOnly) && echo host-visible || echo host-hidden"])
        #expect(e.code == 0 && e.out == "bundle only\nhost-hidden\n", "\(e)")
        let deleted = try b.runtime(["delete", "--force", b.id])
        #expect(deleted.code == 0, "\(deleted)")
        #expect(leftovers().isEmpty, "\(leftovers())")
        #expect(!FileManager.default.fileExists(atPath: mountPoint))
        #expect(Self.hostRootLine() == rootBefore, "the host's / keeps its options and propagation")
    }

    /// A failed create without a mount namespace detaches what init mounted.
    @Test func failedCreateWithoutAMountNamespaceLeavesNoMount() throws {
        let b = try TestBundle("nomntns-fail")
        b.spec.linux?.namespaces?.removeAll { $0.type == .mount }
        b.spec.mounts?.append(Mount(destination: "/data", type: "bind", source: "/no/such/skiff/source", options: ["bind"]))
        let r = try b.create()
        #expect(r.code != 0 && r.err.contains("/no/such/skiff/source"), "\(r)")
        let mountPoint = b.root + "/.rootfs/" + b.id
        #expect(!Self.hostMountPoints().contains { $0.hasPrefix(mountPoint) || $0.hasPrefix(b.dir + "/") })
        #expect(!FileManager.default.fileExists(atPath: mountPoint))
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
    }
}

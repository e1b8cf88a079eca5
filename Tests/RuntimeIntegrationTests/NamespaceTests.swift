import Foundation
import OCISpec
import Testing

/// New and joined namespaces, and user namespace id mappings.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct NamespaceTests {
    @Test func newPidNetworkIpcUtsCgroupNamespaces() throws {
        let b = try TestBundle("ns")
        b.shell("echo pid=$$; ls /sys/class/net; cat /proc/self/cgroup | grep -c ':/$'; readlink /proc/self/ns/ipc /proc/self/ns/uts")
        let r = try b.run()
        #expect(r.out.contains("pid=1\n"), "\(r)")
        #expect(r.out.contains("lo\n"))
        #expect(!r.out.contains("eth0"))
        let hostIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
        let hostUTS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/uts")
        #expect(!r.out.contains(hostIPC) && !r.out.contains(hostUTS))
    }

    @Test func joinsANetworkNamespaceByPath() throws {
        let name = TestEnvironment.uniqueName("netns").suffix(30)
        let netns = String(name)
        _ = try Command.run("/usr/sbin/ip", ["netns", "add", netns])
        defer { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", netns]) }
        _ = try Command.run("/usr/sbin/ip", ["-n", netns, "link", "add", "skiffv0", "type", "veth", "peer", "name", "skiffv1"])
        let b = try TestBundle("joinnet")
        let namespaces = b.spec.linux?.namespaces?.map {
            $0.type == .network ? Namespace(type: .network, path: "/var/run/netns/\(netns)") : $0
        }
        b.spec.linux?.namespaces = namespaces
        b.shell("ls /sys/class/net")
        b.spec.mounts?.removeAll { $0.destination == "/sys" || $0.destination == "/sys/fs/cgroup" }
        b.spec.mounts?.append(Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro"]))
        let r = try b.run()
        #expect(r.out.contains("skiffv0"), "\(r)")
    }

    @Test func userNamespaceWithMappings() throws {
        let b = try TestBundle("userns")
        try b.useUserNamespace()
        b.shell("id -u; cat /proc/self/uid_map")
        let r = try b.run()
        #expect(r.out.hasPrefix("0\n"), "\(r)")
        #expect(r.out.contains("100000"))
    }

    @Test func userNamespaceWithoutMappingsIsRejected() throws {
        let b = try TestBundle("usernomap")
        b.spec.linux?.namespaces?.append(Namespace(type: .user))
        let r = try b.create()
        #expect(r.code != 0 && r.err.contains("uidMappings"), "\(r)")
    }

    /// A new time namespace with linux.timeOffsets: the container's boot clock (and /proc/uptime)
    /// runs ten days ahead of the host's, an exec process sees the same, and offsets without a
    /// time namespace are refused.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/ns/time"), "needs a kernel with time namespaces"))
    func timeNamespaceWithOffsets() throws {
        let b = try TestBundle("timens")
        b.spec.linux?.namespaces?.append(Namespace(type: .time))
        b.spec.linux?.timeOffsets = ["boottime": TimeOffset(secs: 864_000, nanosecs: 0), "monotonic": TimeOffset(secs: 3600, nanosecs: 5)]
        b.shell("cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime; sleep 30")
        let hostUptime = Int(try String(contentsOfFile: "/proc/uptime", encoding: .utf8).split(separator: ".")[0]) ?? 0
        try #require(try b.create().code == 0)
        #expect(try b.runtime(["start", b.id]).code == 0)
        let exec = try b.runtime(["exec", b.id, "sh", "-c", "cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time"])
        #expect(exec.code == 0, "\(exec)")
        let lines = exec.out.split(separator: "\n")
        let uptime = lines.first.flatMap { Int($0) } ?? 0
        #expect(uptime >= hostUptime + 864_000 && uptime < hostUptime + 864_000 + 60, "\(exec.out) host \(hostUptime)")
        let hostTimeNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/time")
        #expect(lines.count == 2 && String(lines[1]) != hostTimeNamespace, "\(exec.out)")
        #expect(try b.runtime(["delete", "--force", b.id]).code == 0)

        let missing = try TestBundle("timens-missing")
        missing.spec.linux?.timeOffsets = ["boottime": TimeOffset(secs: 10)]
        let refused = try missing.create()
        #expect(refused.code != 0 && refused.err.contains("time namespace"), "\(refused)")
    }
}

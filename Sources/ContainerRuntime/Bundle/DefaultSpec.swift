import OCISpec

/// The config.json `spec` writes: the same defaults as `runc spec`, so bundles made for runc
/// and for skiff-runtime look alike.
public enum DefaultSpec {
    public static func make(rootless: Bool = false, uid: UInt32 = 0, gid: UInt32 = 0) -> Spec {
        let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        var mounts: [Mount] = [
            Mount(destination: "/proc", type: "proc", source: "proc"),
            Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Mount(
                destination: "/dev/pts", type: "devpts", source: "devpts",
                options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            Mount(
                destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
            Mount(
                destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
        ]
        var namespaces: [Namespace] = [
            .init(type: .pid), .init(type: .network), .init(type: .ipc), .init(type: .uts), .init(type: .mount), .init(type: .cgroup),
        ]
        var linux = Linux(
            namespaces: namespaces,
            resources: Resources(devices: [.init(allow: false, access: "rwm")]),
            maskedPaths: [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        if rootless {
            namespaces = namespaces.filter { $0.type != .network } + [.init(type: .user)]
            linux.namespaces = namespaces
            linux.uidMappings = [IDMapping(containerID: 0, hostID: uid, size: 1)]
            linux.gidMappings = [IDMapping(containerID: 0, hostID: gid, size: 1)]
            linux.resources = nil
            mounts.removeAll { $0.destination == "/sys/fs/cgroup" || $0.destination == "/sys" }
            mounts.append(Mount(destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"]))
            mounts = mounts.map { m in
                var m = m
                if m.destination == "/dev/pts" { m.options = m.options?.filter { $0 != "gid=5" } }
                return m
            }
        }
        return Spec(
            process: Process(
                terminal: true, user: User(uid: 0, gid: 0), args: ["sh"],
                env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], cwd: "/",
                capabilities: Capabilities(bounding: caps, effective: caps, permitted: caps),
                rlimits: [Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)], noNewPrivileges: true),
            root: Root(path: "rootfs", readonly: true), hostname: "skiff", mounts: mounts, linux: linux)
    }
}

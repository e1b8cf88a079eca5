import OCISpec

/// The device nodes every container gets in /dev, and the cgroup rules that let it use them.
public enum DefaultDevices {
    public static let nodes: [Device] = [
        Device(type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0),
    ]

    public static let cgroupRules: [Resources.DeviceRule] =
        nodes.map {
            .init(allow: true, type: "c", major: $0.major, minor: $0.minor, access: "rwm")
        } + [
            .init(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),  // /dev/ptmx
            .init(allow: true, type: "c", major: 136, minor: -1, access: "rwm"),  // /dev/pts/*
            .init(allow: true, type: "c", major: 5, minor: 1, access: "rwm"),  // /dev/console
            .init(allow: true, type: "c", major: 10, minor: 200, access: "rwm"),  // /dev/net/tun
        ]

    /// Symlinks created in /dev: (link path, target).
    public static let links: [(String, String)] = [
        ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/core", "/proc/kcore"), ("/dev/ptmx", "pts/ptmx"),
    ]
}

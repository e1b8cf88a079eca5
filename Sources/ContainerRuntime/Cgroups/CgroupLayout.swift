import LinuxSupport

/// How cgroups are mounted on this host: pure v2, pure v1, or the hybrid of v1 controllers plus a
/// cgroup2 hierarchy (usually at /sys/fs/cgroup/unified) that many hosts still run.
public struct CgroupLayout: Sendable, Equatable {
    /// v1 controller name ("memory", "cpu", "name=systemd") -> mount point.
    public var v1: [String: String]
    /// The cgroup2 mount point, if any.
    public var unified: String?
    /// Controllers available in the cgroup2 hierarchy (cgroup.controllers of its root).
    public var unifiedControllers: Set<String>

    public var isPureV2: Bool { v1.isEmpty && unified != nil }

    public init(v1: [String: String], unified: String?, unifiedControllers: Set<String>) {
        self.v1 = v1
        self.unified = unified
        self.unifiedControllers = unifiedControllers
    }

    /// Reads the layout from /proc/self/mountinfo.
    public static func detect() throws -> CgroupLayout {
        let info = try Mounts.table()
        var layout = parse(mountinfo: info)
        if let unified = layout.unified, let text = try? FileIO.readString(unified + "/cgroup.controllers") {
            layout.unifiedControllers = Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        return layout
    }

    /// Parses mountinfo text; pure, for tests.
    public static func parse(mountinfo: String) -> CgroupLayout {
        var v1: [String: String] = [:]
        var unified: String?
        for line in mountinfo.split(separator: "\n") {
            // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-") else { continue }
            let left = fields[..<dash]
            let right = Array(fields[(dash + 1)...])
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = Mounts.unescapeMountPath(String(left[left.startIndex + 4]))
            switch right[0] {
            case "cgroup2":
                if unified == nil || mountPoint == "/sys/fs/cgroup" { unified = mountPoint }
            case "cgroup":
                for option in right[2].split(separator: ",") {
                    let name = String(option)
                    if [
                        "rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children",
                        "xattr", "noprefix",
                    ].contains(name) || name.hasPrefix("release_agent") {
                        continue
                    }
                    if v1[name] == nil { v1[name] = mountPoint }
                }
            default:
                continue
            }
        }
        return CgroupLayout(v1: v1, unified: unified, unifiedControllers: [])
    }
}

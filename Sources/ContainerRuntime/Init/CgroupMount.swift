#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// Mounts the container's own view of cgroups at the destination (usually /sys/fs/cgroup):
/// cgroup2 directly when it has a cgroup namespace, otherwise its own cgroup directories bound in.
struct CgroupMount {
    let config: InitConfig
    let root: RootedPath
    let syscalls: any InitSyscalls

    func mount(at destination: String, options: MountOptions) throws {
        let flags = options.flags & (MountFlags.rdonly | MountFlags.nosuid | MountFlags.nodev | MountFlags.noexec)
        let target = try root.makeDirectories(destination)
        defer { close(target) }
        guard let cgroup = config.cgroup else { return }
        if cgroup.pureV2 {
            if config.newCgroupNamespace {
                try syscalls.mount(source: "cgroup2", target: RootedPath.procPath(target), type: "cgroup2", flags: flags, data: nil)
            } else if let unified = cgroup.unifiedPath {
                try bind(unified, at: destination, flags: flags)
            }
            return
        }
        // v1 or hybrid: a tmpfs with one directory per hierarchy, each showing the container's cgroup.
        try syscalls.mount(
            source: "tmpfs", target: RootedPath.procPath(target), type: "tmpfs",
            flags: MountFlags.nosuid | MountFlags.nodev | MountFlags.noexec, data: "mode=755")
        let layout = try CgroupLayout.detect()
        var seen: Set<String> = []
        for (controller, mountPoint) in layout.v1.sorted(by: { $0.key < $1.key }) {
            let name = String(mountPoint.split(separator: "/").last ?? Substring(controller))
            guard !seen.contains(name), let path = cgroup.v1Paths[controller] else { continue }
            seen.insert(name)
            try bind(path, at: destination + "/" + name, flags: flags)
        }
        if let unified = cgroup.unifiedPath, let mountPoint = layout.unified {
            let name = String(mountPoint.split(separator: "/").last ?? "unified")
            try bind(unified, at: destination + "/" + name, flags: flags)
        }
        if flags & MountFlags.rdonly != 0 {
            let fd = try root.open(destination)
            defer { close(fd) }
            try syscalls.mount(
                source: nil, target: RootedPath.procPath(fd), type: nil,
                flags: MountFlags.bind | MountFlags.remount | MountFlags.rdonly | MountFlags.nosuid | MountFlags.nodev | MountFlags.noexec,
                data: nil)
        }
    }

    /// Binds `source` at `destination` inside the root; the remount goes through a fresh
    /// descriptor, because one opened before the bind still names the covered directory.
    private func bind(_ source: String, at destination: String, flags: UInt) throws {
        let dir = try root.makeDirectories(destination)
        defer { close(dir) }
        try syscalls.mount(source: source, target: RootedPath.procPath(dir), type: nil, flags: MountFlags.bind, data: nil)
        if flags != 0 {
            let mounted = try root.open(destination)
            defer { close(mounted) }
            try syscalls.mount(
                source: nil, target: RootedPath.procPath(mounted), type: nil,
                flags: MountFlags.bind | MountFlags.remount | flags, data: nil)
        }
    }
}

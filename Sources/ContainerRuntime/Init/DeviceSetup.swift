#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// Populates the container's /dev: device nodes (or bind mounts of the host's nodes inside a
/// user namespace, where mknod is not allowed) and the standard symlinks.
struct DeviceSetup {
    let root: RootedPath
    let newUserNamespace: Bool

    func create(devices: [Device]) throws {
        for device in devices {
            try create(device)
        }
        for (link, target) in DefaultDevices.links {
            let (parent, name) = RootedPath.split(link)
            let dir = try root.makeDirectories(parent)
            defer { close(dir) }
            if symlinkat(target, dir, name) != 0 && errno != EEXIST {
                throw SystemError("symlink \(link) -> \(target)")
            }
        }
        let shm = try root.makeDirectories("/dev/shm")
        close(shm)
        let pts = try root.makeDirectories("/dev/pts")
        close(pts)
    }

    private func create(_ d: Device) throws {
        guard d.path.hasPrefix("/dev/") else {
            throw RuntimeError.invalidConfig("device \(d.path) must be under /dev")
        }
        let (parent, name) = RootedPath.split(d.path)
        let dir = try root.makeDirectories(parent)
        defer { close(dir) }
        let kind: mode_t
        switch d.type {
        case "c", "u": kind = S_IFCHR
        case "b": kind = S_IFBLK
        case "p": kind = S_IFIFO
        default: throw RuntimeError.invalidConfig("device \(d.path) has unknown type '\(d.type)': use c, b, u or p")
        }
        if newUserNamespace && kind != S_IFIFO {
            // Bind-mount the host's node onto an empty file.
            let file = try root.makeFile(d.path)
            defer { close(file) }
            try Mounts.mount(source: d.path, target: RootedPath.procPath(file), type: nil, flags: MountFlags.bind, data: nil)
            return
        }
        unlinkat(dir, name, 0)
        let dev = skiff_makedev(UInt32(d.major ?? 0), UInt32(d.minor ?? 0))
        let mode = (d.fileMode ?? 0o666) & 0o7777
        guard mknodat(dir, name, kind | mode_t(mode), dev_t(dev)) == 0 else {
            throw SystemError("mknod \(d.path)")
        }
        if fchmodat(dir, name, mode_t(mode), 0) != 0 { throw SystemError("chmod \(d.path)") }
        if fchownat(dir, name, d.uid ?? 0, d.gid ?? 0, AT_SYMLINK_NOFOLLOW) != 0 { throw SystemError("chown \(d.path)") }
    }
}

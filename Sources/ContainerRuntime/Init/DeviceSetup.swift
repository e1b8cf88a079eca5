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
    let syscalls: any InitSyscalls

    func create(devices: [Device]) throws {
        for device in devices {
            try create(device)
        }
        for (link, target) in DefaultDevices.links {
            let (parent, name) = RootedPath.split(link)
            let dir = try root.makeDirectories(parent)
            defer { close(dir) }
            do {
                try syscalls.symlink(target, at: dir, name)
            } catch let error as SystemError where error.errno != EEXIST {
                throw SystemError("symlink \(link) -> \(target)", errno: error.errno)
            } catch is SystemError {}
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
            try syscalls.mount(source: d.path, target: RootedPath.procPath(file), type: nil, flags: MountFlags.bind, data: nil)
            return
        }
        syscalls.unlinkIfPresent(at: dir, name)
        let dev = skiff_makedev(UInt32(d.major ?? 0), UInt32(d.minor ?? 0))
        let mode = (d.fileMode ?? 0o666) & 0o7777
        // The seam names the file in its directory; errors name the path the user wrote.
        func step(_ what: String, _ call: () throws -> Void) throws {
            do { try call() } catch let error as SystemError { throw SystemError("\(what) \(d.path)", errno: error.errno) }
        }
        try step("mknod") { try syscalls.mknod(at: dir, name, mode: kind | mode_t(mode), device: dev) }
        try step("chmod") { try syscalls.chmod(at: dir, name, mode: mode_t(mode)) }
        try step("chown") { try syscalls.chown(at: dir, name, uid: d.uid ?? 0, gid: d.gid ?? 0) }
    }
}

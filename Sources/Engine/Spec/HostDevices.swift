#if canImport(Glibc)
import Glibc
#endif
import CShim
import OCISpec

/// The host's device nodes under /dev, which docker gives a `--privileged` container (the pty,
/// shm and mqueue directories excepted: the container has its own).
enum HostDevices {
    static let skipped: Set<String> = ["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/.lxc", "/dev/.udev", "/dev/hugepages"]

    static func list(under directory: String = "/dev") -> [Device] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var result: [Device] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let path = directory + "/" + name
            if skipped.contains(path) || path == "/dev/console" || path == "/dev/ptmx" { continue }
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: result += list(under: path)
            case S_IFCHR, S_IFBLK:
                result.append(
                    Device(
                        type: (st.st_mode & S_IFMT) == S_IFCHR ? "c" : "b", path: path,
                        major: Int64(skiff_major(UInt64(st.st_rdev))), minor: Int64(skiff_minor(UInt64(st.st_rdev))),
                        fileMode: UInt32(st.st_mode & 0o777), uid: st.st_uid, gid: st.st_gid))
            default: continue
            }
        }
        return result
    }
}

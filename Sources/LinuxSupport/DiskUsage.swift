#if canImport(Glibc)
import Glibc
#endif

/// Space used by a directory tree, counted as `du` does (allocated blocks, each inode once, not
/// crossing into other file systems, never following symlinks). For `system df` and for what
/// `image prune` reclaims from layer snapshots.
public enum DiskUsage {
    public static func bytes(under path: String) -> Int64 {
        var root = stat()
        guard lstat(path, &root) == 0 else { return 0 }
        var seen: Set<UInt64> = []
        return walk(path, device: root.st_dev, seen: &seen)
    }

    private static func walk(_ path: String, device: UInt, seen: inout Set<UInt64>) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_dev == device else { return 0 }
        var total: Int64 = 0
        if st.st_nlink <= 1 || (st.st_mode & S_IFMT) == S_IFDIR || seen.insert(UInt64(st.st_ino)).inserted {
            total += Int64(st.st_blocks) * 512
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR, let dir = opendir(path) else { return total }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            total += walk(path + "/" + name, device: device, seen: &seen)
        }
        return total
    }
}

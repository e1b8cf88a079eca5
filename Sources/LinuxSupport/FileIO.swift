#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Small whole-file helpers over raw descriptors, for /proc, /sys and cgroup files where
/// Foundation's buffering and error types get in the way.
public enum FileIO {
    /// Reads a whole file; throws if it cannot be opened or read.
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = try sysCall("open \(path)") { skiff_open(path, O_RDONLY | O_CLOEXEC, 0) }
        defer { close(fd) }
        return try readAll(fd: fd, what: path)
    }

    /// Reads a whole file as UTF-8 text.
    public static func readString(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Reads everything left on a descriptor.
    public static func readAll(fd: Int32, what: String) throws -> [UInt8] {
        var out: [UInt8] = []
        try readChunks(fd: fd, what: what) { out.append(contentsOf: $0) }
        return out
    }

    /// Reads a descriptor to its end, handing each chunk read (up to 64 KiB) to `body`.
    public static func readChunks(fd: Int32, what: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try buffer.withUnsafeMutableBytes { (raw) throws -> Int in
                try sysCall("read \(what)") { Glibc.read(fd, raw.baseAddress, raw.count) }
            }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Writes `bytes` to an existing file without creating or truncating it (cgroup and proc files).
    public static func writeExisting(_ path: String, _ text: String) throws {
        let fd = try sysCall("open \(path)") { skiff_open(path, O_WRONLY | O_CLOEXEC, 0) }
        defer { close(fd) }
        try writeAll(fd: fd, Array(text.utf8), what: path)
    }

    /// Creates or replaces a file with `bytes`, mode `mode`.
    public static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = try sysCall("create \(path)") {
            skiff_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, UInt32(mode))
        }
        defer { close(fd) }
        try writeAll(fd: fd, bytes, what: path)
    }

    /// Writes atomically: to a temporary name beside `path`, then renames over it. `durable`
    /// (the default) syncs the data before the rename and the directory after it, so after a power
    /// loss `path` holds the old or the new content, never an empty file; records that need not
    /// outlive a crash (a `--rm` container's, state under /run) pass false.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            let fd = try sysCall("create \(temporary)") { skiff_open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, UInt32(mode)) }
            defer { close(fd) }
            try writeAll(fd: fd, bytes, what: temporary)
            if durable { try Durability.sync(fd: fd, what: temporary) }
            try sysCall("rename \(temporary)") { rename(temporary, path) }
        } catch {
            unlink(temporary)
            throw error
        }
        if durable, let slash = path.lastIndex(of: "/") {
            try Durability.syncDirectory(slash == path.startIndex ? "/" : String(path[..<slash]))
        }
    }

    /// Writes a small file that readers only look at after we are done (a pid file): the old file
    /// is removed first, because ext4 flushes data synchronously when a rename replaces an
    /// existing file (auto_da_alloc), which cost 30 ms per pid file on this machine.
    public static func writeReplacing(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        unlink(path)
        try writeAtomically(path, bytes, mode: mode)
    }

    /// Writes all of `bytes`, looping over short writes.
    public static func writeAll(fd: Int32, _ bytes: [UInt8], what: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = try bytes.withUnsafeBytes { (raw) throws -> Int in
                try sysCall("write \(what)") { Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            }
            offset += n
        }
    }

    /// The target of the symbolic link at `path` (also /proc's magic links such as
    /// /proc/self/fd/N, which name the file a descriptor refers to).
    public static func readLink(_ path: String) throws -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard n >= 0 else { throw SystemError("readlink \(path)") }
        guard n < buffer.count else { throw SystemError("readlink \(path)", errno: ENAMETOOLONG) }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// Whether anything exists at `path` (without following a final symlink).
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Whether `path` is a directory (following symlinks).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates a directory and its parents; existing directories are fine. Tries the full path
    /// first, since the parents usually exist.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if mkdir(path, mode) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw SystemError("mkdir \(path)")
        }
        try makeDirectories(String(path[..<slash]), mode: mode)
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("mkdir \(path)") }
    }

    /// Lists the names in a directory, without "." and "..".
    public static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir \(path)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file or directory tree, not crossing into other mounts' contents beyond unlinking.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let names = try? listDirectory(path) {
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

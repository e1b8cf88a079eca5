#if canImport(Glibc)
import Glibc
#endif
import CShim

/// mount(2) and umount2(2) with errors that name the source, target and type.
public enum Mounts {
    public static func mount(source: String?, target: String, type: String?, flags: UInt, data: String?) throws {
        let result = Glibc.mount(source, target, type, flags, data)
        if result != 0 {
            let what = "mount \(type ?? "") \(source ?? "none") on \(target)"
            throw SystemError(what.replacingDoubleSpaces(), errno: errno)
        }
    }

    public static func unmount(_ target: String, flags: Int32 = 0) throws {
        try sysCall("umount \(target)") { umount2(target, flags) }
    }

    /// /proc/self/mountinfo, read to its end. The kernel hands the table out one page of records
    /// per read() (seq_file), whatever the buffer: a single read() returned only the first ~4 KiB,
    /// so on a host with more mounts than that, a fresh mount at the end of the table was missing
    /// (the flaky `pruneRemovesWhatAKilledCreateLeft`, seen only in full test runs, with many
    /// mounts). Reads in a row are consistent: since Linux 5.8 the table is walked with a cursor,
    /// so a mount that exists throughout is never skipped between two reads.
    public static func table() throws -> String {
        let fd = try sysCall("open /proc/self/mountinfo") { skiff_open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC, 0) }
        defer { close(fd) }
        var table: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SystemError("read /proc/self/mountinfo") }
            if n == 0 { return String(decoding: table, as: UTF8.self) }
            table.append(contentsOf: chunk[0..<n])
            guard table.count < 64 << 20 else { throw SystemError("read /proc/self/mountinfo", errno: EFBIG) }
        }
    }

    /// Whether a path is listed as a mount point in /proc/self/mountinfo.
    public static func isMountPoint(_ path: String) -> Bool {
        guard let text = try? table() else { return false }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 4 && unescapeMountPath(String(fields[4])) == path { return true }
        }
        return false
    }

    /// Decodes the octal escapes (\040 for a space) that mountinfo uses.
    public static func unescapeMountPath(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
                let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    fileprivate func replacingDoubleSpaces() -> String {
        split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}

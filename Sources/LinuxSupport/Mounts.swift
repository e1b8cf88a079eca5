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

    /// /proc/self/mountinfo as one consistent snapshot. The kernel lists mounts under its namespace
    /// lock for one read() only: read in several chunks while other processes mount and unmount,
    /// the table can skip a mount that exists (a flaky test saw a fresh overlay missing). So the
    /// whole table is read with a single read(), into a buffer that grows until it fits.
    public static func table() throws -> String {
        // 64 KiB holds a busy host's table; not zero-filled (every runtime start reads it).
        var size = 64 << 10
        while true {
            let fd = try sysCall("open /proc/self/mountinfo") { skiff_open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC, 0) }
            defer { close(fd) }
            var failure: Int32 = 0
            let buffer = [UInt8](unsafeUninitializedCapacity: size) { raw, count in
                let n = read(fd, raw.baseAddress, raw.count)
                failure = n < 0 ? errno : 0
                count = max(n, 0)
            }
            guard failure == 0 else { throw SystemError("read /proc/self/mountinfo", errno: failure) }
            if buffer.count < size { return String(decoding: buffer, as: UTF8.self) }
            guard size < 64 << 20 else { throw SystemError("read /proc/self/mountinfo", errno: EFBIG) }
            size *= 4
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

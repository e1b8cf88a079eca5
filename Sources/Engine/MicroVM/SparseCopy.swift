#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// A copy of a sparse disk image that keeps its holes (the scratch disks of micro-VM containers).
enum SparseCopy {
    /// lseek's SEEK_DATA and SEEK_HOLE (Linux's values; Glibc's module exports them only under _GNU_SOURCE).
    static let seekData: Int32 = 3
    static let seekHole: Int32 = 4

    /// Copies `source` to a new file `destination` (which must not exist): only its data extents
    /// (SEEK_DATA/SEEK_HOLE) are read and written, so an image costs what it holds rather than its
    /// size. A failure removes the partial copy.
    static func copy(from source: String, to destination: String, mode: mode_t = 0o600) throws {
        let input = try OwnedFD("open \(source)") { skiff_open(source, O_RDONLY | O_CLOEXEC, 0) }
        let output = try OwnedFD("create \(destination)") {
            skiff_open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, UInt32(mode))
        }
        do {
            var st = stat()
            try sysCall("stat \(source)") { fstat(input.raw, &st) }
            try sysCall("truncate \(destination)") { ftruncate(output.raw, st.st_size) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var position: off_t = 0
            while position < st.st_size {
                let start = lseek(input.raw, position, seekData)
                if start < 0 {
                    if errno == ENXIO { break }  // only a hole is left
                    throw SystemError("seek data in \(source)", errno: errno)
                }
                let end = try sysCall("seek hole in \(source)") { lseek(input.raw, start, seekHole) }
                var offset = start
                while offset < end {
                    let want = Int(min(off_t(buffer.count), end - offset))
                    let got = try buffer.withUnsafeMutableBytes { raw in
                        try sysCall("read \(source)") { pread(input.raw, raw.baseAddress, want, offset) }
                    }
                    if got == 0 { throw SystemError("copy \(source): it shrank while being copied", errno: EIO) }
                    var written = 0
                    while written < got {
                        written += try buffer.withUnsafeBytes { raw in
                            try sysCall("write \(destination)") {
                                pwrite(output.raw, raw.baseAddress! + written, got - written, offset + off_t(written))
                            }
                        }
                    }
                    offset += off_t(got)
                }
                position = end
            }
        } catch {
            unlink(destination)
            throw error
        }
    }
}

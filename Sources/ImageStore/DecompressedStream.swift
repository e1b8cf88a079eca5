import CArchive
import OCISpec

/// The uncompressed bytes of a layer blob, produced by libarchive's gzip/zstd filters and hashed
/// as they pass, so the layer's diffID is verified in the same single read that unpacks it.
///
/// It exists because libarchive's tar reader would otherwise decompress internally, hiding the
/// uncompressed stream whose digest `rootfs.diff_ids` promises.
final class DecompressedStream {
    private let archive: OpaquePointer
    private let buffer: UnsafeMutableRawPointer
    private let capacity = 1 << 20
    private let hasher = SHA256Hasher()
    private var atEnd = false
    private(set) var failure: String?
    private(set) var totalBytes: Int64 = 0

    /// Opens `fd` (a layer blob) and detects gzip, zstd or no compression from its bytes.
    init(fd: Int32) throws(StoreError) {
        guard let archive = archive_read_new() else { throw .system("libarchive: out of memory") }
        self.archive = archive
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        archive_read_support_filter_gzip(archive)
        archive_read_support_filter_zstd(archive)
        archive_read_support_format_raw(archive)
        guard archive_read_open_fd(archive, fd, 1 << 20) == ARCHIVE_OK else {
            throw .system("cannot read layer: \(Self.message(archive))")
        }
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF {
            atEnd = true
        } else if status != ARCHIVE_OK {
            throw .system("cannot decompress layer: \(Self.message(archive))")
        }
    }

    deinit {
        archive_read_free(archive)
        buffer.deallocate()
    }

    static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    /// Reads the next chunk into the internal buffer: its length, 0 at the end, -1 on error.
    func fill() -> Int {
        if atEnd { return 0 }
        while true {
            let n = archive_read_data(archive, buffer, capacity)
            if n > 0 {
                hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
                totalBytes += Int64(n)
                return n
            }
            if n == 0 {
                atEnd = true
                return 0
            }
            if n == Int(ARCHIVE_RETRY) { continue }
            failure = "decompression failed: \(Self.message(archive))"
            return -1
        }
    }

    var currentBuffer: UnsafeRawPointer { UnsafeRawPointer(buffer) }

    /// Reads and hashes whatever the tar reader left (end-of-archive padding), then returns the diffID.
    func finish() throws(StoreError) -> Digest {
        while true {
            let n = fill()
            if n == 0 { break }
            if n < 0 { throw .system(failure ?? "decompression failed") }
        }
        return hasher.finalize()
    }
}

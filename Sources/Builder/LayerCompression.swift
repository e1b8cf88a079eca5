import CArchive
import ImageStore
import OCISpec

extension LayerCompression {
    /// The OCI media type of a layer blob compressed so.
    var layerMediaType: String {
        switch self {
        case .gzip: return MediaType.ociLayerGzip
        case .zstd: return MediaType.ociLayerZstd
        case .uncompressed: return MediaType.ociLayer
        }
    }
}

/// A stream compressor over libarchive's filters (its "raw" format: one entry, no tar framing):
/// what is written goes out compressed to `output`, and the uncompressed bytes are hashed on
/// the way (the layer's diffID).
final class LayerCompressor {
    private let archive: OpaquePointer
    private let sink: Sink
    private let hasher = SHA256Hasher()
    private var finished = false

    /// The output callback and its first error, reachable from libarchive's C callback.
    final class Sink {
        let output: (UnsafeRawBufferPointer) throws -> Void
        var failure: (any Error)?
        init(_ output: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.output = output }
    }

    init(_ compression: LayerCompression, output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(compression != .uncompressed)
        guard let archive = archive_write_new() else { throw ImageBuilder.Failure("libarchive: out of memory") }
        self.archive = archive
        sink = Sink(output)
        switch compression {
        case .gzip:
            archive_write_add_filter_gzip(archive)
            // Speed over the last percent of size: a build stores every step's layer.
            archive_write_set_filter_option(archive, "gzip", "compression-level", "1")
            archive_write_set_filter_option(archive, "gzip", "timestamp", nil)
        case .zstd:
            archive_write_add_filter_zstd(archive)
        case .uncompressed:
            break
        }
        archive_write_set_format_raw(archive)
        archive_write_set_bytes_per_block(archive, 0)
        let write: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = { _, client, buffer, length in
            guard let client, let buffer else { return -1 }
            let sink = Unmanaged<Sink>.fromOpaque(client).takeUnretainedValue()
            do {
                try sink.output(UnsafeRawBufferPointer(start: buffer, count: length))
                return length
            } catch {
                sink.failure = error
                return -1
            }
        }
        guard archive_write_open2(archive, Unmanaged.passUnretained(sink).toOpaque(), nil, write, nil, nil) == ARCHIVE_OK else {
            defer { archive_write_free(archive) }
            throw ImageBuilder.Failure("cannot start the layer's compression: \(Self.message(archive))")
        }
        guard let entry = archive_entry_new() else {
            archive_write_free(archive)
            throw ImageBuilder.Failure("libarchive: out of memory")
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, "layer.tar")
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            archive_write_free(archive)
            throw ImageBuilder.Failure("cannot start the layer's compression: \(Self.message(archive))")
        }
    }

    deinit { archive_write_free(archive) }

    static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            guard n > 0 else {
                if let failure = sink.failure { throw failure }
                throw ImageBuilder.Failure("cannot compress the layer: \(Self.message(archive))")
            }
            offset += n
        }
    }

    /// Flushes the compressor; returns the digest of the uncompressed bytes.
    func finish() throws -> Digest {
        if !finished {
            finished = true
            guard archive_write_close(archive) == ARCHIVE_OK else {
                if let failure = sink.failure { throw failure }
                throw ImageBuilder.Failure("cannot finish the layer's compression: \(Self.message(archive))")
            }
        }
        return hasher.finalize()
    }
}

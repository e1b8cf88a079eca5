#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// Content-addressed blobs under `<root>/blobs/sha256/<hex>`.
///
/// It exists so that nothing unverified ever has a blob's name: writers stream into
/// `<root>/ingest/`, and a blob is renamed into place only after its digest and size match the
/// descriptor. A process killed mid-download leaves only an ingest file that the next cleanup
/// removes, and two processes writing the same blob both rename identical content.
public struct ContentStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    var blobsDirectory: String { root + "/blobs/sha256" }
    var ingestDirectory: String { root + "/ingest" }

    public func path(for digest: Digest) -> String {
        "\(root)/blobs/\(digest.algorithm)/\(digest.encoded)"
    }

    /// Whether a verified blob with this digest is present (and has the expected size, when given).
    public func has(_ digest: Digest, size: Int64? = nil) -> Bool {
        var st = stat()
        guard lstat(path(for: digest), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        return size.map { Int64(st.st_size) == $0 } ?? true
    }

    /// Reads a whole blob (manifests and configs; never layers).
    public func read(_ digest: Digest) throws -> [UInt8] {
        do {
            return try FileIO.read(path(for: digest))
        } catch let error as SystemError where error.errno == ENOENT {
            throw StoreError.blobMissing(digest)
        }
    }

    /// Stores `bytes` after checking them against `digest` (computed from the bytes when nil).
    @discardableResult
    public func write(_ bytes: [UInt8], expected digest: Digest? = nil) throws -> Digest {
        let writer = try BlobWriter(store: self, what: "blob \(digest?.description ?? "")")
        defer { writer.abort() }
        try bytes.withUnsafeBytes { try writer.write($0) }
        return try writer.commit(expectedDigest: digest, expectedSize: digest == nil ? nil : Int64(bytes.count))
    }

    /// Every blob digest present.
    public func allDigests() -> [Digest] {
        let names = (try? FileIO.listDirectory(blobsDirectory)) ?? []
        return names.compactMap { try? Digest(sha256Hex: $0) }
    }

    public func remove(_ digest: Digest) {
        unlink(path(for: digest))
    }

    /// Removes the ingest files of writers that are gone: a file's name carries its writer's
    /// `ProcessLease`, and downloads hold no store lock, so files of running writers stay. Only
    /// called while holding the store lock exclusively.
    func removeIngestLeftovers() {
        for name in (try? FileIO.listDirectory(ingestDirectory)) ?? [] {
            if ProcessLease.parse(name: name, prefix: BlobWriter.prefix)?.isAlive != true { unlink(ingestDirectory + "/" + name) }
        }
    }
}

/// Streams one blob into the ingest directory, hashing as it goes, and commits it under its
/// digest only when digest and size match.
/// Unchecked Sendable: a writer belongs to one transfer, which writes, commits or discards it on
/// one thread at a time (a download hands it to the committing thread when it is complete).
public final class BlobWriter: @unchecked Sendable {
    private let store: ContentStore
    private let temporaryPath: String
    /// The temporary file, open until `commit` or `abort`.
    private var file: OwnedFD?
    private let hasher = SHA256Hasher()
    private let what: String
    private let sizeLimit: Int64?
    public private(set) var bytesWritten: Int64 = 0

    /// `what` names the blob in errors ("layer sha256:... of 127.0.0.1:5000/app:1").
    /// Writes beyond `sizeLimit` fail at once, so a lying server cannot fill the disk.
    public init(store: ContentStore, what: String, sizeLimit: Int64? = nil) throws {
        self.store = store
        self.what = what
        self.sizeLimit = sizeLimit
        try FileIO.makeDirectories(store.ingestDirectory)
        let temporaryPath = "\(store.ingestDirectory)/\(ProcessLease.current.name(prefix: Self.prefix))"
        self.temporaryPath = temporaryPath
        InterruptCleanup.register(temporaryPath)
        file = try OwnedFD("create \(temporaryPath)") {
            open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
    }

    /// Ingest files are `ingest-<pid>-<start time>-<random>`, so cleanup keeps a running writer's.
    static let prefix = "ingest"

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let fd = file?.raw else { throw StoreError.system("\(what): write after the blob was closed") }
        if let sizeLimit, bytesWritten + Int64(bytes.count) > sizeLimit {
            throw StoreError.sizeMismatch(expected: sizeLimit, actual: bytesWritten + Int64(bytes.count), what: what)
        }
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                // "write ingest/123-abc: No space left on device" alone names no blob.
                throw StoreError.system("\(what): cannot write it into the store \(store.root): \(SystemError("write \(temporaryPath)"))")
            }
            offset += n
        }
        bytesWritten += Int64(bytes.count)
    }

    /// Verifies and renames into place. Returns the blob's digest.
    public func commit(expectedDigest: Digest?, expectedSize: Int64?) throws -> Digest {
        guard let fd = file?.raw else { throw StoreError.system("\(what): blob committed twice") }
        defer { InterruptCleanup.unregister(temporaryPath) }
        // The data reaches the disk before the blob gets its name (and the name after the rename):
        // after a power loss a named blob is whole, never empty.
        do { try Durability.sync(fd: fd, what: temporaryPath) } catch {
            abort()
            throw error
        }
        file = nil  // synced: a close error cannot lose data now
        let actual = hasher.finalize()
        if let expectedSize, expectedSize != bytesWritten {
            unlink(temporaryPath)
            throw StoreError.sizeMismatch(expected: expectedSize, actual: bytesWritten, what: what)
        }
        if let expectedDigest, expectedDigest != actual {
            unlink(temporaryPath)
            throw StoreError.digestMismatch(expected: expectedDigest, actual: actual, what: what)
        }
        try FileIO.makeDirectories(store.blobsDirectory)
        let final = store.path(for: actual)
        do {
            try sysCall("rename \(temporaryPath) to \(final)") { rename(temporaryPath, final) }
        } catch {
            unlink(temporaryPath)
            throw error
        }
        try Durability.syncDirectory(store.blobsDirectory)
        return actual
    }

    /// Drops the temporary file; harmless after commit.
    public func abort() {
        if file?.raw != nil {
            file = nil
            unlink(temporaryPath)
        }
    }

    deinit {
        abort()
        InterruptCleanup.unregister(temporaryPath)
    }
}

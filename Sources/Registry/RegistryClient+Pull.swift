import Foundation
import HTTPClient
import ImageStore
import OCISpec

/// A manifest or index as fetched: its exact bytes, the digest of those bytes, and its type.
public struct FetchedManifest: Sendable {
    public var bytes: [UInt8]
    public var digest: Digest
    public var mediaType: String?
}

extension RegistryClient {
    /// Fetches `reference` (a tag or a digest) from `repository`, checking the digest when pinned
    /// and the size against the manifest limit.
    public func fetchManifest(repository: String, reference: String, expected: Descriptor? = nil, imageName: String) async throws
        -> FetchedManifest
    {
        let purpose = Purpose(what: "manifest \(imageName)", repository: repository, scopes: [Self.pullScope(repository)])
        let limit = options.manifestLimit
        if let expected, expected.size > limit {
            throw RegistryError.manifestTooLarge(what: "manifest \(imageName)", limit: limit)
        }
        var body: [UInt8] = []
        let result = try await send(
            "GET", url("/v2/\(repository)/manifests/\(reference)"), purpose: purpose,
            headers: ["Accept": MediaType.acceptedManifests.joined(separator: ", ")],
            sink: { chunk in
                guard body.count + chunk.count <= limit else { throw HTTPClientError.bodyTooLarge(limit: limit) }
                body.append(contentsOf: chunk)
            },
            restart: { body.removeAll() }, bufferLimit: limit)
        let bytes = body
        let digest = SHA256Hasher.digest(bytes)
        if let pinned = try? Digest(parsing: reference), pinned.algorithm == "sha256", pinned != digest {
            throw StoreError.digestMismatch(expected: pinned, actual: digest, what: "manifest \(imageName)")
        }
        if let expected {
            guard expected.size == Int64(bytes.count) else {
                throw StoreError.sizeMismatch(expected: expected.size, actual: Int64(bytes.count), what: "manifest \(imageName)")
            }
            guard expected.digest == digest else {
                throw StoreError.digestMismatch(expected: expected.digest, actual: digest, what: "manifest \(imageName)")
            }
        }
        if let header = result.header("Docker-Content-Digest"), let claimed = try? Digest(parsing: header),
            claimed.algorithm == "sha256", claimed != digest
        {
            throw StoreError.digestMismatch(expected: claimed, actual: digest, what: "manifest \(imageName) (Docker-Content-Digest)")
        }
        let contentType = result.header("Content-Type")?.split(separator: ";").first.map { String($0).trimmingSpaces() }
        return FetchedManifest(bytes: bytes, digest: digest, mediaType: contentType)
    }

    /// Downloads a blob into the store, verifying digest and size before it gets its name.
    public func fetchBlob(
        repository: String, descriptor: Descriptor, into store: ContentStore, what: String,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws {
        let writer = try await downloadBlob(repository: repository, descriptor: descriptor, into: store, what: what, progress: progress)
        defer { writer.abort() }
        _ = try writer.commit(expectedDigest: descriptor.digest, expectedSize: descriptor.size)
    }

    /// Downloads a blob into an ingest file of `store` and returns its writer uncommitted: the
    /// caller commits it (verifying digest and size) where it holds the store lock, and aborts it
    /// otherwise. The download itself needs no lock: garbage collection keeps the ingest files
    /// of writers that still run.
    /// A transfer cut off half way resumes with an HTTP Range request from the bytes already
    /// written (and hashed); a server that ignores the range sends the whole blob again, which
    /// restarts the download.
    public func downloadBlob(
        repository: String, descriptor: Descriptor, into store: ContentStore, what: String,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws -> BlobWriter {
        final class Box {
            var writer: BlobWriter
            init(_ writer: BlobWriter) { self.writer = writer }
        }
        let box = Box(try BlobWriter(store: store, what: what, sizeLimit: descriptor.size))
        var done = false
        defer { if !done { box.writer.abort() } }
        let purpose = Purpose(what: what, repository: repository, scopes: [Self.pullScope(repository)])
        let target = url("/v2/\(repository)/blobs/\(descriptor.digest)")
        var lastReport = Date.distantPast
        _ = try await send(
            "GET", target, purpose: purpose,
            sink: { chunk in
                try box.writer.write(chunk)
                if let progress, Date().timeIntervalSince(lastReport) > 0.1 {
                    lastReport = Date()
                    progress(box.writer.bytesWritten)
                }
            },
            restart: {
                // Keep what arrived: the next attempt asks for the rest.
            },
            attemptHeaders: {
                let written = box.writer.bytesWritten
                return written > 0 ? ["Range": "bytes=\(written)-"] : [:]
            },
            responseCheck: { response in
                let written = box.writer.bytesWritten
                guard written > 0 else { return }
                let contentRange = response.headers["Content-Range"]
                if response.status == 206, let contentRange, contentRange.hasPrefix("bytes \(written)-") { return }
                box.writer.abort()
                box.writer = try BlobWriter(store: store, what: what, sizeLimit: descriptor.size)
            }, bulk: true)
        done = true
        progress?(descriptor.size)
        return box.writer
    }
}

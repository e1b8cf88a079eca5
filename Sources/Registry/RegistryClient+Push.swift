import Foundation
import HTTPClient
import ImageStore
import OCISpec

extension RegistryClient {
    /// Whether the registry already has the blob in `repository`.
    public func blobExists(repository: String, digest: Digest, scopes: [String]) async throws -> Bool {
        let purpose = Purpose(what: "blob \(digest)", repository: repository, scopes: scopes)
        let result = try await send("HEAD", url("/v2/\(repository)/blobs/\(digest)"), purpose: purpose, accept: [404])
        return result.status != 404
    }

    /// Asks the registry to link a blob it holds in `from` into `repository` (cross-repository
    /// mount). Returns true when mounted; otherwise the upload location it offered instead.
    func mountBlob(repository: String, digest: Digest, from: String, scopes: [String]) async throws -> (mounted: Bool, location: URL?) {
        var components = URLComponents(url: url("/v2/\(repository)/blobs/uploads/"), resolvingAgainstBaseURL: true)
        components?.queryItems = [URLQueryItem(name: "mount", value: digest.description), URLQueryItem(name: "from", value: from)]
        guard let target = components?.url else { return (false, nil) }
        let purpose = Purpose(what: "mount of blob \(digest) from \(from)", repository: repository, scopes: scopes)
        let result = try await send("POST", target, purpose: purpose, headers: ["Content-Length": "0"], body: [])
        if result.status == 201 { return (true, nil) }
        return (false, try location(result, purpose: purpose))
    }

    func location(_ result: HTTPResult, purpose: Purpose) throws -> URL {
        guard let header = result.header("Location"), let location = URL(string: header, relativeTo: baseURL)?.absoluteURL else {
            throw RegistryError.badResponse(what: purpose.what, detail: "HTTP \(result.status) without an upload Location header")
        }
        return location
    }

    /// Uploads a stored blob: monolithically (POST then one PUT) or, with `chunkSize`, in PATCH
    /// chunks followed by the closing PUT. `start` is a location from a refused mount.
    public func uploadBlob(
        repository: String, descriptor: Descriptor, from store: ContentStore, chunkSize: Int? = nil,
        scopes: [String], start: URL? = nil
    ) async throws {
        let purpose = Purpose(what: "upload of blob \(descriptor.digest)", repository: repository, scopes: scopes)
        var location: URL
        if let start {
            location = start
        } else {
            let result = try await send(
                "POST", url("/v2/\(repository)/blobs/uploads/"), purpose: purpose, headers: ["Content-Length": "0"], body: [])
            location = try self.location(result, purpose: purpose)
        }
        let path = store.path(for: descriptor.digest)
        if let chunkSize, chunkSize > 0, descriptor.size > Int64(chunkSize) {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw StoreError.blobMissing(descriptor.digest) }
            defer { try? handle.close() }
            var offset: Int64 = 0
            while offset < descriptor.size {
                let chunk = try handle.read(upToCount: chunkSize) ?? Data()
                if chunk.isEmpty { break }
                let result = try await send(
                    "PATCH", location, purpose: purpose,
                    headers: [
                        "Content-Type": "application/octet-stream",
                        "Content-Range": "\(offset)-\(offset + Int64(chunk.count) - 1)",
                        "Content-Length": "\(chunk.count)",
                    ], body: [UInt8](chunk), bulk: true)
                location = try self.location(result, purpose: purpose)
                offset += Int64(chunk.count)
            }
            // The closing PUT may wait while the registry verifies the whole blob: no deadline.
            _ = try await send(
                "PUT", withDigest(location, descriptor.digest), purpose: purpose, headers: ["Content-Length": "0"], body: [], bulk: true)
        } else {
            _ = try await send(
                "PUT", withDigest(location, descriptor.digest), purpose: purpose,
                headers: [
                    "Content-Type": "application/octet-stream",
                    "Content-Length": "\(descriptor.size)",
                ], uploadFile: path, bulk: true)
        }
    }

    private func withDigest(_ location: URL, _ digest: Digest) -> URL {
        var components = URLComponents(url: location, resolvingAgainstBaseURL: true)
        var items = components?.queryItems ?? []
        items.append(URLQueryItem(name: "digest", value: digest.description))
        components?.queryItems = items
        return components?.url ?? location
    }

    /// Puts a manifest (exact bytes) under `reference` (a tag or its digest).
    public func putManifest(repository: String, reference: String, bytes: [UInt8], mediaType: String, scopes: [String]) async throws
        -> Digest
    {
        let purpose = Purpose(what: "manifest upload to \(repository):\(reference)", repository: repository, scopes: scopes)
        _ = try await send(
            "PUT", url("/v2/\(repository)/manifests/\(reference)"), purpose: purpose,
            headers: ["Content-Type": mediaType], body: bytes)
        return SHA256Hasher.digest(bytes)
    }
}

import Foundation
import ImageStore
import OCISpec

/// Pushes a stored image to a registry: every layer and the config (skipping blobs the
/// registry has, mounting from the repository the image came from when it is on the same
/// registry), then the manifest, byte for byte as stored so its digest is unchanged.
///
/// It exists as the push path of `skiff push`, sharing auth, retries and errors with pulls.
public struct ImagePusher: Sendable {
    public let store: ImageStore
    public let options: RegistryOptions
    public let progress: any TransferProgress
    /// Upload in chunks of this many bytes instead of one PUT.
    public var chunkSize: Int?

    public init(store: ImageStore, options: RegistryOptions, progress: any TransferProgress = SilentProgress(), chunkSize: Int? = nil) {
        self.store = store
        self.options = options
        self.progress = progress
        self.chunkSize = chunkSize
    }

    /// Pushes the local image `source` as `target`; returns the manifest digest. The store lock
    /// is held only to find the image and lease its content (so an `rmi` during the upload
    /// cannot collect a blob still to be sent), never across the uploads.
    @discardableResult
    public func push(_ source: String, as target: ImageReference) async throws -> Digest {
        let store = self.store
        let (image, origin, bytes, lease) = try await ImagePuller.locked(store) {
            () throws -> (Image, ImageReference?, [UInt8], ContentLease) in
            let image = try store.image(source)
            let records = try store.records()
            let origin = image.names.compactMap { records[$0]?.source }.compactMap { try? ImageReference(parsing: $0) }
                .first { $0.registry == target.registry && $0.repository != target.repository }
            for blob in image.manifest.layers + [image.manifest.config] where !store.content.has(blob.digest, size: blob.size) {
                throw StoreError.blobMissing(blob.digest)
            }
            let bytes = try store.content.read(image.manifestDigest)
            return (image, origin, bytes, try store.lease(manifest: bytes))
        }
        defer { lease.release() }
        let client = try RegistryClient(registry: target.registry, options: options)
        let scopes = [RegistryClient.pushScope(target.repository)] + (origin.map { [RegistryClient.pullScope($0.repository)] } ?? [])
        let blobs = image.manifest.layers + [image.manifest.config]
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func startNext() {
                guard next < blobs.count else { return }
                let blob = blobs[next]
                next += 1
                group.addTask { try await pushBlob(blob, client: client, target: target, origin: origin, scopes: scopes) }
            }
            for _ in 0..<max(1, options.parallelTransfers) { startNext() }
            while try await group.next() != nil { startNext() }
        }
        let mediaType = image.manifest.mediaType ?? MediaType.ociManifest
        let digest = try await client.putManifest(
            repository: target.repository, reference: target.tag ?? image.manifestDigest.description,
            bytes: bytes, mediaType: mediaType, scopes: scopes)
        progress.message("\(target.familiar): pushed, digest \(digest) size \(bytes.count)")
        return digest
    }

    func pushBlob(_ blob: Descriptor, client: RegistryClient, target: ImageReference, origin: ImageReference?, scopes: [String])
        async throws
    {
        if try await client.blobExists(repository: target.repository, digest: blob.digest, scopes: scopes) {
            progress.update(blob.digest, phase: .exists, done: blob.size, total: blob.size)
            return
        }
        var start: URL?
        if let origin {
            let (mounted, location) = try await client.mountBlob(
                repository: target.repository, digest: blob.digest, from: origin.repository, scopes: scopes)
            if mounted {
                progress.update(blob.digest, phase: .mounted, done: blob.size, total: blob.size)
                return
            }
            start = location
        }
        progress.update(blob.digest, phase: .uploading, done: 0, total: blob.size)
        try await client.uploadBlob(
            repository: target.repository, descriptor: blob, from: store.content, chunkSize: chunkSize, scopes: scopes, start: start)
        progress.update(blob.digest, phase: .done, done: blob.size, total: blob.size)
    }
}

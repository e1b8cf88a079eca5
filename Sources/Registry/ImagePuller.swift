import Foundation
import ImageStore
import JSON
import OCISpec

/// Pulls an image into the store: resolves the name, picks the platform from an index,
/// downloads config and layers in parallel (each verified), unpacks every layer as soon as it
/// has arrived, and only then points the name at the manifest.
///
/// It exists as the one pull path the CLI and the engine share. Until the last step nothing
/// names the new content, so a failed or killed pull leaves the store's images unchanged.
/// It never holds the store lock across a network wait: manifests are fetched and blobs
/// downloaded into ingest files without it (garbage collection keeps the ingest files of
/// writers that still run), and the shared lock is taken only for moments: to
/// lease the manifest's content, to commit each blob and unpack it, and to set the name. So an
/// `rmi` or `image prune` waits for at most one commit or unpack, never for a slow registry.
public struct ImagePuller: Sendable {
    public let store: ImageStore
    public let options: RegistryOptions
    public let platform: Platform
    public let progress: any TransferProgress

    public init(
        store: ImageStore, options: RegistryOptions, platform: Platform = .linuxAmd64, progress: any TransferProgress = SilentProgress()
    ) {
        self.store = store
        self.options = options
        self.platform = platform
        self.progress = progress
    }

    /// Pulls `reference` and returns the stored image.
    @discardableResult
    public func pull(_ reference: ImageReference) async throws -> Image {
        let client = try RegistryClient(registry: reference.registry, options: options)
        let name = reference.familiar
        let top = try await client.fetchManifest(repository: reference.repository, reference: reference.manifestReference, imageName: name)
        var manifestFetched = top
        var indexFetched: FetchedManifest?
        let probe = try decodeJSON(ManifestProbe.self, top.bytes, what: "manifest of \(name)")
        let kind: ManifestKind
        do { kind = try probe.kind(fallbackType: top.mediaType) } catch { throw RegistryError.unsupported(image: name, detail: "\(error)") }
        switch kind {
        case .index:
            indexFetched = top
            let index = try decodeJSON(Index.self, top.bytes, what: "index of \(name)")
            guard let chosen = index.manifest(for: platform) else {
                throw RegistryError.noMatchingPlatform(image: name, wanted: platform, available: index.platforms)
            }
            progress.message("\(name): chose \(chosen.platform?.description ?? platform.description) manifest \(chosen.digest)")
            manifestFetched = try await client.fetchManifest(
                repository: reference.repository, reference: chosen.digest.description,
                expected: chosen, imageName: name)
        case .manifest:
            break
        }
        let manifest = try decodeJSON(Manifest.self, manifestFetched.bytes, what: "manifest of \(name)")
        do { try manifest.validate() } catch { throw RegistryError.unsupported(image: name, detail: "\(error)") }
        guard manifest.config.size <= options.manifestLimit else {
            throw RegistryError.manifestTooLarge(what: "config of \(name)", limit: options.manifestLimit)
        }

        // From here on a collection keeps what the manifest names, present or still to come.
        let manifestBytes = manifestFetched.bytes
        let store = self.store
        let lease = try await Self.locked(store) { try store.lease(manifest: manifestBytes) }
        defer { lease.release() }

        var configWriter: BlobWriter?
        if !store.content.has(manifest.config.digest, size: manifest.config.size) {
            configWriter = try await client.downloadBlob(
                repository: reference.repository, descriptor: manifest.config, into: store.content,
                what: "config of \(name)")
        }
        defer { configWriter?.abort() }
        let pendingConfig = configWriter
        let config = try await Self.locked(store) { () throws -> ImageConfig in
            _ = try pendingConfig?.commit(expectedDigest: manifest.config.digest, expectedSize: manifest.config.size)
            return try store.decode(ImageConfig.self, manifest.config.digest)
        }
        do { try ImageStore.checkLayers(manifest: manifest, config: config) } catch {
            throw RegistryError.unsupported(image: name, detail: "\(error)")
        }
        try await fetchLayers(manifest: manifest, config: config, client: client, reference: reference)

        let fetched = manifestFetched, index = indexFetched
        let image = try await Self.locked(store) { () throws -> Image in
            try store.content.write(fetched.bytes, expected: fetched.digest)
            if let index { try store.content.write(index.bytes, expected: index.digest) }
            try store.setName(reference, manifest: fetched.digest, index: index?.digest, source: reference.name)
            return try store.image(reference.description)
        }
        progress.message("\(name): pulled, digest \(top.digest)")
        return image
    }

    /// Runs `body` holding the store lock shared, on a Dispatch thread: waiting for the lock
    /// (while a collection runs) must not block one of Swift's few cooperative threads.
    static func locked<T: Sendable>(_ store: ImageStore, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await runBlocking { try store.withSharedLock(body) }
    }

    /// Downloads missing layers, `options.parallelTransfers` at a time, and unpacks each on arrival.
    func fetchLayers(manifest: Manifest, config: ImageConfig, client: RegistryClient, reference: ImageReference) async throws {
        let pairs = Array(zip(manifest.layers, config.rootfs.diffIDs))
        for (layer, _) in pairs { progress.update(layer.digest, phase: .waiting, done: 0, total: layer.size) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func startNext() {
                guard next < pairs.count else { return }
                let (layer, diffID) = pairs[next]
                next += 1
                group.addTask {
                    try await fetchLayer(layer, diffID: diffID, client: client, reference: reference)
                }
            }
            for _ in 0..<max(1, options.parallelTransfers) { startNext() }
            while try await group.next() != nil { startNext() }
        }
    }

    /// Downloads one layer without the store lock, then commits and unpacks it holding it. The
    /// lease keeps a layer found present from being collected before the image is named.
    func fetchLayer(_ layer: Descriptor, diffID: Digest, client: RegistryClient, reference: ImageReference) async throws {
        let name = reference.familiar
        let haveBlob = store.content.has(layer.digest, size: layer.size)
        if haveBlob && store.snapshots.has(diffID) {
            progress.update(layer.digest, phase: .exists, done: layer.size, total: layer.size)
            return
        }
        var writer: BlobWriter?
        if !haveBlob {
            let progress = self.progress
            progress.update(layer.digest, phase: .downloading, done: 0, total: layer.size)
            writer = try await client.downloadBlob(
                repository: reference.repository, descriptor: layer, into: store.content,
                what: "layer \(layer.digest) of \(name)"
            ) { done in
                progress.update(layer.digest, phase: .downloading, done: done, total: layer.size)
            }
        }
        defer { writer?.abort() }
        let downloaded = writer
        let store = self.store
        let progress = self.progress
        try await Self.locked(store) {
            _ = try downloaded?.commit(expectedDigest: layer.digest, expectedSize: layer.size)
            if !store.snapshots.has(diffID) {
                progress.update(layer.digest, phase: .unpacking, done: layer.size, total: layer.size)
                try store.snapshots.ensure(diffID: diffID, layer: layer.digest, blobPath: store.content.path(for: layer.digest))
            }
        }
        progress.update(layer.digest, phase: .done, done: layer.size, total: layer.size)
    }
}

/// Runs blocking work (unpacking) on a Dispatch thread so Swift's small cooperative pool stays free.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws -> T {
    do {
        return try JSONDecoding.decode(type, from: bytes)
    } catch {
        throw RegistryError.badResponse(what: what, detail: "not a valid document: \(JSONDecoding.describe(error))")
    }
}

// MARK: - The store-side entry points

extension ImageStore {
    /// Pulls `reference` into this store and returns the image: the call the engine makes before
    /// `prepareRootfs(image:containerID:)` when an image is not present yet.
    @discardableResult
    public func pull(
        _ reference: ImageReference, options: RegistryOptions = RegistryOptions(), platform: Platform = .linuxAmd64,
        progress: any TransferProgress = SilentProgress()
    ) async throws -> Image {
        try await ImagePuller(store: self, options: options, platform: platform, progress: progress).pull(reference)
    }

    /// The stored image for `name`, pulled first when it is not in the store (`skiff run`'s rule).
    public func imageOrPull(
        _ name: String, options: RegistryOptions = RegistryOptions(), platform: Platform = .linuxAmd64,
        defaultRegistry: String = ImageReference.dockerHub, progress: any TransferProgress = SilentProgress()
    ) async throws -> Image {
        do {
            return try withSharedLock { try image(name, defaultRegistry: defaultRegistry) }
        } catch StoreError.imageNotFound {
            return try await pull(
                try ImageReference(parsing: name, defaultRegistry: defaultRegistry), options: options, platform: platform,
                progress: progress)
        }
    }
}

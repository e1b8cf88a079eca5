import ImageStore
import OCISpec

extension ImageStore {
    /// Pulls `reference` into this store and returns the image: the call the engine makes before
    /// `prepareRootfs(image:containerID:)` when an image is not present yet.
    @discardableResult
    public func pull(_ reference: ImageReference, options: RegistryOptions = RegistryOptions(), platform: Platform = .linuxAmd64,
                     progress: any TransferProgress = SilentProgress()) async throws -> Image {
        try await ImagePuller(store: self, options: options, platform: platform, progress: progress).pull(reference)
    }

    /// The stored image for `name`, pulled first when it is not in the store (`skiff run`'s rule).
    public func imageOrPull(_ name: String, options: RegistryOptions = RegistryOptions(), platform: Platform = .linuxAmd64,
                            defaultRegistry: String = ImageReference.dockerHub, progress: any TransferProgress = SilentProgress()) async throws -> Image {
        do {
            return try withSharedLock { try image(name, defaultRegistry: defaultRegistry) }
        } catch StoreError.imageNotFound {
            return try await pull(try ImageReference(parsing: name, defaultRegistry: defaultRegistry), options: options, platform: platform, progress: progress)
        }
    }
}

import ImageStore
import OCISpec

extension Engine {
    /// `rmi` (and the API's image delete): the store removes the names, refusing an image a
    /// running container uses even with `force`, as docker does (its blobs would go from under
    /// the container, and `inspect`/`commit` of it would fail); the engine says which are running.
    public func removeImages(_ names: [String], force: Bool, defaultRegistry: String = ImageReference.dockerHub) throws -> PruneReport {
        // The image IDs behind the names, for the journal's untag and delete events.
        var ids: [String: Digest] = [:]
        for name in names {
            if let image = try? images.withSharedLock({ try images.image(name, defaultRegistry: defaultRegistry) }) {
                for each in image.names { ids[each] = image.id }
            }
        }
        let report = try images.remove(
            names, force: force, defaultRegistry: defaultRegistry,
            isRunning: { id in (try? store.load(id: id)).map { liveStatus($0).state == .running } ?? false })
        events.recordRemoval(report, images: ids)
        return report
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Engine
import ImageStore
import LinuxSupport
import OCISpec

/// `skiff export` and `skiff import`: a container's whole filesystem as a tar, and a
/// filesystem tar as a one-layer image.
public enum FilesystemArchive {
    /// Writes the container's merged root (its image's files with its changes) as a tar to `fd`.
    public static func export(engine: Engine, container reference: String, to fd: Int32) throws {
        let record = try engine.store.resolve(reference)
        if record.vm != nil { return try engine.exportMicroVMRootfs(record, to: fd) }
        let merged = "\(engine.images.root)/containers/\(record.id)/merged"
        guard (try? Mounts.table())?.contains(" \(merged) ") == true else {
            throw ImageBuilder.Failure("the root filesystem of \(record.name) is not mounted: start the container once, then export it")
        }
        try LayerDiff.write(upper: merged, to: fd)
    }

    /// Stores the uncompressed tar read from `fd` as the one layer of an image named `name`,
    /// with `changes` (Dockerfile lines, as commit's) applied to an empty config.
    public static func importTar(from fd: Int32, engine: Engine, name: ImageReference, changes: [String], message: String?) throws -> Digest
    {
        let writer = try BlobWriter(store: engine.images.content, what: "the imported filesystem")
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        do {
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw SystemError("read the tar") }
                if n == 0 { break }
                if head.count < 512 { head += buffer[0..<min(n, 512 - head.count)] }
                try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            guard head.count >= 262, Array(head[257..<262]) == Array("ustar".utf8) else {
                throw ImageBuilder.Failure(
                    "the input is not an uncompressed tar (compressed archives are not taken yet: decompress it first)")
            }
        } catch {
            writer.abort()
            throw error
        }
        let size = writer.bytesWritten
        let digest = try writer.commit(expectedDigest: nil, expectedSize: nil)
        var config = try ContainerCommit.apply(changes, to: StageState(base: nil).image)
        config.rootfs = RootFS(diffIDs: [digest])
        config.history = [History(created: Timestamp.now(), createdBy: "skiff import", comment: message)]
        let layer = Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: size)
        return try ImageOutput.storeImage(config: config, layers: [layer], names: [name], in: engine.images).id
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CArchive
import Foundation
import JSON
import LinuxSupport
import OCISpec

extension ImageStore {
    /// Writes `names` to a tar archive at `path` that is both an OCI image layout (`oci-layout`,
    /// `index.json`, `blobs/`) and a `docker save` archive (`manifest.json`), as docker 25+ writes
    /// them, so `docker load`, `podman load`, `skopeo` (oci-archive: and docker-archive:) and
    /// `skiff load` all read it. The file appears only when complete.
    public func save(_ names: [String], to path: String, defaultRegistry: String = ImageReference.dockerHub) throws {
        try withSharedLock {
            let images = try imagesToSave(names, defaultRegistry: defaultRegistry)
            Self.removeDeadSaveLeftovers(of: path)
            let temporary =
                Self.saveTemporaryDirectory(of: path) + "/" + ProcessLease.current.name(prefix: Self.saveTemporaryPrefix(of: path))
            do {
                try writeArchive(images, to: temporary)
                FaultInjection.point("save-archive-written")
                try sysCall("rename \(temporary) to \(path)") { rename(temporary, path) }
            } catch {
                unlink(temporary)
                throw error
            }
        }
    }

    /// Writes the same archive to `fd`, a pipe or file the caller holds (`skiff save` to its
    /// standard output), as it is made: nothing is named, so there is nothing to leave behind.
    public func save(_ names: [String], toDescriptor fd: Int32, defaultRegistry: String = ImageReference.dockerHub) throws {
        try withSharedLock {
            let images = try imagesToSave(names, defaultRegistry: defaultRegistry)
            try writeArchive(images, describing: "standard output") { archive_write_open_fd($0, fd) }
        }
    }

    /// Each name's image and the full name it is saved under.
    private func imagesToSave(_ names: [String], defaultRegistry: String) throws -> [(String, Image)] {
        var images: [(String, Image)] = []
        for name in names {
            let image = try image(name, defaultRegistry: defaultRegistry)
            let reference = try? ImageReference(parsing: name, defaultRegistry: defaultRegistry)
            let full = reference.flatMap { image.names.contains($0.description) ? $0.description : nil } ?? image.names.first
            images.append((full ?? "", image))
        }
        return images
    }

    static func saveTemporaryDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `OUT.tmp`: the archive is written as `OUT.tmp-<pid>-<start time>-<random>` next to `OUT`.
    static func saveTemporaryPrefix(of path: String) -> String {
        String(path[(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)...]) + ".tmp"
    }

    /// Removes the partial archives of saves to `path` whose process is dead: this skiff's
    /// `OUT.tmp-<pid>-<start>-<random>`, and an older skiff's `OUT.tmp-<pid>` when no process
    /// has that pid.
    static func removeDeadSaveLeftovers(of path: String) {
        let directory = saveTemporaryDirectory(of: path), prefix = saveTemporaryPrefix(of: path)
        for name in (try? FileIO.listDirectory(directory)) ?? [] where name.hasPrefix(prefix + "-") {
            let rest = name.dropFirst(prefix.count + 1)
            let dead: Bool
            if let oldPid = Int32(rest) {
                dead = ProcStat.read(pid: oldPid) == nil
            } else {
                dead = ProcessLease.parse(name: name, prefix: prefix).map { !$0.isAlive } ?? false
            }
            if dead { unlink(directory + "/" + name) }
        }
    }

    private func writeArchive(_ images: [(String, Image)], to path: String) throws {
        try writeArchive(images, describing: path) { archive_write_open_filename($0, path) }
    }

    private func writeArchive(_ images: [(String, Image)], describing path: String, open: (OpaquePointer) -> Int32) throws {
        guard let archive = archive_write_new() else { throw StoreError.system("libarchive: out of memory") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        guard open(archive) == ARCHIVE_OK else {
            throw StoreError.system("cannot create \(path): \(Self.archiveMessage(archive))")
        }
        var written = Set<Digest>()
        var indexEntries: [Descriptor] = []
        var dockerEntries: [DockerArchiveEntry] = []
        try addFile(archive, "oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        for (name, image) in images {
            let manifestBytes = try content.read(image.manifestDigest)
            for descriptor in [image.manifest.config] + image.manifest.layers where written.insert(descriptor.digest).inserted {
                try addBlob(archive, descriptor.digest, size: descriptor.size)
            }
            if written.insert(image.manifestDigest).inserted {
                try addFile(archive, "blobs/sha256/\(image.manifestDigest.encoded)", manifestBytes)
            }
            var annotations: [String: String] = [:]
            var repoTags: [String] = []
            if let reference = try? ImageReference(parsing: name) {
                annotations[containerdImageNameAnnotation] = reference.description
                if let tag = reference.tag {
                    annotations[Descriptor.refNameAnnotation] = tag
                    repoTags.append(reference.familiarName + ":" + tag)
                }
            }
            indexEntries.append(
                Descriptor(
                    mediaType: image.manifest.mediaType ?? MediaType.ociManifest, digest: image.manifestDigest,
                    size: Int64(manifestBytes.count), annotations: annotations.isEmpty ? nil : annotations))
            dockerEntries.append(
                DockerArchiveEntry(
                    Config: "blobs/sha256/\(image.manifest.config.digest.encoded)", RepoTags: repoTags,
                    Layers: image.manifest.layers.map { "blobs/sha256/\($0.digest.encoded)" }))
        }
        try addFile(archive, "index.json", try JSONEncoding.encode(Index(manifests: indexEntries), sortedKeys: true))
        try addFile(archive, "manifest.json", try JSONEncoding.encode(dockerEntries, sortedKeys: true))
        guard archive_write_close(archive) == ARCHIVE_OK else {
            throw StoreError.system("cannot finish \(path): \(Self.archiveMessage(archive))")
        }
    }

    static func archiveMessage(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    private func header(_ archive: OpaquePointer, _ name: String, size: Int64) throws {
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, 0o100000)
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, 0, 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else {
            throw StoreError.system("cannot write \(name) to the archive: \(Self.archiveMessage(archive))")
        }
    }

    private func addFile(_ archive: OpaquePointer, _ name: String, _ bytes: [UInt8]) throws {
        try header(archive, name, size: Int64(bytes.count))
        let written = bytes.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, bytes.count) }
        guard written == bytes.count else { throw StoreError.system("cannot write \(name): \(Self.archiveMessage(archive))") }
    }

    private func addBlob(_ archive: OpaquePointer, _ digest: Digest, size: Int64) throws {
        let path = content.path(for: digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.blobMissing(digest) }
        defer { close(fd) }
        try header(archive, "blobs/sha256/\(digest.encoded)", size: size)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { raw in try sysCall("read \(path)") { read(fd, raw.baseAddress, raw.count) } }
            if n == 0 { break }
            let written = buffer.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, n) }
            guard written == n else { throw StoreError.system("cannot write blob \(digest): \(Self.archiveMessage(archive))") }
            total += Int64(n)
        }
        guard total == size else { throw StoreError.sizeMismatch(expected: size, actual: total, what: "stored blob \(digest)") }
    }
}

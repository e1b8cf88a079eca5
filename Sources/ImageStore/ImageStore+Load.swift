#if canImport(Glibc)
import Glibc
#endif
import CArchive
import Foundation
import JSON
import LinuxSupport
import OCISpec

extension ImageStore {
    /// Loads every image in an archive (an OCI image layout or a `docker save` archive, plain or
    /// gzip/zstd-compressed) and returns the names it set. Blobs are verified against their
    /// names as they stream in; layers are unpacked and checked against the config's diffIDs;
    /// names are set last, so a bad archive leaves no new names.
    public func load(from path: String, platform: Platform = .linuxAmd64) throws -> [String] {
        try withSharedLock {
            let contents = try readArchive(path)
            var loaded: [(ImageReference?, Digest)] = []
            let dockerEntries: [DockerArchiveEntry]?
            if let manifestJSON = contents.files["manifest.json"] {
                do { dockerEntries = try JSONDecoding.decode([DockerArchiveEntry].self, from: manifestJSON) } catch {
                    throw StoreError.corruptMetadata(path: "\(path): manifest.json", detail: JSONDecoding.describe(error))
                }
            } else {
                dockerEntries = nil
            }
            if let indexJSON = contents.files["index.json"] {
                // An OCI layout (docker 25+ writes both files): its manifests load unchanged.
                let index: Index
                do { index = try JSONDecoding.decode(Index.self, from: indexJSON) } catch {
                    throw StoreError.corruptMetadata(path: "\(path): index.json", detail: JSONDecoding.describe(error))
                }
                for descriptor in index.manifests {
                    let manifestDigest = try resolveManifest(descriptor, platform: platform, archive: path)
                    if let name = Self.fullName(from: descriptor.annotations) {
                        loaded.append((name, manifestDigest))
                        continue
                    }
                    // No full name in the index: docker's manifest.json may have the tags.
                    let configHex = try decode(Manifest.self, manifestDigest).config.digest.encoded
                    let tags = dockerEntries?.first { $0.Config.hasSuffix(configHex) || $0.Config.hasPrefix(configHex) }?.RepoTags ?? []
                    let references = tags.compactMap { try? ImageReference(parsing: $0) }
                    if references.isEmpty {
                        loaded.append((Self.tagOnlyName(from: descriptor.annotations), manifestDigest))
                    }
                    for reference in references { loaded.append((reference, manifestDigest)) }
                }
            } else if let dockerEntries {
                for entry in dockerEntries {
                    let manifestDigest = try importDockerEntry(entry, contents: contents, archive: path)
                    let tags = entry.RepoTags ?? []
                    if tags.isEmpty { loaded.append((nil, manifestDigest)) }
                    for tag in tags { loaded.append((try ImageReference(parsing: tag), manifestDigest)) }
                }
            } else {
                throw StoreError.system("\(path) is neither an OCI image layout nor a docker save archive (no index.json or manifest.json)")
            }
            var names: [String] = []
            for (reference, manifestDigest) in loaded {
                let manifest = try decode(Manifest.self, manifestDigest)
                let config = try decode(ImageConfig.self, manifest.config.digest)
                let reference =
                    reference ?? ImageReference(registry: "localhost", repository: "loaded", tag: manifest.config.digest.shortID)
                try unpack(manifest: manifest, config: config, image: reference.description)
                try setName(reference, manifest: manifestDigest)
                names.append(reference.description)
            }
            return names
        }
    }

    /// The full image name in an OCI index entry: containerd's annotation, or a full reference
    /// in `ref.name`.
    static func fullName(from annotations: [String: String]?) -> ImageReference? {
        if let full = annotations?[containerdImageNameAnnotation], let reference = try? ImageReference(parsing: full) { return reference }
        if let ref = annotations?[Descriptor.refNameAnnotation], ref.contains("/") || ref.contains(":"),
            let reference = try? ImageReference(parsing: ref)
        {
            return reference
        }
        return nil
    }

    /// A bare tag in `ref.name` names `localhost/loaded:TAG`, as nothing better is known.
    static func tagOnlyName(from annotations: [String: String]?) -> ImageReference? {
        guard let tag = annotations?[Descriptor.refNameAnnotation], ImageReference.isValidTag(tag) else { return nil }
        return ImageReference(registry: "localhost", repository: "loaded", tag: tag)
    }

    private func resolveManifest(_ descriptor: Descriptor, platform: Platform, archive: String) throws -> Digest {
        guard content.has(descriptor.digest, size: descriptor.size) else {
            throw StoreError.system("\(archive) lists \(descriptor.digest) but does not contain it (or its size differs)")
        }
        if MediaType.isIndex(descriptor.mediaType) {
            let index = try decode(Index.self, descriptor.digest)
            guard let chosen = index.manifest(for: platform) else {
                throw StoreError.system("\(archive): no image for \(platform) in index \(descriptor.digest)")
            }
            return try resolveManifest(chosen, platform: platform, archive: archive)
        }
        let manifest = try decode(Manifest.self, descriptor.digest)
        do { try manifest.validate() } catch { throw StoreError.system("\(archive): \(error)") }
        for blob in [manifest.config] + manifest.layers where !content.has(blob.digest, size: blob.size) {
            throw StoreError.system("\(archive) is missing blob \(blob.digest) of manifest \(descriptor.digest)")
        }
        return descriptor.digest
    }

    /// Builds an OCI manifest for a docker save entry (whose layers may be plain tars).
    private func importDockerEntry(_ entry: DockerArchiveEntry, contents: ArchiveContents, archive: String) throws -> Digest {
        guard let config = contents.blob(entry.Config) else {
            throw StoreError.system("\(archive): config \(entry.Config) named in manifest.json is missing")
        }
        var layers: [Descriptor] = []
        for layerPath in entry.Layers {
            guard let layer = contents.blob(layerPath) else {
                throw StoreError.system("\(archive): layer \(layerPath) named in manifest.json is missing")
            }
            let mediaType: String
            switch try compression(of: layer.digest) {
            case .gzip: mediaType = MediaType.ociLayerGzip
            case .zstd: mediaType = MediaType.ociLayerZstd
            case .uncompressed: mediaType = MediaType.ociLayer
            }
            layers.append(Descriptor(mediaType: mediaType, digest: layer.digest, size: layer.size))
        }
        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: config.digest, size: config.size), layers: layers)
        return try content.write(try JSONEncoding.encode(manifest, sortedKeys: true))
    }

    private func compression(of digest: Digest) throws -> LayerCompression {
        let fd = open(content.path(for: digest), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.blobMissing(digest) }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = read(fd, &magic, 4)
        if n >= 2, magic[0] == 0x1f, magic[1] == 0x8b { return .gzip }
        if n == 4, magic == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .uncompressed
    }

    /// What an archive held: small metadata files by name, and every other regular file stored
    /// as a blob (verified against its name when it is under blobs/).
    struct ArchiveContents {
        var files: [String: [UInt8]] = [:]
        var blobs: [String: (digest: Digest, size: Int64)] = [:]
        var links: [String: String] = [:]

        func blob(_ path: String) -> (digest: Digest, size: Int64)? {
            var current = Self.clean(path)
            for _ in 0..<8 {
                if let blob = blobs[current] { return blob }
                guard let target = links[current] else { return nil }
                current = target
            }
            return nil
        }

        static func clean(_ path: String) -> String {
            var parts: [Substring] = []
            for part in path.split(separator: "/") {
                if part == "." || part.isEmpty { continue }
                if part == ".." {
                    _ = parts.popLast()
                    continue
                }
                parts.append(part)
            }
            return parts.joined(separator: "/")
        }
    }

    private func readArchive(_ path: String) throws -> ArchiveContents {
        guard let archive = archive_read_new() else { throw StoreError.system("libarchive: out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_format_tar(archive)
        archive_read_support_filter_gzip(archive)
        archive_read_support_filter_zstd(archive)
        guard archive_read_open_filename(archive, path, 1 << 20) == ARCHIVE_OK else {
            throw StoreError.system("cannot read \(path): \(Self.archiveMessage(archive))")
        }
        var contents = ArchiveContents()
        var entry: OpaquePointer?
        let metadataLimit = 16 << 20
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry, let rawName = archive_entry_pathname(entry) else {
                throw StoreError.system("\(path) is not a valid image archive: \(Self.archiveMessage(archive))")
            }
            let name = ArchiveContents.clean(String(cString: rawName))
            let type = archive_entry_filetype(entry) & 0o170000
            if type == 0o120000, let target = archive_entry_symlink(entry) {
                let directory = name.split(separator: "/").dropLast().joined(separator: "/")
                contents.links[name] = ArchiveContents.clean(directory + "/" + String(cString: target))
                continue
            }
            if let target = archive_entry_hardlink(entry) {
                contents.links[name] = ArchiveContents.clean(String(cString: target))
                continue
            }
            guard type == 0o100000 else { continue }
            let expected: Digest? =
                name.hasPrefix("blobs/sha256/") ? try? Digest(sha256Hex: String(name.dropFirst("blobs/sha256/".count))) : nil
            let isMetadata = ["index.json", "manifest.json", "oci-layout", "repositories"].contains(name)
            if isMetadata {
                guard archive_entry_size(entry) <= metadataLimit else {
                    throw StoreError.system("\(path): \(name) is larger than \(metadataLimit >> 20) MiB")
                }
                contents.files[name] = try readAll(archive, name: name)
                continue
            }
            if name.hasPrefix("blobs/") && expected == nil { continue }  // other algorithms: not used by manifests we accept
            let writer = try BlobWriter(store: content, what: "\(name) in \(path)")
            defer { writer.abort() }
            var block: UnsafeRawPointer?
            var length = 0
            var offset: Int64 = 0
            while true {
                let status = archive_read_data_block(archive, &block, &length, &offset)
                if status == ARCHIVE_EOF { break }
                guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
                    throw StoreError.system("reading \(name) from \(path): \(Self.archiveMessage(archive))")
                }
                if let block, length > 0 { try writer.write(UnsafeRawBufferPointer(start: block, count: length)) }
            }
            let size = writer.bytesWritten
            let digest = try writer.commit(expectedDigest: expected, expectedSize: nil)
            contents.blobs[name] = (digest, size)
        }
        return contents
    }

    private func readAll(_ archive: OpaquePointer, name: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if n == 0 { return bytes }
            guard n > 0 else { throw StoreError.system("reading \(name): \(Self.archiveMessage(archive))") }
            bytes.append(contentsOf: buffer[0..<n])
        }
    }
}

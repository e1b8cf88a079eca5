#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import OCISpec

/// An image name whose manifest or config cannot be read: listings skip it and say so.
public struct DamagedImage: Sendable, Equatable {
    /// The canonical name (`docker.io/library/busybox:latest`).
    public var name: String
    public var manifest: Digest
    /// What is wrong ("blob sha256:... missing").
    public var problem: String

    /// The name as users type it (`busybox:latest`, `127.0.0.1:5000/app:1`).
    public var familiar: String { (try? ImageReference(parsing: name).familiar) ?? name }

    public var explanation: String {
        "image \(familiar) is damaged: \(problem); `skiff rmi -f \(familiar)` removes it"
    }

    /// The short problem text of a load error.
    static func problem(of error: any Error) -> String {
        switch error {
        case StoreError.blobMissing(let digest): return "blob \(digest) missing"
        case StoreError.corruptMetadata(let path, let detail): return "\(path) unreadable (\(detail))"
        default: return "\(error)"
        }
    }
}

extension ImageStore {
    /// `images()` that skips names whose manifest or config is missing or unreadable and
    /// returns them apart, so one damaged image does not hide the others.
    public func imagesReportingDamage() throws -> (images: [Image], damaged: [DamagedImage]) {
        let records = try index.load()
        var seen: [Digest: Bool] = [:]
        var images: [Image] = []
        var damaged: [DamagedImage] = []
        for record in records.values.sorted(by: { $0.updated > $1.updated }) where seen[record.manifest] == nil {
            do {
                images.append(try load(manifest: record.manifest, records: records, indexDigest: record.index))
                seen[record.manifest] = true
            } catch {
                seen[record.manifest] = false
                for name in records.filter({ $0.value.manifest == record.manifest }).keys.sorted() {
                    damaged.append(DamagedImage(name: name, manifest: record.manifest, problem: DamagedImage.problem(of: error)))
                }
            }
        }
        return (images, damaged)
    }

    /// The names `name` stands for and their manifest when the image cannot be loaded: a name
    /// of the index, or a prefix of the manifest digest (the image ID needs the config, which
    /// may be what is missing). nil when `name` names nothing recorded.
    func damagedTarget(_ name: String, records: [String: ImageRecord], defaultRegistry: String) -> (manifest: Digest, names: [String])? {
        if let reference = try? ImageReference(parsing: name, defaultRegistry: defaultRegistry), let record = records[reference.description] {
            return (record.manifest, [reference.description])
        }
        let prefix = name.hasPrefix("sha256:") ? String(name.dropFirst(7)) : name
        guard prefix.count >= 4, prefix.allSatisfy(\.isHexDigit) else { return nil }
        let manifests = Set(records.values.map(\.manifest).filter { $0.encoded.hasPrefix(prefix) })
        guard manifests.count == 1, let manifest = manifests.first else { return nil }
        return (manifest, records.filter { $0.value.manifest == manifest }.map(\.key).sorted())
    }
}


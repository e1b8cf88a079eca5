#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

/// What the engine knows about one volume, kept as `<root>/volumes/<name>/volume.json` next to
/// the data directory `_data` that containers bind-mount.
public struct VolumeRecord: Codable, Sendable, Equatable {
    public var name: String
    public var created: String
    /// Made for one container (`-v /path` or an image's Volumes) and removed with it by `rm -v`.
    public var anonymous: Bool
    public var labels: [String: String]?
    public var driver: String { "local" }

    enum CodingKeys: String, CodingKey { case name, created, anonymous, labels }
}

/// The volumes under the store root: `<root>/volumes/<name>/{volume.json,_data}`. Callers hold
/// the container store's lock around changes, so a volume cannot be removed while a container
/// that uses it is being created.
public struct VolumeStore: Sendable {
    public let directory: String

    public init(root: String) { directory = root + "/volumes" }

    public func path(of name: String) -> String { directory + "/" + name }
    public func dataPath(of name: String) -> String { path(of: name) + "/_data" }

    /// docker's rule for volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters).
    public static func validate(name: String) throws {
        guard name.utf8.count >= 2, name.utf8.count <= 255, let first = name.first, first.isASCII, first.isLetter || first.isNumber,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
        else {
            throw EngineError.invalidOption(
                "invalid volume name '\(name)': use [a-zA-Z0-9][a-zA-Z0-9_.-]+ (or an absolute host path for a bind mount)")
        }
    }

    public func exists(_ name: String) -> Bool { FileIO.exists(path(of: name) + "/volume.json") }

    public func load(_ name: String) throws -> VolumeRecord {
        try Self.validate(name: name)
        guard let bytes = try? FileIO.read(path(of: name) + "/volume.json") else { throw EngineError.noSuchVolume(name) }
        do { return try RuntimeJSON.decode(VolumeRecord.self, from: bytes) } catch {
            throw EngineError.corruptRecord(path: path(of: name) + "/volume.json", reason: "\(error)")
        }
    }

    /// Creates the volume, or returns the existing one of that name (as docker does).
    @discardableResult
    public func create(_ name: String, anonymous: Bool = false, labels: [String: String] = [:]) throws -> VolumeRecord {
        try Self.validate(name: name)
        if exists(name) { return try load(name) }
        let record = VolumeRecord(name: name, created: Timestamp.now(), anonymous: anonymous, labels: labels.isEmpty ? nil : labels)
        do {
            try FileIO.makeDirectories(directory, mode: 0o700)
            try FileIO.makeDirectories(dataPath(of: name), mode: 0o755)
            // The record last: a volume without one is half made and is not listed.
            try FileIO.writeAtomically(path(of: name) + "/volume.json", try RuntimeJSON.encode(record, pretty: true), mode: 0o600)
        } catch {
            FileIO.removeTree(path(of: name))
            throw error
        }
        return record
    }

    public func all() -> [VolumeRecord] {
        let names = (try? FileIO.listDirectory(directory)) ?? []
        return names.compactMap { try? load($0) }.sorted { $0.name < $1.name }
    }

    /// Removes the volume and its data (the caller checked that no container uses it). The
    /// directory is first renamed out of the way, so a removal killed half way leaves no
    /// half-empty volume behind, only a hidden `.removing-*` directory the next removal deletes.
    public func remove(_ name: String) throws {
        _ = try load(name)
        let trash = directory + "/.removing-\(name)-\(getpid())"
        try sysCall("rename volume \(name)") { rename(path(of: name), trash) }
        FileIO.removeTree(trash)
        removeLeftovers()
    }

    /// Deletes what killed removals left.
    func removeLeftovers() {
        for entry in (try? FileIO.listDirectory(directory)) ?? [] where entry.hasPrefix(".removing-") {
            let pid = entry.split(separator: "-").last.flatMap { Int32($0) } ?? 0
            if pid == getpid() || !Processes.exists(pid) { FileIO.removeTree(directory + "/" + entry) }
        }
    }

    /// Bytes used by a volume's data (file sizes, each inode once).
    public func size(of name: String) -> Int64 {
        DiskUsage.bytes(under: dataPath(of: name))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// A small file that states something for as long as the process that wrote it runs: who holds
/// the store lock (`lock-holders/`), which manifest a pull in progress needs kept (`leases/`).
///
/// It exists so such facts need no cleanup after a kill: the file's name carries the writer's
/// `ProcessLease` (pid and start time, as the snapshot store's temporary directories do), so a
/// reader tells a live writer's records from a dead one's, pid reuse included, and the store's
/// leftover cleanup removes the dead ones. It is written under a temporary name and renamed, so
/// no reader sees one half written; not synced, as it means nothing after a crash.
public final class LiveRecord: Sendable {
    public let path: String
    static let prefix = "record"

    public init(directory: String, contents: [UInt8]) throws {
        let path = directory + "/" + ProcessLease.current.name(prefix: Self.prefix)
        do {
            try FileIO.writeAtomically(path, contents, mode: 0o600, durable: false)
        } catch let error as SystemError where error.errno == ENOENT {
            try FileIO.makeDirectories(directory, mode: 0o700)
            try FileIO.writeAtomically(path, contents, mode: 0o600, durable: false)
        }
        self.path = path
    }

    /// Removes the record.
    public func release() { unlink(path) }

    /// The contents of every record in `directory` whose writer still runs.
    public static func live(in directory: String) -> [[UInt8]] {
        names(in: directory).compactMap { name in
            guard let lease = ProcessLease.parse(name: name, prefix: prefix), lease.isAlive else { return nil }
            return try? FileIO.read(directory + "/" + name)
        }
    }

    /// Removes the records of writers that are gone, and anything else not a record's name.
    public static func removeStale(in directory: String) {
        for name in (try? FileIO.listDirectory(directory)) ?? [] {
            let lease = ProcessLease.parse(name: name, prefix: prefix)
            if lease?.isAlive != true { unlink(directory + "/" + name) }
        }
    }

    /// Complete records' names (not the temporary files of one being written).
    private static func names(in directory: String) -> [String] {
        ((try? FileIO.listDirectory(directory)) ?? []).filter { !$0.contains(".tmp-") }
    }
}

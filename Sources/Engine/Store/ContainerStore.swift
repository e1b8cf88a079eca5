#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import ImageStore
import LinuxSupport

/// The engine's state store: one directory per container under `<root>/containers/<id>/` (shared
/// with the image store's rootfs: `upper`, `work`, `merged`) holding `container.json` (the
/// record), `config.json` (the OCI spec; the directory is the bundle) and `container.log`.
/// Every change happens under an exclusive `flock` on `<root>/containers.lock` and is written with
/// an atomic rename, so concurrent skiff processes and a monitor never see half a record or give
/// two containers one name.
public struct ContainerStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public var containersDirectory: String { root + "/containers" }
    public func directory(for id: String) -> String { containersDirectory + "/" + id }
    public func recordPath(for id: String) -> String { directory(for: id) + "/container.json" }
    public func logPath(for id: String) -> String { directory(for: id) + "/container.log" }

    /// Runs `body` holding the store's exclusive lock, after removing what dead creators left.
    public func locked<T>(_ body: () throws -> T) throws -> T {
        try lockedAfterCleanup { _ in try body() }
    }

    /// `locked`, telling `body` which abandoned container directories were just removed.
    public func lockedAfterCleanup<T>(_ body: (_ removed: [String]) throws -> T) throws -> T {
        try FileIO.makeDirectories(containersDirectory, mode: 0o700)
        let lock = try FileLock(path: root + "/containers.lock", exclusive: true)
        defer { lock.unlock() }
        return try body(removeAbandoned())
    }

    /// Removes container directories whose creator died before the record was written (a
    /// `create` killed after it mounted the root filesystem), their overlay mount with them, and
    /// staging directories (`.new-*`) of dead processes. Only under the lock: a create holds it
    /// from the directory's birth to the record, and the creator lease (`ImageStore.creatorFile`)
    /// keeps a directory whose creator still runs even so. A directory without a lease and
    /// without a record is one a removal killed half way left: removed too.
    func removeAbandoned() -> [String] {
        var removed: [String] = []
        for name in (try? FileIO.listDirectory(containersDirectory)) ?? [] {
            if name.hasPrefix(".new-") {
                if !ProcessLease.isAlive(name: name, prefix: ".new") { FileIO.removeTree(directory(for: name)) }
                continue
            }
            guard !name.hasPrefix("."), FileIO.isDirectory(directory(for: name)), !FileIO.exists(recordPath(for: name)) else { continue }
            if let creator = ImageStore.creator(ofContainerDirectory: directory(for: name)), creator.isAlive { continue }
            guard let images = try? ImageStore(root: root), (try? images.release(containerID: name)) != nil else { continue }
            removed.append(name)
        }
        return removed
    }

    public func load(id: String) throws -> EngineContainer {
        let path = recordPath(for: id)
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path) } catch { throw EngineError.noSuchContainer(id) }
        do { return try RuntimeJSON.decode(EngineContainer.self, from: bytes) } catch {
            throw EngineError.corruptRecord(path: path, reason: "\(error)")
        }
    }

    public func save(_ record: EngineContainer) throws {
        // A --rm container's record need not survive a crash: no sync on `run --rm`'s path.
        try FileIO.writeAtomically(
            recordPath(for: record.id), try RuntimeJSON.encode(record, pretty: true), mode: 0o600,
            durable: !record.autoRemove)
    }

    /// Loads, changes and saves a record under the lock; nil when the container is gone.
    @discardableResult
    public func update(id: String, _ change: (inout EngineContainer) -> Void) throws -> EngineContainer? {
        try locked {
            guard FileIO.exists(recordPath(for: id)) else { return nil }
            var record = try load(id: id)
            change(&record)
            try save(record)
            return record
        }
    }

    /// Every readable record, oldest first.
    public func all() -> [EngineContainer] {
        let ids = (try? FileIO.listDirectory(containersDirectory)) ?? []
        return ids.compactMap { try? load(id: $0) }.sorted { $0.created < $1.created }
    }

    /// Container directories `all()` cannot list: made by a create that has not written the
    /// record (yet, or ever: its creator was killed), or holding a record that does not parse.
    /// `known`: IDs whose records were just read (`all()`), not read again.
    public func unlisted(known: Set<String> = []) -> [UnlistedContainer] {
        var result: [UnlistedContainer] = []
        for id in (try? FileIO.listDirectory(containersDirectory)) ?? []
        where !id.hasPrefix(".") && !known.contains(id) && FileIO.isDirectory(directory(for: id)) {
            let problem: UnlistedContainer.Problem
            if FileIO.exists(recordPath(for: id)) {
                do {
                    _ = try load(id: id)
                    continue
                } catch EngineError.corruptRecord(_, let reason) {
                    problem = .damaged(reason: "container.json is unreadable (\(reason))")
                } catch { continue }
            } else {
                let creator = ImageStore.creator(ofContainerDirectory: directory(for: id))
                problem = .incomplete(creator: creator, creatorAlive: creator?.isAlive ?? false)
            }
            result.append(UnlistedContainer(id: id, problem: problem))
        }
        return result.sorted { $0.id < $1.id }
    }

    /// Finds a container by full ID, name, or unique ID prefix, as docker does.
    public func resolve(_ reference: String) throws -> EngineContainer {
        let records = all()
        if let exact = records.first(where: { $0.id == reference || $0.name == reference }) { return exact }
        let matches = reference.isEmpty ? [] : records.filter { $0.id.hasPrefix(reference) }
        if matches.count > 1 { throw EngineError.ambiguousContainer(reference) }
        guard let match = matches.first else { throw EngineError.noSuchContainer(reference) }
        return match
    }

    /// A fresh 64-hex-digit ID from the kernel's random source.
    public static func newID() throws -> String {
        let bytes = try randomBytes(32)
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    static func randomBytes(_ count: Int) throws -> [UInt8] {
        let fd = try sysCall("open /dev/urandom") { open("/dev/urandom", O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        return try Descriptors.readExactly(fd, count, what: "/dev/urandom")
    }

    /// docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
    public static func validate(name: String) throws {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }), name.utf8.count <= 128
        else {
            throw EngineError.invalidName(name)
        }
    }

    /// A generated name in docker's adjective_noun style that no container uses yet.
    public func generateName(taken: Set<String>) throws -> String {
        let adjectives = [
            "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
            "nimble", "proud", "quiet", "rapid", "sharp", "tidy", "vivid", "witty", "young", "zesty",
        ]
        let nouns = [
            "albatross", "beaver", "cormorant", "dolphin", "egret", "falcon", "gannet", "heron", "ibis", "jacana",
            "kestrel", "loon", "merganser", "narwhal", "osprey", "petrel", "quail", "rorqual", "skua", "tern",
        ]
        for _ in 0..<64 {
            let random = try Self.randomBytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let name = adjectives[Int(random % 20)] + "_" + nouns[Int((random / 20) % 20)] + (random > 0x7fff_ffff ? "\(random % 100)" : "")
            if !taken.contains(name) { return name }
        }
        return "skiff_" + (try Self.newID()).prefix(12)
    }
}

/// A container directory without a usable record, for `ps -a`, `rm -f` and `system check`.
public struct UnlistedContainer: Sendable, Equatable {
    public enum Problem: Sendable, Equatable {
        /// No `container.json`: its create is under way (creator alive) or was killed.
        case incomplete(creator: ProcessLease?, creatorAlive: Bool)
        /// `container.json` is there but unreadable.
        case damaged(reason: String)
    }
    public var id: String
    public var problem: Problem

    public init(id: String, problem: Problem) {
        self.id = id
        self.problem = problem
    }

    public var shortID: String { String(id.prefix(12)) }

    /// `ps`'s STATUS for it.
    public var status: String {
        switch problem {
        case .incomplete(_, let alive): return alive ? "Creating" : "Created (incomplete: its create was killed)"
        case .damaged: return "Damaged (container.json unreadable)"
        }
    }

    /// What is wrong and what to do, for stderr.
    public var explanation: String {
        switch problem {
        case .incomplete(let creator, let alive):
            if alive, let creator { return "container \(shortID) is being created by process \(creator.pid)" }
            return "container \(shortID) is incomplete: the create that made it was killed before it wrote the record; "
                + "`skiff rm -f \(shortID)` (or any command that changes containers) removes it"
        case .damaged(let reason):
            return "container \(shortID) is damaged: \(reason); `skiff rm -f \(shortID)` stops and removes it"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import ImageStore
import LinuxSupport
import Networking
import OCISpec

/// One event in docker's shape (`docker events`, `GET /events`): what happened to which object.
public struct EngineEvent: Codable, Sendable, Equatable {
    public struct EventActor: Codable, Sendable, Equatable {
        public var ID: String
        public var Attributes: [String: String]
    }
    public var `Type`: String
    public var Action: String
    public var Actor: EventActor
    public var scope: String
    public var time: Int64
    public var timeNano: Int64
    /// docker's older fields, still read by docker-py and compose: status (the action), id, from (the image).
    public var status: String?
    public var id: String?
    public var from: String?

    public init(type: String, action: String, id: String, attributes: [String: String], timeNano: Int64? = nil) {
        let nano = timeNano ?? Self.nowNano()
        self.Type = type
        self.Action = action
        self.Actor = EventActor(ID: id, Attributes: attributes)
        self.scope = "local"
        self.time = nano / 1_000_000_000
        self.timeNano = nano
        if type == "container" {
            status = action
            self.id = id
            from = attributes["image"]
        }
    }

    /// A container's event: its image and name, its labels (docker's attributes), and `extra`.
    public static func container(_ record: EngineContainer, _ action: String, extra: [String: String] = [:]) -> EngineEvent {
        var attributes = record.labels ?? [:]
        attributes["image"] = record.image
        attributes["name"] = record.name
        attributes.merge(extra) { _, new in new }
        return EngineEvent(type: "container", action: action, id: record.id, attributes: attributes)
    }

    public static func image(_ action: String, id: String, name: String) -> EngineEvent {
        EngineEvent(type: "image", action: action, id: id, attributes: ["name": name])
    }

    /// A network's event; `container` for connect and disconnect.
    public static func network(_ action: String, _ network: NetworkDefinition, container: String? = nil) -> EngineEvent {
        var attributes = ["name": network.name, "type": network.driver]
        if let container { attributes["container"] = container }
        return EngineEvent(type: "network", action: action, id: network.id, attributes: attributes)
    }

    public static func volume(_ action: String, name: String) -> EngineEvent {
        EngineEvent(type: "volume", action: action, id: name, attributes: ["driver": "local"])
    }

    static func nowNano() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// docker's line of `docker events`: `TIME TYPE ACTION ID (key=value, ...)`.
    public var line: String {
        let when = Timestamp.format(seconds: Int(timeNano / 1_000_000_000), nanoseconds: Int(timeNano % 1_000_000_000))
        let attributes = Actor.Attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return "\(when) \(Type) \(Action) \(Actor.ID)" + (attributes.isEmpty ? "" : " (\(attributes))")
    }
}

/// docker's event filters: `type`, `event` (or `action`), `container` (ID prefix or name),
/// `image` (name or ID), `label` (KEY or KEY=VALUE of the attributes). Values of one key are
/// alternatives; different keys must all hold.
public struct EventFilter: Sendable, Equatable {
    public static let keys = ["type", "event", "action", "container", "image", "label"]
    public var values: [String: [String]]

    public init(_ values: [String: [String]]) throws {
        if let unknown = values.keys.first(where: { !Self.keys.contains($0) }) {
            throw EngineError.invalidOption("invalid event filter '\(unknown)': use \(Self.keys.joined(separator: ", "))")
        }
        self.values = values
    }

    /// `--filter KEY=VALUE` texts.
    public init(parsing texts: [String]) throws {
        var values: [String: [String]] = [:]
        for text in texts {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw EngineError.invalidOption("invalid event filter '\(text)': use KEY=VALUE, such as type=container or event=start")
            }
            values[String(text[..<equals]), default: []].append(String(text[text.index(after: equals)...]))
        }
        try self.init(values)
    }

    public func matches(_ event: EngineEvent) -> Bool {
        func check(_ key: String, _ test: (String) -> Bool) -> Bool {
            guard let wanted = values[key], !wanted.isEmpty else { return true }
            return wanted.contains(where: test)
        }
        let attributes = event.Actor.Attributes
        return check("type") { $0 == event.Type }
            && check("event") { $0 == event.Action || event.Action.hasPrefix($0 + ":") }
            && check("action") { $0 == event.Action }
            && check("container") { wanted in
                event.Type == "container" && (event.Actor.ID.hasPrefix(wanted) || attributes["name"] == wanted)
            }
            && check("image") { wanted in
                attributes["image"] == wanted
                    || (event.Type == "image" && (attributes["name"] == wanted || event.Actor.ID.contains(wanted)))
            }
            && check("label") { wanted in
                let parts = wanted.split(separator: "=", maxSplits: 1).map(String.init)
                guard let value = attributes[parts[0]] else { return false }
                return parts.count == 1 || value == parts[1]
            }
    }
}

/// The store's event journal: JSON lines appended to `<root>/events.jsonl` by every process that
/// changes the store (the CLI, the API service, container monitors), each event one write(2)
/// with O_APPEND, so writers never interleave. Bounded: past `limit` bytes the file becomes
/// `events.jsonl.1` (the one older file kept), so the journal holds at most twice the limit.
/// Recording never fails an operation: an event that cannot be written is lost.
public struct EventJournal: Sendable {
    public static let limit = 1 << 20
    public let path: String
    public var previousPath: String { path + ".1" }

    public init(root: String) { path = root + "/events.jsonl" }

    public func record(_ event: EngineEvent) {
        guard var bytes = try? RuntimeJSON.encode(event) else { return }
        bytes.append(UInt8(ascii: "\n"))
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var st = stat()
        if written > 0, fstat(fd, &st) == 0, Int(st.st_size) > Self.limit { rotate(inode: st.st_ino) }
    }

    /// Moves the full file aside, once: a lock orders writers that all found it full.
    private func rotate(inode: ino_t) {
        let lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { return }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { return }
        defer { flock(lock, LOCK_UN) }
        var st = stat()
        guard stat(path, &st) == 0, st.st_ino == inode else { return }  // another writer rotated it
        rename(path, previousPath)
    }

    /// Where a reader is: the file (by inode) and the offset read up to.
    public struct Cursor: Sendable, Equatable {
        var inode: ino_t
        var offset: Int
    }

    /// Every event in the journal (the older file first) and the cursor after the last.
    public func readAll() -> (events: [EngineEvent], cursor: Cursor) {
        var events = Self.parse(path: previousPath, from: 0).events
        var st = stat()
        guard stat(path, &st) == 0 else { return (events, Cursor(inode: 0, offset: 0)) }
        let (current, end) = Self.parse(path: path, from: 0)
        events += current
        return (events, Cursor(inode: st.st_ino, offset: end))
    }

    /// The events written since `cursor`, following a rotation in between.
    public func readNew(after cursor: Cursor) -> (events: [EngineEvent], cursor: Cursor) {
        var st = stat()
        guard stat(path, &st) == 0 else { return ([], cursor) }
        if st.st_ino == cursor.inode {
            guard Int(st.st_size) > cursor.offset else { return ([], cursor) }
            let (events, end) = Self.parse(path: path, from: cursor.offset)
            return (events, Cursor(inode: cursor.inode, offset: end))
        }
        // Rotated: the rest of the old file (now the previous one), then the new file whole.
        var events: [EngineEvent] = []
        var old = stat()
        if cursor.inode != 0, stat(previousPath, &old) == 0, old.st_ino == cursor.inode {
            events = Self.parse(path: previousPath, from: cursor.offset).events
        }
        let (current, end) = Self.parse(path: path, from: 0)
        return (events + current, Cursor(inode: st.st_ino, offset: end))
    }

    /// The whole lines of `path` from `offset`; a line cut short (a writer mid-way) waits for the
    /// next read, and a line that is not an event is skipped. Returns the offset after the last whole line.
    static func parse(path: String, from offset: Int) -> (events: [EngineEvent], end: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ([], offset) }
        defer { close(fd) }
        guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else { return ([], offset) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while data.count < 4 * limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else { return ([], offset) }
        var events: [EngineEvent] = []
        for line in data[...lastNewline].split(separator: UInt8(ascii: "\n")) {
            if let event = try? RuntimeJSON.decode(EngineEvent.self, from: Array(line)) { events.append(event) }
        }
        return (events, offset + lastNewline + 1)
    }
}

extension Engine {
    /// The store's event journal.
    public var events: EventJournal { EventJournal(root: store.root) }

    func recordEvent(_ record: EngineContainer, _ action: String, extra: [String: String] = [:]) {
        events.record(.container(record, action, extra: extra))
    }
}

extension EventJournal {
    /// The events of an image removal: `untag` for each name, `delete` for each image whose
    /// config went (`images`: the removed names' image IDs, looked up before the removal).
    public func recordRemoval(_ report: PruneReport, images: [String: Digest]) {
        for name in report.removedNames { record(.image("untag", id: images[name]?.description ?? name, name: name)) }
        for id in Set(images.values) where report.removedBlobs.contains(id) { record(.image("delete", id: id.description, name: "")) }
    }
}

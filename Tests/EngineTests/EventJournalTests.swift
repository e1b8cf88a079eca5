#if canImport(Glibc)
import Glibc
#endif
import Engine
import LinuxSupport
import Testing

/// The event journal on a real file in a directory of the test's own: appends, reads from a
/// cursor, rotation past the limit, cut lines and docker's filters.
@Suite struct EventJournalTests {
    func withDirectory(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/skiff-events-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp") }
        let directory = String(cString: made)
        defer { FileIO.removeTree(directory) }
        try body(directory)
    }

    func event(_ action: String, _ id: String, name: String = "web", type: String = "container", at nano: Int64 = 1_000_000_000_123)
        -> EngineEvent
    {
        EngineEvent(type: type, action: action, id: id, attributes: ["name": name, "image": "busybox", "tier": "front"], timeNano: nano)
    }

    @Test func appendedEventsAreReadOnceFromACursor() throws {
        try withDirectory { directory in
            let journal = EventJournal(root: directory)
            #expect(journal.readAll().events.isEmpty)
            journal.record(event("create", "abc"))
            journal.record(event("start", "abc"))
            let (all, cursor) = journal.readAll()
            #expect(all.map(\.Action) == ["create", "start"] && all[0].time == 1000 && all[0].timeNano == 1_000_000_000_123)
            #expect(all[0].status == "create" && all[0].id == "abc" && all[0].from == "busybox")
            #expect(journal.readNew(after: cursor).events.isEmpty)
            journal.record(event("die", "abc"))
            let (fresh, next) = journal.readNew(after: cursor)
            #expect(fresh.map(\.Action) == ["die"])
            // A line cut short (a writer mid-way) waits for its end; junk lines are skipped.
            let fd = open(journal.path, O_WRONLY | O_APPEND)
            _ = Array("not json\n{\"Type\":\"conta".utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            #expect(journal.readNew(after: next).events.isEmpty)
            close(fd)
        }
    }

    @Test func theJournalRotatesPastItsLimitAndAReaderFollows() throws {
        try withDirectory { directory in
            let journal = EventJournal(root: directory)
            journal.record(event("create", "first"))
            let cursor = journal.readAll().cursor
            var written = 1
            repeat {
                journal.record(event("exec_start", String(written)))
                written += 1
            } while !FileIO.exists(journal.previousPath) && written < 100_000
            #expect(FileIO.exists(journal.previousPath), "no rotation after \(written) events")
            journal.record(event("destroy", "last"))
            let (events, _) = journal.readNew(after: cursor)
            #expect(events.count == written && events.last?.Action == "destroy", "\(events.count) of \(written)")
            let finalSize = (try? FileIO.read(journal.path).count) ?? 0
            #expect(finalSize > 0 && finalSize < EventJournal.limit)
        }
    }

    @Test func filtersAreDockers() throws {
        let start = event("start", "abc123")
        let image = event("pull", "busybox:latest", name: "busybox:latest", type: "image")
        func matches(_ texts: [String], _ event: EngineEvent) throws -> Bool { try EventFilter(parsing: texts).matches(event) }
        #expect(try matches([], start) && matches(["type=container"], start) && !matches(["type=image"], start))
        #expect(try matches(["event=start", "event=die"], start) && !matches(["event=die"], start))
        #expect(try matches(["container=abc"], start) && matches(["container=web"], start) && !matches(["container=other"], start))
        #expect(try matches(["image=busybox"], start) && matches(["image=busybox:latest"], image) && !matches(["container=abc"], image))
        #expect(try matches(["label=tier=front"], start) && matches(["label=tier"], start) && !matches(["label=tier=back"], start))
        #expect(try matches(["type=container", "event=start"], start) && !matches(["type=container", "event=die"], start))
        #expect(throws: EngineError.self) { try EventFilter(parsing: ["color=red"]) }
        #expect(throws: EngineError.self) { try EventFilter(parsing: ["type"]) }
        #expect(
            start.line == "1970-01-01T00:16:40.000000123Z container start abc123 (image=busybox, name=web, tier=front)")
    }
}

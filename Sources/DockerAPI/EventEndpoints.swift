#if canImport(Glibc)
import Glibc
#endif
import Engine
import LinuxSupport

extension DockerService {
    /// `GET /events?since=&until=&filters=`: the journal's events from `since` (none of the past
    /// without it, as docker), then new ones as they are written, until `until` passes or the
    /// client goes. `since`/`until` are Unix times (fractions allowed), RFC 3339 times or
    /// durations before now (10m).
    func streamEvents(_ call: Call) throws {
        let filters = try Self.parseFilters(call.query["filters"])
        let filter: EventFilter
        do { filter = try EventFilter(filters) } catch { throw APIError.badRequest("\(error)") }
        func time(_ key: String) throws -> Double? {
            guard let text = call.query[key], !text.isEmpty else { return nil }
            do {
                let window = try LogTimeFilter(since: text, until: nil, now: Timestamp.nowSeconds())
                return window.since
            } catch {
                throw APIError.badRequest("invalid \(key) \(text): give a Unix time, an RFC 3339 time or a duration such as 10m")
            }
        }
        let since = try time("since")
        let until = try time("until")
        if let since, let until, until < since { throw APIError.badRequest("since must be before until") }
        let journal = engine.events
        call.responder.startStream(contentType: "application/json")
        func send(_ events: [EngineEvent]) -> Bool {
            var bytes: [UInt8] = []
            for event in events where filter.matches(event) {
                let seconds = Double(event.timeNano) / 1e9
                if let since, seconds < since { continue }
                if let until, seconds > until { continue }
                bytes += (try? APIJSON.encode(event)) ?? []
                bytes.append(UInt8(ascii: "\n"))
            }
            return call.responder.write(bytes)
        }
        var (past, cursor) = journal.readAll()
        if since == nil { past = [] }
        guard send(past) else { return call.responder.finish() }
        while !call.responder.isClosed {
            if let until, Timestamp.nowSeconds() > until { break }
            usleep(100_000)
            let (fresh, next) = journal.readNew(after: cursor)
            cursor = next
            if !send(fresh) { break }
        }
        call.responder.finish()
    }
}

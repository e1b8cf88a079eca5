import Engine
import Testing

@Suite struct LogTimeFilterTests {
    let now = 1_764_790_000.0  // 2025-12-03T19:26:40Z

    @Test func durationsCountBackFromNow() throws {
        #expect(try LogTimeFilter(since: "10m", until: nil, now: now).since == now - 600)
        #expect(try LogTimeFilter(since: "1h30m", until: nil, now: now).since == now - 5400)
        #expect(try LogTimeFilter(since: "2.5s", until: "500ms", now: now) == LogTimeFilter(since: now - 2.5, until: now - 0.5))
    }

    @Test func unixSecondsAndRFC3339() throws {
        #expect(try LogTimeFilter(since: "1764790000", until: nil, now: 0).since == 1_764_790_000)
        #expect(try LogTimeFilter(since: "1764790000.25", until: nil, now: 0).since == 1_764_790_000.25)
        #expect(try LogTimeFilter(since: "2025-12-03T19:26:40Z", until: nil, now: 0).since == 1_764_790_000)
        #expect(try LogTimeFilter(since: "2025-12-03T19:26:40.5Z", until: nil, now: 0).since == 1_764_790_000.5)
        #expect(try LogTimeFilter(since: "2025-12-03T20:26:40+01:00", until: nil, now: 0).since == 1_764_790_000)
        #expect(try LogTimeFilter(since: "2025-12-03", until: nil, now: 0).since == 1_764_720_000)
    }

    @Test func entriesInsideTheWindowAreShown() throws {
        let window = try LogTimeFilter(since: "2025-12-03T19:26:40Z", until: "2025-12-03T19:27:00Z", now: 0)
        #expect(!window.includes("2025-12-03T19:26:39.999Z"))  // compared in seconds as Double: microsecond precision
        #expect(window.includes("2025-12-03T19:26:40.001Z"))
        #expect(window.includes("2025-12-03T19:26:59.5Z"))
        #expect(!window.includes("2025-12-03T19:27:00.1Z"))
        #expect(LogTimeFilter().includes("anything"))
    }

    @Test func badValuesAreRefused() {
        for text in ["", "yesterday", "10x", "2025-13-01", "2025-12-03T25:00:00Z", "2025-12-03T19:26:40Zjunk", "-5m"] {
            #expect(throws: EngineError.self, "\(text)") { try LogTimeFilter(since: text, until: nil, now: 0) }
        }
    }
}

import Foundation
import Testing

/// `logs --since` and `--until` on a real container's log.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct LogsWindowTests {
    @Test func sinceAndUntilSplitTheOutputInTime() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", fixture.image, "sh", "-c", "echo first; sleep 2; echo second"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try eventually(15) { try fixture.skiff("logs", [id]).stdout == "first\n" })
        // "first" is already in the log (a skiff logs run ago), so a mark taken now is after it.
        let mark = String(format: "%.3f", Date().timeIntervalSince1970)
        #expect(try eventually(15) { try fixture.skiff("logs", [id]).stdout == "first\nsecond\n" })
        #expect(try fixture.skiff("logs", ["--since", mark, id]).stdout == "second\n")
        #expect(try fixture.skiff("logs", ["--until", mark, id]).stdout == "first\n")
        #expect(try fixture.skiff("logs", ["--since", "1h", id]).stdout == "first\nsecond\n")
        #expect(try fixture.skiff("logs", ["--since", "1h", "--until", "30m", id]).stdout == "")
        let bad = try fixture.skiff("logs", ["--since", "yesterday", id])
        #expect(bad.status == 125 && bad.stderr.contains("--since"), "\(bad.stderr)")
    }
}

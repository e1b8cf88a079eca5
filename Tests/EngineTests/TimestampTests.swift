#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Testing

/// LinuxSupport's RFC 3339 formatter and parser (docker's nanosecond form, UTC).
@Suite struct TimestampTests {
    @Test func formatsNanosecondsInUTC() {
        #expect(Timestamp.format(seconds: 0, nanoseconds: 0) == "1970-01-01T00:00:00.000000000Z")
        #expect(Timestamp.format(seconds: 1_764_790_000, nanoseconds: 123_456_789) == "2025-12-03T19:26:40.123456789Z")
        #expect(Timestamp.format(seconds: 1_764_790_000, nanoseconds: 5) == "2025-12-03T19:26:40.000000005Z")
    }

    @Test func parsesWhatItFormatsAndOtherForms() throws {
        let text = Timestamp.format(seconds: 1_764_790_000, nanoseconds: 500_000_000)
        #expect(Timestamp.seconds(text) == 1_764_790_000.5)
        #expect(Timestamp.seconds("2025-12-03T19:26:40Z") == 1_764_790_000)
        #expect(Timestamp.seconds("2025-12-03T20:26:40+01:00") == 1_764_790_000)
        #expect(Timestamp.seconds("2025-12-03") == 1_764_720_000)
        #expect(Timestamp.seconds("2025-13-03") == nil)
        #expect(Timestamp.seconds("yesterday") == nil)
    }

    @Test func nowIsCurrentAndWellFormed() throws {
        let text = Timestamp.now()
        #expect(text.count == 30 && text.hasSuffix("Z"))
        let seconds = try #require(Timestamp.seconds(text))
        #expect(abs(seconds - Double(time(nil))) < 5)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Testing

/// /proc/PID/stat and cmdline as the engine reads them to find processes without a record.
struct ProcStatTests {
    @Test func aStatLineWithParenthesesInTheNameParses() throws {
        let fields = (4...22).map { $0 == 4 ? "77" : $0 == 22 ? "123456" : "0" }.joined(separator: " ")
        let stat = try #require(ProcStat(statLine: "42 (a) b (c) S " + fields))
        #expect(stat.state == "S" && stat.parentPid == 77 && stat.startTime == 123456)
        #expect(ProcStat(statLine: "42 (a) S x") == nil)
        #expect(ProcStat(statLine: "no parenthesis") == nil)
    }

    @Test func thisProcessIsFoundWithItsArguments() throws {
        #expect(ProcStat.allPids().contains(getpid()))
        let arguments = try #require(ProcStat.commandLine(pid: getpid()))
        #expect(!arguments.isEmpty && arguments.allSatisfy { !$0.isEmpty })
        #expect(try #require(ProcStat.read(pid: getpid())).parentPid == getppid())
        #expect(ProcStat.commandLine(pid: Int32.max) == nil)
    }
}

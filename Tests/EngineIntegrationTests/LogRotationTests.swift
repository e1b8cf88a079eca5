import Foundation
import Testing

/// --log-opt max-size/max-file: a chatty container's log stays within its bound, `logs` reads
/// across the rotated files, a foreground run loses nothing; --log-driver none; --stop-timeout.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct LogRotationTests {
    func logBytes(_ fixture: EngineFixture, _ name: String) throws -> Int {
        let id = try fixture.skiff("inspect", ["-f", "{{.Id}}", name], check: true).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let directory = fixture.root + "/containers/" + id
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("container.log") }.reduce(0) {
            $0 + ((try FileManager.default.attributesOfItem(atPath: directory + "/" + $1)[.size] as? Int) ?? 0)
        }
    }

    @Test func fiftyMegabytesLeaveAtMostThree() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "chatty-\(UInt32.random(in: 0...UInt32.max))"
        // 50 MB of output in 100-byte lines, then a last line to look for.
        let script = "busybox yes $(busybox printf '%099d' 0) | busybox head -c 52428800; echo last-line"
        _ = try fixture.skiff(
            "run", ["-d", "--name", name, "--log-opt", "max-size=1m", "--log-opt", "max-file=3", fixture.image, "sh", "-c", script],
            check: true)
        #expect(try fixture.skiff("wait", [name], check: true).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let bytes = try logBytes(fixture, name)
        #expect(bytes <= 3 << 20, "the log holds \(bytes) bytes")
        #expect(bytes > 2 << 20, "the log holds \(bytes) bytes: rotation kept too little")
        let logs = try fixture.skiff("logs", [name], check: true).stdout
        #expect(logs.hasSuffix("last-line\n"))
        // What is kept is continuous: every line but the last is one of the 100-byte lines.
        let lines = logs.split(separator: "\n")
        #expect(lines.count > 10_000 && lines.dropLast().allSatisfy { $0.count == 99 }, "\(lines.count) lines")
        #expect(try fixture.skiff("logs", ["-n", "1", name], check: true).stdout == "last-line\n")
    }

    /// A foreground run of a rotating container prints every line, however far behind the
    /// reader falls (it reads the attach socket, not the rotated file).
    @Test func foregroundRunLosesNothing() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let script = "i=0; while [ $i -lt 60000 ]; do echo line-$i; i=$((i+1)); done; exit 4"
        let run = try fixture.skiff(
            "run", ["--rm", "--log-opt", "max-size=64k", "--log-opt", "max-file=2", fixture.image, "sh", "-c", script])
        #expect(run.status == 4, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 60_000 && lines.last == "line-59999", "\(lines.count) lines")
    }

    @Test func noneDriverAndStopTimeout() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "quiet-\(UInt32.random(in: 0...UInt32.max))"
        let run = try fixture.skiff("run", ["--rm", "--log-driver", "none", fixture.image, "sh", "-c", "echo shown; exit 2"])
        #expect(run.status == 2 && run.stdout == "shown\n", "\(run.stderr)")
        _ = try fixture.skiff(
            "run", ["-d", "--name", name, "--log-driver", "none", "--stop-timeout", "1", fixture.image, "sleep", "300"], check: true)
        let logs = try fixture.skiff("logs", [name])
        #expect(logs.status == 125 && logs.stderr.contains("--log-driver none"), "\(logs.stderr)")
        #expect(
            try fixture.skiff("inspect", ["-f", "{{.HostConfig.LogConfig.Type}} {{.Config.StopTimeout}}", name], check: true).stdout
                == "none 1\n")
        // sleep as PID 1 ignores SIGTERM: stop waits the container's 1 s, not docker's 10.
        let started = Date()
        _ = try fixture.skiff("stop", [name], check: true)
        #expect(Date().timeIntervalSince(started) < 6, "stop took \(Date().timeIntervalSince(started)) s")
        let refused = try fixture.skiff("run", ["--rm", "--log-driver", "journald", fixture.image, "true"])
        #expect(refused.status == 125 && refused.stderr.contains("not supported"), "\(refused.stderr)")
    }
}

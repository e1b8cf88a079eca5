import Foundation
import Testing

/// --health-*: the monitor runs the check while the program runs; unhealthy after the retries,
/// healthy again on success; inspect, ps and its health filter show it; a check over its
/// timeout fails and says so.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct HealthCheckTests {
    @Test func failingCheckTurnsUnhealthyThenHealthy() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "health-\(UInt32.random(in: 0...UInt32.max))"
        _ = try fixture.skiff(
            "run",
            [
                "-d", "--name", name, "--health-cmd", "test -e /tmp/ok && echo fine", "--health-interval", "500ms", "--health-retries", "2",
                fixture.image, "sleep", "300",
            ], check: true)
        func status() throws -> String {
            try fixture.skiff("inspect", ["-f", "{{.State.Health.Status}}", name], check: true).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try eventually(20) { try status() == "unhealthy" })
        let streak = try fixture.skiff("inspect", ["-f", "{{.State.Health.FailingStreak}}", name], check: true).stdout
        #expect((Int(streak.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 2)
        #expect(try fixture.skiff("ps", ["--format", "{{.Status}}"], check: true).stdout.contains("(unhealthy)"))
        #expect(try fixture.skiff("ps", ["--filter", "health=unhealthy", "--format", "{{.Names}}"], check: true).stdout == name + "\n")
        _ = try fixture.skiff("exec", [name, "touch", "/tmp/ok"], check: true)
        #expect(try eventually(20) { try status() == "healthy" })
        let log = try fixture.skiff("inspect", ["-f", "{{range .State.Health.Log}}{{.ExitCode}}:{{.Output}}|{{end}}", name], check: true)
            .stdout
        #expect(log.contains("0:fine"), "\(log)")
        #expect(try fixture.skiff("ps", ["--filter", "health=healthy", "-q"], check: true).stdout.count > 1)
        let config = try fixture.skiff(
            "inspect", ["-f", "{{index .Config.Healthcheck.Test 0}} {{.Config.Healthcheck.Retries}}", name], check: true)
        #expect(config.stdout == "CMD-SHELL 2\n")
        // An event for each change, as docker's "health_status: ..." events.
        let events = try fixture.skiff(
            "events", ["--since", "10m", "--until", "0s", "--filter", "container=\(name)", "--format", "{{.Action}}"], check: true
        ).stdout
        #expect(events.contains("health_status: unhealthy") && events.contains("health_status: healthy"), "\(events)")
    }

    @Test func timeoutFailsTheCheckAndFlagsAreChecked() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "slow-\(UInt32.random(in: 0...UInt32.max))"
        _ = try fixture.skiff(
            "run",
            [
                "-d", "--name", name, "--health-cmd", "sleep 30", "--health-interval", "500ms", "--health-timeout", "500ms",
                "--health-retries", "1", fixture.image, "sleep", "300",
            ], check: true)
        #expect(
            try eventually(20) {
                try fixture.skiff("inspect", ["-f", "{{.State.Health.Status}}", name], check: true).stdout == "unhealthy\n"
            })
        let output = try fixture.skiff("inspect", ["-f", "{{range .State.Health.Log}}{{.Output}}{{end}}", name], check: true).stdout
        #expect(output.contains("exceeded timeout"), "\(output)")
        for (arguments, message) in [
            (["--health-cmd", "true", "--health-interval", "soon"], "duration"), (["--health-interval", "1s"], "need a check"),
            (["--no-healthcheck", "--health-cmd", "true"], "conflicts"),
        ] {
            let refused = try fixture.skiff("run", ["--rm"] + arguments + [fixture.image, "true"])
            #expect(refused.status == 125 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
        let plain = try fixture.skiff("run", ["--rm", fixture.image, "true"], check: true)
        #expect(plain.status == 0)
    }

    /// A check is the image's, so hostile: one that floods its output and leaves a writer behind
    /// holding the pipe must neither stall the checks nor grow the monitor (docker keeps 4 KiB).
    @Test func aFloodingCheckIsBounded() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "flood-\(UInt32.random(in: 0...UInt32.max))"
        _ = try fixture.skiff(
            "run",
            [
                "-d", "--name", name, "--health-cmd", "(busybox yes &) ; busybox yes | busybox head -c 200000; exit 0",
                "--health-interval", "500ms", "--health-timeout", "5s", fixture.image, "sleep", "300",
            ], check: true)
        #expect(
            try eventually(30) {
                try fixture.skiff("inspect", ["-f", "{{.State.Health.Status}}", name], check: true).stdout == "healthy\n"
            })
        let output = try fixture.skiff("inspect", ["-f", "{{range .State.Health.Log}}{{len .Output}} {{end}}", name], check: true).stdout
        let sizes = output.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(!sizes.isEmpty && sizes.allSatisfy { $0 <= 4096 }, "\(output)")
    }
}

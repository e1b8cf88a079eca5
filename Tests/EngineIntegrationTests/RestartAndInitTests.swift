import Foundation
import Testing

/// --restart handled by the monitor, `skiff restart`, and --init as PID 1.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct RestartAndInitTests {
    func monitorAlive(_ fixture: EngineFixture, _ id: String) -> Bool {
        guard let pid = fixture.field(id, "monitorPid") as? Int else { return false }
        return processExists(pid)
    }

    /// How many times the container's program said "trapped": it does once its signal trap is set.
    func trapsInLog(_ fixture: EngineFixture, _ id: String) -> Int {
        ((try? fixture.skiff("logs", [id]).stdout.components(separatedBy: "trapped").count) ?? 1) - 1
    }

    @Test func onFailureRestartsUpToTheLimitThenStopsWithTheCode() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", "--restart", "on-failure:2", fixture.image, "sh", "-c", "echo run; exit 3"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(15) { !monitorAlive(fixture, id) && fixture.field(id, "status") as? String == "exited" })
        #expect(fixture.field(id, "restartCount") as? Int == 2)
        #expect(fixture.field(id, "exitCode") as? Int == 3)
        let runs = try fixture.skiff("logs", [id], check: true).stdout.components(separatedBy: "run\n").count - 1
        #expect(runs == 3)
        let inspect = try fixture.skiff("inspect", [id], check: true).stdout
        #expect(inspect.contains("\"RestartCount\" : 2") || inspect.contains("\"RestartCount\": 2"), "\(inspect)")
        #expect(inspect.contains("\"on-failure\""), "\(inspect)")
        #expect(try fixture.skiff("wait", [id]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3")

        // A success is not a failure: no restart.
        let fine = try fixture.skiff("run", ["-d", "--restart", "on-failure", fixture.image, "true"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(10) { !monitorAlive(fixture, fine) && fixture.field(fine, "status") as? String == "exited" })
        #expect(fixture.field(fine, "restartCount") as? Int == 0)
    }

    @Test func alwaysRestartsUntilStop() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", "--restart", "always", fixture.image, "sh", "-c", "echo run; sleep 0.2"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(15) { (fixture.field(id, "restartCount") as? Int ?? 0) >= 2 })
        try fixture.skiff("stop", ["-t", "2", id], check: true)
        // The monitor, the only one that restarts, has ended instead of restarting: no later
        // restart can come, so there is nothing to wait for.
        let count = fixture.field(id, "restartCount") as? Int
        #expect(!monitorAlive(fixture, id))
        #expect(fixture.field(id, "restartCount") as? Int == count)
        #expect(fixture.field(id, "status") as? String == "exited")
        #expect(!(try fixture.skiff("ps", []).stdout.contains(String(id.prefix(12)))))
        // A later start runs it (and its policy) again.
        try fixture.skiff("start", [id], check: true)
        #expect(eventually(15) { (fixture.field(id, "restartCount") as? Int ?? 0) >= 1 })
        try fixture.skiff("rm", ["-f", id], check: true)
        #expect(!monitorAlive(fixture, id))
        #expect(!fixture.containerIDs().contains(id))

        // Between runs (the backoff grows to seconds) ps lists it as restarting; rm -f then
        // stops the monitor and removes everything.
        let failing = try fixture.skiff("run", ["-d", "--restart", "always", fixture.image, "sh", "-c", "exit 2"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(15) { (try? fixture.skiff("ps", []).stdout.contains("Restarting (2)")) == true })
        // rm without -f refuses it whether it is between runs or (the backoff being short at
        // first) already running again.
        let refused = try fixture.skiff("rm", [failing])
        #expect(refused.status == 1 && (refused.stderr.contains("restarting") || refused.stderr.contains("running")), "\(refused.stderr)")
        try fixture.skiff("rm", ["-f", failing], check: true)
        #expect(!monitorAlive(fixture, failing))
        #expect(!fixture.containerIDs().contains(failing))
        #expect(fixture.cgroupDirectories(failing).isEmpty)
    }

    @Test func stopDoesNotTriggerARestart() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        for policy in ["on-failure", "unless-stopped"] {
            let id = try fixture.skiff("run", ["-d", "--restart", policy, fixture.image, "sleep", "60"], check: true)
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(eventually { fixture.field(id, "status") as? String == "running" })
            try fixture.skiff("stop", ["-t", "1", id], check: true)
            #expect(eventually(10) { !monitorAlive(fixture, id) }, "\(policy)")
            #expect(fixture.field(id, "restartCount") as? Int == 0, "\(policy)")
            #expect(fixture.field(id, "status") as? String == "exited", "\(policy)")
            #expect(!monitorAlive(fixture, id), "\(policy)")
        }
        // kill with a fatal signal disables the policy until the next start; a non-fatal one
        // (the program exits on SIGUSR1 here) does not.
        let killed = try fixture.skiff(
            "run",
            [
                "-d", "--restart", "always", fixture.image, "sh", "-c",
                "trap 'exit 3' USR1; echo trapped; while true; do sleep 0.1; done",
            ], check: true
        )
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The signal is sent once the trap is in place (the program says so in its log).
        #expect(eventually { trapsInLog(fixture, killed) == 1 })
        try fixture.skiff("kill", ["-s", "USR1", killed], check: true)
        #expect(eventually(10) { fixture.field(killed, "restartCount") as? Int == 1 && trapsInLog(fixture, killed) == 2 })
        try fixture.skiff("kill", [killed], check: true)
        #expect(eventually(10) { !monitorAlive(fixture, killed) })
        #expect(fixture.field(killed, "restartCount") as? Int == 1)
        #expect(fixture.field(killed, "exitCode") as? Int == 137)

        // --rm and --restart conflict, as in docker.
        let conflict = try fixture.skiff("run", ["--rm", "--restart", "always", fixture.image, "true"])
        #expect(conflict.status == 125 && conflict.stderr.contains("--rm"), "\(conflict.stderr)")
        #expect(try fixture.skiff("run", ["--restart", "sometimes", fixture.image, "true"]).status == 125)
    }

    @Test func restartCommandStopsAndStartsAgain() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff(
            "run", ["-d", fixture.image, "sh", "-c", "echo started; trap 'exit 0' TERM; while true; do sleep 0.1; done"],
            check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually { (try? fixture.skiff("logs", [id]).stdout.contains("started")) == true })
        let firstPid = fixture.field(id, "pid") as? Int
        try fixture.skiff("restart", ["-t", "2", id], check: true)
        #expect(fixture.field(id, "status") as? String == "running")
        #expect(fixture.field(id, "pid") as? Int != firstPid)
        #expect(eventually { (try? fixture.skiff("logs", [id]).stdout.components(separatedBy: "started").count) == 3 })
        #expect(try fixture.skiff("restart", ["no-such-container"]).status == 125)
    }

    @Test func initReapsZombiesAndForwardsSignals() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        // An orphan that exits under a PID 1 that never waits (exec sleep) stays a zombie...
        let orphaning = ["sh", "-c", "(sleep 0.1 &); exec sleep 60"]
        let bare = try fixture.skiff("run", ["-d", fixture.image] + orphaning, check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually { (try? fixture.processes(bare))?.contains(" Z ") == true })
        // ...and is reaped under --init, whose PID 1 is ours.
        let reaped = try fixture.skiff("run", ["-d", "--init", fixture.image] + orphaning, check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // The orphan ends after 0.1 s; under --init it leaves no zombie: one sleep remains, none is Z.
        #expect(
            eventually {
                guard let table = try? fixture.processes(reaped) else { return false }
                return table.split(separator: "\n").filter { $0.hasSuffix("sleep") }.count == 1 && !table.contains(" Z ")
            }, "\((try? fixture.processes(reaped)) ?? "")")
        let processes = try fixture.processes(reaped)
        #expect(
            processes.contains("1 S    skiff-init")
                || processes.split(separator: "\n").contains { $0.contains("skiff-init") && $0.hasPrefix("    1") },
            "\(processes)")
        #expect(processes.contains("sleep"), "\(processes)")

        // SIGTERM from stop reaches the program, whose exit code becomes the container's.
        let trapping = try fixture.skiff(
            "run",
            [
                "-d", "--init", fixture.image, "sh", "-c",
                "trap 'echo got-term; exit 9' TERM; echo trapped; while true; do sleep 0.1; done",
            ], check: true
        )
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually { trapsInLog(fixture, trapping) == 1 })
        let before = Date()
        try fixture.skiff("stop", ["-t", "20", trapping], check: true)
        #expect(Date().timeIntervalSince(before) < 10)
        #expect(fixture.field(trapping, "exitCode") as? Int == 9)
        #expect(try fixture.skiff("logs", [trapping]).stdout.contains("got-term"))

        // The exit status passes through; a program killed by a signal gives 128 + signal.
        #expect(try fixture.skiff("run", ["--rm", "--init", fixture.image, "sh", "-c", "exit 7"]).status == 7)
        #expect(try fixture.skiff("run", ["--rm", "--init", fixture.image, "sh", "-c", "kill -USR1 $$"]).status == 138)
        let inspect = try fixture.skiff("inspect", [reaped], check: true).stdout
        #expect(inspect.contains("\"Init\" : true") || inspect.contains("\"Init\": true"), "\(inspect)")
    }
}

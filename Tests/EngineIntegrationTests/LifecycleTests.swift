import Foundation
import Testing

/// Detached containers under their monitor: they outlive the CLI; ps, logs, exec, stop, kill,
/// wait, inspect, rm; names; and the kill -9 of a monitor.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct LifecycleTests {
    @Test func detachedContainerOutlivesTheCommandAndIsManaged() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "web-\(UUID().uuidString.prefix(8))"
        let started = try fixture.skiff(
            "run",
            [
                "-d", "--name", name, fixture.image, "sh", "-c",
                "trap 'echo got-term; exit 7' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done",
            ], check: true)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64 && id.allSatisfy(\.isHexDigit))
        // The run command has exited; the container keeps running and logging.
        #expect(try eventually { try fixture.skiff("logs", [name]).stdout.contains("tick 3") })
        let ps = try fixture.skiff("ps", [], check: true)
        #expect(ps.stdout.contains(name) && ps.stdout.contains("Up"), "\(ps.stdout)")
        #expect(try fixture.skiff("ps", ["-q"]).stdout == String(id.prefix(12)) + "\n")
        let json = try fixture.skiff("ps", ["--format", "json"], check: true)
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.first?["Id"] as? String == id)
        #expect(rows?.first?["State"] as? String == "running")

        // A second container cannot take the name.
        let clash = try fixture.skiff("run", ["-d", "--name", name, fixture.image, "true"])
        #expect(clash.status == 125)
        #expect(clash.stderr.contains("already in use"))

        let tail = try fixture.skiff("logs", ["--tail", "2", "-t", String(id.prefix(8))], check: true)
        let tailLines = tail.stdout.split(separator: "\n")
        #expect(tailLines.count == 2)
        #expect(tailLines.allSatisfy { $0.hasPrefix("20") && $0.contains("Z tick ") }, "\(tail.stdout)")

        let exec = try fixture.skiff("exec", ["-e", "X=5", "-u", "app", "-w", "/tmp", name, "sh", "-c", "echo $X; id -u; pwd; exit 4"])
        #expect(exec.status == 4)
        #expect(exec.stdout == "5\n1000\n/tmp\n")
        #expect(try fixture.skiff("exec", [name, "no-such-program"]).status == 127)

        let inspect = try fixture.skiff("inspect", [name], check: true)
        let views = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]]
        let state = views?.first?["State"] as? [String: Any]
        #expect(state?["Running"] as? Bool == true)
        let pid = state?["Pid"] as? Int ?? 0
        #expect(pid > 0 && processExists(pid))

        // stop sends TERM: the trap exits with 7, which wait and ps report.
        #expect(try fixture.skiff("stop", ["-t", "5", name]).status == 0)
        #expect(try fixture.skiff("wait", [name]).stdout == "7\n")
        #expect(try fixture.skiff("ps", ["-a"]).stdout.contains("Exited (7)"))
        #expect(try fixture.skiff("logs", [name]).stdout.hasSuffix("got-term\n"))
        #expect(!processExists(pid))
        #expect(fixture.cgroupDirectories(id).isEmpty)

        // It can be started again, and killed with a chosen signal.
        #expect(try fixture.skiff("start", [name]).status == 0)
        #expect(try eventually { try fixture.skiff("ps", []).stdout.contains(name) })
        #expect(try fixture.skiff("kill", ["-s", "KILL", name]).status == 0)
        #expect(try fixture.skiff("wait", [name]).stdout == "137\n")

        #expect(try fixture.skiff("rm", [name]).status == 0)
        #expect(try fixture.skiff("ps", ["-a", "-q"]).stdout.isEmpty)
        #expect(fixture.containerIDs().isEmpty)
        #expect(fixture.mountsUnderFixture().isEmpty)
        #expect(try fixture.skiff("rm", [name]).status != 0)
    }

    @Test func createThenStartAttachedAndRemoveRefusesRunning() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("create", [fixture.image, "sh", "-c", "echo attached; exit 5"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try fixture.skiff("ps", ["-a"]).stdout.contains("Created"))
        let attached = try fixture.skiff("start", ["-a", id])
        #expect(attached.status == 5)
        #expect(attached.stdout == "attached\n")

        let running = try fixture.skiff("run", ["-d", fixture.image, "sleep", "100"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try fixture.skiff("rm", [running])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("running"))
        #expect(try fixture.skiff("rm", ["-f", running, id]).status == 0)
        #expect(fixture.containerIDs().isEmpty)
        #expect(fixture.cgroupDirectories(running).isEmpty)
    }

    @Test func detachedRemoveOnExit() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", "--rm", fixture.image, "sh", "-c", "sleep 0.2; exit 2"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64)
        #expect(eventually { fixture.containerIDs().isEmpty })
        // The network namespace goes with the teardown the monitor finishes after the removal.
        #expect(eventually { fixture.mountsUnderFixture().isEmpty }, "\(fixture.mountsUnderFixture())")
        #expect(fixture.cgroupDirectories(id).isEmpty)
    }

    @Test func killedMonitorLeavesTruthfulStateAndForcedRemovalCleansUp() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", fixture.image, "sleep", "1000"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let monitor = fixture.record(id)?["monitorPid"] as? Int, let pid = fixture.record(id)?["pid"] as? Int else {
            Issue.record("no monitor or container pid in the record")
            return
        }
        #expect(processExists(monitor) && processExists(pid))
        kill(pid_t(monitor), SIGKILL)
        #expect(eventually { !processExists(monitor) })
        // The container still runs; ps says so, and that nobody collects it.
        let ps = try fixture.skiff("ps", [], check: true).stdout
        #expect(ps.contains("Up (monitor lost"), "\(ps)")
        #expect(processExists(pid))

        // Second container: monitor killed, then the program ends: reported as exited, code unknown.
        let other = try fixture.skiff("run", ["-d", fixture.image, "sleep", "1000"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let otherMonitor = fixture.record(other)?["monitorPid"] as? Int, let otherPid = fixture.record(other)?["pid"] as? Int else {
            Issue.record("no monitor or container pid in the second record")
            return
        }
        kill(pid_t(otherMonitor), SIGKILL)
        #expect(eventually { !processExists(otherMonitor) })
        kill(pid_t(otherPid), SIGKILL)
        #expect(eventually { !processExists(otherPid) })
        #expect(try eventually { try fixture.skiff("ps", ["-a"]).stdout.contains("Exited (unknown") })

        #expect(try fixture.skiff("rm", ["-f", id, other]).status == 0)
        #expect(eventually { !processExists(pid) })
        #expect(fixture.containerIDs().isEmpty)
        #expect(fixture.mountsUnderFixture().isEmpty)
        #expect(fixture.cgroupDirectories(id).isEmpty)
        #expect(fixture.cgroupDirectories(other).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: fixture.runtimeRoot + "/" + id))
    }
}

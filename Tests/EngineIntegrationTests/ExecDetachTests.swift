import Foundation
import Testing

/// `exec -d` and the detach keys of `exec -it`: the program keeps running after the command returns.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct ExecDetachTests {
    @Test func execDetachedReturnsAtOnceAndTheProgramRuns() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", fixture.image, "sleep", "300"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let started = try fixture.skiff("exec", ["-d", id, "sh", "-c", "sleep 1; echo done > /tmp/detached"])
        #expect(started.status == 0 && started.stdout.isEmpty, "\(started)")
        #expect(try fixture.skiff("exec", [id, "cat", "/tmp/detached"]).status != 0, "the command returned before the program ended")
        #expect(try eventually(15) { try fixture.skiff("exec", [id, "cat", "/tmp/detached"]).stdout == "done\n" })
    }

    @Test func execTerminalDetachKeysLeaveTheProgramRunning() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", fixture.image, "sleep", "300"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let session = try PtySession(fixture.commandLine("exec", ["-it", "--detach-keys", "ctrl-x,x", id, "sh"]))
        session.send("echo $$ > /tmp/shell; echo rea''dy\n")
        #expect(session.expect("ready"), "\(session.text)")
        session.send("\u{18}x")
        #expect(session.wait() == 0, "\(session.text)")
        let alive = try fixture.skiff("exec", [id, "sh", "-c", "kill -0 $(cat /tmp/shell) && echo alive"])
        #expect(alive.stdout == "alive\n", "\(alive)")
        // A holder process keeps the shell's terminal; it goes when the shell does.
        #expect(!Self.terminalHolders().isEmpty)
        _ = try fixture.skiff("exec", [id, "sh", "-c", "kill -9 $(cat /tmp/shell)"])
        #expect(
            try eventually(15) {
                try fixture.skiff("exec", [id, "sh", "-c", "kill -0 $(cat /tmp/shell) 2>/dev/null && echo alive"]).stdout.isEmpty
            })
        #expect(eventually(15) { Self.terminalHolders().isEmpty }, "\(Self.terminalHolders())")
    }

    /// Pids of `skiff exec-terminal-holder` processes (only this suite makes them).
    static func terminalHolders() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { name in
            guard name.first?.isNumber == true, let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else {
                return false
            }
            return String(decoding: data, as: UTF8.self).contains("exec-terminal-holder")
        }
    }
}

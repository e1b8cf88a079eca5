import Foundation
import Testing

/// The engine on a pure cgroup2 host, as most current distributions boot: every skiff command
/// (and so every monitor it starts) runs in a private mount namespace whose /sys/fs/cgroup is
/// this host's cgroup2 hierarchy alone.
@Suite(
    .serialized,
    .enabled(
        if: engineTestsEnabled && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs"),
        "needs root, the engine's tools and a cgroup2 hierarchy at /sys/fs/cgroup/unified"))
struct PureCgroup2EngineTests {
    static let unified = "/sys/fs/cgroup/unified"

    /// `skiff COMMAND ...` in the cgroup2-only view.
    func skiff(_ fixture: EngineFixture, _ command: String, _ arguments: [String]) throws -> CommandResult {
        let script = "umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\""
        return try run(
            ["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script]
                + fixture.commandLine(command, arguments), check: false)
    }

    /// The controllers enabled in the hierarchy's root (a pure cgroup2 engine enables them for its
    /// /skiff parent there).
    static func rootControllers() -> Set<String> {
        let text = (try? String(contentsOfFile: unified + "/cgroup.subtree_control", encoding: .utf8)) ?? ""
        return Set(text.split(whereSeparator: \.isWhitespace).map(String.init))
    }

    @Test func containersRunAndLeaveNoCgroupBehind() throws {
        // Restored last, once the fixture's cleanup has removed the /skiff parent.
        let controllersBefore = Self.rootControllers()
        defer {
            for added in Self.rootControllers().subtracting(controllersBefore) {
                try? "-\(added)".write(toFile: Self.unified + "/cgroup.subtree_control", atomically: false, encoding: .utf8)
            }
        }
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        var ids: [String] = []
        defer { for id in ids { _ = try? skiff(fixture, "rm", ["-f", id]) } }

        let once = try skiff(
            fixture, "run", ["--rm", "--network", "none", fixture.image, "sh", "-c", "grep ^0:: /proc/self/cgroup; exit 5"])
        #expect(once.status == 5 && once.stdout == "0::/\n", "its own cgroup namespace: \(once)")

        let started = try skiff(fixture, "run", ["-d", fixture.image, "sleep", "300"])
        try #require(started.status == 0, "\(started)")
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        ids.append(id)
        let directory = Self.unified + "/skiff/" + id
        #expect(FileManager.default.fileExists(atPath: directory + "/cgroup.procs"))
        let procs = try String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8)
        #expect(!procs.isEmpty, "init is in the container's cgroup2 directory")
        let exec = try skiff(fixture, "exec", [id, "sh", "-c", "echo in; ip -4 -o addr show eth0 | grep -c inet"])
        #expect(exec.status == 0 && exec.stdout == "in\n1\n", "\(exec)")
        let inspect = try skiff(fixture, "inspect", [id])
        #expect(inspect.status == 0 && inspect.stdout.contains("\"Running\": true"), "\(inspect.stdout.prefix(400))")
        #expect(try skiff(fixture, "stop", ["-t", "1", id]).status == 0)
        #expect(try skiff(fixture, "rm", [id]).status == 0)
        ids.removeAll()
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}

import Foundation
import Testing

/// docker's command line as a docker user types it (issue #14), table-driven: each row is the
/// command, the exit code docker gives, and what must be seen on stdout or stderr. The store
/// and runtime roots are given as global options before the command, as `docker`/`podman` take them.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct CLICompatibilityTests {
    struct Row: CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var stdout: String? = nil
        var stderr: String? = nil
        var description: String { "skiff " + arguments.joined(separator: " ") }
    }

    func check(_ rows: [Row], fixture: EngineFixture) throws {
        for row in rows {
            let arguments = row.arguments.map { $0.replacingOccurrences(of: "$IMAGE", with: fixture.image) }
            let result = try run(
                [skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot] + arguments, check: false)
            #expect(result.status == row.status, "\(row): exit \(result.status), stderr \(result.stderr)")
            if let stdout = row.stdout { #expect(result.stdout.contains(stdout), "\(row): stdout \(result.stdout)") }
            if let stderr = row.stderr { #expect(result.stderr.contains(stderr), "\(row): stderr \(result.stderr)") }
        }
    }

    @Test func globalOptionsVersionAndInfo() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try check(
            [
                // Global options before the command reach every command, images and containers alike.
                Row(arguments: ["images", "--format", "{{.Repository}}:{{.Tag}}"], status: 0, stdout: fixture.image),
                Row(arguments: ["ps", "-a", "-q"], status: 0),
                Row(arguments: ["run", "--rm", "$IMAGE", "echo", "hello"], status: 0, stdout: "hello"),
                // `--flag=value` spelling, and -l as docker's short --log-level.
                Row(arguments: ["--log-level=error", "images", "-q"], status: 0),
                Row(arguments: ["-l", "debug", "ps"], status: 0, stderr: "skiff: debug: store \(fixture.root)"),
                Row(arguments: ["-D", "ps"], status: 0, stderr: "skiff: debug:"),
                Row(arguments: ["--log-level", "loud", "ps"], status: 125, stderr: "invalid --log-level 'loud'"),
                Row(arguments: ["--no-such-flag", "ps"], status: 125, stderr: "unknown flag: --no-such-flag"),
                Row(arguments: ["-H", "unix:///x.sock", "ps"], status: 125, stderr: "skiff system service"),
                // Version and info, with docker's templates.
                Row(arguments: ["-v"], status: 0, stdout: "skiff version "),
                Row(arguments: ["--version"], status: 0, stdout: "skiff version "),
                Row(arguments: ["version"], status: 0, stdout: "Client:"),
                Row(arguments: ["version", "--format", "{{.Client.Os}}/{{.Server.Os}}"], status: 0, stdout: "linux/linux"),
                Row(arguments: ["info"], status: 0, stdout: "Root Dir: \(fixture.root)"),
                Row(arguments: ["info", "--format", "{{.DockerRootDir}}"], status: 0, stdout: fixture.root),
                Row(arguments: ["system", "info", "--format", "json"], status: 0, stdout: "\"ServerVersion\""),
            ], fixture: fixture)

        // The same option after the command wins over the one before it.
        let other = fixture.path + "/other-root"
        let after = try run([skiffBinary, "--root", other, "images", "--root", fixture.root, "-q"], check: false)
        #expect(after.status == 0 && !after.stdout.isEmpty, "\(after.stderr)")
        #expect(!FileManager.default.fileExists(atPath: other + "/store.lock"))
    }

    /// --network none: a namespace of its own with loopback up, as docker and podman give.
    @Test func networkNoneHasLoopbackUp() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try check(
            [
                Row(
                    arguments: [
                        "run", "--rm", "--network", "none", "$IMAGE", "sh", "-c",
                        "ip -o link show lo; busybox ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping-ok",
                    ],
                    status: 0, stdout: "ping-ok"),
                Row(
                    arguments: ["run", "--rm", "--network", "none", "$IMAGE", "sh", "-c", "ip -o link | grep -vc ' lo:'"], status: 1,
                    stdout: "0"),
            ], fixture: fixture)
    }
}

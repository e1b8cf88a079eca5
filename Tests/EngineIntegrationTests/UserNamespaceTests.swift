import Foundation
import Testing

/// `--userns=auto`: the container's root is an unprivileged block of host ids from the
/// subordinate ranges of the user `containers`, the image's files appear owned by the container's
/// own ids through idmapped layers, and two containers never share a block.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct UserNamespaceTests {
    /// Subordinate id files of the test's own (the host's /etc/subuid is left alone).
    func subids(_ fixture: EngineFixture, _ line: String) throws -> [String: String] {
        for name in ["subuid", "subgid"] {
            try line.write(toFile: fixture.path + "/" + name, atomically: true, encoding: .utf8)
        }
        return ["SKIFF_SUBUID_FILE": fixture.path + "/subuid", "SKIFF_SUBGID_FILE": fixture.path + "/subgid"]
    }

    func skiff(_ fixture: EngineFixture, _ command: String, _ arguments: [String], _ environment: [String: String]) throws -> CommandResult
    {
        try run(
            [skiffBinary, command, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot] + arguments, check: false,
            environment: environment)
    }

    @Test func rootInsideIsAnUnprivilegedBlockOutside() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let environment = try subids(fixture, "someone:500000:65536\ncontainers:1000000:200000\n")
        let script =
            "cat /proc/self/uid_map /proc/self/gid_map; id -u; busybox stat -c %u:%g /bin/busybox /; touch /made && echo touched; "
            + "busybox mknod /tmp/n c 1 3 2>/dev/null || echo mknod-refused; touch /data/x && echo volume-writable"
        let volume = "userns-\(getpid())"
        defer { _ = try? skiff(fixture, "volume", ["rm", volume], [:]) }
        let inside = try skiff(
            fixture, "run", ["--rm", "--userns=auto", "-v", volume + ":/data", fixture.image, "sh", "-c", script], environment)
        #expect(inside.status == 0, "\(inside)")
        let lines = inside.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(
            lines == ["0 1000000 65536", "0 1000000 65536", "0", "0:0", "0:0", "touched", "mknod-refused", "volume-writable"], "\(inside)")

        // Two running containers hold different blocks; the host sees their processes as those ids.
        let first = try skiff(fixture, "run", ["-d", "--userns=auto", fixture.image, "sleep", "60"], environment)
        let second = try skiff(fixture, "run", ["-d", "--userns=auto:size=1000", fixture.image, "sleep", "60"], environment)
        try #require(first.status == 0 && second.status == 0, "\(first) \(second)")
        let firstID = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let secondID = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let maps = try [firstID, secondID].map {
            try skiff(fixture, "exec", [$0, "cat", "/proc/self/uid_map"], environment).stdout
                .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        #expect(maps == ["0 1000000 65536\n", "0 1065536 1000\n"], "\(maps)")
        let pid = try #require(fixture.record(firstID)?["pid"] as? Int)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("Uid:\t1000000\t1000000\t1000000\t1000000"), "\(status)")
        // A file the container's root makes belongs to its block on the host.
        #expect(try skiff(fixture, "exec", [firstID, "touch", "/host-view"], environment).status == 0)
        let made = try run(["/usr/bin/find", fixture.root, "-name", "host-view", "-path", "*upper*", "-printf", "%U:%G"], check: false)
        #expect(made.stdout == "1000000:1000000", "\(made)")

        #expect(try skiff(fixture, "rm", ["-f", firstID, secondID], environment).status == 0)
        #expect(fixture.mountsUnderFixture().isEmpty, "\(fixture.mountsUnderFixture())")
    }

    @Test func badValuesAndMissingRangesAreRefusedClearly() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let bogus = try skiff(fixture, "run", ["--rm", "--userns=bogus", fixture.image, "true"], [:])
        #expect(bogus.status == 125 && bogus.stderr.contains("use host, auto or auto:size=N"), "\(bogus)")
        let environment = try subids(fixture, "someone-else:100000:65536\n")
        let none = try skiff(fixture, "run", ["--rm", "--userns=auto", fixture.image, "true"], environment)
        #expect(none.status == 125 && none.stderr.contains("no range for the user 'containers'"), "\(none)")
        let small = try subids(fixture, "containers:100000:100\n")
        let full = try skiff(fixture, "run", ["--rm", "--userns=auto", fixture.image, "true"], small)
        #expect(full.status == 125 && full.stderr.contains("no free block of 65536 ids"), "\(full)")
        #expect(fixture.containerIDs().isEmpty && fixture.mountsUnderFixture().isEmpty)
    }
}

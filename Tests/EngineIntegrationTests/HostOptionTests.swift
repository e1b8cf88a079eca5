import Foundation
import Testing

/// --shm-size, --sysctl, --device and --group-add, checked from inside the container
/// (/dev/loop-control stands for a device outside docker's default allow list, so its
/// permissions show).
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct HostOptionTests {
    @Test func shmSysctlDeviceAndGroupsSeenFromInside() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let script =
            "grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'; cat /proc/sys/net/ipv4/ip_forward; "
            + "echo x > /dev/mynull && echo null-ok; (: < /dev/t) 2>/dev/null && echo dev-read; "
            + "(: > /dev/t) 2>/dev/null && echo dev-written || echo dev-write-denied; id -G"
        let run = try fixture.skiff(
            "run",
            [
                "--rm", "--shm-size", "128m", "--sysctl", "net.ipv4.ip_forward=1",
                "--device", "/dev/null:/dev/mynull", "--device", "/dev/loop-control:/dev/t:r",
                "--group-add", "1234", fixture.image, "sh", "-c", script,
            ])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 6, "\(run.stdout)")
        #expect(lines.first == "size=131072k")
        #expect(lines.dropFirst().first == "1")
        #expect(Array(lines.dropFirst(2).prefix(3)) == ["null-ok", "dev-read", "dev-write-denied"])
        #expect(lines.last?.split(separator: " ").contains("1234") == true, "\(run.stdout)")

        for (option, value, message) in [
            ("--sysctl", "kernel.hostname=x", "not namespaced"), ("--device", "/etc/passwd", "not a character"),
            ("--device", "/dev/null:/x:rwz", "permissions"), ("--group-add", "nosuchgroup", "nosuchgroup"),
            ("--shm-size", "lots", "lots"),
        ] {
            let refused = try fixture.skiff("run", ["--rm", option, value, fixture.image, "true"])
            #expect(refused.status == 125 && refused.stderr.contains(message), "\(option) \(value): \(refused.stderr)")
        }
        #expect(fixture.containerIDs().isEmpty)
    }
}

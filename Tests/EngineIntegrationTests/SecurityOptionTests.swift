import Foundation
import Testing

/// --cap-add/--cap-drop, --privileged, --security-opt and the default seccomp profile, each
/// checked from inside the container through /proc/self/status and the syscalls it allows.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct SecurityOptionTests {
    func status(_ fixture: EngineFixture, _ options: [String]) throws -> [String: String] {
        let result = try fixture.skiff(
            "run", ["--rm"] + options + [fixture.image, "busybox", "grep", "-E", "^(CapEff|NoNewPrivs|Seccomp):", "/proc/self/status"])
        #expect(result.status == 0, "\(options): \(result.stderr)")
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    /// docker's device rules: mknod of any node works, but only the standard devices can be
    /// opened; a block device node made inside cannot be read.
    @Test func mknodAsDockerAllowsIt() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let script =
            "busybox mknod /tmp/null c 1 3 && echo x > /tmp/null && echo null-ok; busybox mknod /tmp/disk b 7 0 && echo mknod-block-ok; "
            + "busybox head -c 1 /tmp/disk 2>&1 | busybox grep -q 'not permitted' && echo block-refused"
        let result = try fixture.skiff("run", ["--rm", fixture.image, "sh", "-c", script])
        #expect(result.stdout == "null-ok\nmknod-block-ok\nblock-refused\n", "\(result)")
    }

    /// The host's bounding set: what --privileged can hand out.
    var hostBoundingSet: String {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }.map { $0.dropFirst(7).trimmingCharacters(in: .whitespaces) }
            ?? ""
    }

    @Test func capabilitiesNoNewPrivilegesAndSeccompFromInside() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let defaults = try status(fixture, [])
        #expect(defaults == ["CapEff": "00000000a80425fb", "NoNewPrivs": "0", "Seccomp": "2"])
        // CAP_NET_ADMIN is bit 12.
        #expect(try status(fixture, ["--cap-drop", "ALL", "--cap-add", "NET_ADMIN"])["CapEff"] == "0000000000001000")
        // Default minus CAP_CHOWN (bit 0) plus CAP_SYS_PTRACE (bit 19).
        #expect(try status(fixture, ["--cap-drop", "chown", "--cap-add", "CAP_SYS_PTRACE"])["CapEff"] == "00000000a80c25fa")
        #expect(try status(fixture, ["--security-opt", "no-new-privileges"])["NoNewPrivs"] == "1")
        #expect(try status(fixture, ["--security-opt", "seccomp=unconfined"])["Seccomp"] == "0")
        let privileged = try status(fixture, ["--privileged"])
        #expect(privileged["CapEff"] == hostBoundingSet)
        #expect(privileged["Seccomp"] == "0")

        // Without CAP_CHOWN, chown fails.
        let chown = try fixture.skiff(
            "run", ["--rm", "--cap-drop", "CHOWN", fixture.image, "sh", "-c", "touch /tmp/f; busybox chown 1000 /tmp/f || echo denied"])
        #expect(chown.stdout.contains("denied"), "\(chown.stdout)\(chown.stderr)")
    }

    @Test func defaultSeccompProfileAndProfileFiles() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        // With CAP_SYS_ADMIN, pivot_root and swapoff still fail with EPERM: the default profile
        // does not allow them. Unconfined, the kernel gets to look at the arguments.
        let script = "busybox pivot_root / / 2>&1; busybox swapoff /no-such-swap 2>&1; true"
        let filtered = try fixture.skiff("run", ["--rm", "--cap-add", "SYS_ADMIN", fixture.image, "sh", "-c", script])
        #expect(
            filtered.stdout.split(separator: "\n").map { $0.hasSuffix("Operation not permitted") } == [true, true], "\(filtered.stdout)")
        let unconfined = try fixture.skiff(
            "run", ["--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", fixture.image, "sh", "-c", script])
        #expect(unconfined.stdout.contains("busy") && unconfined.stdout.contains("No such file"), "\(unconfined.stdout)")
        // With CAP_SYS_ADMIN the profile allows mount (a capability-conditional rule).
        let mount = try fixture.skiff(
            "run", ["--rm", "--cap-add", "SYS_ADMIN", fixture.image, "sh", "-c", "mkdir /m && busybox mount -t tmpfs t /m && echo mounted"])
        #expect(mount.stdout == "mounted\n", "\(mount.stdout)\(mount.stderr)")

        // A profile file in docker's format: mkdir fails with EACCES, everything else allowed.
        let profile = fixture.path + "/profile.json"
        try """
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
        """.write(toFile: profile, atomically: true, encoding: .utf8)
        let custom = try fixture.skiff(
            "run", ["--rm", "--security-opt", "seccomp=" + profile, fixture.image, "sh", "-c", "mkdir /tmp/d 2>&1; true"])
        #expect(custom.stdout.contains("Permission denied"), "\(custom.stdout)\(custom.stderr)")

        // Bad profiles and options: 125, nothing made.
        try "{not json".write(toFile: profile, atomically: true, encoding: .utf8)
        for options in [
            ["--security-opt", "seccomp=" + profile], ["--security-opt", "seccomp=" + fixture.path + "/missing.json"],
            ["--security-opt", "apparmor"], ["--cap-add", "NET_WIZARD"], ["--ulimit", "nofile=10:5"],
            ["--tmpfs", "relative"], ["--tmpfs", "/t:size=huge"], ["--stop-signal", "SIGNOPE"],
        ] {
            let result = try fixture.skiff("run", ["--rm"] + options + [fixture.image, "true"])
            #expect(result.status == 125, "\(options): \(result.stderr)")
            #expect(result.stderr.contains("skiff: error:"), "\(options): \(result.stderr)")
        }
        #expect(fixture.containerIDs().isEmpty)
        #expect(fixture.mountsUnderFixture().isEmpty)
    }

    @Test func privilegedSeesDevicesAndUnmaskedProc() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let script =
            "busybox wc -c < /proc/timer_list; busybox grep ' /sys ' /proc/mounts; ls /dev/kvm /dev/null; mkdir /m && busybox mount -t tmpfs t /m && echo mounted"
        let privileged = try fixture.skiff("run", ["--rm", "--privileged", fixture.image, "sh", "-c", script])
        #expect(privileged.status == 0, "\(privileged.stderr)")
        let lines = privileged.stdout.split(separator: "\n").map(String.init)
        #expect((Int(lines.first ?? "") ?? 0) > 0, "\(privileged.stdout)")  // not masked
        #expect(lines.contains { $0.contains(" /sys sysfs rw") }, "\(privileged.stdout)")
        if FileManager.default.fileExists(atPath: "/dev/kvm") { #expect(lines.contains("/dev/kvm")) }
        #expect(lines.last == "mounted")
        let normal = try fixture.skiff("run", ["--rm", fixture.image, "sh", "-c", "ls /dev/kvm 2>/dev/null || echo no-kvm"])
        #expect(normal.stdout == "no-kvm\n")
    }
}

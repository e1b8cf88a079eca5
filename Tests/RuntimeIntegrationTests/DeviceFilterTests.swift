import ContainerRuntime
import Foundation
import LinuxSupport
import OCISpec
import Testing

/// The cgroup2 device filter (eBPF), attached to a real cgroup2 directory on this host (the
/// unified hierarchy of a hybrid host works as well as a pure cgroup2 one).
@Suite(.enabled(if: TestEnvironment.isRoot && TestEnvironment.cgroup2Mount != nil, "needs root and a cgroup2 hierarchy"))
struct DeviceFilterTests {
    /// Runs `script` with sh inside a fresh cgroup2 directory carrying a filter for `rules`.
    func run(_ script: String, rules: [Resources.DeviceRule]) throws -> (code: Int32, out: String, err: String) {
        let dir = try #require(TestEnvironment.cgroup2Mount) + "/" + TestEnvironment.uniqueName("devfilter")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer {
            for _ in 0..<100 where rmdir(dir) != 0 { usleep(10_000) }
        }
        try DeviceFilter.attach(rules: rules, to: dir)
        return try Command.run("/bin/sh", ["-c", "echo $$ > \(dir)/cgroup.procs && \(script)"])
    }

    @Test func deniesWhatTheRulesDeny() throws {
        let rules = CgroupWrites.deviceRules([.init(allow: false, access: "rwm")], extraDevices: [])
        let r = try run(
            "head -c1 /dev/zero >/dev/null && echo zero-ok; head -c1 /dev/mem >/dev/null 2>&1 && echo mem-open || echo mem-denied",
            rules: rules)
        #expect(r.out == "zero-ok\nmem-denied\n", "\(r)")
    }

    @Test func laterRulesWin() throws {
        let rules: [Resources.DeviceRule] = [
            .init(allow: true, type: "a", access: "rwm"),
            .init(allow: false, type: "c", major: 1, minor: 5, access: "r"),
        ]
        let r = try run(
            "head -c1 /dev/zero >/dev/null 2>&1 && echo zero-read || echo zero-denied; echo x > /dev/zero && echo zero-write; head -c1 /dev/urandom > /dev/null && echo urandom-ok",
            rules: rules)
        #expect(r.out == "zero-denied\nzero-write\nurandom-ok\n", "\(r)")
    }
}

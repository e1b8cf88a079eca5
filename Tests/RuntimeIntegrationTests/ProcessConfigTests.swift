import Foundation
import OCISpec
import Testing

/// config.json's process settings, each checked from inside a real busybox container.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct ProcessConfigTests {
    @Test func runsTheProgramAndReturnsItsExitCode() throws {
        let b = try TestBundle("exit")
        b.shell("echo hello from inside; exit 7")
        let r = try b.run()
        #expect(r.out.contains("hello from inside"))
        #expect(r.code == 7)
        #expect(try b.state() == nil, "run removes the container after it exits")
    }

    @Test func argsEnvAndCwd() throws {
        let b = try TestBundle("env")
        b.spec.process?.env = ["PATH=/bin", "SKIFF_TEST=yes please"]
        b.spec.process?.cwd = "/tmp"
        b.shell("echo \"[$SKIFF_TEST]\"; pwd")
        let r = try b.run()
        #expect(r.out.contains("[yes please]"))
        #expect(r.out.contains("/tmp"))
    }

    @Test func userGroupsAndUmask() throws {
        let b = try TestBundle("user")
        b.spec.process?.user = User(uid: 1234, gid: 5678, umask: 0o027, additionalGids: [11, 12])
        b.shell("id; umask")
        let r = try b.run()
        #expect(r.out.contains("uid=1234"), "\(r)")
        #expect(r.out.contains("gid=5678"))
        #expect(r.out.contains("groups=11,12") || (r.out.contains("11") && r.out.contains("12")))
        #expect(r.out.contains("0027"))
    }

    /// A capability name the kernel has no interface for fails create (runtime-tools'
    /// process_capabilities_fail), for create and exec alike, instead of being dropped silently.
    @Test func unknownCapabilityIsRefused() throws {
        let b = try TestBundle("capunknown")
        b.spec.process?.capabilities?.bounding?.append("CAP_TEST")
        b.shell("true")
        let r = try b.create()
        #expect(r.code != 0 && r.err.contains("'CAP_TEST' is not a capability"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))

        let running = try TestBundle("capunknown-exec")
        running.shell("sleep 60")
        try #require(try running.create().code == 0)
        let e = try running.runtime(["exec", "--cap", "CAP_TEST", running.id, "true"])
        #expect(e.code != 0 && e.err.contains("'CAP_TEST' is not a capability"), "\(e)")
    }

    /// A setting skiff-runtime decodes but does not apply (here the I/O priority) fails create by
    /// name instead of running the container without it.
    @Test func unappliedSettingIsRefused() throws {
        let b = try TestBundle("ioprio")
        b.shell("true")
        try b.writeConfig()
        // Spec's IOPriority has no public initializer: add the field to the written JSON.
        let path = b.dir + "/config.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "\"process\" : {", with: "\"process\" : {\"ioPriority\": {\"class\": \"IOPRIO_CLASS_IDLE\", \"priority\": 0},", options: [],
            range: text.range(of: "\"process\" : {"))
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try #require(text.contains("ioPriority"))
        let r = try b.runtime(["create", "--bundle", b.dir, b.id])
        #expect(r.code != 0 && r.err.contains("process.ioPriority is not supported"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
    }

    @Test func capabilitiesAllFiveSets() throws {
        let b = try TestBundle("caps")
        b.spec.process?.capabilities = Capabilities(
            bounding: ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"], effective: ["CAP_KILL", "CAP_CHOWN"],
            inheritable: ["CAP_CHOWN"], permitted: ["CAP_KILL", "CAP_CHOWN"], ambient: ["CAP_CHOWN"])
        b.shell("grep Cap /proc/self/status")
        let r = try b.run()
        // The shell inherits ambient CAP_CHOWN (bit 0) as permitted/effective; bounding has 0, 5 and 13.
        #expect(r.out.contains("CapBnd:\t0000000000002021"), "\(r)")
        #expect(r.out.contains("CapAmb:\t0000000000000001"))
        #expect(r.out.contains("CapInh:\t0000000000000001"))
    }

    @Test func rlimitsNoNewPrivilegesAndOOMScore() throws {
        let b = try TestBundle("limits")
        b.spec.process?.rlimits = [
            Rlimit(type: "RLIMIT_NOFILE", hard: 512, soft: 256), Rlimit(type: "RLIMIT_CORE", hard: 4096, soft: 2048),
        ]
        b.spec.process?.noNewPrivileges = true
        b.spec.process?.oomScoreAdj = 500
        b.shell("ulimit -n; ulimit -Hn; ulimit -c; grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj")
        let r = try b.run()
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["256", "512", "4"], "\(r)")
        #expect(r.out.contains("NoNewPrivs:\t1"))
        #expect(lines.last == "500")
    }

    @Test func hostnameAndDomainname() throws {
        let b = try TestBundle("uts")
        b.spec.hostname = "skiff-box"
        b.spec.domainname = "example.test"
        b.shell("hostname; cat /proc/sys/kernel/domainname")
        let r = try b.run()
        #expect(r.out == "skiff-box\nexample.test\n", "\(r)")
    }

    @Test func commandNotFoundFailsCreateCleanly() throws {
        let b = try TestBundle("notfound")
        b.spec.process?.args = ["no-such-program"]
        let r = try b.create()
        #expect(r.code != 0)
        #expect(r.err.contains("executable file not found"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }
}

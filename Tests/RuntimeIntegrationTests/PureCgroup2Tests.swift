import ContainerRuntime
import Foundation
import LinuxSupport
import OCISpec
import Testing

/// skiff-runtime on a pure cgroup2 host, as most current distributions boot: each runtime command
/// runs in a private mount namespace whose /sys/fs/cgroup is this host's cgroup2 hierarchy alone
/// (see `TestBundle.pureCgroup2View`). Checks that init starts inside its cgroup (clone3
/// CLONE_INTO_CGROUP), that device rules are enforced by the eBPF filter, and that exec, pause and
/// delete work there.
@Suite(
    .enabled(
        if: TestEnvironment.canRunContainers && TestEnvironment.cgroup2Mount != nil
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
        "needs root, busybox-static, a cgroup2 hierarchy and unshare(1)"),
    .serialized)
struct PureCgroup2Tests {
    /// Enabling controllers for a container's parent also enables them in the hierarchy's root;
    /// put the root back as it was.
    func restoringRootControllers(_ body: () throws -> Void) throws {
        let root = try #require(TestEnvironment.cgroup2Mount)
        let before = Set(
            ((try? FileIO.readString(root + "/cgroup.subtree_control")) ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
        defer {
            let after = Set(
                ((try? FileIO.readString(root + "/cgroup.subtree_control")) ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
            for added in after.subtracting(before) {
                try? FileIO.writeExisting(root + "/cgroup.subtree_control", "-" + added)
            }
        }
        try body()
    }

    func bundle(_ name: String) throws -> TestBundle {
        let b = try TestBundle(name)
        b.pureCgroup2View = true
        // Without a cgroup namespace /proc/self/cgroup shows the container's path in the hierarchy.
        b.spec.linux?.namespaces?.removeAll { $0.type == .cgroup }
        return b
    }

    @Test func initStartsInItsCgroupAndDeviceRulesHold() throws {
        try restoringRootControllers {
            let b = try bundle("v2clone")
            b.spec.linux?.resources?.devices = [.init(allow: false, access: "rwm")]
            for set in [\Capabilities.bounding, \.effective, \.permitted] {
                b.spec.process?.capabilities?[keyPath: set]?.append("CAP_MKNOD")
            }
            b.shell(
                "grep '^0::' /proc/self/cgroup; head -c1 /dev/zero > /dev/null && echo zero-ok; (mknod /tmp/mem c 1 1 && head -c1 /tmp/mem >/dev/null) 2>/dev/null && echo mem-open || echo mem-denied"
            )
            try b.writeConfig()
            let r = try b.runtime(
                ["run", "--bundle", b.dir, b.id], env: ProcessInfo.processInfo.environment.merging(["SKIFF_RUNTIME_TRACE": "1"]) { $1 })
            #expect(r.code == 0, "\(r)")
            #expect(r.out == "0::/skiff-test/\(b.id)\nzero-ok\nmem-denied\n", "\(r)")
            // The kernel placed init: no move (and no wait for the threadgroup lock) was needed.
            #expect(r.err.contains("create: init spawned in its cgroup"), "\(r.err)")
            let hostDirectory = try #require(TestEnvironment.cgroup2Mount) + "/skiff-test/" + b.id
            #expect(!FileManager.default.fileExists(atPath: hostDirectory), "the cgroup is removed with the container")
        }
    }

    @Test func execPauseAndDeleteUseTheCgroup() throws {
        try restoringRootControllers {
            let b = try bundle("v2exec")
            b.shell("sleep 30")
            let created = try b.create()
            try #require(created.code == 0, "\(created)")
            let hostDirectory = try #require(TestEnvironment.cgroup2Mount) + "/skiff-test/" + b.id
            let pid = try #require(try b.state()?.pid)
            #expect(try FileIO.readString(hostDirectory + "/cgroup.procs") == "\(pid)\n")
            #expect(try b.runtime(["start", b.id]).code == 0)
            let exec = try b.runtime(["exec", b.id, "grep", "^0::", "/proc/self/cgroup"])
            #expect(exec.code == 0 && exec.out == "0::/skiff-test/\(b.id)\n", "\(exec)")
            #expect(try b.runtime(["pause", b.id]).code == 0)
            #expect(try b.state()?.status == .paused)
            #expect(try FileIO.readString(hostDirectory + "/cgroup.freeze") == "1\n")
            #expect(try b.runtime(["resume", b.id]).code == 0)
            #expect(try b.state()?.status == .running)
            #expect(try b.runtime(["delete", "--force", b.id]).code == 0)
            #expect(!FileManager.default.fileExists(atPath: hostDirectory))
        }
    }

    @Test func aUserNamespaceContainerIsMovedInstead() throws {
        try restoringRootControllers {
            let b = try bundle("v2userns")
            try b.useUserNamespace()
            b.shell("grep '^0::' /proc/self/cgroup")
            try b.writeConfig()
            let r = try b.runtime(
                ["run", "--bundle", b.dir, b.id], env: ProcessInfo.processInfo.environment.merging(["SKIFF_RUNTIME_TRACE": "1"]) { $1 })
            #expect(r.code == 0 && r.out == "0::/skiff-test/\(b.id)\n", "\(r)")
            #expect(!r.err.contains("init spawned in its cgroup"), "\(r.err)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import ContainerRuntime
import LinuxSupport
import OCISpec
import Testing

/// What the init stage decides for a config.json, read through the recording seam
/// (`RecordingSyscalls`): mounts in order with their flags, /dev, the pivot, masked and
/// read-only paths, and the identity sequence. No root needed: nothing is mounted, the rootfs is
/// a temporary directory that RootedPath walks for real.
@Suite struct InitPlanTests {
    /// A rootfs with what the masked and read-only paths below need, and a host directory to bind.
    final class Fixture {
        let dir: String
        var rootfs: String { dir + "/rootfs" }
        var host: String { dir + "/host" }

        init() throws {
            dir = NSTemporaryDirectory() + "init-plan-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let fm = FileManager.default
            for d in ["rootfs/proc/sys", "rootfs/proc/acpi", "rootfs/etc", "rootfs/dev", "host"] {
                try fm.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
            }
            _ = fm.createFile(atPath: rootfs + "/proc/kcore", contents: Data())
            _ = fm.createFile(atPath: rootfs + "/etc/secret", contents: Data("s".utf8))
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func config(_ json: String) throws -> InitConfig {
            let spec = try RuntimeJSON.decode(Spec.self, from: Array(json.replacingOccurrences(of: "$host", with: host).utf8))
            return InitConfig(
                kind: .container, id: "plan", bundle: dir, rootfs: rootfs, spec: spec, process: spec.process!,
                noPivot: false, noNewKeyring: true, newCgroupNamespace: false, newMountNamespace: true,
                newUTSNamespace: true, newUserNamespace: false, cgroup: nil, hasMountNamespaceFD: false,
                hasConsoleSocket: false, hasExecFifo: false)
        }

        /// prepare, enter, finish as ContainerInit runs them; the calls they made.
        func plan(_ json: String) throws -> RecordingSyscalls {
            let recorder = RecordingSyscalls(rootfs: rootfs)
            var setup = RootfsSetup(config: try config(json), syscalls: recorder)
            try setup.prepare()
            try setup.mountCgroups()
            try setup.enter()
            try setup.finish()
            return recorder
        }
    }

    static let config = """
        {"ociVersion": "1.0.2",
         "process": {"args": ["/bin/true"], "cwd": "/",
                     "user": {"uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 18},
                     "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
                     "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"],
                                      "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL", "CAP_CHOWN"]},
                     "noNewPrivileges": true},
         "root": {"path": "rootfs", "readonly": true},
         "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/data", "type": "bind", "source": "$host", "options": ["rbind", "ro", "nosuid", "rprivate"]}],
         "linux": {"rootfsPropagation": "rslave", "namespaces": [{"type": "mount"}],
                   "maskedPaths": ["/proc/kcore", "/proc/acpi", "/proc/missing"],
                   "readonlyPaths": ["/proc/sys", "/proc/missing"]}}
        """

    @Test func mountsInOrderWithTheirFlags() throws {
        let fixture = try Fixture()
        let recorder = try fixture.plan(Self.config)
        #expect(
            recorder.mountPlan == [
                // Nothing propagates back to the host; the rootfs becomes a mount of its own.
                "mount none on / [rec|slave]",
                "mount $rootfs on $rootfs type bind [bind|rec]",
                "mount proc on $rootfs/proc type proc []",
                "mount tmpfs on $rootfs/dev type tmpfs [nosuid|strictatime] mode=755,size=65536k",
                // A read-only bind is a bind, then a remount that applies the flags, then propagation.
                "mount \(fixture.host) on $rootfs/data [bind|rec]",
                "mount none on $rootfs/data [rdonly|nosuid|remount|bind]",
                "mount none on $rootfs/data [rec|private]",
                // pivot_root, then the old root stacked under "/" is detached without touching the host.
                "pivot_root . .",
                "mount none on . [rec|slave]",
                "umount . detach",
                // Read-only and masked paths, through descriptors of files inside the root; the
                // missing ones skipped.
                "mount $rootfs/proc/sys on $rootfs/proc/sys [bind|rec]",
                "mount none on $rootfs/proc/sys [rdonly|nosuid|nodev|noexec|remount|bind]",
                "mount /dev/null on $rootfs/proc/kcore [bind]",
                "mount tmpfs on $rootfs/proc/acpi type tmpfs [rdonly]",
                // root.readonly, then rootfsPropagation.
                "mount none on / [rdonly|remount|bind]",
                "mount none on / [rec|slave]",
            ])
        #expect(recorder.calls.firstIndex(of: "chdir $rootfs")! < recorder.calls.firstIndex(of: "pivot_root . .")!)
        #expect(recorder.calls.firstIndex(of: "chdir /")! > recorder.calls.firstIndex(of: "umount . detach")!)
    }

    /// --no-pivot moves the rootfs onto "/" and chroots; a container sharing the runtime's mount
    /// namespace binds the rootfs at its mount point, privately, and chroots.
    @Test func enteringWithoutPivotRoot() throws {
        let fixture = try Fixture()
        var config = try fixture.config(Self.config)
        config.noPivot = true
        let recorder = RecordingSyscalls(rootfs: fixture.rootfs)
        var setup = RootfsSetup(config: config, syscalls: recorder)
        try setup.prepare()
        try setup.enter()
        #expect(Array(recorder.mountPlan.suffix(2)) == ["mount $rootfs on / [move]", "chroot ."])

        let mountPoint = fixture.dir + "/mountpoint"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        config = try fixture.config(Self.config)
        config.rootfsMountPoint = mountPoint
        let shared = RecordingSyscalls(rootfs: mountPoint)
        setup = RootfsSetup(config: config, syscalls: shared)
        try setup.prepare()
        try setup.enter()
        #expect(
            Array(shared.mountPlan.prefix(2)) == [
                "mount \(fixture.rootfs) on $rootfs type bind [bind|rec]",
                "mount none on $rootfs [rec|private]",
            ])
        #expect(shared.mountPlan.last == "chroot .")
        #expect(!shared.mountPlan.contains { $0.hasPrefix("pivot_root") || $0.hasPrefix("mount none on / ") })
    }

    @Test func devicesAreMadeInTheNewDev() throws {
        let fixture = try Fixture()
        let calls = try fixture.plan(Self.config).calls
        let devMount = try #require(calls.firstIndex { $0.hasPrefix("mount tmpfs on $rootfs/dev ") })
        let null = try #require(calls.firstIndex(of: "mknod $rootfs/dev/null c 1:3 666"))
        #expect(devMount < null)
        #expect(calls[null + 1] == "chmod $rootfs/dev/null 666")
        #expect(calls[null + 2] == "chown $rootfs/dev/null 0:0")
        #expect(calls.contains("mknod $rootfs/dev/tty c 5:0 666"))
        #expect(calls.contains("symlink $rootfs/dev/ptmx -> pts/ptmx"))
        #expect(calls.contains("symlink $rootfs/dev/fd -> /proc/self/fd"))
        #expect(FileManager.default.fileExists(atPath: fixture.rootfs + "/dev/pts"))
        // All of /dev before the pivot.
        let pivot = try #require(calls.firstIndex(of: "pivot_root . ."))
        #expect(calls.lastIndex { $0.hasPrefix("mknod ") || $0.hasPrefix("symlink ") }! < pivot)
    }

    @Test func aBoundDevGetsNoNodes() throws {
        let fixture = try Fixture()
        let config = Self.config.replacingOccurrences(
            of: "\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"",
            with: "\"destination\": \"/dev\", \"type\": \"bind\", \"source\": \"$host\"")
        let calls = try fixture.plan(config).calls
        #expect(calls.contains("mount \(fixture.host) on $rootfs/dev [bind]"))
        #expect(!calls.contains { $0.hasPrefix("mknod ") })
    }

    /// Masked paths are opened inside the root: a symlink is followed within it (an absolute
    /// target starts at the rootfs, ".." stops there), never to the host's file of that name.
    @Test func maskedSymlinksResolveInsideTheRoot() throws {
        let fixture = try Fixture()
        let fm = FileManager.default
        try fm.removeItem(atPath: fixture.rootfs + "/proc/kcore")
        try fm.createSymbolicLink(atPath: fixture.rootfs + "/proc/kcore", withDestinationPath: "/etc/secret")
        // Outside the rootfs, reachable by ".." from it on the host.
        _ = fm.createFile(atPath: fixture.dir + "/outside", contents: Data())
        try fm.createSymbolicLink(atPath: fixture.rootfs + "/escape", withDestinationPath: "../../../../../../" + fixture.dir + "/outside")
        try fm.createSymbolicLink(atPath: fixture.rootfs + "/absolute", withDestinationPath: fixture.dir + "/outside")
        let config = Self.config.replacingOccurrences(of: "\"/proc/acpi\"", with: "\"/escape\", \"/absolute\"")
        let plan = try fixture.plan(config).mountPlan
        #expect(plan.contains("mount /dev/null on $rootfs/etc/secret [bind]"), "\(plan)")
        #expect(!plan.contains { $0.contains(fixture.dir + "/outside") }, "\(plan)")
        #expect(!plan.contains { $0.contains("escape") || $0.contains("absolute") }, "\(plan)")
    }

    /// Only a missing path (or one init may not search) is skipped: anything else that stops
    /// a masked or read-only path from being protected fails the container, naming the path.
    @Test(arguments: ["maskedPaths", "readonlyPaths"])
    func protectedPathErrorsAreReported(kind: String) throws {
        let fixture = try Fixture()
        let config = Self.config.replacingOccurrences(of: "\"\(kind)\": [", with: "\"\(kind)\": [\"/etc/secret/below\", ")
        let error = try #require(throws: RuntimeError.self) { try fixture.plan(config) }
        #expect("\(error)".contains("linux.\(kind) /etc/secret/below"), "\(error)")
        #expect("\(error)".contains("Not a directory"), "\(error)")
    }

    @Test func mountErrorsStopThePlan() throws {
        let fixture = try Fixture()
        let recorder = RecordingSyscalls(rootfs: fixture.rootfs)
        recorder.failures = ["mount tmpfs on $rootfs/proc/acpi": EPERM]
        var setup = RootfsSetup(config: try fixture.config(Self.config), syscalls: recorder)
        try setup.prepare()
        try setup.enter()
        #expect(throws: SystemError.self) { try setup.finish() }
        #expect(!recorder.calls.contains("mount none on / [rdonly|remount|bind]"))
    }

    /// The identity sequence: rlimits, the bounding set dropped while privileged, groups and the
    /// user switch keeping capabilities, then the capability sets, ambient ones, no_new_privs.
    @Test func identitySequence() throws {
        let fixture = try Fixture()
        let recorder = RecordingSyscalls(rootfs: fixture.rootfs)
        let setup = ProcessSetup(process: try fixture.config(Self.config).process, syscalls: recorder)
        try setup.applyRlimits()
        try setup.dropBoundingSet()
        try setup.applyUser(setgroupsAllowed: true)
        try setup.applyCapabilities()
        try setup.applyNoNewPrivileges()
        setup.applyUmask()
        let drops = recorder.calls.filter { $0.hasPrefix("prctl PR_CAPBSET_DROP") }
        // CAP_CHOWN (0) and CAP_KILL (5) stay; every other of 0...40 goes.
        #expect(drops.count == 39 && drops.first == "prctl PR_CAPBSET_DROP 1" && !drops.contains("prctl PR_CAPBSET_DROP 5"))
        #expect(
            recorder.calls.filter { !$0.hasPrefix("prctl PR_CAPBSET_DROP") } == [
                "setrlimit \(RLIMIT_NOFILE.rawValue) 512 1024",
                "setgroups 10,20",
                "prctl PR_SET_KEEPCAPS 1",
                "setresgid 1001",
                "setresuid 1000",
                "prctl PR_SET_KEEPCAPS 0",
                "capset 20 0 20 0 20 0",
                "prctl PR_CAP_AMBIENT 4",
                // CAP_CHOWN is not permitted: skipped as runc does, not raised.
                "prctl PR_CAP_AMBIENT 2 5",
                "prctl PR_SET_NO_NEW_PRIVS 1",
                "umask 22",
            ])
        #expect(recorder.calls.firstIndex(of: "prctl PR_CAPBSET_DROP 40")! < recorder.calls.firstIndex(of: "setresuid 1000")!)
    }

    @Test func setgroupsDeniedIsNotCalled() throws {
        let fixture = try Fixture()
        let recorder = RecordingSyscalls(rootfs: fixture.rootfs)
        try ProcessSetup(process: try fixture.config(Self.config).process, syscalls: recorder).applyUser(setgroupsAllowed: false)
        #expect(!recorder.calls.contains { $0.hasPrefix("setgroups") })
        #expect(recorder.calls.contains("setresuid 1000"))
    }

    // MARK: - why a program cannot start, carried as a type

    @Test(arguments: [
        (["/no/such/program"], ExecFailure.executableNotFound),
        (["no-such-program-in-path"], .executableNotFound),
        (["/"], .notExecutable),
    ])
    func execFailuresAreTyped(args: [String], expected: ExecFailure) throws {
        var process = OCISpec.Process(args: args, cwd: "/")
        process.env = ["PATH=/no/such/dir"]
        let error = try #require(throws: RuntimeError.self) { try ProcessSetup(process: process).resolveExecutable() }
        #expect(error.execFailure == expected, "\(error)")
    }

    @Test func theReasonCrossesTheInitSocket() throws {
        for reason in ExecFailure.allCases + [nil] {
            let bytes = try RuntimeJSON.encode(InitMessage.failed("exec: nope", execFailure: reason))
            guard case .failed(let message, let decoded) = try RuntimeJSON.decode(InitMessage.self, from: bytes) else {
                Issue.record("not a failure")
                continue
            }
            #expect(message == "exec: nope" && decoded == reason)
            #expect(RuntimeError.initFailed(message, execFailure: decoded).execFailure == reason)
        }
    }
}

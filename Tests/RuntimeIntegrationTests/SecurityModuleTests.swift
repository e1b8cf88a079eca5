import ContainerRuntime
import Foundation
import OCISpec
import Testing

/// process.apparmorProfile, process.selinuxLabel and linux.mountLabel: applied where the host
/// can, refused where it cannot (unless the org.skiff.ignore-lsm annotation says "true"), and
/// reported by `features`.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct SecurityModuleTests {
    static let host = SecurityModules.Host.detect()

    @Test(.enabled(if: !host.appArmor, "AppArmor is enabled here: the refusal applies to hosts without it"))
    func appArmorProfileIsRefusedWithoutAppArmor() throws {
        let b = try TestBundle("aa-refused")
        b.spec.process?.apparmorProfile = "skiff-test-profile"
        b.shell("true")
        let r = try b.create()
        #expect(
            r.code != 0 && r.err.contains("process.apparmorProfile 'skiff-test-profile'") && r.err.contains("org.skiff.ignore-lsm"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: b.root + "/" + b.id))

        let unconfined = try TestBundle("aa-unconfined")
        unconfined.spec.process?.apparmorProfile = "unconfined"
        unconfined.shell("echo ran")
        let u = try unconfined.run()
        #expect(u.code == 0 && u.out == "ran\n", "\(u)")

        let ignored = try TestBundle("aa-ignored")
        ignored.spec.process?.apparmorProfile = "skiff-test-profile"
        ignored.spec.annotations = [SecurityModules.ignoreAnnotation: "true"]
        ignored.shell("echo ran")
        let i = try ignored.run()
        #expect(i.code == 0 && i.out == "ran\n", "\(i)")
    }

    @Test(.enabled(if: !host.seLinux, "SELinux is enabled here: the refusal applies to hosts without it"))
    func seLinuxLabelsAreRefusedWithoutSELinux() throws {
        let label = try TestBundle("se-label")
        label.spec.process?.selinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
        label.shell("true")
        let r = try label.create()
        #expect(r.code != 0 && r.err.contains("process.selinuxLabel") && r.err.contains("SELinux is not enabled"), "\(r)")

        let mountLabel = try TestBundle("se-mount")
        mountLabel.spec.linux?.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
        mountLabel.shell("true")
        let m = try mountLabel.create()
        #expect(m.code != 0 && m.err.contains("linux.mountLabel"), "\(m)")

        let ignored = try TestBundle("se-ignored")
        ignored.spec.process?.selinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
        ignored.spec.linux?.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
        ignored.spec.annotations = [SecurityModules.ignoreAnnotation: "true"]
        ignored.shell("echo ran")
        let i = try ignored.run()
        #expect(i.code == 0 && i.out == "ran\n", "\(i)")
    }

    /// An exec with a profile the host cannot apply is refused too.
    @Test(.enabled(if: !host.appArmor, "AppArmor is enabled here"))
    func execWithAProfileIsRefusedWithoutAppArmor() throws {
        let b = try TestBundle("aa-exec")
        b.shell("sleep 60")
        try #require(try b.create().code == 0)
        let process = b.dir + "/process.json"
        try #"{"user":{"uid":0,"gid":0},"args":["true"],"cwd":"/","apparmorProfile":"skiff-test-profile"}"#
            .write(toFile: process, atomically: true, encoding: .utf8)
        let r = try b.runtime(["exec", "--process", process, b.id])
        #expect(r.code != 0 && r.err.contains("apparmorProfile"), "\(r)")
    }

    @Test func featuresReportWhatIsApplied() throws {
        let b = try TestBundle("lsm-features")
        let r = try b.runtime(["features"])
        try #require(r.code == 0, "\(r)")
        let features = try JSONDecoder().decode(Features.self, from: Data(r.out.utf8))
        #expect(features.linux.apparmor.enabled == Self.host.appArmor, "\(r.out)")
        #expect(features.linux.selinux.enabled == false, "\(r.out)")
    }

    /// Where AppArmor is enabled, the program runs confined by the profile (loaded for the test).
    @Test(
        .enabled(
            if: host.appArmor,
            "AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled, /sys/kernel/security/apparmor): nothing to apply"
        ))
    func appArmorProfileIsApplied() throws {
        let name = TestEnvironment.uniqueName("aa")
        let profile = NSTemporaryDirectory() + name + ".profile"
        try
            "profile \(name) flags=(attach_disconnected,mediate_deleted) {\n  file,\n  capability,\n  network,\n  signal,\n  unix,\n  mount,\n  umount,\n  pivot_root,\n  ptrace,\n}\n"
            .write(toFile: profile, atomically: true, encoding: .utf8)
        defer {
            _ = try? Command.run("/sbin/apparmor_parser", ["-R", profile])
            unlink(profile)
        }
        let loaded = try Command.run("/sbin/apparmor_parser", ["-r", profile])
        try #require(loaded.code == 0, "apparmor_parser -r: \(loaded)")
        let b = try TestBundle("aa-apply")
        b.spec.process?.apparmorProfile = name
        b.shell("cat /proc/self/attr/current")
        let r = try b.run()
        #expect(r.code == 0 && r.out.hasPrefix(name), "\(r)")
    }
}

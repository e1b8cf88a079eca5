import Testing
@testable import VMM

/// What the jail keeps reachable by path, decided from the configuration alone.
struct MonitorJailPlanTests {
    @Test func withoutVsockNothingIsNeededByPath() {
        var configuration = VMConfiguration(kernelPath: "/k")
        configuration.disks = [.init(path: "/var/lib/disk.img", readOnly: false)]
        configuration.initrdPath = "/boot/initrd"
        #expect(MonitorJail.directories(for: configuration) == [])
    }

    @Test(arguments: [
        ("/run/vm0/v.sock", "/run/vm0"),
        ("/v.sock", "/"),
        ("v.sock", MonitorJail.currentDirectory()),
        ("sub/v.sock", MonitorJail.currentDirectory() + "/sub"),
    ])
    func vsockKeepsTheSocketsDirectory(path: String, directory: String) {
        var configuration = VMConfiguration(kernelPath: "/k")
        configuration.vsock = .init(guestCID: 3, socketPath: path)
        #expect(MonitorJail.directories(for: configuration) == [directory])
    }

    @Test func theJailErrorsSayHowToDoWithout() {
        let step = VMMError.jailStep("unshare(CLONE_NEWNS)", errno: 1).description
        #expect(step.contains("unshare(CLONE_NEWNS) failed") && step.contains("the jail needs") && step.contains("--no-jail"))
        #expect(VMMError.jail("why").description.contains("--no-jail"))
    }
}

import Foundation
import Testing
import VMM

/// Boots the freestanding guest through each entry path on the real /dev/kvm.
@Suite(.serialized, .enabled(if: Host.canBuildAndRunGuests, "needs a usable /dev/kvm and gcc to build the test guest"))
struct FreestandingBootTests {
    func configuration(_ kernel: String, _ test: String, cpus: Int = 1) -> VMConfiguration {
        var config = VMConfiguration(kernelPath: kernel)
        config.commandLine = "test=\(test)"
        config.memoryMiB = 16
        config.cpus = cpus
        return config
    }

    @Test func elfThroughThe64BitLinuxEntryPrintsAndPowersOff() throws {
        let images = try GuestImages.shared()
        let run = try boot(configuration(images.elf64, "none"))
        #expect(run.output == "GUEST-START\nGUEST-DONE\n")
        #expect(run.status == .guestStopped)
        #expect(run.status.exitCode == 0)
    }

    @Test(arguments: InterruptControllerMode.allCases)
    func aDeviceInterruptReachesTheGuestThroughTheIOAPIC(mode: InterruptControllerMode) throws {
        let images = try GuestImages.shared()
        var config = configuration(images.elf64, "irq")
        config.interruptController = mode
        let run = try boot(config)
        #expect(run.output.contains("IRQ-DELIVERED"), "\(mode): \(run.output)")
        #expect(run.status == .guestStopped)
    }

    @Test func aMachineThatRanIsFreedWithItsKVMDescriptors() throws {
        let images = try GuestImages.shared()
        var pipeFDs: [Int32] = [-1, -1]
        #expect(pipe(&pipeFDs) == 0)
        defer { for fd in pipeFDs { close(fd) } }
        weak var vm: VirtualMachine?
        weak var vcpu: VirtualCPU?
        do {
            let machine = try MicroVM(configuration: configuration(images.pvh, "none"), console: CapturingSink())
            try machine.stop(whenReadable: pipeFDs[0])
            vm = machine.vm
            vcpu = machine.vcpus.first
            #expect(machine.run() == .guestStopped)
        }
        #expect(vm == nil, "the VM (and its fd) outlived the machine")
        #expect(vcpu == nil, "the vCPU (and its fd) outlived the machine")
    }

    @Test func theInKernelIrqchipAndPITStillBootTheGuest() throws {
        let images = try GuestImages.shared()
        var config = configuration(images.pvh, "none")
        config.interruptController = .kernel
        let run = try boot(config)
        #expect(run.output == "PVH-OK\n")
        #expect(run.status == .guestStopped)
    }

    @Test func bzImageThroughTheLinuxBootProtocolPrintsAndPowersOff() throws {
        let images = try GuestImages.shared()
        let run = try boot(configuration(images.bzImage, "none"))
        #expect(run.output == "GUEST-START\nGUEST-DONE\n")
        #expect(run.status == .guestStopped)
    }

    @Test func pvhEntryRunsThe32BitEntryPoint() throws {
        let images = try GuestImages.shared()
        let run = try boot(configuration(images.pvh, "none"))
        #expect(run.output == "PVH-OK\n")
        #expect(run.status == .guestStopped)
    }

    @Test func twoVCPUsBootAndTheMachineStillEndsCleanly() throws {
        let images = try GuestImages.shared()
        let run = try boot(configuration(images.elf64, "none", cpus: 2))
        #expect(run.output.contains("GUEST-DONE"))
        #expect(run.status == .guestStopped)
    }

    @Test func memoryAboveTheMMIOHoleIsMappedAsASecondSlot() throws {
        let images = try GuestImages.shared()
        var config = configuration(images.elf64, "probe")
        config.memoryMiB = 4096 + 512
        let run = try boot(config)
        #expect(run.output.contains("GUEST-DONE"))
        #expect(run.status == .guestStopped)
    }

    @Test func serialInputReachesTheGuest() throws {
        let images = try GuestImages.shared()
        let run = try boot(configuration(images.elf64, "echo")) { machine, sink in
            #expect(waitFor("ECHO-READY", in: sink))
            machine.serial.receive(Array("typed by the host\r".utf8))
        }
        #expect(run.output.contains("ECHO:typed by the host"))
        #expect(run.status == .guestStopped)
    }

    @Test func aTripleFaultIsReportedWithItsExitCode() throws {
        let images = try GuestImages.shared()
        let run = try boot(configuration(images.elf64, "fault"))
        guard case .tripleFault = run.status else {
            Issue.record("expected a triple fault, got \(run.status)")
            return
        }
        #expect(run.status.exitCode == 3)
    }

    @Test func theHostCanStopASpinningGuest() throws {
        let images = try GuestImages.shared()
        let scratch = try ScratchDirectory("skiff-stop")
        var config = configuration(images.elf64, "spin", cpus: 2)
        config.vsock = .init(guestCID: 3, socketPath: scratch.file("v.sock"))
        let run = try boot(config, timeout: 30) { machine, sink in
            #expect(waitFor("SPINNING", in: sink))
            machine.stop()
        }
        #expect(run.status == .stoppedByHost)
        #expect(run.status.exitCode == 130)
    }

    @Test func theVsockSocketIsRemovedWithTheVM() throws {
        let images = try GuestImages.shared()
        let scratch = try ScratchDirectory("skiff-vsockgone")
        var config = configuration(images.elf64, "none")
        config.vsock = .init(guestCID: 3, socketPath: scratch.file("v.sock"))
        do {
            let run = try boot(config)
            #expect(run.status == .guestStopped)
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("v.sock")))
    }

    @Test func aFileThatIsNoKernelIsRefusedWithAClearMessage() throws {
        let scratch = try ScratchDirectory("skiff-badkernel")
        try Data("not a kernel".utf8).write(to: URL(fileURLWithPath: scratch.file("k")))
        #expect(throws: VMMError.self) { try MicroVM(configuration: configuration(scratch.file("k"), "none"), console: CapturingSink()) }
        do {
            _ = try MicroVM(configuration: configuration(scratch.file("k"), "none"), console: CapturingSink())
        } catch {
            #expect("\(error)".contains("neither a bzImage"))
        }
    }

    @Test func aMissingKVMDeviceIsAClearError() throws {
        let images = try GuestImages.shared()
        do {
            _ = try MicroVM(configuration: configuration(images.elf64, "none"), console: CapturingSink(), kvmPath: "/nonexistent/kvm")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("cannot open /nonexistent/kvm"))
        }
    }
}

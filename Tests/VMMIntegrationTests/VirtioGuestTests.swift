import CShim
import Foundation
import Testing
import VMM

/// The freestanding guest drives our virtio-mmio devices like a driver would, on the real /dev/kvm.
@Suite(.serialized, .enabled(if: Host.canBuildAndRunGuests, "needs a usable /dev/kvm and gcc to build the test guest"))
struct VirtioGuestTests {
    func configuration(_ test: String) throws -> VMConfiguration {
        var config = VMConfiguration(kernelPath: try GuestImages.shared().elf64)
        config.commandLine = "test=\(test)"
        config.memoryMiB = 16
        return config
    }

    func makeDisk(_ scratch: ScratchDirectory) throws -> String {
        var disk = Data(count: 1 << 20)
        disk.replaceSubrange(0..<24, with: Data("hello-from-the-host-disk".utf8))
        try disk.write(to: URL(fileURLWithPath: scratch.file("disk.img")))
        return scratch.file("disk.img")
    }

    @Test func theGuestProbesTheVirtioMMIORegisters() throws {
        let scratch = try ScratchDirectory("skiff-probe")
        var config = try configuration("probe")
        config.disks = [.init(path: try makeDisk(scratch), readOnly: false)]
        let run = try boot(config)
        #expect(run.output.contains("PROBE 00000000d0000000 magic=0000000074726976 version=0000000000000002 device=0000000000000002"))
        #expect(run.status == .guestStopped)
    }

    @Test func virtioBlockReadsAndWritesTheHostFile() throws {
        let scratch = try ScratchDirectory("skiff-blk")
        var config = try configuration("blk")
        let path = try makeDisk(scratch)
        config.disks = [.init(path: path, readOnly: false)]
        let run = try boot(config)
        #expect(run.output.contains("BLK-CAPACITY 0000000000000800"))
        #expect(run.output.contains("BLK-READ hello-from-the-host-disk"))
        #expect(run.output.contains("BLK-WRITE OK"))
        #expect(run.output.contains("BLK-DONE"), "output: \(run.output)")
        #expect(run.status == .guestStopped)
        let disk = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(String(decoding: disk[512..<532], as: UTF8.self) == "written-by-the-guest")
    }

    @Test func aReadOnlyDiskRefusesGuestWrites() throws {
        let scratch = try ScratchDirectory("skiff-blkro")
        var config = try configuration("blk")
        let path = try makeDisk(scratch)
        config.disks = [.init(path: path, readOnly: true)]
        let run = try boot(config)
        #expect(run.output.contains("BLK-WRITE IOERR"))
        #expect(run.output.contains("BLK-DONE"))
        let disk = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(disk[512..<532].allSatisfy { $0 == 0 })
    }

    @Test func aDescriptorOutsideGuestMemoryBreaksOnlyTheDevice() throws {
        let scratch = try ScratchDirectory("skiff-hostile")
        var config = try configuration("hostile")
        config.disks = [.init(path: try makeDisk(scratch), readOnly: false)]
        let run = try boot(config)
        #expect(run.output.contains("HOSTILE-NEEDS-RESET"))
        #expect(run.output.contains("GUEST-DONE"))
        #expect(run.status == .guestStopped)
        #expect(run.faults.count == 1)
        #expect(run.faults.first?.contains("outside guest memory") == true)
    }

    @Test func aLoopingDescriptorChainBreaksTheDeviceUntilTheDriverResetsIt() throws {
        let scratch = try ScratchDirectory("skiff-loop")
        var config = try configuration("loop")
        config.disks = [.init(path: try makeDisk(scratch), readOnly: false)]
        let run = try boot(config)
        #expect(run.output.contains("LOOP-NEEDS-RESET"), "output: \(run.output)")
        #expect(run.output.contains("AFTER-RESET-READ-OK"))
        #expect(run.status == .guestStopped)
        #expect(run.faults.first?.contains("loop") == true)
    }

    @Test func garbageRegisterWritesBreakTheDeviceAndNothingElse() throws {
        let scratch = try ScratchDirectory("skiff-garbage")
        var config = try configuration("garbage")
        config.disks = [.init(path: try makeDisk(scratch), readOnly: false)]
        let run = try boot(config)
        #expect(run.output.contains("GARBAGE-NEEDS-RESET"))
        #expect(run.output.contains("MAGIC-INTACT"))
        #expect(run.output.contains("GUEST-DONE"))
        #expect(run.status == .guestStopped)
    }

    @Test func aGuestFloodingTheBlockQueueCannotHoldOffAStopRequest() throws {
        let scratch = try ScratchDirectory("skiff-flood")
        var config = try configuration("blkflood")
        config.disks = [.init(path: try makeDisk(scratch), readOnly: false)]
        // The stop arrives as `skiff vm run`'s SIGTERM does: a byte on a pipe the device loop watches.
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        var stopSent = Date()
        // Without a work budget the device loop stays inside the block queue until the watchdog
        // (20 s) kicks the vCPU; with it, the pipe is read within a turn.
        let run = try boot(
            config,
            whileRunning: { _, sink in
                #expect(waitFor("BLK-FLOODING", in: sink))
                var byte: UInt8 = 1
                stopSent = Date()
                #expect(write(fds[1], &byte, 1) == 1)
            }, beforeRun: { try $0.stop(whenReadable: fds[0]) })
        let took = Date().timeIntervalSince(stopSent)
        #expect(run.output.contains("BLK-FLOODING"), "output: \(run.output)")
        #expect(run.status == .stoppedByHost)
        #expect(took < 5, "the stop took \(took) s")
        #expect(run.faults.isEmpty)
    }

    @Test func vsockExchangesBytesWithHostProcessesBothWays() throws {
        let scratch = try ScratchDirectory("skiff-vsock")
        let base = scratch.file("v.sock")
        var config = try configuration("vsock vsock-listen")
        config.vsock = .init(guestCID: 3, socketPath: base)
        // The host side of "guest connects to host port 5000": a listener at base_5000.
        let listener = try UnixSocket.listen(path: base + "_5000")
        let run = try boot(config) { machine, sink in
            let guestConnection = try listener.accept(timeout: 10)
            #expect(try guestConnection.read(count: 16) == "hello-from-guest")
            try guestConnection.write("hello-from-host")
            // Host connects into the guest's port 6000 through the hybrid socket.
            #expect(waitFor("VSOCK-LISTENING", in: sink))
            let connection = try UnixSocket.connect(path: base)
            try connection.write("CONNECT 6000\n")
            let reply = try connection.readLine()
            #expect(reply.hasPrefix("OK "))
            #expect(try connection.read(count: 24) == "hello-host-from-listener")
            try connection.write("reply-to-listener")
            _ = waitFor("GUEST-DONE", in: sink)
        }
        #expect(run.output.contains("VSOCK-CID 0000000000000003"))
        #expect(run.output.contains("VSOCK-GOT hello-from-host"))
        #expect(run.output.contains("VSOCK-LISTENER-GOT reply-to-listener"), "output: \(run.output)")
        #expect(run.status == .guestStopped)
    }

    /// The agent transport of `run --vm --vm-backend skiff`: one end of a socket pair handed to
    /// the machine reaches guest port 1024 once the guest listens there (the guest resets the
    /// first request, as Linux does before the agent listens), with nothing but the guest's bytes.
    @Test func aHostStreamReachesItsGuestPortOnceTheGuestListens() throws {
        let (host, theirs) = try UnixSocket.pair()
        var config = try configuration("agentstream")
        config.vsock = .init(guestCID: 3, socketPath: nil, hostStreams: [.init(fd: theirs, guestPort: 1024)])
        let run = try boot(config) { _, sink in
            #expect(try host.read(count: 16) == "hello-from-agent")
            try host.write("hello-from-host")
            _ = waitFor("GUEST-DONE", in: sink)
        }
        #expect(run.output.contains("VSOCK-REFUSED-ONCE"))
        #expect(run.output.contains("VSOCK-ACCEPT-GOT hello-from-host"), "output: \(run.output)")
        #expect(run.status == .guestStopped)
        #expect(run.faults.isEmpty)
    }

    @Test func aDiskSerialReachesTheGuest() throws {
        let scratch = try ScratchDirectory("skiff-serial")
        var config = try configuration("diskid")
        config.disks = [.init(path: try makeDisk(scratch), readOnly: true, serial: "layer0")]
        let run = try boot(config)
        #expect(run.output.contains("BLK-ID layer0"), "output: \(run.output)")
        #expect(run.status == .guestStopped)
    }

    @Test(
        .enabled(
            if: Host.isRoot && Host.hasIP && Host.python != nil, "needs root, iproute2 and python3 to make a tap in a network namespace"))
    func virtioNetExchangesFramesWithATapInANetworkNamespace() throws {
        let suffix = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let tap = "skt\(suffix)".prefix(15)
        let namespace = "skiff-vmtest-\(suffix)"
        try runCommand("/usr/sbin/ip", ["tuntap", "add", "dev", String(tap), "mode", "tap"])
        defer {
            _ = try? runCommand("/usr/sbin/ip", ["-n", namespace, "link", "del", String(tap)])
            _ = try? runCommand("/usr/sbin/ip", ["link", "del", String(tap)])
            _ = try? runCommand("/usr/sbin/ip", ["netns", "del", namespace])
        }
        try runCommand("/usr/sbin/ip", ["netns", "add", namespace])
        var config = try configuration("net")
        config.tapName = String(tap)
        let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Guest/netpeer.py").path
        var peerOutput = ""
        let run = try boot(config) { _, sink in
            #expect(waitFor("NET-READY", in: sink))
            // The monitor holds the tap open; move it into the test's namespace and talk from there.
            try runCommand("/usr/sbin/ip", ["link", "set", String(tap), "netns", namespace])
            try runCommand("/usr/sbin/ip", ["-n", namespace, "link", "set", String(tap), "up"])
            peerOutput = try runCommand("/usr/sbin/ip", ["netns", "exec", namespace, Host.python ?? "python3", peer, String(tap)])
        }
        #expect(peerOutput.contains("PEER-GOT-PONG"))
        #expect(run.output.contains("NET-REPLIED"))
        #expect(run.status == .guestStopped)
    }

    /// The NIC of `run --vm --vm-backend skiff`: a tap the container's monitor opened inside the
    /// container's network namespace (IFF_VNET_HDR with the kernel's default 10-byte header, as
    /// skiff_tap_open_in_netns makes it), handed over as a descriptor with the container's MAC.
    @Test(
        .enabled(
            if: Host.isRoot && Host.hasIP && Host.python != nil, "needs root, iproute2 and python3 to make a tap in a network namespace"))
    func virtioNetTakesATapDescriptorOpenedInAnotherNetworkNamespace() throws {
        let suffix = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let tap = String("skf\(suffix)".prefix(15))
        let namespace = "skiff-vmtest-\(suffix)"
        try runCommand("/usr/sbin/ip", ["netns", "add", namespace])
        // The tap goes with its descriptor (the machine closes it), the namespace here.
        defer { _ = try? runCommand("/usr/sbin/ip", ["netns", "del", namespace]) }
        let fd = skiff_tap_open_in_netns("/run/netns/" + namespace, tap)
        try #require(fd >= 0, "could not make a tap in \(namespace): errno \(errno)")
        var config = try configuration("net")
        config.tapDescriptor = fd
        config.macAddress = [0x02, 0x42, 0xAC, 0x11, 0x00, 0x09]
        let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Guest/netpeer.py").path
        var peerOutput = ""
        let run = try boot(config) { _, sink in
            #expect(waitFor("NET-READY", in: sink))
            peerOutput = try runCommand("/usr/sbin/ip", ["netns", "exec", namespace, Host.python ?? "python3", peer, tap])
        }
        #expect(run.output.contains("NET-MAC 0242ac110009"), "output: \(run.output)")
        #expect(peerOutput.contains("PEER-GOT-PONG"), "peer: \(peerOutput)")
        #expect(run.output.contains("NET-REPLIED"))
        #expect(run.status == .guestStopped)
    }
}

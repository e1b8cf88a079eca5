import Foundation
import LinuxSupport
import AgentProtocol
import ContainerRuntime
import ImageStore
@testable import Engine
import OCISpec
import Testing

@Suite struct MicroVMTests {
    let directory = "/var/lib/skiff/containers/abc"

    func spec() -> Spec {
        var spec = Spec(process: Process(args: ["sh"]), hostname: "abc")
        spec.mounts = [
            Mount(destination: "/proc", type: "proc", source: "proc"),
            Mount(destination: "/etc/hosts", type: "bind", source: directory + "/hosts", options: ["rbind", "rprivate"]),
            Mount(destination: "/etc/resolv.conf", type: "bind", source: directory + "/resolv.conf", options: ["rbind"]),
            Mount(destination: "/etc/hostname", type: "bind", source: directory + "/hostname", options: ["rbind"]),
        ]
        spec.hooks = Hooks(createRuntime: [Hook(path: "/usr/bin/true")])
        var linux = Linux()
        linux.namespaces = [Namespace(type: .pid), Namespace(type: .network, path: "/run/skiff/netns/abc"), Namespace(type: .mount)]
        spec.linux = linux
        return spec
    }

    @Test func theGuestGetsTheProcessPathsSpecWithoutTheHostsParts() throws {
        let (guest, shares) = try GuestSpec.translate(spec(), containerDirectory: directory)
        #expect(shares.isEmpty)
        #expect(guest.linux?.namespaces?.map(\.type) == [.pid, .mount])
        #expect(guest.hooks == nil)
        let sources = Dictionary(uniqueKeysWithValues: (guest.mounts ?? []).map { ($0.destination, $0.source ?? "") })
        #expect(sources["/etc/hosts"] == GuestPaths.hosts)
        #expect(sources["/etc/resolv.conf"] == GuestPaths.resolvConf)
        #expect(sources["/etc/hostname"] == GuestPaths.hostname)
        #expect(sources["/proc"] == "proc")
        #expect(guest.process == spec().process)
    }

    @Test func directoriesBecomeSharesAndFilesAreRefused() throws {
        var withVolumes = spec()
        withVolumes.mounts? += [
            Mount(destination: "/data", type: "bind", source: "/tmp", options: ["rbind"]),
            Mount(destination: "/again", type: "bind", source: "/tmp", options: ["rbind"]),
            Mount(destination: "/config", type: "bind", source: "/etc", options: ["rbind", "ro"]),
        ]
        let (guest, shares) = try GuestSpec.translate(withVolumes, containerDirectory: directory)
        #expect(
            shares == [
                GuestSpec.Share(tag: "share0", hostPath: "/tmp", readOnly: false),
                GuestSpec.Share(tag: "share1", hostPath: "/etc", readOnly: true),
            ])
        let sources = Dictionary(uniqueKeysWithValues: (guest.mounts ?? []).map { ($0.destination, $0.source ?? "") })
        #expect(sources["/data"] == GuestPaths.share("share0") && sources["/again"] == GuestPaths.share("share0"))
        #expect(sources["/config"] == GuestPaths.share("share1"))
        var withFile = spec()
        withFile.mounts?.append(Mount(destination: "/x", type: "bind", source: "/etc/passwd", options: ["rbind"]))
        #expect(throws: EngineError.self) { try GuestSpec.translate(withFile, containerDirectory: directory) }
    }

    @Test func userNamespacesAreRefused() {
        var withUserNamespace = spec()
        withUserNamespace.linux?.namespaces?.append(Namespace(type: .user))
        #expect(throws: EngineError.self) { try GuestSpec.translate(withUserNamespace, containerDirectory: directory) }
    }

    @Test func memoryAndCPUsSizeTheGuest() {
        #expect(MicroVMSettings().memoryMiB == MicroVMSettings.defaultMemoryMiB)
        #expect(MicroVMSettings(memoryLimit: 256 << 20).memoryMiB == 256 + MicroVMSettings.memoryOverheadMiB)
        #expect(MicroVMSettings(memoryLimit: (256 << 20) + 1).memoryMiB == 257 + MicroVMSettings.memoryOverheadMiB)
        #expect(MicroVMSettings(cpus: 1.5).cpus == 2)
        #expect(MicroVMSettings(cpus: 0.25).cpus == 1)
        #expect(MicroVMSettings().cpus == 1)
    }

    @Test func qemuGetsAMicroVMWithTheDisksByTheirSerialsAndTheAgentPort() {
        let launch = MicroVMLaunch(
            kernel: "/k/vmlinux", initrd: "/i/agent.cpio", memoryMiB: 640, cpus: 2,
            disks: [
                (path: "/d/l0.erofs", serial: "layer0", readOnly: true), (path: "/c/scratch.ext4", serial: "scratch", readOnly: false),
            ],
            shares: [GuestSpec.Share(tag: "share0", hostPath: "/srv/v", readOnly: true)],
            consoleLog: "/c/console.log", agentSocket: 9)
        let args = QEMUBackend.arguments(launch, agentFD: 3, kvm: false)
        func value(after flag: String) -> [String] { args.indices.filter { args[$0] == flag }.map { args[$0 + 1] } }
        #expect(value(after: "-machine").first?.hasPrefix("microvm,") == true)
        #expect(value(after: "-accel") == ["tcg"])
        #expect(value(after: "-m") == ["640M"] && value(after: "-smp") == ["2"])
        #expect(value(after: "-kernel") == ["/k/vmlinux"] && value(after: "-initrd") == ["/i/agent.cpio"])
        #expect(
            value(after: "-drive") == [
                "file=/d/l0.erofs,if=none,id=disk0,format=raw,readonly=on",
                "file=/c/scratch.ext4,if=none,id=disk1,format=raw,readonly=off",
            ])
        #expect(value(after: "-device").contains("virtio-blk-device,drive=disk0,serial=layer0"))
        #expect(value(after: "-device").contains("virtserialport,chardev=agent,name=org.skiff.agent"))
        #expect(value(after: "-chardev").contains("socket,id=agent,fd=3"))
        #expect(args.contains("-no-reboot"))
        #expect(value(after: "-fsdev") == ["local,id=fs0,path=/srv/v,security_model=passthrough,readonly=on"])
        #expect(value(after: "-device").contains("virtio-9p-device,fsdev=fs0,mount_tag=share0"))
        #expect(QEMUBackend.arguments(launch, agentFD: 3, kvm: true).contains("kvm"))
    }

    @Test func theSignalFrameRoundTrips() throws {
        var decoder = AttachFrameDecoder()
        for frame: AttachFrame in [.signal(15, all: false), .signal(9, all: true), .signal(34, all: false)] {
            decoder.append(frame.encoded()[...])
            #expect(try decoder.next() == frame)
        }
        decoder.append([7, 0, 0, 0, 5, 0, 0, 0, 15, 2][...])
        #expect(throws: AttachProtocolError.self) { _ = try decoder.next() }
    }
}

@Suite struct AgentConnectionTests {
    /// A guest that floods output while the host waits for the answer to a request is cut off
    /// with a protocol error, not buffered without end.
    @Test func aGuestFloodingWhileTheHostWaitsIsCutOff() throws {
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let connection = AgentConnection(fd: fds[0])
        let guest = fds[1]
        defer { close(guest) }
        let writer = Thread {
            let chunk = AgentMessages.data(Array(repeating: 0x41, count: AgentWire.maxDataChunk), stream: .stdout, handle: 1)[0]
            let bytes = (try? AgentWire.encode(chunk)) ?? []
            for _ in 0..<400 {
                if bytes.withUnsafeBytes({ send(guest, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) < 0 { return }
            }
        }
        writer.start()
        #expect(throws: AgentProtocolError.self) {
            _ = try connection.call(.stats, deadline: MonotonicClock.seconds() + 20, alive: { true })
        }
    }
}

@Suite struct ExecSessionTests {
    /// Runs the sessions' side until the first frame they send the agent (read on `guest`, the
    /// agent's end) arrives, for at most 10 seconds.
    static func firstRequest(_ sessions: ExecSessions, agent: AgentConnection, guest: Int32) throws -> Frame? {
        var decoder = FrameDecoder()
        let deadline = MonotonicClock.seconds() + 10
        while MonotonicClock.seconds() < deadline {
            var polled = sessions.pollDescriptors()
            _ = poll(&polled, nfds_t(polled.count), 100)
            sessions.handle(polled[...], agent: agent)
            var pfd = pollfd(fd: guest, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = read(guest, &buffer, buffer.count)
                if n > 0, let frame = try decoder.feed(buffer[0..<n]).first { return frame }
            }
        }
        return nil
    }

    /// A session client that stops reading costs the monitor nothing: its output waits in its own
    /// queue, and past the cap the client is dropped, without a blocking write (before, each
    /// frame could hold the monitor for 5 seconds).
    @Test func aClientThatStopsReadingIsDroppedWithoutStallingTheMonitor() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "exec-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sessions = try ExecSessions(directory: directory)
        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let agent = AgentConnection(fd: fds[0])
        let guest = fds[1]
        defer { close(guest) }
        let client = try AttachSocket.connect(directory: directory, name: AttachSocket.execName)
        defer { close(client) }
        let request = AttachFrame.exec(try RuntimeJSON.encode(SessionRequest.copyOut(path: "/big"))).encoded()
        #expect(write(client, request, request.count) == request.count)

        // The monitor accepts the client and passes its request to the agent.
        let frame = try #require(try Self.firstRequest(sessions, agent: agent, guest: guest))
        guard case .copyOut(let handle, _, _) = try AgentMessages.decode(AgentRequest.self, from: frame, kind: .request) else {
            Issue.record("the monitor asked the agent for something else")
            return
        }
        // 16 MiB of the guest's archive for a client that reads nothing.
        let started = MonotonicClock.seconds()
        let chunk = AgentMessages.data(Array(repeating: 0x41, count: AgentWire.maxDataChunk), stream: .archive, handle: handle)[0]
        var taken = 0
        for _ in 0..<256 where sessions.take(chunk) { taken += 1 }
        let elapsed = MonotonicClock.seconds() - started
        #expect(elapsed < 2, "the monitor was held \(elapsed) s by a client that does not read")
        #expect(taken < 256, "the client was never dropped")
        // The client sees what was queued for it, then the end of its connection.
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var pfd = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) > 0 else { break }
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { break }
            received += n
        }
        #expect(received <= ExecSessions.maximumPending + (1 << 20), "\(received) bytes reached the client")
    }

    /// One VM at a time on a container's disks: a second holder waits, then fails with why; once
    /// the first lets go, the lock is free.
    @Test func theDiskLockLetsOneVMAtATimeOnTheDisks() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "disklock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first: FileLock? = try MicroVMDiskLock.acquire(containerDirectory: directory, container: "c", seconds: 1)
        #expect(first?.descriptor != nil)
        #expect(try MicroVMDiskLock.tryAcquire(containerDirectory: directory) == nil)
        let started = MonotonicClock.seconds()
        #expect {
            _ = try MicroVMDiskLock.acquire(containerDirectory: directory, container: "c", seconds: 0.3)
        } throws: { "\($0)".contains("skiff cp") && "\($0)".contains("container c") }
        #expect(MonotonicClock.seconds() - started >= 0.3)
        first = nil
        #expect(try MicroVMDiskLock.tryAcquire(containerDirectory: directory) != nil)
    }

    /// A descriptor at or below the child's numbers is moved above them first, so no dup2
    /// overwrites another's source (the agent socket at 4 and the tap at 3 would have).
    @Test func childDescriptorsNeverOverwriteEachOthersSources() throws {
        let low = dup(0)
        defer { close(low) }
        let descriptors = try ChildDescriptors([(source: low, target: 5), (source: 100, target: 3)])
        #expect(descriptors.pairs.map(\.target) == [5, 3])
        #expect(low > 5 || descriptors.pairs[0].source > 5)
        #expect(descriptors.pairs[1].source == 100)
    }

    /// A stat session on an adopted client (a files-only boot's): the agent is asked for the
    /// path; a path that is not there answers `null` and exit 0, not an error.
    @Test func aStatSessionOnAnAdoptedClientAnswersNullForAMissingPath() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        let agent = AgentConnection(fd: pair[0])
        let guest = pair[1]
        defer { close(guest) }
        var client: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &client) == 0)
        defer { close(client[0]) }
        let sessions = ExecSessions()
        sessions.adopt(client[1])
        let request = AttachFrame.exec(try RuntimeJSON.encode(SessionRequest.stat(path: "/no/such"))).encoded()
        #expect(write(client[0], request, request.count) == request.count)
        let frame = try #require(try Self.firstRequest(sessions, agent: agent, guest: guest))
        #expect(try AgentMessages.decode(AgentRequest.self, from: frame, kind: .request) == .stat(path: "/no/such"))
        let failure = try AgentMessages.failure(AgentFailure(kind: .notFound, message: "no such file"), id: frame.channel)
        #expect(sessions.take(failure))
        #expect(sessions.isEmpty, "the session ended with its answer")
        var answer = AttachFrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var frames: [AttachFrame] = []
        while true {
            let n = read(client[0], &buffer, buffer.count)
            if n <= 0 { break }
            answer.append(buffer[0..<n])
            while let next = try answer.next() { frames.append(next) }
        }
        #expect(frames == [.stdout(Array("null".utf8)), .exit(0)])
    }
}

@Suite struct AgentArchiveTests {
    /// A rebuilt skiff-agent makes the next start clean up older archives; one that a concurrent
    /// start used a moment ago (and may be opening) stays, one unused for long goes.
    @Test func anArchiveInUseIsNotRemovedByANewerAgentsStart() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("agents-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            .path
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let agent = root + "/bin/skiff-agent"
        try FileIO.write(agent, Array("first agent".utf8), mode: 0o755)
        let first = try GuestArtifacts.initrd(nil, root: root, executable: root + "/bin/skiff")
        // A stale archive of an agent long gone.
        let stale = root + "/vm/agent-v0-stale.cpio"
        try FileIO.write(stale, [0], mode: 0o600)
        var old = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, stale, &old, 0) == 0)
        // The first archive was made long ago too, but a start used it just now.
        #expect(utimensat(AT_FDCWD, first, &old, 0) == 0)
        #expect(try GuestArtifacts.initrd(nil, root: root, executable: root + "/bin/skiff") == first)
        // The agent is rebuilt; the next start makes its archive and cleans up.
        unlink(agent)
        try FileIO.write(agent, Array("second agent, another size".utf8), mode: 0o755)
        let second = try GuestArtifacts.initrd(nil, root: root, executable: root + "/bin/skiff")
        #expect(second != first)
        #expect(FileIO.exists(first), "the archive a start has just used was removed")
        #expect(!FileIO.exists(stale), "an archive unused for an hour was kept")
    }
}

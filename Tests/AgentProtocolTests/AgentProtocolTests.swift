import AgentProtocol
import OCISpec
import Testing

@Suite struct AgentWireTests {
    let frames: [Frame] = [
        Frame(kind: .hello, payload: Array("SKIFFAGT".utf8) + [0, 1] + Array("{}".utf8)),
        Frame(kind: .request, channel: 7, payload: Array(#"{"stats":{}}"#.utf8)),
        Frame(kind: .data, channel: 0xFFFF_FFFF, payload: [1] + Array(repeating: 0xAB, count: 300)),
        Frame(kind: .close, channel: 3, payload: [0]),
        Frame(kind: .event),
    ]

    @Test func framesRoundTripAtEverySliceSize() throws {
        let stream = try frames.flatMap { try AgentWire.encode($0) }
        for size in 1...stream.count {
            var decoder = FrameDecoder()
            var decoded: [Frame] = []
            var offset = 0
            while offset < stream.count {
                let end = min(offset + size, stream.count)
                decoded += try decoder.feed(stream[offset..<end])
                offset = end
            }
            try decoder.finish()
            #expect(decoded == frames, "slice size \(size)")
        }
    }

    @Test func theHeaderIsBigEndianLengthKindChannel() throws {
        let bytes = try AgentWire.encode(Frame(kind: .response, channel: 0x0102_0304, payload: [9, 9]))
        #expect(bytes == [0, 0, 0, 7, 3, 1, 2, 3, 4, 9, 9])
    }

    @Test func anOversizeFrameIsRefusedFromItsHeaderAlone() throws {
        var decoder = FrameDecoder()
        let announced = UInt32(AgentWire.maxFrameSize)  // + 4 for the length field: one byte over
        let header: [UInt8] = [
            UInt8(announced >> 24), UInt8(announced >> 16 & 0xFF), UInt8(announced >> 8 & 0xFF), UInt8(announced & 0xFF),
        ]
        #expect(throws: AgentProtocolError.frameTooLarge(size: AgentWire.maxFrameSize + 4, limit: AgentWire.maxFrameSize)) {
            _ = try decoder.feed(header)
        }
        // The largest allowed frame still passes.
        let largest = Frame(kind: .data, channel: 1, payload: Array(repeating: 0, count: AgentWire.maxFrameSize - 9))
        var ok = FrameDecoder()
        #expect(try ok.feed(AgentWire.encode(largest)) == [largest])
        #expect(throws: AgentProtocolError.self) {
            _ = try AgentWire.encode(Frame(kind: .data, payload: Array(repeating: 0, count: AgentWire.maxFrameSize - 8)))
        }
    }

    @Test func shortLengthsUnknownKindsAndCutStreamsAreRefused() throws {
        var short = FrameDecoder()
        #expect(throws: AgentProtocolError.malformedFrame("a frame length of 4 is shorter than a frame header")) {
            _ = try short.feed([0, 0, 0, 4, 1, 0, 0, 0])
        }
        var unknown = FrameDecoder()
        #expect(throws: AgentProtocolError.unknownFrameKind(0x42)) { _ = try unknown.feed([0, 0, 0, 5, 0x42]) }
        var cut = FrameDecoder()
        let bytes = try AgentWire.encode(Frame(kind: .event, payload: [1, 2, 3]))
        #expect(try cut.feed(bytes.dropLast()).isEmpty)
        #expect(cut.pendingByteCount == bytes.count - 1)
        #expect(throws: AgentProtocolError.truncated(pending: bytes.count - 1)) { try cut.finish() }
    }
}

@Suite struct AgentHandshakeTests {
    @Test func helloRoundTrips() throws {
        let hello = AgentHello(role: "agent", software: "skiff 0.1", kernel: "6.1.0-27-amd64")
        #expect(try AgentHandshake.parse(AgentHandshake.frame(hello)) == hello)
    }

    @Test func anotherVersionIsRefusedWithWhatToDo() throws {
        var frame = try AgentHandshake.frame(AgentHello(role: "agent", software: "future"))
        frame.payload[9] = UInt8(truncatingIfNeeded: AgentHandshake.version + 1)
        // The JSON after the version is not even read: a future agent may change it freely.
        frame.payload.replaceSubrange(10..., with: Array("not json".utf8))
        let error = #expect(throws: AgentProtocolError.self) { try AgentHandshake.parse(frame) }
        #expect(error == .versionMismatch(peer: AgentHandshake.version + 1, ours: AgentHandshake.version))
        #expect(error?.description.contains("initramfs") == true)
    }

    @Test func somethingElseIsNotAnAgent() throws {
        #expect(throws: AgentProtocolError.notAnAgent) {
            try AgentHandshake.parse(Frame(kind: .hello, payload: Array("Linux version 6.1".utf8)))
        }
        #expect(throws: AgentProtocolError.notAnAgent) { try AgentHandshake.parse(Frame(kind: .hello, payload: [])) }
        #expect(throws: AgentProtocolError.unexpectedFrame(expected: "hello", got: .event)) {
            try AgentHandshake.parse(Frame(kind: .event))
        }
        var broken = try AgentHandshake.frame(AgentHello(role: "agent", software: "x"))
        broken.payload.removeLast()
        #expect(throws: AgentProtocolError.self) { try AgentHandshake.parse(broken) }
    }
}

@Suite struct AgentMessageTests {
    func roundTrip(_ request: AgentRequest) throws {
        let frame = try AgentMessages.request(request, id: 42)
        #expect(frame.channel == 42)
        #expect(try AgentMessages.decode(AgentRequest.self, from: frame, kind: .request) == request)
    }

    @Test func everyRequestRoundTrips() throws {
        var spec = Spec()
        spec.process = Process(args: ["sh", "-c", "exit 3"], env: ["A=1"], cwd: "/")
        spec.hostname = "vm1"
        let setup = ContainerSetup(
            spec: spec, handle: 1, terminal: true, stdin: true,
            rootfs: GuestRootfs(
                layers: [GuestDisk(serial: "layer-ab12", filesystem: "erofs")], scratch: GuestDisk(serial: "scratch", filesystem: "ext4")),
            network: GuestNetwork(
                interfaces: [.init(mac: "02:42:0a:58:00:05", addresses: ["10.88.0.5/16"], mtu: 1500)],
                routes: [.init(destination: "0.0.0.0/0", gateway: "10.88.0.1")],
                hosts: "127.0.0.1 localhost\n", resolvConf: "nameserver 10.88.0.1\n", hostname: "vm1"),
            shares: [GuestShare(tag: "share0", readOnly: false)])
        for request: AgentRequest in [
            .create(setup: setup), .start, .exec(handle: 2, process: Process(args: ["ls"], cwd: "/tmp"), stdin: true),
            .signal(handle: 1, signal: 15, all: false), .resize(handle: 1, rows: 40, columns: 100),
            .copyOut(handle: 3, path: "/etc/hostname"), .copyIn(handle: 4, path: "/tmp"), .stats, .top(arguments: ["-ef"]),
            .updateHosts(hosts: "10.0.0.2 peer\n"), .shutdown, .mountRootfs(rootfs: setup.rootfs), .stat(path: "/etc/passwd"),
            .export(handle: 5, files: .changes), .export(handle: 6, files: .rootfs),
        ] {
            try roundTrip(request)
        }
    }

    /// The JSON shapes docs/agent-protocol.md shows.
    @Test func theWireShapesAreTheDocumentedOnes() throws {
        func text(_ frame: Frame) -> String { String(decoding: frame.payload, as: UTF8.self) }
        #expect(text(try AgentMessages.request(.start, id: 2)) == #"{"start":{}}"#)
        #expect(
            text(try AgentMessages.request(.signal(handle: 1, signal: 15, all: false), id: 3))
                == #"{"signal":{"handle":1,"signal":15,"all":false}}"#)
        #expect(text(try AgentMessages.response(.process(pid: 7), id: 1)) == #"{"process":{"pid":7}}"#)
        #expect(text(try AgentMessages.event(.exited(handle: 1, status: 3, signal: nil))) == #"{"exited":{"handle":1,"status":3}}"#)
        let create = text(
            try AgentMessages.request(
                .create(
                    setup: ContainerSetup(
                        spec: Spec(), handle: 1, terminal: false, stdin: false,
                        rootfs: GuestRootfs(layers: [], scratch: GuestDisk(serial: "s", filesystem: "ext4")))), id: 1))
        #expect(create.hasPrefix(#"{"create":{"setup":{"spec":{"#), "\(create)")
    }

    @Test func responsesFailuresAndEventsRoundTrip() throws {
        for response: AgentResponse in [
            .done, .process(pid: 1), .stats(GuestStats(cpuNanoseconds: 5, memoryBytes: 1 << 20, memoryLimitBytes: nil, pids: 2)),
            .table(titles: ["PID", "CMD"], rows: [["1", "sh"]]),
            .pathStat(
                GuestPathStat(
                    name: "passwd", size: 512, mode: 0o100644, modifiedSeconds: 1_700_000_000, modifiedNanoseconds: 5, linkTarget: "")),
        ] {
            #expect(
                try AgentMessages.decode(AgentResponse.self, from: AgentMessages.response(response, id: 9), kind: .response) == response)
        }
        let failure = AgentFailure(kind: .executableNotFound, message: "nosuch: not found in $PATH")
        #expect(try AgentMessages.decode(AgentFailure.self, from: AgentMessages.failure(failure, id: 9), kind: .failure) == failure)
        for event: AgentEvent in [.exited(handle: 1, status: 3, signal: nil), .exited(handle: 2, status: 137, signal: 9), .outOfMemory] {
            #expect(try AgentMessages.decode(AgentEvent.self, from: AgentMessages.event(event), kind: .event) == event)
        }
    }

    @Test func aHostileMessageIsABadMessageNotACrash() {
        let garbage = Frame(kind: .request, channel: 1, payload: Array(#"{"launchMissiles":{}}"#.utf8))
        #expect(throws: AgentProtocolError.self) { try AgentMessages.decode(AgentRequest.self, from: garbage, kind: .request) }
        let wrongType = Frame(kind: .event, payload: Array(#"{"exited":{"handle":"one","status":0}}"#.utf8))
        #expect(throws: AgentProtocolError.self) { try AgentMessages.decode(AgentEvent.self, from: wrongType, kind: .event) }
        let notJSON = Frame(kind: .response, channel: 1, payload: [0xFF, 0xFE])
        #expect(throws: AgentProtocolError.self) { try AgentMessages.decode(AgentResponse.self, from: notJSON, kind: .response) }
        #expect(throws: AgentProtocolError.unexpectedFrame(expected: "response", got: .event)) {
            try AgentMessages.decode(AgentResponse.self, from: Frame(kind: .event), kind: .response)
        }
    }

    @Test func dataIsCutIntoChunksAndChecked() throws {
        let bytes = (0..<(AgentWire.maxDataChunk * 2 + 10)).map { UInt8(truncatingIfNeeded: $0) }
        let frames = AgentMessages.data(bytes, stream: .stdout, handle: 5)
        #expect(frames.map(\.payload.count) == [AgentWire.maxDataChunk + 1, AgentWire.maxDataChunk + 1, 11])
        var joined: [UInt8] = []
        for frame in frames {
            let (stream, chunk) = try AgentMessages.stream(of: frame)
            #expect(stream == .stdout && frame.channel == 5)
            joined += chunk
        }
        #expect(joined == bytes)
        #expect(AgentMessages.data([], stream: .stdin, handle: 1).isEmpty)
        #expect(try AgentMessages.stream(of: AgentMessages.close(stream: .stdin, handle: 1)).0 == .stdin)
        #expect(throws: AgentProtocolError.self) { try AgentMessages.stream(of: Frame(kind: .data, channel: 1, payload: [9, 1])) }
        #expect(throws: AgentProtocolError.self) { try AgentMessages.stream(of: Frame(kind: .data, channel: 1, payload: [])) }
        #expect(throws: AgentProtocolError.self) { try AgentMessages.stream(of: Frame(kind: .close, channel: 1, payload: [0, 1])) }
        #expect(throws: AgentProtocolError.self) {
            try AgentMessages.stream(
                of: Frame(kind: .data, channel: 1, payload: [1] + Array(repeating: 0, count: AgentWire.maxDataChunk + 1)))
        }
    }
}

import Engine
import OCISpec
import Testing

/// --restart policies: parsing, docker's decision table and backoff.
@Suite struct RestartPolicyTests {
    @Test func parsesDockerSpellings() throws {
        #expect(try RestartPolicy(parsing: "no") == .no)
        #expect(try RestartPolicy(parsing: "always") == .always)
        #expect(try RestartPolicy(parsing: "unless-stopped") == .unlessStopped)
        #expect(try RestartPolicy(parsing: "on-failure") == .onFailure(maxRetries: 0))
        #expect(try RestartPolicy(parsing: "on-failure:3") == .onFailure(maxRetries: 3))
        #expect(try RestartPolicy(parsing: "on-failure:3").description == "on-failure:3")
        #expect(try RestartPolicy(parsing: "on-failure:3").name == "on-failure")
        for bad in ["sometimes", "on-failure:x", "on-failure:-1", "always:2", "no:1"] {
            #expect(throws: EngineError.self) { try RestartPolicy(parsing: bad) }
        }
    }

    @Test func decidesAsDocker() {
        #expect(!RestartPolicy.no.shouldRestart(exitCode: 1, restartCount: 0, stopRequested: false))
        #expect(RestartPolicy.always.shouldRestart(exitCode: 0, restartCount: 100, stopRequested: false))
        #expect(RestartPolicy.unlessStopped.shouldRestart(exitCode: 0, restartCount: 0, stopRequested: false))
        let twice = RestartPolicy.onFailure(maxRetries: 2)
        #expect(!twice.shouldRestart(exitCode: 0, restartCount: 0, stopRequested: false))
        #expect(twice.shouldRestart(exitCode: 3, restartCount: 0, stopRequested: false))
        #expect(twice.shouldRestart(exitCode: 3, restartCount: 1, stopRequested: false))
        #expect(!twice.shouldRestart(exitCode: 3, restartCount: 2, stopRequested: false))
        #expect(RestartPolicy.onFailure(maxRetries: 0).shouldRestart(exitCode: 1, restartCount: 1000, stopRequested: false))
        for policy in [RestartPolicy.always, .unlessStopped, .onFailure(maxRetries: 0)] {
            #expect(!policy.shouldRestart(exitCode: 1, restartCount: 0, stopRequested: true))
        }
    }

    @Test func backsOffLikeDocker() {
        #expect(RestartPolicy.backoff(previous: nil, ranFor: 0) == 0.1)
        #expect(RestartPolicy.backoff(previous: 0.1, ranFor: 1) == 0.2)
        #expect(RestartPolicy.backoff(previous: 40, ranFor: 1) == 60)
        #expect(RestartPolicy.backoff(previous: 60, ranFor: 1) == 60)
        #expect(RestartPolicy.backoff(previous: 60, ranFor: 10) == 0.1)
    }

    @Test func refusesRestartWithRm() {
        var options = RunOptions()
        options.autoRemove = true
        options.restart = .always
        #expect(throws: EngineError.self) { try options.validateInteractiveOptions() }
        options.restart = .no
        #expect(throws: Never.self) { try options.validateInteractiveOptions() }
    }
}

/// --detach-keys parsing and the matcher that holds back a partial sequence.
@Suite struct DetachKeyTests {
    @Test func parsesDockerSyntax() throws {
        #expect(try DetachKeys(parsing: "") == .standard)
        #expect(try DetachKeys(parsing: "ctrl-p,ctrl-q").sequence == [0x10, 0x11])
        #expect(try DetachKeys(parsing: "ctrl-a,x").sequence == [1, UInt8(ascii: "x")])
        #expect(try DetachKeys(parsing: "ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_").sequence == [0, 27, 28, 29, 30, 31])
        for bad in ["ctrl-1", "ab", "ctrl-p,,ctrl-q", "ctrl-"] {
            #expect(throws: EngineError.self) { try DetachKeys(parsing: bad) }
        }
    }

    @Test func detachesOnTheSequenceOnly() {
        var matcher = DetachKeyMatcher(.standard)
        #expect(matcher.feed(Array("ls\r".utf8)[...]) == (Array("ls\r".utf8), false))
        // A partial sequence is held, then passed on when it breaks.
        #expect(matcher.feed([0x10][...]) == ([], false))
        #expect(matcher.feed([UInt8(ascii: "a")][...]) == ([0x10, UInt8(ascii: "a")], false))
        // Split across reads, and bytes after it dropped.
        #expect(matcher.feed([UInt8(ascii: "x"), 0x10][...]) == ([UInt8(ascii: "x")], false))
        #expect(matcher.feed([0x11, UInt8(ascii: "y")][...]) == ([], true))
        // ctrl-p ctrl-p ctrl-q: the first ctrl-p is passed on, the rest detaches.
        var again = DetachKeyMatcher(.standard)
        #expect(again.feed([0x10, 0x10, 0x11][...]) == ([0x10], true))
    }
}

/// The monitor's attach protocol.
@Suite struct AttachProtocolTests {
    @Test func roundTripsEveryFrameInPieces() throws {
        let frames: [AttachFrame] = [
            .stdin(Array("hi\n".utf8)), .closeStdin, .resize(rows: 40, columns: 132),
            .stdout(Array(repeating: 7, count: 70_000)), .stderr([]), .exit(-1), .exit(137),
        ]
        let bytes = frames.flatMap { $0.encoded() }
        var decoder = AttachFrameDecoder()
        var decoded: [AttachFrame] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 3, bytes.count)
            decoder.append(bytes[offset..<end])
            offset = end
            while let frame = try decoder.next() { decoded.append(frame) }
        }
        #expect(decoded == frames)
    }

    @Test func rejectsHostileFrames() {
        var oversized = AttachFrameDecoder()
        oversized.append([4, 0x7f, 0xff, 0xff, 0xff][...])
        #expect(throws: AttachProtocolError.self) { try oversized.next() }
        var unknown = AttachFrameDecoder()
        unknown.append([99, 0, 0, 0, 0][...])
        #expect(throws: AttachProtocolError.self) { try unknown.next() }
        var shortResize = AttachFrameDecoder()
        shortResize.append([3, 0, 0, 0, 1, 5][...])
        #expect(throws: AttachProtocolError.self) { try shortResize.next() }
    }
}

/// -t and --init in the generated spec.
@Suite struct InteractiveSpecTests {
    func inputs(_ options: RunOptions) -> SpecBuilder.Inputs {
        var config = ContainerConfig()
        config.cmd = ["sh"]
        return SpecBuilder.Inputs(
            id: String(repeating: "cd", count: 32), imageName: "busybox", imageConfig: config, options: options,
            user: ResolvedUser(uid: 0, gid: 0, additionalGids: [], home: "/root"), rootfs: "/store/rootfs")
    }

    @Test func terminalAndInit() throws {
        var options = RunOptions()
        let plain = try SpecBuilder.build(inputs(options))
        #expect(plain.process?.terminal == false)
        #expect(plain.annotations?["org.skiff.init"] == nil)
        #expect(!(plain.process?.env ?? []).contains { $0.hasPrefix("TERM=") })
        options.tty = true
        options.initProcess = true
        let spec = try SpecBuilder.build(inputs(options))
        #expect(spec.process?.terminal == true)
        #expect(spec.process?.env?.contains("TERM=xterm") == true)
        #expect(spec.annotations?["org.skiff.init"] == "true")
        options.env = ["TERM=vt100"]
        #expect(try SpecBuilder.build(inputs(options)).process?.env?.filter { $0.hasPrefix("TERM=") } == ["TERM=vt100"])
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Testing

/// LinuxSupport's signal table, which `skiff kill -s`, `--stop-signal` and `skiff-runtime kill`
/// share, and the signal watcher.
@Suite struct SignalTableTests {
    @Test func namesWithAndWithoutSIGInAnyCase() throws {
        #expect(try SignalTable.number("KILL") == SIGKILL)
        #expect(try SignalTable.number("SIGTERM") == SIGTERM)
        #expect(try SignalTable.number("hup") == SIGHUP)
        #expect(try SignalTable.number("sigwinch") == SIGWINCH)
        #expect(try SignalTable.number("IOT") == SIGABRT)
        #expect(try SignalTable.number("10") == 10)
        #expect(try SignalTable.number("64") == 64)
    }

    @Test func realTimeSignals() throws {
        #expect(try SignalTable.number("RTMIN") == 34)
        #expect(try SignalTable.number("RTMIN+3") == 37)
        #expect(try SignalTable.number("SIGRTMIN+30") == 64)
        #expect(try SignalTable.number("rtmax") == 64)
        #expect(try SignalTable.number("SIGRTMAX-2") == 62)
        #expect(try SignalTable.number("RTMAX-30") == 34)
    }

    @Test func unknownSignalsAreATypedError() {
        for text in [
            "NOPE", "0", "65", "-9", "RTMIN+31", "RTMAX-31", "RTMIN+-1", "RTMAX--1", "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+ 3", "SIG", "",
        ] {
            #expect(throws: UnknownSignal(text), "\(text)") { try SignalTable.number(text) }
        }
        #expect(UnknownSignal("NOPE").description.contains("'NOPE'"))
        #expect(UnknownSignal("NOPE").description.contains("RTMIN+3"))
    }

    @Test func namesOfNumbersRoundTrip() throws {
        #expect(SignalTable.name(SIGTERM) == "TERM")
        #expect(SignalTable.name(SIGABRT) == "ABRT")
        #expect(SignalTable.name(34) == "RTMIN")
        #expect(SignalTable.name(37) == "RTMIN+3")
        #expect(SignalTable.name(64) == "RTMAX")
        #expect(SignalTable.name(0) == nil)
        #expect(SignalTable.name(65) == nil)
        for number in Int32(1)...64 {
            guard let name = SignalTable.name(number) else { continue }
            #expect(try SignalTable.number(name) == number)
        }
    }

    /// A signal sent to the process arrives as an event on the watcher's descriptor,
    /// and a nested watcher of the same signal takes it over until it is closed.
    @Test func watcherTurnsSignalsIntoEvents() throws {
        let outer = try SignalWatcher([SIGUSR1, SIGUSR2])
        defer { outer.close() }
        kill(getpid(), SIGUSR1)
        kill(getpid(), SIGUSR2)
        #expect(waitFor(outer, count: 2).sorted() == [SIGUSR1, SIGUSR2])
        do {
            let inner = try SignalWatcher([SIGUSR1])
            kill(getpid(), SIGUSR1)
            #expect(waitFor(inner) == [SIGUSR1])
            #expect(outer.pending().isEmpty)
            inner.close()
        }
        kill(getpid(), SIGUSR1)
        #expect(waitFor(outer) == [SIGUSR1])
    }

    /// What the watcher got once `count` signals arrived or 5 s passed.
    private func waitFor(_ watcher: SignalWatcher, count: Int = 1) -> [Int32] {
        var got: [Int32] = []
        var pfd = pollfd(fd: watcher.descriptor, events: Int16(POLLIN), revents: 0)
        for _ in 0..<50 where got.count < count {
            _ = poll(&pfd, 1, 100)
            got += watcher.pending()
        }
        return got
    }
}

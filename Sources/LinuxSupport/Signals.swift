#if canImport(Glibc)
import Glibc
#endif
import CShim
import Synchronization

/// A signal name or number that is none: what `kill -s`, `--stop-signal`, an image's StopSignal
/// or `skiff-runtime kill` was given.
public struct UnknownSignal: Error, CustomStringConvertible, Sendable, Equatable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public var description: String {
        "invalid signal '\(text)': use a name such as TERM, SIGKILL or RTMIN+3, or a number from 1 to \(SignalTable.highest)"
    }
}

/// Signal names and numbers, the one table of the project (docker's and runc's spellings):
/// "KILL", "SIGKILL", "kill", "9", and the real-time signals as "RTMIN", "RTMIN+3", "SIGRTMAX-2".
/// Real-time numbers are glibc's: SIGRTMIN is 34 (32 and 33 belong to the threads library), as in
/// docker's and runc's tables.
public enum SignalTable {
    public static let lowestRealTime: Int32 = 34
    public static let highest: Int32 = 64

    /// Standard signals by name without the SIG prefix; the first name of a number is its own.
    public static let standard: [(name: String, number: Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP), ("ABRT", SIGABRT),
        ("IOT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1), ("SEGV", SIGSEGV),
        ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM), ("STKFLT", SIGSTKFLT),
        ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP), ("TTIN", SIGTTIN), ("TTOU", SIGTTOU),
        ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ), ("VTALRM", SIGVTALRM), ("PROF", SIGPROF),
        ("WINCH", SIGWINCH), ("IO", SIGIO), ("POLL", SIGIO), ("PWR", SIGPWR), ("SYS", SIGSYS),
    ]

    /// The number of a signal given by name (any case, with or without SIG) or number (1-64).
    public static func number(_ text: String) throws(UnknownSignal) -> Int32 {
        if let value = Int32(text) {
            guard value > 0 && value <= highest else { throw UnknownSignal(text) }
            return value
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let entry = standard.first(where: { $0.name == name }) { return entry.number }
        if name.hasPrefix("RTMIN"), let offset = offset(name.dropFirst(5), sign: "+") {
            let value = lowestRealTime + offset
            if value <= highest { return value }
        }
        if name.hasPrefix("RTMAX"), let offset = offset(name.dropFirst(5), sign: "-") {
            let value = highest - offset
            if value >= lowestRealTime { return value }
        }
        throw UnknownSignal(text)
    }

    /// The name of a number without SIG ("TERM", "RTMIN+3", "RTMAX"); nil outside 1-64.
    public static func name(_ number: Int32) -> String? {
        if let entry = standard.first(where: { $0.number == number }) { return entry.name }
        guard number >= lowestRealTime && number <= highest else { return nil }
        if number == highest { return "RTMAX" }
        return number == lowestRealTime ? "RTMIN" : "RTMIN+\(number - lowestRealTime)"
    }

    /// "" (0), or the sign followed by decimal digits only (no second sign, no spaces).
    private static func offset(_ text: Substring, sign: Character) -> Int32? {
        if text.isEmpty { return 0 }
        guard text.first == sign else { return nil }
        let digits = text.dropFirst()
        guard !digits.isEmpty, digits.count <= 2, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int32(digits)
    }
}

/// Signals received as events: while a watcher lives, each of its signals is caught by a handler
/// that writes the signal's number as one byte to the watcher's pipe, and `descriptor` (the read
/// end, non-blocking) becomes readable; `pending()` returns what arrived. The one mechanism of the
/// project for turning signals into something a poll loop or a thread waits on (terminal
/// relays, signal forwarding, interrupt cleanup).
///
/// A self-pipe rather than a signalfd, because the CLI has several threads: a signalfd sees only
/// signals blocked in every thread, which threads started by libraries do not do. The handler is
/// async-signal-safe (an atomic load and a write(2)). A newer watcher of the same signal takes it
/// over until it is closed, then the older one gets it again.
public final class SignalWatcher {
    /// The read end of the pipe: poll it for POLLIN.
    public let descriptor: Int32
    private let writeEnd: Int32
    private var previous: [(signal: Int32, action: sigaction, writeEnd: Int32)] = []
    private var closed = false

    /// Where each signal's handler writes (-1: nowhere); read by the handler, so atomic.
    private static let writeEnds: InlineArray<65, Atomic<Int32>> = InlineArray { _ in Atomic(-1) }

    public init(_ signals: [Int32]) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard skiff_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else { throw SystemError("pipe2 for signal events") }
        descriptor = fds[0]
        writeEnd = fds[1]
        for signal in Set(signals) where signal > 0 && signal <= SignalTable.highest {
            let earlier = Self.writeEnds[Int(signal)].exchange(writeEnd, ordering: .acquiringAndReleasing)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                guard number > 0 && number <= SignalTable.highest else { return }
                let fd = SignalWatcher.writeEnds[Int(number)].load(ordering: .acquiring)
                guard fd >= 0 else { return }
                let saved = errno
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(fd, &byte, 1)
                errno = saved
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            var old = sigaction()
            sigaction(signal, &action, &old)
            previous.append((signal, old, earlier))
        }
    }

    /// The signals that arrived since the last call, in order; empty when none did.
    public func pending() -> [Int32] {
        var signals: [Int32] = []
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(descriptor, &bytes, bytes.count)
            if n > 0 {
                signals += bytes[0..<n].map { Int32($0) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return signals
        }
    }

    /// Blocks until at least one signal arrived, then returns what did (nil if the pipe failed).
    public func wait() -> [Int32]? {
        while true {
            let signals = pending()
            if !signals.isEmpty { return signals }
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, -1) < 0 && errno != EINTR { return nil }
        }
    }

    /// Gives the signals back to what had them before (an earlier watcher or the old action).
    public func close() {
        guard !closed else { return }
        closed = true
        for entry in previous.reversed() {
            var action = entry.action
            sigaction(entry.signal, &action, nil)
            _ = Self.writeEnds[Int(entry.signal)].compareExchange(
                expected: writeEnd, desired: entry.writeEnd, ordering: .acquiringAndReleasing)
        }
        Glibc.close(writeEnd)
        Glibc.close(descriptor)
    }

    deinit { close() }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Runs a helper program (a hook, `ps`) with posix_spawn, which is safe from Swift where fork is not.
public enum Subprocess {
    /// The outcome of a finished program.
    public struct Result: Sendable {
        public var status: Int32
        public var output: [UInt8]
        public var timedOut: Bool
        /// The exit code, or 128+signal when it was killed by a signal.
        public var exitCode: Int32 { status }
    }

    /// Runs `path` with `args` (args[0] included) and `env`, feeding `stdin` and collecting stdout
    /// (and stderr when `captureStderr`). Kills the program with SIGKILL after `timeout` seconds.
    /// `outputLimit` keeps only the first bytes of the output (the rest is read and dropped, so a
    /// chatty program neither blocks nor grows our memory). Once the program has exited, what its
    /// descendants still write is read for at most a second: one that holds the pipe open does
    /// not hold us.
    public static func run(
        path: String, args: [String], env: [String], stdin: [UInt8] = [], captureOutput: Bool = false,
        captureStderr: Bool = false, timeout: Double? = nil, outputLimit: Int? = nil
    ) throws -> Result {
        let (inReadEnd, inWriteEnd) = try Descriptors.pipe()
        let inRead = OwnedFD(inReadEnd)
        var inWrite: OwnedFD? = OwnedFD(inWriteEnd)
        var outRead: OwnedFD?, outWrite: OwnedFD?
        if captureOutput {
            let (readEnd, writeEnd) = try Descriptors.pipe()
            outRead = OwnedFD(readEnd)
            outWrite = OwnedFD(writeEnd)
        }
        // The read end of the output pipe, when there is one.
        let outPipe = outRead?.raw

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inRead.raw, 0)
        if let writeEnd = outWrite?.raw {
            posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
            if captureStderr { posix_spawn_file_actions_adddup2(&actions, writeEnd, 2) }
        }
        let spawnAttributes = CleanSpawnAttributes()

        Diagnostics.debug("running " + args.joined(separator: " "))
        var pid: pid_t = 0
        let argv = CStringArray(args)
        let envp = CStringArray(env)
        let rc = withExtendedLifetime((argv, envp)) {
            posix_spawn(&pid, path, &actions, &spawnAttributes.attributes, argv.pointers, envp.pointers)
        }
        outWrite = nil  // the program has its copy: end-of-file comes when it exits
        guard rc == 0 else { throw SystemError("run \(path)", errno: rc) }

        // Feed stdin; a program that does not read it must not block us (EPIPE is fine).
        let previous = signal(SIGPIPE, SIG_IGN)
        if let writeEnd = inWrite?.raw { _ = try? FileIO.writeAll(fd: writeEnd, stdin, what: "stdin of \(path)") }
        signal(SIGPIPE, previous)
        inWrite = nil

        var output: [UInt8] = []
        func keep(_ bytes: ArraySlice<UInt8>) {
            let room = (outputLimit ?? Int.max) - output.count
            if room > 0 { output.append(contentsOf: bytes.prefix(room)) }
        }
        var timedOut = false
        let pidfd = skiff_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        let deadline = timeout.map { MonotonicClock.seconds() + $0 }
        var outOpen = outPipe != nil
        while true {
            var fds: [pollfd] = []
            if pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            if outOpen, let outPipe { fds.append(pollfd(fd: outPipe, events: Int16(POLLIN), revents: 0)) }
            var waitMs: Int32 = -1
            if let deadline {
                let left = deadline - MonotonicClock.seconds()
                if left <= 0 {
                    timedOut = true
                    kill(pid, SIGKILL)
                    break
                }
                waitMs = Int32(min(left * 1000 + 1, 1_000_000))
            }
            if fds.isEmpty { break }
            let n = poll(&fds, nfds_t(fds.count), waitMs)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { continue }
            var exited = false
            for p in fds where p.revents != 0 {
                if p.fd == pidfd { exited = true }
                if let outPipe, p.fd == outPipe {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    let r = read(outPipe, &buffer, buffer.count)
                    if r > 0 { keep(buffer[0..<r]) } else { outOpen = false }
                }
            }
            if exited && !outOpen { break }
            if exited && pidfd >= 0 && outOpen {
                // Drain what is left, then stop: until the end, a quiet 100 ms, or a second in all.
                if let outPipe {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    let deadline = MonotonicClock.seconds() + 1
                    while MonotonicClock.seconds() < deadline {
                        var pending = pollfd(fd: outPipe, events: Int16(POLLIN), revents: 0)
                        guard poll(&pending, 1, 100) > 0 else { break }
                        let r = read(outPipe, &buffer, buffer.count)
                        if r <= 0 { break }
                        keep(buffer[0..<r])
                    }
                }
                break
            }
            if pidfd < 0 { break }
        }
        let status = Processes.wait(pid)
        return Result(status: status, output: output, timedOut: timedOut)
    }
}

/// Process waiting helpers.
public enum Processes {
    /// Waits for a child and returns its exit code, or 128+signal when a signal ended it.
    @discardableResult
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return decode(status)
    }

    /// Turns a wait status into a shell-style exit code.
    public static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        if signal == 0 { return (status >> 8) & 0xff }
        return 128 + signal
    }

    /// Whether a process with this pid exists (zombies included).
    public static func exists(_ pid: pid_t) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}

/// A NULL-terminated array of C strings that lives as long as this value. The array itself is a
/// stable allocation, so its address may be stored in a C struct (not only passed to one call).
public final class CStringArray {
    public let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    public init(_ strings: [String]) {
        count = strings.count + 1
        pointers = .allocate(capacity: count)
        for (index, string) in strings.enumerated() { (pointers + index).initialize(to: strdup(string)) }
        (pointers + strings.count).initialize(to: nil)
    }

    deinit {
        for index in 0..<count { free(pointers[index]) }
        pointers.deinitialize(count: count)
        pointers.deallocate()
    }
}

/// posix_spawn attributes for a child that must start clean: every signal at its default
/// disposition and none blocked, whatever the caller had; optionally in a new session.
public final class CleanSpawnAttributes {
    public var attributes = posix_spawnattr_t()

    public init(newSession: Bool = false) {
        posix_spawnattr_init(&attributes)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        let setsid: Int32 = newSession ? 0x80 : 0  // POSIX_SPAWN_SETSID (glibc 2.26)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | setsid))
    }

    deinit { posix_spawnattr_destroy(&attributes) }
}

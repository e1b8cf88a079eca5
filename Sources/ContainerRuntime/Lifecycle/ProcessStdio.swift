#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// The stdio of a process the runtime creates (a container's init or an exec) for a caller that
/// keeps the other ends: the engine's monitor and the guest agent. The runtime's child inherits
/// the caller's 0, 1 and 2, so they are pointed at the process's ends while it is made (stdout
/// and stderr pipes, with `stdin` a stdin pipe, else /dev/null), or, with a terminal, the caller
/// passes a console socket and receives the pty master over it. The caller's ends are
/// non-blocking, for a poll loop.
public struct ProcessStdio: Sendable {
    /// The read end of stdout, or the pty master with a terminal.
    public private(set) var stdout: Int32 = -1
    /// The read end of stderr; -1 with a terminal (its output is all on the master).
    public private(set) var stderr: Int32 = -1
    /// Where input goes: the write end of the stdin pipe, or the pty master; -1 without input.
    public private(set) var stdin: Int32 = -1
    /// The pty master, -1 without a terminal.
    public private(set) var master: Int32 = -1

    /// Every descriptor above, once each: the caller's to close.
    public var owned: [Int32] {
        var seen: [Int32] = []
        for fd in [stdout, stderr, stdin] where fd >= 0 && !seen.contains(fd) { seen.append(fd) }
        return seen
    }

    /// Wires the stdio, runs `create` (given the console socket's child end with a terminal; it
    /// returns what the runtime's create or exec returned), and points 0, 1 and 2 back at
    /// `restoring` (three descriptors), or at /dev/null when nil. On a failure nothing of ours is
    /// left open.
    public static func create<Value>(
        terminal: Bool, stdin: Bool, restoring saved: [Int32]?, _ create: (_ consoleSocket: Int32?) throws -> Value
    ) throws -> (Value, ProcessStdio) {
        let devNull = try sysCall("open /dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        var childEnds: [Int32] = [devNull]
        var wired = ProcessStdio()
        var consoleSocket: (ours: Int32, theirs: Int32)?
        var succeeded = false
        defer {
            for target: Int32 in 0...2 { dup2(saved.map { $0[Int(target)] } ?? devNull, target) }
            for fd in childEnds { close(fd) }
            if let consoleSocket { close(consoleSocket.ours) }
            if !succeeded { for fd in wired.owned { close(fd) } }
        }
        if terminal {
            let (ours, theirs) = try Descriptors.socketPair()
            consoleSocket = (ours, theirs)
            childEnds.append(theirs)
            for target: Int32 in 0...2 { dup2(devNull, target) }
        } else {
            let (outRead, outWrite) = try Descriptors.pipe()
            wired.stdout = outRead
            childEnds.append(outWrite)
            let (errRead, errWrite) = try Descriptors.pipe()
            wired.stderr = errRead
            childEnds.append(errWrite)
            if stdin {
                let (inRead, inWrite) = try Descriptors.pipe()
                wired.stdin = inWrite
                childEnds.append(inRead)
                dup2(inRead, 0)
            } else {
                dup2(devNull, 0)
            }
            dup2(outWrite, 1)
            dup2(errWrite, 2)
        }
        let value = try create(consoleSocket?.theirs)
        if let consoleSocket {
            let received = try Descriptors.receive(from: consoleSocket.ours, max: 1, payloadSize: 256)
            guard let master = received.fds.first else {
                throw RuntimeError.initFailed("the container's init sent no terminal over the console socket")
            }
            for extra in received.fds.dropFirst() { close(extra) }
            wired.master = master
            wired.stdout = master
            wired.stdin = master
        }
        for fd in wired.owned { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        succeeded = true
        return (value, wired)
    }
}

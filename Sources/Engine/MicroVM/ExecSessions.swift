#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import ContainerRuntime
import LinuxSupport
import OCISpec

/// What `skiff exec` asks a micro-VM container's monitor for, first on its `exec.sock`.
struct ExecRequest: Codable, Sendable {
    var process: Process
    /// The client sends input (`-i`).
    var stdin: Bool
    /// `-d`: the monitor answers `exit 0` once the process runs and drops the connection.
    var detach: Bool
}

/// The `exec` sessions of a micro-VM container's monitor: one connection on `exec.sock` each,
/// speaking the attach frames (the request first, then input, sizes and signals from the
/// client; output and the exit code to it). Each session's process is an `exec` in the guest
/// under a handle of its own.
final class ExecSessions {
    final class Session {
        let fd: Int32
        var decoder = AttachFrameDecoder()
        var handle: UInt32?
        var requestID: UInt32?
        var detach = false
        var tty = false
        var finished = false
        init(fd: Int32) { self.fd = fd }
    }

    let listener: Int32
    private var sessions: [Session] = []
    private var nextHandle: UInt32 = 100

    init(directory: String) throws {
        listener = try AttachSocket.listen(directory: directory, name: AttachSocket.execName)
    }

    deinit {
        for session in sessions { close(session.fd) }
        close(listener)
    }

    func pollDescriptors() -> [pollfd] {
        [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] + sessions.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
    }

    /// Accepts, reads and forwards what the clients sent (`results` are `pollDescriptors`' polled).
    func handle(_ results: ArraySlice<pollfd>, agent: AgentConnection) {
        let polled = Array(results)
        // By descriptor, not position: sessions may have ended (`take`) since the poll.
        var ready: [Int32: Int16] = [:]
        for result in polled.dropFirst() { ready[result.fd] = result.revents }
        for session in sessions where (ready[session.fd] ?? 0) != 0 {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(session.fd, &buffer, buffer.count)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else {
                // The client went away; its process runs on, as docker's exec does.
                drop(session)
                continue
            }
            session.decoder.append(buffer[0..<n])
            do {
                while let frame = try session.decoder.next() { try forward(frame, from: session, agent: agent) }
            } catch {
                drop(session)
            }
        }
        if let first = polled.first, first.revents != 0 { acceptAll() }
    }

    private func acceptAll() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            sessions.append(Session(fd: fd))
        }
    }

    private func forward(_ frame: AttachFrame, from session: Session, agent: AgentConnection) throws {
        switch frame {
        case .exec(let json):
            guard session.handle == nil else { throw AttachProtocolError(description: "a second exec request on one connection") }
            let request = try RuntimeJSON.decode(ExecRequest.self, from: json)
            let handle = nextHandle
            nextHandle &+= 1
            session.handle = handle
            session.detach = request.detach
            session.tty = request.process.terminal ?? false
            session.requestID = try agent.post(.exec(handle: handle, process: request.process, stdin: request.stdin && !request.detach))
        case .stdin(let bytes):
            guard let handle = session.handle else { return }
            for data in AgentMessages.data(bytes, stream: .stdin, handle: handle) { try agent.send(data) }
        case .closeStdin:
            guard let handle = session.handle, !session.tty else { return }
            try agent.send(AgentMessages.close(stream: .stdin, handle: handle))
        case .resize(let rows, let columns):
            guard let handle = session.handle else { return }
            try agent.post(.resize(handle: handle, rows: rows, columns: columns))
        case .signal(let number, _):
            guard let handle = session.handle else { return }
            try agent.post(.signal(handle: handle, signal: number, all: false))
        case .stdout, .stderr, .exit:
            break
        }
    }

    /// A frame from the agent that belongs to a session: its answer, output or exit. True when
    /// it was one of theirs.
    func take(_ frame: Frame) -> Bool {
        switch frame.kind {
        case .response, .failure:
            guard let session = sessions.first(where: { $0.requestID == frame.channel }) else { return false }
            session.requestID = nil
            if frame.kind == .failure {
                let failure =
                    (try? AgentMessages.decode(AgentFailure.self, from: frame, kind: .failure))
                    ?? AgentFailure(kind: .failed, message: "the guest agent refused the exec")
                let code: Int32 = failure.kind == .executableNotFound ? 127 : failure.kind == .notExecutable ? 126 : 125
                send(.stderr(Array("skiff: \(failure.message)\n".utf8)), to: session)
                finish(session, code: code)
            } else if session.detach {
                finish(session, code: 0)
            }
            return true
        case .data:
            guard let session = sessions.first(where: { $0.handle == frame.channel }),
                let (stream, bytes) = try? AgentMessages.stream(of: frame)
            else { return false }
            send(stream == .stderr ? .stderr(Array(bytes)) : .stdout(Array(bytes)), to: session)
            return true
        case .close:
            return sessions.contains { $0.handle == frame.channel }
        case .event:
            guard case .exited(let handle, let status, _)? = try? AgentMessages.decode(AgentEvent.self, from: frame, kind: .event),
                let session = sessions.first(where: { $0.handle == handle })
            else { return false }
            finish(session, code: status)
            return true
        default:
            return false
        }
    }

    /// Output goes to the client with blocking writes: an exec client reads what it asked for,
    /// and one that stops reading stalls only its own stream's handle... and the monitor, so a
    /// client gets 5 seconds per write before it is dropped.
    private func send(_ frame: AttachFrame, to session: Session) {
        guard !session.finished else { return }
        var pfd = pollfd(fd: session.fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&pfd, 1, 5000) > 0, (try? FileIO.writeAll(fd: session.fd, frame.encoded(), what: "an exec client")) != nil else {
            drop(session)
            return
        }
    }

    private func finish(_ session: Session, code: Int32) {
        send(.exit(code), to: session)
        drop(session)
    }

    private func drop(_ session: Session) {
        guard !session.finished else { return }
        session.finished = true
        close(session.fd)
        sessions.removeAll { $0 === session }
    }
}

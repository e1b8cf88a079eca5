#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import ContainerRuntime
import LinuxSupport
import OCISpec

/// What `skiff exec` asks a micro-VM container's monitor for, in a `SessionRequest.exec`.
struct ExecRequest: Codable, Sendable {
    var process: Process
    /// The client sends input (`-i`).
    var stdin: Bool
    /// `-d`: the monitor answers `exit 0` once the process runs and drops the connection.
    var detach: Bool
}

/// What a client asks a micro-VM container's monitor for, first on its `exec.sock` (the JSON of
/// an `AttachFrame.exec`): everything the host can only learn or do through the guest's agent.
enum SessionRequest: Codable, Sendable {
    /// Run a process; the connection is its stdio, terminal size, signals and exit code.
    case exec(ExecRequest)
    /// The tar stream of `path` comes as stdout frames, then `exit 0` (or stderr and `exit 1`).
    case copyOut(path: String, followLink: Bool = false)
    /// The client's stdin frames are a tar stream to unpack at `path` (`ArchiveRoot`'s naming);
    /// `exit 0` once it is unpacked.
    case copyIn(path: String)
    /// The container's figures as JSON of `GuestStats` on stdout, then `exit 0`.
    case stats
    /// The container's processes as JSON of `SessionTable` on stdout, then `exit 0`.
    case top(arguments: [String])
    /// What `path` is: JSON of `GuestPathStat` on stdout (`null` when there is nothing there),
    /// then `exit 0`.
    case stat(path: String)
    /// The tar stream of the root filesystem or of the changes comes as stdout frames, then `exit 0`.
    case export(files: ExportedFiles)
}

/// `top`'s answer on a session.
struct SessionTable: Codable, Sendable {
    var titles: [String]
    var rows: [[String]]
}

/// The sessions of a micro-VM container's monitor: one connection on `exec.sock` each, speaking
/// the attach frames (the request first, then input, sizes and signals from the client; output
/// and the exit code to it). Each session's process or copy has a handle of its own in the guest.
///
/// Output waits per client in a queue the monitor's loop writes out as the client reads: a client
/// that stops reading never stalls the monitor (the container's log, its other clients), and one
/// whose queue passes `maximumPending` is dropped, as the attach server drops its clients.
final class ExecSessions {
    enum Kind {
        case exec, copyOut, copyIn, stats, top, stat
    }

    final class Session {
        let fd: Int32
        var decoder = AttachFrameDecoder()
        var kind = Kind.exec
        var handle: UInt32?
        var requestID: UInt32?
        var detach = false
        var tty = false
        /// Output not taken by the client yet.
        var pending: [UInt8] = []
        /// The exit code is queued: the session ends once the queue is written.
        var closing = false
        var finished = false
        init(fd: Int32) { self.fd = fd }
    }

    /// The most output that may wait for one client (a `cp` from the container reads at disk speed;
    /// a stuck client is dropped past this).
    static let maximumPending = 8 << 20

    let listener: Int32
    private var sessions: [Session] = []
    private var nextHandle: UInt32 = 100

    /// Listens on the container's `exec.sock`; the reason when it cannot (the caller decides
    /// whether the container may run without sessions).
    init(directory: String) throws {
        listener = try AttachSocket.listen(directory: directory, name: AttachSocket.execName)
    }

    /// Sessions without a listener: each client comes connected (`adopt`), as to the files-only
    /// boot of a stopped container (`MicroVMFilesBoot`).
    init() {
        listener = -1
    }

    /// Serves a client already connected on `client` (taken over).
    func adopt(_ client: Int32) {
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        sessions.append(Session(fd: client))
    }

    /// Ends every session (their clients see the end of their connection).
    func dropAll() {
        for session in sessions { drop(session) }
    }

    deinit {
        for session in sessions { close(session.fd) }
        if listener >= 0 { close(listener) }
    }

    /// No session is left (a files-only boot is over once its one session is).
    var isEmpty: Bool { sessions.isEmpty }

    func pollDescriptors() -> [pollfd] {
        [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            + sessions.map {
                pollfd(fd: $0.fd, events: ($0.closing ? 0 : Int16(POLLIN)) | ($0.pending.isEmpty ? 0 : Int16(POLLOUT)), revents: 0)
            }
    }

    /// Accepts, reads and forwards what the clients sent, and writes what waits for them
    /// (`results` are `pollDescriptors`' polled).
    func handle(_ results: ArraySlice<pollfd>, agent: AgentConnection) {
        let polled = Array(results)
        // By descriptor, not position: sessions may have ended (`take`) since the poll.
        var ready: [Int32: Int16] = [:]
        for result in polled.dropFirst() { ready[result.fd] = result.revents }
        for session in sessions {
            let revents = ready[session.fd] ?? 0
            if revents & Int16(POLLOUT) != 0 { flush(session) }
            if session.closing && revents & Int16(POLLHUP | POLLERR) != 0 { drop(session) }
            guard !session.finished, !session.closing, revents & ~Int16(POLLOUT) != 0 else { continue }
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
        sessions += AttachSocket.acceptWaiting(listener).map { Session(fd: $0) }
    }

    private func forward(_ frame: AttachFrame, from session: Session, agent: AgentConnection) throws {
        switch frame {
        case .exec(let json):
            guard session.requestID == nil && session.handle == nil else {
                throw AttachProtocolError(description: "a second request on one connection")
            }
            let handle = nextHandle
            nextHandle &+= 1
            switch try RuntimeJSON.decode(SessionRequest.self, from: json) {
            case .exec(let request):
                session.handle = handle
                session.detach = request.detach
                session.tty = request.process.terminal ?? false
                session.requestID = try agent.post(
                    .exec(handle: handle, process: request.process, stdin: request.stdin && !request.detach))
            case .copyOut(let path, let followLink):
                session.kind = .copyOut
                session.handle = handle
                session.requestID = try agent.post(.copyOut(handle: handle, path: path, followLink: followLink ? true : nil))
            case .copyIn(let path):
                session.kind = .copyIn
                session.handle = handle
                session.requestID = try agent.post(.copyIn(handle: handle, path: path))
            case .stats:
                session.kind = .stats
                session.requestID = try agent.post(.stats)
            case .top(let arguments):
                session.kind = .top
                session.requestID = try agent.post(.top(arguments: arguments))
            case .stat(let path):
                session.kind = .stat
                session.requestID = try agent.post(.stat(path: path))
            case .export(let files):
                session.kind = .copyOut
                session.handle = handle
                session.requestID = try agent.post(.export(handle: handle, files: files))
            }
        case .stdin(let bytes):
            guard let handle = session.handle else { return }
            let stream: StdioStream = session.kind == .copyIn ? .archive : .stdin
            for data in AgentMessages.data(bytes, stream: stream, handle: handle) { try agent.send(data) }
        case .closeStdin:
            guard let handle = session.handle, !session.tty else { return }
            try agent.send(AgentMessages.close(stream: session.kind == .copyIn ? .archive : .stdin, handle: handle))
        case .resize(let rows, let columns):
            guard let handle = session.handle, session.kind == .exec else { return }
            try agent.post(.resize(handle: handle, rows: rows, columns: columns))
        case .signal(let number, _):
            guard let handle = session.handle, session.kind == .exec else { return }
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
                    ?? AgentFailure(kind: .failed, message: "the guest agent refused the request")
                if session.kind == .stat && failure.kind == .notFound {
                    send(.stdout(Array("null".utf8)), to: session)
                    finish(session, code: 0)
                    return true
                }
                var code: Int32 = failure.kind == .executableNotFound ? 127 : failure.kind == .notExecutable ? 126 : 125
                if session.kind != .exec { code = 1 }
                send(.stderr(Array("skiff: \(failure.message)\n".utf8)), to: session)
                finish(session, code: code)
                return true
            }
            switch session.kind {
            case .exec:
                if session.detach { finish(session, code: 0) }
            case .copyOut, .copyIn:
                finish(session, code: 0)
            case .stats, .top, .stat:
                switch try? AgentMessages.decode(AgentResponse.self, from: frame, kind: .response) {
                case .stats(let stats)?:
                    if let json = try? RuntimeJSON.encode(stats, pretty: false) { send(.stdout(json), to: session) }
                    finish(session, code: 0)
                case .table(let titles, let rows)?:
                    if let json = try? RuntimeJSON.encode(SessionTable(titles: titles, rows: rows), pretty: false) {
                        send(.stdout(json), to: session)
                    }
                    finish(session, code: 0)
                case .pathStat(let stat)?:
                    if let json = try? RuntimeJSON.encode(stat, pretty: false) { send(.stdout(json), to: session) }
                    finish(session, code: 0)
                default:
                    send(.stderr(Array("skiff: the guest agent answered with something else\n".utf8)), to: session)
                    finish(session, code: 1)
                }
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

    /// Queues `frame` for the client and writes what it takes now; a client whose queue passes
    /// `maximumPending` is dropped.
    private func send(_ frame: AttachFrame, to session: Session) {
        guard !session.finished, !session.closing else { return }
        session.pending += frame.encoded()
        flush(session)
        if !session.finished && session.pending.count > Self.maximumPending { drop(session) }
    }

    /// Writes what the client takes without blocking; ends a closing session once all is written.
    private func flush(_ session: Session) {
        while !session.finished && !session.pending.isEmpty {
            let n = session.pending.withUnsafeBytes { write(session.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                session.pending.removeFirst(n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            drop(session)  // the client went away
            return
        }
        if session.closing && session.pending.isEmpty { drop(session) }
    }

    private func finish(_ session: Session, code: Int32) {
        send(.exit(code), to: session)
        session.closing = true
        flush(session)
    }

    private func drop(_ session: Session) {
        guard !session.finished else { return }
        session.finished = true
        close(session.fd)
        sessions.removeAll { $0 === session }
    }
}

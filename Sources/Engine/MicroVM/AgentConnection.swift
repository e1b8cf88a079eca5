#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import LinuxSupport

/// The host's end of the stream to a guest's agent (docs/agent-protocol.md): the hello, requests
/// with their answers, and the frames that arrive meanwhile kept for the caller. Every wait has a
/// deadline; anything the agent sends that breaks the protocol ends the connection with the
/// reason (the caller then ends the VM).
final class AgentConnection {
    let fd: Int32
    private var decoder = FrameDecoder()
    private var queued: [Frame] = []
    /// What a guest may have waiting here while the host waits for an answer (its output keeps
    /// coming meanwhile): more is a flood, and ends the connection.
    static let maximumQueuedBytes = 16 << 20
    private var nextID: UInt32 = 1
    private(set) var closed = false

    init(fd: Int32) {
        self.fd = fd
    }

    deinit { close(fd) }

    func send(_ frame: Frame) throws {
        try FileIO.writeAll(fd: fd, try AgentWire.encode(frame), what: "the agent stream")
    }

    /// Sends our hello and waits for the agent's; `alive` says whether the VM still runs (a VM
    /// that died during boot ends the wait at once).
    func handshake(deadline: Double, alive: () -> Bool) throws -> AgentHello {
        try send(AgentHandshake.frame(AgentHello(role: "host", software: "skiff")))
        guard let frame = try nextFrame(deadline: deadline, alive: alive) else {
            throw closed ? AgentConnectionError.closed : AgentConnectionError.timedOut("the agent's hello")
        }
        return try AgentHandshake.parse(frame)
    }

    /// Sends `request` and waits for its answer; other frames are kept for `receive`.
    func call(_ request: AgentRequest, deadline: Double, alive: () -> Bool) throws -> AgentResponse {
        let id = try post(request)
        while true {
            guard let frame = try nextFrame(deadline: deadline, alive: alive, answering: id) else {
                throw closed ? AgentConnectionError.closed : AgentConnectionError.timedOut("the answer to \(request.name)")
            }
            if frame.kind == .failure { throw try AgentMessages.decode(AgentFailure.self, from: frame, kind: .failure) }
            return try AgentMessages.decode(AgentResponse.self, from: frame, kind: .response)
        }
    }

    /// Sends `request` without waiting; its answer comes through `receive` (and is dropped there
    /// by callers that do not care).
    @discardableResult
    func post(_ request: AgentRequest) throws -> UInt32 {
        let id = nextID
        nextID &+= 1
        try send(AgentMessages.request(request, id: id))
        return id
    }

    /// Frames that arrived (and were kept) so far, plus what can be read without waiting.
    func receive() throws -> [Frame] {
        try readAvailable(waitMilliseconds: 0)
        defer { queued.removeAll() }
        return queued
    }

    /// The next frame (the answer to `answering` when given, others kept), or nil at the deadline
    /// or the end of the stream.
    private func nextFrame(deadline: Double, alive: () -> Bool, answering id: UInt32? = nil) throws -> Frame? {
        while true {
            if let index = queued.firstIndex(where: { id == nil || (($0.kind == .response || $0.kind == .failure) && $0.channel == id) }) {
                return queued.remove(at: index)
            }
            if closed { return nil }
            let left = deadline - MonotonicClock.seconds()
            if left <= 0 || !alive() { return nil }
            try readAvailable(waitMilliseconds: Int32(min(left, 0.1) * 1000) + 1)
        }
    }

    private func readAvailable(waitMilliseconds: Int32) throws {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard !closed, poll(&pfd, 1, waitMilliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
        guard n > 0 else {
            closed = true
            try decoder.finish()
            return
        }
        queued += try decoder.feed(buffer[0..<n])
        let waiting = queued.reduce(0) { $0 + $1.payload.count }
        guard waiting <= Self.maximumQueuedBytes else {
            throw AgentProtocolError.malformedFrame(
                "the guest sent \(waiting) bytes while the host waited for an answer (at most \(Self.maximumQueuedBytes) may wait)")
        }
    }
}

enum AgentConnectionError: Error, CustomStringConvertible {
    case timedOut(String)
    case closed

    var description: String {
        switch self {
        case .timedOut(let what): return "the guest agent did not send \(what) in time"
        case .closed: return "the guest agent closed its stream"
        }
    }
}

extension AgentRequest {
    /// The request's name, for messages.
    var name: String {
        switch self {
        case .create: "create"
        case .start: "start"
        case .exec: "exec"
        case .signal: "signal"
        case .resize: "resize"
        case .copyOut: "copyOut"
        case .copyIn: "copyIn"
        case .stats: "stats"
        case .top: "top"
        case .updateHosts: "updateHosts"
        case .shutdown: "shutdown"
        case .mountRootfs: "mountRootfs"
        case .stat: "stat"
        case .export: "export"
        }
    }
}

import Synchronization
/// Which connections may be shared: the same target (scheme, host, port) through the same proxy.
struct ConnectionKey: Hashable, Sendable {
    var endpoint: Endpoint
    var proxy: Endpoint?
}

/// One open HTTP/1.1 connection: its stream (plain or TLS), the socket under it, and the
/// read buffer that must live as long as the connection (bytes may be buffered across responses).
/// Unchecked Sendable: a connection belongs to one request at a time, handed over through the
/// pool's Mutex (checkout/checkin), so its reader and `reused` flag are never shared.
final class Connection: @unchecked Sendable {
    let key: ConnectionKey
    let stream: ByteStream
    let tcp: TCPStream
    let reader: BufferedReader
    /// Whether this connection carried a request before (a failure before any answer byte on it
    /// means the server dropped the idle connection, and the request may go on a new one).
    var reused = false

    init(key: ConnectionKey, stream: ByteStream, tcp: TCPStream) {
        self.key = key
        self.stream = stream
        self.tcp = tcp
        reader = BufferedReader(stream: stream)
    }

    func close() { stream.close() }
}

/// Idle kept-alive connections per target, so successive requests (manifest, config, layers)
/// skip the TCP and TLS handshakes, and parallel layer downloads each hold their own connection.
final class ConnectionPool: Sendable {
    private struct State {
        var idle: [ConnectionKey: [Connection]] = [:]
        var closed = false
    }
    private let state = Mutex(State())
    let maxIdlePerKey: Int

    init(maxIdlePerKey: Int) { self.maxIdlePerKey = maxIdlePerKey }

    deinit { closeAll() }

    /// The most recently used idle connection to `key` that is still open, if any.
    func checkout(_ key: ConnectionKey) -> Connection? {
        while true {
            let candidate: Connection? = state.withLock { $0.idle[key]?.popLast() }
            guard let connection = candidate else { return nil }
            if connection.reader.buffered == 0, connection.tcp.isReusable {
                connection.reused = true
                return connection
            }
            connection.close()
        }
    }

    /// Keeps `connection` for the next request to its target, or closes it when enough are kept.
    func checkin(_ connection: Connection) {
        let kept = state.withLock { state -> Bool in
            guard !state.closed, state.idle[connection.key, default: []].count < maxIdlePerKey else { return false }
            state.idle[connection.key, default: []].append(connection)
            return true
        }
        if !kept { connection.close() }
    }

    func closeAll() {
        let all = state.withLock { state -> [Connection] in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle.values.flatMap { $0 }
        }
        for connection in all { connection.close() }
    }
}

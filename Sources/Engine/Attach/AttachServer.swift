#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// The monitor's side of attaching: the listening socket and the connected clients. Output is
/// broadcast to every client without ever blocking the monitor (a client that stops reading is
/// dropped once 4 MiB wait for it); what clients send is decoded into frames for the monitor.
final class AttachServer {
    final class Client {
        let fd: Int32
        var decoder = AttachFrameDecoder()
        var pending: [UInt8] = []
        init(fd: Int32) { self.fd = fd }
    }

    let listener: Int32
    private(set) var clients: [Client] = []
    private static let maximumPending = 4 << 20

    init(directory: String) throws {
        listener = try AttachSocket.listen(directory: directory)
    }

    deinit {
        for client in clients { close(client.fd) }
        close(listener)
    }

    /// Accepts every waiting connection.
    func acceptAll() {
        clients += AttachSocket.acceptWaiting(listener).map { Client(fd: $0) }
    }

    /// Waits up to `milliseconds` for a first client (the `run -it` that started us).
    func waitForClient(milliseconds: Int32) {
        let deadline = MonotonicClock.seconds() + Double(milliseconds) / 1000
        while clients.isEmpty {
            let left = Int32((deadline - MonotonicClock.seconds()) * 1000)
            if left <= 0 { return }
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, left)
            acceptAll()
        }
    }

    /// The descriptors to poll: the listener, then each client (POLLOUT while output waits).
    func pollDescriptors() -> [pollfd] {
        [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            + clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN) | ($0.pending.isEmpty ? 0 : Int16(POLLOUT)), revents: 0) }
    }

    /// Handles poll results for the descriptors `pollDescriptors` gave; returns the frames the
    /// clients sent.
    func handle(_ results: ArraySlice<pollfd>) -> [AttachFrame] {
        var frames: [AttachFrame] = []
        var gone: [Int32] = []
        var chunk = [UInt8](repeating: 0, count: 32768)
        for (offset, result) in results.enumerated() {
            if offset == 0 {
                if result.revents != 0 { acceptAll() }
                continue
            }
            guard offset - 1 < clients.count else { break }
            let client = clients[offset - 1]
            if result.revents & Int16(POLLOUT) != 0 { flush(client) }
            guard result.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { continue }
            while true {
                let n = read(client.fd, &chunk, chunk.count)
                if n > 0 {
                    client.decoder.append(chunk[0..<n])
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { gone.append(client.fd) }
                break
            }
            do {
                while let frame = try client.decoder.next() { frames.append(frame) }
            } catch {
                gone.append(client.fd)
            }
        }
        for fd in gone { drop(fd) }
        return frames
    }

    func broadcast(_ frame: AttachFrame) {
        guard !clients.isEmpty else { return }
        let bytes = frame.encoded()
        for client in clients {
            client.pending.append(contentsOf: bytes)
            flush(client)
        }
        for client in clients where client.pending.count > Self.maximumPending { drop(client.fd) }
    }

    private func flush(_ client: Client) {
        while !client.pending.isEmpty {
            let n = client.pending.withUnsafeBytes { write(client.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                client.pending.removeFirst(n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            client.pending = []
            return
        }
    }

    private func drop(_ fd: Int32) {
        guard let index = clients.firstIndex(where: { $0.fd == fd }) else { return }
        close(fd)
        clients.remove(at: index)
    }

    /// Sends what is still pending (for at most `seconds`) and disconnects everyone.
    func finish(seconds: Double) {
        let deadline = MonotonicClock.seconds() + seconds
        while clients.contains(where: { !$0.pending.isEmpty }) && MonotonicClock.seconds() < deadline {
            var fds = clients.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 50)
            for client in clients { flush(client) }
        }
        for client in clients { close(client.fd) }
        clients = []
    }
}

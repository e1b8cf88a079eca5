#if canImport(Glibc)
import Glibc
#endif
import CShim
import Synchronization

/// The monitor's device thread: waits on queue-notify ioeventfds, device backends (tap, vsock
/// sockets), standard input for the console, and a wake-up eventfd used to stop it.
public final class DeviceEventLoop: @unchecked Sendable {
    public typealias Handler = @Sendable () -> Void

    let epoll: Int32
    let wakeFD: Int32
    private let handlers = Mutex<[UInt64: (fd: Int32, handler: Handler)]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private let stopping = Atomic<Bool>(false)

    public init() throws(VMMError) {
        epoll = skiff_epoll_create()
        guard epoll >= 0 else { throw .hostMemory("the device event loop", errno: errno) }
        wakeFD = skiff_eventfd(0)
        guard wakeFD >= 0 else { close(epoll); throw .hostMemory("the device event loop", errno: errno) }
        _ = skiff_epoll_add(epoll, wakeFD, 0)
    }

    deinit {
        close(wakeFD)
        close(epoll)
    }

    /// Calls `handler` on the loop thread whenever `fd` is readable. The handler must drain or
    /// otherwise consume the readiness (eventfds are read by the loop itself when `isEventFD`).
    public func watch(_ fd: Int32, isEventFD: Bool = false, handler: @escaping Handler) throws(VMMError) {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        var wrapped = handler
        if isEventFD {
            wrapped = {
                var value: UInt64 = 0
                _ = read(fd, &value, 8)
                handler()
            }
        }
        handlers.withLock { $0[token] = (fd, wrapped) }
        guard skiff_epoll_add(epoll, fd, token) == 0 else { throw .hostMemory("watching a device descriptor", errno: errno) }
    }

    public func unwatch(_ fd: Int32) {
        _ = skiff_epoll_del(epoll, fd)
        handlers.withLock { table in
            for (token, entry) in table where entry.fd == fd { table[token] = nil }
        }
    }

    /// Runs until `stop()`.
    public func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        while !stopping.load(ordering: .acquiring) {
            let n = tokens.withUnsafeMutableBufferPointer { skiff_epoll_wait(epoll, $0.baseAddress, 64, 1000) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            for i in 0..<Int(n) {
                let token = tokens[i]
                if token == 0 { continue }
                if let entry = handlers.withLock({ $0[token] }) { entry.handler() }
            }
        }
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }
}

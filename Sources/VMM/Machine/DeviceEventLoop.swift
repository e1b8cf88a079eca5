#if canImport(Glibc)
import Glibc
#endif
import CShim
import Synchronization

/// The monitor's device thread: waits on queue-notify ioeventfds, device backends (tap, vsock
/// sockets), standard input for the console, and a wake-up eventfd used to stop it.
/// Unchecked Sendable: the descriptors are immutable after init; handlers, deferred work and the
/// stop flag are behind Mutex/Atomic.
public final class DeviceEventLoop: @unchecked Sendable {
    public typealias Handler = @Sendable () -> Void

    let epoll: Int32
    let wakeFD: Int32
    private let handlers = Mutex<[UInt64: (fd: Int32, handler: Handler)]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private let stopping = Atomic<Bool>(false)

    /// Identifies one piece of deferred work, so work scheduled twice runs once.
    public struct DeferredKey: Hashable, Sendable {
        public let owner: ObjectIdentifier
        public let item: Int
        public init(owner: ObjectIdentifier, item: Int) {
            self.owner = owner
            self.item = item
        }
    }
    /// Work handlers left for the next turn (a device that used up its per-turn budget), in order.
    private let deferred = Mutex<(order: [DeferredKey], handlers: [DeferredKey: Handler])>(([], [:]))

    public init() throws(VMMError) {
        epoll = skiff_epoll_create()
        guard epoll >= 0 else { throw .hostMemory("the device event loop", errno: errno) }
        wakeFD = skiff_eventfd(0)
        guard wakeFD >= 0 else {
            close(epoll)
            throw .hostMemory("the device event loop", errno: errno)
        }
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

    /// Calls `handler` on the loop thread each time `fd` gains room for writing (edge-triggered,
    /// so an idle writable descriptor does not wake the loop). Fails for descriptors epoll cannot
    /// watch (regular files, which are always writable).
    public func watchWritable(_ fd: Int32, handler: @escaping Handler) throws(VMMError) {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        handlers.withLock { $0[token] = (fd, handler) }
        guard skiff_epoll_add_writable_edge(epoll, fd, token) == 0 else {
            let e = errno
            handlers.withLock { $0[token] = nil }
            throw .hostMemory("watching a descriptor for writability", errno: e)
        }
    }

    public func unwatch(_ fd: Int32) {
        _ = skiff_epoll_del(epoll, fd)
        handlers.withLock { table in
            for (token, entry) in table where entry.fd == fd { table[token] = nil }
        }
    }

    /// Runs `handler` on the loop thread on the next turn, once per `key` however often it is
    /// scheduled before then. Safe from any thread.
    public func schedule(_ key: DeferredKey, handler: @escaping Handler) {
        let wasIdle = deferred.withLock { d -> Bool in
            let idle = d.order.isEmpty
            if d.handlers.updateValue(handler, forKey: key) == nil { d.order.append(key) }
            return idle
        }
        // Wake a loop blocked in epoll_wait; on the loop thread itself the next wait does not block.
        if wasIdle { signalWake() }
    }

    /// Runs until `stop()`. Each turn waits for descriptors (not at all when deferred work is
    /// left), runs their handlers, then the deferred work; what that work defers again waits for
    /// the next turn, so every ready descriptor is served in between. Every handler does a
    /// bounded amount of work, so a stop request is seen within a turn.
    public func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        while !stopping.load(ordering: .acquiring) {
            let hasDeferred = deferred.withLock { !$0.order.isEmpty }
            let n = tokens.withUnsafeMutableBufferPointer { skiff_epoll_wait(epoll, $0.baseAddress, 64, hasDeferred ? 0 : 1000) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            for i in 0..<Int(n) {
                if stopping.load(ordering: .acquiring) { return }
                let token = tokens[i]
                if token == 0 {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    continue
                }
                if let entry = handlers.withLock({ $0[token] }) { entry.handler() }
            }
            let work = deferred.withLock { d -> [Handler] in
                defer { d = ([], [:]) }
                return d.order.compactMap { d.handlers[$0] }
            }
            for handler in work {
                if stopping.load(ordering: .acquiring) { return }
                handler()
            }
        }
    }

    private func signalWake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        signalWake()
    }
}

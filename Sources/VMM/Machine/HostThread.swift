#if canImport(Glibc)
import Glibc
#endif

/// A plain pthread for vCPUs and the device loop: they block in KVM_RUN and epoll_wait, which
/// must not happen on Swift's cooperative thread pool.
public struct HostThread: Sendable {
    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    let handle: pthread_t

    public static func start(_ body: @escaping @Sendable () -> Void) throws(VMMError) -> HostThread {
        let box = Unmanaged.passRetained(Box(body))
        var handle = pthread_t()
        let rc = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
                box.body()
                return nil
            }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw .hostMemory("a monitor thread", errno: rc)
        }
        return HostThread(handle: handle)
    }

    public func join() { pthread_join(handle, nil) }
}

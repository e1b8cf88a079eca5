#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Blocking work on a thread of its own, and its result collected by joining that thread: the
/// one way of the project to overlap a slow step (a cgroup move that waits for the kernel, CNI
/// plugins, a teardown) with other work and wait for it afterwards. The join orders everything
/// the thread wrote before whatever the joiner reads next, so no semaphore is needed; the result
/// sits in a Mutex so the value is checked Sendable.
///
/// If no thread can be started (EAGAIN), the work runs at once on the caller's thread: slower,
/// never lost.
public final class BackgroundThread<Value: Sendable>: Sendable {
    private let outcome = Mutex<Result<Value, any Error>?>(nil)
    /// The thread until it is joined; joining happens under the lock, so a second caller waits
    /// for the first join instead of joining twice.
    private let thread = Mutex<pthread_t?>(nil)

    public init(_ work: @escaping @Sendable () throws -> Value) {
        let body: @Sendable () -> Void = { [self] in
            let result = Result { try work() }
            outcome.withLock { $0 = result }
        }
        if let handle = JoinableThreadStart.start(body) {
            thread.withLock { $0 = handle }
        } else {
            body()
        }
    }

    /// Waits for the work to end and returns its value or rethrows its error.
    public func value() throws -> Value {
        thread.withLock { handle in
            if let joining = handle {
                pthread_join(joining, nil)
                handle = nil
            }
        }
        guard let result = outcome.withLock({ $0 }) else {
            throw SystemError("a background thread ended without a result", errno: EINVAL)
        }
        return try result.get()
    }
}

/// The non-generic start of a joinable pthread (a C entry point cannot live in a generic context).
enum JoinableThreadStart {
    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// The started thread, or nil when none could be started.
    static func start(_ run: @escaping @Sendable () -> Void) -> pthread_t? {
        let body = Unmanaged.passRetained(Body(run))
        var handle = pthread_t()
        let started = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<Body>.fromOpaque(raw).takeRetainedValue().run()
                return nil
            }, body.toOpaque())
        guard started == 0 else {
            body.release()
            return nil
        }
        return handle
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// How a device raises its interrupt. KVM-backed lines use an irqfd (or KVM_IRQ_LINE); tests use
/// a counter to check exactly when a device interrupts.
public protocol InterruptLine: AnyObject, Sendable {
    /// Delivers one edge on the line.
    func trigger()
}

/// An interrupt line that counts its edges; for tests and for devices not wired to a guest yet.
public final class CountingInterruptLine: InterruptLine, @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var edges = 0

    public init() { pthread_mutex_init(&lock, nil) }

    public func trigger() {
        pthread_mutex_lock(&lock)
        edges += 1
        pthread_mutex_unlock(&lock)
    }

    public var count: Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return edges
    }
}

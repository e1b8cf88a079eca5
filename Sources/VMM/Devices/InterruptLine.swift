import Synchronization

/// How a device raises its interrupt. KVM-backed lines use an irqfd (or KVM_IRQ_LINE); tests use
/// a counter to check exactly when a device interrupts.
public protocol InterruptLine: AnyObject, Sendable {
    /// Delivers one edge on the line.
    func trigger()
}

/// An interrupt line that counts its edges; for tests and for devices not wired to a guest yet.
public final class CountingInterruptLine: InterruptLine, Sendable {
    private let edges = Mutex(0)

    public init() {}

    public func trigger() { edges.withLock { $0 += 1 } }

    public var count: Int { edges.withLock { $0 } }
}

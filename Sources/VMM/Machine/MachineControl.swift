import Synchronization

/// Shared stop state of one machine: set by a device (i8042 reset), a vCPU that faulted, or a
/// signal; every vCPU loop and the device event loop check it.
public final class MachineControl: Sendable {
    /// Why the machine is stopping, as far as a device knows.
    public enum StopReason: Int, Sendable {
        case none = 0
        case guestReset = 1
        case hostRequest = 2
        case vcpuEnded = 3
    }

    private let reason = Atomic<Int>(0)

    public init() {}

    public var stopRequested: Bool { reason.load(ordering: .acquiring) != 0 }
    public var stopReason: StopReason { StopReason(rawValue: reason.load(ordering: .acquiring)) ?? .none }

    /// Records the first reason only; later requests keep it.
    public func requestStop(_ why: StopReason) {
        _ = reason.compareExchange(expected: 0, desired: why.rawValue, ordering: .acquiringAndReleasing)
        onStop.withLock { $0 }?()
    }

    private let onStop = Mutex<(@Sendable () -> Void)?>(nil)

    /// Called (once per request) so the machine can kick its vCPUs out of KVM_RUN.
    public func setStopHandler(_ handler: @escaping @Sendable () -> Void) {
        onStop.withLock { $0 = handler }
    }
}

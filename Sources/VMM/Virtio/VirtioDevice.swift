/// Feature bits and device ids shared by all virtio devices (virtio 1.2, section 6 and 5).
public enum VirtioFeature {
    public static let version1: UInt64 = 1 << 32
    public static let ringIndirectDescriptors: UInt64 = 1 << 28
}

public enum VirtioDeviceType: UInt32, Sendable {
    case net = 1
    case block = 2
    case vsock = 19
}

/// What a device gets when the driver sets DRIVER_OK: guest memory, its validated queues and the
/// interrupt to raise after using buffers.
/// Unchecked Sendable: the transport owns it and only touches it (and lets its device touch it)
/// under the transport's lock.
public final class VirtioQueueSet: @unchecked Sendable {
    /// Chains a device may take in one call from the transport (one notification, one backend
    /// wake-up). Devices run on the monitor's single device thread and block I/O is synchronous
    /// there, so a guest that refills a queue as fast as it is drained would otherwise keep that
    /// thread in one device forever, starving the other devices and the stop request. 64 is a
    /// quarter of our largest queue: a full queue takes a few turns, each short, and between turns
    /// the event loop serves everything else (the rest is rescheduled, not dropped).
    public static let chainsPerTurn = 64

    public let memory: GuestMemory
    public var queues: [Virtqueue]
    private var remainingChains = VirtioQueueSet.chainsPerTurn
    /// Set when a device wanted another chain after this turn's budget was used up: the transport
    /// then asks the event loop to call it again on the next turn.
    public private(set) var budgetExhausted = false

    init(memory: GuestMemory, queues: [Virtqueue]) {
        self.memory = memory
        self.queues = queues
    }

    /// Starts a new turn with a full budget (the transport calls this before each device call).
    func beginTurn() {
        remainingChains = Self.chainsPerTurn
        budgetExhausted = false
    }

    /// Whether this turn's budget allows another chain; when it does not, records that work is left.
    public func hasBudget() -> Bool {
        if remainingChains > 0 { return true }
        budgetExhausted = true
        return false
    }

    /// Takes the next available chain of `queue` within this turn's budget: nil when the queue is
    /// empty or the budget is used up (then `budgetExhausted` is set and the rest waits a turn).
    public func take(_ queue: Int) throws(VirtqueueError) -> DescriptorChain? {
        guard hasBudget() else { return nil }
        guard let chain = try queues[queue].popAvailable(memory: memory) else { return nil }
        remainingChains -= 1
        return chain
    }
}

/// A virtio device independent of its transport: features, configuration space and queue
/// processing. The transport serialises all calls under its lock, so implementations need no
/// locking of their own for state touched only from these methods.
public protocol VirtioDevice: AnyObject, Sendable {
    var deviceType: VirtioDeviceType { get }
    /// Feature bits offered, including VIRTIO_F_VERSION_1.
    var offeredFeatures: UInt64 { get }
    /// Maximum size of each queue; the count is the number of queues.
    var queueMaximumSizes: [UInt16] { get }
    /// The device-specific configuration space (read at offsets >= 0x100 of the MMIO window).
    func configurationSpace() -> [UInt8]
    /// A driver write to configuration space; returns false when the write is not allowed.
    func writeConfiguration(offset: Int, bytes: [UInt8]) -> Bool
    /// The driver set DRIVER_OK with these negotiated features.
    func activate(features: UInt64, queues: VirtioQueueSet) throws(VirtqueueError)
    /// The driver notified queue `index`; returns whether any buffer was used (interrupt needed).
    /// Chains are taken with `queues.take(_:)`, which stops at the per-turn budget; the transport
    /// calls again on a later turn when the budget ran out.
    func process(queue index: Int, queues: VirtioQueueSet) throws(VirtqueueError) -> Bool
    /// Host-side input became ready (tap readable, vsock socket readable); same contract as `process`.
    func pollBackend(queues: VirtioQueueSet) throws(VirtqueueError) -> Bool
    /// Host-side input arrived while the driver has not activated the device (or broke it): consume
    /// it without touching guest memory, so the monitor's event loop does not spin on it.
    func pollBackendWhileInactive()
    /// Descriptors the device wants watched for `pollBackend` (a tap, sockets); empty if none.
    func backendDescriptors() -> [Int32]
    /// Back to the state before activation; the transport calls this on a driver reset.
    func reset()
}

extension VirtioDevice {
    public func pollBackend(queues: VirtioQueueSet) throws(VirtqueueError) -> Bool { false }
    public func backendDescriptors() -> [Int32] { [] }
    public func pollBackendWhileInactive() {}
    public func writeConfiguration(offset: Int, bytes: [UInt8]) -> Bool { false }
}

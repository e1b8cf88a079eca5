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
public final class VirtioQueueSet: @unchecked Sendable {
    public let memory: GuestMemory
    public var queues: [Virtqueue]

    init(memory: GuestMemory, queues: [Virtqueue]) {
        self.memory = memory
        self.queues = queues
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

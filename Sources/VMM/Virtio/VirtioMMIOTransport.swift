import Synchronization

/// The virtio-mmio transport, version 2 (virtio 1.2, section 4.2.2): the register window a guest
/// driver programs to negotiate features and set up queues. A driver that breaks the protocol
/// (bad sizes, unknown registers, queues outside memory, looping chains) gets the device marked
/// DEVICE_NEEDS_RESET; the device then does nothing until the driver resets it.
public final class VirtioMMIOTransport: BusDevice, Sendable {
    public static let magic: UInt32 = 0x7472_6976  // "virt"
    public static let version: UInt32 = 2
    public static let vendorID: UInt32 = 0x4646_4B53  // "SKFF"

    public enum Register {
        public static let magic: UInt64 = 0x000, version: UInt64 = 0x004, deviceID: UInt64 = 0x008, vendorID: UInt64 = 0x00C
        public static let deviceFeatures: UInt64 = 0x010, deviceFeaturesSelect: UInt64 = 0x014
        public static let driverFeatures: UInt64 = 0x020, driverFeaturesSelect: UInt64 = 0x024
        public static let queueSelect: UInt64 = 0x030, queueNumberMaximum: UInt64 = 0x034, queueNumber: UInt64 = 0x038
        public static let queueReady: UInt64 = 0x044, queueNotify: UInt64 = 0x050
        public static let interruptStatus: UInt64 = 0x060, interruptAcknowledge: UInt64 = 0x064, status: UInt64 = 0x070
        public static let queueDescriptorLow: UInt64 = 0x080, queueDescriptorHigh: UInt64 = 0x084
        public static let queueDriverLow: UInt64 = 0x090, queueDriverHigh: UInt64 = 0x094
        public static let queueDeviceLow: UInt64 = 0x0A0, queueDeviceHigh: UInt64 = 0x0A4
        public static let configGeneration: UInt64 = 0x0FC, configuration: UInt64 = 0x100
    }

    public enum Status {
        public static let acknowledge: UInt32 = 1, driver: UInt32 = 2, driverOK: UInt32 = 4, featuresOK: UInt32 = 8
        public static let deviceNeedsReset: UInt32 = 64, failed: UInt32 = 128
    }

    struct QueueConfig {
        var size: UInt16 = 0
        var ready = false
        var descriptor: UInt64 = 0
        var driver: UInt64 = 0
        var device: UInt64 = 0
    }

    struct State {
        var status: UInt32 = 0
        var deviceFeaturesSelect: UInt32 = 0
        var driverFeaturesSelect: UInt32 = 0
        var driverFeatures: UInt64 = 0
        var queueSelect: UInt32 = 0
        var queues: [QueueConfig]
        var interruptStatus: UInt32 = 0
        var active: VirtioQueueSet?
        var brokenReason: String?
        /// Device calls that stopped at their budget, to reschedule once the lock is released.
        var pendingWork: Set<PendingWork> = []
    }

    public let device: any VirtioDevice
    let memory: GuestMemory
    let interrupt: any InterruptLine
    private let state: Mutex<State>
    /// Called once with a description when the device is marked broken (for the monitor's log).
    let onBroken: (@Sendable (String) -> Void)?
    /// Called when a device call stopped at the per-turn budget (`VirtioQueueSet.chainsPerTurn`)
    /// with work left: the owner runs the given work again on a later turn of its event loop.
    let reschedule: (@Sendable (VirtioMMIOTransport, PendingWork) -> Void)?

    /// Work a device left for a later turn.
    public enum PendingWork: Hashable, Sendable {
        case queue(Int)
        case backend
    }

    public init(
        device: any VirtioDevice, memory: GuestMemory, interrupt: any InterruptLine, onBroken: (@Sendable (String) -> Void)? = nil,
        reschedule: (@Sendable (VirtioMMIOTransport, PendingWork) -> Void)? = nil
    ) {
        self.device = device
        self.memory = memory
        self.interrupt = interrupt
        self.onBroken = onBroken
        self.reschedule = reschedule
        state = Mutex(State(queues: Array(repeating: QueueConfig(), count: device.queueMaximumSizes.count)))
    }

    /// The device status register, for tests and diagnostics.
    public var status: UInt32 { state.withLock { $0.status } }
    public var isBroken: Bool { state.withLock { $0.brokenReason != nil } }
    public var brokenReason: String? { state.withLock { $0.brokenReason } }

    // MARK: register reads

    public func read(offset: UInt64, into data: UnsafeMutableRawBufferPointer) {
        for i in 0..<data.count { data[i] = 0 }
        if offset >= Register.configuration {
            let config = device.configurationSpace()
            let start = Int(offset - Register.configuration)
            for i in 0..<data.count where start + i < config.count { data[i] = config[start + i] }
            return
        }
        guard data.count == 4, offset % 4 == 0 else { return }
        let value: UInt32 = state.withLock { s in
            switch offset {
            case Register.magic: return Self.magic
            case Register.version: return Self.version
            case Register.deviceID: return device.deviceType.rawValue
            case Register.vendorID: return Self.vendorID
            case Register.deviceFeatures:
                switch s.deviceFeaturesSelect {
                case 0: return UInt32(truncatingIfNeeded: device.offeredFeatures)
                case 1: return UInt32(truncatingIfNeeded: device.offeredFeatures >> 32)
                default: return 0
                }
            case Register.queueNumberMaximum:
                let index = Int(s.queueSelect)
                return index < device.queueMaximumSizes.count ? UInt32(device.queueMaximumSizes[index]) : 0
            case Register.queueReady:
                let index = Int(s.queueSelect)
                return index < s.queues.count && s.queues[index].ready ? 1 : 0
            case Register.interruptStatus: return s.interruptStatus
            case Register.status: return s.status
            case Register.configGeneration: return 0
            default: return 0
            }
        }
        data.storeBytes(of: value.littleEndian, as: UInt32.self)
    }

    // MARK: register writes

    public func write(offset: UInt64, from data: UnsafeRawBufferPointer) {
        var raise = false
        var brokenNow: String?
        state.withLock { s in
            if offset >= Register.configuration {
                if !device.writeConfiguration(offset: Int(offset - Register.configuration), bytes: Array(data)) {
                    brokenNow = markBroken(&s, "write to read-only configuration offset \(offset - Register.configuration)")
                    raise = brokenNow != nil && s.status & Status.driverOK != 0
                }
                return
            }
            guard data.count == 4, offset % 4 == 0 else {
                brokenNow = markBroken(&s, "\(data.count)-byte access to register 0x\(String(offset, radix: 16))")
                raise = s.status & Status.driverOK != 0
                return
            }
            let value = UInt32(littleEndian: data.loadUnaligned(as: UInt32.self))
            do throws(TransportFault) {
                raise = try apply(&s, offset: offset, value: value)
            } catch {
                brokenNow = markBroken(&s, error.reason)
                raise = brokenNow != nil && s.status & Status.driverOK != 0
            }
        }
        if let brokenNow { onBroken?(brokenNow) }
        if raise { interrupt.trigger() }
        reschedulePending()
    }

    struct TransportFault: Error { let reason: String }

    /// Applies one register write; returns whether the guest must be interrupted.
    private func apply(_ s: inout State, offset: UInt64, value: UInt32) throws(TransportFault) -> Bool {
        let queueIndex = Int(s.queueSelect)
        func selectedQueue() throws(TransportFault) -> Int {
            guard queueIndex < s.queues.count else {
                throw TransportFault(reason: "queue \(queueIndex) selected, the device has \(s.queues.count)")
            }
            guard !s.queues[queueIndex].ready else { throw TransportFault(reason: "queue \(queueIndex) reconfigured while ready") }
            return queueIndex
        }
        switch offset {
        case Register.deviceFeaturesSelect: s.deviceFeaturesSelect = value
        case Register.driverFeaturesSelect: s.driverFeaturesSelect = value
        case Register.driverFeatures:
            guard s.status & Status.featuresOK == 0 else { throw TransportFault(reason: "features written after FEATURES_OK") }
            switch s.driverFeaturesSelect {
            case 0: s.driverFeatures = (s.driverFeatures & 0xFFFF_FFFF_0000_0000) | UInt64(value)
            case 1: s.driverFeatures = (s.driverFeatures & 0xFFFF_FFFF) | (UInt64(value) << 32)
            default: if value != 0 { throw TransportFault(reason: "feature bits in word \(s.driverFeaturesSelect)") }
            }
        case Register.queueSelect: s.queueSelect = value
        case Register.queueNumber:
            let q = try selectedQueue()
            let maximum = UInt32(device.queueMaximumSizes[q])
            guard value > 0, value <= maximum, value & (value - 1) == 0 else {
                throw TransportFault(reason: "queue size \(value) is not a power of two up to \(maximum)")
            }
            s.queues[q].size = UInt16(value)
        case Register.queueDescriptorLow:
            let q = try selectedQueue()
            s.queues[q].descriptor = (s.queues[q].descriptor & ~0xFFFF_FFFF) | UInt64(value)
        case Register.queueDescriptorHigh:
            let q = try selectedQueue()
            s.queues[q].descriptor = (s.queues[q].descriptor & 0xFFFF_FFFF) | UInt64(value) << 32
        case Register.queueDriverLow:
            let q = try selectedQueue()
            s.queues[q].driver = (s.queues[q].driver & ~0xFFFF_FFFF) | UInt64(value)
        case Register.queueDriverHigh:
            let q = try selectedQueue()
            s.queues[q].driver = (s.queues[q].driver & 0xFFFF_FFFF) | UInt64(value) << 32
        case Register.queueDeviceLow:
            let q = try selectedQueue()
            s.queues[q].device = (s.queues[q].device & ~0xFFFF_FFFF) | UInt64(value)
        case Register.queueDeviceHigh:
            let q = try selectedQueue()
            s.queues[q].device = (s.queues[q].device & 0xFFFF_FFFF) | UInt64(value) << 32
        case Register.queueReady:
            guard queueIndex < s.queues.count else {
                throw TransportFault(reason: "queue \(queueIndex) made ready, the device has \(s.queues.count)")
            }
            if value == 0 {
                s.queues[queueIndex].ready = false
            } else if value == 1 {
                let q = s.queues[queueIndex]
                if q.size == 0 { s.queues[queueIndex].size = device.queueMaximumSizes[queueIndex] }
                let config = s.queues[queueIndex]
                do {
                    _ = try Virtqueue(
                        size: config.size, descriptorTable: config.descriptor, availableRing: config.driver, usedRing: config.device,
                        memory: memory)
                } catch {
                    throw TransportFault(reason: "queue \(queueIndex): \(error)")
                }
                s.queues[queueIndex].ready = true
            } else {
                throw TransportFault(reason: "QueueReady written with \(value)")
            }
        case Register.queueNotify:
            guard Int(value) < s.queues.count else {
                throw TransportFault(reason: "notify for queue \(value), the device has \(s.queues.count)")
            }
            return try processQueue(&s, index: Int(value))
        case Register.interruptAcknowledge:
            s.interruptStatus &= ~value
        case Register.status:
            return try writeStatus(&s, value)
        default:
            throw TransportFault(reason: "write to read-only or unknown register 0x\(String(offset, radix: 16))")
        }
        return false
    }

    private func writeStatus(_ s: inout State, _ value: UInt32) throws(TransportFault) -> Bool {
        if value == 0 {
            resetLocked(&s)
            return false
        }
        let old = s.status & ~Status.deviceNeedsReset
        guard value & old == old else {
            throw TransportFault(
                reason: "status bits cleared without a reset (0x\(String(old, radix: 16)) -> 0x\(String(value, radix: 16)))")
        }
        var newStatus = value & ~Status.deviceNeedsReset
        if newStatus & Status.featuresOK != 0 && old & Status.featuresOK == 0 {
            let acceptable = s.driverFeatures & ~device.offeredFeatures == 0 && s.driverFeatures & VirtioFeature.version1 != 0
            if !acceptable { newStatus &= ~Status.featuresOK }
        }
        if newStatus & Status.driverOK != 0 && old & Status.driverOK == 0 {
            guard newStatus & Status.featuresOK != 0 else { throw TransportFault(reason: "DRIVER_OK set before FEATURES_OK") }
            var queues: [Virtqueue] = []
            for (index, config) in s.queues.enumerated() {
                guard config.ready else {
                    queues.append(try placeholderQueue())
                    continue
                }
                do {
                    queues.append(
                        try Virtqueue(
                            size: config.size, descriptorTable: config.descriptor, availableRing: config.driver, usedRing: config.device,
                            memory: memory))
                } catch {
                    throw TransportFault(reason: "queue \(index): \(error)")
                }
            }
            let set = VirtioQueueSet(memory: memory, queues: queues)
            do { try device.activate(features: s.driverFeatures, queues: set) } catch {
                throw TransportFault(reason: "activation: \(error)")
            }
            s.active = set
        }
        s.status = newStatus | (s.status & Status.deviceNeedsReset)
        return false
    }

    /// Unready queues get an empty stand-in that is never processed.
    private func placeholderQueue() throws(TransportFault) -> Virtqueue {
        do { return try Virtqueue(size: 1, descriptorTable: 0, availableRing: 0, usedRing: 0, memory: memory) } catch {
            throw TransportFault(reason: "guest memory is too small for a queue")
        }
    }

    private func processQueue(_ s: inout State, index: Int) throws(TransportFault) -> Bool {
        guard s.brokenReason == nil, let active = s.active, s.queues[index].ready else { return false }
        active.beginTurn()
        defer { if active.budgetExhausted { s.pendingWork.insert(.queue(index)) } }
        do {
            guard try device.process(queue: index, queues: active) else { return false }
        } catch {
            throw TransportFault(reason: "queue \(index): \(error)")
        }
        s.interruptStatus |= 1
        return true
    }

    /// Hands work a device left at its budget to the owner's event loop (outside the lock).
    private func reschedulePending() {
        guard let reschedule else { return }
        let pending = state.withLock { s -> Set<PendingWork> in
            defer { s.pendingWork = [] }
            return s.pendingWork
        }
        for work in pending { reschedule(self, work) }
    }

    /// Runs work rescheduled through `reschedule` (on the owner's event loop).
    public func resume(_ work: PendingWork) {
        switch work {
        case .queue(let index): notify(queue: index)
        case .backend: pollBackend()
        }
    }

    private func resetLocked(_ s: inout State) {
        device.reset()
        s = State(queues: Array(repeating: QueueConfig(), count: device.queueMaximumSizes.count))
    }

    /// Marks the device broken once; returns the reason when this call did it.
    private func markBroken(_ s: inout State, _ reason: String) -> String? {
        guard s.brokenReason == nil else { return nil }
        s.brokenReason = reason
        s.status |= Status.deviceNeedsReset
        if s.status & Status.driverOK != 0 { s.interruptStatus |= 2 }
        return reason
    }

    // MARK: host-side entry points

    /// A queue notification that arrived through an ioeventfd rather than an MMIO exit.
    public func notify(queue index: Int) {
        var raise = false
        var brokenNow: String?
        state.withLock { s in
            guard index < s.queues.count else { return }
            do throws(TransportFault) {
                raise = try processQueue(&s, index: index)
            } catch {
                brokenNow = markBroken(&s, error.reason)
                raise = brokenNow != nil
            }
        }
        if let brokenNow { onBroken?(brokenNow) }
        if raise { interrupt.trigger() }
        reschedulePending()
    }

    /// The device's host backend has input (tap, sockets).
    public func pollBackend() {
        var raise = false
        var brokenNow: String?
        state.withLock { s in
            guard s.brokenReason == nil, s.status & Status.driverOK != 0, let active = s.active else {
                device.pollBackendWhileInactive()
                return
            }
            active.beginTurn()
            defer { if active.budgetExhausted { s.pendingWork.insert(.backend) } }
            do {
                if try device.pollBackend(queues: active) {
                    s.interruptStatus |= 1
                    raise = true
                }
            } catch {
                brokenNow = markBroken(&s, "backend: \(error)")
                raise = brokenNow != nil
            }
        }
        if let brokenNow { onBroken?(brokenNow) }
        if raise { interrupt.trigger() }
        reschedulePending()
    }

    /// The kernel command-line fragment that announces this device (virtio_mmio.device=...).
    public static func commandLineEntry(base: UInt64, irq: UInt32) -> String {
        "virtio_mmio.device=4K@0x\(String(base, radix: 16)):\(irq)"
    }
}

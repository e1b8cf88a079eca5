import Glibc
import Synchronization
import Testing
@testable import VMM

/// A tiny real device for transport tests: queue 0 echoes nothing and returns every chain used.
final class SinkDevice: VirtioDevice, @unchecked Sendable {
    var processed = 0
    var resets = 0
    /// Called with each chain's head after it is used: a test plays a guest refilling the queue.
    var onChain: ((UInt16) throws -> Void)?
    var deviceType: VirtioDeviceType { .block }
    var offeredFeatures: UInt64 { VirtioFeature.version1 | 1 }
    var queueMaximumSizes: [UInt16] { [16] }
    func configurationSpace() -> [UInt8] { [1, 2, 3, 4, 5, 6, 7, 8] }
    func activate(features: UInt64, queues: VirtioQueueSet) throws(VirtqueueError) {}
    func process(queue index: Int, queues: VirtioQueueSet) throws(VirtqueueError) -> Bool {
        var used = false
        while let chain = try queues.take(index) {
            processed += 1
            try queues.queues[index].pushUsed(head: chain.head, written: 0, memory: queues.memory)
            used = true
            do { try onChain?(chain.head) } catch { throw .badRequest("test refill: \(error)") }
        }
        return used
    }
    func reset() { resets += 1 }
}

@Suite struct VirtioTransportTests {
    typealias R = VirtioMMIOTransport.Register
    typealias S = VirtioMMIOTransport.Status

    @Test func identificationRegistersFollowVirtioMMIOVersion2() throws {
        let driver = try TestDriver(device: SinkDevice())
        #expect(driver.read32(R.magic) == 0x7472_6976)
        #expect(driver.read32(R.version) == 2)
        #expect(driver.read32(R.deviceID) == 2)
        driver.write32(R.deviceFeaturesSelect, 1)
        #expect(driver.read32(R.deviceFeatures) == 1)
        driver.write32(R.deviceFeaturesSelect, 0)
        #expect(driver.read32(R.deviceFeatures) == 1)
        driver.write32(R.queueSelect, 0)
        #expect(driver.read32(R.queueNumberMaximum) == 16)
        driver.write32(R.queueSelect, 5)
        #expect(driver.read32(R.queueNumberMaximum) == 0)
        #expect(driver.read32(R.configuration) == 0x0403_0201)
    }

    @Test func aGuestRefillingAQueueGetsABudgetPerTurnAndTheRestIsRescheduled() throws {
        let device = SinkDevice()
        let rescheduled = Rescheduled()
        let driver = try TestDriver(device: device) { _, work in rescheduled.append(work) }
        driver.initialize(queues: 1)
        let buffer = try driver.buffer(length: 64)
        let head = try driver.post(0, [(buffer, 64, false)])
        // The guest puts every used chain straight back: without a budget this never ends.
        device.onChain = { try driver.publish(0, head: $0) }
        driver.notify(0)
        #expect(device.processed == VirtioQueueSet.chainsPerTurn)
        #expect(rescheduled.items == [.queue(0)])
        #expect(driver.interrupt.count == 1, "what was used is signalled before the rest waits")
        driver.transport.resume(.queue(0))
        #expect(device.processed == 2 * VirtioQueueSet.chainsPerTurn)
        #expect(rescheduled.items == [.queue(0), .queue(0)])
        // A guest that stops refilling is finished within a turn and nothing more is rescheduled.
        device.onChain = nil
        driver.transport.resume(.queue(0))
        #expect(device.processed == 2 * VirtioQueueSet.chainsPerTurn + 1)
        #expect(rescheduled.items.count == 2)
        #expect(try driver.takeUsed(0).allSatisfy { $0.0 == head })
        #expect(!driver.needsReset)
    }

    @Test func theFullDriverSequenceActivatesAndProcessesAQueue() throws {
        let device = SinkDevice()
        let driver = try TestDriver(device: device)
        driver.initialize(queues: 1)
        #expect(driver.status == 15)
        let buffer = try driver.buffer(length: 64)
        let head = try driver.post(0, [(buffer, 64, false)])
        driver.notify(0)
        #expect(device.processed == 1)
        #expect(try driver.takeUsed(0).map(\.0) == [head])
        #expect(driver.interrupt.count == 1)
        #expect(driver.read32(R.interruptStatus) & 1 == 1)
        driver.write32(R.interruptAcknowledge, 1)
        #expect(driver.read32(R.interruptStatus) == 0)
    }

    @Test func featuresTheDeviceDidNotOfferAreNotAccepted() throws {
        let driver = try TestDriver(device: SinkDevice())
        driver.write32(R.status, 1)
        driver.write32(R.status, 3)
        driver.write32(R.driverFeaturesSelect, 1)
        driver.write32(R.driverFeatures, 1 | 0x8000)
        driver.write32(R.status, 3 | 8)
        #expect(driver.status & S.featuresOK == 0)
        #expect(!driver.needsReset)
    }

    @Test func aDriverWithoutVersion1IsNotAccepted() throws {
        let driver = try TestDriver(device: SinkDevice())
        driver.write32(R.status, 3)
        driver.write32(R.status, 3 | 8)
        #expect(driver.status & S.featuresOK == 0)
    }

    @Test(arguments: [
        (R.magic, UInt32(1)),  // read-only register
        (UInt64(0x0C8), UInt32(1)),  // unknown register
        (R.queueNumber, UInt32(3)),  // not a power of two
        (R.queueNumber, UInt32(1024)),  // above the maximum
        (R.queueReady, UInt32(7)),  // neither 0 nor 1
        (R.queueNotify, UInt32(9)),  // no such queue
    ])
    func garbageRegisterWritesMarkTheDeviceBroken(register: UInt64, value: UInt32) throws {
        let driver = try TestDriver(device: SinkDevice())
        driver.write32(R.status, 3)
        driver.write32(register, value)
        #expect(driver.needsReset)
        #expect(driver.transport.brokenReason != nil)
    }

    @Test func narrowRegisterWritesMarkTheDeviceBroken() throws {
        let driver = try TestDriver(device: SinkDevice())
        let byte: [UInt8] = [1]
        byte.withUnsafeBytes { driver.transport.write(offset: R.status, from: $0) }
        #expect(driver.needsReset)
    }

    @Test func clearingStatusBitsWithoutResetIsAProtocolViolation() throws {
        let driver = try TestDriver(device: SinkDevice())
        driver.initialize(queues: 1)
        driver.write32(R.status, 1)
        #expect(driver.needsReset)
        // A broken device raises the configuration-change interrupt once DRIVER_OK was set.
        #expect(driver.read32(R.interruptStatus) & 2 == 2)
    }

    @Test func aQueueOutsideGuestMemoryCannotBeMadeReady() throws {
        let driver = try TestDriver(device: SinkDevice())
        driver.write32(R.status, 3)
        driver.write32(R.queueSelect, 0)
        driver.write32(R.queueNumber, 16)
        driver.write32(R.queueDescriptorLow, 0xFFFF_F000)
        driver.write32(R.queueDescriptorHigh, 0x7FFF)
        driver.write32(R.queueReady, 1)
        #expect(driver.needsReset)
        #expect(driver.read32(R.queueReady) == 0)
    }

    @Test func aBrokenDeviceIgnoresNotificationsUntilReset() throws {
        let device = SinkDevice()
        let driver = try TestDriver(device: device)
        driver.initialize(queues: 1)
        // A looping chain breaks the device ...
        try driver.setDescriptor(0, 0, address: 0x10_0000, length: 8, flags: Virtqueue.flagNext, next: 0)
        try driver.publish(0, head: 0)
        driver.notify(0)
        #expect(driver.needsReset)
        #expect(driver.transport.brokenReason?.contains("loop") == true)
        // ... further notifications do nothing ...
        driver.notify(0)
        #expect(device.processed == 0)
        // ... and a reset brings it back to a usable state.
        driver.write32(R.status, 0)
        #expect(driver.status == 0)
        #expect(device.resets == 2, "one reset from initialize(), one from the explicit write")
        #expect(driver.transport.brokenReason == nil)
        try driver.resetRings()
        driver.initialize(queues: 1)
        try driver.post(0, [(try driver.buffer(length: 8), 8, false)])
        driver.notify(0)
        #expect(device.processed == 1)
        #expect(!driver.needsReset)
    }

    @Test func queueReconfigurationWhileReadyIsRefused() throws {
        let driver = try TestDriver(device: SinkDevice())
        driver.initialize(queues: 1)
        driver.write32(R.queueSelect, 0)
        driver.write32(R.queueDescriptorLow, 0x5000)
        #expect(driver.needsReset)
    }

    @Test func theCommandLineEntryAnnouncesTheDevice() {
        #expect(VirtioMMIOTransport.commandLineEntry(base: 0xD000_0000, irq: 5) == "virtio_mmio.device=4K@0xd0000000:5")
    }
}

/// Work a transport handed back for a later turn, recorded for assertions.
final class Rescheduled: Sendable {
    private let list = Mutex<[VirtioMMIOTransport.PendingWork]>([])
    func append(_ work: VirtioMMIOTransport.PendingWork) { list.withLock { $0.append(work) } }
    var items: [VirtioMMIOTransport.PendingWork] { list.withLock { $0 } }
}

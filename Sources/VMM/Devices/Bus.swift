/// A device reachable by port I/O or MMIO. Offsets are relative to the start of its range.
/// Implementations must tolerate any offset and size a guest sends.
public protocol BusDevice: AnyObject, Sendable {
    func read(offset: UInt64, into data: UnsafeMutableRawBufferPointer)
    func write(offset: UInt64, from data: UnsafeRawBufferPointer)
}

/// Routes guest accesses in one address space (ports or guest-physical MMIO) to devices by range.
/// Built before the vCPUs start and immutable afterwards, so lookups need no lock.
public final class AddressBus: Sendable {
    public struct Range: Sendable {
        public let base: UInt64
        public let length: UInt64
        public let device: any BusDevice
    }

    public let ranges: [Range]
    /// Bytes a read of an unclaimed address returns (0xFF: "nothing there", like an open ISA bus).
    let unclaimedByte: UInt8

    public init(ranges: [Range], unclaimedByte: UInt8 = 0xFF) throws(VMMError) {
        let sorted = ranges.sorted { $0.base < $1.base }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.base + a.length > b.base {
            throw .invalidConfiguration("device ranges overlap at 0x\(String(b.base, radix: 16))")
        }
        self.ranges = sorted
        self.unclaimedByte = unclaimedByte
    }

    func find(_ address: UInt64) -> Range? {
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].base + ranges[mid].length <= address { low = mid + 1 } else { high = mid }
        }
        guard low < ranges.count, ranges[low].base <= address else { return nil }
        return ranges[low]
    }

    public func read(_ address: UInt64, _ data: UnsafeMutableRawBufferPointer) {
        guard let range = find(address) else {
            for i in 0..<data.count { data[i] = unclaimedByte }
            return
        }
        range.device.read(offset: address - range.base, into: data)
    }

    public func write(_ address: UInt64, _ data: UnsafeRawBufferPointer) {
        guard let range = find(address) else { return }
        range.device.write(offset: address - range.base, from: data)
    }
}

/// The two buses a vCPU exit can target.
public struct DeviceBus: Sendable {
    public let pio: AddressBus
    public let mmio: AddressBus

    public init(pio: AddressBus, mmio: AddressBus) {
        self.pio = pio
        self.mmio = mmio
    }
}

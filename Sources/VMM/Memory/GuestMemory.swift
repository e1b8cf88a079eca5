#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Why a guest-physical access was refused. Devices turn this into DEVICE_NEEDS_RESET; it never
/// reaches host memory outside the guest's mapping.
public struct GuestMemoryError: Error, CustomStringConvertible, Equatable {
    public let address: UInt64
    public let length: UInt64
    public var description: String {
        "guest access of \(length) bytes at 0x\(String(address, radix: 16)) lies outside guest memory"
    }
}

/// The guest's RAM: one anonymous host mapping exposed to KVM as a low region at 0 and, above the
/// 32-bit MMIO hole, a high region at 4 GiB. Every access from device models goes through the
/// bounds checks here, so a hostile guest address can never reach other host memory.
/// Unchecked Sendable: the mapping never moves or changes size while the object lives; concurrent
/// access to guest RAM is the guest's own business, as on hardware, and every copy is bounds-checked.
public final class GuestMemory: @unchecked Sendable {
    /// Guest-physical start of the MMIO hole below 4 GiB (virtio-mmio, IOAPIC, LAPIC live there).
    public static let mmioHoleStart: UInt64 = 0xC000_0000
    public static let fourGiB: UInt64 = 0x1_0000_0000

    /// A contiguous piece of guest-physical memory backed by `host`.
    public struct Region: Sendable {
        public let guestBase: UInt64
        public let size: UInt64
        public let hostOffset: UInt64
    }

    public let size: UInt64
    public let regions: [Region]
    private let base: UnsafeMutableRawPointer

    /// Reserves `size` bytes (rounded up to 4 KiB) of zeroed anonymous memory.
    public init(size requested: UInt64) throws(VMMError) {
        let size = (requested + 0xFFF) & ~UInt64(0xFFF)
        guard size > 0, size <= (1 << 46) else { throw .memoryTooLarge(requestedMiB: requested >> 20) }
        let pointer = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let pointer, pointer != MAP_FAILED else { throw .hostMemory("\(size >> 20) MiB of guest RAM", errno: errno) }
        self.base = pointer
        self.size = size
        let low = min(size, Self.mmioHoleStart)
        var regions = [Region(guestBase: 0, size: low, hostOffset: 0)]
        if size > low {
            regions.append(Region(guestBase: Self.fourGiB, size: size - low, hostOffset: low))
        }
        self.regions = regions
    }

    deinit { munmap(base, Int(size)) }

    /// Host address of a region, for KVM_SET_USER_MEMORY_REGION.
    func hostAddress(of region: Region) -> UnsafeMutableRawPointer { base + Int(region.hostOffset) }

    /// The highest guest-physical address + 1 that is RAM below the MMIO hole.
    public var lowMemoryEnd: UInt64 { regions[0].size }

    /// Translates a guest range to a host offset, or nil when any byte of it is not RAM.
    /// Overflow-safe: `address + length` is never computed when it could wrap.
    public func hostOffset(_ address: UInt64, length: UInt64) -> UInt64? {
        for region in regions where address >= region.guestBase {
            let offset = address - region.guestBase
            if offset <= region.size, length <= region.size - offset {
                return region.hostOffset + offset
            }
        }
        return nil
    }

    public func contains(_ address: UInt64, length: UInt64) -> Bool { hostOffset(address, length: length) != nil }

    /// A bounds-checked view of guest memory for I/O system calls (pread/pwrite/readv into the guest).
    public func buffer(at address: UInt64, length: UInt64) throws(GuestMemoryError) -> UnsafeMutableRawBufferPointer {
        guard let offset = hostOffset(address, length: length) else {
            throw GuestMemoryError(address: address, length: length)
        }
        return UnsafeMutableRawBufferPointer(start: base + Int(offset), count: Int(length))
    }

    public func read(at address: UInt64, count: Int) throws(GuestMemoryError) -> [UInt8] {
        let source = try buffer(at: address, length: UInt64(count))
        return Array(source)
    }

    public func write(_ bytes: [UInt8], at address: UInt64) throws(GuestMemoryError) {
        let target = try buffer(at: address, length: UInt64(bytes.count))
        bytes.withUnsafeBytes { target.copyMemory(from: $0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at address: UInt64) throws(GuestMemoryError) {
        let target = try buffer(at: address, length: UInt64(bytes.count))
        target.copyMemory(from: bytes)
    }

    public func fill(_ value: UInt8, at address: UInt64, count: Int) throws(GuestMemoryError) {
        let target = try buffer(at: address, length: UInt64(count))
        if let start = target.baseAddress { memset(start, Int32(value), count) }
    }

    /// Loads a little-endian integer from any (possibly unaligned) guest address.
    public func load<T: FixedWidthInteger>(_ type: T.Type, at address: UInt64) throws(GuestMemoryError) -> T {
        let source = try buffer(at: address, length: UInt64(MemoryLayout<T>.size))
        return T(littleEndian: source.loadUnaligned(as: T.self))
    }

    /// Stores a little-endian integer at any (possibly unaligned) guest address.
    public func store<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws(GuestMemoryError) {
        let target = try buffer(at: address, length: UInt64(MemoryLayout<T>.size))
        target.storeBytes(of: value.littleEndian, as: T.self)
    }
}

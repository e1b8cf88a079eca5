/// One entry of the BIOS e820 memory map that tells the guest kernel which memory is RAM.
public struct E820Entry: Equatable, Sendable {
    public enum Kind: UInt32, Sendable {
        case ram = 1
        case reserved = 2
        case acpi = 3
        case nvs = 4
        case unusable = 5
    }
    public var address: UInt64
    public var size: UInt64
    public var kind: Kind

    public init(address: UInt64, size: UInt64, kind: Kind) {
        self.address = address
        self.size = size
        self.kind = kind
    }

    /// The 20-byte packed form used in boot_params.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        out.setLittleEndian(address, at: 0)
        out.setLittleEndian(size, at: 8)
        out.setLittleEndian(kind.rawValue, at: 16)
        return out
    }
}

/// Builds the memory map for a guest with the given RAM regions: low RAM up to the EBDA, the EBDA
/// reserved (the MP table is there), then RAM from 1 MiB to the MMIO hole and above 4 GiB.
public enum E820Map {
    public static func build(for memory: GuestMemory) -> [E820Entry] {
        build(lowMemoryEnd: memory.lowMemoryEnd, highMemorySize: memory.size - memory.lowMemoryEnd)
    }

    public static func build(lowMemoryEnd: UInt64, highMemorySize: UInt64) -> [E820Entry] {
        var map = [E820Entry(address: 0, size: GuestLayout.ebdaStart, kind: .ram)]
        map.append(E820Entry(address: GuestLayout.ebdaStart, size: 0xA0000 - GuestLayout.ebdaStart, kind: .reserved))
        if lowMemoryEnd > GuestLayout.highMemoryStart {
            map.append(E820Entry(address: GuestLayout.highMemoryStart, size: lowMemoryEnd - GuestLayout.highMemoryStart, kind: .ram))
        }
        if highMemorySize > 0 {
            map.append(E820Entry(address: GuestMemory.fourGiB, size: highMemorySize, kind: .ram))
        }
        return map
    }
}

/// A segment as both the GDT needs it (an 8-byte descriptor) and KVM's kvm_segment wants it,
/// so that the descriptor table in guest memory and the hidden segment state always agree.
public struct Segment: Equatable, Sendable {
    public var base: UInt32
    public var limit: UInt32  // 20-bit limit as stored in the descriptor
    public var selector: UInt16
    /// Access byte: present, DPL, S and type.
    public var access: UInt8
    /// Flags nibble: G, D/B, L, AVL.
    public var flags: UInt8

    public static func code64(selector: UInt16) -> Segment {
        Segment(base: 0, limit: 0xFFFFF, selector: selector, access: 0x9B, flags: 0xA)
    }
    public static func code32(selector: UInt16) -> Segment {
        Segment(base: 0, limit: 0xFFFFF, selector: selector, access: 0x9B, flags: 0xC)
    }
    public static func data(selector: UInt16) -> Segment { Segment(base: 0, limit: 0xFFFFF, selector: selector, access: 0x93, flags: 0xC) }
    public static func tss(selector: UInt16) -> Segment { Segment(base: 0, limit: 0xFFFFF, selector: selector, access: 0x8B, flags: 0x8) }

    /// The descriptor as it sits in the GDT.
    public var descriptor: UInt64 {
        var d = UInt64(limit & 0xFFFF)
        d |= UInt64(base & 0xFFFFFF) << 16
        d |= UInt64(access) << 40
        d |= UInt64((limit >> 16) & 0xF) << 48
        d |= UInt64(flags & 0xF) << 52
        d |= UInt64((base >> 24) & 0xFF) << 56
        return d
    }

    /// Decodes a descriptor back (used by tests to check round trips).
    public init(descriptor d: UInt64, selector: UInt16) {
        base = UInt32((d >> 16) & 0xFFFFFF) | UInt32((d >> 56) & 0xFF) << 24
        limit = UInt32(d & 0xFFFF) | UInt32((d >> 48) & 0xF) << 16
        access = UInt8((d >> 40) & 0xFF)
        flags = UInt8((d >> 52) & 0xF)
        self.selector = selector
    }

    public init(base: UInt32, limit: UInt32, selector: UInt16, access: UInt8, flags: UInt8) {
        self.base = base
        self.limit = limit
        self.selector = selector
        self.access = access
        self.flags = flags
    }

    public var present: Bool { access & 0x80 != 0 }
    public var dpl: UInt8 { (access >> 5) & 3 }
    public var isSystem: Bool { access & 0x10 == 0 }
    public var type: UInt8 { access & 0xF }
    public var granularity: Bool { flags & 0x8 != 0 }
    public var defaultBig: Bool { flags & 0x4 != 0 }
    public var long: Bool { flags & 0x2 != 0 }
    /// The limit in bytes, as KVM wants it (scaled by 4 KiB when G is set).
    public var byteLimit: UInt32 { granularity ? (limit << 12) | 0xFFF : limit }
}

/// The boot GDTs. The 64-bit Linux entry requires __BOOT_CS = 0x10 and __BOOT_DS = 0x18; the PVH
/// entry requires a flat 32-bit code and data segment and a TSS.
public struct GlobalDescriptorTable: Sendable {
    public let segments: [Segment]
    public let code: Segment
    public let data: Segment
    public let tss: Segment

    public static func linux64() -> GlobalDescriptorTable {
        GlobalDescriptorTable(code: .code64(selector: 0x10), data: .data(selector: 0x18), tss: .tss(selector: 0x20))
    }

    public static func pvh32() -> GlobalDescriptorTable {
        GlobalDescriptorTable(code: .code32(selector: 0x10), data: .data(selector: 0x18), tss: .tss(selector: 0x20))
    }

    init(code: Segment, data: Segment, tss: Segment) {
        self.code = code
        self.data = data
        self.tss = tss
        segments = [code, data, tss]
    }

    /// The table bytes: a null descriptor at 0x00 and 0x08, then each segment at its selector.
    public var bytes: [UInt8] {
        let entries = Int(segments.map(\.selector).max() ?? 0) / 8 + 1
        var out = [UInt8](repeating: 0, count: entries * 8)
        for segment in segments { out.setLittleEndian(segment.descriptor, at: Int(segment.selector)) }
        return out
    }
}

import OCISpec

/// Compiles device cgroup rules into an eBPF program for cgroup2, where the devices controller
/// of v1 is replaced by a BPF_PROG_TYPE_CGROUP_DEVICE program. Pure, so it is unit-tested.
///
/// Rules apply in order with later ones winning (as writing them to devices.allow/deny does in
/// v1), so they are emitted last-first and the first match decides; no match denies.
public enum DeviceFilterProgram {
    /// One eBPF instruction, encoded as the kernel reads it (little-endian struct bpf_insn).
    public struct Instruction: Equatable, Sendable {
        public var code: UInt8
        public var dst: UInt8
        public var src: UInt8
        public var offset: Int16
        public var immediate: Int32

        public var encoded: UInt64 {
            UInt64(code) | UInt64((src << 4) | (dst & 0xf)) << 8 | UInt64(UInt16(bitPattern: offset)) << 16
                | UInt64(UInt32(bitPattern: immediate)) << 32
        }

        static func loadWord(_ dst: UInt8, from src: UInt8, offset: Int16) -> Instruction {
            .init(code: 0x61, dst: dst, src: src, offset: offset, immediate: 0)
        }
        static func and32(_ dst: UInt8, _ value: UInt32) -> Instruction {
            .init(code: 0x54, dst: dst, src: 0, offset: 0, immediate: Int32(bitPattern: value))
        }
        static func shiftRight32(_ dst: UInt8, _ bits: Int32) -> Instruction {
            .init(code: 0x74, dst: dst, src: 0, offset: 0, immediate: bits)
        }
        static func move32(_ dst: UInt8, from src: UInt8) -> Instruction { .init(code: 0xbc, dst: dst, src: src, offset: 0, immediate: 0) }
        static func move64(_ dst: UInt8, _ value: Int32) -> Instruction { .init(code: 0xb7, dst: dst, src: 0, offset: 0, immediate: value) }
        static func jumpIfNotEqual32(_ dst: UInt8, _ value: UInt32, skip: Int16) -> Instruction {
            .init(code: 0x56, dst: dst, src: 0, offset: skip, immediate: Int32(bitPattern: value))
        }
        static let exit = Instruction(code: 0x95, dst: 0, src: 0, offset: 0, immediate: 0)
    }

    // Registers: r1 context, r2 device type, r3 access, r4 major, r5 minor, r1 reused as scratch.
    static let typeBlock: UInt32 = 1, typeChar: UInt32 = 2
    static let accessMknod: UInt32 = 1, accessRead: UInt32 = 2, accessWrite: UInt32 = 4

    public static func compile(_ rules: [Resources.DeviceRule]) throws -> [Instruction] {
        var program: [Instruction] = [
            .loadWord(2, from: 1, offset: 0), .and32(2, 0xffff),
            .loadWord(3, from: 1, offset: 0), .shiftRight32(3, 16),
            .loadWord(4, from: 1, offset: 4), .loadWord(5, from: 1, offset: 8),
        ]
        for rule in rules.reversed() {
            var checks: [(UInt8, UInt32, isAccess: Bool)] = []
            switch rule.type ?? "a" {
            case "a", "": break
            case "c": checks.append((2, typeChar, false))
            case "b": checks.append((2, typeBlock, false))
            case let other: throw RuntimeError.invalidConfig("device rule type '\(other)' is not a, b or c")
            }
            let access = try accessBits(rule.access ?? "rwm")
            if access != accessMknod | accessRead | accessWrite { checks.append((3, access, true)) }
            if let major = rule.major, major >= 0 { checks.append((4, UInt32(truncatingIfNeeded: major), false)) }
            if let minor = rule.minor, minor >= 0 { checks.append((5, UInt32(truncatingIfNeeded: minor), false)) }

            var block: [Instruction] = []
            var jumps: [Int] = []
            for check in checks {
                if check.isAccess {
                    // Requested access must be a subset of the rule's: (access & ~allowed) == 0.
                    block.append(.move32(1, from: 3))
                    block.append(.and32(1, ~check.1))
                    jumps.append(block.count)
                    block.append(.jumpIfNotEqual32(1, 0, skip: 0))
                } else {
                    jumps.append(block.count)
                    block.append(.jumpIfNotEqual32(check.0, check.1, skip: 0))
                }
            }
            block.append(.move64(0, rule.allow ? 1 : 0))
            block.append(.exit)
            for index in jumps {
                block[index].offset = Int16(block.count - index - 1)
            }
            program += block
            // A rule that matches everything decides alone: the verifier rejects unreachable code.
            if checks.isEmpty { return program }
        }
        program += [.move64(0, 0), .exit]
        return program
    }

    static func accessBits(_ text: String) throws -> UInt32 {
        var bits: UInt32 = 0
        for c in text {
            switch c {
            case "r": bits |= accessRead
            case "w": bits |= accessWrite
            case "m": bits |= accessMknod
            default: throw RuntimeError.invalidConfig("device rule access '\(text)' may only contain r, w and m")
            }
        }
        return bits
    }
}

/// The little of the DNS wire format (RFC 1035) the embedded resolver of user networks needs: a
/// query's header and single question read from hostile bytes (every read bounds-checked,
/// compression pointers only backwards and at most `maxPointerHops` of them, names at most 255
/// bytes), and a reply that echoes the question with A, AAAA or PTR answers. Pure, so unit-tested.
public enum DNSMessage {
    public static let headerSize = 12
    /// The largest reply sent over UDP to a client that did not say it takes more (RFC 1035):
    /// answers that do not fit are dropped and the reply marked truncated, so a small query never
    /// gets a large reply.
    public static let udpLimit = 512
    static let maxPointerHops = 16
    static let maxNameLength = 255

    public static let typeA: UInt16 = 1
    public static let typePTR: UInt16 = 12
    public static let typeAAAA: UInt16 = 28
    public static let classIN: UInt16 = 1

    public static let noError: UInt8 = 0
    public static let formatError: UInt8 = 1
    public static let serverFailure: UInt8 = 2
    public static let nameError: UInt8 = 3
    public static let notImplemented: UInt8 = 4
    public static let refused: UInt8 = 5

    /// One question: its name in lower case without the final dot (a byte that is not a host
    /// name's character, or a dot inside a label, written `\DDD` so it never matches a name of
    /// ours), its type and class.
    public struct Question: Sendable, Equatable {
        public var name: String
        public var type: UInt16
        public var qclass: UInt16

        public init(name: String, type: UInt16, qclass: UInt16) {
            self.name = name
            self.type = type
            self.qclass = qclass
        }
    }

    /// A query as read: its ID, flags, question, and the question's bytes as they came (echoed
    /// in the reply).
    public struct Query: Sendable, Equatable {
        public var id: UInt16
        public var flags: UInt16
        public var question: Question
        public var questionBytes: [UInt8]

        public var opcode: UInt8 { UInt8((flags >> 11) & 0xF) }
    }

    /// One answer record for the question's name.
    public enum Answer: Sendable, Equatable {
        case a([UInt8])
        case aaaa([UInt8])
        case ptr(String)
    }

    /// Reads a query with exactly one question. Trailing records (an EDNS OPT) are ignored.
    public static func parseQuery(_ bytes: [UInt8]) throws(DNSMessageError) -> Query {
        guard bytes.count >= headerSize else { throw .truncated }
        let id = read16(bytes, 0)
        let flags = read16(bytes, 2)
        guard flags & 0x8000 == 0 else { throw .notAQuery }
        guard read16(bytes, 4) == 1 else { throw .questionCount(Int(read16(bytes, 4))) }
        let (name, end) = try readName(bytes, at: headerSize)
        guard end + 4 <= bytes.count else { throw .truncated }
        let question = Question(name: name, type: read16(bytes, end), qclass: read16(bytes, end + 2))
        return Query(id: id, flags: flags, question: question, questionBytes: Array(bytes[headerSize..<(end + 4)]))
    }

    /// The name at `offset` and the offset just after it (after the first pointer, when it has one).
    public static func readName(_ bytes: [UInt8], at offset: Int) throws(DNSMessageError) -> (name: String, end: Int) {
        var labels: [String] = []
        var position = offset
        var end: Int?
        var hops = 0
        var length = 1
        while true {
            guard position < bytes.count else { throw .truncated }
            let size = Int(bytes[position])
            switch size & 0xC0 {
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated }
                let target = (size & 0x3F) << 8 | Int(bytes[position + 1])
                // Only backwards, and only so often: no loop, no wandering.
                hops += 1
                guard target < position, hops <= maxPointerHops else { throw .badPointer }
                if end == nil { end = position + 2 }
                position = target
            case 0:
                if size == 0 { return (labels.joined(separator: "."), end ?? position + 1) }
                length += size + 1
                guard length <= maxNameLength else { throw .nameTooLong }
                guard position + 1 + size <= bytes.count else { throw .truncated }
                labels.append(label(bytes[(position + 1)..<(position + 1 + size)]))
                position += 1 + size
            default: throw .badLabel
            }
        }
    }

    static func label(_ bytes: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): text.unicodeScalars.append(Unicode.Scalar(byte + 32))
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"),
                UInt8(ascii: "_"):
                text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = String(byte)
                text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
            }
        }
        return text
    }

    /// The reply to `query`: its ID, opcode and RD bit, QR and RA set, AA when it answers from
    /// our names, the question echoed and `answers` (owner: the question's name, by pointer).
    /// Answers that would take it past `limit` bytes are left out and TC set.
    public static func reply(
        to query: Query, rcode: UInt8, answers: [Answer] = [], authoritative: Bool = true, ttl: UInt32 = 60,
        limit: Int = udpLimit
    ) -> [UInt8] {
        var flags: UInt16 = 0x8000 | (query.flags & 0x7800) | (query.flags & 0x0100) | 0x0080 | UInt16(rcode & 0xF)
        if authoritative { flags |= 0x0400 }
        var records: [[UInt8]] = []
        var size = headerSize + query.questionBytes.count
        for answer in answers {
            let record = encode(answer, ttl: ttl)
            guard size + record.count <= limit else {
                flags |= 0x0200
                break
            }
            size += record.count
            records.append(record)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        append16(&bytes, query.id)
        append16(&bytes, flags)
        append16(&bytes, 1)
        append16(&bytes, UInt16(records.count))
        append16(&bytes, 0)
        append16(&bytes, 0)
        bytes += query.questionBytes
        for record in records { bytes += record }
        return bytes
    }

    /// A header-only reply (no question) for a query whose question could not be read.
    public static func headerReply(to bytes: [UInt8], rcode: UInt8) -> [UInt8]? {
        guard bytes.count >= headerSize, bytes[2] & 0x80 == 0 else { return nil }
        var reply = Array(bytes[0..<4]) + [0, 0, 0, 0, 0, 0, 0, 0]
        reply[2] = 0x80 | (bytes[2] & 0x79)
        reply[3] = 0x80 | (rcode & 0xF)
        return reply
    }

    static func encode(_ answer: Answer, ttl: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0xC0, UInt8(headerSize)]
        let rdata: [UInt8]
        switch answer {
        case .a(let address):
            append16(&bytes, typeA)
            rdata = address
        case .aaaa(let address):
            append16(&bytes, typeAAAA)
            rdata = address
        case .ptr(let name):
            append16(&bytes, typePTR)
            rdata = encodeName(name)
        }
        append16(&bytes, classIN)
        append16(&bytes, UInt16(ttl >> 16))
        append16(&bytes, UInt16(ttl & 0xFFFF))
        append16(&bytes, UInt16(rdata.count))
        return bytes + rdata
    }

    /// `name` in labels (empty labels skipped, each cut at 63 bytes, the whole at 255).
    public static func encodeName(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for label in name.split(separator: ".") {
            let raw = Array(label.utf8.prefix(63))
            guard bytes.count + raw.count + 2 <= maxNameLength else { break }
            bytes.append(UInt8(raw.count))
            bytes += raw
        }
        return bytes + [0]
    }

    /// The IPv4 address a reverse name (`4.3.2.1.in-addr.arpa`) asks about, nil for any other name.
    public static func reverseIPv4(_ name: String) -> IPv4Address? {
        let suffix = ".in-addr.arpa"
        guard name.hasSuffix(suffix) else { return nil }
        let parts = name.dropLast(suffix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        return IPv4Address(parts.reversed().joined(separator: "."))
    }

    static func read16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    static func append16(_ bytes: inout [UInt8], _ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }
}

/// Why a DNS message was not read.
public enum DNSMessageError: Error, CustomStringConvertible, Sendable, Equatable {
    case truncated
    case notAQuery
    case questionCount(Int)
    case badPointer
    case badLabel
    case nameTooLong

    public var description: String {
        switch self {
        case .truncated: return "DNS message ends inside a field"
        case .notAQuery: return "DNS message is a response, not a query"
        case .questionCount(let count): return "DNS query has \(count) questions (one is answered)"
        case .badPointer: return "DNS name has a compression pointer that does not point backwards, or too many"
        case .badLabel: return "DNS name has a label type other than a plain label or a pointer"
        case .nameTooLong: return "DNS name is longer than 255 bytes"
        }
    }
}

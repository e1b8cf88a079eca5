/// The tar format of `copyIn`/`copyOut` archive streams (docs/agent-protocol.md), as much of it
/// as the agent needs: the agent has no libarchive (it is one static executable), so it writes
/// and reads tar with these pure functions. Written: ustar headers, with a pax extended header
/// first for what ustar cannot hold (a path or link target over 100 bytes, a size or id too large
/// for its octal field). Read: ustar and pax ('x' records for path, linkpath, size, uid, gid;
/// global 'g' headers skipped) and GNU long names ('L', 'K'), every field checked: whatever the
/// peer sends, a wrong header is an error, never a crash or an unbounded allocation.
///
/// The host reads the guest's archives with libarchive under `TarEntryPolicy` (the guest is
/// hostile to it); the agent reads the host's archives with `ArchiveReader` and still opens each
/// path one component at a time inside the container's root.
public enum ArchiveFormat {
    public static let blockSize = 512
    /// The largest pax or GNU long-name record accepted (a path is at most PATH_MAX anyway).
    public static let maximumExtendedHeader = 64 << 10

    /// The bytes that end an archive: two zero blocks.
    public static let endOfArchive = [UInt8](repeating: 0, count: 1024)

    /// Zero bytes after `size` bytes of data up to the next block boundary.
    public static func padding(after size: UInt64) -> Int {
        let rest = Int(size % UInt64(blockSize))
        return rest == 0 ? 0 : blockSize - rest
    }

    /// The header block(s) of `entry`: a pax header when ustar's fields cannot hold it, then ustar.
    public static func header(_ entry: ArchiveEntry) -> [UInt8] {
        var records: [(String, String)] = []
        let pathBytes = Array(entry.path.utf8)
        if pathBytes.count > 100 { records.append(("path", entry.path)) }
        if entry.linkTarget.utf8.count > 100 { records.append(("linkpath", entry.linkTarget)) }
        if entry.size > 0o77777777777 { records.append(("size", "\(entry.size)")) }
        if entry.uid > 0o7777777 { records.append(("uid", "\(entry.uid)")) }
        if entry.gid > 0o7777777 { records.append(("gid", "\(entry.gid)")) }
        var bytes: [UInt8] = []
        if !records.isEmpty {
            let body = records.flatMap { paxRecord($0.0, $0.1) }
            bytes += ustar(
                name: Array("PaxHeader".utf8), mode: 0o644, uid: 0, gid: 0, size: UInt64(body.count), mtime: 0,
                type: UInt8(ascii: "x"), link: [], major: 0, minor: 0)
            bytes += body
            bytes += [UInt8](repeating: 0, count: padding(after: UInt64(body.count)))
        }
        bytes += ustar(
            name: Array(pathBytes.prefix(100)), mode: entry.mode & 0o7777, uid: min(entry.uid, 0o7777777), gid: min(entry.gid, 0o7777777),
            size: entry.type == .regular ? min(entry.size, 0o77777777777) : 0, mtime: max(0, min(entry.mtime, 0o77777777777)),
            type: entry.type.rawValue, link: Array(entry.linkTarget.utf8.prefix(100)), major: entry.deviceMajor,
            minor: entry.deviceMinor)
        return bytes
    }

    /// One pax record, "LENGTH key=value\n", where LENGTH counts itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count > length { length += 1 }
        return Array((String(length) + body).utf8)
    }

    static func ustar(
        name: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32, size: UInt64, mtime: Int64, type: UInt8, link: [UInt8],
        major: UInt32, minor: UInt32
    ) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], at offset: Int, width: Int) {
            for (index, byte) in bytes.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: UInt64, at offset: Int, width: Int) {
            var digits = Array(String(value, radix: 8).utf8)
            while digits.count < width - 1 { digits.insert(UInt8(ascii: "0"), at: 0) }
            put(digits, at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(UInt64(mode), at: 100, width: 8)
        octal(UInt64(uid), at: 108, width: 8)
        octal(UInt64(gid), at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(UInt64(mtime), at: 136, width: 12)
        block[156] = type
        put(link, at: 157, width: 100)
        put(Array("ustar\u{0}00".utf8), at: 257, width: 8)
        octal(UInt64(major), at: 329, width: 8)
        octal(UInt64(minor), at: 337, width: 8)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + UInt64($1) }
        octal(sum, at: 148, width: 7)
        block[155] = UInt8(ascii: " ")
        return block
    }
}

/// One entry of an archive stream.
public struct ArchiveEntry: Equatable, Sendable {
    public enum EntryType: UInt8, Sendable {
        case regular = 48  // "0"
        case hardlink = 49  // "1"
        case symlink = 50  // "2"
        case characterDevice = 51  // "3"
        case blockDevice = 52  // "4"
        case directory = 53  // "5"
        case fifo = 54  // "6"
    }

    /// Relative, "/"-separated; a directory's without a trailing slash.
    public var path: String
    public var type: EntryType
    /// Permission bits with setuid, setgid and sticky.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Bytes of data after the header (regular files only).
    public var size: UInt64
    /// Seconds since the epoch.
    public var mtime: Int64
    /// A symlink's target, or the path a hardlink names.
    public var linkTarget: String
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32

    public init(
        path: String, type: EntryType, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, size: UInt64 = 0, mtime: Int64 = 0,
        linkTarget: String = "", deviceMajor: UInt32 = 0, deviceMinor: UInt32 = 0
    ) {
        self.path = path
        self.type = type
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.mtime = mtime
        self.linkTarget = linkTarget
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
    }
}

/// Why archive bytes are not an archive this side accepts.
public struct ArchiveFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads an archive's entries with a blocking `read(count)` that returns exactly `count` bytes
/// (or fewer only at the end of the stream). After each entry the caller reads its data with
/// `readData`; entries the format does not carry as files (sockets, unknown types) are refused.
public struct ArchiveReader {
    private let read: (Int) throws -> [UInt8]
    private var dataLeft: UInt64 = 0
    private var paddingLeft = 0

    public init(read: @escaping (Int) throws -> [UInt8]) {
        self.read = read
    }

    private func exactly(_ count: Int, _ what: String) throws -> [UInt8] {
        let bytes = try read(count)
        guard bytes.count == count else { throw ArchiveFormatError("the archive ends inside \(what)") }
        return bytes
    }

    /// The next entry, nil at the end of the archive (a zero block, or the stream's end between
    /// entries).
    public mutating func next() throws -> ArchiveEntry? {
        try skipData()
        var pax: [String: String] = [:]
        var longName: String?
        var longLink: String?
        while true {
            let block = try read(ArchiveFormat.blockSize)
            if block.isEmpty { return nil }
            guard block.count == ArchiveFormat.blockSize else { throw ArchiveFormatError("the archive ends inside a header") }
            if block.allSatisfy({ $0 == 0 }) { return nil }
            let header = try Self.parse(block)
            switch header.typeFlag {
            case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
                guard header.size <= UInt64(ArchiveFormat.maximumExtendedHeader) else {
                    throw ArchiveFormatError("an extended header of \(header.size) bytes (at most \(ArchiveFormat.maximumExtendedHeader))")
                }
                let body = try exactly(Int(header.size), "an extended header")
                _ = try exactly(ArchiveFormat.padding(after: header.size), "an extended header")
                switch header.typeFlag {
                case UInt8(ascii: "x"): pax.merge(try Self.paxRecords(body)) { $1 }
                case UInt8(ascii: "L"): longName = try Self.text(body.prefix { $0 != 0 }, "a long name")
                case UInt8(ascii: "K"): longLink = try Self.text(body.prefix { $0 != 0 }, "a long link name")
                default: break  // global pax headers hold nothing this side uses
                }
                continue
            default:
                break
            }
            let flag = header.typeFlag == 0 || header.typeFlag == UInt8(ascii: "7") ? UInt8(ascii: "0") : header.typeFlag
            guard let type = ArchiveEntry.EntryType(rawValue: flag) else {
                throw ArchiveFormatError("an entry of unknown type '\(Character(Unicode.Scalar(header.typeFlag)))'")
            }
            var path = pax["path"] ?? longName ?? header.name
            while path.hasSuffix("/") && path.count > 1 { path.removeLast() }
            var entry = ArchiveEntry(
                path: path, type: type, mode: header.mode, uid: header.uid, gid: header.gid, size: header.size, mtime: header.mtime,
                linkTarget: pax["linkpath"] ?? longLink ?? header.link, deviceMajor: header.major, deviceMinor: header.minor)
            if let text = pax["size"] {
                guard let size = UInt64(text) else { throw ArchiveFormatError("a pax size '\(text)' that is not a number") }
                entry.size = size
            }
            if let text = pax["uid"] {
                guard let uid = UInt32(text) else { throw ArchiveFormatError("a pax uid '\(text)' out of range") }
                entry.uid = uid
            }
            if let text = pax["gid"] {
                guard let gid = UInt32(text) else { throw ArchiveFormatError("a pax gid '\(text)' out of range") }
                entry.gid = gid
            }
            if type != .regular { entry.size = 0 }
            guard !entry.path.isEmpty else { throw ArchiveFormatError("an entry without a name") }
            dataLeft = entry.size
            paddingLeft = ArchiveFormat.padding(after: entry.size)
            return entry
        }
    }

    /// Up to `maximum` bytes of the current entry's data; empty when it is all read.
    public mutating func readData(maximum: Int = 1 << 16) throws -> [UInt8] {
        guard dataLeft > 0 else { return [] }
        let count = Int(min(dataLeft, UInt64(maximum)))
        let bytes = try exactly(count, "a file's data")
        dataLeft -= UInt64(count)
        return bytes
    }

    private mutating func skipData() throws {
        while dataLeft > 0 { _ = try readData() }
        if paddingLeft > 0 {
            _ = try exactly(paddingLeft, "a file's padding")
            paddingLeft = 0
        }
    }

    struct Header {
        var name: String
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var size: UInt64
        var mtime: Int64
        var typeFlag: UInt8
        var link: String
        var major: UInt32
        var minor: UInt32
    }

    /// One header block, its checksum checked.
    static func parse(_ block: [UInt8]) throws -> Header {
        func field(_ offset: Int, _ width: Int) -> ArraySlice<UInt8> {
            let slice = block[offset..<(offset + width)]
            return slice.prefix { $0 != 0 }
        }
        func number(_ offset: Int, _ width: Int, _ what: String) throws -> UInt64 {
            let raw = block[offset..<(offset + width)]
            if let first = raw.first, first & 0x80 != 0 {
                // GNU base-256: the rest of the field, big-endian; a negative value is refused.
                guard first == 0x80 else { throw ArchiveFormatError("a negative or oversized \(what)") }
                var value: UInt64 = 0
                for byte in raw.dropFirst() {
                    guard value >> 56 == 0 else { throw ArchiveFormatError("an oversized \(what)") }
                    value = value << 8 | UInt64(byte)
                }
                return value
            }
            let text = raw.prefix { $0 != 0 }.filter { $0 != UInt8(ascii: " ") }
            if text.isEmpty { return 0 }
            guard let value = UInt64(String(decoding: text, as: UTF8.self), radix: 8) else {
                throw ArchiveFormatError("a \(what) field that is not an octal number")
            }
            return value
        }
        let stored = try number(148, 8, "checksum")
        var sum: UInt64 = 0
        for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 32 : UInt64(byte) }
        guard stored == sum else { throw ArchiveFormatError("a header whose checksum is wrong (not a tar archive)") }
        var name = try text(field(0, 100), "a name")
        // POSIX ustar ("ustar\0"; GNU's "ustar " uses the prefix field for other things).
        if block[257..<263].elementsEqual("ustar\u{0}".utf8) {
            let prefix = try text(field(345, 155), "a name prefix")
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        func small(_ value: UInt64, _ what: String) throws -> UInt32 {
            guard let fitted = UInt32(exactly: value) else { throw ArchiveFormatError("a \(what) out of range") }
            return fitted
        }
        let mtime = try number(136, 12, "modification time")
        return Header(
            name: name, mode: try small(number(100, 8, "mode"), "mode") & 0o7777, uid: try small(number(108, 8, "uid"), "uid"),
            gid: try small(number(116, 8, "gid"), "gid"), size: try number(124, 12, "size"), mtime: Int64(clamping: mtime),
            typeFlag: block[156], link: try text(field(157, 100), "a link name"),
            major: try small(number(329, 8, "device major"), "device major"),
            minor: try small(number(337, 8, "device minor"), "device minor"))
    }

    static func text(_ bytes: some Collection<UInt8>, _ what: String) throws -> String {
        guard let text = String(validating: Array(bytes), as: UTF8.self), !text.contains("\u{0}") else {
            throw ArchiveFormatError("\(what) that is not UTF-8 text")
        }
        return text
    }

    /// pax records: "LENGTH key=value\n", each LENGTH counting its own record.
    static func paxRecords(_ body: [UInt8]) throws -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < body.count {
            guard let space = body[index...].firstIndex(of: UInt8(ascii: " ")), space - index <= 10,
                let length = Int(String(decoding: body[index..<space], as: UTF8.self)), length > space - index + 2,
                index + length <= body.count, body[index + length - 1] == UInt8(ascii: "\n"),
                let equals = body[(space + 1)..<(index + length)].firstIndex(of: UInt8(ascii: "="))
            else {
                throw ArchiveFormatError("a malformed pax record")
            }
            let key = try text(body[(space + 1)..<equals], "a pax key")
            records[key] = try text(body[(equals + 1)..<(index + length - 1)], "a pax value")
            index += length
        }
        return records
    }
}

/// docker cp's naming, on whichever side unpacks a copy: into an existing directory the archive
/// goes as it is; to a path that does not exist, its root (the first entry) takes the path's last
/// name. A root of "." (`cp DIR/.`) stands for a directory's contents: they go into a directory of
/// that name. Every entry must be below the root.
public struct ArchiveRoot: Sendable {
    /// The new name of the root, nil to unpack as the archive says.
    public let rename: String?
    private var root: [String]?

    public init(rename: String?) {
        self.rename = rename
    }

    /// The path's components without empty ones and "."; ".." is refused.
    public static func components(_ path: String) throws -> [String] {
        guard !path.hasPrefix("/") else { throw ArchiveFormatError("the entry '\(path)' has an absolute path") }
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !parts.contains("..") else { throw ArchiveFormatError("the entry '\(path)' leads out of the archive with '..'") }
        return parts
    }

    /// Where the entry `path` goes, relative to the directory unpacked into ("" is that
    /// directory itself).
    public mutating func map(_ path: String) throws -> String {
        let parts = try Self.components(path)
        guard let rename else { return parts.joined(separator: "/") }
        // The first entry names the root: "." (contents) or its first name.
        let root = self.root ?? Array(parts.prefix(1))
        self.root = root
        guard parts.count >= root.count, Array(parts.prefix(root.count)) == root else {
            throw ArchiveFormatError("the entry '\(path)' is not below the archive's root '\(root.first ?? ".")'")
        }
        return ([rename] + parts.dropFirst(root.count)).joined(separator: "/")
    }
}

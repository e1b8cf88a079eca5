import AgentProtocol
import Testing

/// The agent's tar: what it writes reads back, what libarchive-style writers send is read, and a
/// broken or hostile stream is an error, never a crash.
@Suite struct ArchiveFormatTests {
    /// A reader over bytes in memory.
    func reader(_ bytes: [UInt8]) -> ArchiveReader {
        var offset = 0
        return ArchiveReader { count in
            let end = min(offset + count, bytes.count)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }
    }

    func archive(_ entries: [(ArchiveEntry, [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (entry, data) in entries {
            bytes += ArchiveFormat.header(entry) + data
            bytes += [UInt8](repeating: 0, count: ArchiveFormat.padding(after: UInt64(data.count)))
        }
        return bytes + ArchiveFormat.endOfArchive
    }

    @Test func entriesRoundTripWithLongNamesLargeIdsAndData() throws {
        let long = String(repeating: "directory/", count: 30) + "file"
        let data = Array(repeating: UInt8(0x5A), count: 1000)
        let entries: [(ArchiveEntry, [UInt8])] = [
            (ArchiveEntry(path: "top", type: .directory, mode: 0o1755, uid: 3_000_000, gid: 7, mtime: 1_700_000_000), []),
            (ArchiveEntry(path: long, type: .regular, mode: 0o4755, size: UInt64(data.count)), data),
            (ArchiveEntry(path: "top/link", type: .symlink, mode: 0o777, linkTarget: "/" + long), []),
            (ArchiveEntry(path: "top/hard", type: .hardlink, mode: 0o644, linkTarget: "top"), []),
            (ArchiveEntry(path: "top/null", type: .characterDevice, mode: 0o666, deviceMajor: 1, deviceMinor: 3), []),
            (ArchiveEntry(path: "top/fifo", type: .fifo, mode: 0o600), []),
        ]
        var read = reader(archive(entries))
        for (expected, data) in entries {
            let entry = try #require(try read.next())
            #expect(entry == expected)
            var got: [UInt8] = []
            while true {
                let chunk = try read.readData(maximum: 300)
                if chunk.isEmpty { break }
                got += chunk
            }
            #expect(got == data)
        }
        #expect(try read.next() == nil)
    }

    @Test func dataNotReadIsSkipped() throws {
        let data = Array(repeating: UInt8(1), count: 700)
        var read = reader(
            archive([
                (ArchiveEntry(path: "a", type: .regular, mode: 0o644, size: 700), data),
                (ArchiveEntry(path: "b", type: .directory, mode: 0o755), []),
            ]))
        #expect(try read.next()?.path == "a")
        #expect(try read.next()?.path == "b")
    }

    @Test func brokenOrHostileStreamsAreErrors() throws {
        var header = ArchiveFormat.header(ArchiveEntry(path: "a", type: .regular, mode: 0o644, size: 10))
        header[0] = UInt8(ascii: "b")  // the checksum no longer matches
        var bad = reader(header + ArchiveFormat.endOfArchive)
        #expect(throws: ArchiveFormatError.self) { _ = try bad.next() }

        // A file whose data the stream does not hold.
        var truncated = reader(ArchiveFormat.header(ArchiveEntry(path: "a", type: .regular, mode: 0o644, size: 5000)) + [1, 2, 3])
        _ = try truncated.next()
        #expect(throws: ArchiveFormatError.self) { _ = try truncated.readData(maximum: 5000) }

        // A pax header announcing more than the limit is refused before it is read.
        var pax = ArchiveFormat.header(ArchiveEntry(path: String(repeating: "x", count: 200), type: .regular, mode: 0o644))
        #expect(pax[156] == UInt8(ascii: "x"))
        let huge = Array(String(UInt64(ArchiveFormat.maximumExtendedHeader + 1), radix: 8).utf8)
        for index in 124..<136 { pax[index] = 0 }
        for (index, byte) in huge.enumerated() { pax[124 + index] = byte }
        for index in 148..<156 { pax[index] = UInt8(ascii: " ") }
        let sum = pax[0..<512].reduce(0) { $0 + Int($1) }
        for (index, byte) in Array(String(sum, radix: 8).utf8).enumerated() { pax[148 + index] = byte }
        pax[148 + String(sum, radix: 8).count] = 0
        var oversized = reader(pax)
        #expect(throws: ArchiveFormatError.self) { _ = try oversized.next() }

        // An unknown type is refused, not guessed.
        var block = ArchiveFormat.header(ArchiveEntry(path: "s", type: .regular, mode: 0o644))
        block[156] = UInt8(ascii: "9")
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let blockSum = block.reduce(0) { $0 + Int($1) }
        for (index, byte) in Array(String(blockSum, radix: 8).utf8).enumerated() { block[148 + index] = byte }
        block[148 + String(blockSum, radix: 8).count] = 0
        var unknown = reader(block)
        #expect(throws: ArchiveFormatError.self) { _ = try unknown.next() }
    }

    @Test func theRootTakesTheDestinationsNameAsDockerCpDoes() throws {
        var file = ArchiveRoot(rename: "new")
        #expect(try file.map("passwd") == "new")
        var directory = ArchiveRoot(rename: "copy")
        #expect(try directory.map("etc") == "copy")
        #expect(try directory.map("etc/passwd") == "copy/passwd")
        #expect(throws: ArchiveFormatError.self) { _ = try directory.map("other/file") }
        var contents = ArchiveRoot(rename: "copy")
        #expect(try contents.map(".") == "copy")
        #expect(try contents.map("./a/b") == "copy/a/b")
        var asItIs = ArchiveRoot(rename: nil)
        #expect(try asItIs.map("./etc/passwd") == "etc/passwd")
        #expect(try asItIs.map(".") == "")
        #expect(throws: ArchiveFormatError.self) { _ = try asItIs.map("a/../../b") }
        #expect(throws: ArchiveFormatError.self) { _ = try asItIs.map("/etc/passwd") }
    }
}

import Testing
@testable import VMM

@Suite struct InitramfsTests {
    /// Reads a newc archive back: (name, mode, data, rdev major, rdev minor) per record.
    func parse(_ bytes: [UInt8]) -> [(String, UInt32, [UInt8], UInt32, UInt32)]? {
        var offset = 0
        var out: [(String, UInt32, [UInt8], UInt32, UInt32)] = []
        func field(_ index: Int) -> UInt32? {
            let start = offset + 6 + index * 8
            guard start + 8 <= bytes.count else { return nil }
            return UInt32(String(decoding: bytes[start..<start + 8], as: UTF8.self), radix: 16)
        }
        while offset + 110 <= bytes.count {
            guard String(decoding: bytes[offset..<offset + 6], as: UTF8.self) == "070701",
                let mode = field(1), let size = field(6), let major = field(9), let minor = field(10), let nameSize = field(11)
            else { return nil }
            let nameStart = offset + 110
            let name = String(decoding: bytes[nameStart..<nameStart + Int(nameSize) - 1], as: UTF8.self)
            var dataStart = nameStart + Int(nameSize)
            dataStart = (dataStart + 3) & ~3
            let data = Array(bytes[dataStart..<dataStart + Int(size)])
            out.append((name, mode, data, major, minor))
            offset = (dataStart + Int(size) + 3) & ~3
            if name == "TRAILER!!!" { return offset == bytes.count ? out : nil }
        }
        return nil
    }

    @Test func recordsAreNewcWithAlignedNamesAndData() throws {
        let archive = Initramfs.archive([
            .directory("bin"), .file("init", Array("#!/bin/sh\n".utf8), mode: 0o755),
            .symlink("bin/sh", target: "busybox"), .characterDevice("dev/console", major: 5, minor: 1),
        ])
        #expect(archive.count % 4 == 0)
        let records = try #require(parse(archive))
        #expect(records.map(\.0) == ["bin", "init", "bin/sh", "dev/console", "TRAILER!!!"])
        #expect(records[0].1 == 0o040755)
        #expect(records[1].1 == 0o100755)
        #expect(records[1].2 == Array("#!/bin/sh\n".utf8))
        #expect(records[2].1 == 0o120777)
        #expect(records[2].2 == Array("busybox".utf8))
        #expect(records[3].1 == 0o020600)
        #expect(records[3].3 == 5 && records[3].4 == 1)
    }

    @Test func theBusyboxImageHasAnExecutableInitAndAShell() throws {
        let entries = Initramfs.busyboxEntries(busybox: [0x7F, 0x45, 0x4C, 0x46])
        let records = try #require(parse(Initramfs.archive(entries)))
        let names = records.map(\.0)
        #expect(names.contains("init"))
        #expect(names.contains("bin/busybox"))
        #expect(names.contains("bin/sh"))
        #expect(names.contains("dev/console"))
        #expect(records.first { $0.0 == "init" }?.1 == 0o100755)
        let initScript = records.first { $0.0 == "init" }.map { String(decoding: $0.2, as: UTF8.self) } ?? ""
        #expect(initScript.contains(Initramfs.readyMarker))
    }
}

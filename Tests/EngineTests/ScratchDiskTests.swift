import Foundation
import Testing

@testable import Engine

/// A micro-VM container's scratch disk: a sparse copy of an empty ext4 made once per store.
@Suite struct ScratchDiskTests {
    func withDirectory(_ body: (String) throws -> Void) throws {
        let path = "/tmp/skiff-scratch-\(UUID().uuidString.prefix(13))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    func allocatedBytes(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_blocks) * 512 : -1
    }

    @Test func aSparseCopyKeepsTheDataAndTheHoles() throws {
        try withDirectory { directory in
            let source = directory + "/source", copy = directory + "/copy"
            _ = FileManager.default.createFile(atPath: source, contents: nil)
            let handle = try #require(FileHandle(forWritingAtPath: source))
            try handle.truncate(atOffset: 64 << 20)
            try handle.seek(toOffset: 0)
            handle.write(Data("start".utf8))
            try handle.seek(toOffset: 40 << 20)
            handle.write(Data(repeating: 7, count: 300_000))
            try handle.close()
            try SparseCopy.copy(from: source, to: copy)
            #expect(FileManager.default.contents(atPath: copy) == FileManager.default.contents(atPath: source))
            #expect(allocatedBytes(copy) < 2 << 20, "the copy allocated \(allocatedBytes(copy)) bytes")
            // An existing destination is never overwritten.
            #expect(throws: (any Error).self) { try SparseCopy.copy(from: source, to: copy) }
            #expect(FileManager.default.contents(atPath: copy)?.count == 64 << 20)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/sbin/mkfs.ext4"), "needs mkfs.ext4 (e2fsprogs)"))
    func eachContainerGetsItsOwnCopyOfOneEmptyFilesystemAndKeepsIt() throws {
        try withDirectory { root in
            let first = root + "/c1", second = root + "/c2"
            for directory in [first, second] {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            let disk = try GuestArtifacts.scratchDisk(containerDirectory: first, root: root)
            let template = try GuestArtifacts.scratchTemplate(root: root)
            let made = try FileManager.default.attributesOfItem(atPath: template)[.modificationDate] as? Date
            let other = try GuestArtifacts.scratchDisk(containerDirectory: second, root: root)
            #expect(try FileManager.default.attributesOfItem(atPath: template)[.modificationDate] as? Date == made)
            #expect(disk != other && disk.hasPrefix(first) && other.hasPrefix(second))
            // ext4's magic (0xEF53 at 1080), the full size, and only the metadata allocated.
            let bytes = try #require(FileHandle(forReadingAtPath: disk))
            try bytes.seek(toOffset: 1080)
            #expect(try bytes.read(upToCount: 2) == Data([0x53, 0xEF]))
            try bytes.close()
            #expect((try FileManager.default.attributesOfItem(atPath: disk)[.size] as? Int) == Int(GuestArtifacts.scratchBytes))
            #expect(allocatedBytes(disk) < 64 << 20, "\(allocatedBytes(disk))")
            // What the guest wrote stays: a second start keeps the disk.
            let writer = try #require(FileHandle(forWritingAtPath: disk))
            try writer.seek(toOffset: 8 << 20)
            writer.write(Data("kept".utf8))
            try writer.close()
            #expect(try GuestArtifacts.scratchDisk(containerDirectory: first, root: root) == disk)
            let reader = try #require(FileHandle(forReadingAtPath: disk))
            try reader.seek(toOffset: 8 << 20)
            #expect(try reader.read(upToCount: 4) == Data("kept".utf8))
            try reader.close()
            #expect(!FileManager.default.fileExists(atPath: disk + ".tmp"))
        }
    }
}

import Foundation
import LinuxSupport
import Testing

/// Mounts.table is the one read of the mount table (the runtime and the engine decide what is
/// mounted from it): it must hold every mount, however long the table.
@Suite(.enabled(if: getuid() == 0, "needs root to mount"))
struct MountTableTests {
    @Test func aTableLongerThanOnePageIsReadWhole() throws {
        let base = "/tmp/skiff-mount-table-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        var mounted: [String] = []
        defer {
            for point in mounted.reversed() { umount2(point, 0) }
            try? FileManager.default.removeItem(atPath: base)
        }
        // 80 mounts of ~100 bytes each make the table well over the 4 KiB one read() returns.
        for index in 0..<80 {
            let point = base + "/m\(index)"
            try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)
            try Mounts.mount(source: "none", target: point, type: "tmpfs", flags: 0, data: "size=4k")
            mounted.append(point)
        }
        let table = try Mounts.table()
        #expect(table.utf8.count > 8 << 10)
        let points = Set(
            table.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                return fields.count > 4 ? String(fields[4]) : nil
            })
        let missing = mounted.filter { !points.contains($0) }
        #expect(missing.isEmpty, "missing from the table: \(missing.count) of \(mounted.count), the last first: \(missing.suffix(3))")
        #expect(Mounts.isMountPoint(mounted[mounted.count - 1]))
    }
}

#if canImport(Glibc)
import Glibc
#endif
@testable import Builder
import Foundation
import Testing

/// A micro-VM container's changes come from its guest as a layer tar: `diff` reads its names
/// (never one that climbs out) and maps docker's whiteouts.
@Suite struct MicroVMChangesTests {
    @Test func whiteoutsAreDeletionsOpaqueMarkersGoAndNamesThatClimbAreDropped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vmchanges-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let tree = directory.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("root"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in ["etc/.wh.group", "root/.wh..wh..opq", "root/.profile", "made"] {
            try Data().write(to: tree.appendingPathComponent(file))
        }
        // GNU tar keeps "../escape" as given with -P: a hostile guest's entry.
        try Data().write(to: directory.appendingPathComponent("escape"))
        let archive = directory.appendingPathComponent("changes.tar").path
        let tar = Foundation.Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.currentDirectoryURL = tree
        tar.arguments = ["-cPf", archive, "./etc", "root", "made", "../escape"]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        let fd = open(archive, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        let paths = try MicroVMChanges.paths(in: fd)
        #expect(Set(paths) == ["/etc", "/etc/.wh.group", "/root", "/root/.wh..wh..opq", "/root/.profile", "/made"], "\(paths)")
        let changes = MicroVMChanges.changes(paths, inLower: { ["/etc", "/root"].contains($0) }).sorted { $0.path < $1.path }
        #expect(changes.map { "\($0.kind) \($0.path)" } == ["C /etc", "D /etc/group", "A /made", "C /root", "A /root/.profile"])
    }

    @Test func somethingThatIsNotATarIsAClearError() throws {
        var pipe: [Int32] = [-1, -1]
        #expect(Glibc.pipe(&pipe) == 0)
        let garbage =
            Array("this is not a tar stream at all, but it is long enough to be read as one: ".utf8) + [UInt8](repeating: 7, count: 600)
        #expect(write(pipe[1], garbage, garbage.count) == garbage.count)
        close(pipe[1])
        defer { close(pipe[0]) }
        #expect(throws: ImageBuilder.Failure.self) { try MicroVMChanges.paths(in: pipe[0]) }
    }
}

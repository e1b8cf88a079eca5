import Foundation
import Networking
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The persisted network namespace file, and how teardown tells a real one from the empty file
/// left by a monitor killed before it mounted the namespace.
@Suite(.enabled(if: getuid() == 0, "needs root to create a network namespace"))
struct NetworkNamespaceTests {
    @Test func anEmptyFileIsNotANamespace() throws {
        let directory = NSTemporaryDirectory() + "skiff-netns-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            NetworkNamespace.remove(at: directory + "/real")
            try? FileManager.default.removeItem(atPath: directory)
        }
        _ = FileManager.default.createFile(atPath: directory + "/plain", contents: nil)
        #expect(!NetworkNamespace.isMounted(at: directory + "/plain"))
        #expect(!NetworkNamespace.isMounted(at: directory + "/missing"))
        try NetworkNamespace.create(at: directory + "/real")
        #expect(NetworkNamespace.isMounted(at: directory + "/real"))
        NetworkNamespace.remove(at: directory + "/real")
        #expect(!NetworkNamespace.exists(at: directory + "/real"))
    }
}

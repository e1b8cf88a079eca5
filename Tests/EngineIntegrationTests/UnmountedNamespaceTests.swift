import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NetworkTests {
    /// A monitor killed between creating the namespace file and mounting the namespace on it
    /// leaves a plain file where teardown expects a namespace. Made here on purpose (the
    /// namespace of a running container unmounted from its file): `rm -f` still frees the
    /// address, the port rules and the bridge port.
    @Test func rmForceCleansUpWhenTheNamespaceFileHoldsNoNamespace() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let id = try fixture.skiff("run", ["-d", "-p", "80", fixture.image, "sleep", "300"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let bridgeName = try bridge(fixture, network: "bridge")
        // Without its monitor (killed), `rm -f` is the only teardown: it must succeed first time.
        let monitor = try #require(fixture.record(id)?["monitorPid"] as? Int)
        kill(pid_t(monitor), SIGKILL)
        #expect(eventually(15) { !processExists(monitor) })
        let file = fixture.path + "/netns/" + id
        try #require(FileManager.default.fileExists(atPath: file))
        while umount2(file, Int32(MNT_DETACH)) == 0 {}
        #expect(!leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty)
        let removed = try fixture.skiff("rm", ["-f", id])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(
            eventually(15) { leftovers(fixture, ids: [id], bridge: bridgeName).isEmpty },
            "\(leftovers(fixture, ids: [id], bridge: bridgeName))")
    }
}

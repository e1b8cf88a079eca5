import Foundation
import OCISpec
import Testing

/// linux.maskedPaths and linux.readonlyPaths are opened inside the container's root, and only a
/// missing path is skipped: checked with real containers.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct ProtectedPathTests {
    /// A path that cannot be protected fails the container with its name; it used to be
    /// skipped silently (every stat error ignored), leaving the container running unprotected.
    @Test func anErrorOtherThanMissingIsReported() throws {
        let b = try TestBundle("maskerr")
        _ = FileManager.default.createFile(atPath: b.dir + "/rootfs/afile", contents: Data("secret".utf8))
        let maskedPaths = b.spec.linux?.maskedPaths ?? []
        b.spec.linux?.maskedPaths = maskedPaths + ["/afile/below", "/no/such/path"]
        b.shell("echo ran")
        let r = try b.run()
        #expect(r.code != 0, "\(r)")
        #expect(!r.out.contains("ran"), "\(r)")
        #expect(r.err.contains("linux.maskedPaths /afile/below") && r.err.contains("Not a directory"), "\(r)")
    }

    /// A read-only path that is a symlink through a /proc magic link (here to init's working
    /// directory, the container's "/") is refused, not followed to another file: it used to make
    /// the container's whole root read-only.
    @Test func magicLinksAreNotFollowed() throws {
        let b = try TestBundle("romagic")
        try FileManager.default.createSymbolicLink(atPath: b.dir + "/rootfs/rolink", withDestinationPath: "/proc/self/cwd")
        let readonlyPaths = b.spec.linux?.readonlyPaths ?? []
        b.spec.linux?.readonlyPaths = readonlyPaths + ["/rolink"]
        b.shell("touch /x && echo root-writable")
        let r = try b.run()
        #expect(r.code != 0, "\(r)")
        #expect(r.err.contains("linux.readonlyPaths /rolink"), "\(r)")
    }

    /// Missing paths are skipped, and a symlink inside the root is followed inside it.
    @Test func missingPathsAreSkippedAndSymlinksStayInside() throws {
        let b = try TestBundle("masklink")
        try "secret".write(toFile: b.dir + "/rootfs/etc/secretfile", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: b.dir + "/rootfs/masklink", withDestinationPath: "../../../../etc/secretfile")
        let maskedPaths = b.spec.linux?.maskedPaths ?? []
        b.spec.linux?.maskedPaths = maskedPaths + ["/masklink", "/no/such/path"]
        let readonlyPaths = b.spec.linux?.readonlyPaths ?? []
        b.spec.linux?.readonlyPaths = readonlyPaths + ["/no/such/dir"]
        b.shell("cat /etc/secretfile | wc -c; cat /etc/passwd | wc -l")
        let r = try b.run()
        #expect(r.code == 0, "\(r)")
        #expect(r.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["0", "2"], "\(r)")
    }
}

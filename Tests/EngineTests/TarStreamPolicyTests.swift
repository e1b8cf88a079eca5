#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Testing
@testable import Engine

/// `cp - CONTAINER:DIR` extraction (`TarStream`) under the tar policy it shares with image
/// layers (`TarEntryPolicy`): where the copy used to apply rules of its own, it now follows the
/// layer unpacker's. Streams are made with Python's tarfile, which writes what GNU tar refuses to.
@Suite(.enabled(if: getuid() == 0, "extracting with owners needs root"))
struct TarStreamPolicyTests {
    struct Scratch {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "tarstream-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: path + "/target", withIntermediateDirectories: true)
        }
        func remove() { try? FileManager.default.removeItem(atPath: path) }

        /// Writes a tar made by `entries` (Python statements adding `tarfile.TarInfo`s to `t`).
        func tar(_ entries: String) throws -> String {
            let script = """
                import io, sys, tarfile
                t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
                def add(name, type=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, data=b"", link=""):
                    info = tarfile.TarInfo(name)
                    info.type, info.mode, info.uid, info.gid, info.linkname, info.size = type, mode, uid, gid, link, len(data)
                    t.addfile(info, io.BytesIO(data) if data else None)
                \(entries)
                t.close()
                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", script, path + "/stream.tar"]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw SystemError("python3 tarfile", errno: EINVAL) }
            return path + "/stream.tar"
        }

        /// Extracts the tar at `file` into `target` as `cp -` (with -a when `archive`).
        func extract(_ file: String, archive: Bool) throws {
            let stream = try OwnedFD("open \(file)") { open(file, O_RDONLY | O_CLOEXEC) }
            let target = try OwnedFD("open target") { open(path + "/target", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            try TarStream.extract(from: stream.raw, into: target.raw, archive: archive)
        }

        func lstatOf(_ name: String) -> stat? {
            var st = stat()
            return lstat(path + "/target/" + name, &st) == 0 ? st : nil
        }
    }

    /// A FIFO's or device's mode is the stream's, not the stream's less the umask (mknod applies
    /// the umask; the copy used to stop there).
    @Test func aFIFOKeepsItsModeWhateverTheUmask() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let previous = umask(0o022)
        defer { umask(previous) }
        try scratch.extract(try scratch.tar("add('pipe', type=tarfile.FIFOTYPE, mode=0o666)"), archive: false)
        let st = try #require(scratch.lstatOf("pipe"))
        #expect(st.st_mode & S_IFMT == S_IFIFO)
        #expect(st.st_mode & 0o7777 == 0o666)
    }

    /// An owner that does not fit uid_t is refused (the copy used to clamp it to (uid_t)-1,
    /// which chown reads as "leave unchanged", and extract the file as root).
    @Test func anImpossibleOwnerIsRefusedNotClamped() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let stream = try scratch.tar("add('owned', uid=2**32 + 5, gid=7, data=b'x')")
        #expect(throws: EngineError.self) { try scratch.extract(stream, archive: true) }
        #expect(scratch.lstatOf("owned") == nil)
        // A possible one is kept with -a and replaced by the container's root without it.
        let fine = try scratch.tar("add('owned', uid=1234, gid=7, data=b'x')")
        try scratch.extract(fine, archive: true)
        #expect(scratch.lstatOf("owned")?.st_uid == 1234 && scratch.lstatOf("owned")?.st_gid == 7)
        try scratch.extract(fine, archive: false)
        #expect(scratch.lstatOf("owned")?.st_uid == 0 && scratch.lstatOf("owned")?.st_gid == 0)
    }

    /// A hardlink to the stream's root is refused (it used to be skipped without a word), and a
    /// hardlink into a directory that is not there no longer creates that directory.
    @Test func hardlinksObeyTheLayerRules() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let toRoot = try scratch.tar("add('link', type=tarfile.LNKTYPE, link='./')")
        #expect(throws: EngineError.self) { try scratch.extract(toRoot, archive: false) }
        let dangling = try scratch.tar("add('link', type=tarfile.LNKTYPE, link='missing/dir/file')")
        #expect(throws: (any Error).self) { try scratch.extract(dangling, archive: false) }
        #expect(scratch.lstatOf("missing") == nil)
        let fine = try scratch.tar("add('file', data=b'x')\n" + "add('link', type=tarfile.LNKTYPE, link='file')")
        try scratch.extract(fine, archive: false)
        #expect(scratch.lstatOf("link")?.st_ino == scratch.lstatOf("file")?.st_ino)
        #expect(scratch.lstatOf("file")?.st_nlink == 2)
    }
}

import Foundation
import Testing
import CShim
import OCISpec
@testable import ImageStore

@Suite(.enabled(if: isRoot, "unpacking keeps ownership, device nodes and trusted.* xattrs, which needs root"))
struct LayerUnpackerTests {
    let layerDigest = try! Digest(sha256Hex: String(repeating: "0", count: 64))

    func lstatOf(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    func xattr(_ path: String, _ name: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = skiff_lgetxattr(path, name, &buffer, buffer.count)
        return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
    }

    func buildRichLayer(_ path: String, compression: TarBuilder.Compression) throws {
        let tar = try TarBuilder(path: path, compression: compression)
        tar.dir("./", mode: 0o755)
            .dir("bin", mode: 0o755)
            .file("bin/tool", "#!/bin/sh\necho hi\n", mode: 0o4755, uid: 0, gid: 0)
            .file("home/user/notes", "owned", mode: 0o640, uid: 1000, gid: 1001)
            .symlink("bin/sh", to: "/bin/busybox")
            .hardlink("bin/tool-link", to: "bin/tool")
            .add("dev/null", type: 0o020000, mode: 0o666, device: (1, 3))
            .add("dev/fifo", type: 0o010000, mode: 0o600)
            .add(
                "etc/capable", content: Array("x".utf8),
                xattrs: ["user.note": Array("kept".utf8), "trusted.overlay.opaque": Array("y".utf8)]
            )
            .add("var/sparse", content: [UInt8](repeating: 7, count: 100_000))
            .dir("tmp", mode: 0o1777)
        tar.finish()
    }

    @Test(arguments: [TarBuilder.Compression.none, .gzip, .zstd])
    func keepsEveryKindOfEntry(compression: TarBuilder.Compression) throws {
        let tmp = try TemporaryDirectory()
        try buildRichLayer(tmp.path + "/layer", compression: compression)
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        let diffID = try LayerUnpacker(layer: layerDigest).unpack(blobPath: tmp.path + "/layer", into: tmp.path + "/out")
        let out = tmp.path + "/out"

        let tool = try #require(lstatOf(out + "/bin/tool"))
        #expect(tool.st_mode & 0o7777 == 0o4755)
        #expect(try String(contentsOfFile: out + "/bin/tool", encoding: .utf8) == "#!/bin/sh\necho hi\n")
        let notes = try #require(lstatOf(out + "/home/user/notes"))
        #expect(notes.st_uid == 1000 && notes.st_gid == 1001 && notes.st_mode & 0o777 == 0o640)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/bin/sh") == "/bin/busybox")
        let link = try #require(lstatOf(out + "/bin/tool-link"))
        #expect(link.st_ino == tool.st_ino && tool.st_nlink == 2)
        let null = try #require(lstatOf(out + "/dev/null"))
        #expect(null.st_mode & S_IFMT == S_IFCHR && null.st_rdev == UInt(skiff_makedev(1, 3)))
        #expect(try #require(lstatOf(out + "/dev/fifo")).st_mode & S_IFMT == S_IFIFO)
        #expect(xattr(out + "/etc/capable", "user.note") == "kept")
        #expect(xattr(out + "/etc/capable", "trusted.overlay.opaque") == nil, "a layer must not forge overlay xattrs")
        #expect(try #require(lstatOf(out + "/var/sparse")).st_size == 100_000)
        #expect(try #require(lstatOf(out + "/tmp")).st_mode & 0o7777 == 0o1777)
        #expect(try #require(lstatOf(out + "/bin/tool")).st_mtim.tv_sec == 1_600_000_000)
        #expect(try #require(lstatOf(out + "/bin")).st_mtim.tv_sec == 1_600_000_000)

        // The diffID is the digest of the uncompressed tar, whatever the compression.
        try buildRichLayer(tmp.path + "/plain", compression: .none)
        let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tmp.path + "/plain")))
        #expect(diffID == SHA256Hasher.digest(plain))
    }

    @Test func appliesWhiteoutsTheOverlayWay() throws {
        let tmp = try TemporaryDirectory()
        let tar = try TarBuilder(path: tmp.path + "/layer")
        tar.file("etc/.wh.removed", "").dir("opaque").file("opaque/.wh..wh..opq", "").file("opaque/new", "n")
        tar.finish()
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        _ = try LayerUnpacker(layer: layerDigest).unpack(blobPath: tmp.path + "/layer", into: tmp.path + "/out")
        let whiteout = try #require(lstatOf(tmp.path + "/out/etc/removed"))
        #expect(whiteout.st_mode & S_IFMT == S_IFCHR && whiteout.st_rdev == 0)
        #expect(lstatOf(tmp.path + "/out/etc/.wh.removed") == nil)
        #expect(xattr(tmp.path + "/out/opaque", "trusted.overlay.opaque") == "y")
        #expect(lstatOf(tmp.path + "/out/opaque/.wh..wh..opq") == nil)
    }

    /// Each hostile layer must fail with `hostileLayer` and leave the outside untouched.
    @Test(arguments: [
        "dotdot", "absolute", "nested-dotdot", "symlink-absolute", "symlink-dotdot", "hardlink-outside",
        "hardlink-absolute", "whiteout-dotdot", "symlink-then-hardlink", "huge-uid", "huge-device",
    ])
    func rejectsHostileLayer(kind: String) throws {
        let tmp = try TemporaryDirectory()
        let outside = tmp.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "secret".write(toFile: outside + "/victim", atomically: true, encoding: .utf8)
        let out = tmp.path + "/snap/fs"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let tar = try TarBuilder(path: tmp.path + "/layer")
        switch kind {
        case "dotdot": tar.file("../../outside/victim", "pwned")
        case "absolute": tar.file(outside + "/victim", "pwned")
        case "nested-dotdot": tar.file("a/b/../../../../outside/victim", "pwned")
        case "symlink-absolute": tar.symlink("link", to: outside).file("link/victim", "pwned")
        case "symlink-dotdot": tar.symlink("link", to: "../..").file("link/outside/victim", "pwned")
        case "hardlink-outside": tar.hardlink("stolen", to: "../../outside/victim")
        case "hardlink-absolute": tar.hardlink("stolen", to: outside + "/victim")
        case "whiteout-dotdot": tar.dir("sub").file("sub/.wh...", "")
        case "symlink-then-hardlink": tar.symlink("link", to: outside).hardlink("stolen", to: "link/victim")
        case "huge-uid": tar.file("owned", "x", uid: 1 << 40)
        case "huge-device": tar.add("dev/odd", type: 0o020000, device: (1 << 33, 1))
        default: Issue.record("unknown case \(kind)")
        }
        tar.finish()
        #expect {
            _ = try LayerUnpacker(layer: layerDigest).unpack(blobPath: tmp.path + "/layer", into: out)
        } throws: { error in
            guard case StoreError.hostileLayer = error else { return false }
            return true
        }
        #expect(try String(contentsOfFile: outside + "/victim", encoding: .utf8) == "secret")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["victim"])
        #expect(try #require(lstatOf(outside + "/victim")).st_nlink == 1)
    }

    @Test func laterEntriesReplaceEarlierOnes() throws {
        let tmp = try TemporaryDirectory()
        let tar = try TarBuilder(path: tmp.path + "/layer")
        tar.dir("a").file("a/inner", "x").file("a", "now a file")
            .file("b", "first").file("b", "second")
            .file("c", "file").dir("c").file("c/child", "in dir")
            .dir("d", mode: 0o700).file("d/keep", "k").dir("d", mode: 0o755)
        tar.finish()
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        _ = try LayerUnpacker(layer: layerDigest).unpack(blobPath: tmp.path + "/layer", into: tmp.path + "/out")
        #expect(try String(contentsOfFile: tmp.path + "/out/a", encoding: .utf8) == "now a file")
        #expect(try String(contentsOfFile: tmp.path + "/out/b", encoding: .utf8) == "second")
        #expect(try String(contentsOfFile: tmp.path + "/out/c/child", encoding: .utf8) == "in dir")
        #expect(try String(contentsOfFile: tmp.path + "/out/d/keep", encoding: .utf8) == "k")
        #expect(try #require(lstatOf(tmp.path + "/out/d")).st_mode & 0o777 == 0o755)
    }

    /// Files created with their final mode and owner (the fast path) and files that still need a
    /// chmod or chown after creation end up the same as the tar says.
    @Test func modesAndOwnersWhateverTheUmaskAndSetgidParents() throws {
        let tmp = try TemporaryDirectory()
        let tar = try TarBuilder(path: tmp.path + "/layer")
        tar.dir("shared", mode: 0o2775, uid: 0, gid: 1234)
            .file("shared/root-file", "r", mode: 0o644, uid: 0, gid: 0)
            .file("shared/user-file", "u", mode: 0o600, uid: 5, gid: 6)
            .file("plain-0755", "x", mode: 0o755)
            .file("world-writable", "w", mode: 0o666)
            .file("group-writable", "g", mode: 0o664)
            .file("no-access", "n", mode: 0o000)
            .file("setgid-tool", "s", mode: 0o2755, uid: 0, gid: 50)
            .dir("later", mode: 0o755)
            .file("later/first", "1", mode: 0o644)
            .dir("later", mode: 0o2755, uid: 0, gid: 77)
            .file("later/second", "2", mode: 0o644)
            .symlink("shared/root-link", to: "root-file")
            .file("clash", "file first").symlink("clash", to: "plain-0755")
        tar.finish()
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        let previous = umask(0o022)
        defer { umask(previous) }
        _ = try LayerUnpacker(layer: layerDigest).unpack(blobPath: tmp.path + "/layer", into: tmp.path + "/out")
        let out = tmp.path + "/out"
        let expectations: [(String, mode_t, uid_t, gid_t)] = [
            ("shared/root-file", 0o644, 0, 0), ("shared/user-file", 0o600, 5, 6), ("plain-0755", 0o755, 0, 0),
            ("world-writable", 0o666, 0, 0), ("group-writable", 0o664, 0, 0), ("no-access", 0o000, 0, 0),
            ("setgid-tool", 0o2755, 0, 50), ("later/first", 0o644, 0, 0), ("later/second", 0o644, 0, 0),
        ]
        for (name, mode, uid, gid) in expectations {
            let info = try #require(lstatOf(out + "/" + name))
            #expect(info.st_mode & 0o7777 == mode, "\(name): mode \(String(info.st_mode & 0o7777, radix: 8))")
            #expect(info.st_uid == uid && info.st_gid == gid, "\(name): owner \(info.st_uid):\(info.st_gid)")
        }
        let link = try #require(lstatOf(out + "/shared/root-link"))
        #expect(link.st_uid == 0 && link.st_gid == 0, "a symlink in a setgid directory still gets the tar's group")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/clash") == "plain-0755")
    }

    @Test func rejectsGarbage() throws {
        let tmp = try TemporaryDirectory()
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: tmp.path + "/layer"))
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        #expect(throws: StoreError.self) {
            _ = try LayerUnpacker(layer: layerDigest).unpack(blobPath: tmp.path + "/layer", into: tmp.path + "/out")
        }
    }

    @Test func rejectsTruncatedGzip() throws {
        let tmp = try TemporaryDirectory()
        try buildRichLayer(tmp.path + "/layer", compression: .gzip)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: tmp.path + "/layer"))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: tmp.path + "/layer"))
        try FileManager.default.createDirectory(atPath: tmp.path + "/out", withIntermediateDirectories: true)
        #expect(throws: StoreError.self) {
            _ = try LayerUnpacker(layer: layerDigest).unpack(blobPath: tmp.path + "/layer", into: tmp.path + "/out")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Builder
import LinuxSupport
import Testing

/// COPY sources from a real context directory: confinement, .dockerignore, globs, hashing.
@Suite struct BuildContextTests {
    /// A fresh context with `files` (path: content; a content starting with "->" makes a symlink).
    func context(_ files: [String: String]) throws -> String {
        var template = Array("/tmp/skiff-context-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp") }
        let root = String(cString: made)
        for (path, content) in files.sorted(by: { $0.key < $1.key }) {
            let full = root + "/" + path
            let parent = String(full[..<full.lastIndex(of: "/")!])
            _ = try Subprocess.run(path: "/bin/mkdir", args: ["mkdir", "-p", parent], env: [])
            if content.hasPrefix("->") {
                guard symlink(String(content.dropFirst(2)), full) == 0 else { throw SystemError("symlink \(full)") }
            } else {
                try FileIO.write(full, Array(content.utf8))
            }
        }
        return root
    }

    func remove(_ root: String) {
        _ = try? Subprocess.run(path: "/bin/rm", args: ["rm", "-rf", root], env: [])
    }

    @Test func sourcesGlobsAndIgnoredPaths() throws {
        let root = try context([
            ".dockerignore": "*.log\nsecret\n!keep.log\n", "a.txt": "a", "b.txt": "b", "app.log": "l", "keep.log": "k", "secret": "s",
            "src/main.c": "m", "src/util.c": "u", "src/notes.md": "n", "link": "->src/main.c",
        ])
        defer { remove(root) }
        let context = try BuildContext(root: root)
        #expect(try context.resolve("*.txt") == ["a.txt", "b.txt"])
        #expect(try context.resolve("./src/*.c") == ["src/main.c", "src/util.c"])
        #expect(try context.resolve("*.log") == ["keep.log"])
        #expect(try context.resolve("src") == ["src"])
        #expect(try context.resolve(".") == [""])
        #expect(try context.resolve("src/../a.txt") == ["a.txt"])
        #expect(try context.resolve("link") == ["link"])
        #expect(throws: BuildContext.Failure.self) { try context.resolve("secret") }
        #expect(throws: BuildContext.Failure.self) { try context.resolve("missing") }
        #expect(throws: BuildContext.Failure.self) { try context.resolve("*.none") }
    }

    @Test func nothingOutsideTheContext() throws {
        let outside = try context(["private": "p"])
        defer { remove(outside) }
        let root = try context([
            "in": "i", "out": "->\(outside)/private", "dots": "->../../../../../../etc/passwd", "dir/up": "->../..", "dir/in": "->../in",
        ])
        defer { remove(root) }
        let context = try BuildContext(root: root)
        for source in ["../x", "../../etc/passwd", "/../x", "dir/../../x"] {
            #expect(throws: BuildContext.Failure.self, "\(source)") { try context.resolve(source) }
        }
        #expect(throws: BuildContext.Failure.self) { try context.resolve("out") }
        #expect(throws: BuildContext.Failure.self) { try context.resolve("dots") }
        #expect(throws: BuildContext.Failure.self) { try context.resolve("dir/up/tmp") }
        // A symlink that stays inside is followed.
        #expect(try context.resolve("dir/in") == ["dir/in"])
        #expect(throws: BuildContext.Failure.self) { try context.contentHash(of: ["out"]) }
    }

    @Test func contentHashFollowsWhatCopyWouldCopy() throws {
        let root = try context([".dockerignore": "src/*.tmp\n", "src/a": "1", "src/b": "2", "src/x.tmp": "t", "other": "o"])
        defer { remove(root) }
        let context = try BuildContext(root: root)
        let first = try context.contentHash(of: ["src"])
        #expect(try context.contentHash(of: ["src"]) == first)
        try FileIO.write(root + "/src/x.tmp", Array("changed".utf8))
        try FileIO.write(root + "/other", Array("changed".utf8))
        #expect(try context.contentHash(of: ["src"]) == first)
        try FileIO.write(root + "/src/b", Array("3".utf8))
        let second = try context.contentHash(of: ["src"])
        #expect(second != first)
        #expect(chmod(root + "/src/a", 0o755) == 0)
        #expect(try context.contentHash(of: ["src"]) != second)
        #expect(try context.contentHash(of: ["src/a"]) != context.contentHash(of: ["src/b"]))
    }
}

import Foundation
import Testing

/// CVE-2019-5736 through the engine: `skiff exec` of /proc/self/exe (the runtime binary that
/// starts exec processes, run as the user's program) in a container whose PID 1 races to
/// reopen it for writing. Run with copies of skiff and skiff-runtime, which must stay unchanged.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct EngineBinaryProtectionTests {
    static let racer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/overwrite-runtime-racer.sh").path

    /// The directories holding the loader and libraries a dynamically linked binary needs (none
    /// for a static release build): the container gets them read-only so the binary can run in it.
    static func libraryDirectories(of binary: String) throws -> [String] {
        let ldd = try run(["/usr/bin/ldd", binary], check: false)
        guard ldd.status == 0 else { return [] }
        var directories: [String] = []
        for line in ldd.stdout.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let path = words.count >= 3 && words[1] == "=>" ? String(words[2]) : (words.first.map(String.init) ?? "")
            let directory = (path as NSString).deletingLastPathComponent
            if path.hasPrefix("/"), !directories.contains(directory) { directories.append(directory) }
        }
        return directories
    }

    @Test func execCannotOverwriteTheHostBinaries() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let binaries = fixture.path + "/bin"
        try FileManager.default.createDirectory(atPath: binaries, withIntermediateDirectories: true)
        var originals: [String: Data] = [:]
        for name in ["skiff", "skiff-runtime"] {
            let source = (skiffBinary as NSString).deletingLastPathComponent + "/" + name
            let data = try Data(contentsOf: URL(fileURLWithPath: source))
            originals[name] = data
            _ = FileManager.default.createFile(atPath: binaries + "/" + name, contents: data, attributes: [.posixPermissions: 0o755])
        }
        let skiff = binaries + "/skiff"
        let volumes = try Self.libraryDirectories(of: binaries + "/skiff-runtime").flatMap { ["-v", "\($0):\($0):ro"] }
        let script = "ln -s busybox /bin/mkfifo\n" + (try String(contentsOfFile: Self.racer, encoding: .utf8))
        let name = "cve5736-\(getpid())"
        let common = ["--root", fixture.root, "--runtime-root", fixture.runtimeRoot]
        let id = try run([skiff, "run"] + common + ["-d", "--name", name] + volumes + [fixture.image, "sh", "-c", script])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Read through the rootfs from the host: another `skiff exec` meanwhile would run the
        // binary again and keep it busy (ETXTBSY) while the racer tries to write it.
        let rootfs = fixture.root + "/containers/" + id + "/merged"
        #expect(eventually(10) { FileManager.default.fileExists(atPath: rootfs + "/ready") })

        let exec = try run([skiff, "exec"] + common + [name, "/proc/self/exe", "--log", "/tmp/f", "state", "nope"], check: false)
        var result = ""
        _ = eventually(20) {
            result = (try? String(contentsOfFile: rootfs + "/result", encoding: .utf8)) ?? ""
            return result.contains("WROTE") || result.contains("NOTWRITTEN") || result.contains("GAVEUP")
        }
        #expect(result.hasPrefix("opened "), "the racer never opened the runtime's /proc/PID/exe: \(result) \(exec)")
        #expect(!result.contains("WROTE"), "\(result)")
        #expect(result.contains("Read-only file system"), "\(result)")
        for (name, data) in originals {
            #expect(FileManager.default.contents(atPath: binaries + "/" + name) == data, "\(name) changed")
        }
        _ = try? run([skiff, "rm", "-f"] + common + [name], check: false)
    }
}

import Foundation
import LinuxSupport
import Testing

/// The README's tour and every example in docs/ marked `<!-- test -->` run as printed: a doc
/// example that no test runs rots. Each marked block runs as one bash script (`set -e`), in a store
/// of the test's own (`SKIFF_ROOT`), with `skiff` first on PATH and a `busybox` image made as
/// `scripts/demo.sh` makes it. Markers: `<!-- test -->`; `<!-- test: tty -->` runs the block on a
/// terminal and types `exit` at the shell's prompt; `<!-- test: vm -->` needs the guest kernel;
/// `<!-- test: needs=PROGRAM -->` needs PROGRAM on the host.
@Suite(.serialized, .enabled(if: engineTestsEnabled, skipReason))
struct DocumentationTests {
    struct Example: CustomStringConvertible {
        var file: String
        var line: Int
        var marker: String
        var script: String
        var description: String { "\(file):\(line)" }
    }

    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The marked fenced blocks of README.md and docs/*.md.
    static func examples() throws -> [Example] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: repository + "/docs")) ?? []
        let files = ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        var found: [Example] = []
        for file in files {
            let lines = try String(contentsOfFile: repository + "/" + file, encoding: .utf8).components(separatedBy: "\n")
            var index = 0
            while index < lines.count {
                let line = lines[index].trimmingCharacters(in: .whitespaces)
                guard line.hasPrefix("<!-- test"), line.hasSuffix("-->") else {
                    index += 1
                    continue
                }
                let marker = line.dropFirst(9).dropLast(3).trimmingCharacters(in: CharacterSet(charactersIn: ": "))
                guard index + 1 < lines.count, lines[index + 1].hasPrefix("```") else {
                    throw TestError("\(file):\(index + 1): a test marker must be followed by a fenced block")
                }
                var body: [String] = []
                var end = index + 2
                while end < lines.count, !lines[end].hasPrefix("```") {
                    body.append(lines[end])
                    end += 1
                }
                found.append(Example(file: file, line: index + 2, marker: marker, script: body.joined(separator: "\n")))
                index = end + 1
            }
        }
        return found
    }

    @Test func theReadmeHasATestedTour() throws {
        let readme = try Self.examples().filter { $0.file == "README.md" }
        #expect(readme.count >= 5, "the README's tour is made of tested blocks")
        let commands = readme.map(\.script).joined(separator: "\n")
        for step in ["skiff run", "-it", "-p ", "volume", "network create", "--vm", "system service", "skiff build"] {
            #expect(commands.contains(step), "the tour shows \(step)")
        }
    }

    @Test(arguments: try DocumentationTests.examples())
    func example(_ example: Example) throws {
        if example.marker == "vm" {
            guard FileManager.default.fileExists(atPath: guestKernel) else {
                print("skipped \(example): needs the guest kernel (kernel/build.sh) at \(guestKernel)")
                return
            }
        }
        if example.marker.hasPrefix("needs=") {
            let program = String(example.marker.dropFirst(6))
            let path = ["/usr/bin", "/usr/local/bin", "/bin"].map { $0 + "/" + program }
            guard path.contains(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                print("skipped \(example): needs \(program) on this host")
                return
            }
        }
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let image = fixture.path + "/busybox.tar"
        try run([Self.repository + "/scripts/make-busybox-image.sh", image])
        let loaded = try fixture.image(["load"], ["-i", image]).stdout
        guard let name = loaded.split(separator: "\n").first(where: { $0.hasPrefix("Loaded image: ") })?.dropFirst(14) else {
            throw TestError("load printed no image name: \(loaded)")
        }
        try fixture.image(["tag"], [String(name), "busybox:latest"])

        let work = fixture.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let script = fixture.path + "/example.sh"
        try ("set -euo pipefail\n" + example.script + "\n").write(toFile: script, atomically: true, encoding: .utf8)
        let bin = URL(fileURLWithPath: skiffBinary).deletingLastPathComponent().path
        let environment = [
            "PATH=\(bin):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=\(fixture.path)",
            "SKIFF_ROOT=\(fixture.root)", "SKIFF_RUNTIME_ROOT=\(fixture.runtimeRoot)",
        ]
        if example.marker == "tty" {
            let session = try PtySession(["/usr/bin/env", "-C", work] + environment + ["/bin/bash", script])
            defer { kill(-session.pid, SIGKILL) }
            #expect(session.expect("# "), "\(example): no shell prompt on the terminal: \(session.text)")
            session.send("exit\n")
            let status = session.wait(seconds: 60)
            #expect(status == 0, "\(example) ended with \(String(describing: status)): \(session.text)")
            return
        }
        let result = try Self.runDetached(["/usr/bin/env", "-C", work] + environment + ["/bin/bash", script], logs: fixture.path)
        #expect(
            result.status == 0,
            "\(example) failed (\(result.status)):\n\(example.script)\nstdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
    }

    /// Runs `arguments` in a process group of its own with its output in files (the containers'
    /// monitors must not hold a pipe the test reads to its end), then kills what is left of the
    /// group (`system service &` when the block failed before its `kill`).
    static func runDetached(_ arguments: [String], logs: String) throws -> CommandResult {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logs + "/example.out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, logs + "/example.err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        let argv = CStringArray(arguments)
        let envp = CStringArray([])
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, &attributes, argv.pointers, envp.pointers)
        guard rc == 0 else { throw TestError("spawn \(arguments[0]): \(String(cString: strerror(rc)))") }
        let status = Processes.wait(pid)
        // What the block left running (its `system service &` when it failed before its `kill`):
        // SIGTERM first, so a service removes its socket, then SIGKILL.
        if kill(-pid, SIGTERM) == 0 {
            _ = eventually(5) { kill(-pid, 0) != 0 }
            kill(-pid, SIGKILL)
        }
        return CommandResult(
            status: status, stdout: (try? String(contentsOfFile: logs + "/example.out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: logs + "/example.err", encoding: .utf8)) ?? "")
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Builder
import Foundation
import LinuxSupport
import OCISpec

/// `skiff export CONTAINER`: the container's filesystem as a tar on stdout or in `-o FILE`.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a container's filesystem as a tar archive.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("o"), .customLong("output")], help: "Write to a file instead of stdout.") var output: String?
    @Argument(help: "The container.") var container: String

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            if let output {
                let fd = try OwnedFD("create \(output)") { open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
                try FilesystemArchive.export(engine: engine, container: container, to: fd.raw)
            } else {
                guard isatty(1) == 0 else { throw ValidationError("refusing to write a tar to a terminal: use -o FILE or a redirect") }
                try FilesystemArchive.export(engine: engine, container: container, to: 1)
            }
        }
    }
}

/// `skiff import FILE|- NAME`: a filesystem tar as a one-layer image.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import the contents from a tarball to create a filesystem image.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("c"), .customLong("change")], help: "Apply a Dockerfile instruction to the config (repeatable).")
    var changes: [String] = []
    @Option(name: [.customShort("m"), .customLong("message")], help: "Commit message.") var message: String?
    @Option(name: .customLong("default-registry"), help: "Registry for names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Argument(help: "The tar file, or - for stdin.") var file: String
    @Argument(help: "REPOSITORY[:TAG] (skiff keeps no unnamed images).") var name: String

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            let reference = try ImageReference(parsing: name, defaultRegistry: defaultRegistry)
            let id: Digest
            if file == "-" {
                id = try FilesystemArchive.importTar(from: 0, engine: engine, name: reference, changes: changes, message: message)
            } else {
                let fd = try OwnedFD("open \(file)") { open(file, O_RDONLY | O_CLOEXEC) }
                id = try FilesystemArchive.importTar(from: fd.raw, engine: engine, name: reference, changes: changes, message: message)
            }
            print(id.description)
        }
    }
}

import ArgumentParser
import Engine

/// `skiff cp [-a] [-L] CONTAINER:SRC DEST` and `skiff cp SRC CONTAINER:DEST`: copy files between
/// a container (running or stopped) and the host.
struct CpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Copy files between a container and the host (- for a tar stream on stdin or stdout).")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.customShort("a"), .customLong("archive")], help: "Keep uid and gid of the files.") var archive = false
    @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Follow a symlink given as the source.") var followLink = false
    @Argument(help: "CONTAINER:SRC_PATH or a host path.") var source: String
    @Argument(help: "A host path or CONTAINER:DEST_PATH.") var destination: String

    /// `name:path` is a container path when the part before the first colon is not a path.
    static func split(_ text: String) -> (container: String, path: String)? {
        guard let colon = text.firstIndex(of: ":"), !text.hasPrefix("/"), !text.hasPrefix("."), colon != text.startIndex else { return nil }
        let container = String(text[..<colon])
        if container.contains("/") { return nil }
        return (container, String(text[text.index(after: colon)...]))
    }

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var options = Engine.CopyOptions()
            options.archive = archive
            options.followLink = followLink
            switch (Self.split(source), Self.split(destination)) {
            case (let from?, nil):
                if destination == "-" {
                    try engine.copyOutTar(from.container, path: from.path.isEmpty ? "/" : from.path, to: 1, options: options)
                    return
                }
                try engine.copyOut(from.container, path: from.path.isEmpty ? "/" : from.path, to: destination, options: options)
            case (nil, let to?):
                if source == "-" {
                    try engine.copyInTar(to.container, from: 0, path: to.path.isEmpty ? "/" : to.path, options: options)
                    return
                }
                try engine.copyIn(to.container, from: source, path: to.path.isEmpty ? "/" : to.path, options: options)
            case (_?, _?):
                throw EngineError.invalidOption("copying between containers is not supported: copy to the host first")
            case (nil, nil):
                throw EngineError.invalidOption("one of SRC and DEST must be CONTAINER:PATH")
            }
        }
    }
}

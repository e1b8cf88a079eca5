#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ImageStore
import LinuxSupport
import OCISpec

/// `skiff load [-i FILE]`: imports images from an OCI layout or docker save archive.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Load images from an OCI or docker-save archive.")

    @OptionGroup var store: StoreOptions

    @Option(name: .shortAndLong, help: "Archive to read (tar, optionally gzip or zstd compressed); standard input without it.")
    var input: String?

    @Option(help: "Platform to load from a multi-platform archive.")
    var platform: String = "linux/amd64"

    func run() async throws {
        InterruptCleanup.install()
        // docker's refusal: a terminal is no archive, and reading one would wait for ever.
        guard input != nil || isatty(0) == 0 else {
            throw ValidationError("requested load from stdin, but stdin is a terminal: use -i FILE or redirect an archive to it")
        }
        let names = try self.store.openStore().load(from: input ?? "/dev/stdin", platform: try Platform(parsing: platform))
        for name in names { print("Loaded image: \(name)") }
    }
}

/// `skiff save [-o FILE] NAME...`: exports images as an archive both OCI tools and docker read.
struct SaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "save", abstract: "Save images to an OCI layout / docker-save archive.")

    @OptionGroup var store: StoreOptions

    @Option(name: .shortAndLong, help: "Archive to write; standard output without it (not a terminal).")
    var output: String?

    @Argument(help: "Image names or IDs.")
    var names: [String]

    func run() async throws {
        guard let output else {
            guard isatty(1) == 0 else {
                throw ValidationError("cowardly refusing to save to a terminal: use -o FILE or redirect the output")
            }
            try self.store.openStore().save(names, toDescriptor: 1, defaultRegistry: self.store.defaultRegistry)
            return
        }
        try self.store.openStore().save(names, to: output, defaultRegistry: self.store.defaultRegistry)
    }
}

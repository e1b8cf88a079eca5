import ArgumentParser
import Foundation
import ImageStore
import JSON
import OCISpec

/// `skiff image inspect NAME...`: prints what the store knows about images, as JSON.
struct ImageInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show details of images as JSON.")

    @OptionGroup var store: StoreOptions

    @Argument(help: "Image names or IDs.")
    var names: [String]
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output: json (default) or a Go template such as '{{.Id}}'.")
    var format: String?

    /// docker-like inspect output.
    struct Inspect: Encodable {
        var Id: String
        var RepoTags: [String]
        var RepoDigests: [String]
        var ManifestDigest: String
        var Created: String?
        var Architecture: String
        var Os: String
        var Variant: String?
        var Size: Int64
        var Config: ContainerConfig?
        var RootFS: RootFS
        var Layers: [Descriptor]
        var History: [History]?
    }

    func run() async throws {
        let store = try self.store.openStore()
        var result: [Inspect] = []
        for name in names {
            let image = try store.withSharedLock { try store.image(name, defaultRegistry: self.store.defaultRegistry) }
            result.append(Self.view(image))
        }
        if let format, format != "json" {
            try await withEngineErrors { try TemplateOutput.print(result, format: format) }
            return
        }
        print(String(decoding: try JSONEncoding.encode(result, pretty: true, sortedKeys: true), as: UTF8.self))
    }

    /// The document of one image (also what `skiff inspect` shows for an image).
    static func view(_ image: Image) -> Inspect {
        let references = image.names.compactMap { try? ImageReference(parsing: $0) }
        return Inspect(
            Id: image.id.description,
            RepoTags: references.filter { $0.tag != nil }.map(\.familiar),
            RepoDigests: references.map { "\($0.familiarName)@\($0.digest ?? image.indexDigest ?? image.manifestDigest)" },
            ManifestDigest: image.manifestDigest.description,
            Created: image.config.created, Architecture: image.config.architecture, Os: image.config.os,
            Variant: image.config.variant, Size: image.size, Config: image.config.config, RootFS: image.config.rootfs,
            Layers: image.manifest.layers, History: image.config.history)
    }
}

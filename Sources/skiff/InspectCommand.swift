import ArgumentParser
import ContainerRuntime
import Foundation
import ImageStore
import JSON
import Engine
import LinuxSupport
import Networking
import OCISpec

/// `skiff inspect NAME...`: docker's inspect of any object: a container, else an image, a
/// network or a volume of that name (`--type` says which to look for); `-s` adds a container's
/// sizes.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show containers, images, networks or volumes as JSON.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output: json (default) or a Go template such as '{{.State.Pid}}'.")
    var format: String?
    @Option(name: .customLong("type"), help: "Only this kind of object: container, image, network or volume.") var type: String?
    @Flag(name: [.customShort("s"), .customLong("size")], help: "Add a container's sizes (SizeRw, SizeRootFs).") var size = false
    @Option(name: .customLong("default-registry"), help: "Registry for image names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Argument(help: "Names or IDs (of containers, images, networks or volumes).") var names: [String]

    func run() async throws {
        let kinds = ["container", "image", "network", "volume"]
        if let type, !kinds.contains(type) {
            throw ValidationError("--type '\(type)': use container, image, network or volume")
        }
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var documents: [JSONValue] = []
            var missing: [String] = []
            for name in names {
                if let document = try document(name, engine: engine) {
                    documents.append(document)
                } else {
                    missing.append(name)
                }
            }
            if !documents.isEmpty || missing.isEmpty { try TemplateOutput.print(values: documents, format: format) }
            for name in missing { printEngineError("no such object: \(name)") }
            if !missing.isEmpty { throw ExitCode(1) }
        }
    }

    /// The first kind of object `name` names, in docker's order; nil when none does.
    func document(_ name: String, engine: Engine) throws -> JSONValue? {
        if type == nil || type == "container", let record = try? engine.store.resolve(name) {
            var value = try JSONEncoding.encodeValue(engine.inspect(record))
            if size, case .object(var members) = value {
                let writable = DiskUsage.bytes(under: engine.store.directory(for: record.id) + "/upper")
                let rootfs = writable + (engine.imageSizes()[record.imageID] ?? 0)
                members.append(("SizeRw", JSONNumber(text: String(writable)).map(JSONValue.number) ?? .null))
                members.append(("SizeRootFs", JSONNumber(text: String(rootfs)).map(JSONValue.number) ?? .null))
                value = .object(members)
            }
            return value
        }
        if type == nil || type == "image",
            let image = try? engine.images.withSharedLock({ try engine.images.image(name, defaultRegistry: defaultRegistry) })
        {
            return try JSONEncoding.encodeValue(ImageInspectCommand.view(image))
        }
        if type == nil || type == "network", let view = try? NetworkInspectCommand.view(engine: engine, name: name) {
            return try JSONEncoding.encodeValue(view)
        }
        if type == nil || type == "volume", let record = try? engine.volumes.load(name) {
            return try JSONEncoding.encodeValue(VolumeView(engine: engine, record: record, users: engine.volumeUsers()[name] ?? []))
        }
        return nil
    }
}

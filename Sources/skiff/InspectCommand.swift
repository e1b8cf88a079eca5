import ArgumentParser
import ContainerRuntime
import Engine
import LinuxSupport
import Networking
import OCISpec

/// `skiff inspect CONTAINER...`: docker-shaped JSON of the record, live state and spec.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show containers as JSON.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output: json (default) or a Go template such as '{{.State.Pid}}'.")
    var format: String?
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            var views: [ContainerInspect] = []
            for container in containers {
                views.append(engine.inspect(try engine.store.resolve(container)))
            }
            try TemplateOutput.print(views, format: format)
        }
    }
}

import ContainerRuntime

/// `pause`: freeze every process of the container.
enum PauseCommand {
    static let spec = CommandSpec(name: "pause", summary: "Freeze every process of a container.", usage: "<container-id>") { context in
        try context.runtime.pause(id: try context.arguments.containerID())
        return 0
    }
}

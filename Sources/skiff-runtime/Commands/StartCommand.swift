import ContainerRuntime

/// `start`: let a created container run its program.
enum StartCommand {
    static let spec = CommandSpec(name: "start", summary: "Start the program of a created container.", usage: "<container-id>") { context in
        try context.runtime.start(id: try context.arguments.containerID())
        return 0
    }
}

import ContainerRuntime

/// `state`: the container's state as the spec's JSON.
enum StateCommand {
    static let spec = CommandSpec(name: "state", summary: "Print a container's state as JSON.", usage: "<container-id>") { context in
        try JSONOutput.print(try context.runtime.state(id: try context.arguments.containerID()))
        return 0
    }
}

import ContainerRuntime
import LinuxSupport
import OCISpec

/// `update`: change a running container's resource limits, from flags or a resources JSON file.
enum UpdateCommand {
    static let spec = CommandSpec(
        name: "update", summary: "Change the resource limits of a running container.", usage: "<container-id>",
        flags: [
            .value("--resources", "-r", placeholder: "FILE", help: "JSON file with linux.resources to apply ('-' reads stdin)."),
            .value("--memory", placeholder: "BYTES", help: "Memory limit (suffixes k, m, g allowed)."),
            .value("--memory-reservation", placeholder: "BYTES", help: "Memory soft limit."),
            .value("--memory-swap", placeholder: "BYTES", help: "Memory plus swap limit (-1 for unlimited)."),
            .value("--cpu-share", placeholder: "N", help: "CPU shares (relative weight)."),
            .value("--cpu-quota", placeholder: "USEC", help: "CFS quota per period."),
            .value("--cpu-period", placeholder: "USEC", help: "CFS period."),
            .value("--cpuset-cpus", placeholder: "LIST", help: "CPUs to run on (e.g. 0-1)."),
            .value("--cpuset-mems", placeholder: "LIST", help: "Memory nodes to use."),
            .value("--pids-limit", placeholder: "N", help: "Maximum number of tasks."),
            .value("--blkio-weight", placeholder: "N", help: "Block I/O weight (10-1000)."),
        ]
    ) { context in
        let a = context.arguments
        var resources = Resources()
        if let file = a.string("resources") {
            let bytes = file == "-" ? try FileIO.readAll(fd: 0, what: "stdin") : try FileIO.read(file)
            do {
                resources = try RuntimeJSON.decode(Resources.self, from: bytes)
            } catch {
                throw RuntimeError.invalidConfig("--resources \(file): \(error)")
            }
        }
        func bytes(_ key: String) throws -> Int64? {
            guard let text = a.string(key) else { return nil }
            guard let value = updateSize(text) else {
                throw UsageError("--\(key) wants a size such as 512m or 1073741824, not '\(text)'", command: "update")
            }
            return value
        }
        func number<T: FixedWidthInteger>(_ key: String, _: T.Type) throws -> T? {
            guard let text = a.string(key) else { return nil }
            guard let value = T(text) else { throw UsageError("--\(key) wants a number, not '\(text)'", command: "update") }
            return value
        }
        if let v = try bytes("memory") {
            resources.memory = resources.memory ?? .init()
            resources.memory?.limit = v
        }
        if let v = try bytes("memory-reservation") {
            resources.memory = resources.memory ?? .init()
            resources.memory?.reservation = v
        }
        if let v = try bytes("memory-swap") {
            resources.memory = resources.memory ?? .init()
            resources.memory?.swap = v
        }
        if let v = try number("cpu-share", UInt64.self) {
            resources.cpu = resources.cpu ?? .init()
            resources.cpu?.shares = v
        }
        if let v = try number("cpu-quota", Int64.self) {
            resources.cpu = resources.cpu ?? .init()
            resources.cpu?.quota = v
        }
        if let v = try number("cpu-period", UInt64.self) {
            resources.cpu = resources.cpu ?? .init()
            resources.cpu?.period = v
        }
        if let v = a.string("cpuset-cpus") {
            resources.cpu = resources.cpu ?? .init()
            resources.cpu?.cpus = v
        }
        if let v = a.string("cpuset-mems") {
            resources.cpu = resources.cpu ?? .init()
            resources.cpu?.mems = v
        }
        if let v = try number("pids-limit", Int64.self) { resources.pids = .init(limit: v) }
        if let v = try number("blkio-weight", UInt16.self) { resources.blockIO = .init(weight: v) }
        try context.runtime.update(id: try a.containerID(), changes: resources)
        return 0
    }
}

/// runc's sizes: ByteSize's, and -1 for unlimited.
private func updateSize(_ text: String) -> Int64? {
    text == "-1" ? -1 : ByteSize.parse(text)
}

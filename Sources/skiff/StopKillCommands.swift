import ArgumentParser
import Engine
import LinuxSupport

/// `skiff stop [-t SECS] CONTAINER...`: the stop signal, then SIGKILL after the grace period.
struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop running containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(
        name: [.customShort("t"), .customLong("time")],
        help: "Seconds to wait before killing (default: the container's --stop-timeout, else 10).")
    var time: Double?
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let engine = try engineOptions.openEngine()
            try forEachContainer(containers) { try engine.stop($0, timeout: time.map { max(0, $0) }) }
        }
    }
}

/// `skiff kill [-s SIG] CONTAINER...`: send a signal (default KILL) to the container's init.
struct KillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to running containers.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.customShort("s"), .customLong("signal")], help: "Signal name or number.") var signal: String = "KILL"
    @Argument(help: "Containers (name, ID or ID prefix).") var containers: [String]

    func run() async throws {
        try await withEngineErrors {
            let number: Int32
            do { number = try SignalTable.number(signal) } catch { throw EngineError.invalidOption("\(error)") }
            let engine = try engineOptions.openEngine()
            try forEachContainer(containers) { try engine.kill($0, signal: number) }
        }
    }
}

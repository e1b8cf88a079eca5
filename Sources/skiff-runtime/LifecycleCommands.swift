#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import FoundationEssentials
import OCISpec

struct CreateCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container, ready to start.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Path to the bundle directory.") var bundle: String = "."
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.") var consoleSocket: String?
    @Option(name: .customLong("pid-file"), help: "File to write the container's pid to.") var pidFile: String?
    @Flag(name: .customLong("no-pivot"), help: "Use chroot instead of pivot_root.") var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: "Do not create a new session keyring.") var noNewKeyring = false
    @Option(name: .customLong("preserve-fds"), help: "Pass N extra fds (3..3+N-1) to the container.") var preserveFDs = 0
    @Argument(help: "Container id.") var id: String

    func execute() throws {
        var options = Runtime.CreateOptions()
        options.pidFile = pidFile
        options.consoleSocket = consoleSocket
        options.noPivot = noPivot
        options.noNewKeyring = noNewKeyring
        options.preserveFDs = preserveFDs
        try global.runtime.create(id: id, bundle: bundle, options: options)
    }
}

struct StartCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start the user program of a created container.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String
    func execute() throws { try global.runtime.start(id: id) }
}

struct RunCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and start a container; in the foreground, wait for it and delete it.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Path to the bundle directory.") var bundle: String = "."
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.") var consoleSocket: String?
    @Option(name: .customLong("pid-file"), help: "File to write the container's pid to.") var pidFile: String?
    @Flag(name: [.short, .long], help: "Detach from the container's process.") var detach = false
    @Flag(name: .customLong("keep"), help: "Do not delete the container after it exits.") var keep = false
    @Flag(name: .customLong("no-pivot"), help: "Use chroot instead of pivot_root.") var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: "Do not create a new session keyring.") var noNewKeyring = false
    @Option(name: .customLong("preserve-fds"), help: "Pass N extra fds to the container.") var preserveFDs = 0
    @Argument(help: "Container id.") var id: String

    func execute() throws {
        let runtime = global.runtime
        var options = Runtime.CreateOptions()
        options.pidFile = pidFile
        options.consoleSocket = consoleSocket
        options.noPivot = noPivot
        options.noNewKeyring = noNewKeyring
        options.preserveFDs = preserveFDs
        var terminal: TerminalProxy?
        if consoleSocket == nil, !detach, (try? BundleLoader.load(bundle: bundle))?.spec.process?.terminal == true {
            terminal = try TerminalProxy()
            options.consoleSocketFD = terminal?.runtimeEnd
        }
        let record = try runtime.create(id: id, bundle: bundle, options: options)
        terminal?.closeRuntimeEnd()
        do {
            try runtime.start(id: id)
        } catch {
            try? runtime.delete(id: id, force: true)
            throw error
        }
        if detach { return }
        let code: Int32
        if let terminal {
            code = try terminal.run(pid: record.pid)
        } else {
            code = ForegroundWait.wait(pid: record.pid)
        }
        if !keep { try? runtime.delete(id: id, force: true) }
        throw ExitCode(code)
    }
}

struct StateCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's state as JSON.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String
    func execute() throws {
        let state = try global.runtime.state(id: id)
        try JSONOutput.print(state)
    }
}

struct KillCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal (default SIGTERM) to a container.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Signal every process in the container.") var all = false
    @Argument(help: "Container id.") var id: String
    @Argument(help: "Signal name or number.") var signal: String = "SIGTERM"
    func execute() throws {
        guard let number = Signals.parse(signal) else {
            throw RuntimeError.invalidConfig("unknown signal '\(signal)': use a name such as SIGTERM or KILL, or a number")
        }
        try global.runtime.kill(id: id, signal: number, all: all)
    }
}

struct DeleteCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a container and everything it holds.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Kill the container first if it is running.") var force = false
    @Argument(help: "Container id.") var id: String
    func execute() throws {
        do {
            try global.runtime.delete(id: id, force: force)
        } catch RuntimeError.containerNotFound where force {
            return
        }
    }
}

struct PauseCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Freeze every process of a container.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String
    func execute() throws { try global.runtime.pause(id: id) }
}

struct ResumeCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Thaw a paused container.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String
    func execute() throws { try global.runtime.resume(id: id) }
}

/// JSON on stdout, indented as runc prints it.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T, pretty: Bool = true) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.withoutEscapingSlashes]
        let data = try encoder.encode(value)
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}

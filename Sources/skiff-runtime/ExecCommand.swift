#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import FoundationEssentials
import LinuxSupport
import OCISpec

struct ExecCommand: RuntimeCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a new process inside a running container.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "JSON file with the process to run (the spec's process object).") var process: String?
    @Flag(name: [.short, .long], help: "Allocate a pseudo-TTY.") var tty = false
    @Flag(name: [.short, .long], help: "Detach from the process.") var detach = false
    @Option(name: .customLong("pid-file"), help: "File to write the process pid to.") var pidFile: String?
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the pty master.") var consoleSocket: String?
    @Option(name: .customLong("cwd"), help: "Working directory in the container.") var cwd: String?
    @Option(name: [.short, .long], help: "Set an environment variable (KEY=VALUE).") var env: [String] = []
    @Option(name: [.short, .long], help: "UID[:GID] to run as.") var user: String?
    @Option(name: [.customShort("g"), .customLong("additional-gids")], help: "Extra group id.") var additionalGids: [UInt32] = []
    @Option(name: [.customShort("c"), .customLong("cap")], help: "Add a capability.") var cap: [String] = []
    @Flag(name: .customLong("no-new-privs"), help: "Set no_new_privs.") var noNewPrivs = false
    @Option(name: .customLong("preserve-fds"), help: "Pass N extra fds to the process.") var preserveFDs = 0
    @Option(name: .customLong("process-label"), help: "SELinux label (accepted, not supported).") var processLabel: String?
    @Option(name: .customLong("apparmor"), help: "AppArmor profile (accepted, not supported).") var apparmor: String?
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func execute() throws {
        let runtime = global.runtime
        let spec: Process
        if let process {
            let bytes = try FileIO.read(process)
            do {
                spec = try JSONDecoder().decode(Process.self, from: Data(bytes))
            } catch {
                throw RuntimeError.invalidConfig("--process \(process): \(error)")
            }
        } else {
            let args = command.first == "--" ? Array(command.dropFirst()) : command
            guard !args.isEmpty else { throw RuntimeError.invalidConfig("exec: give a command to run or --process FILE") }
            spec = try runtime.execProcess(id: id, args: args, tty: tty, cwd: cwd, env: env, user: user,
                                           additionalGids: additionalGids, capabilities: cap, noNewPrivileges: noNewPrivs)
        }
        var options = Runtime.ExecOptions()
        options.pidFile = pidFile
        options.consoleSocket = consoleSocket
        options.preserveFDs = preserveFDs
        var terminal: TerminalProxy?
        if spec.terminal == true && consoleSocket == nil && !detach {
            terminal = try TerminalProxy()
            options.consoleSocketFD = terminal?.runtimeEnd
        }
        let pid = try runtime.exec(id: id, process: spec, options: options)
        terminal?.closeRuntimeEnd()
        if detach { return }
        let code = try terminal?.run(pid: pid) ?? ForegroundWait.wait(pid: pid)
        throw ExitCode(code)
    }
}

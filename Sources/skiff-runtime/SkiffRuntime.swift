import ArgumentParser
import ContainerRuntime

/// `skiff-runtime`: an OCI runtime with runc's command line.
struct SkiffRuntime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff-runtime",
        abstract: "An OCI container runtime with runc's command line.",
        version: "skiff-runtime 0.1.0\nspec: \(OCIVersions.max)",
        subcommands: [
            SpecCommand.self, CreateCommand.self, StartCommand.self, RunCommand.self, StateCommand.self,
            KillCommand.self, DeleteCommand.self, ListCommand.self, PsCommand.self, ExecCommand.self,
            PauseCommand.self, ResumeCommand.self, FeaturesCommand.self,
        ]
    )
}

/// Shared error handling: every failure is logged (stderr, and --log) and exits non-zero.
protocol RuntimeCommand: ParsableCommand {
    var global: GlobalOptions { get }
    func execute() throws
}

extension RuntimeCommand {
    func run() throws {
        global.installLog()
        do {
            try execute()
        } catch let error as ExitCode {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch {
            RuntimeLogger.current.error("\(error)")
            throw ExitCode(1)
        }
    }
}

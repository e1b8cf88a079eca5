#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import Foundation
import ImageStore
import LinuxSupport

extension Skiff {
    /// The container commands (issue 4), in the order `skiff --help` lists them.
    static var containerCommands: [any ParsableCommand.Type] {
        [
            RunCommand.self, CreateCommand.self, StartCommand.self, PsCommand.self, LogsCommand.self, StopCommand.self,
            KillCommand.self, RmCommand.self, WaitCommand.self, InspectCommand.self, ExecCommand.self, AttachCommand.self,
            RestartCommand.self,
            TopCommand.self, StatsCommand.self, CpCommand.self, RenameCommand.self, PortCommand.self, PauseCommand.self,
            UnpauseCommand.self, UpdateCommand.self,
            ContainerGroupCommand.self,
            VolumeCommand.self, SystemCommand.self, InfoCommand.self, VersionCommand.self, CompletionCommand.self, NetworkCommand.self,
            EventsCommand.self,
            ContainerMonitorCommand.self,
        ]
    }
}

/// Options every container command shares: the store root and the runtime's state root.
struct EngineOptions: ParsableArguments {
    @Option(help: "Root directory of the store (images and containers).")
    var root: String = ProcessInfo.processInfo.environment["SKIFF_ROOT"] ?? ImageStore.defaultRoot

    @Option(name: .customLong("runtime-root"), help: "State directory of the OCI runtime.")
    var runtimeRoot: String = ProcessInfo.processInfo.environment["SKIFF_RUNTIME_ROOT"] ?? Engine.defaultRuntimeRoot

    var absoluteRoot: String {
        root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
    }

    func openEngine() throws -> Engine {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        Diagnostics.debug("store \(absoluteRoot), runtime state \(runtimeRoot), monitor and init executable \(executable)")
        return try Engine(root: absoluteRoot, runtimeRoot: runtimeRoot, executable: executable)
    }
}

/// Runs a container command body and turns errors into docker's exit codes: the engine's own
/// (125, 126, 127) with the message on stderr.
func withEngineErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as EngineError {
        printEngineError(error.description)
        throw ExitCode(error.exitCode)
    } catch let error as CleanExit {
        throw error
    } catch {
        printEngineError("\(error)")
        throw ExitCode(125)
    }
}

func printEngineError(_ message: String) {
    FileHandle.standardError.write(Data(("skiff: error: " + message + "\n").utf8))
}

/// A problem that does not fail the command (a damaged entry a listing skipped), on stderr.
func printWarning(_ message: String) { Diagnostics.warn(message) }

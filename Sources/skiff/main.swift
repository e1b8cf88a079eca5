#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime

// The runtime library re-executes this binary as `skiff init` (with _SKIFF_INIT_FD) for a
// container's init stage: dispatch to it before anything else runs, as skiff-runtime does.
if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "init",
   let fdText = getenv("_SKIFF_INIT_FD"), let fd = Int32(String(cString: fdText)) {
    ContainerInit.main(socket: fd)
}

/// The async entry `@main` would have called (top-level code picks ParsableCommand's
/// synchronous `main`, which refuses async commands).
enum SkiffEntry {
    static func run() async {
        do {
            var command = try await Skiff.asyncParseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            UsageErrors.exit(for: error)
        }
    }
}

await SkiffEntry.run()

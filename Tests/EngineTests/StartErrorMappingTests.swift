import ContainerRuntime
@testable import Engine
import LinuxSupport
import Testing

/// docker's exit codes for a failed start come from the reason the runtime gives, whatever the
/// wording of its message.
@Suite struct StartErrorMappingTests {
    @Test func exitCodesFollowTheReasonNotTheText() {
        let notFound = Engine.mapStartError(RuntimeError.cannotExecute(.executableNotFound, "the program is gone"))
        #expect(notFound.exitCode == 127)
        #expect("\(notFound)".contains("the program is gone"))
        #expect(Engine.mapStartError(RuntimeError.cannotExecute(.notExecutable, "a directory")).exitCode == 126)
    }

    /// Messages that merely read like a missing or unusable program (a bind source, a cwd) are
    /// other start failures.
    @Test func wordingAloneDecidesNothing() {
        for message in [
            "exec: \"x\": executable file not found in $PATH", "bind mount source /a: no such file or directory",
            "open /x: permission denied", "is a directory",
        ] {
            #expect(Engine.mapStartError(RuntimeError.initFailed(message)).exitCode == 125, "\(message)")
            #expect(Engine.mapStartError(SystemError(message, errno: 2)).exitCode == 125, "\(message)")
        }
        #expect(Engine.mapStartError(EngineError.noSuchContainer("c")).exitCode == 125)
    }
}

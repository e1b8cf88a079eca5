import Engine
import Testing

/// docker's Entrypoint/Cmd rules, case by case.
@Suite struct CommandLineMergeTests {
    @Test func imageCmdAloneRuns() {
        #expect(CommandLineMerge.merge(imageEntrypoint: nil, imageCmd: ["sh"], entrypointOverride: nil, arguments: []) == ["sh"])
    }

    @Test func entrypointGetsCmdAsArguments() {
        #expect(
            CommandLineMerge.merge(imageEntrypoint: ["/init", "-v"], imageCmd: ["serve"], entrypointOverride: nil, arguments: [])
                == ["/init", "-v", "serve"])
    }

    @Test func userArgumentsReplaceCmdButKeepEntrypoint() {
        #expect(
            CommandLineMerge.merge(imageEntrypoint: ["/init"], imageCmd: ["serve"], entrypointOverride: nil, arguments: ["check", "-q"])
                == ["/init", "check", "-q"])
        #expect(
            CommandLineMerge.merge(imageEntrypoint: nil, imageCmd: ["sh"], entrypointOverride: nil, arguments: ["echo", "hi"])
                == ["echo", "hi"])
    }

    @Test func entrypointOverrideDropsImageCmd() {
        #expect(
            CommandLineMerge.merge(imageEntrypoint: ["/init"], imageCmd: ["serve"], entrypointOverride: "/bin/sh", arguments: [])
                == ["/bin/sh"])
        #expect(
            CommandLineMerge.merge(imageEntrypoint: ["/init"], imageCmd: ["serve"], entrypointOverride: "/bin/sh", arguments: ["-c", "x"])
                == ["/bin/sh", "-c", "x"])
    }

    @Test func emptyEntrypointOverrideClearsIt() {
        #expect(
            CommandLineMerge.merge(imageEntrypoint: ["/init"], imageCmd: ["serve"], entrypointOverride: "", arguments: ["ls"]) == ["ls"])
        #expect(CommandLineMerge.merge(imageEntrypoint: ["/init"], imageCmd: ["serve"], entrypointOverride: "", arguments: []).isEmpty)
    }

    @Test func nothingToRunIsEmpty() {
        #expect(CommandLineMerge.merge(imageEntrypoint: nil, imageCmd: nil, entrypointOverride: nil, arguments: []).isEmpty)
        #expect(CommandLineMerge.merge(imageEntrypoint: [], imageCmd: [], entrypointOverride: nil, arguments: []).isEmpty)
    }
}

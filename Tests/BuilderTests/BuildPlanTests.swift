import Builder
import OCISpec
import Testing

/// Which stages a target needs, and the image config a stage's instructions make.
@Suite struct BuildPlanTests {
    func plan(_ text: String, target: String? = nil, args: [String: String] = [:]) throws -> BuildPlan {
        try BuildPlan(dockerfile: try DockerfileParser().parse(text), target: target, buildArgs: args)
    }

    let multiStage = """
        ARG BASE=busybox
        ARG TAG
        FROM ${BASE}:${TAG:-latest} AS deps
        RUN echo deps
        FROM busybox AS unused
        RUN echo never
        FROM scratch AS assets
        FROM deps AS build
        COPY --from=assets /a /a
        RUN --mount=type=bind,from=0,target=/src true
        FROM scratch
        COPY --from=build /out /out
        """

    @Test func onlyTheStagesTheTargetNeeds() throws {
        let all = try plan(multiStage)
        #expect(all.stages.map(\.stage.index) == [0, 2, 3, 4])
        #expect(all.stages.map(\.base) == [.image("busybox:latest"), .scratch, .stage(0), .scratch])
        #expect(all.stages[2].dependencies == [0, 2])
        let deps = try plan(multiStage, target: "deps", args: ["BASE": "alpine", "TAG": "3"])
        #expect(deps.stages.map(\.stage.index) == [0])
        #expect(deps.stages[0].base == .image("alpine:3"))
        #expect(try plan(multiStage, target: "Unused").stages.map(\.stage.index) == [1])
    }

    @Test func missingTargetsAndStagesUsedEarly() throws {
        #expect(throws: DockerfileError("target stage \"nope\" could not be found (stages: deps, unused, assets, build)")) {
            try plan(multiStage, target: "nope")
        }
        #expect(throws: DockerfileError.self) { try plan("FROM x\nCOPY --from=later /a /a\nFROM y AS later") }
        // An unknown --from is an image, as docker takes it.
        #expect(try plan("FROM x\nCOPY --from=nginx:1 /a /a").stages[0].dependencies == [])
    }

    @Test func unusedBuildArgsAndPlatformArgs() throws {
        let result = try plan("ARG A\nFROM x\nARG B\nARG TARGETARCH", args: ["A": "1", "B": "2", "C": "3", "HTTP_PROXY": "p"])
        #expect(result.unusedBuildArgs == ["C"])
        #expect(result.globalArgs["A"] == "1")
        #expect(result.globalArgs["TARGETARCH"] == "amd64")
    }

    func state(_ text: String, base: ImageConfig? = nil, args: [String: String] = [:]) throws -> (StageState, [BuildStep]) {
        let file = try DockerfileParser().parse(text)
        let plan = try BuildPlan(dockerfile: file, target: nil, buildArgs: args)
        var state = StageState(base: base, escape: file.escape, buildArgs: args, globalArgs: plan.globalArgs)
        var steps: [BuildStep] = []
        for parsed in file.stages.last!.instructions { steps.append(try state.apply(parsed)) }
        return (state, steps)
    }

    @Test func configFromEveryMetadataInstruction() throws {
        let (state, steps) = try state(
            """
            FROM scratch
            ENV A=1 B=two
            ENV C=$A D="${B} words" A=3
            WORKDIR /app
            WORKDIR sub/../lib
            USER ${A}:0
            EXPOSE 80 53/udp 8000-8001
            VOLUME /data ["x"]
            LABEL "org.a"="hello $B" plain=1
            STOPSIGNAL SIGINT
            HEALTHCHECK --interval=5s CMD wget -q localhost
            SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
            CMD echo $A
            ENTRYPOINT ["/entry"]
            MAINTAINER me
            """)
        let config = state.config
        #expect(config.env == [StageState.defaultPath, "A=3", "B=two", "C=1", "D=two words"])
        #expect(config.workingDir == "/app/lib")
        #expect(config.user == "3:0")
        #expect(Set((config.exposedPorts ?? [:]).keys) == ["80/tcp", "53/udp", "8000/tcp", "8001/tcp"])
        #expect(Set((config.volumes ?? [:]).keys) == ["/data", "[x]"])
        #expect(config.labels == ["org.a": "hello two", "plain": "1"])
        #expect(config.stopSignal == "SIGINT")
        #expect(config.healthcheck == Healthcheck(test: ["CMD-SHELL", "wget -q localhost"], interval: 5_000_000_000))
        #expect(config.cmd == ["/bin/ash", "-eo", "pipefail", "-c", "echo $A"])
        #expect(config.entrypoint == ["/entry"])
        #expect(state.image.author == "me")
        #expect(steps[2] == .workdir(path: "/app", createdBy: "WORKDIR /app"))
        #expect(steps[0] == .metadata(createdBy: "ENV A=1 B=two"))
        #expect(state.image.history?.count == 12)
        #expect(state.image.history?.allSatisfy { $0.emptyLayer == true } == true)
    }

    @Test func entrypointClearsAnInheritedCmdOnly() throws {
        var base = ImageConfig(architecture: "amd64", os: "linux", config: ContainerConfig(cmd: ["sh"]), rootfs: RootFS(diffIDs: []))
        base.config?.env = ["PATH=/bin"]
        #expect(try state("FROM b\nENTRYPOINT [\"/e\"]", base: base).0.config.cmd == nil)
        #expect(try state("FROM b\nCMD [\"x\"]\nENTRYPOINT [\"/e\"]", base: base).0.config.cmd == ["x"])
        #expect(try state("FROM b\nENV A=1", base: base).0.config.env == ["PATH=/bin", "A=1"])
    }

    @Test func runStepsCarryArgsEnvAndTheirCacheText() throws {
        let (_, steps) = try state(
            """
            FROM scratch
            ARG V=default
            ARG W
            ARG HTTP_PROXY
            ENV E=env
            USER 1000
            RUN --network=none echo $V
            RUN ["/bin/true", "$V"]
            RUN <<EOF
            echo heredoc
            EOF
            RUN <<EOF
            #!/bin/sh
            echo script
            EOF
            RUN cat <<A
            x
            A
            """, args: ["V": "given", "HTTP_PROXY": "http://proxy"])
        guard case .run(let run) = steps[5] else {
            Issue.record("not RUN")
            return
        }
        #expect(run.arguments == ["/bin/sh", "-c", "echo $V"])
        #expect(run.environment == [StageState.defaultPath, "E=env", "V=given", "HTTP_PROXY=http://proxy"])
        #expect(run.user == "1000" && run.network == "none" && run.workingDirectory == "/")
        #expect(run.createdBy == "RUN |1 V=given /bin/sh -c echo $V # network=none")
        guard case .run(let exec) = steps[6], case .run(let heredoc) = steps[7], case .run(let script) = steps[8],
            case .run(let cat) = steps[9]
        else {
            Issue.record("not RUN")
            return
        }
        #expect(exec.arguments == ["/bin/true", "$V"])
        #expect(heredoc.arguments == ["/bin/sh", "-c", "echo heredoc\n"])
        #expect(script.script == "#!/bin/sh\necho script\n" && script.arguments.isEmpty)
        #expect(cat.arguments == ["/bin/sh", "-c", "cat <<A\nx\nA"])
    }

    @Test func copyStepsExpandAgainstTheStage() throws {
        let (_, steps) = try state(
            """
            FROM scratch
            ARG DIR=conf
            ENV NAME=app
            WORKDIR /srv
            COPY --chown=1:1 --chmod=640 ${DIR}/*.conf $NAME/
            COPY <<EOF <<'RAW' .
            name=$NAME
            EOF
            name=$NAME
            RAW
            ADD a.tar /
            """)
        #expect(
            steps[3]
                == .copy(
                    CopyStep(
                        isAdd: false, sources: [.path("conf/*.conf")], destination: "/srv/app/", from: nil, chown: "1:1", chmod: "640",
                        createdBy: "COPY --chown=1:1 --chmod=640 conf/*.conf /srv/app/")))
        guard case .copy(let heredocs) = steps[4] else {
            Issue.record("not COPY")
            return
        }
        #expect(heredocs.sources == [.content(name: "EOF", "name=app\n"), .content(name: "RAW", "name=$NAME\n")])
        #expect(heredocs.destination == "/srv/")
        guard case .copy(let add) = steps[5] else {
            Issue.record("not ADD")
            return
        }
        #expect(add.isAdd && add.destination == "/" && add.from == nil)
    }

    @Test func badValuesAreRefusedWithTheirPlace() throws {
        #expect(
            throws: DockerfileError(
                "STOPSIGNAL: \"SIGNOPE\" is not a signal name or number", at: SourceLocation(file: "Dockerfile", line: 2, column: 1))
        ) {
            try state("FROM scratch\nSTOPSIGNAL SIGNOPE")
        }
        #expect(throws: DockerfileError.self) { try state("FROM scratch\nEXPOSE 70000") }
        #expect(throws: DockerfileError.self) { try state("FROM scratch\nEXPOSE 80/icmp") }
        #expect(throws: DockerfileError.self) { try state("FROM scratch\nCOPY --chmod=u+x a b") }
        #expect(throws: DockerfileError("X: needed", at: SourceLocation(file: "Dockerfile", line: 2, column: 1))) {
            try state("FROM scratch\nENV A=${X:?needed}")
        }
    }
}

import Builder
import Testing

/// The Dockerfile parser over a corpus of Dockerfiles written for it: every instruction and
/// form of docker's reference, and the errors with their file, line and column.
@Suite struct DockerfileParserTests {
    func parse(_ text: String) throws -> Dockerfile {
        try DockerfileParser(file: "Dockerfile").parse(text)
    }

    func error(_ text: String) -> DockerfileError? {
        do {
            _ = try parse(text)
            return nil
        } catch let error as DockerfileError {
            return error
        } catch {
            return nil
        }
    }

    @Test func everyInstruction() throws {
        let file = try parse(
            """
            # syntax=docker/dockerfile:1
            # escape=\\
            ARG BASE=busybox
            FROM --platform=linux/amd64 ${BASE} AS Build
            RUN --mount=type=cache,target=/root/.cache,sharing=locked --network=none echo hi
            RUN ["/bin/sh", "-c", "echo exec"]
            COPY --from=other --chown=1:2 --chmod=0755 --link a b /dest/
            ADD --checksum=sha256:abc https://example.com/x /x
            ENV A=1 B="two words"
            ENV OLD value with spaces
            ARG V W=2
            WORKDIR /work dir
            USER app:app
            EXPOSE 80 443/tcp 53/udp
            VOLUME ["/data", "/logs"]
            VOLUME /one /two
            LABEL "com.example"="a b" version=1
            CMD echo cmd
            ENTRYPOINT ["/entry"]
            SHELL ["/bin/bash", "-c"]
            STOPSIGNAL SIGTERM
            HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD ["true"]
            ONBUILD RUN echo later
            MAINTAINER someone <a@b>
            """)
        #expect(file.notes.count == 1)
        #expect(file.globalArgs == [ArgDefinition(name: "BASE", defaultValue: "busybox")])
        #expect(file.stages.count == 1)
        let stage = file.stages[0]
        #expect(stage.from == FromInstruction(image: "${BASE}", stageName: "build", platform: "linux/amd64"))
        #expect(stage.location == SourceLocation(file: "Dockerfile", line: 4, column: 1))
        let instructions = stage.instructions.map(\.instruction)
        #expect(instructions.count == 20)
        guard case .run(let run) = instructions[0] else {
            Issue.record("not RUN")
            return
        }
        #expect(run.command == .shell("echo hi"))
        #expect(run.network == "none")
        #expect(run.mounts.count == 1)
        #expect(run.mounts[0].kind == .cache)
        #expect(run.mounts[0].target == "/root/.cache")
        #expect(run.mounts[0].options["sharing"] == "locked")
        #expect(run.mounts[0].readOnly == false)
        guard case .run(let exec) = instructions[1] else {
            Issue.record("not RUN")
            return
        }
        #expect(exec.command == .exec(["/bin/sh", "-c", "echo exec"]))
        guard case .copy(let copy) = instructions[2] else {
            Issue.record("not COPY")
            return
        }
        #expect(copy.sources == [.path("a"), .path("b")])
        #expect(copy.destination == "/dest/")
        #expect(copy.from == "other" && copy.chown == "1:2" && copy.chmod == "0755" && copy.link && !copy.isAdd)
        guard case .copy(let add) = instructions[3] else {
            Issue.record("not ADD")
            return
        }
        #expect(add.isAdd && add.checksum == "sha256:abc" && add.sources == [.path("https://example.com/x")])
        #expect(instructions[4] == .env([KeyValue(key: "A", value: "1"), KeyValue(key: "B", value: "\"two words\"")]))
        #expect(instructions[5] == .env([KeyValue(key: "OLD", value: "value with spaces")]))
        #expect(instructions[6] == .arg([ArgDefinition(name: "V", defaultValue: nil), ArgDefinition(name: "W", defaultValue: "2")]))
        #expect(instructions[7] == .workdir("/work dir"))
        #expect(instructions[8] == .user("app:app"))
        #expect(instructions[9] == .expose(["80", "443/tcp", "53/udp"]))
        #expect(instructions[10] == .volume(["/data", "/logs"]))
        #expect(instructions[11] == .volume(["/one", "/two"]))
        #expect(instructions[12] == .label([KeyValue(key: "\"com.example\"", value: "\"a b\""), KeyValue(key: "version", value: "1")]))
        #expect(instructions[13] == .cmd(.shell("echo cmd")))
        #expect(instructions[14] == .entrypoint(.exec(["/entry"])))
        #expect(instructions[15] == .shell(["/bin/bash", "-c"]))
        #expect(instructions[16] == .stopSignal("SIGTERM"))
        #expect(
            instructions[17]
                == .healthcheck(
                    .check(
                        test: .exec(["true"]), interval: 30_000_000_000, timeout: 90_000_000_000, startPeriod: nil, startInterval: nil,
                        retries: 3)))
        #expect(
            instructions[18]
                == .onbuild(
                    trigger: "RUN echo later",
                    .run(RunInstruction(command: .shell("echo later"), heredocs: [], mounts: [], network: nil, security: nil))))
        #expect(instructions[19] == .maintainer("someone <a@b>"))
        #expect(stage.instructions[0].text == "RUN --mount=type=cache,target=/root/.cache,sharing=locked --network=none echo hi")
    }

    @Test func continuationsSkipCommentsAndBlankLinesAndKeepTheText() throws {
        let file = try parse(
            """
            FROM busybox
            RUN echo a \\
            # a comment inside
                && echo b \\

                && echo c
            # comment
               cmd ["x"]
            """)
        let instructions = file.stages[0].instructions
        #expect(
            instructions[0].instruction
                == .run(
                    RunInstruction(
                        command: .shell("echo a     && echo b     && echo c"), heredocs: [], mounts: [], network: nil, security: nil)))
        #expect(instructions[1].instruction == .cmd(.exec(["x"])))
        #expect(instructions[1].location == SourceLocation(file: "Dockerfile", line: 8, column: 4))
    }

    @Test func escapeDirectiveChangesTheContinuationCharacter() throws {
        let file = try parse(
            """
            # escape=`
            FROM busybox
            RUN echo C:\\path `
                more
            """)
        #expect(file.escape == "`")
        #expect(
            file.stages[0].instructions[0].instruction
                == .run(RunInstruction(command: .shell("echo C:\\path     more"), heredocs: [], mounts: [], network: nil, security: nil)))
    }

    @Test func directivesEndAtTheFirstOtherLine() throws {
        // After a comment, `# escape=` is a comment too, so the backslash still continues.
        let file = try parse(
            """
            # a comment
            # escape=`
            FROM busybox
            RUN a \\
              b
            """)
        #expect(file.escape == "\\")
        #expect(file.stages[0].instructions.count == 1)
        #expect(error("# escape=\\\n# escape=`\nFROM x")?.message == "only one escape parser directive can be used")
        #expect(error("# escape=x\nFROM x")?.location?.line == 1)
    }

    @Test func heredocs() throws {
        let file = try parse(
            """
            FROM busybox
            RUN <<EOF
            echo one
            echo $HOME
            EOF
            RUN cat <<-"END" > /f && cat <<TWO
            \t\tliteral $X
            \tEND
            second
            TWO
            COPY <<CONFIG /etc/app.conf
            key=${VALUE}
            CONFIG
            CMD done
            """)
        let instructions = file.stages[0].instructions.map(\.instruction)
        #expect(instructions.count == 4)
        guard case .run(let first) = instructions[0] else {
            Issue.record("not RUN")
            return
        }
        #expect(first.command == .shell("<<EOF"))
        #expect(first.heredocs == [Heredoc(name: "EOF", content: "echo one\necho $HOME\n", expands: true, stripsTabs: false)])
        guard case .run(let second) = instructions[1] else {
            Issue.record("not RUN")
            return
        }
        #expect(
            second.heredocs == [
                Heredoc(name: "END", content: "literal $X\n", expands: false, stripsTabs: true),
                Heredoc(name: "TWO", content: "second\n", expands: true, stripsTabs: false),
            ])
        guard case .copy(let copy) = instructions[2] else {
            Issue.record("not COPY")
            return
        }
        #expect(copy.sources == [.heredoc(Heredoc(name: "CONFIG", content: "key=${VALUE}\n", expands: true, stripsTabs: false))])
        #expect(copy.destination == "/etc/app.conf")
        #expect(instructions[3] == .cmd(.shell("done")))
        let unterminated = error("FROM x\nRUN  cat <<EOF\nline\n")
        #expect(unterminated?.location == SourceLocation(file: "Dockerfile", line: 2, column: 10))
    }

    @Test func multiStageAndTargets() throws {
        let file = try parse(
            """
            FROM busybox AS build
            RUN echo build
            FROM build AS Test
            FROM scratch
            COPY --from=build /x /x
            """)
        #expect(file.stages.map(\.name) == ["build", "test", nil])
        #expect(file.stage(named: "TEST")?.index == 1)
        #expect(file.stage(named: nil)?.index == 2)
        #expect(file.stage(named: "missing") == nil)
        #expect(error("FROM a AS x\nFROM b AS X")?.message == "duplicate stage name \"x\"")
        #expect(error("FROM a AS 1x")?.location == SourceLocation(file: "Dockerfile", line: 1, column: 6))
        #expect(error("FROM a b")?.message.hasPrefix("FROM requires either one argument") == true)
    }

    @Test func errorsNameFileLineAndColumn() {
        let unknown = error("FROM x\n\n  FROBNICATE y")
        #expect(unknown?.location == SourceLocation(file: "Dockerfile", line: 3, column: 3))
        #expect(unknown?.message.hasPrefix("unknown instruction: FROBNICATE") == true)
        #expect(unknown?.description.hasPrefix("Dockerfile:3:3: unknown instruction") == true)
        let flag = error("FROM x\nCOPY --frm=a b c")
        #expect(flag?.location == SourceLocation(file: "Dockerfile", line: 2, column: 6))
        #expect(flag?.message == "unknown flag: --frm for COPY")
        #expect(error("RUN echo")?.message.hasPrefix("RUN before the first FROM") == true)
        #expect(error("ARG A\n")?.message == "the Dockerfile has no FROM: nothing to build")
        #expect(error("FROM x\nCOPY onlyone")?.message == "COPY requires at least two arguments: a source and a destination")
        #expect(error("FROM x\nSHELL /bin/sh -c")?.message.hasPrefix("SHELL requires the arguments to be in JSON form") == true)
        #expect(error("FROM x\nENV A=1 B")?.message.hasPrefix("syntax error - can't find = in \"B\"") == true)
        #expect(error("FROM x\nRUN --network=bridge true")?.location == SourceLocation(file: "Dockerfile", line: 2, column: 5))
        #expect(error("FROM x\nRUN --mount=type=nfs,target=/x true")?.message.hasPrefix("unsupported mount type") == true)
        #expect(error("FROM x\nRUN --mount=type=cache true")?.message == "--mount type=cache needs a target")
        #expect(error("FROM x\nHEALTHCHECK --interval=soon CMD true")?.message.hasPrefix("--interval must be a duration") == true)
        #expect(error("FROM x\nHEALTHCHECK NONE extra")?.message == "HEALTHCHECK NONE takes no other arguments")
        #expect(error("FROM x\nONBUILD FROM y")?.message == "FROM isn't allowed as an ONBUILD trigger")
        #expect(error("FROM x\nCOPY --from=a --from=b s d")?.message == "duplicate flag specified: --from")
        #expect(error("FROM x\nSTOPSIGNAL a b")?.message == "STOPSIGNAL requires exactly one argument")
    }

    @Test func healthcheckNoneAndShellForm() throws {
        let file = try parse("FROM x\nHEALTHCHECK NONE\nhealthcheck --start-period=2s --start-interval=500ms CMD curl -f http://localhost/")
        let instructions = file.stages[0].instructions.map(\.instruction)
        #expect(instructions[0] == .healthcheck(.disabled))
        #expect(
            instructions[1]
                == .healthcheck(
                    .check(
                        test: .shell("curl -f http://localhost/"), interval: nil, timeout: nil, startPeriod: 2_000_000_000,
                        startInterval: 500_000_000, retries: nil)))
    }

    @Test func shellFormWhenTheJSONIsNotAListOfStrings() throws {
        let file = try parse("FROM x\nCMD [\"a\", 1]\nENTRYPOINT [not json\nCMD []")
        let instructions = file.stages[0].instructions.map(\.instruction)
        #expect(instructions[0] == .cmd(.shell("[\"a\", 1]")))
        #expect(instructions[1] == .entrypoint(.shell("[not json")))
        #expect(instructions[2] == .cmd(.exec([])))
    }

    @Test func crlfAndByteOrderMark() throws {
        let file = try parse("\u{FEFF}FROM x\r\nRUN a \\\r\n  b\r\n")
        #expect(
            file.stages[0].instructions[0].instruction
                == .run(RunInstruction(command: .shell("a   b"), heredocs: [], mounts: [], network: nil, security: nil)))
    }
}

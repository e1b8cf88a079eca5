import Foundation
import Testing

/// `POST /build` through `skiff system service`: the docker CLI's classic builder
/// (DOCKER_BUILDKIT=0) and docker-py's `images.build`, with tags, build args, labels, a target,
/// -q, a gzip context, a failing RUN and a bad Dockerfile.
@Suite(.enabled(if: dockerAPITestsEnabled, dockerSkipReason), .serialized)
struct DockerAPIBuildTests {
    func makeContext(_ fixture: EngineFixture) throws -> String {
        let context = fixture.path + "/api-context"
        try FileManager.default.createDirectory(atPath: context + "/files", withIntermediateDirectories: true)
        try Data("from-the-context\n".utf8).write(to: URL(fileURLWithPath: context + "/files/data.txt"))
        try Data(
            """
            FROM localhost/loaded:bb AS first
            ARG WORD=default
            RUN echo "run-output-$WORD" && echo "$WORD" > /word
            FROM first
            COPY files/data.txt /data.txt
            LABEL from.dockerfile=yes
            CMD ["cat", "/word", "/data.txt"]
            """.utf8
        ).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        try Data("FROM localhost/loaded:bb\nRUN echo before-failing && exit 7\n".utf8).write(
            to: URL(fileURLWithPath: context + "/Failing"))
        try Data("FROM localhost/loaded:bb\nNOTANINSTRUCTION x\n".utf8).write(to: URL(fileURLWithPath: context + "/Bad"))
        return context
    }

    @Test func dockerCLIClassicBuilder() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let context = try makeContext(fixture)
        let environment = service.environment.merging(["DOCKER_BUILDKIT": "0"]) { $1 }
        let build = try run(
            [
                dockerCLI!, "build", "-t", "localhost/api-built:1", "-t", "localhost/api-built:2", "--build-arg", "WORD=given",
                "--label", "from.cli=yes", "--network", "none", context,
            ], check: false, environment: environment)
        #expect(build.status == 0, "\(build.stdout) \(build.stderr)")
        // The RUN output and the steps are streamed; the end is docker's classic summary.
        #expect(build.stdout.contains("run-output-given"), "\(build.stdout)")
        #expect(build.stdout.contains("Successfully built "), "\(build.stdout)")
        #expect(build.stdout.contains("Successfully tagged localhost/api-built:2"), "\(build.stdout)")
        let ran = try service.docker(["run", "--rm", "--network", "none", "localhost/api-built:1"])
        #expect(ran.stdout == "given\nfrom-the-context\n", "\(ran)")
        let labels = try service.docker(["image", "inspect", "--format", "{{json .Config.Labels}}", "localhost/api-built:2"])
        #expect(labels.stdout == "{\"from.cli\":\"yes\",\"from.dockerfile\":\"yes\"}\n", "\(labels)")

        // -q prints the image ID alone; --target stops at a stage; the same build is cached.
        let quiet = try run(
            [dockerCLI!, "build", "-q", "--target", "first", "--build-arg", "WORD=given", "--network", "none", context], check: false,
            environment: environment)
        #expect(quiet.status == 0 && quiet.stdout.hasPrefix("sha256:") && quiet.stdout.split(separator: "\n").count == 1, "\(quiet)")
        let word = try service.docker([
            "run", "--rm", "--network", "none", quiet.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "cat", "/word",
        ])
        #expect(word.stdout == "given\n", "\(word)")

        // A failing RUN: its output, then the error with the exit code; no container left.
        let failing = try run(
            [dockerCLI!, "build", "-f", context + "/Failing", "-t", "localhost/api-failed:1", "--network", "none", context], check: false,
            environment: environment)
        #expect(failing.status != 0, "\(failing)")
        #expect(failing.stdout.contains("before-failing"), "\(failing.stdout)")
        #expect(failing.stderr.contains("exit code: 7"), "\(failing.stderr)")
        #expect(fixture.containerIDs().filter { !$0.hasPrefix(".") }.isEmpty)
        let bad = try run([dockerCLI!, "build", "-f", context + "/Bad", context], check: false, environment: environment)
        #expect(bad.status != 0 && bad.stderr.contains("unknown instruction: NOTANINSTRUCTION"), "\(bad)")
        // A Dockerfile the context does not have (a raw request: the CLI checks its own -f).
        try shell("tar -C \(context) -cf \(fixture.path)/context.tar .")
        let missing = try run(
            [
                "/usr/bin/curl", "-s", "--max-time", "20", "--unix-socket", service.socket, "-X", "POST", "-H",
                "Content-Type: application/x-tar", "--data-binary", "@" + fixture.path + "/context.tar", "-w", "\n%{http_code}",
                "http://skiff/v1.44/build?dockerfile=Nowhere",
            ], check: false)
        #expect(missing.stdout.hasSuffix("\n400") && missing.stdout.contains("Cannot locate specified Dockerfile: Nowhere"), "\(missing)")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/build-tmp")) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test(.enabled(if: dockerPyInstalled, "needs docker-py (pip docker)"))
    func dockerPyBuildsFromADirectoryAndAGzipStream() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let context = try makeContext(fixture)
        let script = """
            import docker, io, sys, tarfile
            context = sys.argv[1]
            client = docker.from_env()
            image, logs = client.images.build(
                path=context, tag="localhost/py-built:1", buildargs={"WORD": "py"}, labels={"by": "py"}, rm=True, network_mode="none")
            print(image.tags, image.labels["by"])
            print(any("run-output-py" in line.get("stream", "") for line in logs))
            print(client.containers.run("localhost/py-built:1", remove=True, network_mode="none").decode(), end="")
            # A gzip stream made here, with a Dockerfile of another name.
            data = io.BytesIO()
            with tarfile.open(fileobj=data, mode="w:gz") as tar:
                text = b"FROM localhost/loaded:bb\\nRUN echo streamed > /s\\n"
                info = tarfile.TarInfo("Other.Dockerfile")
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text))
            data.seek(0)
            lines = list(client.api.build(
                fileobj=data, custom_context=True, encoding="gzip", dockerfile="Other.Dockerfile", tag="localhost/py-gz:1",
                decode=True, network_mode="none"))
            print([line["aux"]["ID"][:7] for line in lines if "aux" in line])
            print(client.containers.run("localhost/py-gz:1", ["cat", "/s"], remove=True, network_mode="none").decode(), end="")
            try:
                client.images.build(path=context, dockerfile="Failing", network_mode="none")
            except docker.errors.BuildError as error:
                print("BuildError", "exit code: 7" in str(error))
            """
        let result = try run(["/usr/bin/env", "python3", "-c", script, context], check: false, environment: service.environment)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(
            result.stdout == "['localhost/py-built:1'] py\nTrue\npy\nfrom-the-context\n['sha256:']\nstreamed\nBuildError True\n",
            "\(result.stdout) \(result.stderr)")
    }
}

import Foundation
import Testing

let dockerCLI = ["/usr/local/bin/docker", "/usr/bin/docker"].first { FileManager.default.isExecutableFile(atPath: $0) }
let dockerPyInstalled = (try? run(["/usr/bin/env", "python3", "-c", "import docker"], check: false).status) == 0
let dockerAPITestsEnabled = engineTestsEnabled && dockerCLI != nil
let dockerSkipReason: Comment = "needs root, umoci and busybox-static (scripts/install-deps.sh) and the docker CLI (client only)"

/// `skiff system service` on a temporary socket over a fixture's store, killed at the end.
final class APIService: @unchecked Sendable {
    let fixture: EngineFixture
    let socket: String
    private(set) var process: Foundation.Process

    let extraArguments: [String]

    /// `serviceEnvironment`: added to the service's environment (the test process's otherwise).
    init(
        _ fixture: EngineFixture, host: String? = nil, time: String = "0", extraArguments: [String] = [],
        serviceEnvironment: [String: String] = [:]
    ) throws {
        self.fixture = fixture
        self.extraArguments = extraArguments
        socket = fixture.path + "/api.sock"
        process = try Self.start(
            fixture, host: host ?? "unix://" + fixture.path + "/api.sock", time: time, extra: extraArguments,
            environment: serviceEnvironment)
        if host == nil {
            guard eventually(10, { FileManager.default.fileExists(atPath: socket) }) else {
                throw TestError("skiff system service did not make \(socket)")
            }
        }
    }

    static func start(
        _ fixture: EngineFixture, host: String, time: String, extra: [String] = [], environment: [String: String] = [:]
    ) throws -> Foundation.Process {
        let process = Foundation.Process()
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.executableURL = URL(fileURLWithPath: skiffBinary)
        process.arguments =
            [
                "system", "service", "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "--host", host, "--time", time,
            ] + extra
        let log = fixture.path + "/service.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// kill -9 of the service, then a new one on the same socket.
    func killAndRestart() throws {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        process = try Self.start(fixture, host: "unix://" + socket, time: "0", extra: extraArguments)
        _ = eventually(10) { (try? self.docker(["version"]).status) == 0 }
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var environment: [String: String] {
        ["DOCKER_HOST": "unix://" + socket, "DOCKER_CONFIG": fixture.path + "/docker-config"]
    }

    @discardableResult
    func docker(_ arguments: [String], host: String? = nil) throws -> CommandResult {
        var environment = self.environment
        if let host { environment["DOCKER_HOST"] = host }
        return try run([dockerCLI!] + arguments, check: false, environment: environment)
    }

    /// A raw request with curl: (status line's code, body).
    func curl(_ method: String, _ path: String) throws -> (status: Int, body: String) {
        let result = try run(
            [
                "/usr/bin/curl", "-s", "--max-time", "10", "--unix-socket", socket, "-X", method, "-w", "\n%{http_code}",
                "http://skiff" + path,
            ], check: false)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}

/// The real docker CLI 28 and docker-py 7.1 against `skiff system service`.
@Suite(.enabled(if: dockerAPITestsEnabled, dockerSkipReason), .serialized)
struct DockerAPITests {
    @Test func versionInfoAndImagesThroughTheDockerCLI() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let version = try service.docker(["version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Client.APIVersion}}"])
        #expect(version.status == 0 && version.stdout == "1.44 1.24 1.44\n", "\(version)")
        let info = try service.docker(["info", "--format", "{{.Images}} {{.Containers}} {{.OSType}}"])
        #expect(info.stdout == "1 0 linux\n", "\(info)")
        let images = try service.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(images.stdout == "localhost/loaded:bb\n", "\(images)")
        // The socket is the service's alone: mode 0660.
        let mode = try FileManager.default.attributesOfItem(atPath: service.socket)[.posixPermissions] as? Int
        #expect(mode == 0o660)
    }

    @Test func runRemovesTheContainerAndReturnsItsOutputAndExitCode() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let hi = try service.docker(["run", "--rm", fixture.image, "echo", "hi"])
        #expect(hi.status == 0 && hi.stdout == "hi\n", "\(hi)")
        let three = try service.docker(["run", "--rm", fixture.image, "sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(three.status == 3 && three.stdout == "out\n" && three.stderr.contains("err"), "\(three)")
        // Without --rm the exit code comes from wait's not-running condition.
        let four = try service.docker(["run", "--name", "kept", fixture.image, "sh", "-c", "exit 4"])
        #expect(four.status == 4, "\(four)")
        #expect(eventually(10) { fixture.containerIDs().count == 1 })
        let piped = try run(
            ["/bin/sh", "-c", "echo through-stdin | \(dockerCLI!) run -i --rm \(fixture.image) cat"], check: false,
            environment: service.environment)
        #expect(piped.status == 0 && piped.stdout == "through-stdin\n", "\(piped)")
        // -it through a pty (script gives docker's client a terminal): typed input reaches the shell.
        let terminal = try run(
            [
                "/bin/sh", "-c",
                "(sleep 1; printf 'echo typed-$((6*7))\\nexit 5\\n') | /usr/bin/script -qec '\(dockerCLI!) run -it --rm \(fixture.image) sh' /dev/null",
            ],
            check: false, environment: service.environment)
        #expect(terminal.status == 5 && terminal.stdout.contains("typed-42"), "\(terminal)")
    }

    @Test func runItDetachesWithCtrlPCtrlQAndAttachComesBack() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let detach = try run(
            [
                "/bin/sh", "-c",
                "(sleep 1.5; printf '\\020\\021'; sleep 1) | /usr/bin/script -qec '\(dockerCLI!) run -it --name det \(fixture.image) sh' /dev/null",
            ],
            check: false, environment: service.environment)
        #expect(detach.status == 0, "\(detach)")
        #expect(try service.docker(["inspect", "--format", "{{.State.Running}}", "det"]).stdout == "true\n")
        let attach = try run(
            [
                "/bin/sh", "-c",
                "(sleep 1; printf 'echo back-$((6*7))\\nexit 3\\n') | /usr/bin/script -qec '\(dockerCLI!) attach det' /dev/null",
            ],
            check: false, environment: service.environment)
        #expect(attach.status == 3 && attach.stdout.contains("back-42"), "\(attach)")
        #expect(try service.docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "det"]).stdout == "exited 3\n")
    }

    @Test func detachedContainerLogsStopsAndIsRemoved() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let started = try service.docker([
            "run", "-d", "--name", "web", fixture.image, "sh", "-c",
            "trap 'echo bye; exit 0' TERM; echo started; echo warn >&2; while true; do sleep 0.1; done",
        ])
        #expect(started.status == 0, "\(started)")
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try eventually(10) { try service.docker(["logs", "web"]).stdout == "started\n" })
        #expect(try service.docker(["logs", "web"]).stderr == "warn\n")
        // The CLI's own store sees the API's container, and the other way round.
        #expect(try fixture.skiff("ps", ["--format", "{{.Names}} {{.State}}"]).stdout == "web running\n")
        let ps = try service.docker(["ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.State}}"])
        #expect(ps.stdout == "\(id.prefix(12)) web \(fixture.image) running\n", "\(ps)")
        let inspect = try service.docker(["inspect", "--format", "{{.State.Status}} {{.Name}} {{.Config.Image}} {{.State.Running}}", "web"])
        #expect(inspect.stdout == "running /web \(fixture.image) true\n", "\(inspect)")
        // Clients that go away mid-stream (logs -f, attach) leave nothing held in the service.
        func descriptors() -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(service.process.processIdentifier)/fd").count) ?? -1
        }
        let before = descriptors()
        for arguments in [["logs", "-f", "web"], ["attach", "--sig-proxy=false", "web"], ["logs", "-f", "web"]] {
            let client = try run(
                ["/usr/bin/timeout", "-s", "KILL", "0.5", dockerCLI!] + arguments, check: false, environment: service.environment)
            #expect([9, 137].contains(client.status), "still streaming when killed: \(arguments): \(client)")
        }
        #expect(eventually(10) { descriptors() <= before }, "\(descriptors()) descriptors, \(before) before")
        let stop = try service.docker(["stop", "web"])
        #expect(stop.status == 0 && stop.stdout == "web\n", "\(stop)")
        #expect(try service.docker(["logs", "--tail", "1", "web"]).stdout == "bye\n")
        let exited = try service.docker(["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}"])
        #expect(exited.stdout.hasPrefix("web Exited (0)"), "\(exited)")
        #expect(try service.docker(["ps", "--format", "{{.Names}}"]).stdout == "")
        let removed = try service.docker(["rm", "web"])
        #expect(removed.status == 0 && removed.stdout == "web\n", "\(removed)")
        #expect(fixture.containerIDs().isEmpty)
        let missing = try service.docker(["rm", "web"])
        #expect(missing.status == 1 && missing.stderr.contains("No such container: web"), "\(missing)")
    }

    @Test func execRunsInARunningContainerWithItsOutputExitCodeStdinAndTerminal() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        #expect(try service.docker(["run", "-d", "--name", "box", fixture.image, "sleep", "300"]).status == 0)
        let six = try service.docker(["exec", "box", "sh", "-c", "echo exec-out; echo exec-err >&2; exit 6"])
        #expect(six.status == 6 && six.stdout == "exec-out\n" && six.stderr == "exec-err\n", "\(six)")
        let piped = try run(
            ["/bin/sh", "-c", "echo piped | \(dockerCLI!) exec -i box cat"], check: false, environment: service.environment)
        #expect(piped.status == 0 && piped.stdout == "piped\n", "\(piped)")
        let detached = try service.docker(["exec", "-d", "box", "sh", "-c", "echo detached > /tmp/mark"])
        #expect(detached.status == 0, "\(detached)")
        #expect(try eventually(10) { try service.docker(["exec", "box", "cat", "/tmp/mark"]).stdout == "detached\n" })
        let missing = try service.docker(["exec", "box", "no-such-program"])
        #expect(missing.status == 127 && missing.stderr.contains("not found"), "\(missing)")
        // -t through a pty (script gives docker's client a terminal): the program has one too.
        let terminal = try run(
            ["/usr/bin/script", "-qec", "\(dockerCLI!) exec -it box sh -c 'tty; exit 9'", "/dev/null"], check: false,
            environment: service.environment)
        #expect(terminal.status == 9 && terminal.stdout.contains("/dev/pts/"), "\(terminal)")
        let stopped = try service.docker(["rm", "-f", "box"])
        #expect(stopped.status == 0)
        let notRunning = try service.docker(["exec", "box", "true"])
        #expect(notRunning.status != 0 && notRunning.stderr.contains("No such container"), "\(notRunning)")
    }

    @Test(
        .enabled(
            if: ["/usr/bin/docker-registry", "/usr/bin/skopeo"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) },
            "needs docker-registry and skopeo (scripts/install-deps.sh)"))
    func pullFromALoopbackRegistryTagAndRemoveImages() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        // Debian's docker-registry on 127.0.0.1 with the fixture's busybox image pushed as bb:1 and bb:2.
        let registry = try LoopbackRegistry(directory: fixture.path)
        defer { registry.stop() }
        let port = registry.port
        for tag in ["1", "2"] { #expect(try registry.push("bb:\(tag)")) }
        let pull = try service.docker(["pull", "127.0.0.1:\(port)/bb:1"])
        #expect(pull.status == 0 && pull.stdout.contains("Status: Downloaded newer image for 127.0.0.1:\(port)/bb:1"), "\(pull)")
        // run of an image not in the store: the docker CLI pulls it after create's 404.
        let auto = try service.docker(["run", "--rm", "127.0.0.1:\(port)/bb:2", "echo", "auto-pulled"])
        #expect(auto.status == 0 && auto.stdout.hasSuffix("auto-pulled\n"), "\(auto)")
        let absent = try service.docker(["pull", "127.0.0.1:\(port)/bb:3"])
        #expect(absent.status != 0, "\(absent)")
        #expect(try service.docker(["tag", fixture.image, "localhost/other:1"]).status == 0)
        let images = try service.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(
            Set(images.stdout.split(separator: "\n")) == [
                "127.0.0.1:\(port)/bb:1", "127.0.0.1:\(port)/bb:2", "localhost/loaded:bb", "localhost/other:1",
            ],
            "\(images)")
        let inspect = try service.docker(["image", "inspect", "--format", "{{.Os}} {{.Config.Cmd}}", "localhost/other:1"])
        #expect(inspect.stdout == "linux [sh]\n", "\(inspect)")
        // A container uses the image: its other names can go, the last one only with force.
        #expect(try service.docker(["create", "--name", "user", fixture.image]).status == 0)
        let untag = try service.docker(["rmi", "localhost/other:1", "127.0.0.1:\(port)/bb:1", "127.0.0.1:\(port)/bb:2"])
        #expect(untag.status == 0 && untag.stdout.contains("Untagged: localhost/other:1"), "\(untag)")
        let last = try service.docker(["rmi", fixture.image])
        #expect(last.status == 1 && last.stderr.contains("is used by container"), "\(last)")
        #expect(try service.docker(["images", "-q"]).stdout.split(separator: "\n").count == 1)
    }

    @Test(.enabled(if: dockerPyInstalled, "needs docker-py (pip docker)"))
    func dockerPyRunsWaitsReadsLogsAndRemoves() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let script = """
            import docker, sys
            client = docker.from_env()
            container = client.containers.run(sys.argv[1], ["sh", "-c", "echo from-py; echo err-py >&2; exit 2"], detach=True)
            print(container.wait(timeout=30)["StatusCode"])
            print(container.logs(stderr=False).decode(), end="")
            print(container.logs(stdout=False).decode(), end="")
            box = client.containers.run(sys.argv[1], ["sleep", "300"], detach=True)
            result = box.exec_run(["sh", "-c", "echo in-exec; exit 5"])
            print(result.exit_code, result.output.decode(), end="")
            box.remove(force=True)
            container.reload()
            print(container.status, container.attrs["State"]["ExitCode"])
            container.remove()
            print(len(client.containers.list(all=True)))
            """
        let result = try run(["/usr/bin/env", "python3", "-c", script, fixture.image], check: false, environment: service.environment)
        #expect(result.status == 0 && result.stdout == "2\nfrom-py\nerr-py\n5 in-exec\nexited 2\n0\n", "\(result)")
        #expect(fixture.containerIDs().isEmpty)
    }

    @Test(.enabled(if: networkTestsEnabled, networkSkipReason))
    func networksAndVolumesThroughTheDockerCLI() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let (network, volume) = ("apinet-\(suffix)", "apivol-\(suffix)")
        let created = try service.docker(["network", "create", "--label", "team=a", network])
        #expect(created.status == 0, "\(created)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            try service.docker(["network", "ls", "--filter", "label=team=a", "--format", "{{.Name}} {{.Driver}}"]).stdout
                == "\(network) bridge\n")
        #expect(try service.docker(["network", "ls", "--filter", "label=team=b", "-q"]).stdout == "")
        #expect(try service.docker(["network", "create", network]).stderr.contains("already exists"))
        let isolated = try service.docker(["network", "create", "--internal", "in-\(suffix)"])
        #expect(isolated.status != 0 && isolated.stderr.contains("internal networks are not supported"), "\(isolated)")
        // Two containers on it resolve each other by name and alias; a third joins with network connect.
        #expect(
            try service.docker([
                "run", "-d", "--name", "web-\(suffix)", "--network", network, "--network-alias", "www-\(suffix)", fixture.image, "sleep",
                "60",
            ]).status == 0)
        for name in ["web-\(suffix)", "www-\(suffix)"] {
            let ping = try service.docker(["run", "--rm", "--network", network, fixture.image, "busybox", "ping", "-c1", "-W2", name])
            #expect(ping.status == 0, "ping \(name): \(ping)")
        }
        #expect(
            try service.docker(["run", "-d", "--name", "late-\(suffix)", "--network", "none", fixture.image, "sleep", "60"]).status == 0)
        let refused = try service.docker(["network", "connect", network, "late-\(suffix)"])
        #expect(refused.status != 0 && refused.stderr.contains("private (none) mode"), "\(refused)")
        #expect(try service.docker(["run", "-d", "--name", "joins-\(suffix)", fixture.image, "sleep", "60"]).status == 0)
        let connect = try service.docker(["network", "connect", "--alias", "j-\(suffix)", network, "joins-\(suffix)"])
        #expect(connect.status == 0, "\(connect)")
        let joined = try service.docker(["exec", "web-\(suffix)", "busybox", "ping", "-c1", "-W2", "j-\(suffix)"])
        #expect(joined.status == 0, "\(joined)")
        let members = try service.docker([
            "network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", id.prefix(12).description,
        ])
        #expect(
            Set(members.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }) == [
                "web-\(suffix)", "joins-\(suffix)",
            ], "\(members)")
        #expect(try service.docker(["network", "disconnect", network, "joins-\(suffix)"]).status == 0)
        let inUse = try service.docker(["network", "rm", network])
        #expect(inUse.status != 0 && inUse.stderr.contains("web-\(suffix)"), "\(inUse)")

        // A named volume: made, written by one container, read by another through --mount.
        #expect(try service.docker(["volume", "create", "--label", "k=v", volume]).stdout == volume + "\n")
        #expect(try service.docker(["run", "--rm", "-v", volume + ":/data", fixture.image, "sh", "-c", "echo kept > /data/f"]).status == 0)
        let read = try service.docker([
            "run", "--rm", "--mount", "type=volume,source=\(volume),target=/d,readonly", fixture.image, "cat", "/d/f",
        ])
        #expect(read.status == 0 && read.stdout == "kept\n", "\(read)")
        #expect(try service.docker(["volume", "ls", "--filter", "label=k=v", "-q"]).stdout == volume + "\n")
        let mountpoint = try service.docker(["volume", "inspect", "--format", "{{.Mountpoint}}", volume]).stdout
        #expect(mountpoint.hasPrefix(fixture.root + "/volumes/"), "\(mountpoint)")
        #expect(try service.docker(["volume", "inspect", "no-such-\(suffix)"]).stderr.contains("no such volume"))
        // Ulimits and tmpfs mounts reach the container; other log drivers are refused with the reason.
        let limits = try service.docker([
            "run", "--rm", "--ulimit", "nofile=100:200", "--mount", "type=tmpfs,target=/scratch", fixture.image, "sh", "-c",
            "ulimit -n; grep -c ' /scratch tmpfs' /proc/mounts",
        ])
        #expect(limits.status == 0 && limits.stdout == "100\n1\n", "\(limits)")
        let syslog = try service.docker(["create", "--log-driver", "syslog", fixture.image])
        #expect(syslog.status != 0 && syslog.stderr.contains("'syslog' is not supported"), "\(syslog)")
        let user = try service.docker(["run", "-d", "--name", "user-\(suffix)", "-v", volume + ":/v", fixture.image, "sleep", "60"])
        #expect(user.status == 0)
        let busy = try service.docker(["volume", "rm", volume])
        #expect(busy.status != 0 && busy.stderr.contains("in use"), "\(busy)")
        #expect(try service.docker(["volume", "prune", "--all", "-f"]).status == 0)
        #expect(try service.docker(["volume", "ls", "-q"]).stdout == volume + "\n")

        // Everything removed: prunes leave nothing.
        #expect(try service.docker(["rm", "-f", "web-\(suffix)", "late-\(suffix)", "joins-\(suffix)", "user-\(suffix)"]).status == 0)
        #expect(try service.docker(["network", "prune", "-f"]).stdout.contains(network))
        #expect(try service.docker(["volume", "prune", "--all", "-f"]).stdout.contains(volume))
        #expect(try service.docker(["volume", "ls", "-q"]).stdout == "")
        #expect(try service.docker(["network", "ls", "--filter", "type=custom", "-q"]).stdout == "")
    }

    @Test(.enabled(if: networkTestsEnabled && dockerPyInstalled, "needs docker-py (pip docker) and the network tools"))
    func dockerPyMakesNetworksAndVolumes() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let subnet = "10.199.\(getpid() % 200).0/24"
        let script = """
            import docker, sys
            image, suffix, subnet = sys.argv[1:4]
            client = docker.from_env()
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
            net = client.networks.create("py-" + suffix, driver="bridge", ipam=ipam, labels={"by": "py"})
            print(net.name, net.attrs["IPAM"]["Config"][0]["Subnet"] == subnet, net.attrs["Labels"])
            vol = client.volumes.create("pyvol-" + suffix, labels={"by": "py"})
            print(vol.name, vol.attrs["Driver"])
            box = client.containers.run(image, ["sh", "-c", "echo py > /v/f; sleep 60"], detach=True,
                                        network=net.name, volumes={vol.name: {"bind": "/v", "mode": "rw"}})
            net.reload()
            print([c.id == box.id for c in net.containers])
            print(box.exec_run(["cat", "/v/f"]).output.decode(), end="")
            other = client.containers.run(image, ["sleep", "60"], detach=True)
            net.connect(other, aliases=["other-" + suffix])
            print(box.exec_run(["busybox", "ping", "-c1", "-W2", "other-" + suffix]).exit_code)
            net.disconnect(other)
            for c in (box, other):
                c.remove(force=True)
            print([v.name for v in client.volumes.list(filters={"label": "by=py"})])
            net.remove()
            print(client.volumes.prune(filters={"all": "true"})["VolumesDeleted"])
            print([n.name for n in client.networks.list(filters={"type": "custom"})])
            """
        let result = try run(
            ["/usr/bin/env", "python3", "-c", script, fixture.image, String(suffix), subnet], check: false, environment: service.environment
        )
        #expect(
            result.status == 0
                && result.stdout == """
                    py-\(suffix) True {'by': 'py'}
                    pyvol-\(suffix) local
                    [True]
                    py
                    0
                    ['pyvol-\(suffix)']
                    ['pyvol-\(suffix)']
                    []

                    """,
            "\(result)")
        #expect(fixture.containerIDs().isEmpty)
    }

    /// `docker pause`/`unpause` and `docker update` through the engine's freezer and limits.
    @Test func pauseUnpauseAndUpdate() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        #expect(try service.docker(["run", "-d", "--name", "frozen", "-m", "64m", fixture.image, "sleep", "300"]).status == 0)
        #expect(try service.docker(["pause", "frozen"]).status == 0)
        let paused = try service.docker(["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "frozen"])
        #expect(paused.stdout == "paused true\n", "\(paused)")
        #expect(try service.docker(["ps", "--filter", "status=paused", "--format", "{{.Names}}"]).stdout == "frozen\n")
        #expect(try service.docker(["unpause", "frozen"]).status == 0)
        #expect(try service.docker(["unpause", "frozen"]).status != 0)
        let update = try service.docker([
            "update", "--memory", "96m", "--memory-swap", "128m", "--cpus", "1", "--restart", "on-failure:3", "frozen",
        ])
        #expect(update.status == 0, "\(update)")
        let limits = try service.docker([
            "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}", "frozen",
        ])
        #expect(limits.stdout == "\(96 << 20) 1000000000 on-failure\n", "\(limits)")
        let refused = try service.docker(["update", "--cpus", "4096", "frozen"])
        #expect(refused.status != 0 && refused.stderr.contains("CPUs available"), "\(refused)")
    }

    @Test func topStatsCpRenamePruneHistorySaveLoadAndDiskUsage() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        #expect(try service.docker(["run", "-d", "--name", "box", fixture.image, "sleep", "300"]).status == 0)
        let top = try service.docker(["top", "box"])
        #expect(top.status == 0 && top.stdout.contains("PID") && top.stdout.contains("sleep 300"), "\(top)")
        let stats = try service.docker(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}} {{.NetIO}}", "box"])
        #expect(stats.status == 0 && stats.stdout.hasPrefix("box 1 ") && !stats.stdout.contains("--"), "\(stats)")
        let percent = try service.docker(["stats", "--no-stream", "--format", "{{.CPUPerc}}", "box"])
        #expect(percent.stdout.hasSuffix("%\n"), "\(percent)")
        // The stream goes on until the client goes; a killed client releases it.
        let streamed = try run(
            ["/usr/bin/timeout", "-s", "KILL", "2.5", dockerCLI!, "stats", "--format", "{{.Name}}", "box"], check: false,
            environment: service.environment)
        #expect([9, 137].contains(streamed.status), "\(streamed)")

        // cp both ways: a file and a directory in, a file out, the stat header behind docker's naming.
        let host = fixture.path + "/cp"
        try FileManager.default.createDirectory(atPath: host + "/dir/sub", withIntermediateDirectories: true)
        try "in-file\n".write(toFile: host + "/in.txt", atomically: true, encoding: .utf8)
        try "deep\n".write(toFile: host + "/dir/sub/deep.txt", atomically: true, encoding: .utf8)
        #expect(try service.docker(["cp", host + "/in.txt", "box:/tmp/"]).status == 0)
        #expect(try service.docker(["cp", host + "/dir", "box:/tmp/copied"]).status == 0)
        #expect(try service.docker(["exec", "box", "cat", "/tmp/in.txt", "/tmp/copied/sub/deep.txt"]).stdout == "in-file\ndeep\n")
        #expect(try service.docker(["cp", "box:/tmp/copied", host + "/back"]).status == 0)
        #expect(try String(contentsOfFile: host + "/back/sub/deep.txt", encoding: .utf8) == "deep\n")
        #expect(try service.docker(["cp", "box:/etc/hostname", host + "/hostname"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: host + "/hostname"))
        // Paths stay inside the container: /../../etc/passwd is the container's own.
        #expect(try service.docker(["cp", "box:/../../etc/passwd", host + "/passwd"]).status == 0)
        #expect(
            try String(contentsOfFile: host + "/passwd", encoding: .utf8) == service.docker(["exec", "box", "cat", "/etc/passwd"]).stdout)
        let missing = try service.docker(["cp", "box:/no/such", host + "/x"])
        #expect(missing.status != 0 && missing.stderr.contains("Could not find the file /no/such"), "\(missing)")

        // rename, then prune of stopped containers only.
        #expect(try service.docker(["rename", "box", "renamed"]).status == 0)
        #expect(try service.docker(["inspect", "--format", "{{.Name}}", "renamed"]).stdout == "/renamed\n")
        #expect(try service.docker(["run", "--name", "done", fixture.image, "true"]).status == 0)
        let pruned = try service.docker(["container", "prune", "-f"])
        #expect(pruned.status == 0 && pruned.stdout.contains("Deleted Containers"), "\(pruned)")
        #expect(try service.docker(["ps", "-a", "--format", "{{.Names}}"]).stdout == "renamed\n")

        // history, system df, save and load, image prune.
        let history = try service.docker(["history", "--format", "{{.Size}}", fixture.image])
        #expect(history.status == 0 && !history.stdout.isEmpty, "\(history)")
        let df = try service.docker(["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"])
        #expect(df.status == 0 && df.stdout.contains("Images 1 1") && df.stdout.contains("Containers 1 1"), "\(df)")
        let archive = fixture.path + "/saved.tar"
        #expect(try service.docker(["save", "-o", archive, fixture.image]).status == 0)
        #expect(try service.docker(["tag", fixture.image, "localhost/copy:1"]).status == 0)
        #expect(try service.docker(["rmi", "localhost/copy:1"]).status == 0)
        let load = try service.docker(["load", "-i", archive])
        #expect(load.status == 0 && load.stdout.contains("Loaded image: \(fixture.image)"), "\(load)")
        let notArchive = try run(["/bin/sh", "-c", "echo junk | \(dockerCLI!) load"], check: false, environment: service.environment)
        #expect(notArchive.status != 0, "\(notArchive)")
        #expect(try service.docker(["image", "prune", "-a", "-f"]).status == 0)
        #expect(try service.docker(["images", "-q"]).stdout.split(separator: "\n").count == 1, "the image a container uses stays")
        #expect(try service.docker(["rm", "-f", "renamed"]).status == 0)
    }

    @Test(
        .enabled(
            if: ["/usr/bin/docker-registry", "/usr/bin/htpasswd"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) },
            "needs docker-registry and htpasswd (scripts/install-deps.sh)"))
    func loginPushAndPullWithTheClientsCredentials() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let authFile = fixture.path + "/skiff-auth.json"
        let service = try APIService(fixture, extraArguments: ["--authfile", authFile])
        defer { service.stop() }
        _ = try run(["/usr/bin/htpasswd", "-Bbc", fixture.path + "/htpasswd", "pusher", "s3cret"])
        let registry = try LoopbackRegistry(directory: fixture.path, htpasswd: fixture.path + "/htpasswd")
        defer { registry.stop() }
        let server = "127.0.0.1:\(registry.port)"
        #expect(try eventually(10) { try service.curl("GET", "/_ping").status == 200 })
        let wrong = try service.docker(["login", server, "-u", "pusher", "-p", "wrong"])
        #expect(wrong.status != 0, "\(wrong)")
        #expect(try eventually(10) { try service.docker(["login", server, "-u", "pusher", "-p", "s3cret"]).status == 0 })
        #expect(try String(contentsOfFile: authFile, encoding: .utf8).contains(server), "stored like skiff login")
        let image = "\(server)/pushed:1"
        #expect(try service.docker(["tag", fixture.image, image]).status == 0)
        let push = try service.docker(["push", image])
        #expect(push.status == 0 && push.stdout.contains("digest: sha256:"), "\(push)")
        // Only the client holds credentials now: the pull works through X-Registry-Auth alone...
        try FileManager.default.removeItem(atPath: authFile)
        #expect(try service.docker(["rmi", image]).status == 0)
        let pull = try service.docker(["pull", image])
        #expect(pull.status == 0, "\(pull)")
        // ...and fails without it.
        #expect(try service.docker(["rmi", image]).status == 0)
        #expect(try service.docker(["logout", server]).status == 0)
        let refused = try service.docker(["pull", image])
        #expect(refused.status != 0, "\(refused)")
    }

    @Test func eventsStreamLiveAndFromTheJournalThroughDockerAndSkiff() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let begin = String(format: "%.3f", Date().timeIntervalSince1970 - 1)
        // A live `docker events` sees a container start made afterwards (by the CLI, not the API).
        let output = fixture.path + "/events.out"
        let watcher = Foundation.Process()
        watcher.executableURL = URL(fileURLWithPath: dockerCLI!)
        watcher.arguments = [
            "events", "--filter", "type=container", "--filter", "event=start", "--format", "{{.Action}} {{.Actor.Attributes.name}}",
        ]
        watcher.environment = service.environment
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        watcher.standardOutput = FileHandle(forWritingAtPath: output)
        watcher.standardError = FileHandle.nullDevice
        try watcher.run()
        defer {
            if watcher.isRunning { kill(watcher.processIdentifier, SIGKILL) }
            watcher.waitUntilExit()
        }
        #expect(eventually(10) { (try? service.curl("GET", "/_ping").status) == 200 })
        #expect(try fixture.skiff("run", ["-d", "--name", "ev", fixture.image, "sleep", "60"]).status == 0)
        #expect(eventually(10) { (try? String(contentsOfFile: output, encoding: .utf8)) == "start ev\n" })
        #expect(try service.docker(["rename", "ev", "ev2"]).status == 0)
        #expect(try service.docker(["stop", "-t", "1", "ev2"]).status == 0)
        #expect(try service.docker(["rm", "ev2"]).status == 0)
        #expect(try service.docker(["tag", fixture.image, "localhost/evtag:1"]).status == 0)
        #expect(try service.docker(["rmi", "localhost/evtag:1"]).status == 0)
        for kind in ["network", "volume"] {
            #expect(try service.docker([kind, "create", "ev\(kind)"]).status == 0)
            #expect(try service.docker([kind, "rm", "ev\(kind)"]).status == 0)
        }
        let end = String(format: "%.3f", Date().timeIntervalSince1970 + 1)
        // The journal from --since to --until: every container change in order, and the monitor's die.
        let past = try service.docker([
            "events", "--since", begin, "--until", end, "--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}",
        ])
        // (stop returns when the program is gone; the monitor records its die about then, in either order.)
        let actions = past.stdout.split(separator: "\n").map(String.init)
        #expect(past.status == 0 && actions.count == 6, "\(past)")
        #expect(Array(actions.prefix(3)) == ["create ev", "start ev", "rename ev2"] && actions.last == "destroy ev2", "\(past)")
        #expect(Set(actions.dropFirst(3).prefix(2)) == ["die ev2", "stop ev2"], "\(past)")
        let images = try service.docker(["events", "--since", begin, "--until", end, "--filter", "type=image", "--format", "{{.Action}}"])
        #expect(images.stdout == "tag\nuntag\n", "\(images)")
        for kind in ["network", "volume"] {
            let changes = try service.docker([
                "events", "--since", begin, "--until", end, "--filter", "type=\(kind)", "--format",
                "{{.Action}} {{.Actor.Attributes.name}}{{.Actor.ID}}",
            ])
            #expect(changes.stdout.split(separator: "\n").map { $0.split(separator: " ")[0] } == ["create", "destroy"], "\(changes)")
        }
        let skiff = try fixture.skiff(
            "events", ["--since", begin, "--until", end, "--filter", "event=die", "--format", "{{.Type}} {{.Actor.Attributes.exitCode}}"])
        #expect(skiff.status == 0 && skiff.stdout == "container 143\n" || skiff.stdout == "container 137\n", "\(skiff)")
        let plain = try fixture.skiff("events", ["--since", begin, "--until", end, "--filter", "container=ev"])
        #expect(plain.stdout.contains(" container create ") && plain.stdout.contains("name=ev"), "\(plain)")
        let bad = try fixture.skiff("events", ["--filter", "colour=red", "--until", "0s"])
        #expect(bad.status != 0 && bad.stderr.contains("invalid event filter"), "\(bad)")
    }

    /// docker-compose 1.29 (Debian's, on its own docker-py 5) brings a two-service project up
    /// and down: a user network, a named volume, a published port, depends_on.
    @Test(
        .enabled(
            if: networkTestsEnabled && FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-compose"),
            "needs docker-compose (scripts/install-deps.sh) and the network tools"))
    func composeUpPsLogsExecDown() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let port = freeLoopbackPort()
        let project = "c" + UUID().uuidString.prefix(6).lowercased()
        let file = fixture.path + "/docker-compose.yml"
        try """
        version: "3.8"
        services:
          db:
            image: \(fixture.image)
            command: ["sh", "-c", "mkdir -p /www && echo from-db > /www/index.html && echo db-ready && echo kept > /data/mark && httpd -f -p 80 -h /www"]
            volumes: ["data:/data"]
            networks: [back]
          web:
            image: \(fixture.image)
            command: ["sh", "-c", "mkdir -p /www && echo from-web > /www/index.html && echo web-up && httpd -f -p 80 -h /www"]
            depends_on: [db]
            ports: ["127.0.0.1:\(port):80"]
            networks: [back]
        networks:
          back: {}
        volumes:
          data: {}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        func compose(_ arguments: [String]) throws -> CommandResult {
            try run(["/usr/bin/docker-compose", "-f", file, "-p", project] + arguments, check: false, environment: service.environment)
        }
        let up = try compose(["up", "-d"])
        #expect(up.status == 0, "\(up)")
        let ps = try compose(["ps"])
        #expect(ps.status == 0 && ps.stdout.contains("\(project)_db_1") && ps.stdout.contains("127.0.0.1:\(port)->80/tcp"), "\(ps)")
        #expect(ps.stdout.split(separator: "\n").filter { $0.contains(" Up ") }.count == 2, "\(ps)")
        #expect(
            try eventually(10) {
                try run(["/usr/bin/curl", "-s", "--max-time", "2", "http://127.0.0.1:\(port)/"], check: false).stdout == "from-web\n"
            })
        let exec = try compose(["exec", "-T", "web", "wget", "-qO-", "http://db/"])
        #expect(exec.status == 0 && exec.stdout == "from-db\n", "\(exec)")
        #expect(try compose(["exec", "-T", "db", "cat", "/data/mark"]).stdout == "kept\n")
        let logs = try compose(["logs", "--no-color"])
        #expect(logs.status == 0 && logs.stdout.contains("db-ready") && logs.stdout.contains("web-up"), "\(logs)")
        let down = try compose(["down", "-v", "-t", "1"])
        #expect(down.status == 0, "\(down)")
        #expect(fixture.containerIDs().isEmpty)
        #expect(try service.docker(["network", "ls", "--filter", "type=custom", "-q"]).stdout == "")
        #expect(try service.docker(["volume", "ls", "-q"]).stdout == "")
    }

    @Test func containersOutliveAKilledServiceAndANewOneServesThem() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let started = try service.docker(["run", "-d", "--name", "survivor", fixture.image, "sleep", "100"])
        #expect(started.status == 0, "\(started)")
        try service.killAndRestart()
        #expect(try fixture.skiff("ps", ["--format", "{{.Names}} {{.State}}"]).stdout == "survivor running\n")
        #expect(try service.docker(["ps", "--format", "{{.Names}} {{.State}}"]).stdout == "survivor running\n")
        let removed = try service.docker(["rm", "-f", "survivor"])
        #expect(removed.status == 0, "\(removed)")
        #expect(fixture.containerIDs().isEmpty)
    }

    /// skiff's signal mask and ignored signals survive the execve into skiff-api: SIGTERM and
    /// SIGINT were blocked there, and a service serving until stopped could not be stopped.
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalStopsTheServiceAndRemovesItsSocket(signal: Int32) throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        #expect(try service.docker(["run", "-d", "--name", "stays", fixture.image, "sleep", "100"]).status == 0)
        kill(service.process.processIdentifier, signal)
        #expect(eventually(10) { !service.process.isRunning }, "the service ignored signal \(signal)")
        #expect(!service.process.isRunning && service.process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: service.socket))
        #expect(try fixture.skiff("ps", ["--format", "{{.Names}} {{.State}}"]).stdout == "stays running\n")
    }

    @Test func errorsAreDockersShapeAndUnsupportedAreasAnswerAtOnce() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let service = try APIService(fixture)
        defer { service.stop() }
        let ping = try service.curl("GET", "/_ping")
        #expect(ping.status == 200 && ping.body == "OK")
        #expect(try service.curl("HEAD", "/_ping").status == 200)
        // A HEAD's error is the head alone: a body after it would be read as the next response on
        // the connection (the docker CLI's `cp` stats with HEAD, then copies on the same one).
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
            s.sendall(b"HEAD /v1.44/containers/nosuch/archive?path=/x HTTP/1.1\\r\\nHost: skiff\\r\\n\\r\\n"
                      b"GET /_ping HTTP/1.1\\r\\nHost: skiff\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
            head, _, rest = data.partition(b"\\r\\n\\r\\n")
            print(head.split(b"\\r\\n")[0].decode()); print(rest[:15].decode(errors="replace"))
            """
        let reused = try run(["/usr/bin/python3", "-c", script, service.socket], check: false)
        #expect(reused.status == 0 && reused.stdout == "HTTP/1.1 404 Not Found\nHTTP/1.1 200 OK\n", "\(reused)")
        let tooNew = try service.curl("GET", "/v1.99/version")
        #expect(tooNew.status == 400 && tooNew.body.contains("\"message\":\"client version 1.99 is too new"), "\(tooNew)")
        let missing = try service.curl("GET", "/v1.44/containers/nosuch/json")
        #expect(missing.status == 404 && missing.body == #"{"message":"No such container: nosuch"}"#, "\(missing)")
        let swarm = try service.curl("GET", "/v1.44/swarm")
        #expect(swarm.status == 503 && swarm.body.contains("swarm"), "\(swarm)")
        let unknown = try service.curl("GET", "/v1.44/nothing/here")
        #expect(unknown.status == 404 && unknown.body.contains("page not found"))
        let badBody = try run(
            [
                "/usr/bin/curl", "-s", "--unix-socket", service.socket, "-X", "POST", "-H", "Content-Type: application/json",
                "-d", #"{"Image": ["not", "a", "string"]}"#, "-w", "\n%{http_code}", "http://skiff/v1.44/containers/create",
            ],
            check: false)
        #expect(badBody.stdout.hasSuffix("\n400") && badBody.stdout.contains("message"), "\(badBody)")
        let large = fixture.path + "/large.json"
        try Data(repeating: UInt8(ascii: " "), count: 5 << 20).write(to: URL(fileURLWithPath: large))
        let oversized = try run(
            [
                "/usr/bin/curl", "-s", "--unix-socket", service.socket, "-X", "POST", "-H", "Content-Type: application/json",
                "--data-binary", "@" + large, "-w", "\n%{http_code}", "http://skiff/v1.44/containers/create",
            ], check: false)
        #expect(oversized.stdout.hasSuffix("\n400") && oversized.stdout.contains("larger than"), "\(oversized)")
        #expect(try service.curl("GET", "/_ping").status == 200, "the service still answers")
        let noImage = try service.docker(["create", "--pull", "never", "localhost/absent:1"])
        #expect(noImage.status != 0 && noImage.stderr.contains("No such image"), "\(noImage)")
        let nodes = try service.docker(["node", "ls"])
        #expect(nodes.status != 0 && nodes.stderr.contains("swarm"), "\(nodes)")
        #expect(fixture.containerIDs().isEmpty)
    }

    @Test func tcpOnLoopbackAndTheIdleTimeEndsTheService() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let refused = try run(
            [
                skiffBinary, "system", "service", "--root", fixture.root, "--runtime-root", fixture.runtimeRoot,
                "--host", "tcp://0.0.0.0:23750", "--time", "1",
            ], check: false)
        #expect(refused.status != 0 && refused.stderr.contains("loopback only"), "\(refused)")
        let help = try run([skiffBinary, "system", "service", "--help"], check: false)
        #expect(help.stdout.contains("loopback only"))
        // The server is skiff-api beside skiff (SwiftNIO stays out of skiff's own start): without it, the reason.
        try FileManager.default.copyItem(atPath: skiffBinary, toPath: fixture.path + "/skiff")
        let alone = try run(
            [fixture.path + "/skiff", "system", "service", "--root", fixture.root, "--host", "unix://\(fixture.path)/x.sock"],
            check: false)
        #expect(alone.status == 125 && alone.stderr.contains("skiff-api is missing"), "\(alone)")
        let port = freeLoopbackPort()
        let service = try APIService(fixture, host: "tcp://127.0.0.1:\(port)", time: "2")
        defer { service.stop() }
        #expect(
            try eventually(10) {
                try service.docker(["version", "--format", "{{.Server.APIVersion}}"], host: "tcp://127.0.0.1:\(port)").stdout == "1.44\n"
            })
        // No connection for 2 seconds: the service ends by itself.
        #expect(eventually(15) { !service.process.isRunning })
        #expect(service.process.terminationStatus == 0)
    }
}

import Foundation
import Testing

/// docker's command line as a docker user types it (issue #14), table-driven: each row is the
/// command, the exit code docker gives, and what must be seen on stdout or stderr. The store
/// and runtime roots are given as global options before the command, as `docker`/`podman` take them.
@Suite(.enabled(if: engineTestsEnabled, skipReason))
struct CLICompatibilityTests {
    struct Row: CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var stdout: String? = nil
        var stderr: String? = nil
        var description: String { "skiff " + arguments.joined(separator: " ") }
    }

    func check(_ rows: [Row], fixture: EngineFixture) throws {
        for row in rows {
            let arguments = row.arguments.map { $0.replacingOccurrences(of: "$IMAGE", with: fixture.image) }
            let result = try run(
                [skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot] + arguments, check: false)
            #expect(result.status == row.status, "\(row): exit \(result.status), stderr \(result.stderr)")
            if let stdout = row.stdout { #expect(result.stdout.contains(stdout), "\(row): stdout \(result.stdout)") }
            if let stderr = row.stderr { #expect(result.stderr.contains(stderr), "\(row): stderr \(result.stderr)") }
        }
    }

    @Test func globalOptionsVersionAndInfo() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try check(
            [
                // Global options before the command reach every command, images and containers alike.
                Row(arguments: ["images", "--format", "{{.Repository}}:{{.Tag}}"], status: 0, stdout: fixture.image),
                Row(arguments: ["ps", "-a", "-q"], status: 0),
                Row(arguments: ["run", "--rm", "$IMAGE", "echo", "hello"], status: 0, stdout: "hello"),
                // `--flag=value` spelling, and -l as docker's short --log-level.
                Row(arguments: ["--log-level=error", "images", "-q"], status: 0),
                Row(arguments: ["-l", "debug", "ps"], status: 0, stderr: "skiff: debug: store \(fixture.root)"),
                Row(arguments: ["-D", "ps"], status: 0, stderr: "skiff: debug:"),
                Row(arguments: ["--log-level", "loud", "ps"], status: 125, stderr: "invalid --log-level 'loud'"),
                Row(arguments: ["--no-such-flag", "ps"], status: 125, stderr: "unknown flag: --no-such-flag"),
                Row(arguments: ["-H", "unix:///x.sock", "ps"], status: 125, stderr: "skiff system service"),
                // Version and info, with docker's templates.
                Row(arguments: ["-v"], status: 0, stdout: "skiff version "),
                Row(arguments: ["--version"], status: 0, stdout: "skiff version "),
                Row(arguments: ["version"], status: 0, stdout: "Client:"),
                Row(arguments: ["version", "--format", "{{.Client.Os}}/{{.Server.Os}}"], status: 0, stdout: "linux/linux"),
                Row(arguments: ["info"], status: 0, stdout: "Root Dir: \(fixture.root)"),
                Row(arguments: ["info", "--format", "{{.DockerRootDir}}"], status: 0, stdout: fixture.root),
                Row(arguments: ["system", "info", "--format", "json"], status: 0, stdout: "\"ServerVersion\""),
            ], fixture: fixture)

        // The same option after the command wins over the one before it.
        let other = fixture.path + "/other-root"
        let after = try run([skiffBinary, "--root", other, "images", "--root", fixture.root, "-q"], check: false)
        #expect(after.status == 0 && !after.stdout.isEmpty, "\(after.stderr)")
        #expect(!FileManager.default.fileExists(atPath: other + "/store.lock"))
    }

    /// --network none: a namespace of its own with loopback up, as docker and podman give.
    @Test func networkNoneHasLoopbackUp() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        try check(
            [
                Row(
                    arguments: [
                        "run", "--rm", "--network", "none", "$IMAGE", "sh", "-c",
                        "ip -o link show lo; busybox ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping-ok",
                    ],
                    status: 0, stdout: "ping-ok"),
                Row(
                    arguments: ["run", "--rm", "--network", "none", "$IMAGE", "sh", "-c", "ip -o link | grep -vc ' lo:'"], status: 1,
                    stdout: "0"),
            ], fixture: fixture)
    }

    /// --volumes-from, run -a, bind propagation and the OOM killer in inspect (DockerParityTests
    /// has the details).
    @Test func volumesFromAttachPropagationAndOOM() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "parity-\(UInt32.random(in: 0...UInt32.max))"
        try check(
            [
                Row(arguments: ["create", "--name", name, "-v", "/data", "$IMAGE"], status: 0),
                Row(
                    arguments: ["run", "--rm", "--volumes-from", name, "$IMAGE", "sh", "-c", "echo hi > /data/f && cat /data/f"], status: 0,
                    stdout: "hi"),
                Row(arguments: ["run", "--rm", "--volumes-from", name + ":ro", "$IMAGE", "cat", "/data/f"], status: 0, stdout: "hi"),
                Row(arguments: ["run", "--rm", "--volumes-from", name + ":ro", "$IMAGE", "touch", "/data/g"], status: 1),
                Row(arguments: ["run", "--rm", "--volumes-from", "no-such-container", "$IMAGE", "true"], status: 125),
                Row(arguments: ["run", "--rm", "-a", "stdout", "$IMAGE", "sh", "-c", "echo out; echo err >&2"], status: 0, stdout: "out"),
                Row(arguments: ["run", "--rm", "-a", "stderr", "$IMAGE", "sh", "-c", "echo out; echo err >&2"], status: 0, stderr: "err"),
                Row(arguments: ["run", "-d", "-a", "stdout", "$IMAGE", "true"], status: 125, stderr: "-a and -d"),
                Row(arguments: ["create", "--name", name + "-a", "-a", "stdout", "$IMAGE", "echo", "created-a"], status: 0),
                Row(arguments: ["start", "-a", name + "-a"], status: 0, stdout: "created-a"),
                Row(arguments: ["create", "-a", "stdsideways", "$IMAGE", "true"], status: 125, stderr: "STDIN, STDOUT and STDERR"),
                Row(
                    arguments: [
                        "run", "--rm", "--mount", "type=bind,source=\(fixture.path),target=/v,bind-propagation=rprivate", "$IMAGE", "true",
                    ], status: 0),
                Row(
                    arguments: [
                        "run", "--name", name + "-oom", "-m", "16m", "$IMAGE", "sh", "-c", "x=0123456789; while :; do x=$x$x; done",
                    ],
                    status: 137),
                Row(arguments: ["inspect", "-f", "{{.State.OOMKilled}}", name + "-oom"], status: 0, stdout: "true"),
                // system df -v and search (DockerParityTests searches a loopback registry's catalog).
                Row(arguments: ["system", "df", "-v"], status: 0, stdout: "Local Volumes space usage:"),
                Row(arguments: ["search", "busybox"], status: 1, stderr: "Docker Hub has none"),
            ], fixture: fixture)
    }

    /// docker's network flags: --network container:NAME (the other container's namespace and
    /// hostname, port publishing refused, NetworkMode by ID), --mac-address (unicast, bridge
    /// networks only), -p with an IPv6 host address in brackets, and `network create --ipv6`.
    @Test func networkModeMACAndIPv6Ports() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "netc-\(UInt32.random(in: 0...UInt32.max))"
        var rows = [
            Row(arguments: ["run", "-d", "--name", name, "--hostname", "web1", "$IMAGE", "sleep", "300"], status: 0),
            Row(arguments: ["run", "--rm", "--network", "container:\(name)", "$IMAGE", "hostname"], status: 0, stdout: "web1"),
            Row(
                arguments: ["run", "--rm", "--network", "container:\(name)", "-p", "80:80", "$IMAGE", "true"], status: 125,
                stderr: "conflicting options: port publishing and the container type network mode"),
            Row(arguments: ["run", "--rm", "--network", "container:no-such-container", "$IMAGE", "true"], status: 125),
            Row(arguments: ["create", "--name", name + "-j", "--network", "container:\(name)", "$IMAGE", "true"], status: 0),
            Row(arguments: ["inspect", "-f", "{{.HostConfig.NetworkMode}}", name + "-j"], status: 0, stdout: "container:"),
            Row(
                arguments: ["run", "--rm", "--mac-address", "02:42:ac:11:00:42", "$IMAGE", "cat", "/sys/class/net/eth0/address"], status: 0,
                stdout: "02:42:ac:11:00:42"),
            Row(
                arguments: ["run", "--rm", "--network", "none", "--mac-address", "02:42:ac:11:00:42", "$IMAGE", "true"], status: 125,
                stderr: "conflicting options: mac-address"),
            Row(arguments: ["run", "--rm", "--mac-address", "nope", "$IMAGE", "true"], status: 125, stderr: "--mac-address 'nope'"),
            Row(arguments: ["run", "--rm", "-p", "[::1]:8080:80/udp", "$IMAGE", "true"], status: 125, stderr: "UDP on an IPv6"),
        ]
        if hostHasIPv6Loopback {
            rows += [
                Row(arguments: ["run", "-d", "--name", name + "-6", "-p", "[::1]::80", "$IMAGE", "sleep", "300"], status: 0),
                Row(arguments: ["port", name + "-6"], status: 0, stdout: "80/tcp -> [::1]:"),
                // A dual-stack user network (its IPv6 subnet a unique local /64 when not given).
                Row(arguments: ["network", "create", "--ipv6", name + "-v6"], status: 0),
                Row(arguments: ["network", "inspect", "-f", "{{.EnableIPv6}}", name + "-v6"], status: 0, stdout: "true"),
                Row(
                    arguments: ["run", "--rm", "--network", name + "-v6", "$IMAGE", "ip", "-6", "-o", "addr", "show", "eth0"], status: 0,
                    stdout: "inet6 fd"),
                Row(arguments: ["network", "rm", name + "-v6"], status: 0),
            ]
        }
        rows.append(Row(arguments: ["network", "create", "--subnet", "fd00:1::/64", name + "-x"], status: 125, stderr: "needs --ipv6"))
        // The bridge plugin turns the host's IPv6 forwarding on for an IPv6 network, as docker's does: put back what was found.
        let forwardingPath = "/proc/sys/net/ipv6/conf/all/forwarding"
        let forwarding = try? String(contentsOfFile: forwardingPath, encoding: .utf8)
        defer { try? forwarding?.write(toFile: forwardingPath, atomically: false, encoding: .utf8) }
        try check(rows, fixture: fixture)
    }

    /// Commands and flags a docker user types every day: management-command spellings, ps's
    /// columns and filters, images REPOSITORY[:TAG], logs -n, port, pause/unpause, boolean flags
    /// with =true/=false, docker's "unknown command", and rmi -f refused under a running container.
    @Test func everydayCommands() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "cli-\(UInt32.random(in: 0...UInt32.max))"
        try check(
            [
                Row(
                    arguments: ["run", "-d", "--name", name, "-p", "127.0.0.1::80", "--label", "tier=web", "$IMAGE", "sleep", "300"],
                    status: 0),
                Row(arguments: ["run", "--name", name + "-x", "$IMAGE", "sh", "-c", "echo one; echo two; echo three; exit 3"], status: 3),
                // ps: docker's STATUS and CREATED with ages, -n/-l, --no-trunc, filters.
                Row(arguments: ["ps", "--format", "{{.Names}} {{.Status}}"], status: 0, stdout: "\(name) Up "),
                Row(arguments: ["ps", "-a", "--format", "{{.Status}}", "--filter", "exited=3"], status: 0, stdout: "Exited (3) "),
                Row(arguments: ["ps", "-a", "--format", "{{.RunningFor}}", "-l"], status: 0, stdout: " ago"),
                Row(arguments: ["ps", "-n", "1", "--format", "{{.Names}}"], status: 0, stdout: name + "-x"),
                Row(arguments: ["ps", "-a", "--filter", "name=^/cli-[0-9]+$", "--format", "{{.Names}}"], status: 0, stdout: name),
                Row(arguments: ["ps", "--filter", "label=tier=web", "--filter", "expose=80/tcp", "-q"], status: 0),
                Row(
                    arguments: ["ps", "-a", "--filter", "ancestor=$IMAGE", "--filter", "status=exited", "--format", "{{.Names}}"],
                    status: 0, stdout: name + "-x"),
                Row(arguments: ["ps", "-a", "--filter", "before=\(name)-x", "--format", "{{.Names}}"], status: 0, stdout: name),
                Row(arguments: ["ps", "--filter", "health=healthy", "-q"], status: 0),
                Row(arguments: ["ps", "--filter", "colour=red"], status: 125, stderr: "invalid filter 'colour'"),
                Row(arguments: ["ps", "-s"], status: 0, stdout: "(virtual "),
                Row(arguments: ["ps", "--no-trunc", "-q"], status: 0),
                // The management-command spellings.
                Row(arguments: ["container", "ls", "--format", "{{.Names}}"], status: 0, stdout: name),
                Row(arguments: ["container", "list", "-a", "-q"], status: 0),
                Row(arguments: ["container", "inspect", "-f", "{{.State.Running}}", name], status: 0, stdout: "true"),
                Row(arguments: ["image", "ls", "-q"], status: 0),
                Row(arguments: ["image", "list"], status: 0, stdout: "localhost/loaded"),
                // inspect: docker's State fields, always present.
                Row(
                    arguments: [
                        "inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.FinishedAt}} {{.State.Health.Status}}", name,
                    ],
                    status: 0, stdout: "false 0 0001-01-01T00:00:00Z none"),
                // images REPOSITORY[:TAG] and -a.
                Row(arguments: ["images", "localhost/loaded", "--format", "{{.Tag}}"], status: 0, stdout: "bb"),
                Row(arguments: ["images", "localhost/*:b*", "-q"], status: 0),
                Row(
                    arguments: ["images", "-a", "--filter", "dangling=false", "--format", "{{.Repository}}"], status: 0,
                    stdout: "localhost/loaded"),
                Row(arguments: ["images", "--filter", "dangling=maybe"], status: 1, stderr: "dangling"),
                // logs -n.
                Row(arguments: ["logs", "-n", "1", name + "-x"], status: 0, stdout: "three"),
                // port.
                Row(arguments: ["port", name], status: 0, stdout: "80/tcp -> 127.0.0.1:"),
                Row(arguments: ["port", name, "80/tcp"], status: 0, stdout: "127.0.0.1:"),
                Row(arguments: ["port", name, "81"], status: 125, stderr: "no public port '81'"),
                // pause and unpause.
                Row(arguments: ["pause", name], status: 0, stdout: name),
                Row(arguments: ["ps", "--filter", "status=paused", "--format", "{{.Status}}"], status: 0, stdout: "(Paused)"),
                Row(arguments: ["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name], status: 0, stdout: "paused true"),
                Row(arguments: ["pause", name], status: 1, stderr: "already paused"),
                Row(arguments: ["exec", name, "true"], status: 125, stderr: "paused"),
                Row(arguments: ["unpause", name], status: 0, stdout: name),
                Row(arguments: ["unpause", name], status: 1, stderr: "not paused"),
                Row(arguments: ["exec", name, "true"], status: 0),
                // Boolean flags written --flag=true / --flag=false; a value after the image is the program's.
                Row(
                    arguments: ["run", "--rm", "--init=true", "--tty=false", "$IMAGE", "echo", "--init=true"], status: 0,
                    stdout: "--init=true"),
                Row(arguments: ["run", "--rm", "--init=maybe", "$IMAGE", "true"], status: 125),
                // rmi -f of an image a running container uses is refused, naming the container.
                Row(arguments: ["rmi", "-f", "$IMAGE"], status: 1, stderr: "used by running container"),
                Row(arguments: ["images", "-q"], status: 0),
                // Unknown commands, with docker's words and a suggestion.
                Row(arguments: ["contianer", "ls"], status: 1, stderr: "unknown command: \"skiff contianer\""),
                Row(arguments: ["container", "lss"], status: 1, stderr: "Did you mean this?"),
                // stop and kill go on after a missing container, and fail at the end, as docker's.
                Row(arguments: ["kill", "no-such-container", name], status: 1, stdout: name),
            ], fixture: fixture)
        let images = try run([skiffBinary, "--root", fixture.root, "images", "-q"], check: false)
        #expect(!images.stdout.isEmpty, "the image must survive rmi -f under a running container")
    }

    /// docker's resource flags on run, and update on a running container, seen in its cgroup
    /// through the runtime's record and from inside (oom_score_adj).
    @Test func resourceFlagsAndUpdate() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "res-\(UInt32.random(in: 0...UInt32.max))"
        try check(
            [
                Row(arguments: ["run", "--rm", "-m", "4m", "$IMAGE", "true"], status: 125, stderr: "minimum of 6 MB"),
                Row(arguments: ["run", "--rm", "--cpus", "4096", "$IMAGE", "true"], status: 125, stderr: "CPUs available"),
                Row(arguments: ["run", "--rm", "--cpuset-cpus", "0-4095", "$IMAGE", "true"], status: 125, stderr: "not available"),
                Row(arguments: ["run", "--rm", "--memory-swap", "1g", "$IMAGE", "true"], status: 125, stderr: "needs --memory"),
                Row(
                    arguments: ["run", "--rm", "-m", "1.5g", "--oom-score-adj", "2000", "$IMAGE", "true"], status: 125,
                    stderr: "-1000 and 1000"),
                Row(
                    arguments: [
                        "run", "-d", "--name", name, "-m", "64m", "--memory-swap", "128m", "--memory-reservation", "32m", "--cpu-shares",
                        "512",
                        "--cpuset-cpus", "0", "--cpu-period", "100000", "--cpu-quota", "50000", "--oom-score-adj", "500", "$IMAGE", "sleep",
                        "300",
                    ], status: 0),
                Row(arguments: ["exec", name, "cat", "/proc/self/oom_score_adj"], status: 0, stdout: "500"),
                Row(arguments: ["inspect", "-f", "{{.HostConfig.Memory}}", name], status: 0, stdout: "\(64 << 20)"),
                Row(
                    arguments: [
                        "update", "-m", "96m", "--memory-swap", "256m", "--cpus", "1", "--pids-limit", "40", "--restart", "on-failure:2",
                        name,
                    ], status: 0, stdout: name),
                Row(
                    arguments: [
                        "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}", name,
                    ], status: 0, stdout: "\(96 << 20) 1000000000 on-failure"),
                Row(arguments: ["update", name], status: 1, stderr: "at least one flag"),
                Row(arguments: ["update", "--cpus", "4096", name], status: 1, stderr: "CPUs available"),
            ], fixture: fixture)
        // The running container's cgroup has the new limits (read where the runtime put it).
        let id = try run([skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "inspect", "-f", "{{.Id}}", name])
            .stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let limit = try run([
            skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "exec", name, "sh", "-c",
            "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
        ]).stdout
        #expect(limit.trimmingCharacters(in: .whitespacesAndNewlines) == "\(96 << 20)", "container \(id): \(limit)")
    }

    /// The run flags docker users type that skiff used to refuse.
    @Test func moreRunFlags() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "flags-\(UInt32.random(in: 0...UInt32.max))"
        let cidfile = fixture.path + "/cid"
        try check(
            [
                Row(
                    arguments: [
                        "run", "--rm", "--domainname", "example.org", "--annotation", "org.example.k=v", "--cidfile", cidfile,
                        "--platform", "linux/amd64", "--pull", "never", "-q", "$IMAGE", "cat", "/proc/sys/kernel/domainname",
                    ], status: 0, stdout: "example.org"),
                Row(arguments: ["run", "--rm", "--cidfile", cidfile, "$IMAGE", "true"], status: 125, stderr: "exists"),
                Row(arguments: ["run", "--rm", "--platform", "linux/arm64", "$IMAGE", "true"], status: 125, stderr: "does not emulate"),
                Row(arguments: ["run", "--rm", "--pull", "never", "localhost/no-such-image:1", "true"], status: 125, stderr: "not found"),
                Row(arguments: ["run", "--rm", "--pull", "sometimes", "$IMAGE", "true"], status: 125, stderr: "missing, always or never"),
                Row(arguments: ["run", "--rm", "--runtime", "runc", "$IMAGE", "true"], status: 125, stderr: "own runtime"),
                Row(arguments: ["run", "--rm", "--runtime", "skiff", "$IMAGE", "true"], status: 0),
                Row(arguments: ["run", "-d", "--name", name, "$IMAGE", "sleep", "300"], status: 0),
                Row(
                    arguments: ["run", "--rm", "--link", "\(name):db", "$IMAGE", "sh", "-c", "grep -c -w db /etc/hosts"], status: 0,
                    stdout: "1"),
                Row(arguments: ["create", "--name", name + "-x", "--expose", "7000-7001/udp", "$IMAGE"], status: 0),
                Row(arguments: ["inspect", "-f", "{{json .Config.ExposedPorts}}", name + "-x"], status: 0, stdout: "\"7001/udp\""),
                Row(arguments: ["run", "--rm", "--expose", "0", "$IMAGE", "true"], status: 125, stderr: "--expose"),
                // Where the host has no AppArmor/SELinux these are dropped with a warning, as podman does.
                Row(arguments: ["run", "--rm", "--security-opt", "label=disable", "$IMAGE", "true"], status: 0),
                Row(
                    arguments: [
                        "run", "--rm", "--security-opt", "systempaths=unconfined", "$IMAGE", "sh", "-c",
                        "grep -c ' /proc/kcore ' /proc/mounts",
                    ], status: 1, stdout: "0"),
                Row(arguments: ["run", "--rm", "--security-opt", "mask=/x", "$IMAGE", "true"], status: 125, stderr: "podman"),
                // -v modes docker accepts on a host without SELinux, and on Linux.
                Row(arguments: ["run", "--rm", "-v", "\(fixture.path):/v:z", "$IMAGE", "touch", "/v/z-mode"], status: 0),
                Row(arguments: ["run", "--rm", "-v", "\(fixture.path):/v:ro,Z,cached", "$IMAGE", "touch", "/v/ro-mode"], status: 1),
                Row(
                    arguments: ["run", "--rm", "-v", "cli-vol:/v:rslave", "$IMAGE", "true"], status: 125,
                    stderr: "applies only to a bind mount of a host path"),
            ], fixture: fixture)
        #expect((try? String(contentsOfFile: cidfile, encoding: .utf8))?.count == 64)
    }

    /// --pid, --ipc, --uts (host or container:NAME) and --cgroupns, seen from inside.
    @Test func sharedNamespaces() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let name = "ns-\(UInt32.random(in: 0...UInt32.max))"
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostname = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        try check(
            [
                // Its own PID namespace: cat is PID 1; the host's: PID 1 is the host's init.
                Row(arguments: ["run", "--rm", "$IMAGE", "cat", "/proc/1/comm"], status: 0, stdout: "cat"),
                Row(arguments: ["run", "--rm", "--uts", "host", "$IMAGE", "hostname"], status: 0, stdout: hostname),
                Row(arguments: ["run", "-d", "--name", name, "$IMAGE", "sleep", "300"], status: 0),
                Row(arguments: ["run", "--rm", "--pid", "container:\(name)", "$IMAGE", "cat", "/proc/1/comm"], status: 0, stdout: "sleep"),
                Row(arguments: ["run", "--rm", "--cgroupns", "host", "$IMAGE", "cat", "/proc/self/cgroup"], status: 0, stdout: "/skiff/"),
                Row(arguments: ["run", "--rm", "--pid", "bogus", "$IMAGE", "true"], status: 125, stderr: "--pid"),
                Row(arguments: ["run", "--rm", "--uts", "host", "--hostname", "x", "$IMAGE", "true"], status: 125, stderr: "conflicts"),
                Row(arguments: ["run", "--rm", "--ipc", "container:no-such-container", "$IMAGE", "true"], status: 125),
            ], fixture: fixture)
        let pidHost = try run([
            skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "run", "--rm", "--pid", "host", fixture.image,
            "cat", "/proc/1/comm",
        ])
        #expect(pidHost.status == 0 && pidHost.stdout != "cat\n", "\(pidHost.stdout)")
        let ipc = { (extra: [String]) in
            try run(
                [skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "run", "--rm"] + extra + [
                    fixture.image, "readlink", "/proc/self/ns/ipc",
                ]
            ).stdout
        }
        let target = try run([
            skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "exec", name, "readlink", "/proc/self/ns/ipc",
        ]).stdout
        #expect(try ipc(["--ipc", "container:\(name)"]) == target)
        #expect(try ipc([]) != target)
    }

    /// system prune, network prune and shell completion.
    @Test func pruneAndCompletion() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UInt32.random(in: 0...UInt32.max)
        try check(
            [
                Row(arguments: ["network", "create", "prune-\(suffix)"], status: 0),
                Row(arguments: ["network", "prune", "-f"], status: 0, stdout: "prune-\(suffix)"),
                Row(arguments: ["network", "create", "kept-\(suffix)"], status: 0),
                Row(arguments: ["run", "--name", "exited-\(suffix)", "$IMAGE", "true"], status: 0),
                Row(
                    arguments: ["run", "-d", "--name", "running-\(suffix)", "--network", "kept-\(suffix)", "$IMAGE", "sleep", "300"],
                    status: 0),
                Row(arguments: ["system", "prune", "-f"], status: 0, stdout: "Total reclaimed space"),
                Row(arguments: ["ps", "-a", "--format", "{{.Names}}"], status: 0, stdout: "running-\(suffix)"),
                Row(arguments: ["network", "ls"], status: 0, stdout: "kept-\(suffix)"),
                Row(arguments: ["images", "-q"], status: 0),
                Row(arguments: ["completion", "bash"], status: 0, stdout: "skiff"),
                Row(arguments: ["completion", "zsh"], status: 0, stdout: "#compdef skiff"),
                Row(arguments: ["completion", "tcsh"], status: 125, stderr: "bash, zsh or fish"),
            ], fixture: fixture)
        let names = try run([
            skiffBinary, "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, "ps", "-a", "--format", "{{.Names}}",
        ]).stdout
        #expect(!names.contains("exited-\(suffix)"), "system prune removes stopped containers: \(names)")
        let images = try run([skiffBinary, "--root", fixture.root, "images", "-q"]).stdout
        #expect(!images.isEmpty, "an image a container uses stays")
    }

    /// `inspect` finds containers, images, networks and volumes, with --type and -s.
    @Test func inspectFindsEveryKind() throws {
        let fixture = try EngineFixture()
        defer { fixture.cleanup() }
        let suffix = UInt32.random(in: 0...UInt32.max)
        try check(
            [
                Row(arguments: ["run", "-d", "--name", "c-\(suffix)", "$IMAGE", "sleep", "300"], status: 0),
                Row(arguments: ["network", "create", "n-\(suffix)"], status: 0),
                Row(arguments: ["volume", "create", "v-\(suffix)"], status: 0),
                Row(arguments: ["inspect", "-f", "{{.State.Status}}", "c-\(suffix)"], status: 0, stdout: "running"),
                Row(arguments: ["inspect", "-f", "{{.Os}}", "$IMAGE"], status: 0, stdout: "linux"),
                Row(
                    arguments: ["inspect", "-f", "{{.Name}}", "n-\(suffix)", "v-\(suffix)"], status: 0, stdout: "n-\(suffix)\nv-\(suffix)"),
                Row(arguments: ["inspect", "--type", "image", "-f", "{{.Architecture}}", "$IMAGE"], status: 0, stdout: "amd64"),
                Row(arguments: ["inspect", "-s", "-f", "{{.SizeRootFs}}", "c-\(suffix)"], status: 0),
                Row(arguments: ["inspect", "--type", "volume", "c-\(suffix)"], status: 1, stderr: "no such object"),
                Row(arguments: ["inspect", "no-such-object-\(suffix)"], status: 1, stderr: "no such object"),
                Row(arguments: ["inspect", "--type", "plugin", "x"], status: 125, stderr: "--type"),
            ], fixture: fixture)
    }
}

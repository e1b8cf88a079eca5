import Foundation
import Testing

/// `skiff run --vm`: the same image in its own micro-VM through the QEMU backend (TCG on hosts
/// whose /dev/kvm cannot boot Linux), with skiff's guest kernel and agent.
let guestKernel = (ProcessInfo.processInfo.environment["SKIFF_STORE"] ?? "/var/lib/skiff") + "/kernels/default/vmlinux"
let microVMTestsEnabled =
    engineTestsEnabled
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/mkfs.erofs")
    && FileManager.default.fileExists(atPath: guestKernel)
let microVMSkipReason: Comment =
    "needs what the engine tests need, plus qemu-system-x86, erofs-utils and skiff's guest kernel (kernel/build.sh)"

@Suite(.serialized, .enabled(if: microVMTestsEnabled, microVMSkipReason))
struct MicroVMContainerTests {
    /// Every --vm container of a test, with the flags these tests need (no network yet).
    func vmRun(_ fixture: EngineFixture, _ arguments: [String]) throws -> CommandResult {
        try fixture.skiff("run", ["--vm", "--network", "none"] + arguments)
    }

    /// The test's own VMs (QEMU processes whose disks are under its store) go, whatever happened,
    /// then the fixture.
    func endVMs(_ fixture: EngineFixture) {
        for pid in qemuProcesses(under: fixture.root) { kill(pid_t(pid), SIGKILL) }
        fixture.cleanup()
    }

    func qemuProcesses(under root: String) -> [Int] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let text = String(decoding: data, as: UTF8.self)
            return text.hasPrefix("/usr/bin/qemu-system-x86_64") && text.contains(root)
        }
    }

    @Test func runsTheImageBehindItsOwnKernelWithTheProcessPathsSettings() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let result = try vmRun(
            fixture,
            [
                "--rm", "-m", "256m", "-e", "GREETING=hello", "-w", "/tmp", "-u", "1000:1000", fixture.image, "sh", "-c",
                "echo $GREETING; uname -r; pwd; id -u; awk '/MemTotal/{print int($2/1024)}' /proc/meminfo; echo oops >&2; exit 3",
            ])
        #expect(result.status == 3, "\(result.stdout) \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "hello", "\(result.stdout) \(result.stderr)")
        let hostRelease = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(lines.count >= 4 && lines[1] != hostRelease, "the guest's kernel is its own: \(lines)")
        #expect(lines.count >= 4 && lines[2] == "/tmp" && lines[3] == "1000", "\(lines)")
        // --memory sizes the guest: 256 MiB plus the 128 MiB the guest's kernel and agent get.
        let guestMiB = lines.count >= 5 ? Int(lines[4]) ?? 0 : 0
        #expect(guestMiB > 256 && guestMiB <= 384, "the guest has \(guestMiB) MiB")
        #expect(result.stderr.contains("oops"), "\(result.stderr)")
        #expect(qemuProcesses(under: fixture.root).isEmpty)
        #expect(fixture.containerIDs().isEmpty)
    }

    @Test func exitCodesAreDockersAndNothingIsLeftBehind() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let missing = try vmRun(fixture, ["--rm", fixture.image, "/no/such/program"])
        #expect(missing.status == 127, "\(missing.stderr)")
        let readOnly = try vmRun(
            fixture, ["--rm", "--read-only", fixture.image, "sh", "-c", "touch /x 2>/dev/null && echo wrote || echo refused"])
        #expect(readOnly.status == 0 && readOnly.stdout == "refused\n", "\(readOnly.stdout) \(readOnly.stderr)")
        let noChown = try vmRun(
            fixture, ["--rm", "--cap-drop", "CHOWN", fixture.image, "sh", "-c", "chown 1:1 /tmp 2>/dev/null && echo yes || echo no"])
        #expect(noChown.stdout == "no\n", "\(noChown.stdout) \(noChown.stderr)")
        #expect(qemuProcesses(under: fixture.root).isEmpty)
    }

    @Test func detachedLogsStopAndRemove() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let id = try vmRun(
            fixture, ["-d", fixture.image, "sh", "-c", "trap 'echo got-term; exit 9' TERM; echo started; while true; do sleep 0.1; done"]
        )
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64, "\(id)")
        #expect(eventually(120) { (try? fixture.skiff("logs", [id]).stdout.contains("started")) == true })
        let ps = try fixture.skiff("ps", [], check: true).stdout
        #expect(ps.contains(String(id.prefix(12))), "\(ps)")
        try fixture.skiff("stop", ["-t", "30", id], check: true)
        #expect(fixture.record(id)?["exitCode"] as? Int == 9)
        #expect(try fixture.skiff("logs", [id]).stdout.contains("got-term"))
        #expect(eventually(15) { qemuProcesses(under: fixture.root).isEmpty })
        try fixture.skiff("rm", [id], check: true)
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/containers/" + id))
    }

    /// The container's writable layer (its scratch disk, a copy of one empty filesystem per
    /// store) keeps what it wrote across stop and start, and another container starts empty.
    @Test func theWritableLayerSurvivesAStartAndIsTheContainersOwn() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let script = "cat /kept 2>/dev/null || echo none; echo written > /kept"
        let create = ["--vm", "--network", "none", fixture.image, "sh", "-c", script]
        let id = try fixture.skiff("create", create, check: true).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = try fixture.skiff("start", ["-a", id])
        #expect(first.status == 0 && first.stdout.contains("none"), "\(first.stdout) \(first.stderr)")
        let second = try fixture.skiff("start", ["-a", id])
        #expect(second.status == 0 && second.stdout.contains("written"), "\(second.stdout) \(second.stderr)")
        let other = try fixture.skiff("create", create, check: true).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let fresh = try fixture.skiff("start", ["-a", other])
        #expect(fresh.status == 0 && fresh.stdout.contains("none"), "\(fresh.stdout) \(fresh.stderr)")
        try fixture.skiff("rm", ["-f", id, other], check: true)
    }

    @Test func execRunsInTheGuestWithStdioTerminalsAndExitCodes() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let id = try vmRun(fixture, ["-d", fixture.image, "sh", "-c", "echo up; sleep 600"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(eventually(120) { (try? fixture.skiff("logs", [id]).stdout.contains("up")) == true })
        let plain = try fixture.skiff("exec", ["-e", "X=1", "-w", "/tmp", id, "sh", "-c", "echo $X $(pwd); echo oops >&2; exit 5"])
        #expect(plain.status == 5 && plain.stdout == "1 /tmp\n" && plain.stderr.contains("oops"), "\(plain.stdout) \(plain.stderr)")
        let input = try runWithInput(fixture.commandLine("exec", ["-i", id, "cat"]), input: "piped\n")
        #expect(input.status == 0 && input.stdout == "piped\n", "\(input.stdout) \(input.stderr)")
        #expect(try fixture.skiff("exec", [id, "/no/such/program"]).status == 127)
        #expect(try fixture.skiff("exec", ["-d", id, "sh", "-c", "echo detached > /tmp/d"]).status == 0)
        #expect(eventually(10) { (try? fixture.skiff("exec", [id, "cat", "/tmp/d"]).stdout) == "detached\n" })
        // -it: a terminal of the size of ours, in the guest.
        let session = try PtySession(fixture.commandLine("exec", ["-it", id, "sh"]), rows: 33, columns: 77)
        session.send("stty size; echo mark-$((6*7)); exit 3\r")
        #expect(session.expect("mark-42"), "\(session.text)")
        #expect(session.text.contains("33 77"), "\(session.text)")
        #expect(session.wait() == 3, "\(session.text)")
        // top and stats answer from the guest, through the monitor and the agent.
        let top = try fixture.skiff("top", [id])
        #expect(top.status == 0 && top.stdout.contains("PID") && top.stdout.contains("sleep 600"), "\(top.stdout) \(top.stderr)")
        let stats = try fixture.skiff("stats", ["--no-stream", "--format", "json", id])
        let row = (try? JSONSerialization.jsonObject(with: Data(stats.stdout.utf8))) as? [String: Any]
        #expect(stats.status == 0 && (row?["PidsCurrent"] as? Int ?? 0) >= 1, "\(stats.stdout) \(stats.stderr)")
        let limit = row?["MemoryLimitBytes"] as? Int ?? 0
        #expect(limit > 0 && limit <= 512 << 20, "the guest's memory is the limit: \(stats.stdout)")
        #expect((row?["MemoryUsageBytes"] as? Int ?? 0) > 0, "\(stats.stdout)")
        #expect(try fixture.skiff("stats", ["--no-stream", "--format", "json"]).stdout.contains(id), "stats without names shows VMs")
        // cp both ways, with docker's naming, owners and the guest's tar unpacked under the host's rules.
        let source = fixture.path + "/tree"
        try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
        try "alpha\n".write(toFile: source + "/a", atomically: true, encoding: .utf8)
        try "beta\n".write(toFile: source + "/sub/" + String(repeating: "b", count: 150), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: source + "/link", withDestinationPath: "/etc/passwd")
        #expect(try fixture.skiff("cp", [source, id + ":/tmp/"]).status == 0)
        #expect(try fixture.skiff("cp", [source + "/a", id + ":/tmp/renamed"]).status == 0)
        let inside = try fixture.skiff(
            "exec",
            [
                id, "sh", "-c",
                "cat /tmp/tree/a /tmp/tree/sub/\(String(repeating: "b", count: 150)) /tmp/renamed; stat -c %u /tmp/tree/a; readlink /tmp/tree/link",
            ])
        #expect(inside.stdout == "alpha\nbeta\nalpha\n0\n/etc/passwd\n", "\(inside.stdout) \(inside.stderr)")
        try fixture.skiff("exec", [id, "sh", "-c", "cp /bin/busybox /tmp/tree/suid; chmod 4755 /tmp/tree/suid"], check: true)
        #expect(try fixture.skiff("cp", [id + ":/tmp/tree", fixture.path + "/back"]).status == 0)
        #expect(
            (try? String(contentsOfFile: fixture.path + "/back/sub/" + String(repeating: "b", count: 150), encoding: .utf8)) == "beta\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: fixture.path + "/back/link")) == "/etc/passwd")
        let suid = try FileManager.default.attributesOfItem(atPath: fixture.path + "/back/suid")[.posixPermissions] as? Int ?? 0
        #expect(suid & 0o6000 == 0, "a setuid file of the guest lands without its setuid bit: \(String(suid, radix: 8))")
        #expect(try fixture.skiff("cp", [id + ":/etc/passwd", fixture.path + "/passwd"]).status == 0)
        #expect((try? String(contentsOfFile: fixture.path + "/passwd", encoding: .utf8))?.contains("root:") == true)
        let tar = try fixture.skiff("cp", [id + ":/tmp/tree/a", "-"])
        #expect(tar.status == 0 && tar.stdout.contains("alpha"), "\(tar.stderr)")
        let missing = try fixture.skiff("cp", [id + ":/no/such", fixture.path + "/x"])
        #expect(missing.status != 0 && missing.stderr.contains("no such file"), "\(missing.stderr)")
        // -L copies what the link points to, resolved inside the guest's root, under the link's name.
        try fixture.skiff("exec", [id, "sh", "-c", "ln -s ../a /tmp/tree/sub/rel; ln -s /tmp/tree/sub/rel /tmp/abs"], check: true)
        #expect(try fixture.skiff("cp", ["-L", id + ":/tmp/abs", fixture.path + "/followed"]).status == 0)
        #expect((try? String(contentsOfFile: fixture.path + "/followed", encoding: .utf8)) == "alpha\n")
        let unfollowed = try fixture.skiff("cp", [id + ":/tmp/abs", fixture.path + "/unfollowed"])
        #expect(
            unfollowed.status == 0
                && (try? FileManager.default.destinationOfSymbolicLink(atPath: fixture.path + "/unfollowed")) == "/tmp/tree/sub/rel")
        // diff and export of the running guest (through its monitor, not a boot of its own).
        let diff = try fixture.skiff("diff", [id])
        #expect(diff.status == 0 && diff.stdout.contains("A /tmp/renamed\n") && diff.stdout.contains("A /tmp/tree/suid\n"), "\(diff)")
        let export = try fixture.skiff("export", ["-o", fixture.path + "/running.tar", id])
        #expect(export.status == 0, "\(export.stderr)")
        let exported = try run(["/bin/tar", "-tf", fixture.path + "/running.tar"], check: false).stdout.split(separator: "\n")
        #expect(exported.contains("tmp/renamed") && !exported.contains { $0.hasPrefix("proc/") }, "\(exported.prefix(20))")
        // rename: the container answers to its new name.
        try fixture.skiff("rename", [id, "vmrenamed\(getpid())"], check: true)
        #expect(try fixture.skiff("exec", ["vmrenamed\(getpid())", "true"]).status == 0)
        try fixture.skiff("rm", ["-f", id], check: true)
    }

    /// The run flags keep their meaning inside the VM, and wait and attach reach its program.
    @Test func runFlagsWaitAndAttachBehaveInsideTheGuest() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let envFile = fixture.path + "/env"
        try "FROMFILE=yes\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        let script = [
            "echo env=$FROMFILE", "echo host=$(hostname)", "echo nofile=$(ulimit -n)",
            "echo pids=$(cat /sys/fs/cgroup/pids.max)", "echo tmpfs=$(awk '$2==\"/scratch\"{print $3}' /proc/mounts)",
            "[ $$ != 1 ] && echo init=yes", "echo nnp=$(awk '/NoNewPrivs/{print $2}' /proc/self/status)",
            "echo cap=$(awk '/CapEff/{print $2}' /proc/self/status)", "echo ready", "read x", "echo got-$x", "exit 4",
        ].joined(separator: "; ")
        let id = try vmRun(
            fixture,
            [
                "-d", "-i", "--init", "--tmpfs", "/scratch", "--ulimit", "nofile=512:512", "--pids-limit", "50", "--hostname", "vmhost",
                "--entrypoint", "/bin/sh", "--env-file", envFile, "--cap-add", "NET_ADMIN", "--security-opt", "no-new-privileges",
                fixture.image, "-c", script,
            ]
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(120) { (try? fixture.skiff("logs", [id]).stdout.contains("ready")) == true })
        let logs = try fixture.skiff("logs", [id]).stdout
        for line in ["env=yes", "host=vmhost", "nofile=512", "pids=50", "tmpfs=tmpfs", "init=yes", "nnp=1"] {
            #expect(logs.contains(line + "\n"), "\(line) in \(logs)")
        }
        let capabilities = logs.split(separator: "\n").first { $0.hasPrefix("cap=") }.flatMap { UInt64($0.dropFirst(4), radix: 16) } ?? 0
        #expect(capabilities & (1 << 12) != 0, "CAP_NET_ADMIN is added: \(logs)")
        let attached = try runWithInput(fixture.commandLine("attach", [id]), input: "hi\n")
        #expect(attached.stdout.contains("got-hi") && attached.status == 4, "\(attached.stdout) \(attached.stderr)")
        let waited = try fixture.skiff("wait", [id])
        #expect(waited.stdout == "4\n", "\(waited.stdout) \(waited.stderr)")
        try fixture.skiff("rm", ["-f", id], check: true)
    }

    /// exec, cp, top and stats reach the guest only through the monitor's exec.sock: a start that
    /// cannot serve it fails with the reason instead of running beyond their reach.
    @Test func aStartThatCannotServeExecSessionsFails() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let id = try fixture.skiff("create", ["--vm", "--network", "none", fixture.image, "true"], check: true).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Something that is not a socket holds the name.
        try FileManager.default.createDirectory(
            atPath: fixture.root + "/containers/" + id + "/exec.sock/blocker", withIntermediateDirectories: true)
        let start = try fixture.skiff("start", [id])
        #expect(start.status != 0 && start.stderr.contains("exec.sock"), "\(start.stdout) \(start.stderr)")
        #expect(qemuProcesses(under: fixture.root).isEmpty)
        try fixture.skiff("rm", ["-f", id], check: true)
    }

    @Test func runItGivesTheGuestProgramATerminalAndDetaches() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let name = "vmtty\(getpid())"
        let session = try PtySession(
            fixture.commandLine("run", ["--vm", "--network", "none", "-it", "--name", name, fixture.image, "sh"]),
            rows: 33, columns: 77)
        session.send("stty size; echo mark-$((6*7))\r")
        #expect(session.expect("mark-42", seconds: 120), "\(session.text)")
        #expect(session.text.contains("33 77"), "\(session.text)")
        // ctrl-p ctrl-q: the client exits 0 and the program runs on in its VM.
        session.send("\u{10}\u{11}")
        #expect(session.wait() == 0, "\(session.text)")
        #expect(try fixture.skiff("inspect", ["--format", "{{.State.Running}} {{.HostConfig.Isolation}}", name]).stdout == "true vm\n")
        try fixture.skiff("rm", ["-f", name], check: true)
    }

    @Test func killOfTheMonitorThenRmLeavesNothing() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let id = try vmRun(fixture, ["-d", fixture.image, "sh", "-c", "echo up; sleep 600"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(eventually(120) { (try? fixture.skiff("logs", [id]).stdout.contains("up")) == true })
        let monitor = try #require(fixture.record(id)?["monitorPid"] as? Int)
        kill(pid_t(monitor), SIGKILL)
        // The agent sees its stream end and powers the guest off: no orphaned VM.
        #expect(eventually(60) { qemuProcesses(under: fixture.root).isEmpty })
        try fixture.skiff("rm", ["-f", id], check: true)
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/containers/" + id))
        #expect(fixture.mountsUnderFixture().isEmpty)
    }

    @Test func aNamedVolumeAndABindMountAreSharedWithTheGuest() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let name = "vmvol\(getpid())"
        #expect(try fixture.skiffGroup("volume", "create", [name]).status == 0)
        let host = fixture.path + "/shared"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "from-host\n".write(toFile: host + "/in", atomically: true, encoding: .utf8)
        let vm = try vmRun(
            fixture,
            [
                "--rm", "-v", name + ":/data", "-v", host + ":/host", "-v", host + ":/ro:ro", fixture.image, "sh", "-c",
                "echo from-vm > /data/f; cat /host/in; echo back > /host/out; touch /ro/x 2>/dev/null && echo rw || echo ro",
            ])
        #expect(vm.status == 0 && vm.stdout == "from-host\nro\n", "\(vm.stdout) \(vm.stderr)")
        // The same volume in a process container sees what the VM wrote, and the host its file.
        let process = try fixture.skiff("run", ["--rm", "-v", name + ":/data", fixture.image, "cat", "/data/f"])
        #expect(process.stdout == "from-vm\n", "\(process.stdout) \(process.stderr)")
        #expect((try? String(contentsOfFile: host + "/out", encoding: .utf8)) == "back\n")
        #expect(try fixture.skiffGroup("volume", "rm", [name]).status == 0)
    }

    /// The guest's NIC is the container on its network: a published port answers on 127.0.0.1,
    /// and VM and process containers on one user network find each other by name, whichever
    /// started first (the guest's /etc/hosts follows its peers).
    @Test func networksPortsAndNamesWorkAsForProcessContainers() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let port = freeLoopbackPort()
        let web = try fixture.skiff(
            "run",
            [
                "--vm", "-d", "-p", "127.0.0.1:\(port):8080", fixture.image, "sh", "-c",
                "mkdir -p /www; echo hello-from-vm > /www/index.html; httpd -f -p 8080 -h /www",
            ], check: true
        )
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var body = ""
        #expect(
            eventually(120) {
                body =
                    (try? run(
                        [
                            "/usr/bin/python3", "-c",
                            "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:\(port)/',timeout=2).read().decode(),end='')",
                        ],
                        check: false
                    ).stdout) ?? ""
                return body == "hello-from-vm\n"
            }, "\(body)")
        try fixture.skiff("rm", ["-f", web], check: true)

        let net = "vmnet\(getpid())"
        #expect(try fixture.network("create", [net]).status == 0)
        let first = try fixture.skiff(
            "run",
            [
                "--vm", "-d", "--network", net, "--name", "vmfirst", fixture.image, "sh", "-c",
                "echo up; while true; do sleep 0.2; if ping -c1 -W1 later >/dev/null 2>&1; then echo saw-later; sleep 600; fi; done",
            ],
            check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let process = try fixture.skiff("run", ["-d", "--network", net, "--name", "proc", fixture.image, "sleep", "600"], check: true)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(120) { (try? fixture.skiff("logs", [first]).stdout.contains("up")) == true })
        let later = try fixture.skiff(
            "run",
            [
                "--vm", "--rm", "--network", net, "--name", "later", fixture.image, "sh", "-c",
                "ping -c1 -W5 vmfirst >/dev/null && ping -c1 -W5 proc >/dev/null && echo both; sleep 3",
            ])
        #expect(later.stdout.contains("both"), "\(later.stdout) \(later.stderr)")
        // The first VM saw the later one appear in its /etc/hosts while it ran.
        #expect(try fixture.skiff("logs", [first]).stdout.contains("saw-later"))
        let fromProcess = try fixture.skiff("exec", [process, "sh", "-c", "cat /etc/hosts; ping -c1 -W5 vmfirst"])
        #expect(fromProcess.status == 0, "\(fromProcess.stdout) \(fromProcess.stderr)")
        try fixture.skiff("rm", ["-f", first, process], check: true)
        #expect(try fixture.network("rm", [net]).status == 0)
    }

    /// `cp` of a stopped VM container boots its VM for the files only (its scratch disk is never
    /// mounted on the host): into a created container before its first start, out of it after it
    /// ran, as a tar stream, and a path that is not there; the container stays stopped and no VM is
    /// left. diff, export and commit read its changes through the guest the same way: an added
    /// file, a deleted one, an opaque directory (removed and made again) are in the committed image.
    @Test func cpOfAStoppedContainerBootsItsVMForTheFilesOnly() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let id = try fixture.skiff(
            "create",
            [
                "--vm", "--network", "none", fixture.image, "sh", "-c",
                "cat /greeting; echo made-in-guest > /made; rm /etc/group; rm -r /root; mkdir /root; echo new > /root/.profile",
            ], check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try "hi-from-host\n".write(toFile: fixture.path + "/greeting", atomically: true, encoding: .utf8)
        let into = try fixture.skiff("cp", [fixture.path + "/greeting", id + ":/greeting"])
        #expect(into.status == 0, "\(into.stderr)")
        #expect(qemuProcesses(under: fixture.root).isEmpty, "the files-only VM is gone when cp returns")
        #expect(fixture.record(id)?["status"] as? String == "created", "\(String(describing: fixture.record(id)))")
        // A cp killed while its VM boots takes the VM with it (QEMU dies with the thread that
        // spawned it), and with it the lock on the disks: the start below does not wait.
        let killed = Foundation.Process()
        killed.executableURL = URL(fileURLWithPath: skiffBinary)
        killed.arguments = [
            "cp", "--root", fixture.root, "--runtime-root", fixture.runtimeRoot, fixture.path + "/greeting", id + ":/other",
        ]
        killed.standardOutput = FileHandle.nullDevice
        killed.standardError = FileHandle.nullDevice
        try killed.run()
        #expect(eventually(60) { !qemuProcesses(under: fixture.root).isEmpty })
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(eventually(5) { qemuProcesses(under: fixture.root).isEmpty }, "the files-only VM outlived its cp")
        let ran = try fixture.skiff("start", ["-a", id])
        #expect(ran.status == 0 && ran.stdout.contains("hi-from-host"), "\(ran.stdout) \(ran.stderr)")

        let out = try fixture.skiff("cp", [id + ":/made", fixture.path + "/made"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect((try? String(contentsOfFile: fixture.path + "/made", encoding: .utf8)) == "made-in-guest\n")
        let tar = try run(
            ["/bin/sh", "-c", "\(skiffBinary) cp --root \(fixture.root) --runtime-root \(fixture.runtimeRoot) \(id):/made - | tar -tf -"],
            check: false)
        #expect(tar.status == 0 && tar.stdout == "made\n", "\(tar.stdout) \(tar.stderr)")
        let missing = try fixture.skiff("cp", [id + ":/no/such/file", fixture.path + "/nothing"])
        #expect(missing.status != 0 && missing.stderr.contains("no such file"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.path + "/nothing"))
        #expect(fixture.record(id)?["status"] as? String == "exited")
        #expect(qemuProcesses(under: fixture.root).isEmpty)

        // diff, export and commit read its changes through the guest too.
        let diff = try fixture.skiff("diff", [id])
        #expect(
            diff.status == 0 && diff.stdout == "C /etc\nD /etc/group\nA /greeting\nA /made\nC /root\nA /root/.profile\n",
            "\(diff.stdout) \(diff.stderr)")
        let export = try fixture.skiff("export", ["-o", fixture.path + "/export.tar", id])
        #expect(export.status == 0, "\(export.stderr)")
        let listed = try run(["/bin/tar", "-tf", fixture.path + "/export.tar"], check: false).stdout.split(separator: "\n")
        #expect(listed.contains("made") && listed.contains("bin/busybox") && !listed.contains("etc/group"), "\(listed)")
        let image = "localhost/vmcommit\(getpid()):latest"
        let commit = try fixture.skiff("commit", [id, image])
        #expect(commit.status == 0, "\(commit.stderr)")
        let fromCommit = try fixture.skiff(
            "run", ["--rm", "--network", "none", image, "sh", "-c", "cat /made /greeting /root/.profile; ls /etc/group 2>&1"])
        #expect(
            fromCommit.stdout.hasPrefix("made-in-guest\nhi-from-host\nnew\n") && fromCommit.stdout.contains("No such file"),
            "\(fromCommit.stdout) \(fromCommit.stderr)")
        #expect(qemuProcesses(under: fixture.root).isEmpty)
        try fixture.skiff("rm", ["-f", id], check: true)
    }

    /// The docker CLI's `cp` (a HEAD path stat, then the archive) through the API, into a created
    /// VM container and back out of it once it ran; a missing path is docker's error. The files-only
    /// VM lingers for the next request (120 s here), and a start or removal through the API ends it
    /// at once instead of waiting that out.
    @Test(.enabled(if: dockerCLI != nil, "needs the docker CLI (client only)"))
    func dockerCpReachesAStoppedVMContainerThroughTheAPI() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let service = try APIService(fixture, serviceEnvironment: ["SKIFF_FILES_BOOT_LINGER": "120"])
        defer { service.stop() }
        let id = try fixture.skiff(
            "create", ["--vm", "--network", "none", fixture.image, "sh", "-c", "cat /etc/via-docker > /etc/copied"], check: true
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try "through-the-api\n".write(toFile: fixture.path + "/via-docker", atomically: true, encoding: .utf8)
        let into = try service.docker(["cp", fixture.path + "/via-docker", id + ":/etc/via-docker"])
        #expect(into.status == 0, "\(into.stdout) \(into.stderr)")
        #expect(qemuProcesses(under: fixture.root).count == 1, "the files-only VM lingers for the next request")
        let started = Date()
        let ran = try service.docker(["start", "-a", id])
        #expect(ran.status == 0, "\(ran.stdout) \(ran.stderr)")
        #expect(Date().timeIntervalSince(started) < 90, "the start ended the lingering VM instead of waiting 120 s")
        let out = try service.docker(["cp", id + ":/etc/copied", fixture.path + "/copied"])
        #expect(out.status == 0, "\(out.stdout) \(out.stderr)")
        #expect((try? String(contentsOfFile: fixture.path + "/copied", encoding: .utf8)) == "through-the-api\n")
        let missing = try service.docker(["cp", id + ":/no/such", fixture.path + "/none"])
        #expect(missing.status != 0 && missing.stderr.contains("Could not find the file /no/such"), "\(missing.stderr)")
        #expect(try service.docker(["rm", "-f", id]).status == 0)
        #expect(qemuProcesses(under: fixture.root).isEmpty, "rm ended the lingering VM")
    }

    /// Broken guests fail clearly and leave nothing: a kernel that does not boot and a guest whose
    /// agent never answers fail the start within the store's `vm.bootTimeout`, with what the VM
    /// printed; a VM killed under a running container ends it with 137 and a message in its log.
    @Test func brokenGuestsFailClearlyAndLeaveNothing() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        try #"{"vm": {"bootTimeout": 20}}"#.write(toFile: fixture.root + "/config.json", atomically: true, encoding: .utf8)
        let garbage = fixture.path + "/not-a-kernel"
        try Data(repeating: 0x41, count: 1 << 16).write(to: URL(fileURLWithPath: garbage))
        let noKernel = try vmRun(fixture, ["--rm", "--kernel", garbage, fixture.image, "true"])
        #expect(noKernel.status == 125 && noKernel.stderr.contains("VM monitor"), "\(noKernel.stderr)")

        let script = fixture.path + "/silent-init"
        try "#!/bin/sh\necho guest-never-greets\nexec sleep 1000\n".write(toFile: script, atomically: true, encoding: .utf8)
        let initrd = fixture.path + "/silent.cpio"
        try run([skiffBinary, "vm", "initramfs", "--output", initrd, "--init-script", script])
        let started = Date()
        let silent = try vmRun(fixture, ["--rm", "--initrd", initrd, fixture.image, "true"])
        #expect(
            silent.status == 125 && silent.stderr.contains("in time") && silent.stderr.contains("guest-never-greets"),
            "\(silent.stderr)")
        #expect(Date().timeIntervalSince(started) < 110, "the store's 20 s boot timeout, not the default 120 s")
        #expect(qemuProcesses(under: fixture.root).isEmpty)
        #expect(fixture.containerIDs().isEmpty, "--rm removed both")

        let id = try vmRun(fixture, ["-d", fixture.image, "sh", "-c", "echo up; sleep 600"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(eventually(120) { (try? fixture.skiff("logs", [id]).stdout.contains("up")) == true })
        for pid in qemuProcesses(under: fixture.root) { kill(pid_t(pid), SIGKILL) }
        #expect(eventually(30) { fixture.record(id)?["status"] as? String == "exited" })
        #expect(fixture.record(id)?["exitCode"] as? Int == 137, "\(String(describing: fixture.record(id)))")
        let logs = try fixture.skiff("logs", [id])
        #expect(logs.stderr.contains("micro-VM ended before the container's program did"), "\(logs.stdout) \(logs.stderr)")
        try fixture.skiff("rm", ["-f", id], check: true)
        #expect(qemuProcesses(under: fixture.root).isEmpty)
    }

    /// The store's `config.json` sets the default kernel and backend (`skiff info` shows them); a
    /// container's own flags win; a wrong file fails with its name.
    @Test func theStoresConfigurationSetsTheGuestAndTheFlagsWin() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let file = fixture.root + "/config.json"
        let absent = fixture.path + "/no-such-vmlinux"
        func configure(_ json: String) { _ = FileManager.default.createFile(atPath: file, contents: Data(json.utf8)) }
        configure(#"{"vm": {"kernel": "\#(absent)", "backend": "qemu"}}"#)
        let info = try fixture.skiff("info", [])
        #expect(info.stdout.contains("Kernel: \(absent) (vm.kernel in \(file))"), "\(info.stdout)")
        #expect(info.stdout.contains("qemu: usable, default"), "\(info.stdout)")
        let configured = try vmRun(fixture, ["--rm", fixture.image, "true"])
        #expect(configured.status == 125 && configured.stderr.contains("vm.kernel \(absent) in \(file)"), "\(configured.stderr)")
        let flag = try vmRun(fixture, ["--rm", "--kernel", guestKernel, fixture.image, "sh", "-c", "exit 4"])
        #expect(flag.status == 4, "\(flag.stdout) \(flag.stderr)")
        // A configured backend is the container's default; --vm-backend wins over it.
        let kvmBootsLinux = access("/dev/kvm", R_OK | W_OK) == 0 && !FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
        if !kvmBootsLinux {
            configure(#"{"vm": {"backend": "skiff"}}"#)
            let skiff = try fixture.skiff("create", ["--vm", "--network", "none", fixture.image, "true"])
            #expect(skiff.status == 125 && skiff.stderr.contains("skiff cannot work on this host"), "\(skiff.stderr)")
            let qemu = try fixture.skiff("create", ["--vm", "--vm-backend", "qemu", "--network", "none", fixture.image, "true"])
            #expect(qemu.status == 0, "\(qemu.stderr)")
            try fixture.skiff("rm", ["-f", qemu.stdout.trimmingCharacters(in: .whitespacesAndNewlines)], check: true)
        }
        configure(#"{"vm": {"kernal": "/boot/vmlinuz"}}"#)
        let typo = try fixture.skiff("create", ["--vm", "--network", "none", fixture.image, "true"])
        #expect(typo.status == 125 && typo.stderr.contains("kernal") && typo.stderr.contains(file), "\(typo.stderr)")
        #expect(try fixture.skiff("info", []).stdout.contains("unusable"))
        #expect(fixture.containerIDs().isEmpty)
    }

    @Test func whatTheGuestCannotHaveYetIsRefusedClearly() throws {
        let fixture = try EngineFixture()
        defer { endVMs(fixture) }
        let host = try fixture.skiff("run", ["--vm", "--rm", "--network", "host", fixture.image, "true"])
        #expect(host.status == 125 && host.stderr.contains("--network host"), "\(host.stderr)")
        let file = try vmRun(fixture, ["--rm", "-v", "/etc/hostname:/host", fixture.image, "true"])
        #expect(file.status == 125 && file.stderr.contains("directories"), "\(file.stderr)")
        let backend = try vmRun(fixture, ["--rm", "--vm-backend", "bochs", fixture.image, "true"])
        #expect(backend.status == 125 && backend.stderr.contains("bochs"), "\(backend.stderr)")
        // skiff's own monitor: refused where /dev/kvm cannot boot Linux (this host's kvm_pvm), and
        // with a directory bind anywhere (it serves no 9p).
        let kvmBootsLinux = access("/dev/kvm", R_OK | W_OK) == 0 && !FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
        let skiff = try vmRun(fixture, ["--rm", "--vm-backend", "skiff", "-v", "/tmp:/host", fixture.image, "true"])
        let why =
            kvmBootsLinux
            ? "volumes and directory binds (-v, --mount, an image's VOLUME) need --vm-backend qemu"
            : "--vm-backend skiff cannot work on this host"
        #expect(skiff.status == 125 && skiff.stderr.contains(why), "\(skiff.stderr)")
        let noVM = try fixture.skiff("run", ["--rm", "--kernel", "/boot/vmlinuz", fixture.image, "true"])
        #expect(noVM.status != 0 && noVM.stderr.contains("--vm"), "\(noVM.stderr)")
        #expect(fixture.containerIDs().isEmpty)
    }
}

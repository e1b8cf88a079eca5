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
        // What the host cannot see in the guest yet is refused, not answered from the host's view.
        let top = try fixture.skiff("top", [id])
        #expect(top.status != 0 && top.stderr.contains("micro-VM"), "\(top.stdout) \(top.stderr)")
        let copy = try fixture.skiff("cp", [id + ":/etc/passwd", fixture.path + "/passwd"])
        #expect(copy.status != 0 && copy.stderr.contains("micro-VM"), "\(copy.stderr)")
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
        let port = 20000 + Int(getpid() % 20000)
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

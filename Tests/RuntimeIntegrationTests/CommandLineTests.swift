import ContainerRuntime
import Foundation
import OCISpec
import Testing

/// The runc command-line surface: flags that change behaviour, and the informational commands.
@Suite(.enabled(if: TestEnvironment.canRunContainers, "needs root and busybox-static: run scripts/test.sh as root"))
struct CommandLineTests {
    @Test func noPivot() throws {
        let b = try TestBundle("nopivot")
        b.shell("echo in-chroot; ls /")
        try b.writeConfig()
        let r = try b.runtime(["run", "--no-pivot", "--bundle", b.dir, b.id])
        #expect(r.code == 0 && r.out.contains("in-chroot") && r.out.contains("bin"), "\(r)")
    }

    @Test func preserveFDs() throws {
        let b = try TestBundle("fds")
        b.shell("cat <&3; ls /proc/self/fd | wc -l")
        try b.writeConfig()
        let file = b.dir + "/passed"
        try "through fd 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        // The shell opens fd 3 for the runtime; the container must see it as fd 3.
        let r = try Command.run(
            "/bin/sh",
            ["-c", "exec 3<\(file); exec \(TestEnvironment.runtimeBinary) --root \(b.root) run --preserve-fds 1 --bundle \(b.dir) \(b.id)"])
        #expect(r.out.hasPrefix("through fd 3\n"), "\(r)")
    }

    @Test func detachedRunKillAllAndForcedDelete() throws {
        let b = try TestBundle("detach")
        b.shell("sleep 40 & sleep 40 & sleep 40")
        try b.writeConfig()
        let r = try b.runtime(["run", "--detach", "--bundle", b.dir, b.id])
        #expect(r.code == 0, "\(r)")
        #expect(try b.state()?.status == .running)
        var pids: [Int32] = []
        for _ in 0..<100 {
            let ps = try b.runtime(["ps", "--format", "json", b.id])
            pids = (try? JSONDecoder().decode([Int32].self, from: Data(ps.out.utf8))) ?? []
            if pids.count == 3 { break }
            usleep(20_000)
        }
        #expect(pids.count == 3, "init and two background sleeps")
        let table = try b.runtime(["ps", b.id])
        #expect(table.out.contains("PID") && table.out.contains("sleep 40"), "\(table)")
        #expect(try b.runtime(["kill", "--all", b.id, "STOP"]).code == 0)
        let forced = try b.runtime(["delete", "--force", b.id])
        #expect(forced.code == 0, "\(forced)")
        #expect(try b.state() == nil)
        for pid in pids {
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            #expect(stat == nil || stat?.contains(") Z ") == true, "process \(pid) is gone: \(stat ?? "")")
        }
        #expect(b.cgroupDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }

    @Test func featuresAndSpec() throws {
        let b = try TestBundle("features")
        let features = try b.runtime(["features"])
        let decoded = try JSONDecoder().decode(Features.self, from: Data(features.out.utf8))
        #expect(decoded.ociVersionMax == "1.2.0")
        #expect(decoded.linux.namespaces.contains("user"))
        #expect(decoded.linux.seccomp.enabled)
        #expect(decoded.hooks.contains("createContainer"))

        let dir = b.dir + "/speconly"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try b.runtime(["spec", "--rootless", "--bundle", dir]).code == 0)
        let spec = try JSONDecoder().decode(Spec.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json")))
        #expect(spec.linux?.namespaces?.contains { $0.type == .user } == true)
        #expect(spec.linux?.uidMappings?.first?.size == 1)
        let again = try b.runtime(["spec", "--bundle", dir])
        #expect(again.code != 0 && again.err.contains("already exists"))
    }

    @Test func joinsIpcAndUtsOfAnotherContainer() throws {
        let first = try TestBundle("joinfirst")
        first.spec.hostname = "shared-host"
        first.shell("sleep 30")
        try #require(try first.create().code == 0)
        try #require(try first.runtime(["start", first.id]).code == 0)
        let pid = try #require(try first.state()?.pid)
        let second = try TestBundle("joinsecond")
        let namespaces = second.spec.linux?.namespaces?.map { ns -> Namespace in
            switch ns.type {
            case .ipc: return Namespace(type: .ipc, path: "/proc/\(pid)/ns/ipc")
            case .uts: return Namespace(type: .uts, path: "/proc/\(pid)/ns/uts")
            default: return ns
            }
        }
        second.spec.linux?.namespaces = namespaces
        second.spec.hostname = nil
        second.shell("hostname; readlink /proc/self/ns/ipc")
        let r = try second.run()
        let firstIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/ipc")
        #expect(r.out == "shared-host\n\(firstIPC)\n", "\(r)")
    }

    @Test func rootfsPropagationIsApplied() throws {
        let b = try TestBundle("propagation")
        b.spec.linux?.rootfsPropagation = "rprivate"
        b.shell("grep -E '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / ' /proc/self/mountinfo")
        let r = try b.run()
        #expect(r.code == 0, "\(r)")
        #expect(!r.out.contains("master:") && !r.out.contains("shared:"), "a private root has no peer group: \(r)")
        let shared = try TestBundle("propagation2")
        shared.spec.linux?.rootfsPropagation = "rshared"
        shared.shell("grep -E '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / ' /proc/self/mountinfo")
        let s = try shared.run()
        #expect(s.out.contains("shared:"), "a shared root is in a peer group: \(s)")
    }
}

/// `run` of a container with a terminal and no console socket: the runtime relays the pty itself.
@Suite(
    .enabled(
        if: TestEnvironment.canRunContainers && FileManager.default.isExecutableFile(atPath: "/usr/bin/script"),
        "needs root, busybox-static and script(1) from util-linux"))
struct TerminalRelayTests {
    @Test func runRelaysTheTerminalAndReturnsTheExitCode() throws {
        let b = try TestBundle("relay")
        b.spec.process?.terminal = true
        b.shell("test -t 0 && test -t 1 && echo in-a-tty; read line; echo \"got [$line]\"; exit 6")
        try b.writeConfig()
        // script(1) gives the runtime a terminal of its own, as an interactive user has.
        let command = "\(TestEnvironment.runtimeBinary) --root \(b.root) run --bundle \(b.dir) \(b.id)"
        let r = try Command.run("/usr/bin/script", ["-qefc", command, "/dev/null"], stdin: "hello\n")
        #expect(r.out.contains("in-a-tty"), "\(r)")
        #expect(r.out.contains("got [hello]"), "\(r)")
        #expect(r.code == 6, "\(r)")
    }
}

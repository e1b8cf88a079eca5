#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// Starts the monitor: the `skiff` binary re-executed with posix_spawn (never fork from Swift) in
/// a new session, so it survives the command that started it and its terminal. Its stdio is
/// /dev/null and fd 3 is the status pipe back to the caller.
enum MonitorLauncher {
    static func spawn(executable: String, arguments: [String], statusFD: Int32) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, statusFD, 3)
        // Nothing else we inherited (a test harness's or a shell's pipes) may reach the monitor:
        // it would hold them open for the container's whole life.
        for name in (try? FileIO.listDirectory("/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2, fd != statusFD {
                _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
            }
        }
        let spawnAttributes = CleanSpawnAttributes(newSession: true)
        var pid: pid_t = 0
        let argv = CStringArray([executable] + arguments)
        // The monitor needs no environment of the caller's beyond a sane PATH.
        let envp = CStringArray(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        let rc = withExtendedLifetime((argv, envp)) {
            posix_spawn(&pid, executable, &actions, &spawnAttributes.attributes, argv.pointers, envp.pointers)
        }
        guard rc == 0 else { throw SystemError("start the container monitor \(executable)", errno: rc) }
        return pid
    }
}

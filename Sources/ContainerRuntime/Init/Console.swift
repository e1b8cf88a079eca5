#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// The container's terminal: a pty from the container's own devpts, whose master goes to the
/// caller through the console socket (as runc does) and whose slave becomes stdio and /dev/console.
enum Console {
    static func setUp(consoleSocket: Int32, size: ConsoleSize?) throws {
        let master = try sysCall("open /dev/ptmx") { skiff_open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0) }
        defer { close(master) }
        try sysCall("unlock pty") { skiff_unlockpt(master) }
        let slave = try sysCall("open pty slave") { skiff_open_pty_peer(master) }
        if let size {
            _ = skiff_set_winsize(master, UInt16(clamping: size.height), UInt16(clamping: size.width))
        }
        // /dev/console shows the same terminal.
        if FileIO.exists("/dev") {
            let console = "/dev/console"
            if !FileIO.exists(console) {
                let fd = skiff_open(console, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
                if fd >= 0 { close(fd) }
            }
            let procPath = "/proc/self/fd/\(slave)"
            _ = try? Mounts.mount(source: procPath, target: console, type: nil, flags: MountFlags.bind, data: nil)
        }
        let name = "/dev/ptmx"
        try Descriptors.send(fds: [master], over: consoleSocket, payload: Array(name.utf8))
        close(consoleSocket)
        _ = setsid()
        try sysCall("set controlling terminal") { skiff_set_ctty(slave) }
        for target: Int32 in 0...2 {
            try sysCall("dup2 pty") { dup2(slave, target) }
        }
        if slave > 2 { close(slave) }
    }
}

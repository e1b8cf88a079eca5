import Foundation
import ContainerRuntime
import LinuxSupport
import Testing

/// Facts about the host that decide whether integration tests can run.
enum TestEnvironment {
    static let isRoot = getuid() == 0
    static let busybox = "/bin/busybox"
    static let hasBusybox = FileManager.default.isExecutableFile(atPath: busybox)
    static let canRunContainers = isRoot && hasBusybox

    /// The skiff-runtime binary built next to the test bundle, or the one SKIFF_TEST_RUNTIME
    /// names (to run the suite against a release build: the static executable users get).
    static var runtimeBinary: String {
        if let override = ProcessInfo.processInfo.environment["SKIFF_TEST_RUNTIME"], !override.isEmpty { return override }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = (exe as NSString).deletingLastPathComponent
        while !dir.isEmpty && dir != "/" {
            let candidate = dir + "/skiff-runtime"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return ".build/debug/skiff-runtime"
    }

    /// Copies busybox into a rootfs through a close-on-exec descriptor, so that no process spawned
    /// meanwhile by a parallel test inherits it open for writing (every exec of it would then fail
    /// with ETXTBSY). A copy, not a link: some tests chown their rootfs.
    static func installBusybox(at path: String) throws {
        try FileIO.write(path, try FileIO.read(busybox), mode: 0o755)
    }

    /// Where cgroup2 is mounted (all of /sys/fs/cgroup, or the unified part of a hybrid host).
    static let cgroup2Mount = (try? CgroupLayout.detect())?.unified

    static func uniqueName(_ prefix: String) -> String {
        "skiff-test-\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}

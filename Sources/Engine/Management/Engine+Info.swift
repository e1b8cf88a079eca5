#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

/// `system info`: what this host and store look like to the engine.
extension Engine {
    public struct SystemInfo: Codable, Sendable {
        public var Containers: Int
        public var ContainersRunning: Int
        public var ContainersStopped: Int
        public var ContainersCreated: Int
        public var Images: Int
        public var Volumes: Int
        public var Driver: String
        public var DockerRootDir: String
        public var RuntimeRoot: String
        public var CgroupDriver: String
        public var CgroupVersion: String
        public var KernelVersion: String
        public var OperatingSystem: String
        public var OSType: String
        public var Architecture: String
        public var NCPU: Int
        public var MemTotal: UInt64
        public var SecurityOptions: [String]
        public var Runtime: String
        public var ServerVersion: String
        /// The micro-VM backends of `run --vm` on this host.
        public var VMBackends: [VMBackendInfo]
        /// What `run --vm` boots without --kernel/--initrd, and where that comes from.
        public var VMGuest: VMGuestInfo
    }

    public struct VMGuestInfo: Codable, Sendable {
        /// The store's configuration file (`EngineConfig`), and whether it exists.
        public var ConfigFile: String
        public var ConfigPresent: Bool
        /// The configuration's problem, when it cannot be used (nil: fine or absent).
        public var ConfigError: String?
        public var Kernel: String
        public var KernelSource: String
        public var Initrd: String
    }

    public struct VMBackendInfo: Codable, Sendable {
        public var Name: String
        public var Usable: Bool
        public var Default: Bool
        /// How it would run here, or why it cannot.
        public var Note: String
    }

    public func systemInfo(version: String) -> SystemInfo {
        let records = store.all()
        var running = 0, stopped = 0, created = 0
        for record in records {
            switch liveStatus(record).state {
            case .running: running += 1
            case .exited: stopped += 1
            case .created: created += 1
            }
        }
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let layout = try? CgroupLayout.detect()
        let cgroupVersion =
            layout.map { $0.isPureV2 ? "2" : ($0.unified != nil ? "1 (hybrid, with cgroup2 at \($0.unified ?? ""))" : "1") } ?? "unknown"
        var os = "Linux"
        if let release = try? FileIO.readString("/etc/os-release") {
            for line in release.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
                os = String(line.dropFirst(12)).trimmingCharacters(in: "\"")
            }
        }
        return SystemInfo(
            Containers: records.count, ContainersRunning: running, ContainersStopped: stopped, ContainersCreated: created,
            Images: (try? images.imagesReportingDamage().images.count) ?? 0, Volumes: volumes.all().count, Driver: "overlay",
            DockerRootDir: store.root,
            RuntimeRoot: runtimeRoot, CgroupDriver: "cgroupfs", CgroupVersion: cgroupVersion, KernelVersion: field(name.release),
            OperatingSystem: os, OSType: "linux", Architecture: field(name.machine), NCPU: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            MemTotal: Self.hostMemory(), SecurityOptions: ["name=seccomp,profile=builtin", "name=no-new-privileges"],
            Runtime: "skiff-runtime (in process)", ServerVersion: version,
            VMBackends: MicroVMBackends.report(configured: (try? EngineConfig.load(root: store.root))?.vm?.backend),
            VMGuest: guestInfo())
    }

    /// The effective guest kernel and initramfs of `run --vm` (without per-container flags).
    func guestInfo() -> VMGuestInfo {
        let file = EngineConfig.path(root: store.root)
        var configError: String?
        var config = EngineConfig()
        do { config = try EngineConfig.load(root: store.root) } catch { configError = "\(error)" }
        let kernels = GuestKernel()
        let kernel: String, source: String
        if let configured = config.vm?.kernel {
            (kernel, source) = (configured, "vm.kernel in \(file)")
        } else if access(kernels.defaultPath, R_OK) == 0 {
            let target = (try? FileIO.readLink(kernels.directory + "/default")) ?? "?"
            (kernel, source) = (kernels.defaultPath, "skiff's guest kernel, built (\(kernels.directory)/\(target))")
        } else {
            (kernel, source) = (
                kernels.defaultPath, "skiff's guest kernel, not built yet: the first run --vm builds it (or skiff vm kernel build)"
            )
        }
        let initrd =
            config.vm?.initrd.map { "\($0) (vm.initrd in \(file))" }
            ?? "the agent's archive, made from skiff-agent beside skiff (in \(store.root)/vm)"
        return VMGuestInfo(
            ConfigFile: file, ConfigPresent: FileIO.exists(file), ConfigError: configError, Kernel: kernel, KernelSource: source,
            Initrd: initrd)
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var result = Substring(self)
        while result.first == character { result.removeFirst() }
        while result.last == character { result.removeLast() }
        return String(result)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

/// The store's configuration file, `<root>/config.json` (default /var/lib/skiff/config.json):
/// defaults an administrator sets once instead of on every command. Today the micro-VM ones:
///
///     {"vm": {"kernel": "/srv/guest/vmlinux", "initrd": "/srv/guest/agent.cpio", "backend": "qemu",
///             "bootTimeout": 300}}
///
/// `bootTimeout`: seconds a guest may take from launch to its agent's hello (120 by default: TCG
/// on a loaded host is slow; with KVM a boot takes well under one).
///
/// Every key is optional; an unknown key, a relative path or an unknown backend is an error that
/// names the file (a typo must not be ignored). A container's own `--kernel`, `--initrd` and
/// `--vm-backend` win. The kernel and initrd are read at each start; the backend is the
/// container's from create on (as the host's default is).
public struct EngineConfig: Codable, Sendable, Equatable {
    public struct VM: Codable, Sendable, Equatable {
        public var kernel: String?
        public var initrd: String?
        public var backend: String?
        public var bootTimeout: Double?

        public init(kernel: String? = nil, initrd: String? = nil, backend: String? = nil, bootTimeout: Double? = nil) {
            self.kernel = kernel
            self.initrd = initrd
            self.backend = backend
            self.bootTimeout = bootTimeout
        }

        public init(from decoder: any Decoder) throws {
            try EngineConfig.refuseUnknownKeys(decoder, known: ["kernel", "initrd", "backend", "bootTimeout"], in: "vm")
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kernel = try container.decodeIfPresent(String.self, forKey: .kernel)
            initrd = try container.decodeIfPresent(String.self, forKey: .initrd)
            backend = try container.decodeIfPresent(String.self, forKey: .backend)
            bootTimeout = try container.decodeIfPresent(Double.self, forKey: .bootTimeout)
        }
    }

    public var vm: VM?

    public init(vm: VM? = nil) { self.vm = vm }

    public init(from decoder: any Decoder) throws {
        try EngineConfig.refuseUnknownKeys(decoder, known: ["vm"], in: "the top level")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        vm = try container.decodeIfPresent(VM.self, forKey: .vm)
    }

    public static func path(root: String) -> String { root + "/config.json" }

    /// The store's configuration: empty without a file, an error for one that is wrong.
    public static func load(root: String) throws -> EngineConfig {
        let file = path(root: root)
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(file)
        } catch let error as SystemError where error.errno == ENOENT {
            return EngineConfig()
        }
        let config: EngineConfig
        do {
            config = try RuntimeJSON.decode(EngineConfig.self, from: bytes)
        } catch {
            throw EngineError.invalidOption("\(file) is not a valid configuration: \(error)")
        }
        for (key, value) in [("vm.kernel", config.vm?.kernel), ("vm.initrd", config.vm?.initrd)] {
            if let value, !value.hasPrefix("/") {
                throw EngineError.invalidOption("\(file): \(key) must be an absolute path, not '\(value)'")
            }
        }
        if let timeout = config.vm?.bootTimeout, !(timeout > 0 && timeout <= 86400) {
            throw EngineError.invalidOption("\(file): vm.bootTimeout must be a number of seconds from 1 to 86400, not \(timeout)")
        }
        if let backend = config.vm?.backend, !MicroVMBackends.names.contains(backend) {
            throw EngineError.invalidOption(
                "\(file): vm.backend '\(backend)' is not one of \(MicroVMBackends.names.joined(separator: ", "))")
        }
        return config
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    fileprivate static func refuseUnknownKeys(_ decoder: any Decoder, known: Set<String>, in place: String) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = keys.first(where: { !known.contains($0) }) {
            throw EngineError.invalidOption(
                "unknown key '\(unknown)' in \(place) (known: \(known.sorted().joined(separator: ", ")))")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import JSON
import LinuxSupport
import OCISpec

/// Reads and checks a bundle (a directory with config.json and a root filesystem) before anything
/// is created, so bad input fails early with a message that says what to fix.
public enum BundleLoader {
    public struct Loaded {
        public var bundle: String
        public var spec: Spec
        public var rootfs: String
    }

    public static func load(bundle path: String) throws -> Loaded {
        let bundle = absolute(path)
        guard FileIO.isDirectory(bundle) else {
            throw RuntimeError.invalidBundle(path: bundle, reason: "no such directory: pass the bundle with --bundle")
        }
        let configPath = bundle + "/config.json"
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(configPath)
        } catch {
            throw RuntimeError.invalidBundle(
                path: bundle, reason: "cannot read config.json (\(error)): create one with 'skiff-runtime spec'")
        }
        let spec = try decode(bytes)
        try validate(spec)
        guard let rootPath = spec.root?.path, !rootPath.isEmpty else {
            throw RuntimeError.invalidConfig("root.path is missing: name the root filesystem directory")
        }
        let rootfs = rootPath.hasPrefix("/") ? rootPath : bundle + "/" + rootPath
        guard FileIO.isDirectory(rootfs) else {
            throw RuntimeError.invalidBundle(path: bundle, reason: "root filesystem \(rootfs) does not exist or is not a directory")
        }
        return Loaded(bundle: bundle, spec: spec, rootfs: realPath(rootfs))
    }

    /// Decodes config.json, turning Codable's errors into the JSON path that was wrong.
    public static func decode(_ bytes: [UInt8]) throws -> Spec {
        do {
            return try RuntimeJSON.decode(Spec.self, from: bytes)
        } catch let DecodingError.keyNotFound(key, context) {
            throw RuntimeError.invalidConfig("required field '\(pathString(context.codingPath + [key]))' is missing")
        } catch let DecodingError.typeMismatch(type, context) {
            throw RuntimeError.invalidConfig("field '\(pathString(context.codingPath))' should be \(describe(type))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw RuntimeError.invalidConfig("field '\(pathString(context.codingPath))' is null but should be \(describe(type))")
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty {
                throw RuntimeError.invalidConfig("not valid JSON: \(context.debugDescription)")
            }
            throw RuntimeError.invalidConfig("field '\(pathString(context.codingPath))': \(context.debugDescription)")
        } catch let error as JSONError {
            throw RuntimeError.invalidConfig("\(error)")
        } catch {
            throw RuntimeError.invalidConfig("\(error)")
        }
    }

    /// Checks that the runtime can honour the spec: version, process, namespaces.
    public static func validate(_ spec: Spec) throws {
        guard OCIVersions.isSupported(spec.ociVersion) else { throw RuntimeError.unsupportedVersion(spec.ociVersion) }
        guard let process = spec.process else {
            throw RuntimeError.invalidConfig("process is missing: say which program the container runs")
        }
        guard let args = process.args, !args.isEmpty else {
            throw RuntimeError.invalidConfig("process.args is empty: name the program to run")
        }
        guard process.cwd.hasPrefix("/") else {
            throw RuntimeError.invalidConfig("process.cwd '\(process.cwd)' must be an absolute path")
        }
        try validateProcess(process)
        try refuseUnapplied(spec)
        if let seccomp = spec.linux?.seccomp { try SeccompFilter.validate(seccomp) }
        var seen: Set<NamespaceType> = []
        for ns in spec.linux?.namespaces ?? [] {
            guard seen.insert(ns.type).inserted else {
                throw RuntimeError.invalidConfig("namespace '\(ns.type.rawValue)' is listed twice in linux.namespaces")
            }
        }
        if let offsets = spec.linux?.timeOffsets, !offsets.isEmpty {
            guard spec.linux?.namespaces?.contains(where: { $0.type == .time && $0.path == nil }) == true else {
                throw RuntimeError.invalidConfig(
                    "linux.timeOffsets needs a new time namespace: add {\"type\": \"time\"} to linux.namespaces")
            }
            for (clock, offset) in offsets {
                guard clock == "monotonic" || clock == "boottime" else {
                    throw RuntimeError.invalidConfig("linux.timeOffsets.\(clock): only monotonic and boottime clocks have offsets")
                }
                guard (offset.nanosecs ?? 0) < 1_000_000_000 else {
                    throw RuntimeError.invalidConfig("linux.timeOffsets.\(clock).nanosecs must be below 1000000000")
                }
            }
        }
        for m in spec.mounts ?? [] where !m.destination.hasPrefix("/") {
            throw RuntimeError.invalidConfig("mount destination '\(m.destination)' must be an absolute path")
        }
        let newUser = spec.linux?.namespaces?.contains { $0.type == .user && $0.path == nil } ?? false
        if newUser && (spec.linux?.uidMappings?.isEmpty ?? true || spec.linux?.gidMappings?.isEmpty ?? true) {
            throw RuntimeError.invalidConfig("a new user namespace needs linux.uidMappings and linux.gidMappings")
        }
    }

    /// What an exec's process is checked for as well: capability names, settings not applied.
    public static func validateProcess(_ process: Process) throws {
        try CapabilityNames.checkKnown(process.capabilities)
        if process.ioPriority != nil { throw unapplied("process.ioPriority") }
        if process.scheduler != nil { throw unapplied("process.scheduler") }
    }

    /// Settings skiff-runtime does not apply yet are refused, never ignored: a container must not
    /// run with less isolation or other limits than its config says.
    static func refuseUnapplied(_ spec: Spec) throws {
        if let personality = spec.linux?.personality, personality.domain != "LINUX" || !(personality.flags ?? []).isEmpty {
            throw unapplied("linux.personality (other than domain LINUX without flags)")
        }
        if spec.linux?.intelRdt != nil { throw unapplied("linux.intelRdt") }
        if !(spec.linux?.resources?.rdma ?? [:]).isEmpty { throw unapplied("linux.resources.rdma") }
    }

    private static func unapplied(_ field: String) -> RuntimeError {
        .unsupported("config.json: \(field) is not supported by skiff-runtime yet, and is refused rather than ignored: remove it")
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path == "." || path.isEmpty ? cwd : cwd + "/" + path
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func pathString(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
        }
        return out
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is UInt32.Type, is UInt64.Type, is UInt.Type, is Int32.Type: return "a number"
        default: return "of type \(type)"
        }
    }
}

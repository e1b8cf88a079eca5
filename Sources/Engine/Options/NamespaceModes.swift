import OCISpec

/// `--pid`, `--ipc`, `--uts` and `--cgroupns` as docker takes them: the container's own
/// namespace (the default), the host's, or (pid, ipc, uts) another running container's.
public struct NamespaceModes: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case `private`
        case host
        /// A container by name or ID, resolved to its init's namespace at create.
        case container(String)
    }

    public var pid: Mode = .private
    public var ipc: Mode = .private
    public var uts: Mode = .private
    public var cgroup: Mode = .private

    public init() {}

    public init(pid: String?, ipc: String?, uts: String?, cgroupns: String?) throws(EngineError) {
        self.pid = try Self.mode(pid, option: "--pid", allowed: ["host"])
        self.ipc = try Self.mode(ipc, option: "--ipc", allowed: ["host", "private", "shareable"])
        self.uts = try Self.mode(uts, option: "--uts", allowed: ["host"])
        self.cgroup = try Self.mode(cgroupns, option: "--cgroupns", allowed: ["host", "private"], containers: false)
    }

    static func mode(_ text: String?, option: String, allowed: [String], containers: Bool = true) throws(EngineError) -> Mode {
        guard let text, !text.isEmpty else { return .private }
        if text == "host" { return .host }
        if allowed.contains(text) { return .private }
        if containers, text.hasPrefix("container:"), text.count > "container:".count { return .container(String(text.dropFirst(10))) }
        throw .invalidOption(
            "invalid \(option) '\(text)': use " + (allowed + (containers ? ["container:NAME"] : [])).joined(separator: ", "))
    }

    /// The containers whose namespaces are joined, by namespace.
    public var sharedContainers: [(NamespaceType, String)] {
        [(NamespaceType.pid, pid), (.ipc, ipc), (.uts, uts)].compactMap { type, mode in
            if case .container(let name) = mode { return (type, name) }
            return nil
        }
    }

    public var isDefault: Bool { self == NamespaceModes() }

    /// Applies the modes to the default namespace list; `paths` has the joined containers'
    /// namespace files by type.
    func apply(to namespaces: [Namespace], paths: [NamespaceType: String]) -> [Namespace] {
        var result: [Namespace] = []
        for namespace in namespaces {
            let mode: Mode
            switch namespace.type {
            case .pid: mode = pid
            case .ipc: mode = ipc
            case .uts: mode = uts
            case .cgroup: mode = cgroup
            default: mode = .private
            }
            switch mode {
            case .private: result.append(namespace)
            case .host: continue
            case .container: result.append(Namespace(type: namespace.type, path: paths[namespace.type]))
            }
        }
        return result
    }
}

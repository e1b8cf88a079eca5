import OCISpec

/// The parts of `inspect` derived from a container's spec: privileged mode, security options,
/// tmpfs mounts, ulimits and the mount list with volume names.
enum InspectDetails {
    /// docker's Binds name a volume by its name, a host directory by its path.
    static func bindSource(_ source: String, volumesDirectory: String) -> String {
        guard source.hasPrefix(volumesDirectory + "/") && source.hasSuffix("/_data") else { return source }
        return String(source.dropFirst(volumesDirectory.count + 1).dropLast(6))
    }

    static func isPrivileged(_ spec: Spec) -> Bool {
        spec.linux?.resources?.devices?.first?.allow == true && (spec.linux?.maskedPaths ?? []).isEmpty
    }

    static func securityOpt(_ spec: Spec) -> [String] {
        var result: [String] = []
        if spec.process?.noNewPrivileges == true { result.append("no-new-privileges") }
        if spec.linux?.seccomp == nil { result.append("seccomp=unconfined") }
        return result
    }

    static func tmpfs(_ spec: Spec) -> [String: String] {
        var result: [String: String] = [:]
        for mount in spec.mounts ?? [] where mount.type == "tmpfs" && !["/dev", "/dev/shm"].contains(mount.destination) {
            result[mount.destination] = (mount.options ?? []).joined(separator: ",")
        }
        return result
    }

    static func ulimit(_ limit: Rlimit) -> InspectCommand.UlimitView {
        let name = limit.type.hasPrefix("RLIMIT_") ? String(limit.type.dropFirst(7)).lowercased() : limit.type
        func value(_ raw: UInt64) -> Int64 { raw == UInt64.max ? -1 : Int64(clamping: raw) }
        return .init(Name: name, Soft: value(limit.soft), Hard: value(limit.hard))
    }

    static func mounts(_ spec: Spec, volumesDirectory: String) -> [InspectCommand.MountView] {
        (spec.mounts ?? []).compactMap { mount in
            let readOnly = (mount.options ?? []).contains("ro")
            if mount.type == "tmpfs", !["/dev", "/dev/shm"].contains(mount.destination) {
                return .init(Type: "tmpfs", Name: nil, Source: "", Destination: mount.destination, RW: !readOnly)
            }
            guard mount.type == "bind", let source = mount.source,
                  !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains(mount.destination) else { return nil }
            if source.hasPrefix(volumesDirectory + "/") && source.hasSuffix("/_data") {
                let name = String(source.dropFirst(volumesDirectory.count + 1).dropLast(6))
                return .init(Type: "volume", Name: name, Source: source, Destination: mount.destination, RW: !readOnly)
            }
            return .init(Type: "bind", Name: nil, Source: source, Destination: mount.destination, RW: !readOnly)
        }
    }
}

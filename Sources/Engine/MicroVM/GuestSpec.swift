import AgentProtocol
import OCISpec

/// The container's spec as the guest's runtime gets it: the same one the process path runs,
/// with what only makes sense on the host taken out. Pure, so a unit test checks it.
enum GuestSpec {
    /// - the network namespace goes: the guest's own is the container's (its NIC carries the
    ///   container's address), and a host path means nothing in the guest;
    /// - /etc/hosts, /etc/resolv.conf and /etc/hostname come from the agent's files;
    /// - hooks are the host's programs: they do not run in the guest.
    /// Throws for what the guest cannot have yet (bind mounts of host paths: volumes).
    static func translate(_ spec: Spec, containerDirectory: String) throws -> Spec {
        var guest = spec
        guest.hooks = nil
        if var linux = guest.linux {
            linux.namespaces = linux.namespaces?.filter { $0.type != .network }
            if linux.namespaces?.contains(where: { $0.type == .user }) == true {
                throw EngineError.invalidOption("--userns cannot be combined with --vm yet: the micro-VM is the isolation boundary; drop --userns")
            }
            guest.linux = linux
        }
        let replacements = [
            containerDirectory + "/hosts": GuestPaths.hosts,
            containerDirectory + "/resolv.conf": GuestPaths.resolvConf,
            containerDirectory + "/hostname": GuestPaths.hostname,
        ]
        guest.mounts = try spec.mounts?.map { mount in
            var mount = mount
            guard mount.type == "bind" || (mount.options ?? []).contains(where: { $0 == "bind" || $0 == "rbind" }) else { return mount }
            guard let source = mount.source, let replacement = replacements[source] else {
                throw EngineError.invalidOption(
                    "--vm cannot mount host paths into the guest yet (\(mount.source ?? "?") on \(mount.destination)): drop -v/--mount, or run without --vm")
            }
            mount.source = replacement
            return mount
        }
        return guest
    }
}

#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import OCISpec

/// The container's spec as the guest's runtime gets it: the same one the process path runs,
/// with what only makes sense on the host taken out. Pure but for one stat per bind source, so a
/// unit test checks it.
enum GuestSpec {
    /// A host directory the guest gets over virtio-9p: QEMU serves `hostPath` under `tag`, the
    /// agent mounts it at `GuestPaths.share(tag)`, and the spec binds it from there.
    struct Share: Equatable, Sendable {
        var tag: String
        var hostPath: String
        var readOnly: Bool
    }

    /// - the network namespace goes: the guest's own is the container's (its NIC carries the
    ///   container's address), and a host path means nothing in the guest;
    /// - /etc/hosts, /etc/resolv.conf and /etc/hostname come from the agent's files;
    /// - every other bind mount (a `-v` directory, a named or anonymous volume) becomes a 9p share
    ///   of its source, bound from where the agent mounts it; a bind of a single file is refused
    ///   (9p shares directories);
    /// - hooks are the host's programs: they do not run in the guest.
    static func translate(_ spec: Spec, containerDirectory: String) throws -> (spec: Spec, shares: [Share]) {
        var guest = spec
        guest.hooks = nil
        if var linux = guest.linux {
            linux.namespaces = linux.namespaces?.filter { $0.type != .network }
            if linux.namespaces?.contains(where: { $0.type == .user }) == true {
                throw EngineError.invalidOption(
                    "--userns cannot be combined with --vm yet: the micro-VM is the isolation boundary; drop --userns")
            }
            guest.linux = linux
        }
        let replacements = [
            containerDirectory + "/hosts": GuestPaths.hosts,
            containerDirectory + "/resolv.conf": GuestPaths.resolvConf,
            containerDirectory + "/hostname": GuestPaths.hostname,
        ]
        var shares: [Share] = []
        guest.mounts = try spec.mounts?.map { mount in
            var mount = mount
            guard mount.type == "bind" || (mount.options ?? []).contains(where: { $0 == "bind" || $0 == "rbind" }) else { return mount }
            guard let source = mount.source else { return mount }
            if let replacement = replacements[source] {
                mount.source = replacement
                return mount
            }
            var st = stat()
            guard stat(source, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw EngineError.invalidOption(
                    "--vm shares only directories with the guest (virtio-9p): \(source) on \(mount.destination) is not one; mount its directory instead"
                )
            }
            let readOnly = (mount.options ?? []).contains("ro")
            let tag: String
            if let existing = shares.first(where: { $0.hostPath == source && $0.readOnly == readOnly }) {
                tag = existing.tag
            } else {
                tag = "share\(shares.count)"
                shares.append(Share(tag: tag, hostPath: source, readOnly: readOnly))
            }
            mount.source = GuestPaths.share(tag)
            return mount
        }
        return (guest, shares)
    }
}

import OCISpec

/// The text of a /proc/PID/uid_map or gid_map file for id mappings ("INSIDE OUTSIDE COUNT" lines),
/// shared by user namespaces and the namespaces behind idmapped mounts.
enum IDMapFile {
    static func text(_ mappings: [IDMapping]) -> String {
        mappings.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
    }
}

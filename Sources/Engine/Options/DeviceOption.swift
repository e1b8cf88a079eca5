#if canImport(Glibc)
import Glibc
#endif
import CShim
import OCISpec

/// `--device HOST[:CONTAINER][:PERMISSIONS]` as docker takes it: the host's device node appears
/// at CONTAINER (default: the same path) and the cgroup allows PERMISSIONS (r, w, m; default rwm).
enum DeviceOption {
    struct Parsed: Equatable {
        var device: Device
        var rule: Resources.DeviceRule
    }

    static func parse(_ values: [String]) throws -> [Parsed] {
        try values.map(parseOne)
    }

    static func parseOne(_ text: String) throws -> Parsed {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), let host = parts.first, host.hasPrefix("/") else {
            throw invalid(text, "give HOST[:CONTAINER][:PERMISSIONS] with an absolute host path")
        }
        var destination = host
        var access = "rwm"
        if parts.count == 3 {
            destination = parts[1]
            access = parts[2]
        } else if parts.count == 2 {
            if parts[1].hasPrefix("/") { destination = parts[1] } else { access = parts[1] }
        }
        guard destination.hasPrefix("/") else { throw invalid(text, "the container path '\(destination)' must be absolute") }
        guard !access.isEmpty, access.allSatisfy({ "rwm".contains($0) }) else {
            throw invalid(text, "permissions '\(access)' must be made of r, w and m")
        }
        var st = stat()
        guard stat(host, &st) == 0 else {
            throw invalid(text, "\(host): \(String(cString: strerror(errno)))")
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFCHR || kind == S_IFBLK else { throw invalid(text, "\(host) is not a character or block device") }
        let type = kind == S_IFCHR ? "c" : "b"
        let major = Int64(skiff_major(UInt64(st.st_rdev))), minor = Int64(skiff_minor(UInt64(st.st_rdev)))
        return Parsed(
            device: Device(
                type: type, path: destination, major: major, minor: minor,
                fileMode: UInt32(st.st_mode & 0o777), uid: 0, gid: 0),
            rule: Resources.DeviceRule(allow: true, type: type, major: major, minor: minor, access: access))
    }

    private static func invalid(_ text: String, _ reason: String) -> EngineError {
        .invalidOption("invalid --device '\(text)': \(reason)")
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// `--userns`: `host` (the default: container root is host root, as docker's default) or
/// `auto[:size=N]` (podman's spelling): the container gets a user namespace of its own whose ids
/// 0..N-1 are a block of host ids no other container of this store uses, taken from the
/// subordinate ranges of the user `containers` in /etc/subuid and /etc/subgid. Root in the
/// container is then an unprivileged id on the host.
public enum UserNamespaceOption: Sendable, Equatable {
    case host
    case auto(size: UInt32)

    /// The block size when `auto` names none: every 16-bit id an image may use.
    public static let defaultSize: UInt32 = 65536

    public init(parsing text: String) throws(EngineError) {
        switch text {
        case "", "host": self = .host
        case "auto": self = .auto(size: Self.defaultSize)
        default:
            guard text.hasPrefix("auto:") else {
                throw EngineError.invalidOption("--userns \(text): use host, auto or auto:size=N")
            }
            var size = Self.defaultSize
            for option in text.dropFirst(5).split(separator: ",") {
                guard option.hasPrefix("size="), let value = UInt32(option.dropFirst(5)), value >= 1, value <= 1 << 24 else {
                    throw EngineError.invalidOption("--userns \(text): the only option of auto is size=N, N from 1 to 16777216")
                }
                size = value
            }
            self = .auto(size: size)
        }
    }
}

/// One container's id mapping: container ids 0..<size are host ids hostID..<hostID+size, for
/// users and groups alike.
public struct UserNamespaceMapping: Codable, Sendable, Equatable {
    public var hostID: UInt32
    public var size: UInt32

    public init(hostID: UInt32, size: UInt32) {
        self.hostID = hostID
        self.size = size
    }

    var range: Range<UInt64> { UInt64(hostID)..<UInt64(hostID) + UInt64(size) }
}

/// The subordinate id ranges of /etc/subuid and /etc/subgid ("name:start:count" lines), and the
/// allocation of a container's block in them.
public enum SubordinateIDs {
    /// The user whose ranges containers take, as podman's `--userns=auto` does.
    public static let user = "containers"

    /// The files; `SKIFF_SUBUID_FILE`/`SKIFF_SUBGID_FILE` point elsewhere (tests, odd hosts).
    static var files: (uid: String, gid: String) {
        let environment = { (name: String, fallback: String) -> String in
            getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        return (environment("SKIFF_SUBUID_FILE", "/etc/subuid"), environment("SKIFF_SUBGID_FILE", "/etc/subgid"))
    }

    /// The ranges `user` has in the text of a subuid/subgid file; malformed lines are skipped.
    public static func ranges(in text: String, user: String = user) -> [Range<UInt64>] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == user, let start = UInt64(fields[1]), let count = UInt64(fields[2]),
                count > 0, start + count <= UInt64(UInt32.max)
            else { return nil }
            return start..<start + count
        }
    }

    /// The first block of `size` ids that lies inside both the uid and the gid ranges (one block
    /// serves both, as podman's auto does) and overlaps no block in `taken`.
    public static func allocate(
        size: UInt32, uidRanges: [Range<UInt64>], gidRanges: [Range<UInt64>],
        taken: [UserNamespaceMapping]
    ) -> UserNamespaceMapping? {
        let both = uidRanges.flatMap { u in
            gidRanges.compactMap { g -> Range<UInt64>? in
                let low = max(u.lowerBound, g.lowerBound), high = min(u.upperBound, g.upperBound)
                return low < high ? low..<high : nil
            }
        }.sorted { $0.lowerBound < $1.lowerBound }
        let used = taken.map(\.range).sorted { $0.lowerBound < $1.lowerBound }
        for range in both {
            var start = range.lowerBound
            while start + UInt64(size) <= range.upperBound {
                let candidate = start..<start + UInt64(size)
                guard let clash = used.first(where: { $0.overlaps(candidate) }) else {
                    return UserNamespaceMapping(hostID: UInt32(start), size: size)
                }
                start = clash.upperBound
            }
        }
        return nil
    }

    /// A block for a new container from this host's files, or a clear error.
    static func allocate(size: UInt32, taken: [UserNamespaceMapping]) throws(EngineError) -> UserNamespaceMapping {
        let (uidFile, gidFile) = files
        guard let uidText = try? FileIO.readString(uidFile), let gidText = try? FileIO.readString(gidFile) else {
            throw EngineError.invalidOption(
                "--userns=auto needs \(uidFile) and \(gidFile) with a range for the user '\(user)', e.g. the line '\(user):1000000:1000000' in both"
            )
        }
        let uids = ranges(in: uidText), gids = ranges(in: gidText)
        guard !uids.isEmpty, !gids.isEmpty else {
            throw EngineError.invalidOption(
                "--userns=auto: \(uidFile) and \(gidFile) have no range for the user '\(user)': add a line such as '\(user):1000000:1000000' to both"
            )
        }
        guard let block = allocate(size: size, uidRanges: uids, gidRanges: gids, taken: taken) else {
            throw EngineError.invalidOption(
                "--userns=auto: no free block of \(size) ids is left in the ranges of '\(user)' in \(uidFile) and \(gidFile) (\(taken.count) containers hold one): remove containers or widen the ranges"
            )
        }
        return block
    }
}

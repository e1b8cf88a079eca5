/// Resolves docker's `-u user[:group]` (names or numbers) against the image's /etc/passwd and
/// /etc/group, as docker does: a name must exist, a number need not; the primary group comes from
/// the passwd entry unless a group is given; supplementary groups are the user's memberships.
/// Pure over the files' text so it is unit-tested.
public struct ResolvedUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]
    public var home: String

    public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32], home: String) {
        self.uid = uid
        self.gid = gid
        self.additionalGids = additionalGids
        self.home = home
    }
}

public enum UserResolution {
    struct PasswdEntry {
        var name: String
        var uid: UInt32
        var gid: UInt32
        var home: String
    }
    struct GroupEntry {
        var name: String
        var gid: UInt32
        var members: [String]
    }

    static func parsePasswd(_ text: String) -> [PasswdEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 4, !f[0].hasPrefix("#"), let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return PasswdEntry(name: f[0], uid: uid, gid: gid, home: f.count >= 6 ? f[5] : "/")
        }
    }

    static func parseGroup(_ text: String) -> [GroupEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 3, !f[0].hasPrefix("#"), let gid = UInt32(f[2]) else { return nil }
            let members = f.count >= 4 ? f[3].split(separator: ",").map(String.init) : []
            return GroupEntry(name: f[0], gid: gid, members: members)
        }
    }

    /// `spec` is `user`, `uid`, `user:group`, `uid:gid` or empty (root). Missing files count as empty.
    /// `--group-add` values as gids: numbers, or names from the image's /etc/group.
    public static func groups(_ names: [String], group: String?) throws -> [UInt32] {
        let groups = parseGroup(group ?? "")
        return try names.map { name in
            if let number = UInt32(name) { return number }
            guard let entry = groups.first(where: { $0.name == name }) else { throw EngineError.groupNotFound(name) }
            return entry.gid
        }
    }

    public static func resolve(_ spec: String, passwd: String?, group: String?) throws -> ResolvedUser {
        let users = parsePasswd(passwd ?? "")
        let groups = parseGroup(group ?? "")
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts.first ?? ""
        let groupPart = parts.count > 1 ? parts[1] : nil

        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var home = "/"
        var userName: String?
        if userPart.isEmpty {
            if let root = users.first(where: { $0.uid == 0 }) {
                gid = root.gid
                home = root.home
                userName = root.name
            } else {
                home = "/root"
            }
        } else if let number = UInt32(userPart) {
            uid = number
            if let entry = users.first(where: { $0.uid == number }) {
                gid = entry.gid
                home = entry.home
                userName = entry.name
            }
        } else {
            guard let entry = users.first(where: { $0.name == userPart }) else { throw EngineError.userNotFound(userPart) }
            uid = entry.uid
            gid = entry.gid
            home = entry.home
            userName = entry.name
        }
        if let groupPart, !groupPart.isEmpty {
            if let number = UInt32(groupPart) {
                gid = number
            } else {
                guard let entry = groups.first(where: { $0.name == groupPart }) else { throw EngineError.groupNotFound(groupPart) }
                gid = entry.gid
            }
        }
        var additional: [UInt32] = []
        if let userName, groupPart == nil || groupPart?.isEmpty == true {
            for entry in groups where entry.members.contains(userName) && entry.gid != gid && !additional.contains(entry.gid) {
                additional.append(entry.gid)
            }
        }
        return ResolvedUser(uid: uid, gid: gid, additionalGids: additional, home: home)
    }
}

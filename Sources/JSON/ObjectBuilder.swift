/// Ordered object members with unique keys: setting an existing key replaces its value in place.
///
/// Small objects (the common case in OCI documents) are searched linearly; a hash index is built
/// only once an object grows past `indexThreshold` members, so hostile documents with many keys
/// stay linear-time.
struct ObjectBuilder {
    private(set) var members: [(key: String, value: JSONValue)] = []
    private var index: [String: Int]?
    private static let indexThreshold = 12

    mutating func set(_ key: String, _ value: JSONValue) {
        if let position = position(of: key) {
            members[position].value = value
            return
        }
        members.append((key, value))
        if index != nil {
            index?[key] = members.count - 1
        } else if members.count > Self.indexThreshold {
            var built: [String: Int] = [:]
            built.reserveCapacity(members.count * 2)
            for (offset, member) in members.enumerated() { built[member.key] = offset }
            index = built
        }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return members.firstIndex(where: { $0.key == key })
    }
}

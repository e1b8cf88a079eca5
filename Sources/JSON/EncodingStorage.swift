/// The mutable tree an encoding builds before it becomes a `JSONValue`.
///
/// `Encoder` hands out containers that are written to after they are returned, so objects and
/// arrays under construction are shared references; finished scalars are plain values.
enum EncodedNode {
    case value(JSONValue)
    case object(EncodedObject)
    case array(EncodedArray)

    var jsonValue: JSONValue {
        switch self {
        case .value(let value): return value
        case .object(let object): return .object(object.members.map { ($0.key, $0.node.jsonValue) })
        case .array(let array): return .array(array.elements.map(\.jsonValue))
        }
    }
}

/// An object under construction: members in the order first encoded; re-encoding a key replaces it.
final class EncodedObject {
    private(set) var members: [(key: String, node: EncodedNode)] = []
    private var index: [String: Int]?

    func set(_ key: String, _ node: EncodedNode) {
        if let position = position(of: key) {
            members[position].node = node
            return
        }
        members.append((key, node))
        if index != nil {
            index?[key] = members.count - 1
        } else if members.count > 12 {
            var built: [String: Int] = [:]
            for (offset, member) in members.enumerated() { built[member.key] = offset }
            index = built
        }
    }

    func get(_ key: String) -> EncodedNode? {
        position(of: key).map { members[$0].node }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return members.firstIndex(where: { $0.key == key })
    }
}

/// An array under construction.
final class EncodedArray {
    var elements: [EncodedNode] = []
}

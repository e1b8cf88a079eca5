/// A coding key for array indices, `super` and dictionary keys built by the codec itself.
struct JSONCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = "Index \(intValue)"
        self.intValue = intValue
    }

    static let superKey = JSONCodingKey(stringValue: "super")
}

/// The path from the document root to a value, as a persistent linked list.
///
/// Coders create a child path for every value they visit; sharing the parent's nodes makes that
/// one small allocation instead of copying a `[CodingKey]` array. The array is only built when
/// someone asks for `codingPath` (mostly to report an error).
indirect enum CodingPathNode {
    case root
    case key(any CodingKey, CodingPathNode)
    case index(Int, CodingPathNode)

    func appending(_ key: some CodingKey) -> CodingPathNode { .key(key, self) }
    func appending(index: Int) -> CodingPathNode { .index(index, self) }

    var keys: [any CodingKey] {
        var reversed: [any CodingKey] = []
        var node = self
        while true {
            switch node {
            case .root: return reversed.reversed()
            case .key(let key, let parent):
                reversed.append(key)
                node = parent
            case .index(let index, let parent):
                reversed.append(JSONCodingKey(intValue: index))
                node = parent
            }
        }
    }
}

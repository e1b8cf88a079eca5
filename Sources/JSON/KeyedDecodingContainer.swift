/// Reads the members of a JSON object by coding key.
///
/// Small objects are searched linearly; larger ones get a hash index once, when the container
/// is made. Missing keys throw `keyNotFound` (so `decodeIfPresent` yields nil for them).
struct JSONKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [(key: String, value: JSONValue)]
    let index: [String: Int]?
    let path: CodingPathNode

    init(members: [(key: String, value: JSONValue)], path: CodingPathNode) {
        self.members = members
        self.path = path
        if members.count > 12 {
            var built: [String: Int] = [:]
            built.reserveCapacity(members.count * 2)
            for (offset, member) in members.enumerated() { built[member.key] = offset }
            index = built
        } else {
            index = nil
        }
    }

    var codingPath: [any CodingKey] { path.keys }

    /// A plain loop rather than `compactMap`: in this unspecialized generic context `compactMap`
    /// resolves its associated types through the runtime's mangled-name lookup on first use.
    var allKeys: [Key] {
        var keys: [Key] = []
        keys.reserveCapacity(members.count)
        for member in members {
            if let key = Key(stringValue: member.key) { keys.append(key) }
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { lookup(key.stringValue) != nil }

    func lookup(_ name: String) -> JSONValue? {
        if let index {
            return index[name].map { members[$0].value }
        }
        // Last match wins, in case the members were built by hand with duplicates.
        return members.last(where: { $0.key == name })?.value
    }

    func decoder(for key: Key) throws -> JSONValueDecoder {
        guard let value = lookup(key.stringValue) else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(
                    codingPath: codingPath,
                    debugDescription: "No value associated with key '\(key.stringValue)'"))
        }
        return JSONValueDecoder(value: value, parentPath: path, leaf: .key(key))
    }

    func decodeNil(forKey key: Key) throws -> Bool { try decoder(for: key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder(for: key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder(for: key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder(for: key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder(for: key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder(for: key).integer(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder(for: key).integer(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder(for: key).integer(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder(for: key).integer(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder(for: key).integer(type) }
    @available(macOS 15.0, *)
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try decoder(for: key).integer(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder(for: key).integer(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder(for: key).integer(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder(for: key).integer(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder(for: key).integer(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder(for: key).integer(type) }
    @available(macOS 15.0, *)
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try decoder(for: key).integer(type) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: decoder(for: key))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        superDecoder(named: JSONCodingKey.superKey)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        superDecoder(named: key)
    }

    /// A decoder for the member `key`, or for null if there is none (as Foundation does).
    private func superDecoder(named key: some CodingKey) -> any Decoder {
        JSONValueDecoder(value: lookup(key.stringValue) ?? .null, path: path.appending(key))
    }
}

/// Writes the members of a JSON object by coding key.
struct JSONKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: EncodedObject
    let path: CodingPathNode

    var codingPath: [any CodingKey] { path.keys }

    private func set(_ value: JSONValue, _ key: Key) { object.set(key.stringValue, .value(value)) }

    mutating func encodeNil(forKey key: Key) { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try JSONValueEncoder.box(value, path: path.appending(key)), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try JSONValueEncoder.box(value, path: path.appending(key)), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    @available(macOS 15.0, *)
    mutating func encode(_ value: Int128, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { set(JSONValueEncoder.box(value), key) }
    @available(macOS 15.0, *)
    mutating func encode(_ value: UInt128, forKey key: Key) { set(JSONValueEncoder.box(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(key.stringValue, try JSONValueEncoder.node(for: value, path: path.appending(key)))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested: EncodedObject
        if case .object(let existing) = object.get(key.stringValue) {
            nested = existing
        } else {
            nested = EncodedObject()
            object.set(key.stringValue, .object(nested))
        }
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<NestedKey>(object: nested, path: path.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested: EncodedArray
        if case .array(let existing) = object.get(key.stringValue) {
            nested = existing
        } else {
            nested = EncodedArray()
            object.set(key.stringValue, .array(nested))
        }
        return JSONUnkeyedEncodingContainer(array: nested, path: path.appending(key))
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: JSONCodingKey.superKey) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key) }

    private func superEncoder(named key: some CodingKey) -> any Encoder {
        let name = key.stringValue
        let object = self.object
        return JSONValueEncoder(path: path.appending(key)) { object.set(name, $0) }
    }
}

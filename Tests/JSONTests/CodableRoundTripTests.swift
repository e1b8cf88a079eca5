import Testing
import JSON

private struct Limits: Codable, Equatable {
    var u8: UInt8
    var u32: UInt32
    var u64: UInt64
    var i64: Int64
    var i64Min: Int64
    var i32: Int32
    var int: Int
    var double: Double
    var float: Float
}

private enum Signal: String, Codable, Equatable {
    case term = "SIGTERM"
    case kill = "SIGKILL"
}

private enum Mode: Int, Codable, Equatable {
    case readOnly = 1
    case readWrite = 2
}

private enum Action: Codable, Equatable {
    case allow
    case errno(Int32)
    case trace(message: String, code: UInt16)
}

private struct Mount: Codable, Equatable {
    var destination: String
    var type: String?
    var options: [String]?
}

private struct Container: Codable, Equatable {
    var id: String
    var pid: Int32?
    var annotations: [String: String]
    var mounts: [Mount]
    var limits: [String: Limits]
    var byIndex: [Int: String]
    var signal: Signal
    var modes: [Mode]
    var actions: [Action]
    var optionalList: [Int?]
    var nested: [[String]]
    var flag: Bool
    var note: String?
}

private func roundTrip<T: Codable & Equatable>(_ value: T, pretty: Bool = false) throws -> T {
    try JSONDecoding.decode(T.self, from: JSONEncoding.encode(value, pretty: pretty))
}

@Suite struct CodableRoundTripTests {
    fileprivate let limits = Limits(
        u8: 255, u32: UInt32.max, u64: UInt64.max, i64: Int64.max, i64Min: Int64.min,
        i32: Int32.min, int: -1, double: 0.1, float: 1.5)

    fileprivate var container: Container {
        Container(
            id: "c1", pid: nil,
            annotations: ["org.opencontainers.image.title": "busybox", "a/b": "c\"d\n"],
            mounts: [
                Mount(destination: "/proc", type: "proc", options: nil),
                Mount(destination: "/dev", type: nil, options: ["nosuid", "mode=755"]),
            ],
            limits: ["max": limits],
            byIndex: [1: "one", -2: "minus two"],
            signal: .kill, modes: [.readOnly, .readWrite],
            actions: [.allow, .errno(1), .trace(message: "ü", code: 65535)],
            optionalList: [1, nil, 3],
            nested: [[], ["x"]],
            flag: true, note: nil)
    }

    @Test func nestedStructRoundTrips() throws {
        #expect(try roundTrip(container) == container)
        #expect(try roundTrip(container, pretty: true) == container)
    }

    @Test func integerExtremesAreWrittenExactly() throws {
        let text = String(decoding: try JSONEncoding.encode(limits), as: UTF8.self)
        #expect(
            text == #"{"u8":255,"u32":4294967295,"u64":18446744073709551615,"i64":9223372036854775807,"#
                + #""i64Min":-9223372036854775808,"i32":-2147483648,"int":-1,"double":0.1,"float":1.5}"#)
        #expect(try roundTrip(limits) == limits)
    }

    @Test func nilOptionalsAreOmitted() throws {
        let mount = Mount(destination: "/tmp", type: nil, options: nil)
        #expect(String(decoding: try JSONEncoding.encode(mount), as: UTF8.self) == #"{"destination":"/tmp"}"#)
    }

    @Test func missingAndNullOptionalsDecodeAsNil() throws {
        let missing = try JSONDecoding.decode(Mount.self, from: Array(#"{"destination":"/a"}"#.utf8))
        let null = try JSONDecoding.decode(Mount.self, from: Array(#"{"destination":"/a","type":null}"#.utf8))
        #expect(missing == Mount(destination: "/a", type: nil, options: nil))
        #expect(null == missing)
    }

    @Test func enumsUseSwiftsSynthesizedShape() throws {
        let encoded = try JSONEncoding.encode([Action.allow, .errno(38), .trace(message: "m", code: 2)])
        #expect(
            String(decoding: encoded, as: UTF8.self)
                == #"[{"allow":{}},{"errno":{"_0":38}},{"trace":{"message":"m","code":2}}]"#)
        #expect(try JSONDecoding.decode([Action].self, from: encoded) == [.allow, .errno(38), .trace(message: "m", code: 2)])
        #expect(String(decoding: try JSONEncoding.encode([Signal.term]), as: UTF8.self) == #"["SIGTERM"]"#)
        #expect(String(decoding: try JSONEncoding.encode(Mode.readWrite), as: UTF8.self) == "2")
    }

    @Test func dictionariesRoundTrip() throws {
        let byName: [String: [UInt64]] = ["a": [0, UInt64.max], "": []]
        #expect(try roundTrip(byName) == byName)
        let byNumber: [Int: Bool] = [3: true, -7: false]
        let encoded = try JSONEncoding.encode(byNumber, sortedKeys: true)
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"-7":false,"3":true}"#)
        #expect(try JSONDecoding.decode([Int: Bool].self, from: encoded) == byNumber)
    }

    @Test func topLevelScalarsAndArrays() throws {
        #expect(try roundTrip("plain") == "plain")
        #expect(try roundTrip(UInt64.max) == UInt64.max)
        #expect(
            try roundTrip([Double]([0, -0.5, 1e-300, Double.greatestFiniteMagnitude])) == [0, -0.5, 1e-300, Double.greatestFiniteMagnitude])
        #expect(try roundTrip([String?]([nil, "x"])) == [nil, "x"])
    }

    @Test func sortedPrettyEncoding() throws {
        let mount = Mount(destination: "/dev", type: "tmpfs", options: ["nosuid"])
        let expected = """
            {
              "destination": "/dev",
              "options": [
                "nosuid"
              ],
              "type": "tmpfs"
            }
            """
        #expect(String(decoding: try JSONEncoding.encode(mount, pretty: true, sortedKeys: true), as: UTF8.self) == expected)
    }

    @Test func decodesIntegersWrittenWithFractionOrExponent() throws {
        #expect(try JSONDecoding.decode([Int].self, from: Array("[1.0, 2e3, -0]".utf8)) == [1, 2000, 0])
        #expect(try JSONDecoding.decode(UInt8.self, from: Array("-0".utf8)) == 0)
    }

    @Test func nonFiniteDoublesAreRejected() {
        #expect(throws: EncodingError.self) { try JSONEncoding.encode([Double.infinity]) }
        #expect(throws: EncodingError.self) { try JSONEncoding.encode(["x": Float.nan]) }
    }
}

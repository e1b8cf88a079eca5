import Testing
import JSON

private struct User: Codable {
    var uid: UInt32
    var gid: UInt32
    var additionalGids: [UInt32]?
}
private struct Process: Codable {
    var user: User
    var args: [String]
    var terminal: Bool?
}
private struct Config: Codable {
    var ociVersion: String
    var process: Process
}

/// The DecodingError thrown for `text`, or nil if it decodes.
private func decodingError<T: Decodable>(_ type: T.Type, _ text: String) -> DecodingError? {
    do {
        _ = try JSONDecoding.decode(type, from: Array(text.utf8))
        return nil
    } catch let error as DecodingError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

private func path(_ error: DecodingError?) -> String? {
    switch error {
    case .keyNotFound(let key, let context)?: return JSONDecoding.pathText(context.codingPath + [key])
    case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
        return JSONDecoding.pathText(context.codingPath)
    default: return nil
    }
}

@Suite struct DecodingErrorTests {
    @Test func typeMismatchNamesTheField() throws {
        let error = decodingError(
            Config.self,
            #"{"ociVersion":"1","process":{"user":{"uid":"root","gid":0},"args":[]}}"#)
        guard case .typeMismatch? = error else {
            Issue.record("expected typeMismatch, got \(String(describing: error))")
            return
        }
        #expect(path(error) == "process.user.uid")
        #expect(
            error.map(JSONDecoding.describe)
                == "field 'process.user.uid': expected a number (UInt32) but found a string")
    }

    @Test func missingKeyNamesTheField() {
        let error = decodingError(Config.self, #"{"ociVersion":"1","process":{"user":{"uid":0},"args":[]}}"#)
        guard case .keyNotFound(let key, _)? = error else {
            Issue.record("expected keyNotFound, got \(String(describing: error))")
            return
        }
        #expect(key.stringValue == "gid")
        #expect(error.map(JSONDecoding.describe) == "missing field 'process.user.gid'")
    }

    @Test func arrayIndicesAppearInThePath() {
        let error = decodingError(
            Config.self,
            #"{"ociVersion":"1","process":{"user":{"uid":0,"gid":0,"additionalGids":[1,2,-3]},"args":["sh"]}}"#)
        guard case .dataCorrupted? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(path(error) == "process.user.additionalGids[2]")
        #expect(
            error.map(JSONDecoding.describe)
                == "field 'process.user.additionalGids[2]': number -3 does not fit in UInt32")
    }

    @Test func nullForRequiredValueIsValueNotFound() {
        let error = decodingError(Config.self, #"{"ociVersion":null,"process":{"user":{"uid":0,"gid":0},"args":[]}}"#)
        guard case .valueNotFound? = error else {
            Issue.record("expected valueNotFound, got \(String(describing: error))")
            return
        }
        #expect(path(error) == "ociVersion")
    }

    @Test(arguments: ["300", "-1", "1.5", "1e3", "99999999999999999999"])
    func integersAreRangeChecked(text: String) {
        guard case .dataCorrupted(let context)? = decodingError(UInt8.self, text) else {
            Issue.record("\(text) into UInt8 should be dataCorrupted")
            return
        }
        #expect(context.debugDescription == "number \(text) does not fit in UInt8")
    }

    @Test func wrongContainerKinds() {
        #expect(path(decodingError(Config.self, #"{"ociVersion":"1","process":[]}"#)) == "process")
        #expect(path(decodingError([Int].self, #"{"a":1}"#)) == "")
        guard case .typeMismatch? = decodingError(Bool.self, "1") else {
            Issue.record("1 is not a Bool")
            return
        }
    }

    @Test func decodingPastTheEndOfAnArray() {
        guard case .valueNotFound(_, let context)? = decodingError(Pair.self, "[1]") else {
            Issue.record("expected valueNotFound")
            return
        }
        #expect(JSONDecoding.pathText(context.codingPath) == "[1]")
    }

    @Test func floatRangeIsChecked() {
        guard case .dataCorrupted? = decodingError(Float.self, "1e39") else {
            Issue.record("1e39 does not fit in Float")
            return
        }
        guard case .dataCorrupted? = decodingError(Double.self, "1e309") else {
            Issue.record("1e309 does not fit in Double")
            return
        }
    }

    @Test func malformedJSONThrowsJSONError() {
        #expect(throws: JSONError.self) { try JSONDecoding.decode(Config.self, from: Array("{".utf8)) }
    }
}

private struct Pair: Decodable {
    var first: Int
    var second: Int
    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        first = try container.decode(Int.self)
        second = try container.decode(Int.self)
    }
}

/// A parsed `WWW-Authenticate` header: `Bearer realm="https://auth",service="reg",scope="..."`
/// or `Basic realm="..."`.
///
/// It exists because the registry tells the client how to authenticate only through this header,
/// and its quoted, comma-separated parameters need a real parser (commas appear inside scopes).
public struct AuthChallenge: Equatable, Sendable {
    public var scheme: String
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// Parses the first challenge in `header`; nil when there is none.
    public static func parse(_ header: String) -> AuthChallenge? {
        let text = Array(header.unicodeScalars)
        var i = 0
        func skipSpaces() { while i < text.count, text[i] == " " || text[i] == "\t" { i += 1 } }
        skipSpaces()
        var scheme = ""
        while i < text.count, text[i] != " " {
            scheme.unicodeScalars.append(text[i])
            i += 1
        }
        guard !scheme.isEmpty else { return nil }
        var parameters: [String: String] = [:]
        while i < text.count {
            skipSpaces()
            var key = ""
            while i < text.count, text[i] != "=", text[i] != "," {
                key.unicodeScalars.append(text[i])
                i += 1
            }
            guard i < text.count, text[i] == "=" else {
                // A token with no value (or another challenge's scheme): stop at this challenge.
                break
            }
            i += 1
            var value = ""
            if i < text.count, text[i] == "\"" {
                i += 1
                while i < text.count, text[i] != "\"" {
                    if text[i] == "\\", i + 1 < text.count { i += 1 }
                    value.unicodeScalars.append(text[i])
                    i += 1
                }
                i += 1
            } else {
                while i < text.count, text[i] != "," {
                    value.unicodeScalars.append(text[i])
                    i += 1
                }
                value = value.trimmingSpaces()
            }
            parameters[key.trimmingSpaces().lowercased()] = value
            skipSpaces()
            if i < text.count, text[i] == "," { i += 1 }
        }
        return AuthChallenge(scheme: scheme.lowercased(), parameters: parameters)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars = scalars.dropFirst() }
        while scalars.last == " " { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

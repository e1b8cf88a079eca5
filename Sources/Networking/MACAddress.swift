/// An Ethernet (EUI-48) address as `--mac-address` takes it: six octets of two hexadecimal digits
/// separated by ':' or '-' (docker's forms), held as bytes and written lower-case with ':'.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var octets: [UInt8]

    /// Parses "02:42:ac:11:00:02" or "02-42-AC-11-00-02"; throws what is wrong with anything else,
    /// including a multicast (or broadcast) address and the all-zero one, which no interface may have.
    public init(parsing text: String) throws(NetworkError) {
        let separator: Character = text.contains("-") ? "-" : ":"
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        var octets: [UInt8] = []
        for part in parts {
            guard part.utf8.count == 2, part.allSatisfy(\.isHexDigit), let octet = UInt8(part, radix: 16) else { break }
            octets.append(octet)
        }
        guard parts.count == 6, octets.count == 6 else {
            throw .invalidMACAddress(text, reason: "it is not six hexadecimal octets")
        }
        guard octets[0] & 1 == 0 else {
            throw .invalidMACAddress(text, reason: "it is a multicast address (the lowest bit of the first octet is set)")
        }
        guard octets.contains(where: { $0 != 0 }) else {
            throw .invalidMACAddress(text, reason: "the all-zero address is no interface's")
        }
        self.octets = octets
    }

    public var description: String {
        octets.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}

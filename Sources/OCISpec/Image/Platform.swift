/// The platform an image runs on: OS, CPU architecture and variant.
///
/// It exists to pick one image out of a multi-platform index the way docker does, treating
/// aliases (`x86_64` = `amd64`, `aarch64` = `arm64`) and default variants as equal.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/arch[/variant]`, as given to `--platform`.
    public init(parsing text: String) throws(PlatformError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw PlatformError.malformed(text)
        }
        self.init(os: parts[0].lowercased(), architecture: parts[1].lowercased(), variant: parts.count == 3 ? parts[2].lowercased() : nil)
    }

    /// The platform skiff runs containers for by default.
    public static let linuxAmd64 = Platform(os: "linux", architecture: "amd64")

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// The same platform with aliases resolved to their OCI names and default variants filled in.
    public var normalized: Platform {
        var arch = architecture.lowercased()
        var variant = self.variant?.lowercased()
        switch arch {
        case "x86_64", "x86-64": arch = "amd64"
        case "aarch64": arch = "arm64"
        case "i386", "i686": arch = "386"
        case "armhf":
            arch = "arm"
            variant = variant ?? "v7"
        case "armel":
            arch = "arm"
            variant = variant ?? "v6"
        default: break
        }
        if arch == "arm64", variant == "v8" { variant = nil }
        if arch == "amd64", variant == "v1" { variant = nil }
        if arch == "arm", variant == nil { variant = "v7" }
        var result = Platform(os: os.lowercased(), architecture: arch, variant: variant)
        result.osVersion = osVersion
        return result
    }

    /// Whether an index entry for `candidate` can run where `self` is wanted.
    public func matches(_ candidate: Platform) -> Bool {
        let want = normalized, have = candidate.normalized
        return want.os == have.os && want.architecture == have.architecture && want.variant == have.variant
    }
}

/// Why a `--platform` value was rejected.
public enum PlatformError: Error, CustomStringConvertible, Sendable {
    case malformed(String)
    public var description: String {
        switch self {
        case .malformed(let text):
            return "invalid platform '\(text)': expected os/architecture[/variant], for example linux/amd64 or linux/arm/v7"
        }
    }
}

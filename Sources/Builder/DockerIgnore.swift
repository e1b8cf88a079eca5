import LinuxSupport

/// `.dockerignore` (or `.containerignore`) with docker's rules: one pattern a line, `#` lines
/// and blank lines skipped, a leading `/` and `./` dropped, `*` and `?` within one path
/// component, `[...]` classes, `**` for any number of components, `\` escaping, and `!` for
/// exceptions. A path is ignored when the last pattern that matches it, or one of its parent
/// directories, is not an exception.
public struct DockerIgnore: Sendable {
    struct Pattern: Sendable {
        var components: [String]
        var exception: Bool
    }

    var patterns: [Pattern]

    public init(_ text: String) {
        var patterns: [Pattern] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = raw.trimmed
            if line.isEmpty || line.hasPrefix("#") { continue }
            var exception = false
            if line.hasPrefix("!") {
                exception = true
                line = String(line.dropFirst()).trimmed
            }
            let components = Self.clean(line)
            if components.isEmpty { continue }
            patterns.append(Pattern(components: components, exception: exception))
        }
        self.patterns = patterns
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether there are `!` exceptions: then a walk must look inside an ignored directory,
    /// since they may bring back something below it.
    public var hasExceptions: Bool { patterns.contains { $0.exception } }

    /// `path` relative to the context root, `/`-separated.
    public func isIgnored(_ path: String) -> Bool {
        let components = Self.clean(path)
        guard !components.isEmpty else { return false }
        var ignored = false
        for pattern in patterns {
            var matched = false
            for count in 1...components.count where Self.match(pattern.components[...], components[0..<count]) {
                matched = true
                break
            }
            if matched { ignored = !pattern.exception }
        }
        return ignored
    }

    /// Path components with `.` dropped and `..` applied (never above the root).
    static func clean(_ path: String) -> [String] {
        var result: [String] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !result.isEmpty { result.removeLast() }
                continue
            }
            result.append(String(part))
        }
        return result
    }

    static func match(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            var tail = path
            while true {
                if match(rest, tail) { return true }
                guard !tail.isEmpty else { return false }
                tail = tail.dropFirst()
            }
        }
        guard let component = path.first, matchComponent(Array(first), 0, Array(component), 0) else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }

    /// One component against one glob: `*`, `?`, `[...]` (with `^` or `!` negation and
    /// ranges), `\` escapes.
    static func matchComponent(_ glob: [Character], _ g: Int, _ name: [Character], _ n: Int) -> Bool {
        var g = g
        var n = n
        while g < glob.count {
            switch glob[g] {
            case "*":
                if g + 1 < glob.count, glob[g + 1] == "*" {
                    // `**` inside a component (a**b) matches like `*`.
                    g += 1
                    continue
                }
                for start in n...name.count where matchComponent(glob, g + 1, name, start) { return true }
                return false
            case "?":
                guard n < name.count else { return false }
                g += 1
                n += 1
            case "[":
                guard n < name.count, let (matched, next) = matchClass(glob, g, name[n]) else { return false }
                guard matched else { return false }
                g = next
                n += 1
            case "\\" where g + 1 < glob.count:
                guard n < name.count, name[n] == glob[g + 1] else { return false }
                g += 2
                n += 1
            default:
                guard n < name.count, name[n] == glob[g] else { return false }
                g += 1
                n += 1
            }
        }
        return n == name.count
    }

    /// A `[...]` class at `start`: whether `ch` is in it, and the index after it; nil when the
    /// class is not closed (then nothing matches, as Go's filepath.Match errs).
    static func matchClass(_ glob: [Character], _ start: Int, _ ch: Character) -> (Bool, Int)? {
        var index = start + 1
        var negated = false
        if index < glob.count, glob[index] == "^" || glob[index] == "!" {
            negated = true
            index += 1
        }
        var matched = false
        var first = true
        while index < glob.count {
            if glob[index] == "]", !first { return (matched != negated, index + 1) }
            first = false
            var low = glob[index]
            if low == "\\", index + 1 < glob.count {
                index += 1
                low = glob[index]
            }
            index += 1
            var high = low
            if index + 1 < glob.count, glob[index] == "-", glob[index + 1] != "]" {
                high = glob[index + 1]
                if high == "\\", index + 2 < glob.count {
                    index += 1
                    high = glob[index + 1]
                }
                index += 2
            }
            if low <= ch && ch <= high { matched = true }
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ImageStore
import LinuxSupport
import OCISpec

/// The build context directory as COPY and ADD see it: `.dockerignore` (or `.containerignore`)
/// applied, sources resolved (globs per path component, as docker), nothing reachable outside
/// the directory (`../x` and symlinks that lead out are refused: every open is
/// `ConfinedOpen` with RESOLVE_BENEATH), and a content hash of the sources for the step cache.
public struct BuildContext {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public let root: String
    public let ignore: DockerIgnore

    public init(root: String) throws {
        self.root = root
        var rules = ""
        for name in [".dockerignore", ".containerignore"] where FileIO.exists(root + "/" + name) {
            rules = String(decoding: try FileIO.read(root + "/" + name), as: UTF8.self)
            break
        }
        ignore = DockerIgnore(rules)
    }

    private func openRoot() throws -> OwnedFD {
        try OwnedFD("open the build context \(root)") { open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    /// The source as components under the context root, or a refusal when it leaves it.
    func components(_ source: String) throws(Failure) -> [String] {
        var result: [String] = []
        for part in source.split(separator: "/") where part != "." {
            if part == ".." {
                guard !result.isEmpty else {
                    throw Failure(description: "COPY source \(source) is outside the build context: a source must be inside it")
                }
                result.removeLast()
            } else {
                result.append(String(part))
            }
        }
        return result
    }

    static func isGlob(_ component: String) -> Bool {
        component.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// The paths (relative to the root, `/`-separated; "" for the root itself) a COPY source
    /// names: itself, or what its glob components match, without ignored paths.
    public func resolve(_ source: String) throws -> [String] {
        let parts = try components(source)
        let rootFD = try openRoot()
        var found: [String] = []
        try expand(parts[...], prefix: "", rootFD: rootFD.raw, into: &found)
        guard !found.isEmpty else {
            throw Failure(description: "COPY source \(source) was not found in the build context (or .dockerignore excludes it)")
        }
        return found
    }

    private func expand(_ parts: ArraySlice<String>, prefix: String, rootFD: Int32, into found: inout [String]) throws {
        guard let part = parts.first else {
            if prefix.isEmpty || !ignore.isIgnored(prefix) {
                // Opening it beneath the root refuses a symlink that leads out.
                _ = try openInside(prefix, rootFD: rootFD, flags: ConfinedOpen.oPath)
                found.append(prefix)
            }
            return
        }
        let join = { (name: String) in prefix.isEmpty ? name : prefix + "/" + name }
        guard Self.isGlob(part) else {
            try expand(parts.dropFirst(), prefix: join(part), rootFD: rootFD, into: &found)
            return
        }
        let directory: OwnedFD
        do {
            directory = try openInside(prefix, rootFD: rootFD, flags: O_RDONLY | O_DIRECTORY)
        } catch {
            return
        }
        for name in try LayerDiff.names(in: directory.raw) where DockerIgnore.matchComponent(Array(part), 0, Array(name), 0) {
            try expand(parts.dropFirst(), prefix: join(name), rootFD: rootFD, into: &found)
        }
    }

    private func openInside(_ path: String, rootFD: Int32, flags: Int32) throws -> OwnedFD {
        do {
            return try ConfinedOpen.open(path, in: rootFD, flags: flags, resolve: [.beneath, .noMagicLinks], what: "open \(path)")
        } catch {
            if error.errno == EXDEV {
                throw Failure(description: "COPY source \(path) leads outside the build context through a symlink: refused")
            }
            if error.errno == ENOENT || error.errno == ENOTDIR {
                throw Failure(description: "COPY source \(path) was not found in the build context")
            }
            throw error
        }
    }

    /// SHA-256 over the sources' trees: each path, type, mode, owner, size, symlink target and
    /// file content, ignored paths left out. A changed file changes it; an ignored one does not.
    public func contentHash(of sources: [String]) throws -> Digest {
        let hasher = SHA256Hasher()
        let rootFD = try openRoot()
        for source in sources {
            try hash(source, rootFD: rootFD.raw, into: hasher, follow: true)
        }
        return hasher.finalize()
    }

    /// `follow`: a named source that is a symlink (inside the context) is copied as its target.
    private func hash(_ path: String, rootFD: Int32, into hasher: SHA256Hasher, follow: Bool = false) throws {
        let noFollow = follow ? 0 : O_NOFOLLOW
        let handle = try openInside(path, rootFD: rootFD, flags: ConfinedOpen.oPath | noFollow)
        var st = stat()
        guard fstat(handle.raw, &st) == 0 else { throw SystemError("stat \(path)") }
        let type = st.st_mode & S_IFMT
        hasher.update(Array("\(path)\0\(st.st_mode)\0\(st.st_uid):\(st.st_gid)\0".utf8))
        switch type {
        case S_IFREG:
            let file = try openInside(path, rootFD: rootFD, flags: O_RDONLY | noFollow)
            hasher.update(Array("\(st.st_size)\0".utf8))
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(file.raw, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw SystemError("read \(path)") }
                if n == 0 { break }
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(handle.raw, "", &buffer, buffer.count - 1)
            guard n >= 0 else { throw SystemError("readlink \(path)") }
            hasher.update(buffer[0..<n].map { UInt8(bitPattern: $0) })
        case S_IFDIR:
            let directory = try openInside(path, rootFD: rootFD, flags: O_RDONLY | O_DIRECTORY | noFollow)
            for name in try LayerDiff.names(in: directory.raw) {
                let child = path.isEmpty ? name : path + "/" + name
                if ignore.isIgnored(child), !ignore.hasExceptions { continue }
                if ignore.isIgnored(child) {
                    // An ignored directory may still hold an exception below it.
                    var st = stat()
                    if fstatat(directory.raw, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR {
                        try hash(child, rootFD: rootFD, into: hasher)
                    }
                    continue
                }
                try hash(child, rootFD: rootFD, into: hasher)
            }
        default:
            break
        }
        hasher.update([0])
    }
}

#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// What `docker cp` asks about a container path before it copies (the Docker API's
/// X-Docker-Container-Path-Stat): resolved inside the container's root as `cp` resolves it.
extension Engine {
    public struct PathStat: Sendable, Equatable {
        public var name: String
        public var size: Int64
        /// st_mode: type and permission bits.
        public var mode: UInt32
        public var modifiedSeconds: Int
        public var modifiedNanoseconds: Int
        /// The target of a symlink, as stored; empty otherwise.
        public var linkTarget: String

        public init(name: String, size: Int64, mode: UInt32, modifiedSeconds: Int, modifiedNanoseconds: Int, linkTarget: String) {
            self.name = name
            self.size = size
            self.mode = mode
            self.modifiedSeconds = modifiedSeconds
            self.modifiedNanoseconds = modifiedNanoseconds
            self.linkTarget = linkTarget
        }

        public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    }

    /// The path's lstat inside the container (running or stopped); nil when it does not exist.
    public func statPath(_ reference: String, path: String) throws -> PathStat? {
        let record = try store.resolve(reference)
        if record.vm != nil && !stoppedMicroVMPathInVolume(record, path: path) { return try statPathInMicroVM(record, path: path) }
        let (root, inner) = try containerRoot(for: record, path: path)
        guard let entry = try root.parentAndName(inner), let st = TreeCopy.lstatAt(entry.directory.raw, entry.name) else { return nil }
        var target = ""
        if st.st_mode & S_IFMT == S_IFLNK {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(entry.directory.raw, entry.name, &buffer, buffer.count - 1)
            if n > 0 { target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        return PathStat(
            name: ContainerRoot.components(path).last ?? "/", size: Int64(st.st_size), mode: UInt32(st.st_mode),
            modifiedSeconds: Int(st.st_mtim.tv_sec), modifiedNanoseconds: Int(st.st_mtim.tv_nsec), linkTarget: target)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import LinuxSupport

/// What `docker cp` asks about a container path before it copies (the Docker API's
/// X-Docker-Container-Path-Stat): resolved inside the container's root as `cp` resolves it.
extension Engine {
    /// A path's lstat as docker's path stat wants it: the agent's wire type, so that a micro-VM
    /// container's answer is the same value.
    public typealias PathStat = GuestPathStat

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
            modifiedSeconds: Int64(st.st_mtim.tv_sec), modifiedNanoseconds: Int64(st.st_mtim.tv_nsec), linkTarget: target)
    }
}

extension GuestPathStat {
    public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
}

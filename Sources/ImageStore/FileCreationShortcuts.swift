#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// Decides when a layer's regular file can be created with its final mode and owner, so that
/// unpacking skips the chmod and chown that would otherwise follow each file. It exists because
/// file creation dominates an unpack and most layer files are root-owned 0644 or 0755.
///
/// A mode is final at creation when it has no setuid/setgid/sticky bit (the kernel would not keep
/// those through a later chown anyway, and a chown must come first) and the process umask takes
/// nothing away from it. An owner is final when the process creates files as 0:0 and the entry
/// asks for 0:0, unless the parent directory is setgid (the file would inherit its group).
final class FileCreationShortcuts {
    private let umask: mode_t?
    private let createsAsRoot: Bool
    private var setgidParents: [String: Bool] = [:]

    init(preserveOwnership: Bool) {
        umask = Self.processUmask()
        createsAsRoot = preserveOwnership && geteuid() == 0 && getegid() == 0
    }

    /// The mode to create the file with when it is already the final one, else nil.
    func modeAtCreation(_ permissions: mode_t) -> mode_t? {
        guard let umask, permissions & 0o7000 == 0, permissions & umask == 0 else { return nil }
        return permissions
    }

    /// Whether a file created in `parentFD` (the directory `parent`) already has `owner`.
    func createdWithOwner(_ owner: TarEntryOwner?, parentFD: Int32, parent: String) throws -> Bool {
        guard createsAsRoot, let owner, owner.uid == 0, owner.gid == 0 else { return false }
        if let setgid = setgidParents[parent] { return !setgid }
        var info = stat()
        guard fstat(parentFD, &info) == 0 else { return false }
        let setgid = info.st_mode & S_ISGID != 0
        setgidParents[parent] = setgid
        return !setgid
    }

    /// A directory entry (re)made `path`: its setgid bit may have changed.
    func forget(directory path: String) {
        setgidParents[path] = nil
    }

    /// The umask, read without changing it (umask(2) would set it process-wide, racing other
    /// threads); nil when /proc does not say.
    static func processUmask() -> mode_t? {
        guard let status = try? FileIO.readString("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Umask:") {
            return mode_t(String(line.dropFirst(6).filter { $0 != " " && $0 != "\t" }), radix: 8)
        }
        return nil
    }
}

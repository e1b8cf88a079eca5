#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// Reads small files (/etc/passwd, /etc/group) from a container's root filesystem on the host,
/// resolving the path inside it (`ConfinedOpen`, RESOLVE_IN_ROOT) so an image's symlinks cannot
/// point the engine at the host's files.
enum RootfsFiles {
    /// The file's text, or nil when it does not exist in the image (or is not a regular file).
    static func read(rootfs: String, path: String, limit: Int = 4 << 20) throws -> String? {
        let root = try OwnedFD("open rootfs \(rootfs)") { skiff_open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
        let file: OwnedFD
        do {
            file = try ConfinedOpen.open(
                path, in: root.raw, flags: O_RDONLY | O_NOFOLLOW, resolve: [.inRoot, .noMagicLinks],
                what: "open \(path) in the image")
        } catch {
            if ConfinedOpen.isMissing(error) || error.errno == ELOOP { return nil }
            throw error
        }
        var st = stat()
        guard fstat(file.raw, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= limit else { return nil }
        let bytes = try FileIO.readAll(fd: file.raw, what: path)
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim

/// overlayfs's marks in an upper layer, read one way by the builder, the layer writer and the
/// guest agent: a whiteout (the name was deleted) is a 0/0 character device, and an opaque
/// directory (it replaced the lower one) has `trusted.overlay.opaque` (a mount by root) or
/// `user.overlay.opaque` (an unprivileged mount) set to "y".
public enum OverlayMarks {
    public static let opaqueKeys = ["trusted.overlay.opaque", "user.overlay.opaque"]

    /// Whether the directory at `path` is opaque (a symlink at `path` is not followed).
    public static func isOpaque(path: String) -> Bool {
        opaqueKeys.contains { key in
            var value: UInt8 = 0
            return skiff_lgetxattr(path, key, &value, 1) == 1 && value == UInt8(ascii: "y")
        }
    }

    /// Whether the directory `fd` holds is opaque, whatever its path (read through /proc/self/fd).
    public static func isOpaque(directory fd: Int32) -> Bool { isOpaque(path: "/proc/self/fd/\(fd)/.") }

    /// Whether `st` is a whiteout.
    public static func isWhiteout(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 }
}

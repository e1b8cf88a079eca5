#if canImport(Glibc)
import Glibc
#endif

/// Where `kernel/build.sh` leaves skiff's own guest kernel (cached by its config's hash, with a
/// `default` link), used when `skiff vm run` gets no --kernel.
public enum DefaultGuestKernel {
    /// The store root: $SKIFF_STORE or /var/lib/skiff.
    public static var storeRoot: String {
        if let value = getenv("SKIFF_STORE") { return String(cString: value) }
        return "/var/lib/skiff"
    }

    public static var path: String { storeRoot + "/kernels/default/vmlinux" }

    /// The default kernel's path, or an error telling the user how to get one.
    public static func locate() throws(VMMError) -> String {
        guard access(path, R_OK) == 0 else {
            throw .noDefaultKernel(path: path)
        }
        return path
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Where skiff's guest kernels are cached (Engine's `GuestKernel` builds them there on first use):
/// one place per host, whatever store `--root` names, so a kernel build happens once.
public enum DefaultGuestKernel {
    /// The root the kernel cache is under: $SKIFF_STORE or /var/lib/skiff.
    public static var storeRoot: String {
        if let value = getenv("SKIFF_STORE") { return String(cString: value) }
        return "/var/lib/skiff"
    }
}

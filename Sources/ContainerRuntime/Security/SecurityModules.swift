#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import OCISpec

/// AppArmor and SELinux: what this host has, whether a config's profile and labels can be
/// honoured, and applying an AppArmor profile to the program. Nothing fails open: a profile or
/// label the runtime cannot apply refuses the container, unless the annotation
/// `org.skiff.ignore-lsm` is "true" (then they are ignored, knowingly).
public enum SecurityModules {
    public static let ignoreAnnotation = "org.skiff.ignore-lsm"

    /// The host facts `check` decides on.
    public struct Host: Sendable, Equatable {
        public var appArmor: Bool
        public var seLinux: Bool
        public init(appArmor: Bool, seLinux: Bool) {
            self.appArmor = appArmor
            self.seLinux = seLinux
        }

        /// AppArmor is enabled when the module says so and its securityfs directory exists (as
        /// runc checks); SELinux when selinuxfs is mounted.
        public static func detect() -> Host {
            let enabled = (try? FileIO.readString("/sys/module/apparmor/parameters/enabled"))?.hasPrefix("Y") ?? false
            return Host(
                appArmor: enabled && FileIO.isDirectory("/sys/kernel/security/apparmor"),
                seLinux: FileIO.exists("/sys/fs/selinux/enforce"))
        }
    }

    /// Checks `process` (and the spec's mountLabel) against the host. Returns the AppArmor
    /// profile init must apply, or nil when there is none to apply.
    public static func check(process: Process, mountLabel: String?, annotations: [String: String]?, host: Host) throws -> String? {
        let ignore = annotations?[ignoreAnnotation] == "true"
        var profile: String?
        if let wanted = process.apparmorProfile, !wanted.isEmpty, wanted != "unconfined" {
            if host.appArmor {
                profile = wanted
            } else if !ignore {
                throw RuntimeError.unsupported(
                    "config.json: process.apparmorProfile '\(wanted)' cannot be applied: AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled). Remove the profile, or set the annotation \(ignoreAnnotation) to \"true\" to run the container without it"
                )
            }
        }
        for (field, label) in [("process.selinuxLabel", process.selinuxLabel), ("linux.mountLabel", mountLabel)] {
            guard let label, !label.isEmpty, !ignore else { continue }
            let reason =
                host.seLinux
                ? "skiff-runtime does not apply SELinux labels yet"
                : "SELinux is not enabled on this host (no /sys/fs/selinux)"
            throw RuntimeError.unsupported(
                "config.json: \(field) '\(label)' cannot be applied: \(reason). Remove the label, or set the annotation \(ignoreAnnotation) to \"true\" to run the container without it"
            )
        }
        return profile
    }

    /// Makes the next execve enter `profile` (init calls it last before no_new_privs, which would
    /// restrict the transition). Uses the AppArmor-specific attr file, or the shared one of
    /// kernels before 5.8.
    static func applyAppArmor(_ profile: String) throws {
        let value = "exec " + profile
        var failure: (any Error)?
        for path in ["/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"] {
            do {
                try FileIO.writeExisting(path, value)
                return
            } catch let error as SystemError where error.errno == ENOENT && failure == nil {
                failure = error
            } catch {
                failure = error
                break
            }
        }
        throw RuntimeError.invalidConfig(
            "process.apparmorProfile '\(profile)': cannot apply it (\(failure.map { "\($0)" } ?? "no attr file")): is the profile loaded (apparmor_parser -a) and /proc mounted in the container?"
        )
    }
}

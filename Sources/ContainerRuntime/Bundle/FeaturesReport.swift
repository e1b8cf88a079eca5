import LinuxSupport
import OCISpec

/// What this build of skiff-runtime supports, for `features`.
public enum FeaturesReport {
    public static func make() -> Features {
        Features(
            ociVersionMin: OCIVersions.min, ociVersionMax: OCIVersions.max,
            hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            mountOptions: MountFlags.knownOptions,
            linux: .init(
                namespaces: ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
                capabilities: CapabilityNames.all,
                cgroup: .init(v1: true, v2: true, systemd: false, systemdUser: false, rdma: false),
                seccomp: .init(
                    enabled: true,
                    actions: [
                        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
                    ],
                    operators: [
                        "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                        "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
                    ],
                    archs: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
                // AppArmor profiles are applied where the host has AppArmor; SELinux labels are not
                // applied yet (a config asking for one is refused, see SecurityModules).
                apparmor: .init(enabled: SecurityModules.Host.detect().appArmor), selinux: .init(enabled: false),
                intelRdt: .init(enabled: false),
                mountExtensions: .init(idmap: .init(enabled: true))),
            annotations: ["org.skiff.runtime.version": "0.1.0"])
    }
}

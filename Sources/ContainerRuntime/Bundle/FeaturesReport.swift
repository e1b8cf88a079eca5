import OCISpec

/// What this build of skiff-runtime supports, for `features`.
public enum FeaturesReport {
    public static func make() -> Features {
        Features(
            ociVersionMin: OCIVersions.min, ociVersionMax: OCIVersions.max,
            hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            mountOptions: MountFlags.knownOptions,
            linux: .init(
                namespaces: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
                capabilities: CapabilityNames.all,
                cgroup: .init(v1: true, v2: true, systemd: false, systemdUser: false, rdma: false),
                seccomp: .init(enabled: false),
                apparmor: .init(enabled: false), selinux: .init(enabled: false), intelRdt: .init(enabled: false),
                mountExtensions: .init(idmap: .init(enabled: false))),
            annotations: ["org.skiff.runtime.version": "0.1.0"])
    }
}

import OCISpec
import Testing
@testable import ContainerRuntime

@Suite struct SpecValidationTests {
    /// Settings that are decoded but not applied are refused, each by name.
    @Test func unappliedSettingsAreRefused() throws {
        func spec(_ change: (inout Spec) -> Void) -> Spec {
            var s = DefaultSpec.make()
            change(&s)
            return s
        }
        try BundleLoader.validate(spec { $0.linux?.personality = Personality(domain: "LINUX") })
        let cases: [(Spec, String)] = [
            (spec { $0.linux?.personality = Personality(domain: "LINUX32") }, "linux.personality"),
            (spec { $0.linux?.personality = Personality(domain: "LINUX", flags: ["ADDR_NO_RANDOMIZE"]) }, "linux.personality"),
            (spec { $0.linux?.intelRdt = IntelRdt(closID: "guaranteed") }, "linux.intelRdt"),
            (spec { $0.linux?.resources?.rdma = ["mlx5_1": .init(hcaHandles: 3)] }, "linux.resources.rdma"),
        ]
        for (s, field) in cases {
            #expect {
                try BundleLoader.validate(s)
            } throws: { error in
                "\(error)".contains(field) && "\(error)".contains("refused rather than ignored")
            }
        }
        let withPriority = try BundleLoader.decode(
            Array(
                #"{"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","ioPriority":{"class":"IOPRIO_CLASS_IDLE","priority":0}}}"#
                    .utf8))
        #expect { try BundleLoader.validate(withPriority) } throws: { "\($0)".contains("process.ioPriority") }
        let withScheduler = try BundleLoader.decode(
            Array(
                #"{"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","scheduler":{"policy":"SCHED_IDLE"}}}"#
                    .utf8))
        #expect { try BundleLoader.validate(withScheduler) } throws: { "\($0)".contains("process.scheduler") }
    }

    @Test func unknownCapabilitiesAreRefused() throws {
        try CapabilityNames.checkKnown(Capabilities(bounding: ["CAP_NET_ADMIN", "net_raw"], ambient: ["CAP_CHECKPOINT_RESTORE"]))
        #expect {
            try CapabilityNames.checkKnown(Capabilities(bounding: ["CAP_CHOWN"], permitted: ["CAP_CHOWN", "CAP_TEST"]))
        } throws: { error in
            "\(error)".contains("process.capabilities.permitted") && "\(error)".contains("'CAP_TEST'")
        }
    }

    @Test(arguments: ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.2.1+dev"])
    func acceptsSupportedVersions(_ v: String) { #expect(OCIVersions.isSupported(v)) }

    @Test(arguments: ["0.9.0", "2.0.0", "1.3.0", "abc", ""])
    func rejectsOtherVersions(_ v: String) { #expect(!OCIVersions.isSupported(v)) }

    @Test func missingFieldsAreNamed() {
        let json = #"{"ociVersion":"1.0.0","process":{"args":["sh"],"cwd":"/"}}"#
        #expect {
            _ = try BundleLoader.decode(Array(json.utf8))
        } throws: { error in
            "\(error)".contains("process.user")
        }
    }

    @Test func wrongTypesAreNamed() {
        let json = #"{"ociVersion":"1.0.0","hostname":5}"#
        #expect {
            _ = try BundleLoader.decode(Array(json.utf8))
        } throws: { error in
            "\(error)".contains("hostname") && "\(error)".contains("string")
        }
    }

    @Test func duplicateNamespacesAreRejected() {
        var spec = DefaultSpec.make()
        spec.linux?.namespaces?.append(Namespace(type: .pid))
        #expect(throws: RuntimeError.self) { try BundleLoader.validate(spec) }
    }

    @Test func containerIDs() {
        #expect(throws: Never.self) { try StateStore.validate(id: "web-1_a.b+c") }
        for bad in ["", "../x", "a/b", ".hidden", "sp ace"] {
            #expect(throws: RuntimeError.self) { try StateStore.validate(id: bad) }
        }
    }

    @Test func capabilityMasks() {
        let (mask, unknown) = CapabilityNames.mask(["CAP_CHOWN", "kill", "CAP_BOGUS"], lastCap: 40)
        #expect(mask == 0b10_0001)
        #expect(unknown == ["CAP_BOGUS"])
    }
}

/// AppArmor and SELinux never fail open: what cannot be applied is refused, unless ignored on purpose.
@Suite struct SecurityModuleCheckTests {
    static let bare = SecurityModules.Host(appArmor: false, seLinux: false)

    func process(apparmor: String? = nil, selinux: String? = nil) -> OCISpec.Process {
        var p = OCISpec.Process()
        p.apparmorProfile = apparmor
        p.selinuxLabel = selinux
        return p
    }

    @Test func nothingAskedNothingDone() throws {
        for p in [process(), process(apparmor: ""), process(apparmor: "unconfined"), process(selinux: "")] {
            #expect(try SecurityModules.check(process: p, mountLabel: "", annotations: nil, host: Self.bare) == nil)
        }
    }

    @Test func profilesAndLabelsTheHostCannotApplyAreRefused() throws {
        let cases: [(OCISpec.Process, String?, String)] = [
            (process(apparmor: "docker-default"), nil, "process.apparmorProfile"),
            (process(selinux: "system_u:system_r:container_t:s0"), nil, "process.selinuxLabel"),
            (process(), "system_u:object_r:container_file_t:s0", "linux.mountLabel"),
        ]
        for (p, mountLabel, field) in cases {
            #expect {
                _ = try SecurityModules.check(process: p, mountLabel: mountLabel, annotations: nil, host: Self.bare)
            } throws: { error in
                "\(error)".contains(field) && "\(error)".contains(SecurityModules.ignoreAnnotation)
            }
            // Ignored on purpose: runs without them.
            #expect(
                try SecurityModules.check(
                    process: p, mountLabel: mountLabel,
                    annotations: [SecurityModules.ignoreAnnotation: "true"], host: Self.bare) == nil)
        }
        // SELinux on the host does not make labels applied: still refused.
        #expect(throws: RuntimeError.self) {
            _ = try SecurityModules.check(
                process: process(selinux: "a:b:c:s0"), mountLabel: nil, annotations: nil,
                host: .init(appArmor: true, seLinux: true))
        }
    }

    @Test func appArmorHostAppliesTheProfile() throws {
        let host = SecurityModules.Host(appArmor: true, seLinux: false)
        #expect(
            try SecurityModules.check(process: process(apparmor: "docker-default"), mountLabel: nil, annotations: nil, host: host)
                == "docker-default")
        #expect(try SecurityModules.check(process: process(apparmor: "unconfined"), mountLabel: nil, annotations: nil, host: host) == nil)
    }
}

import ContainerRuntime
import Engine
import OCISpec
import Testing

/// The spec `run`'s security and mount options produce: privileged mode, seccomp, volumes.
@Suite struct SecuritySpecTests {
    let id = String(repeating: "cd", count: 32)

    func inputs(_ options: RunOptions = RunOptions(), config: ContainerConfig? = nil) -> SpecBuilder.Inputs {
        var config = config ?? ContainerConfig()
        if config.cmd == nil { config.cmd = ["sh"] }
        return SpecBuilder.Inputs(
            id: id, imageName: "busybox", imageConfig: config, options: options,
            user: ResolvedUser(uid: 0, gid: 0, additionalGids: [], home: "/root"), rootfs: "/store/rootfs")
    }

    func rule(_ seccomp: Seccomp?, for name: String) -> [SeccompSyscall] {
        (seccomp?.syscalls ?? []).filter { $0.names.contains(name) }
    }

    @Test func defaultSeccompFollowsCapabilities() throws {
        let spec = try SpecBuilder.build(inputs())
        let seccomp = try #require(spec.linux?.seccomp)
        #expect(seccomp.defaultAction == "SCMP_ACT_ERRNO" && seccomp.defaultErrnoRet == 1)
        #expect(rule(seccomp, for: "read").first?.action == "SCMP_ACT_ALLOW")
        #expect(rule(seccomp, for: "mount").isEmpty)
        #expect(rule(seccomp, for: "reboot").isEmpty)
        #expect(rule(seccomp, for: "chroot").count == 1)  // CAP_SYS_CHROOT is a default capability
        // clone without CAP_SYS_ADMIN: only without namespace flags; clone3: ENOSYS.
        let clone = rule(seccomp, for: "clone")
        #expect(clone.count == 1 && clone.first?.args?.first?.op == "SCMP_CMP_MASKED_EQ" && clone.first?.args?.first?.valueTwo == 0)
        #expect(rule(seccomp, for: "clone3").first?.errnoRet == 38)
        #expect(spec.process?.noNewPrivileges == false)

        var admin = RunOptions()
        admin.capAdd = ["SYS_ADMIN"]
        let adminSeccomp = try SpecBuilder.build(inputs(admin)).linux?.seccomp
        #expect(rule(adminSeccomp, for: "mount").first?.action == "SCMP_ACT_ALLOW")
        #expect(rule(adminSeccomp, for: "clone").allSatisfy { $0.args == nil })
        #expect(rule(adminSeccomp, for: "clone3").allSatisfy { $0.action == "SCMP_ACT_ALLOW" })
        // open_by_handle_at only with CAP_DAC_READ_SEARCH, as moby's profile has it.
        #expect(rule(seccomp, for: "open_by_handle_at").isEmpty)
        var dacReadSearch = RunOptions()
        dacReadSearch.capAdd = ["DAC_READ_SEARCH"]
        #expect(
            rule(try SpecBuilder.build(inputs(dacReadSearch)).linux?.seccomp, for: "open_by_handle_at").first?.action == "SCMP_ACT_ALLOW")
        var noChroot = RunOptions()
        noChroot.capDrop = ["SYS_CHROOT"]
        #expect(rule(try SpecBuilder.build(inputs(noChroot)).linux?.seccomp, for: "chroot").isEmpty)
    }

    @Test func defaultDeviceRulesAreDockers() throws {
        let rules = try #require(try SpecBuilder.build(inputs()).linux?.resources?.devices)
        #expect(rules.first == .init(allow: false, access: "rwm"))
        #expect(rules.contains(.init(allow: true, type: "c", access: "m")) && rules.contains(.init(allow: true, type: "b", access: "m")))
        #expect(rules.contains(.init(allow: true, type: "c", major: 136, access: "rwm")))
        #expect(rules.contains(.init(allow: true, type: "c", major: 10, minor: 200, access: "rwm")))
        #expect(!rules.contains { $0.allow && $0.type == "b" && $0.access?.contains("r") == true })
    }

    @Test func privilegedSpec() throws {
        var options = RunOptions()
        options.privileged = true
        options.capDrop = ["ALL"]
        var built = inputs(options)
        built.hostDevices = [
            Device(type: "c", path: "/dev/kvm", major: 10, minor: 232), Device(type: "b", path: "/dev/loop0", major: 7, minor: 0),
        ]
        let spec = try SpecBuilder.build(built)
        #expect(spec.process?.capabilities?.bounding == CapabilityTweaks.available)
        #expect(spec.process?.capabilities?.effective == CapabilityTweaks.available)
        #expect(spec.linux?.seccomp == nil)
        #expect((spec.linux?.maskedPaths ?? []).isEmpty && (spec.linux?.readonlyPaths ?? []).isEmpty)
        #expect(spec.linux?.resources?.devices == [.init(allow: true, access: "rwm")])
        #expect(spec.linux?.devices?.map(\.path) == ["/dev/kvm", "/dev/loop0"])
        #expect(spec.mounts?.first { $0.destination == "/sys" }?.options?.contains("ro") == false)
    }

    @Test func securityOptionsInSpec() throws {
        var options = RunOptions()
        options.securityOpts = ["no-new-privileges", "seccomp=unconfined"]
        options.ulimits = ["nofile=256:512"]
        options.capDrop = ["NET_RAW"]
        let spec = try SpecBuilder.build(inputs(options))
        #expect(spec.process?.noNewPrivileges == true)
        #expect(spec.linux?.seccomp == nil)
        #expect(spec.process?.rlimits == [Rlimit(type: "RLIMIT_NOFILE", hard: 512, soft: 256)])
        #expect(spec.process?.capabilities?.effective?.contains("CAP_NET_RAW") == false)
        #expect(spec.linux?.maskedPaths?.isEmpty == false)

        // A profile file in docker's format: rules filtered by the container's capabilities.
        var file = RunOptions()
        file.securityOpts = ["seccomp=/p.json"]
        var withProfile = inputs(file)
        let json = """
            {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
              {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
              {"names":["chmod"],"action":"SCMP_ACT_ERRNO","excludes":{"caps":["CAP_FOWNER"]}},
              {"name":"rmdir","action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"]}}]}
            """
        withProfile.seccompProfile = try RuntimeJSON.decode(SeccompProfile.self, from: Array(json.utf8))
        let resolved = try #require(try SpecBuilder.build(withProfile).linux?.seccomp)
        #expect(resolved.defaultAction == "SCMP_ACT_ALLOW")
        #expect(resolved.syscalls?.map(\.names) == [["mkdir"]])
        #expect(throws: EngineError.self) { try SpecBuilder.build(inputs(file)) }  // the profile was not read
    }

    @Test func mountsFromVolumesTmpfsAndImage() throws {
        var config = ContainerConfig()
        config.cmd = ["sh"]
        config.volumes = ["/data": EmptyObject(), "/cache": EmptyObject(), "/run": EmptyObject()]
        var options = RunOptions()
        options.volumes = ["named:/data:ro", "/host:/data/sub", "/anon"]
        options.tmpfs = ["/run:size=1m", "/dev/shm:size=128m"]
        #expect(try SpecBuilder.anonymousVolumeDestinations(options: options, config: config) == ["/anon", "/cache"])
        var built = inputs(options, config: config)
        built.volumePaths = ["named": "/store/volumes/named/_data"]
        built.anonymousVolumePaths = ["/anon": "/store/volumes/a1/_data", "/cache": "/store/volumes/a2/_data"]
        let spec = try SpecBuilder.build(built)
        let mounts = spec.mounts ?? []
        func mount(_ path: String) -> Mount? { mounts.first { $0.destination == path } }
        #expect(mount("/data")?.source == "/store/volumes/named/_data" && mount("/data")?.options?.contains("ro") == true)
        #expect(mount("/cache")?.source == "/store/volumes/a2/_data")
        #expect(mount("/anon")?.source == "/store/volumes/a1/_data")
        #expect(mount("/run")?.type == "tmpfs")
        // --tmpfs /dev/shm replaces the default /dev/shm mount.
        #expect(mounts.filter { $0.destination == "/dev/shm" }.count == 1)
        #expect(mount("/dev/shm")?.options?.contains("size=128m") == true)
        // Parents before children.
        let data = try #require(mounts.firstIndex { $0.destination == "/data" })
        let sub = try #require(mounts.firstIndex { $0.destination == "/data/sub" })
        #expect(data < sub)

        var duplicate = RunOptions()
        duplicate.volumes = ["/a:/x"]
        duplicate.tmpfs = ["/x"]
        #expect(throws: EngineError.self) { try SpecBuilder.build(inputs(duplicate)) }
    }

    @Test func defaultProfileAllowsWhatProgramsNeed() {
        let seccomp = DefaultSeccompProfile.profile.resolve(capabilities: CapabilityNames.defaults)
        let allowed = Set((seccomp.syscalls ?? []).filter { $0.action == "SCMP_ACT_ALLOW" && $0.args == nil }.flatMap(\.names))
        for name in ["execve", "openat", "mmap", "futex", "clone3", "exit_group", "rt_sigreturn", "setuid", "capset", "prctl"]
        where name != "clone3" {
            #expect(allowed.contains(name), "\(name)")
        }
        for name in ["mount", "umount2", "kexec_load", "init_module", "reboot", "swapon", "ptrace_bogus", "setns", "unshare", "bpf"] {
            #expect(!allowed.contains(name), "\(name)")
        }
        #expect(seccomp.architectures?.isEmpty == false)
    }
}

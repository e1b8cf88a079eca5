import Engine
import OCISpec
import Testing

/// The OCI spec the engine generates: docker's defaults plus the run options.
@Suite struct SpecBuilderTests {
    let id = String(repeating: "ab", count: 32)

    func inputs(_ options: RunOptions = RunOptions(), config: ContainerConfig? = nil) -> SpecBuilder.Inputs {
        var config = config ?? ContainerConfig()
        if config.cmd == nil && config.entrypoint == nil { config.cmd = ["sh"] }
        return SpecBuilder.Inputs(
            id: id, imageName: "busybox", imageConfig: config, options: options,
            user: ResolvedUser(uid: 0, gid: 0, additionalGids: [], home: "/root"), rootfs: "/store/rootfs")
    }

    @Test func dockerDefaults() throws {
        let spec = try SpecBuilder.build(inputs())
        #expect(spec.process?.args == ["sh"])
        #expect(spec.process?.cwd == "/")
        #expect(spec.hostname == String(id.prefix(12)))
        #expect(spec.root == Root(path: "/store/rootfs", readonly: false))
        #expect(spec.process?.capabilities?.bounding?.count == 14)
        #expect(spec.process?.capabilities?.effective?.contains("CAP_NET_RAW") == true)
        #expect(spec.process?.capabilities?.effective?.contains("CAP_SYS_ADMIN") == false)
        let destinations = (spec.mounts ?? []).map(\.destination)
        for path in ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"] { #expect(destinations.contains(path)) }
        #expect(spec.linux?.maskedPaths?.contains("/proc/kcore") == true)
        #expect(spec.linux?.maskedPaths?.contains("/sys/firmware") == true)
        #expect(spec.linux?.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        let namespaces = (spec.linux?.namespaces ?? []).map(\.type)
        #expect(Set(namespaces) == [.pid, .ipc, .uts, .mount, .cgroup, .network])
        #expect(spec.linux?.cgroupsPath == "/skiff/" + id)
        #expect(spec.linux?.resources?.memory == nil)
    }

    @Test func environmentMergesImageOverridesAndDefaults() throws {
        var config = ContainerConfig()
        config.env = ["PATH=/bin", "A=image", "B=image"]
        var options = RunOptions()
        options.env = ["B=flag", "C=flag"]
        let env = try SpecBuilder.build(inputs(options, config: config)).process?.env ?? []
        #expect(env.contains("PATH=/bin"))
        #expect(env.contains("A=image"))
        #expect(env.contains("B=flag"))
        #expect(!env.contains("B=image"))
        #expect(env.contains("C=flag"))
        #expect(env.contains("HOSTNAME=" + String(id.prefix(12))))
        #expect(env.contains("HOME=/root"))
        #expect(env.filter { $0.hasPrefix("PATH=") }.count == 1)
        let defaulted = try SpecBuilder.build(inputs()).process?.env ?? []
        #expect(defaulted.contains(SpecBuilder.defaultPath))
    }

    @Test func optionsBecomeSpecFields() throws {
        var options = RunOptions()
        options.workdir = "/srv"
        options.hostname = "box"
        options.readOnly = true
        options.memory = 64 << 20
        options.cpus = 1.5
        options.pidsLimit = 50
        options.network = .host
        options.volumes = ["/data:/mnt/data:ro", "/tmp:/scratch"]
        options.arguments = ["echo", "hi"]
        let spec = try SpecBuilder.build(inputs(options))
        #expect(spec.process?.cwd == "/srv")
        #expect(spec.process?.args == ["echo", "hi"])
        #expect(spec.hostname == "box")
        #expect(spec.root?.readonly == true)
        #expect(spec.linux?.resources?.memory?.limit == 64 << 20)
        #expect(spec.linux?.resources?.cpu?.quota == 150_000)
        #expect(spec.linux?.resources?.cpu?.period == 100_000)
        #expect(spec.linux?.resources?.pids?.limit == 50)
        #expect(!(spec.linux?.namespaces ?? []).contains { $0.type == .network })
        let data = spec.mounts?.first { $0.destination == "/mnt/data" }
        #expect(data?.source == "/data")
        #expect(data?.options?.contains("ro") == true)
        #expect(spec.mounts?.first { $0.destination == "/scratch" }?.options?.contains("ro") == false)
    }

    @Test func imageWorkingDirAndUserIdentity() throws {
        var config = ContainerConfig()
        config.workingDir = "/app"
        config.entrypoint = ["/entry"]
        var built = inputs(config: config)
        built.user = ResolvedUser(uid: 1000, gid: 1001, additionalGids: [29], home: "/home/app")
        let spec = try SpecBuilder.build(built)
        #expect(spec.process?.cwd == "/app")
        #expect(spec.process?.args == ["/entry"])
        #expect(spec.process?.user.uid == 1000)
        #expect(spec.process?.user.gid == 1001)
        #expect(spec.process?.user.additionalGids == [29])
        #expect(spec.process?.env?.contains("HOME=/home/app") == true)
    }

    @Test func badInputIsRefused() {
        var noCommand = ContainerConfig()
        noCommand.cmd = []
        noCommand.entrypoint = []
        #expect(throws: EngineError.self) {
            var i = inputs(config: noCommand)
            i.imageConfig = noCommand
            _ = try SpecBuilder.build(i)
        }
        var relative = RunOptions()
        relative.workdir = "srv"
        #expect(throws: EngineError.self) { try SpecBuilder.build(inputs(relative)) }
        var badVolume = RunOptions()
        badVolume.volumes = ["data:/x"]
        #expect(throws: EngineError.self) { try SpecBuilder.build(inputs(badVolume)) }
        badVolume.volumes = ["/data:/x:rx"]
        #expect(throws: EngineError.self) { try SpecBuilder.build(inputs(badVolume)) }
        var memory = RunOptions()
        memory.memory = 0
        #expect(throws: EngineError.self) { try SpecBuilder.build(inputs(memory)) }
    }

    @Test func containerNames() throws {
        try ContainerStore.validate(name: "web-1.a_b")
        #expect(throws: EngineError.self) { try ContainerStore.validate(name: "-bad") }
        #expect(throws: EngineError.self) { try ContainerStore.validate(name: "a/b") }
        #expect(throws: EngineError.self) { try ContainerStore.validate(name: "") }
        let id = try ContainerStore.newID()
        #expect(id.count == 64 && id.allSatisfy { $0.isHexDigit })
    }
}

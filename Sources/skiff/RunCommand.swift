#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Engine
import Foundation
import ImageStore
import LinuxSupport
import Networking
import OCISpec
import Registry

/// The options `run` and `create` share, turned into the engine's `RunOptions`.
struct ContainerCreateOptions: ParsableArguments {
    @Option(help: "Name of the container.") var name: String?
    @Option(name: [.customShort("e"), .customLong("env")], help: "Set an environment variable (KEY=VALUE, or KEY to copy ours).") var env:
        [String] = []
    @Option(name: .customLong("env-file"), help: "Read environment variables from a file, one KEY=VALUE a line.") var envFile: [String] = []
    @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container.") var workdir: String?
    @Option(name: [.customShort("u"), .customLong("user")], help: "User (name or UID) and optional group: user[:group].") var user: String?
    @Option(help: "Override the image's entrypoint (\"\" clears it).") var entrypoint: String?
    @Option(help: "Container hostname (default: the short ID).") var hostname: String?
    @Option(name: [.customShort("v"), .customLong("volume")], help: "Bind mount /host/path:/container/path[:ro].") var volume: [String] = []
    @Option(name: .customLong("volumes-from"), help: "Mount every volume and bind of a container: CONTAINER[:ro|rw].") var volumesFrom:
        [String] = []
    @Flag(name: .customLong("read-only"), help: "Mount the root filesystem read-only.") var readOnly = false
    @Option(name: [.customShort("m"), .customLong("memory")], help: "Memory limit (bytes, or with b, k, m, g).") var memory: String?
    @Option(help: "Number of CPUs (fractions allowed).") var cpus: Double?
    @Option(name: .customLong("pids-limit"), help: "Maximum number of processes (-1: unlimited).") var pidsLimit: Int64?
    @OptionGroup var resources: ResourceFlags
    @Option(help: "Network: bridge (default), a network's name (skiff network create), host, none, or container:NAME.") var network:
        String = "bridge"
    @Option(
        name: [.customShort("p"), .customLong("publish")],
        help: "Publish a port: [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]; ports may be ranges (8000-8002:80-82, 8000-8010:80).")
    var publish: [String] = []
    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish every port the image exposes on a free host port.")
    var publishAll = false
    @Option(help: "Nameserver for the container's /etc/resolv.conf (repeatable).") var dns: [String] = []
    @Option(name: .customLong("dns-search"), help: "Search domain for the container's /etc/resolv.conf (repeatable).") var dnsSearch:
        [String] = []
    @Option(name: .customLong("add-host"), help: "Add NAME:IP to the container's /etc/hosts (repeatable).") var addHost: [String] = []
    @Option(name: .customLong("network-alias"), help: "Another name the container has on its user network (repeatable).") var networkAlias:
        [String] = []
    @Flag(name: .customLong("rm"), help: "Remove the container when it exits.") var autoRemove = false
    @Option(help: "Mount a tmpfs: /path[:options] (default rw,noexec,nosuid,nodev; size=, mode=, uid=, gid=).") var tmpfs: [String] = []
    @Option(name: .customLong("cap-add"), help: "Add a Linux capability (NET_ADMIN, ..., or ALL).") var capAdd: [String] = []
    @Option(name: .customLong("cap-drop"), help: "Drop a Linux capability (or ALL).") var capDrop: [String] = []
    @Flag(help: "Give the container all capabilities and devices, no seccomp, no masked paths.") var privileged = false
    @Option(
        help:
            "User namespace: host (default) or auto[:size=N] (a block of ids of the user 'containers' in /etc/subuid and /etc/subgid: root inside is not root outside)."
    ) var userns: String?
    @Option(name: .customLong("security-opt"), help: "no-new-privileges, seccomp=unconfined or seccomp=/path/profile.json.")
    var securityOpt: [String] = []
    @Option(name: [.customShort("l"), .customLong("label")], help: "Set a label: key=value.") var label: [String] = []
    @Option(name: .customLong("pid"), help: "PID namespace: host, or container:NAME (default: its own).") var pid: String?
    @Option(name: .customLong("ipc"), help: "IPC namespace: host, private, shareable, or container:NAME.") var ipc: String?
    @Option(name: .customLong("uts"), help: "UTS namespace (hostname): host, or container:NAME.") var uts: String?
    @Option(name: .customLong("cgroupns"), help: "Cgroup namespace: private (default) or host.") var cgroupns: String?
    @Option(name: .customLong("domainname"), help: "Container NIS domain name.") var domainname: String?
    @Option(name: .customLong("annotation"), help: "Add an OCI annotation to the container's spec: KEY=VALUE.") var annotation: [String] =
        []
    @Option(name: .customLong("expose"), help: "Expose a port or range without publishing it: PORT[/PROTO].") var expose: [String] = []
    @Option(name: .customLong("ip"), help: "IPv4 address on the container's network (a user network with a subnet).") var ip: String?
    @Option(name: .customLong("mac-address"), help: "MAC address of the container's interface on its bridge network (02:42:ac:11:00:02).")
    var macAddress: String?
    @Option(name: .customLong("link"), help: "Add NAME[:ALIAS] of a running container to /etc/hosts (docker's legacy links).")
    var link: [String] = []
    @Option(name: .customLong("cidfile"), help: "Write the container ID to this file (which must not exist).") var cidfile: String?
    @Option(name: .customLong("pull"), help: "Pull the image: missing (default), always or never.") var pull: String = "missing"
    @Option(name: .customLong("platform"), help: "The image's platform (OS/ARCH[/VARIANT]); only this host's can run.") var platform:
        String?
    @Option(name: .customLong("runtime"), help: "OCI runtime: skiff's own (the only one; others are refused).") var runtime: String?
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Do not say that the image is being pulled.") var quiet = false
    @Option(name: .customLong("health-cmd"), help: "Command to run to check health (in the container's shell; NONE for none).")
    var healthCmd: String?
    @Option(name: .customLong("health-interval"), help: "Time between health checks (30s, 1m; default 30s).") var healthInterval: String?
    @Option(name: .customLong("health-timeout"), help: "Maximum time one check may take (default 30s).") var healthTimeout: String?
    @Option(name: .customLong("health-retries"), help: "Consecutive failures needed to report unhealthy (default 3).") var healthRetries:
        Int?
    @Option(name: .customLong("health-start-period"), help: "Start period in which failures do not count (default 0s).")
    var healthStartPeriod: String?
    @Option(name: .customLong("health-start-interval"), help: "Time between checks during the start period (default 5s).")
    var healthStartInterval: String?
    @Flag(name: .customLong("no-healthcheck"), help: "Disable any health check the image specifies.") var noHealthcheck = false
    @Option(name: .customLong("stop-timeout"), help: "Seconds `stop` waits before SIGKILL (default 10).") var stopTimeout: Int?
    @Option(name: .customLong("log-driver"), help: "Logging driver: json-file (default), local (rotated: 5 files of 20 MB) or none.")
    var logDriver: String?
    @Option(name: .customLong("log-opt"), help: "Logging option: max-size=10m, max-file=3, mode, max-buffer-size, labels, env, tag.")
    var logOpt: [String] = []
    @Option(name: .customLong("stop-signal"), help: "Signal that stops the container (default: the image's, else SIGTERM).") var stopSignal:
        String?
    @Option(help: "Resource limit: name=soft[:hard], e.g. nofile=1024:2048.") var ulimit: [String] = []
    @Option(help: "Mount: type=bind|volume|tmpfs,source=...,target=...[,readonly][,tmpfs-size=..][,tmpfs-mode=..].") var mount: [String] =
        []
    @Flag(name: [.customShort("i"), .customLong("interactive")], help: "Keep stdin open and pass ours to the program.") var interactive =
        false
    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Run the program on a terminal (pty).") var tty = false
    @Option(help: "Restart policy: no, on-failure[:max-retries], always, unless-stopped.") var restart: String = "no"
    @Flag(name: .customLong("init"), help: "Run a minimal init as PID 1 that reaps zombies and forwards signals.") var initProcess = false
    @Option(name: .customLong("shm-size"), help: "Size of /dev/shm (default 64m).") var shmSize: String?
    @Option(help: "Set a namespaced kernel parameter: KEY=VALUE (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*).") var sysctl:
        [String] = []
    @Option(help: "Give the container a host device: HOST[:CONTAINER][:PERMISSIONS], e.g. /dev/fuse.") var device: [String] = []
    @Option(name: .customLong("group-add"), help: "Add a group (name from the image's /etc/group, or a number).") var groupAdd: [String] =
        []
    @Flag(help: "Run the container in its own micro-VM: its own kernel, CPUs and memory (--memory sizes the guest, plus 128 MiB).") var vm =
        false
    @Option(
        name: .customLong("vm-backend"),
        help: "With --vm: skiff (skiff's own monitor; the default where /dev/kvm boots Linux; no volumes) or qemu.")
    var vmBackend: String?
    @Option(help: "With --vm: the guest kernel (default: skiff's, built by kernel/build.sh).") var kernel: String?
    @Option(help: "With --vm: the guest initramfs (default: skiff's agent).") var initrd: String?

    func runOptions(arguments: [String]) throws -> RunOptions {
        var options = RunOptions()
        options.name = name
        options.env = try EnvironmentInput.parse(env: env, files: envFile)
        options.workdir = workdir
        options.user = user
        options.entrypoint = entrypoint
        options.hostname = hostname
        options.volumes = volume
        options.volumesFrom = volumesFrom
        options.readOnly = readOnly
        options.limits = try resources.limits(memory: memory, cpus: cpus, pidsLimit: pidsLimit)
        options.oomScoreAdj = resources.oomScoreAdj
        options.network = RunOptions.NetworkMode(parsing: network)
        options.ports = try publish.flatMap(PortMapping.parseAll)
        options.publishAll = publishAll
        options.dns = dns
        options.dnsSearch = dnsSearch
        options.addHosts = addHost
        options.networkAliases = networkAlias
        options.autoRemove = autoRemove
        options.arguments = arguments
        options.tmpfs = tmpfs
        options.capAdd = capAdd
        options.capDrop = capDrop
        options.privileged = privileged
        if let userns { options.userns = try UserNamespaceOption(parsing: userns) }
        if vm {
            options.vm = MicroVMSettings(backend: vmBackend, kernel: kernel, initrd: initrd, memoryLimit: options.memory, cpus: cpus)
        } else if vmBackend != nil || kernel != nil || initrd != nil {
            throw ValidationError("--vm-backend, --kernel and --initrd only go with --vm")
        }
        options.securityOpts = securityOpt
        options.labels = try LabelInput.parse(label)
        options.stopSignal = stopSignal
        if let stopTimeout, stopTimeout < -1 { throw EngineError.invalidOption("--stop-timeout \(stopTimeout): use seconds, 0 or more") }
        options.stopTimeout = stopTimeout
        options.logConfig = try LogConfig(driver: logDriver, options: logOpt)
        options.domainname = domainname
        options.annotations = try LabelInput.parse(annotation)
        options.expose = expose
        options.ipAddress = ip
        options.macAddress = macAddress
        options.links = link
        options.namespaces = try NamespaceModes(pid: pid, ipc: ipc, uts: uts, cgroupns: cgroupns)
        if !options.namespaces.isDefault, vm {
            throw EngineError.invalidOption("--pid, --ipc, --uts and --cgroupns do not go with --vm: a micro-VM has its own kernel")
        }
        if options.namespaces.uts != .private, hostname != nil {
            throw EngineError.invalidOption("--hostname conflicts with --uts: the container keeps the other namespace's hostname")
        }
        if let runtime, !["skiff", "skiff-runtime", "io.containerd.runc.v2"].contains(runtime), !runtime.hasSuffix("/skiff-runtime") {
            throw EngineError.invalidOption(
                "--runtime \(runtime): skiff runs containers with its own runtime library (skiff-runtime); other OCI runtimes are not supported"
            )
        }
        options.health.command = healthCmd
        options.health.interval = healthInterval
        options.health.timeout = healthTimeout
        options.health.retries = healthRetries
        options.health.startPeriod = healthStartPeriod
        options.health.startInterval = healthStartInterval
        options.health.disabled = noHealthcheck
        options.ulimits = ulimit
        for text in mount {
            switch try MountOption.parse(text) {
            case .volume(let volume): options.volumes.append(volume)
            case .tmpfs(let tmpfs): options.tmpfs.append(tmpfs)
            }
        }
        options.interactive = interactive
        options.tty = tty
        options.restart = try RestartPolicy(parsing: restart)
        options.initProcess = initProcess
        options.shmSize = try shmSize.map(positiveSize)
        options.sysctls = sysctl
        options.devices = device
        options.groupAdd = groupAdd
        return options
    }
}

/// `-e` and `--env-file` as docker reads them.
enum EnvironmentInput {
    static func parse(env: [String], files: [String]) throws -> [String] {
        var result: [String] = []
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw EngineError.invalidOption("cannot read --env-file \(file): check the path")
            }
            for line in text.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                result.append(contentsOf: expand(trimmed))
            }
        }
        for entry in env { result.append(contentsOf: expand(entry)) }
        return result
    }

    /// `KEY` alone takes our value, or is dropped when we have none (docker's rule).
    private static func expand(_ entry: String) -> [String] {
        if entry.contains("=") { return [entry] }
        if let value = ProcessInfo.processInfo.environment[entry] { return [entry + "=" + value] }
        return []
    }
}

/// docker's sizes for --memory and --shm-size (1024, 512k, 256m, 1.5g), positive.
/// docker's resource flags beyond --memory, --cpus and --pids-limit, shared by run, create and update.
struct ResourceFlags: ParsableArguments {
    @Option(name: .customLong("memory-swap"), help: "Memory plus swap (bytes, or with b, k, m, g); -1 for unlimited swap.")
    var memorySwap: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit (bytes, or with b, k, m, g).") var memoryReservation: String?
    @Option(name: .customLong("memory-swappiness"), help: "How readily the kernel swaps the container's pages out (0-100; cgroup v1).")
    var memorySwappiness: Int64?
    @Flag(name: .customLong("oom-kill-disable"), help: "Do not OOM-kill the container (cgroup v1 only; dropped with a warning on cgroup2).")
    var oomKillDisable = false
    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "CPU shares (relative weight; 1024 is the default).")
    var cpuShares: UInt64?
    @Option(name: .customLong("cpu-period"), help: "CFS period in microseconds (1000-1000000).") var cpuPeriod: UInt64?
    @Option(name: .customLong("cpu-quota"), help: "CFS quota in microseconds per period (-1: unlimited).") var cpuQuota: Int64?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs the container may run on (0-3, 0,1).") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes the container may use (0-3, 0,1).") var cpusetMems: String?
    @Option(name: .customLong("blkio-weight"), help: "Block IO weight (10-1000; 0 for the default).") var blkioWeight: UInt16?
    @Option(name: .customLong("oom-score-adj"), help: "The OOM killer's preference for the container's processes (-1000 to 1000).")
    var oomScoreAdj: Int?

    func limits(memory: String?, cpus: Double?, pidsLimit: Int64?) throws -> ResourceLimits {
        var limits = ResourceLimits()
        limits.memory = try memory.map(positiveSize)
        limits.cpus = cpus
        limits.pidsLimit = pidsLimit
        limits.memorySwap = try memorySwap.map { $0 == "-1" ? -1 : try positiveSize($0) }
        limits.memoryReservation = try memoryReservation.map(positiveSize)
        limits.memorySwappiness = memorySwappiness
        limits.oomKillDisable = oomKillDisable
        limits.cpuShares = cpuShares
        limits.cpuPeriod = cpuPeriod
        limits.cpuQuota = cpuQuota
        limits.cpusetCpus = cpusetCpus
        limits.cpusetMems = cpusetMems
        limits.blkioWeight = blkioWeight
        return limits
    }
}

func positiveSize(_ text: String) throws -> Int64 {
    guard let bytes = ByteSize.parse(text), bytes > 0 else {
        throw EngineError.invalidOption(
            "invalid size '\(text)': use a positive number with an optional unit b, k, m, g or t (1.5g), below 8 EiB")
    }
    return bytes
}

/// Shared by `run` and `create`: the image from the store, pulled when missing.
func createContainer(
    engine: Engine, defaultRegistry: String, registry: RegistryCommandOptions, options: ContainerCreateOptions,
    imageAndCommand: [String]
) async throws -> EngineContainer {
    guard let imageName = imageAndCommand.first else {
        throw EngineError.invalidOption("an image name is required: skiff run [OPTIONS] IMAGE [COMMAND...]")
    }
    // The passthrough capture starts at the first word it does not know: an option there is a
    // typo, never an image name.
    if imageName.hasPrefix("-") {
        throw EngineError.invalidOption("unknown option '\(imageName)': see `skiff run --help`")
    }
    let runOptions = try options.runOptions(arguments: Array(imageAndCommand.dropFirst()))
    let host = Platform.linuxAmd64
    var platform = host
    if let text = options.platform {
        let parts = text.split(separator: "/").map(String.init)
        guard parts.count >= 2 else {
            throw EngineError.invalidOption("invalid --platform '\(text)': use OS/ARCH[/VARIANT], e.g. linux/amd64")
        }
        platform = Platform(os: parts[0], architecture: parts[1], variant: parts.count > 2 ? parts[2] : nil)
        guard platform.os == host.os, platform.architecture == host.architecture else {
            throw EngineError.invalidOption(
                "--platform \(text): this host runs \(host.os)/\(host.architecture) only (skiff does not emulate other architectures)")
        }
    }
    let reference = try ImageReference(parsing: imageName, defaultRegistry: defaultRegistry)
    let image: Image
    switch options.pull {
    case "missing":
        if !options.quiet,
            (try? engine.images.withSharedLock { try engine.images.image(imageName, defaultRegistry: defaultRegistry) }) == nil
        {
            printWarning("Unable to find image '\(imageName)' locally; pulling it")
        }
        image = try await engine.images.imageOrPull(
            imageName, options: registry.registryOptions(), platform: platform, defaultRegistry: defaultRegistry)
    case "always":
        image = try await engine.images.pull(reference, options: registry.registryOptions(), platform: platform)
    case "never":
        image = try engine.images.withSharedLock { try engine.images.image(imageName, defaultRegistry: defaultRegistry) }
    default:
        throw EngineError.invalidOption("invalid --pull '\(options.pull)': use missing, always or never")
    }
    if let cidfile = options.cidfile, FileManager.default.fileExists(atPath: cidfile) {
        throw EngineError.invalidOption("container ID file \(cidfile) exists: make sure the other container is not running, or delete it")
    }
    let container = try engine.create(image: image, imageName: imageName, options: runOptions)
    if let cidfile = options.cidfile {
        do {
            try FileIO.write(cidfile, Array(container.id.utf8))
        } catch {
            try? engine.remove(container.id, force: true)
            throw EngineError.invalidOption("cannot write --cidfile \(cidfile): \(error)")
        }
    }
    return container
}

/// `skiff run`: create and start a container; in the foreground, stream its output and exit
/// with its exit code; with -d, print its ID and leave it to its monitor.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and run a container from an image.")

    @OptionGroup var engineOptions: EngineOptions
    @OptionGroup var create: ContainerCreateOptions
    @OptionGroup var registry: RegistryCommandOptions
    @Option(name: .customLong("default-registry"), help: "Registry for names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Flag(name: [.customShort("d"), .customLong("detach")], help: "Run in the background and print the container ID.") var detach = false
    @Option(name: .customLong("detach-keys"), help: "Keys that detach from the container's terminal (default ctrl-p,ctrl-q).")
    var detachKeys: String?
    @Option(
        name: .customLong("sig-proxy"),
        help: "Pass the signals we receive to the container (without a terminal); false: they end this command and the container runs on.")
    var sigProxy: Bool = true
    @Option(name: [.customShort("a"), .customLong("attach")], help: "Attach only these streams: stdin, stdout, stderr (repeatable).")
    var attach: [String] = []
    @Argument(parsing: .captureForPassthrough, help: "IMAGE [COMMAND [ARG...]]") var imageAndCommand: [String] = []

    func run() async throws {
        if PassthroughHelp.requested(imageAndCommand) { throw CleanExit.helpRequest(self) }
        try await withEngineErrors {
            let streams = try AttachedStreams(parsing: attach)
            if detach && !attach.isEmpty { throw EngineError.invalidOption("conflicting options: -a and -d") }
            let engine = try engineOptions.openEngine()
            let container = try await createContainer(
                engine: engine, defaultRegistry: defaultRegistry, registry: registry, options: create,
                imageAndCommand: imageAndCommand)
            if detach {
                _ = try engine.start(container.id, attach: false)
                print(container.id)
                return
            }
            // A rotated log may be rotated past a reader that falls behind (a file dropped at
            // max-file before it was read): a foreground run of such a container takes its
            // output from the monitor's attach socket instead, which holds the program back
            // rather than lose output, as docker's attached run does.
            // -a: only the named streams, through the attach socket (which keeps them apart).
            if create.interactive || create.tty || container.logConfig?.maxSize != nil || streams != .all {
                let keys = try DetachKeys(parsing: detachKeys ?? "")
                let end = try startAttached(
                    engine: engine, container: container, interactive: create.interactive, detachKeys: keys,
                    proxySignals: sigProxy, streams: streams)
                // After a detach the container runs on (and goes when it exits): back to the shell at once.
                if container.autoRemove && !end.detached { _ = engine.waitRemoved(container.id) }
                throw ExitCode(end.code)
            }
            // Without --sig-proxy the signals keep their default action: they end this command
            // and the container runs on under its monitor.
            let forwarded = sigProxy ? try SignalWatcher([SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]) : nil
            defer { forwarded?.close() }
            let handle = try engine.start(container.id, attach: true)
            let code = handle.follow {
                for sig in forwarded?.pending() ?? [] { try? engine.kill(container.id, signal: sig) }
            }
            // --rm: return once the container is gone, as docker's CLI does (its name, volumes and
            // published ports are free for the next command).
            if let code {
                if container.autoRemove { _ = engine.waitRemoved(container.id) }
                throw ExitCode(code)
            }
            let exitCode = (try? engine.wait(container.id, timeout: 1)) ?? nil
            throw ExitCode(exitCode ?? 125)
        }
    }
}

/// `skiff create`: make a container without starting it; prints its ID.
struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a container from an image without starting it.")

    @OptionGroup var engineOptions: EngineOptions
    @OptionGroup var create: ContainerCreateOptions
    @OptionGroup var registry: RegistryCommandOptions
    @Option(name: .customLong("default-registry"), help: "Registry for names without one.")
    var defaultRegistry: String = ProcessInfo.processInfo.environment["SKIFF_DEFAULT_REGISTRY"] ?? ImageReference.dockerHub
    @Option(
        name: [.customShort("a"), .customLong("attach")],
        help: "Accepted as docker accepts it (stdin, stdout, stderr); `start -a` attaches stdout and stderr, as docker's does.")
    var attach: [String] = []
    @Argument(parsing: .captureForPassthrough, help: "IMAGE [COMMAND [ARG...]]") var imageAndCommand: [String] = []

    func run() async throws {
        if PassthroughHelp.requested(imageAndCommand) { throw CleanExit.helpRequest(self) }
        try await withEngineErrors {
            _ = try AttachedStreams(parsing: attach)
            let engine = try engineOptions.openEngine()
            let container = try await createContainer(
                engine: engine, defaultRegistry: defaultRegistry, registry: registry, options: create,
                imageAndCommand: imageAndCommand)
            print(container.id)
        }
    }
}

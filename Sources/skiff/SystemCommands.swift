#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ContainerRuntime
import Engine
import LinuxSupport
import OCISpec

/// `skiff system df`, `skiff system info` and `skiff system check`.
struct SystemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system", abstract: "Show disk usage and host information; check the store.",
        subcommands: [
            SystemDfCommand.self, SystemInfoCommand.self, SystemCheckCommand.self, SystemServiceCommand.self, SystemPruneCommand.self,
        ])
}

/// `skiff system check [--repair]`, as podman's: every blob, snapshot, image and container
/// verified; one line per problem, a summary, exit 1 when problems are left unrepaired.
struct SystemCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Verify blobs, layer snapshots, images and containers; --repair fixes what it can.")

    @OptionGroup var engineOptions: EngineOptions
    @Flag(help: "Remove corrupt blobs, leftovers, damaged image names and incomplete containers; unpack missing snapshots again.")
    var repair = false

    func run() async throws {
        try await withEngineErrors {
            let report = try engineOptions.openEngine().checkSystem(repair: repair)
            for problem in report.problems { print(problem.description) }
            let repaired = report.problems.count - report.unrepaired.count
            print(
                "checked \(report.blobs) blobs, \(report.snapshots) layer snapshots, \(report.images) image names, \(report.containers) containers: "
                    + (report.problems.isEmpty ? "no problems" : "\(report.problems.count) problem(s), \(repaired) repaired")
                    + (report.unrepaired.isEmpty || repair ? "" : " (run with --repair to fix the repairable ones)"))
            if !report.unrepaired.isEmpty { throw ExitCode(1) }
        }
    }
}

struct SystemDfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "df", abstract: "Show the space used by images, containers and volumes.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Output format: table or json.") var format: String = "table"
    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Show the space of each image, container and volume.") var verbose =
        false

    struct Row: Codable {
        var `Type`: String
        var TotalCount: Int
        var Active: Int
        var Size: String
        var Reclaimable: String
        var SizeBytes: Int64
        var ReclaimableBytes: Int64
    }

    func run() async throws {
        if verbose {
            try await withEngineErrors { try printVerbose(try engineOptions.openEngine()) }
            return
        }
        try await withEngineErrors {
            let rows = try engineOptions.openEngine().diskUsage()
            func reclaimable(_ row: Engine.DiskUsageRow) -> String {
                let percent = row.size > 0 ? Int((Double(row.reclaimable) / Double(row.size) * 100).rounded()) : 0
                return "\(ByteFormat.decimal(row.reclaimable)) (\(percent)%)"
            }
            switch format {
            case "table":
                print(
                    TextTable.render(
                        [["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]]
                            + rows.map {
                                [$0.type, "\($0.total)", "\($0.active)", ByteFormat.decimal($0.size), reclaimable($0)]
                            }))
            case "json":
                let views = rows.map {
                    Row(
                        Type: $0.type, TotalCount: $0.total, Active: $0.active, Size: ByteFormat.decimal($0.size),
                        Reclaimable: reclaimable($0), SizeBytes: $0.size, ReclaimableBytes: $0.reclaimable)
                }
                print(String(decoding: try RuntimeJSON.encode(views, pretty: true), as: UTF8.self))
            default:
                throw EngineError.invalidOption("unknown --format '\(format)': use table or json")
            }
        }
    }
}

extension SystemDfCommand {
    /// docker's `system df -v` sections, or their rows as JSON.
    struct VerboseView: Codable {
        struct ImageView: Codable {
            var Repository: String
            var Tag: String
            var ID: String
            var CreatedAt: String
            var Size: Int64
            var SharedSize: Int64
            var UniqueSize: Int64
            var Containers: Int
        }
        struct ContainerView: Codable {
            var ID: String
            var Image: String
            var Command: String
            var LocalVolumes: Int
            var Size: Int64
            var CreatedAt: String
            var Status: String
            var Names: String
        }
        struct VolumeView: Codable {
            var Name: String
            var Links: Int
            var Size: Int64
        }
        var Images: [ImageView]
        var Containers: [ContainerView]
        var Volumes: [VolumeView]
    }

    func printVerbose(_ engine: Engine) throws {
        let now = Timestamp.nowSeconds()
        let detail = try engine.diskUsageDetail(now: now)
        var images: [VerboseView.ImageView] = []
        for image in detail.images {
            for name in image.names.isEmpty ? ["<none>"] : image.names {
                let reference = try? ImageReference(parsing: name)
                images.append(
                    .init(
                        Repository: reference?.familiarName ?? "<none>", Tag: reference?.tag ?? "<none>", ID: image.id,
                        CreatedAt: image.created ?? "", Size: image.size, SharedSize: image.sharedSize, UniqueSize: image.uniqueSize,
                        Containers: image.containers))
            }
        }
        let containers = detail.containers.map {
            VerboseView.ContainerView(
                ID: $0.listing.record.id, Image: $0.listing.record.image, Command: $0.listing.record.command.joined(separator: " "),
                LocalVolumes: $0.localVolumes, Size: $0.size, CreatedAt: $0.listing.record.created, Status: $0.listing.status,
                Names: $0.listing.record.name)
        }
        let volumes = detail.volumes.map { VerboseView.VolumeView(Name: $0.name, Links: $0.links, Size: $0.size) }
        switch format {
        case "json":
            let view = VerboseView(Images: images, Containers: containers, Volumes: volumes)
            print(String(decoding: try RuntimeJSON.encode(view, pretty: true), as: UTF8.self))
        case "table":
            func ago(_ time: String) -> String { Timestamp.seconds(time).map { HumanDuration.describe(now - $0) + " ago" } ?? "N/A" }
            func command(_ text: String) -> String {
                "\"" + (text.count > 20 ? String(text.prefix(19)) + "…" : text) + "\""
            }
            print("Images space usage:\n")
            print(
                TextTable.render(
                    [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]]
                        + images.map {
                            [
                                $0.Repository, $0.Tag, String($0.ID.dropFirst(7).prefix(12)), ago($0.CreatedAt),
                                ByteFormat.decimal($0.Size),
                                ByteFormat.decimal($0.SharedSize), ByteFormat.decimal($0.UniqueSize), "\($0.Containers)",
                            ]
                        }))
            print("\nContainers space usage:\n")
            print(
                TextTable.render(
                    [["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]]
                        + containers.map {
                            [
                                String($0.ID.prefix(12)), $0.Image, command($0.Command), "\($0.LocalVolumes)", ByteFormat.decimal($0.Size),
                                ago($0.CreatedAt), $0.Status, $0.Names,
                            ]
                        }))
            print("\nLocal Volumes space usage:\n")
            print(
                TextTable.render(
                    [["VOLUME NAME", "LINKS", "SIZE"]] + volumes.map { [$0.Name, "\($0.Links)", ByteFormat.decimal($0.Size)] }))
        default:
            throw EngineError.invalidOption("unknown --format '\(format)': use table or json")
        }
    }
}

struct SystemInfoCommand: AsyncParsableCommand {
    /// The version `system info` and `version` report.
    static let engineVersion = "0.1.0-dev"
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the engine's view of this host and store.")

    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Output format: text, json, or a Go template over the JSON fields ('{{.ServerVersion}}').") var format: String = "text"

    func run() async throws {
        try await withEngineErrors { try Self.show(engineOptions: engineOptions, format: format) }
    }

    static func show(engineOptions: EngineOptions, format: String) throws {
        let info = try engineOptions.openEngine().systemInfo(version: SystemInfoCommand.engineVersion)
        switch format {
        case "json":
            print(String(decoding: try RuntimeJSON.encode(info, pretty: true), as: UTF8.self))
        case "text":
            print(
                """
                Containers: \(info.Containers)
                 Running: \(info.ContainersRunning)
                 Stopped: \(info.ContainersStopped)
                 Created: \(info.ContainersCreated)
                Images: \(info.Images)
                Volumes: \(info.Volumes)
                Server Version: \(info.ServerVersion)
                Storage Driver: \(info.Driver)
                Root Dir: \(info.DockerRootDir)
                Runtime: \(info.Runtime), state in \(info.RuntimeRoot)
                Cgroup Driver: \(info.CgroupDriver)
                Cgroup Version: \(info.CgroupVersion)
                Security Options:
                \(info.SecurityOptions.map { "  " + $0 }.joined(separator: "\n"))
                Kernel Version: \(info.KernelVersion)
                Operating System: \(info.OperatingSystem)
                OSType: \(info.OSType)
                Architecture: \(info.Architecture)
                CPUs: \(info.NCPU)
                Total Memory: \(ByteFormat.binary(info.MemTotal))
                Micro-VM Backends (run --vm):
                \(info.VMBackends.map { "  \($0.Name): \($0.Usable ? "usable" : "not usable")\($0.Default ? ", default" : ""); \($0.Note)" }.joined(separator: "\n"))
                Micro-VM Guest (run --vm without --kernel/--initrd):
                  Kernel: \(info.VMGuest.Kernel) (\(info.VMGuest.KernelSource))
                  Initrd: \(info.VMGuest.Initrd)
                  Config: \(info.VMGuest.ConfigFile)\(info.VMGuest.ConfigError.map { " (unusable: \($0))" } ?? (info.VMGuest.ConfigPresent ? "" : " (none)"))
                """)
        default:
            try TemplateOutput.print([info], format: format)
        }
    }
}

/// `skiff info`: docker's top-level spelling of `system info`.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the engine's view of this host and store (= system info).")

    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Output format: text, json, or a Go template over the JSON fields ('{{.ServerVersion}}').") var format: String = "text"

    func run() async throws {
        try await withEngineErrors { try SystemInfoCommand.show(engineOptions: engineOptions, format: format) }
    }
}

/// `skiff version` (and `skiff -v`): the client's and the engine's versions, as docker prints
/// them. skiff has no daemon, so both halves are this binary and this host.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show skiff's version (client and engine).")

    @Option(name: .shortAndLong, help: "Output format: text, json, or a Go template ('{{.Client.Version}}', '{{.Server.Version}}').")
    var format: String = "text"

    struct Side: Codable {
        var Version: String
        var Os: String
        var Arch: String
        var KernelVersion: String
        var SwiftVersion: String
    }

    struct Document: Codable {
        var Client: Side
        var Server: Side
    }

    /// What `skiff -v` prints.
    static var line: String { "skiff version \(SystemInfoCommand.engineVersion)" }

    static var document: Document {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let machine = field(name.machine)
        let side = Side(
            Version: SystemInfoCommand.engineVersion, Os: "linux",
            Arch: machine == "x86_64" ? "amd64" : (machine == "aarch64" ? "arm64" : machine),
            KernelVersion: field(name.release), SwiftVersion: swiftVersion)
        return Document(Client: side, Server: side)
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
        return "6.3"
        #elseif swift(>=6.2)
        return "6.2"
        #else
        return "6.0"
        #endif
    }

    func run() throws {
        let document = Self.document
        switch format {
        case "json":
            print(String(decoding: try RuntimeJSON.encode(document, pretty: true), as: UTF8.self))
        case "text":
            for (title, side) in [("Client", document.Client), ("Engine", document.Server)] {
                print(
                    """
                    \(title):
                     Version:           \(side.Version)
                     Swift version:     \(side.SwiftVersion)
                     OS/Arch:           \(side.Os)/\(side.Arch)
                     Kernel Version:    \(side.KernelVersion)
                    """)
                if title == "Client" { print("") }
            }
        default:
            try TemplateOutput.print([document], format: format)
        }
    }
}

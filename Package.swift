// swift-tools-version:6.0
// skiff: a Linux container engine and KVM micro-VM monitor.
// One target per concern; see docs/architecture.md for what each owns and may import.
import PackageDescription

// Compiler warnings are errors in every target of ours (not in dependencies).
let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"])]

let package = Package(
    name: "skiff",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skiff-runtime", targets: ["skiff-runtime"]),
        .executable(name: "skiff", targets: ["skiff"]),
        .executable(name: "skiff-api", targets: ["skiff-api"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The Docker Engine API server's HTTP/1.1 (DockerAPI): event loops, parser, keep-alive.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // JSON parsing, serialisation and Codable bridging without Foundation.
        .target(name: "JSON", swiftSettings: strict),
        // Pure Codable types from the OCI specifications. No I/O.
        .target(name: "OCISpec", swiftSettings: strict),
        // The subset of Go's text/template that docker users write in --format, over a JSON value.
        .target(name: "Templates", dependencies: ["JSON"], swiftSettings: strict),
        // The host-agent protocol of containers in micro-VMs: framing, handshake, messages. No I/O.
        .target(name: "AgentProtocol", dependencies: ["JSON", "OCISpec"], swiftSettings: strict),
        // The only C in the project: clone into namespaces, fd passing, ioctl helpers.
        .target(name: "CShim"),
        // libseccomp, to turn config.json's seccomp profile into a kernel filter.
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        // Thin Swift wrappers over Linux system calls.
        .target(name: "LinuxSupport", dependencies: ["CShim"], swiftSettings: strict),
        // The OCI runtime: namespaces, mounts, cgroups, capabilities, lifecycle.
        .target(name: "ContainerRuntime", dependencies: ["OCISpec", "JSON", "LinuxSupport", "CShim", "CSeccomp"], swiftSettings: strict),
        // The micro-VM monitor: KVM, guest memory, boot protocols, legacy and virtio devices.
        .target(name: "VMM", dependencies: ["CShim", "LinuxSupport", "CSeccomp"], swiftSettings: strict),
        // libarchive (system library): tar reading and gzip/zstd decompression of layers.
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        // OpenSSL's libcrypto (system library): SHA-256 digests of blobs and layers.
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // The image store: content-addressed blobs, the name index, layer snapshots, rootfs assembly.
        .target(
            name: "ImageStore", dependencies: ["OCISpec", "JSON", "LinuxSupport", "CShim", "CArchive", "CCrypto"], swiftSettings: strict),
        // OpenSSL's libssl (system library): TLS for the HTTP client.
        .systemLibrary(name: "CSSL", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),
        // HTTP/1.1 over POSIX sockets and libssl: keep-alive pool, chunked bodies, redirects,
        // timeouts, proxies, per-registry CAs. Instead of FoundationNetworking (libcurl at every start).
        .target(name: "HTTPClient", dependencies: ["CSSL", "LinuxSupport"], swiftSettings: strict),
        // The OCI distribution client: auth, pull and push against registries.
        .target(name: "Registry", dependencies: ["OCISpec", "JSON", "ImageStore", "HTTPClient"], swiftSettings: strict),
        // Container networking: network store, network namespaces, CNI plugin chains, published ports.
        .target(name: "Networking", dependencies: ["JSON", "LinuxSupport", "CShim"], swiftSettings: strict),
        // The container engine: state store, spec generation, monitor, lifecycle over the runtime and image store.
        .target(
            name: "Engine",
            dependencies: [
                "ContainerRuntime", "ImageStore", "OCISpec", "LinuxSupport", "CShim", "CArchive", "Networking", "AgentProtocol", "VMM",
            ], swiftSettings: strict),
        // `skiff build`: the Dockerfile parser, stage planning and config, .dockerignore rules, layer diffs.
        .target(
            name: "Builder", dependencies: ["JSON", "OCISpec", "ImageStore", "Engine", "HTTPClient", "LinuxSupport", "CShim", "CArchive"],
            swiftSettings: strict),
        // The Docker Engine API over a Unix or loopback TCP socket (`skiff system service`): a front
        // end of the same Engine and stores as the CLI, on SwiftNIO's HTTP/1.1 server.
        .target(
            name: "DockerAPI",
            dependencies: [
                "Engine", "ImageStore", "Registry", "OCISpec", "JSON", "LinuxSupport", "Networking", "CShim", "Builder",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // `skiff-api`: the server `skiff system service` becomes. Its own executable so that SwiftNIO
        // stays out of `skiff`: linked in, it made every skiff command start about 1 ms slower.
        .executableTarget(
            name: "skiff-api",
            dependencies: ["DockerAPI", "Engine", "Registry", "OCISpec"],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"], .when(configuration: .release))]
        ),
        // `skiff-runtime`: runc's command line over ContainerRuntime.
        .executableTarget(
            name: "skiff-runtime",
            dependencies: ["ContainerRuntime", "OCISpec", "LinuxSupport", "CShim"],
            // Release builds are one static executable (glibc, libstdc++, the Swift runtime and
            // libseccomp linked in): no dynamic loader, no symbol binding, no relocations at start.
            // That takes a start of the binary from about 5 ms to about 1.4 ms here, and a
            // container start runs it four times (create, the re-executed init, start, delete).
            // The runtime needs nothing from glibc that a static link breaks (no NSS, no dlopen).
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(configuration: .release))]
        ),
        // `skiff-agent`: PID 1 of a micro-VM that runs a container (`skiff run --vm`). Always one
        // static executable, debug builds included: it is the whole userspace of the guest's
        // initramfs, with no loader or libraries beside it.
        .executableTarget(
            name: "skiff-agent",
            dependencies: ["AgentProtocol", "ContainerRuntime", "OCISpec", "LinuxSupport", "CShim"],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // `skiff`: the docker-like front end over the engine, image store and VMM.
        .executableTarget(
            name: "skiff",
            dependencies: [
                "ImageStore", "Registry", "JSON", "Templates", "OCISpec",
                "Engine", "ContainerRuntime", "Networking", "Builder",
                "VMM",
                "LinuxSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Position-dependent, like skiff-runtime: no load-time relative relocations to apply
            // (130,000 of them), which every `skiff vm run` and container command pays at start.
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"], .when(configuration: .release))]
        ),
        .testTarget(name: "JSONTests", dependencies: ["JSON"], swiftSettings: strict),
        .testTarget(name: "TemplatesTests", dependencies: ["Templates", "JSON"], swiftSettings: strict),
        .testTarget(name: "AgentProtocolTests", dependencies: ["AgentProtocol", "OCISpec"], swiftSettings: strict),
        .testTarget(name: "OCISpecTests", dependencies: ["OCISpec"], swiftSettings: strict),
        .testTarget(name: "ContainerRuntimeTests", dependencies: ["ContainerRuntime", "OCISpec", "LinuxSupport"], swiftSettings: strict),
        .testTarget(
            name: "ImageStoreTests", dependencies: ["ImageStore", "OCISpec", "JSON", "CArchive", "CShim", "LinuxSupport"],
            swiftSettings: strict),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient"], swiftSettings: strict),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "OCISpec"], swiftSettings: strict),
        .testTarget(
            name: "ImageIntegrationTests", dependencies: ["ImageStore", "Registry", "HTTPClient", "OCISpec", "CShim", "LinuxSupport"],
            swiftSettings: strict),
        .testTarget(name: "RuntimeIntegrationTests", dependencies: ["ContainerRuntime", "LinuxSupport", "OCISpec"], swiftSettings: strict),
        .testTarget(name: "VMMTests", dependencies: ["VMM"], swiftSettings: strict),
        .testTarget(
            name: "EngineTests", dependencies: ["Engine", "OCISpec", "ContainerRuntime", "LinuxSupport", "AgentProtocol", "ImageStore"],
            swiftSettings: strict),
        .testTarget(
            name: "BuilderTests", dependencies: ["Builder", "ImageStore", "OCISpec", "CArchive", "LinuxSupport"], swiftSettings: strict),
        .testTarget(name: "NetworkingTests", dependencies: ["Networking", "JSON"], swiftSettings: strict),
        // The Docker API's request parsing and translation (no server, no engine calls).
        .testTarget(
            name: "DockerAPITests", dependencies: ["DockerAPI", "Engine", "Networking", "LinuxSupport", "OCISpec", "Registry"],
            swiftSettings: strict),
        // Drives the built `skiff` binary: real containers from a busybox image made with umoci.
        .testTarget(name: "EngineIntegrationTests", dependencies: ["LinuxSupport"], swiftSettings: strict),
        // Boots freestanding guests (built with gcc from Guest/ at test time) on the real /dev/kvm.
        .testTarget(
            name: "VMMIntegrationTests", dependencies: ["VMM", "LinuxSupport", "CShim"], exclude: ["Guest"], swiftSettings: strict),
    ]
)

import Foundation
import Synchronization
import Testing

@testable import Engine

/// skiff's guest kernel built on first use (`GuestKernel`): the lock, the scratch directory, the
/// placement and the errors, with a quick build script in place of the 11-minute kernel build
/// (everything around the script is the code a real build runs).
@Suite struct GuestKernelTests {
    final class Lines: Sendable {
        let value = Mutex<[String]>([])
        func append(_ line: String) { value.withLock { $0.append(line) } }
        var all: [String] { value.withLock { $0 } }
    }

    /// A fresh directory with a stand-in tarball; removed by `cleanup`.
    struct Place {
        let path = "/tmp/skiff-guest-kernel-\(UUID().uuidString.prefix(13))"
        var kernels: String { path + "/kernels" }
        var tarball: String { path + "/linux-source.tar.xz" }
        var count: String { path + "/builds" }

        init() throws {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: tarball, contents: Data("not really a kernel".utf8))
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: path) }

        /// A build that counts itself, checks it got the fragment, and leaves the three files.
        var script: String {
            """
            echo build >> "\(count)"
            grep -qx CONFIG_VIRTIO_MMIO=y "$CONFIG"
            test -d "$WORK" && test -r "$SOURCE" && test "$JOBS" -ge 1
            mkdir -p "$OUT"
            echo vmlinux > "$OUT/vmlinux"; echo bzImage > "$OUT/bzImage"; cp "$CONFIG" "$OUT/config"
            """
        }

        func kernel(
            script: String? = nil, tarball: String? = nil, prerequisites: [(path: String, package: String)] = [], lines: Lines = Lines()
        )
            -> GuestKernel
        {
            GuestKernel(
                directory: kernels, tarball: tarball ?? self.tarball, script: script ?? self.script, prerequisites: prerequisites,
                progress: { lines.append($0) })
        }

        var builds: Int {
            ((try? String(contentsOfFile: count, encoding: .utf8)) ?? "").split(separator: "\n").count
        }

        var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: kernels)) ?? []).sorted() }
    }

    @Test func theFirstUseBuildsOncePlacesTheKernelAndSaysSo() throws {
        let place = try Place()
        defer { place.cleanup() }
        let lines = Lines()
        let kernel = place.kernel(lines: lines)
        let path = try kernel.ensure()
        #expect(path == place.kernels + "/default/vmlinux")
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "vmlinux\n")
        let name = kernel.cacheName()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: place.kernels + "/default") == name)
        #expect(FileManager.default.contents(atPath: place.kernels + "/\(name)/config") == Data(GuestKernel.configFragment.utf8))
        // Only the result, the link, the log and the lock: no scratch directory is left.
        #expect(place.entries == [".lock", "build.log", "default", name].sorted())
        #expect(lines.all.contains { $0.contains("building skiff's guest kernel once") && $0.contains(kernel.logPath) }, "\(lines.all)")
        // A second use finds it; an explicit build of the same configuration is the cached one.
        #expect(try kernel.ensure() == path)
        #expect(try kernel.build() == path)
        #expect(place.builds == 1)
    }

    /// The cache name is kernel/build.sh's (the fragment and linux-source's version), so a kernel
    /// that script built is found: this hash is the one it gave kernel/microvm.config with 6.1.192-3.
    @Test func theCacheNameIsTheOneKernelBuildShGave() {
        #expect(GuestKernel().cacheName(version: "6.1.192-3") == "8f6f77b98b145b8f")
    }

    @Test func aMissingSourceOrCompilerSaysWhichPackageAndThatKernelWorks() throws {
        let place = try Place()
        defer { place.cleanup() }
        let noSource = place.kernel(tarball: place.path + "/absent.tar.xz")
        #expect {
            try noSource.ensure()
        } throws: { error in
            let text = "\(error)"
            return text.contains("install linux-source-6.1") && text.contains("--kernel FILE") && text.contains("absent.tar.xz")
        }
        let noCompiler = place.kernel(prerequisites: [(path: place.path + "/no/gcc", package: "build-essential")])
        #expect {
            try noCompiler.ensure()
        } throws: { error in
            let text = "\(error)"
            return text.contains("apt-get install build-essential") && text.contains("no/gcc") && text.contains("--kernel FILE")
        }
        #expect(place.builds == 0)
        #expect(!FileManager.default.fileExists(atPath: place.kernels))
    }

    @Test func aFailedBuildKeepsNothingAndShowsItsLog() throws {
        let place = try Place()
        defer { place.cleanup() }
        let failing = place.kernel(script: "mkdir -p \"$OUT\"; echo half > \"$OUT/vmlinux\"; echo 'cc1: out of memory' >&2; exit 2")
        #expect {
            try failing.ensure()
        } throws: { error in
            let text = "\(error)"
            return text.contains("out of memory") && text.contains(failing.logPath) && text.contains("nothing was kept")
        }
        #expect(place.entries == [".lock", "build.log"])
        // One that exits 0 without its output is no kernel either.
        let empty = place.kernel(script: "true")
        #expect(throws: (any Error).self) { try empty.ensure() }
        #expect(place.entries == [".lock", "build.log"])
    }

    /// A killed build leaves its scratch directory (a half-written kernel in it) and no default:
    /// the next use removes it and starts over.
    @Test func aKilledBuildsLeftoversGoAndTheNextUseStartsOver() throws {
        let place = try Place()
        defer { place.cleanup() }
        let leftover = place.kernels + "/.build-99999/out"
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: leftover + "/vmlinux", contents: Data("half".utf8))
        let kernel = place.kernel()
        let path = try kernel.ensure()
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "vmlinux\n")
        #expect(!place.entries.contains { $0.hasPrefix(".build-") }, "\(place.entries)")
        #expect(place.builds == 1)
    }

    /// Two skiffs at once: one builds, the other says it waits, then uses the result.
    @Test func concurrentFirstUsesBuildOnce() throws {
        let place = try Place()
        defer { place.cleanup() }
        let go = place.path + "/go"
        let script = "while [ ! -e \"\(go)\" ]; do sleep 0.01; done\n" + place.script
        let first = Lines(), second = Lines()
        let results = Mutex<[String]>([])
        let done = DispatchGroup()
        for lines in [first, second] {
            if lines === second {
                // The second starts once the first is building (it holds the lock).
                try poll { first.all.contains { $0.contains("building") } }
            }
            done.enter()
            Thread.detachNewThread {
                let result = (try? place.kernel(script: script, lines: lines).ensure()) ?? "failed"
                results.withLock { $0.append(result) }
                done.leave()
            }
        }
        try poll { second.all.contains { $0.contains("another skiff is building the guest kernel") } }
        #expect(results.withLock { $0.isEmpty })
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(results.withLock { $0 } == [place.kernels + "/default/vmlinux", place.kernels + "/default/vmlinux"])
        #expect(place.builds == 1)
    }

    func poll(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(30)
        while !condition() {
            guard Date() < deadline else { throw CancellationError() }
            usleep(5000)
        }
    }
}

/// The store's configuration file (`<root>/config.json`) and what wins over what.
@Suite struct EngineConfigTests {
    func withRoot(_ json: String?, _ body: (String) throws -> Void) throws {
        let root = "/tmp/skiff-engine-config-\(UUID().uuidString.prefix(13))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        if let json { _ = FileManager.default.createFile(atPath: root + "/config.json", contents: Data(json.utf8)) }
        try body(root)
    }

    @Test func noFileIsNoSettingsAndAFileGivesThem() throws {
        try withRoot(nil) { root in
            let config = try EngineConfig.load(root: root)
            #expect(config == EngineConfig())
        }
        try withRoot(#"{"vm": {"kernel": "/k/vmlinux", "initrd": "/i/agent.cpio", "backend": "qemu", "bootTimeout": 300}}"#) { root in
            let config = try EngineConfig.load(root: root)
            #expect(config == EngineConfig(vm: .init(kernel: "/k/vmlinux", initrd: "/i/agent.cpio", backend: "qemu", bootTimeout: 300)))
        }
    }

    @Test func aWrongFileIsAnErrorNamingItAndTheKey() throws {
        for (json, expected) in [
            (#"{"vm": {"kernal": "/k"}}"#, "kernal"), (#"{"vms": {}}"#, "vms"), (#"{"vm": {"kernel": "vmlinux"}}"#, "absolute path"),
            (#"{"vm": {"backend": "bochs"}}"#, "bochs"), ("{", "config.json"), (#"{"vm": {"bootTimeout": 0}}"#, "bootTimeout"),
            (#"{"vm": {"bootTimeout": -5}}"#, "bootTimeout"), (#"{"vm": {"bootTimeout": "soon"}}"#, "config.json"),
        ] {
            try withRoot(json) { root in
                #expect {
                    try EngineConfig.load(root: root)
                } throws: { error in
                    "\(error)".contains(expected) && "\(error)".contains(root + "/config.json")
                }
            }
        }
    }

    @Test func theContainersKernelWinsOverTheConfiguredOne() throws {
        try withRoot("{}") { root in
            let file = root + "/config.json"
            let config = EngineConfig(vm: .init(kernel: file, initrd: "/configured/initrd"))
            let configured = try GuestArtifacts.kernel(nil, config: config, root: root)
            #expect(configured == file)
            let own = try GuestArtifacts.kernel("/proc/version", config: config, root: root)
            #expect(own == "/proc/version")
            let missing = EngineConfig(vm: .init(kernel: root + "/absent"))
            #expect {
                try GuestArtifacts.kernel(nil, config: missing, root: root)
            } throws: { "\($0)".contains("vm.kernel \(root)/absent in \(file)") }
            #expect(GuestArtifacts.initrdOverride(nil, config: config) == "/configured/initrd")
            #expect(GuestArtifacts.initrdOverride("/mine", config: config) == "/mine")
        }
    }
}

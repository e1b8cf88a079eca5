#if canImport(Glibc)
import Glibc
#endif
import ImageStore
import LinuxSupport
import VMM

/// skiff's default guest kernel, built on first use from Debian's linux-source-6.1 with the
/// configuration in the binary (`GuestKernelConfig`) and cached per host:
///
///     <kernels>/<hash>/{vmlinux,bzImage,config}   hash: the fragment and linux-source's version
///     <kernels>/default -> <hash>                 what run --vm and skiff vm run boot
///     <kernels>/build.log                         the last build's output
///
/// `<kernels>` is `$SKIFF_STORE/kernels` (default /var/lib/skiff/kernels), shared by every
/// `--root`, so an 11-minute build happens once per host. One build at a time: the builder holds
/// `<kernels>/.lock` (a second skiff waits, then finds the result). It builds in
/// `<kernels>/.build-PID` and renames the finished directory into place, so a killed build leaves
/// only that scratch directory, which the next build removes before it starts over.
public struct GuestKernel: Sendable {
    /// The cache directory.
    public var directory: String
    /// Debian's kernel source tarball (package linux-source-6.1).
    public var tarball: String
    /// The build: a shell script run with WORK (an empty directory to unpack into), SOURCE (the
    /// tarball), CONFIG (the fragment), JOBS and OUT (where vmlinux, bzImage and config must end
    /// up). Tests pass a quick one; everything around it (lock, scratch, placement) is the same.
    var script: String
    /// What to check for before a build (tools in PATH, headers), each with its Debian package.
    var prerequisites: [(path: String, package: String)]
    /// Where progress lines go (stderr for the CLI).
    var progress: @Sendable (String) -> Void

    public init(
        directory: String = DefaultGuestKernel.storeRoot + "/kernels", tarball: String = GuestKernel.debianTarball,
        progress: @escaping @Sendable (String) -> Void = GuestKernel.toStandardError
    ) {
        self.init(
            directory: directory, tarball: tarball, script: Self.buildScript, prerequisites: Self.buildPrerequisites, progress: progress)
    }

    init(
        directory: String, tarball: String, script: String, prerequisites: [(path: String, package: String)],
        progress: @escaping @Sendable (String) -> Void
    ) {
        self.directory = directory
        self.tarball = tarball
        self.script = script
        self.prerequisites = prerequisites
        self.progress = progress
    }

    /// The configuration fragment (applied on top of `make allnoconfig`).
    public static var configFragment: String { GuestKernelConfig.fragment }

    public static let debianTarball = "/usr/src/linux-source-6.1.tar.xz"

    public static let toStandardError: @Sendable (String) -> Void = { line in
        try? FileIO.writeAll(fd: 2, Array(("skiff: " + line + "\n").utf8), what: "stderr")
    }

    /// The kernel run --vm boots without --kernel.
    public var defaultPath: String { directory + "/default/vmlinux" }
    public var logPath: String { directory + "/build.log" }
    var lockPath: String { directory + "/.lock" }
    static let scratchPrefix = ".build-"

    /// The default kernel, built first when there is none (which takes minutes).
    public func ensure() throws -> String {
        if access(defaultPath, R_OK) == 0 { return defaultPath }
        return try build()
    }

    /// The kernel of this skiff's configuration and the installed linux-source: the cached one,
    /// or a new build (waiting for another skiff's build first); it becomes the default.
    @discardableResult
    public func build() throws -> String {
        guard access(tarball, R_OK) == 0 else { throw Self.missing(["linux-source-6.1"], what: "\(tarball) is missing") }
        let absent = prerequisites.filter { access($0.path, F_OK) != 0 }
        if !absent.isEmpty {
            let packages = Array(Set(absent.map(\.package))).sorted()
            throw Self.missing(packages, what: "missing " + absent.map(\.path).joined(separator: ", "))
        }
        try FileIO.makeDirectories(directory, mode: 0o755)
        let lock: FileLock
        if let held = try FileLock.tryLock(path: lockPath, exclusive: true) {
            lock = held
        } else {
            progress("another skiff is building the guest kernel (log at \(logPath)); waiting for it")
            lock = try FileLock(path: lockPath, exclusive: true)
        }
        defer { lock.unlock() }
        let name = cacheName()
        if access(directory + "/" + name + "/vmlinux", R_OK) != 0 {
            try buildLocked(into: name)
        }
        try makeDefault(name)
        return defaultPath
    }

    /// The cache entry's name: the first 16 hex digits of SHA-256 over the fragment and the
    /// source's version (what kernel/build.sh has always used, so its builds are found).
    func cacheName(version: String? = nil) -> String {
        let digest = SHA256Hasher.digest(Array((GuestKernelConfig.fragment + (version ?? sourceVersion()) + "\n").utf8))
        return String(digest.encoded.prefix(16))
    }

    /// linux-source-6.1's Debian version, or the tarball's size and time where dpkg cannot say.
    func sourceVersion() -> String {
        if tarball == Self.debianTarball,
            let result = try? Subprocess.run(
                path: "/usr/bin/dpkg-query", args: ["dpkg-query", "-W", "-f=${Version}", "linux-source-6.1"], env: ["PATH=/usr/bin:/bin"],
                captureOutput: true, outputLimit: 256),
            result.status == 0, !result.output.isEmpty
        {
            return String(decoding: result.output, as: UTF8.self)
        }
        var st = stat()
        guard stat(tarball, &st) == 0 else { return "unknown" }
        return "\(st.st_size)-\(st.st_mtim.tv_sec)"
    }

    /// Runs the build in a scratch directory and renames its output into place (the lock is held).
    private func buildLocked(into name: String) throws {
        removeLeftovers()
        let scratch = directory + "/" + Self.scratchPrefix + "\(getpid())"
        try FileIO.makeDirectories(scratch + "/src", mode: 0o755)
        defer { FileIO.removeTree(scratch) }
        try FileIO.write(scratch + "/microvm.config", Array(GuestKernelConfig.fragment.utf8))
        let out = scratch + "/out"
        let jobs = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        progress(
            "building skiff's guest kernel once, about 11 minutes on 2 cores (from \(tarball)); log at \(logPath)")
        let started = MonotonicClock.seconds()
        let result = try Subprocess.run(
            path: "/bin/sh", args: ["sh", "-c", "exec >\"$LOG\" 2>&1\nset -eu\n" + script],
            env: [
                "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C", "HOME=/", "LOG=\(logPath)", "WORK=\(scratch)/src",
                "SOURCE=\(tarball)", "CONFIG=\(scratch)/microvm.config", "JOBS=\(jobs)", "OUT=\(out)",
            ])
        guard result.status == 0 else {
            throw GuestKernelError(
                "building the guest kernel failed (exit \(result.status)); its log is \(logPath):\n\(logTail())\n"
                    + "nothing was kept; pass --kernel FILE to use another kernel")
        }
        for file in ["vmlinux", "bzImage", "config"] where !FileIO.exists(out + "/" + file) {
            throw GuestKernelError("building the guest kernel left no \(file) (log at \(logPath)); nothing was kept")
        }
        let target = directory + "/" + name
        FileIO.removeTree(target)
        try sysCall("rename \(out)") { rename(out, target) }
        progress("built the guest kernel in \(Int(MonotonicClock.seconds() - started)) s: \(target)/vmlinux")
    }

    /// What killed builds left: their scratch directories (no build runs: the lock is ours).
    func removeLeftovers() {
        for entry in (try? FileIO.listDirectory(directory)) ?? [] where entry.hasPrefix(Self.scratchPrefix) {
            FileIO.removeTree(directory + "/" + entry)
        }
    }

    /// Points `default` at `name`, replacing the link in one rename.
    private func makeDefault(_ name: String) throws {
        let link = directory + "/default"
        if (try? FileIO.readLink(link)) == name { return }
        let temporary = directory + "/.default-\(getpid())"
        unlink(temporary)
        try sysCall("symlink \(temporary)") { symlink(name, temporary) }
        try sysCall("rename \(temporary)") { rename(temporary, link) }
    }

    private func logTail() -> String {
        let text = (try? FileIO.readString(logPath)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(separator: "\n")
    }

    static func missing(_ packages: [String], what: String) -> GuestKernelError {
        GuestKernelError(
            "skiff's guest kernel is built on first use and this host cannot build it (\(what)): "
                + "install \(packages.joined(separator: " ")) (apt-get install \(packages.joined(separator: " "))) "
                + "and run again, or pass --kernel FILE (a bzImage or PVH vmlinux)")
    }

    /// The build's tools and headers, each with the Debian package that has it.
    static let buildPrerequisites: [(path: String, package: String)] = [
        ("/usr/bin/gcc", "build-essential"), ("/usr/bin/make", "build-essential"), ("/usr/bin/bc", "bc"),
        ("/usr/bin/bison", "bison"), ("/usr/bin/flex", "flex"), ("/usr/bin/xz", "xz-utils"), ("/usr/bin/perl", "perl"),
        ("/usr/include/libelf.h", "libelf-dev"), ("/usr/include/openssl/opensslv.h", "libssl-dev"),
    ]

    /// The real build: `make allnoconfig`, the fragment merged on top, every `=y` of it checked
    /// (a dependency may have dropped one), then vmlinux and bzImage.
    static let buildScript = """
        tar -xf "$SOURCE" -C "$WORK"
        src="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d | head -n1)"
        make -C "$src" -s allnoconfig
        "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$CONFIG" >/dev/null
        make -C "$src" -s olddefconfig
        while IFS= read -r line; do
          case "$line" in CONFIG_*=y) grep -qx "$line" "$src/.config" || { echo "$line did not stick" >&2; exit 1; } ;; esac
        done < "$CONFIG"
        make -C "$src" -s -j"$JOBS" vmlinux bzImage
        mkdir -p "$OUT"
        cp "$src/vmlinux" "$OUT/vmlinux"
        cp "$src/arch/x86/boot/bzImage" "$OUT/bzImage"
        cp "$src/.config" "$OUT/config"
        """
}

/// Why skiff's guest kernel could not be built; the text says what to install or where the log is.
public struct GuestKernelError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import Testing
import VMM

/// What the host offers the integration tests, decided once.
enum Host {
    static let kvmUsable: Bool = access("/dev/kvm", R_OK | W_OK) == 0
    static let gccPath: String? = ["/usr/bin/gcc", "/usr/local/bin/gcc"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let canBuildAndRunGuests = kvmUsable && gccPath != nil
    static let isRoot = getuid() == 0
    static let hasIP = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Hardware virtualization (not the kvm_pvm software backend, where Linux cannot reach userspace).
    static let hasHardwareVirtualization: Bool = {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let words = Set(flags.split(separator: " ").map(String.init))
        let pvm = FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
        return (words.contains("vmx") || words.contains("svm")) && !pvm && kvmUsable
    }()
}

enum TestFailure: Error, CustomStringConvertible {
    case command(String, Int32, String)
    var description: String {
        switch self {
        case .command(let cmd, let code, let output): return "\(cmd) exited \(code): \(output)"
        }
    }
}

/// Runs a program and returns its combined output; throws when it exits non-zero.
@discardableResult
func runCommand(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw TestFailure.command(([path] + arguments).joined(separator: " "), process.terminationStatus, output)
    }
    return output
}

/// A scratch directory removed when the test is done with it.
/// A tap device and a network namespace of the test's own (unique names), both removed when the
/// test is done, also when it failed: the tap wherever it ended up (here or in the namespace).
final class TestTapAndNamespace {
    let tap: String
    let namespace: String

    init(tapPrefix: String, namespacePrefix: String) throws {
        let suffix = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        tap = String("\(tapPrefix)\(suffix)".prefix(15))
        namespace = "\(namespacePrefix)-\(suffix)"
        try runCommand("/usr/sbin/ip", ["tuntap", "add", "dev", tap, "mode", "tap"])
        do {
            try runCommand("/usr/sbin/ip", ["netns", "add", namespace])
        } catch {
            _ = try? runCommand("/usr/sbin/ip", ["link", "del", tap])
            throw error
        }
    }

    deinit {
        _ = try? runCommand("/usr/sbin/ip", ["-n", namespace, "link", "del", tap])
        _ = try? runCommand("/usr/sbin/ip", ["link", "del", tap])
        _ = try? runCommand("/usr/sbin/ip", ["netns", "del", namespace])
    }
}

final class ScratchDirectory {
    let path: String
    init(_ prefix: String) throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// The freestanding test guest (Guest/guest.c), compiled at test time for each entry path.
struct GuestImages {
    let elf64: String
    let pvh: String
    let bzImage: String
    let directory: ScratchDirectory

    static let flags = [
        "-ffreestanding", "-nostdlib", "-fno-pic", "-fno-pie", "-no-pie", "-mno-red-zone", "-mno-sse", "-mno-mmx",
        "-mgeneral-regs-only", "-mno-popcnt", "-fno-stack-protector", "-fno-builtin", "-O2", "-static",
        "-Wl,--build-id=none", "-Wl,-z,noexecstack", "-Wl,-z,max-page-size=4096",
    ]

    static func build() throws -> GuestImages {
        guard let gcc = Host.gccPath else { throw POSIXError(.ENOENT) }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Guest").path
        let dir = try ScratchDirectory("skiff-guest")
        let inputs = ["\(source)/start.S", "\(source)/guest.c"]
        try runCommand(gcc, flags + ["-T", "\(source)/guest.ld", "-o", dir.file("guest.elf")] + inputs)
        try runCommand(gcc, flags + ["-DWITH_PVH_NOTE", "-T", "\(source)/guest.ld", "-o", dir.file("guest-pvh.elf")] + inputs)
        // The bzImage payload is linked 0x200 bytes above 1 MiB, where the 64-bit entry point is.
        let script = try String(contentsOfFile: "\(source)/guest.ld", encoding: .utf8).replacingOccurrences(
            of: ". = 0x100000;", with: ". = 0x100200;")
        try script.write(toFile: dir.file("bz.ld"), atomically: true, encoding: .utf8)
        try runCommand(gcc, flags + ["-T", dir.file("bz.ld"), "-o", dir.file("guest-bz.elf")] + inputs)
        try runCommand("/usr/bin/objcopy", ["-O", "binary", dir.file("guest-bz.elf"), dir.file("guest-bz.bin")])
        let payload = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("guest-bz.bin"))))
        let image = SyntheticBzImage.make(payload64: payload, initSize: UInt32(payload.count + 0x200 + 0x10_0000))
        try Data(image).write(to: URL(fileURLWithPath: dir.file("guest.bzImage")))
        return GuestImages(elf64: dir.file("guest.elf"), pvh: dir.file("guest-pvh.elf"), bzImage: dir.file("guest.bzImage"), directory: dir)
    }

    nonisolated(unsafe) static var cached: GuestImages?
    nonisolated(unsafe) static var cachedDirectory: String?
    static let lock = NSLock()
    /// Built once per test process; the directory is removed when the process exits.
    static func shared() throws -> GuestImages {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let built = try build()
        cached = built
        cachedDirectory = built.directory.path
        atexit {
            if let directory = GuestImages.cachedDirectory { try? FileManager.default.removeItem(atPath: directory) }
        }
        return built
    }
}

/// A bzImage in the Linux boot protocol's layout around a 64-bit payload: one setup sector with
/// the setup header (protocol 2.15, relocatable, XLF_KERNEL_64), then 0x200 bytes before the entry.
enum SyntheticBzImage {
    static func make(payload64: [UInt8], initSize: UInt32) -> [UInt8] {
        var setup = [UInt8](repeating: 0, count: 2 * 512)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            for i in 0..<MemoryLayout<T>.size { setup[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        setup[0x1F1] = 1
        put(UInt16(0xAA55), 0x1FE)
        setup[0x200] = 0xEB
        setup[0x201] = 0x6A
        put(UInt32(0x5372_6448), 0x202)
        put(UInt16(0x020F), 0x206)
        setup[0x211] = 0x01
        put(UInt32(0x37FF_FFFF), 0x22C)
        put(UInt32(0x20_0000), 0x230)
        setup[0x234] = 1
        put(UInt16(0x1), 0x236)
        put(UInt32(2047), 0x238)
        put(UInt64(0x10_0000), 0x258)
        put(initSize, 0x260)
        return setup + [UInt8](repeating: 0, count: 0x200) + payload64
    }
}

/// Collects the guest's serial output.
final class CapturingSink: SerialSink, @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    func write(_ data: [UInt8]) {
        lock.lock()
        bytes += data
        lock.unlock()
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct GuestRun {
    let status: VMExitStatus
    let output: String
    let faults: [String]
}

final class RunResult: @unchecked Sendable {
    var status: VMExitStatus?
    let done = DispatchSemaphore(value: 0)
}

/// Boots `configuration` on its own thread while `whileRunning` plays the host side on the test's
/// thread; the VM is stopped after `timeout` seconds if the guest has not ended by then.
func boot(
    _ configuration: VMConfiguration, timeout: Double = 20, whileRunning: ((MicroVM, CapturingSink) throws -> Void)? = nil,
    beforeRun: ((MicroVM) throws -> Void)? = nil
) throws -> GuestRun {
    let sink = CapturingSink()
    let machine = try MicroVM(configuration: configuration, console: sink)
    try beforeRun?(machine)
    let watchdog = DispatchWorkItem { [weak machine] in machine?.stop() }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let result = RunResult()
    let thread = Thread {
        result.status = machine.run()
        result.done.signal()
    }
    thread.start()
    var hostError: Error?
    do { try whileRunning?(machine, sink) } catch {
        hostError = error
        machine.stop()
    }
    result.done.wait()
    watchdog.cancel()
    if let hostError { throw hostError }
    return GuestRun(status: result.status ?? .stoppedByHost, output: sink.text, faults: machine.deviceFaults.messages)
}

/// Waits until `sink` shows `marker` (or the timeout passes).
func waitFor(_ marker: String, in sink: CapturingSink, timeout: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if sink.text.contains(marker) { return true }
        usleep(5_000)
    }
    return false
}

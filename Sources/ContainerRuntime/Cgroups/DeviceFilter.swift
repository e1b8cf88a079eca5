#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// Loads a compiled device program and attaches it to a cgroup2 directory.
public enum DeviceFilter {
    public static func attach(rules: [Resources.DeviceRule], to cgroupPath: String) throws {
        let program = try DeviceFilterProgram.compile(rules).map(\.encoded)
        var log = [CChar](repeating: 0, count: 65536)
        let prog = program.withUnsafeBufferPointer { insns in
            skiff_bpf_load_device_program(insns.baseAddress, UInt32(insns.count), &log, UInt32(log.count))
        }
        guard prog >= 0 else {
            let code = errno
            let verifier = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw RuntimeError.cgroup(
                "cannot load the device filter (\(String(cString: strerror(code))))\(verifier.isEmpty ? "" : ": " + verifier)")
        }
        defer { close(prog) }
        let dir = open(cgroupPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw RuntimeError.cgroup("cannot open \(cgroupPath): \(String(cString: strerror(errno)))") }
        defer { close(dir) }
        guard skiff_bpf_attach_device_program(dir, prog) == 0 else {
            throw RuntimeError.cgroup("cannot attach the device filter to \(cgroupPath): \(String(cString: strerror(errno)))")
        }
    }
}

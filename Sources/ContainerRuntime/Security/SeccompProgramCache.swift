#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import OCISpec

/// Compiled seccomp programs kept under the runtime's state root, so that a container start with
/// the same profile as an earlier one loads the BPF program instead of running libseccomp's
/// compiler again (about 1 ms per architecture of the profile here, 5-10 ms for docker's default
/// profile; loading a program takes microseconds). crun keeps a similar cache.
///
/// One file per profile, named by a 64-bit hash of the profile's canonical JSON, holding the
/// whole JSON and then the program: a hit is used only when the stored JSON is byte for byte the
/// profile's, so a hash collision or a damaged file costs a compile, never a wrong filter. Files
/// are written to a temporary name and renamed, so readers see whole files only.
struct SeccompProgramCache {
    let directory: String

    private static let magic = Array("skiff-seccomp-1\n".utf8)

    /// A close-on-exec memfd holding the profile's compiled program, from the cache or compiled
    /// (and cached) now. The init stage loads it with `SeccompProgram.load`.
    func programFD(for profile: Seccomp) throws -> Int32 {
        let program = try self.program(for: profile)
        let fd = skiff_memfd_create("skiff-seccomp")
        guard fd >= 0 else { throw RuntimeError.system(SystemError("memfd_create")) }
        do {
            try FileIO.writeAll(fd: fd, program, what: "the seccomp program")
            lseek(fd, 0, SEEK_SET)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    func program(for profile: Seccomp) throws -> [UInt8] {
        let key = try RuntimeJSON.encode(profile, sortedKeys: true)
        let path = directory + "/" + Self.hexHash(key) + ".bpf"
        if let bytes = try? FileIO.read(path), let program = Self.program(in: bytes, key: key) {
            return program
        }
        let program = try SeccompFilter(profile: profile).compile()
        // A cache that cannot be written (read-only state root, full disk) only costs speed.
        if (try? FileIO.makeDirectories(directory, mode: 0o700)) != nil {
            var file = Self.magic
            file += Self.bigEndian(UInt32(key.count)) + key + program
            try? FileIO.writeAtomically(path, file, mode: 0o600, durable: false)
        }
        return program
    }

    /// The program stored in `bytes` if they are a cache file for exactly `key`.
    static func program(in bytes: [UInt8], key: [UInt8]) -> [UInt8]? {
        let header = magic.count + 4
        guard bytes.count > header, Array(bytes[0..<magic.count]) == magic else { return nil }
        let length = bytes[magic.count..<header].reduce(0) { $0 << 8 | Int($1) }
        guard length == key.count, bytes.count > header + length,
            bytes[header..<(header + length)].elementsEqual(key)
        else { return nil }
        let program = Array(bytes[(header + length)...])
        return program.count % 8 == 0 ? program : nil
    }

    /// FNV-1a, 64 bits, in hex: a file name, not a security boundary (the key is compared whole).
    static func hexHash(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}

/// Loads a compiled seccomp program (from `SeccompProgramCache`) in the init stage.
enum SeccompProgram {
    static func load(fd: Int32, flags: UInt32) throws {
        let program = try FileIO.readAll(fd: fd, what: "the seccomp program")
        let rc = program.withUnsafeBytes { skiff_seccomp_load_program($0.baseAddress, $0.count, flags) }
        if rc != 0 {
            throw RuntimeError.invalidConfig("seccomp: the kernel refused the filter: \(String(cString: strerror(errno)))")
        }
    }
}

/// How a container runs in its own micro-VM (`--vm`), kept in its record.
public struct MicroVMSettings: Codable, Sendable, Equatable {
    /// `--vm-backend`: "qemu" or "skiff"; create records the host's default when it was not given
    /// (nil only in records made before it did, which ran on QEMU).
    public var backend: String?
    /// `--kernel`/`--initrd`: nil for skiff's default guest kernel and agent initramfs.
    public var kernel: String?
    public var initrd: String?
    /// Guest RAM: `--memory` plus `memoryOverheadMiB` for the guest kernel and agent, or
    /// `defaultMemoryMiB` without a limit.
    public var memoryMiB: Int
    /// vCPUs: `--cpus` rounded up, 1 without it.
    public var cpus: Int

    /// What the guest's kernel and agent take beside the container's own memory limit.
    public static let memoryOverheadMiB = 128
    public static let defaultMemoryMiB = 512

    public init(backend: String? = nil, kernel: String? = nil, initrd: String? = nil, memoryLimit: Int64? = nil, cpus: Double? = nil) {
        self.backend = backend
        self.kernel = kernel
        self.initrd = initrd
        if let memoryLimit {
            let mib = (memoryLimit + (1 << 20) - 1) >> 20
            memoryMiB = Int(min(mib, Int64(1 << 20))) + Self.memoryOverheadMiB
        } else {
            memoryMiB = Self.defaultMemoryMiB
        }
        self.cpus = max(1, Int((cpus ?? 1).rounded(.up)))
    }
}

/// Everything `skiff vm run` (or a later container-in-VM caller) decides about one micro-VM.
public struct VMConfiguration: Sendable {
    /// A raw disk image exposed as virtio-blk.
    public struct Disk: Sendable, Equatable {
        public var path: String
        public var readOnly: Bool
        public init(path: String, readOnly: Bool) {
            self.path = path
            self.readOnly = readOnly
        }

        /// Parses the CLI form FILE[,ro].
        public static func parse(_ text: String) throws(VMMError) -> Disk {
            var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard let path = parts.first, !path.isEmpty else { throw .invalidConfiguration("--disk needs a file path (FILE[,ro])") }
            parts.removeFirst()
            var readOnly = false
            for option in parts {
                switch option {
                case "ro": readOnly = true
                case "rw": readOnly = false
                default: throw .invalidConfiguration("unknown --disk option '\(option)' (FILE[,ro])")
                }
            }
            return Disk(path: path, readOnly: readOnly)
        }
    }

    /// A userspace virtio-vsock device published on the host as a Unix socket (Firecracker style).
    public struct Vsock: Sendable, Equatable {
        public var guestCID: UInt64
        public var socketPath: String
        public init(guestCID: UInt64, socketPath: String) {
            self.guestCID = guestCID
            self.socketPath = socketPath
        }

        /// Parses the CLI form CID,SOCKET_PATH.
        public static func parse(_ text: String) throws(VMMError) -> Vsock {
            guard let comma = text.firstIndex(of: ","), let cid = UInt64(text[..<comma]), cid >= 3, cid < 0xFFFF_FFFF else {
                throw .invalidConfiguration("--vsock needs CID,SOCKET_PATH with a CID of 3 or more")
            }
            let path = String(text[text.index(after: comma)...])
            guard !path.isEmpty else { throw .invalidConfiguration("--vsock needs a socket path after the CID") }
            return Vsock(guestCID: cid, socketPath: path)
        }
    }

    public static let minimumMemoryMiB: UInt64 = 8
    public static let maximumCPUs = 64
    public static let defaultCommandLine = "console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.dumbkbd"

    public var kernelPath: String
    public var initrdPath: String?
    public var commandLine: String = VMConfiguration.defaultCommandLine
    public var cpus: Int = 1
    public var memoryMiB: UInt64 = 128
    public var disks: [Disk] = []
    public var tapName: String?
    public var vsock: Vsock?
    /// Where the IOAPIC (and PIC, PIT) live: `.split` (monitor IOAPIC, no PIC/PIT) or `.kernel`.
    public var interruptController: InterruptControllerMode = .split
    /// Forward our standard input to the guest's serial port.
    public var interactive = false
    /// Confine each monitor thread to the system calls its kind needs (`MonitorSeccomp`). Off by
    /// default for library callers, whose thread that calls `run()` goes on to do other things
    /// afterwards; `skiff vm run` turns it on unless given --no-seccomp.
    public var seccomp = false
    /// Confine the whole monitor process (`MonitorJail`: its own mount namespace with an empty
    /// read-only root, no capabilities, no_new_privs, optionally other ids) before the first vCPU
    /// thread starts. Nil, no jail, by default for library callers (it is process-wide and for
    /// good: the process cannot do anything else by path afterwards); `skiff vm run` sets it
    /// unless given --no-jail. The process must have one thread when `run()` is called.
    public var jail: MonitorJail?
    /// For tests of the filter: the named thread kind makes one system call outside its list
    /// (getppid) right after installing its filter, which must kill the monitor with SIGSYS.
    public var seccompProbe: MonitorThreadKind?

    public init(kernelPath: String) {
        self.kernelPath = kernelPath
    }

    public func validate() throws(VMMError) {
        guard cpus >= 1, cpus <= Self.maximumCPUs else { throw .tooManyCPUs(requested: cpus, maximum: Self.maximumCPUs) }
        guard memoryMiB >= Self.minimumMemoryMiB else { throw .memoryTooSmall(requestedMiB: memoryMiB, minimumMiB: Self.minimumMemoryMiB) }
        guard memoryMiB <= 1 << 20 else { throw .memoryTooLarge(requestedMiB: memoryMiB) }
        let devices = disks.count + (tapName == nil ? 0 : 1) + (vsock == nil ? 0 : 1)
        guard devices <= GuestLayout.virtioMaximumDevices else { throw .tooManyDevices(maximum: GuestLayout.virtioMaximumDevices) }
        if let tapName, tapName.isEmpty || tapName.utf8.count >= 16 {
            throw .invalidConfiguration("tap name '\(tapName)' must be 1 to 15 characters")
        }
    }
}

/// Everything `skiff vm run` (or a later container-in-VM caller) decides about one micro-VM.
public struct VMConfiguration: Sendable {
    /// A raw disk image exposed as virtio-blk.
    public struct Disk: Sendable, Equatable {
        public var path: String
        public var readOnly: Bool
        /// What the guest reads with VIRTIO_BLK_T_GET_ID (Linux: /sys/block/vdX/serial); nil:
        /// "skiff-diskN" for the Nth disk.
        public var serial: String?
        public init(path: String, readOnly: Bool, serial: String? = nil) {
            self.path = path
            self.readOnly = readOnly
            self.serial = serial
        }

        /// The most a virtio-blk serial holds (VIRTIO_BLK_ID_BYTES).
        public static let maximumSerialLength = 20

        /// Parses the CLI form FILE[,ro][,serial=ID].
        public static func parse(_ text: String) throws(VMMError) -> Disk {
            var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard let path = parts.first, !path.isEmpty else {
                throw .invalidConfiguration("--disk needs a file path (FILE[,ro][,serial=ID])")
            }
            parts.removeFirst()
            var disk = Disk(path: path, readOnly: false)
            for option in parts {
                switch option {
                case "ro": disk.readOnly = true
                case "rw": disk.readOnly = false
                case let value where value.hasPrefix("serial="): disk.serial = String(value.dropFirst("serial=".count))
                default: throw .invalidConfiguration("unknown --disk option '\(option)' (FILE[,ro][,serial=ID])")
                }
            }
            try disk.validate()
            return disk
        }

        /// A serial is 1 to 20 printable ASCII characters without spaces or commas.
        public func validate() throws(VMMError) {
            guard let serial else { return }
            guard !serial.isEmpty, serial.utf8.count <= Self.maximumSerialLength,
                serial.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x2C })
            else {
                throw .invalidConfiguration(
                    "disk serial '\(serial)' must be 1 to \(Self.maximumSerialLength) printable ASCII characters without spaces or commas")
            }
        }
    }

    /// A userspace virtio-vsock device published on the host as a Unix socket (Firecracker style),
    /// and/or bridging already connected descriptors to guest ports (`VirtioVsock.HostStream`).
    public struct Vsock: Sendable, Equatable {
        public var guestCID: UInt64
        /// nil: no Unix socket; the guest cannot connect to the host and the host reaches the guest
        /// only through `hostStreams`.
        public var socketPath: String?
        public var hostStreams: [VirtioVsock.HostStream]
        public init(guestCID: UInt64, socketPath: String?, hostStreams: [VirtioVsock.HostStream] = []) {
            self.guestCID = guestCID
            self.socketPath = socketPath
            self.hostStreams = hostStreams
        }

        /// Parses the CLI form CID[,SOCKET_PATH].
        public static func parse(_ text: String) throws(VMMError) -> Vsock {
            let comma = text.firstIndex(of: ",") ?? text.endIndex
            guard let cid = UInt64(text[..<comma]), cid >= 3, cid < 0xFFFF_FFFF else {
                throw .invalidConfiguration("--vsock needs CID[,SOCKET_PATH] with a CID of 3 or more")
            }
            guard comma < text.endIndex else { return Vsock(guestCID: cid, socketPath: nil) }
            let path = String(text[text.index(after: comma)...])
            guard !path.isEmpty else { throw .invalidConfiguration("--vsock needs a socket path after the comma") }
            return Vsock(guestCID: cid, socketPath: path)
        }

        /// Parses the CLI form FD:PORT of a host stream.
        public static func parseStream(_ text: String) throws(VMMError) -> VirtioVsock.HostStream {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let fd = Int32(parts[0]), fd > 2, let port = UInt32(parts[1]) else {
                throw .invalidConfiguration("--vsock-stream needs FD:PORT with an open descriptor above 2 ('\(text)')")
            }
            return VirtioVsock.HostStream(fd: fd, guestPort: port)
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
    /// An open tap descriptor (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, as skiff makes them; the
    /// device sets the 12-byte header size) instead of `tapName`: how a caller hands over a tap it
    /// opened in another network namespace. The machine owns it from `MicroVM.init` on.
    public var tapDescriptor: Int32?
    /// The guest NIC's MAC (nil: one derived from the tap's name).
    public var macAddress: [UInt8]?
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
    /// The monitor's parent (a container's monitor process): when it dies, the kernel kills this
    /// monitor (PR_SET_PDEATHSIG SIGKILL, armed again after the jail since an id switch clears it),
    /// and a monitor whose parent is already gone does not start the guest.
    public var parentProcess: Int32?

    public init(kernelPath: String) {
        self.kernelPath = kernelPath
    }

    public func validate() throws(VMMError) {
        guard cpus >= 1, cpus <= Self.maximumCPUs else { throw .tooManyCPUs(requested: cpus, maximum: Self.maximumCPUs) }
        guard memoryMiB >= Self.minimumMemoryMiB else { throw .memoryTooSmall(requestedMiB: memoryMiB, minimumMiB: Self.minimumMemoryMiB) }
        guard memoryMiB <= 1 << 20 else { throw .memoryTooLarge(requestedMiB: memoryMiB) }
        let devices = disks.count + (tapName == nil && tapDescriptor == nil ? 0 : 1) + (vsock == nil ? 0 : 1)
        guard devices <= GuestLayout.virtioMaximumDevices else { throw .tooManyDevices(maximum: GuestLayout.virtioMaximumDevices) }
        for disk in disks { try disk.validate() }
        if tapName != nil && tapDescriptor != nil {
            throw .invalidConfiguration("a VM has one NIC: give a tap name or a tap descriptor, not both")
        }
        if let macAddress, macAddress.count != 6 || macAddress[0] & 1 != 0 {
            throw .invalidConfiguration("the NIC's MAC must be six bytes of a unicast address")
        }
        if let vsock, vsock.socketPath == nil && vsock.hostStreams.isEmpty {
            throw .invalidConfiguration("a vsock device needs a socket path or host streams")
        }
        if let tapName, tapName.isEmpty || tapName.utf8.count >= 16 {
            throw .invalidConfiguration("tap name '\(tapName)' must be 1 to 15 characters")
        }
    }
}

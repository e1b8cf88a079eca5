#if canImport(Glibc)
import Glibc
#endif
import CShim
import Synchronization

/// A micro-VM assembled from a configuration: KVM VM and vCPUs, guest memory with the kernel
/// loaded, the legacy devices and the virtio-mmio devices, and the threads that run them.
/// `run()` boots it and returns how it ended; everything is released when the object goes away.
/// Unchecked Sendable: the parts are immutable after init and each is safe to share on its own
/// (locked devices, atomic control); the vCPU and device-loop threads only reach them through it.
public final class MicroVM: @unchecked Sendable {
    public let configuration: VMConfiguration
    public let memory: GuestMemory
    public let vm: VirtualMachine
    public let vcpus: [VirtualCPU]
    public let bootPlan: BootPlan
    public let bus: DeviceBus
    public let control = MachineControl()
    public let serial: Serial16550
    public let virtioTransports: [VirtioMMIOTransport]
    let eventLoop: DeviceEventLoop
    let interruptLines: [any InterruptLine]
    let notifyRegistrations: [IoeventfdRegistration]
    let backends: [any VirtioBackendOwner]
    /// Messages about devices a guest broke (DEVICE_NEEDS_RESET), for the user and tests.
    public let deviceFaults = DeviceFaultLog()

    /// Builds the whole machine; nothing runs yet. `console` receives serial output.
    public init(configuration: VMConfiguration, console: any SerialSink, kvmPath: String = KVMSystem.defaultPath) throws(VMMError) {
        try configuration.validate()
        self.configuration = configuration
        let kvm = try KVMSystem(path: kvmPath)
        guard configuration.cpus <= kvm.maximumCPUs else { throw .tooManyCPUs(requested: configuration.cpus, maximum: kvm.maximumCPUs) }
        let kernel = try Self.readFile(configuration.kernelPath) { e throws(VMMError) in
            throw .kernelUnreadable(path: configuration.kernelPath, errno: e)
        }
        let initrd = try configuration.initrdPath.map { path throws(VMMError) in
            try Self.readFile(path) { e throws(VMMError) in throw .initrdUnreadable(path: path, errno: e) }
        }
        // Devices first (they can fail on user input) so no KVM state is made for nothing.
        var virtioDevices: [any VirtioDevice] = []
        var backends: [any VirtioBackendOwner] = []
        for (index, disk) in configuration.disks.enumerated() {
            virtioDevices.append(
                try VirtioBlock(path: disk.path, readOnly: disk.readOnly, identifier: disk.serial ?? "skiff-disk\(index)"))
        }
        if let tap = configuration.tapName {
            let net = try VirtioNet(tapName: tap, mac: configuration.macAddress)
            virtioDevices.append(net)
            backends.append(net)
        } else if let fd = configuration.tapDescriptor {
            // skiff opens taps with IFF_VNET_HDR but leaves the header size (10 by default) to the
            // user: ours is the 12 bytes of a VERSION_1 driver. A descriptor that is no tap fails here.
            guard skiff_tap_set_vnet_header_size(fd, Int32(VirtioNet.headerSize)) == 0 else {
                throw .tapUnavailable(name: "descriptor \(fd)", errno: errno)
            }
            let net = try VirtioNet(backendFD: fd, name: "tap-fd\(fd)", mac: configuration.macAddress)
            virtioDevices.append(net)
            backends.append(net)
        }
        if let vsock = configuration.vsock {
            let device = try VirtioVsock(guestCID: vsock.guestCID, socketPath: vsock.socketPath, hostStreams: vsock.hostStreams)
            virtioDevices.append(device)
            backends.append(device)
        }
        self.backends = backends

        memory = try GuestMemory(size: configuration.memoryMiB << 20)
        var commandLine = configuration.commandLine
        for index in virtioDevices.indices {
            let base = GuestLayout.virtioMMIOBase + UInt64(index) * GuestLayout.virtioMMIOSize
            commandLine += " " + VirtioMMIOTransport.commandLineEntry(base: base, irq: GuestLayout.virtioFirstIRQ + UInt32(index))
        }
        var loader = KernelLoader(kernel: kernel, initrd: initrd, commandLine: commandLine, cpus: configuration.cpus)
        loader.preferPVH = true
        bootPlan = try loader.load(into: memory)

        vm = try VirtualMachine(kvm: kvm, memory: memory, interruptController: configuration.interruptController)
        let supported = try kvm.supportedCPUID()
        // KVM emulates the TSC-deadline timer in its local APICs but does not list it as supported;
        // Linux needs it to time without a PIT (QEMU and Firecracker set it the same way).
        let tscDeadline = kvm.has(capability: skiff_kvm_cap_tsc_deadline_timer())
        var vcpus: [VirtualCPU] = []
        for id in 0..<configuration.cpus {
            let vcpu = try VirtualCPU(vm: vm, id: id)
            try vcpu.configure(cpuid: CPUIDPolicy.adjust(supported, cpuIndex: id, cpuCount: configuration.cpus, tscDeadline: tscDeadline))
            vcpus.append(vcpu)
        }
        try vcpus[0].setEntryState(bootPlan.entryState)
        self.vcpus = vcpus

        eventLoop = try DeviceEventLoop()
        let wiring = InterruptWiring(vm: vm, cpus: configuration.cpus)
        let serialLine = wiring.line(gsi: Serial16550.irq)
        serial = Serial16550(sink: console, interrupt: serialLine)
        if let fd = console.pendingOutputDescriptor {
            do {
                try eventLoop.watchWritable(fd) { console.flushPending() }
            } catch .hostMemory(_, errno: EPERM) {
                // epoll refuses regular files: they never hold output back, nothing to watch.
            }
        }
        let control = self.control
        let keyboard = I8042(onReset: { control.requestStop(.guestReset) })

        var lines = [serialLine]
        var transports: [VirtioMMIOTransport] = []
        var mmioRanges: [AddressBus.Range] = wiring.mmioRanges
        var notifyRegistrations: [IoeventfdRegistration] = []
        let faults = deviceFaults
        for (index, device) in virtioDevices.enumerated() {
            let base = GuestLayout.virtioMMIOBase + UInt64(index) * GuestLayout.virtioMMIOSize
            let line = wiring.line(gsi: GuestLayout.virtioFirstIRQ + UInt32(index))
            lines.append(line)
            let loop = eventLoop
            let transport = VirtioMMIOTransport(
                device: device, memory: memory, interrupt: line,
                onBroken: { reason in
                    faults.record("virtio device \(index) (\(device.deviceType)) marked DEVICE_NEEDS_RESET: \(reason)")
                },
                reschedule: { [weak loop] transport, work in
                    // A device stopped at its per-turn budget: the rest runs on the loop's next turn.
                    let item: Int
                    switch work {
                    case .queue(let queue): item = queue
                    case .backend: item = -1
                    }
                    loop?.schedule(.init(owner: ObjectIdentifier(transport), item: item)) { [weak transport] in transport?.resume(work) }
                })
            transports.append(transport)
            mmioRanges.append(AddressBus.Range(base: base, length: GuestLayout.virtioMMIOSize, device: transport))
            if vm.hasIoeventfd {
                for queue in device.queueMaximumSizes.indices {
                    let address = base + VirtioMMIOTransport.Register.queueNotify
                    // Without an ioeventfd the notify write still arrives as an MMIO exit.
                    guard let registration = IoeventfdRegistration(vm: vm, address: address, value: UInt32(queue)) else { continue }
                    notifyRegistrations.append(registration)
                    try eventLoop.watch(registration.fd, isEventFD: true) { transport.notify(queue: queue) }
                }
            }
            for fd in device.backendDescriptors() {
                try eventLoop.watch(fd) { transport.pollBackend() }
            }
        }
        interruptLines = lines
        virtioTransports = transports
        self.notifyRegistrations = notifyRegistrations
        bus = DeviceBus(
            pio: try AddressBus(ranges: [
                AddressBus.Range(base: Serial16550.basePort, length: 8, device: serial),
                AddressBus.Range(base: I8042.dataPort, length: 5, device: keyboard),
            ]),
            mmio: try AddressBus(ranges: mmioRanges))
    }

    deinit {
        for backend in backends { backend.closeBackend() }
    }

    /// Where each vCPU's instruction pointer is (after `run` returned), for diagnosing a guest
    /// that had to be stopped from outside.
    public func instructionPointers() -> [UInt64?] { vcpus.map { $0.registers()?.rip } }

    /// Asks the kernel to kill this process when its parent dies (PR_SET_PDEATHSIG SIGKILL), then
    /// checks that the parent is still `parent`: false when it died before (the process was
    /// reparented and no signal will come). The signal follows the thread that made the process,
    /// so the parent must spawn it from a thread that lives as long as it does.
    public static func dieWithParent(_ parent: Int32) -> Bool {
        let prSetPdeathsig: Int32 = 1
        guard skiff_prctl(prSetPdeathsig, UInt(SIGKILL), 0, 0, 0) == 0 else { return false }
        return getppid() == parent
    }

    /// Asks the machine to stop (from a signal handler thread, a test, or the caller).
    public func stop() { control.requestStop(.hostRequest) }

    /// Stops the machine when `fd` becomes readable (one byte is read from it): how a caller turns
    /// a signal handler's self-pipe into `stop()` without a thread of its own. Call before `run()`.
    public func stop(whenReadable fd: Int32) throws(VMMError) {
        // Weak: the control's stop handler holds the event loop, which holds this handler.
        try eventLoop.watch(fd) { [weak control] in
            var byte: UInt8 = 0
            _ = Glibc.read(fd, &byte, 1)
            control?.requestStop(.hostRequest)
        }
    }

    /// Boots the guest and blocks until it ends; returns how it ended. Each vCPU runs on its own
    /// thread and the calling thread runs the device event loop, so when the guest ends only this
    /// thread has to wake up (a busy host delays every extra hand-off between threads).
    public func run() -> VMExitStatus {
        // Everything the machine needs is open; confine the process before any vCPU thread exists
        // (they inherit the jail) and before the per-thread seccomp filters go in.
        if let jail = configuration.jail {
            do throws(VMMError) { try jail.enter() } catch {
                for backend in backends { backend.closeBackend() }
                return .hostFailure(error.description)
            }
        }
        // After the jail: switching ids there cleared the parent-death signal.
        if let parent = configuration.parentProcess, !Self.dieWithParent(parent) {
            for backend in backends { backend.closeBackend() }
            return .hostFailure("the monitor's parent (pid \(parent)) is gone; the guest is not started")
        }
        let exits = Mutex<[Int: VCPUExit]>([:])
        let vcpus = self.vcpus
        let eventLoop = self.eventLoop
        let stopAll: @Sendable () -> Void = {
            for vcpu in vcpus { vcpu.kick() }
            eventLoop.stop()
        }
        control.setStopHandler(stopAll)
        if control.stopRequested { stopAll() }
        var threads: [HostThread] = []
        let seccomp = configuration.seccomp, probe = configuration.seccompProbe
        let confinementFailure = Mutex<VMMError?>(nil)
        do {
            if configuration.interactive { try watchStandardInput() }
            for vcpu in vcpus {
                let bus = self.bus, control = self.control
                threads.append(
                    try HostThread.start {
                        if seccomp {
                            do throws(VMMError) { try MonitorSeccomp.install(for: .vcpu) } catch {
                                confinementFailure.withLock { $0 = $0 ?? error }
                                control.requestStop(.vcpuEnded)
                                return
                            }
                        }
                        if probe == .vcpu { _ = getppid() }
                        let exit = vcpu.runLoop(bus: bus, control: control)
                        exits.withLock { $0[vcpu.id] = exit }
                        control.requestStop(.vcpuEnded)
                    })
            }
        } catch {
            control.requestStop(.hostRequest)
            for thread in threads { thread.join() }
            return .hostFailure(error.description)
        }
        // The loop runs on this thread: confine it once the vCPU threads (which must not inherit
        // its filter) exist.
        if seccomp {
            do throws(VMMError) { try MonitorSeccomp.install(for: .deviceLoop) } catch {
                confinementFailure.withLock { $0 = $0 ?? error }
                control.requestStop(.vcpuEnded)
            }
        }
        if probe == .deviceLoop { _ = getppid() }
        eventLoop.run()
        for thread in threads { thread.join() }
        if let failure = confinementFailure.withLock({ $0 }) {
            for backend in backends { backend.closeBackend() }
            return .hostFailure(failure.description)
        }
        // A machine runs once: release host-side endpoints (tap, vsock socket path) right away.
        for backend in backends { backend.closeBackend() }
        return status(exits: exits.withLock { $0 })
    }

    private func watchStandardInput() throws(VMMError) {
        let serial = self.serial
        let loop = self.eventLoop
        try eventLoop.watch(STDIN_FILENO) { [weak loop] in
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress, 256) }
            if n > 0 {
                serial.receive(Array(buffer[0..<n]))
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                loop?.unwatch(STDIN_FILENO)  // hung up: stop watching rather than spin on it
            }
        }
    }

    private func status(exits: [Int: VCPUExit]) -> VMExitStatus {
        switch control.stopReason {
        case .guestReset: return .guestStopped
        case .hostRequest: return .stoppedByHost
        default: break
        }
        // The first vCPU that ended for its own reason decides.
        for id in exits.keys.sorted() {
            switch exits[id] {
            case .guestRequestedStop: return .guestStopped
            case .tripleFault: return .tripleFault(rip: vcpus[id].registers()?.rip)
            case .internalError(let sub): return .kvmInternalError(suberror: sub)
            case .failedEntry(let reason): return .entryFailed(reason: reason)
            case .unexpectedExit(let reason): return .hostFailure("unexpected KVM exit reason \(reason)")
            case .hostError(let e): return .hostFailure("KVM_RUN failed: \(VMMError.text(e))")
            case .stopped, nil: continue
            }
        }
        return .stoppedByHost
    }

    static func readFile(_ path: String, onError: (Int32) throws(VMMError) -> Never) throws(VMMError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { try onError(errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { try onError(errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { try onError(EISDIR) }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress.map { $0 + done }, $0.count - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { try onError(errno) }
            if n == 0 { break }
            done += n
        }
        return Array(out[0..<done])
    }
}

/// A virtio device that owns host resources (a tap, sockets) to release when the VM goes away.
public protocol VirtioBackendOwner: Sendable {
    func closeBackend()
}

/// Messages about devices a guest drove into DEVICE_NEEDS_RESET, shared with the transports.
public final class DeviceFaultLog: Sendable {
    private let entries = Mutex<[String]>([])
    public init() {}
    public func record(_ message: String) { entries.withLock { $0.append(message) } }
    public var messages: [String] { entries.withLock { $0 } }
}

/// An eventfd KVM signals on a guest's queue-notify write; unregistered and closed with the object,
/// so a machine that fails half-way through construction leaves nothing behind.
final class IoeventfdRegistration: Sendable {
    let vm: VirtualMachine
    let fd: Int32
    let address: UInt64
    let value: UInt32

    init?(vm: VirtualMachine, address: UInt64, value: UInt32) {
        let fd = skiff_eventfd(0)
        guard fd >= 0 else { return nil }
        guard (try? vm.registerIoeventfd(fd, address: address, value: value)) != nil else {
            close(fd)
            return nil
        }
        self.vm = vm
        self.fd = fd
        self.address = address
        self.value = value
    }

    deinit {
        vm.unregisterIoeventfd(fd, address: address, value: value)
        close(fd)
    }
}

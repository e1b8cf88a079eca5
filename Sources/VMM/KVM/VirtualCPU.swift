#if canImport(Glibc)
import Glibc
#endif
import CShim
import Synchronization

/// Why a vCPU's run loop ended.
public enum VCPUExit: Equatable, Sendable {
    /// A device (the i8042 reset line) or KVM's system event asked the machine to stop.
    case guestRequestedStop
    /// The guest triple-faulted (KVM_EXIT_SHUTDOWN).
    case tripleFault
    case internalError(suberror: UInt32)
    case failedEntry(reason: UInt64)
    /// The monitor asked the vCPU to stop (Ctrl-C, SIGTERM, another vCPU ended the machine).
    case stopped
    case unexpectedExit(reason: UInt32)
    case hostError(errno: Int32)
}

/// One virtual CPU: its KVM descriptor and shared run page, the CPUID/MSR/FPU/LAPIC setup, and the
/// run loop that routes port and MMIO exits to the buses. Runs on its own thread.
/// Unchecked Sendable: the run page is used only by the vCPU's own thread (KVM_RUN); other threads
/// only kick it through the thread handle, which is behind a Mutex.
public final class VirtualCPU: @unchecked Sendable {
    public let id: Int
    let fd: Int32
    let run: UnsafeMutablePointer<kvm_run>
    let runSize: Int
    /// The pthread running this vCPU, for the stop signal.
    let thread = Mutex<pthread_t?>(nil)

    public init(vm: VirtualMachine, id: Int) throws(VMMError) {
        self.id = id
        let fd = try vm.createVCPUDescriptor(id: id)
        let size: Int
        do { size = try vm.kvm.vcpuMapSize() } catch {
            close(fd)
            throw error
        }
        let page = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let page, page != MAP_FAILED else {
            close(fd)
            throw .kvmCall("mmap of the vCPU run page", errno: errno)
        }
        self.fd = fd
        self.run = page.bindMemory(to: kvm_run.self, capacity: 1)
        self.runSize = size
    }

    deinit {
        munmap(run, runSize)
        close(fd)
    }

    /// Installs the vCPU's CPUID, boot MSRs, FPU control words and LAPIC LINT0/LINT1 wiring.
    public func configure(cpuid: [CPUIDEntry]) throws(VMMError) {
        var entries = cpuid.map { e -> kvm_cpuid_entry2 in
            var raw = kvm_cpuid_entry2()
            raw.function = e.function
            raw.index = e.index
            raw.flags = e.flags
            raw.eax = e.eax
            raw.ebx = e.ebx
            raw.ecx = e.ecx
            raw.edx = e.edx
            return raw
        }
        try check(entries.withUnsafeMutableBufferPointer { skiff_kvm_set_cpuid2(fd, $0.baseAddress, UInt32($0.count)) }, "KVM_SET_CPUID2")

        let msrs: [(UInt32, UInt64)] = [
            (0x174, 0), (0x175, 0), (0x176, 0),  // SYSENTER_CS/ESP/EIP
            (0xC000_0081, 0), (0xC000_0082, 0), (0xC000_0083, 0), (0xC000_0084, 0), (0xC000_0102, 0),  // STAR..KERNEL_GS_BASE
            (0x10, 0),  // TSC
            (0x1A0, 1),  // MISC_ENABLE: fast strings
            (0x2FF, (1 << 11) | 6),  // MTRR default type: enabled, write-back
        ]
        let indices = msrs.map(\.0), values = msrs.map(\.1)
        _ = skiff_kvm_set_msrs(fd, indices, values, UInt32(msrs.count))

        var fpu = kvm_fpu()
        fpu.fcw = 0x37F
        fpu.mxcsr = 0x1F80
        try check(skiff_kvm_set_fpu(fd, &fpu), "KVM_SET_FPU")

        var lapic = kvm_lapic_state()
        try check(skiff_kvm_get_lapic(fd, &lapic), "KVM_GET_LAPIC")
        withUnsafeMutableBytes(of: &lapic.regs) { regs in
            func setDeliveryMode(_ offset: Int, _ mode: UInt32) {
                let old = regs.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                regs.storeBytes(of: (old & ~0x700) | (mode << 8), toByteOffset: offset, as: UInt32.self)
            }
            setDeliveryMode(0x350, 7)  // LINT0: ExtINT (the PIC)
            setDeliveryMode(0x360, 4)  // LINT1: NMI
        }
        try check(skiff_kvm_set_lapic(fd, &lapic), "KVM_SET_LAPIC")
    }

    /// Puts the boot vCPU at the kernel's entry point in the mode its boot protocol requires.
    public func setEntryState(_ state: CPUEntryState) throws(VMMError) {
        var sregs = kvm_sregs()
        try check(skiff_kvm_get_sregs(fd, &sregs), "KVM_GET_SREGS")
        let code = Self.kvmSegment(state.gdt.code)
        let data = Self.kvmSegment(state.gdt.data)
        sregs.cs = code
        sregs.ds = data
        sregs.es = data
        sregs.fs = data
        sregs.gs = data
        sregs.ss = data
        sregs.tr = Self.kvmSegment(state.gdt.tss)
        sregs.gdt.base = state.gdtBase
        sregs.gdt.limit = UInt16(state.gdt.bytes.count - 1)
        sregs.idt.base = state.idtBase
        sregs.idt.limit = 7
        sregs.cr0 = state.cr0
        sregs.cr3 = state.cr3
        sregs.cr4 = state.cr4
        sregs.efer = state.efer
        try check(skiff_kvm_set_sregs(fd, &sregs), "KVM_SET_SREGS")
        var regs = kvm_regs()
        regs.rip = state.rip
        regs.rsp = state.rsp
        regs.rbp = state.rsp
        regs.rsi = state.rsi
        regs.rbx = state.rbx
        regs.rflags = state.rflags
        try check(skiff_kvm_set_regs(fd, &regs), "KVM_SET_REGS")
    }

    static func kvmSegment(_ s: Segment) -> kvm_segment {
        var k = kvm_segment()
        k.base = UInt64(s.base)
        k.limit = s.byteLimit
        k.selector = s.selector
        k.type = s.type
        k.present = s.present ? 1 : 0
        k.dpl = s.dpl
        k.db = s.defaultBig ? 1 : 0
        k.s = s.isSystem ? 0 : 1
        k.l = s.long ? 1 : 0
        k.g = s.granularity ? 1 : 0
        return k
    }

    /// The general registers, for diagnostics after a fault.
    public func registers() -> kvm_regs? {
        var regs = kvm_regs()
        return skiff_kvm_get_regs(fd, &regs) == 0 ? regs : nil
    }

    /// Runs the guest until it stops or `control` asks every vCPU to stop.
    public func runLoop(bus: DeviceBus, control: MachineControl) -> VCPUExit {
        thread.withLock { $0 = pthread_self() }
        VCPUSignal.install()
        VCPUSignal.unblockForThisThread()
        while true {
            if control.stopRequested { return .stopped }
            let rc = skiff_kvm_run(fd)
            if rc < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN {
                    skiff_kvm_run_set_immediate_exit(run, 0)
                    continue
                }
                return .hostError(errno: e)
            }
            switch skiff_kvm_run_exit_reason(run) {
            case UInt32(SKIFF_KVM_EXIT_IO.rawValue):
                let io = skiff_kvm_run_io(run)
                let size = Int(io.size)
                guard size == 1 || size == 2 || size == 4, io.count <= 4096 else { continue }
                for i in 0..<Int(io.count) {
                    let data = UnsafeMutableRawBufferPointer(start: io.data + i * size, count: size)
                    if io.is_write != 0 {
                        bus.pio.write(UInt64(io.port), UnsafeRawBufferPointer(data))
                    } else {
                        bus.pio.read(UInt64(io.port), data)
                    }
                }
            case UInt32(SKIFF_KVM_EXIT_MMIO.rawValue):
                let mmio = skiff_kvm_run_mmio(run)
                let data = UnsafeMutableRawBufferPointer(start: mmio.data, count: Int(mmio.len))
                if mmio.is_write != 0 {
                    bus.mmio.write(mmio.address, UnsafeRawBufferPointer(data))
                } else {
                    bus.mmio.read(mmio.address, data)
                }
            case UInt32(SKIFF_KVM_EXIT_HLT.rawValue):
                // Without an in-kernel irqchip a halted guest would spin; ours has one, so HLT here means stop.
                return .guestRequestedStop
            case UInt32(SKIFF_KVM_EXIT_SHUTDOWN.rawValue):
                return .tripleFault
            case UInt32(SKIFF_KVM_EXIT_SYSTEM_EVENT.rawValue):
                return .guestRequestedStop
            case UInt32(SKIFF_KVM_EXIT_INTERNAL_ERROR.rawValue):
                return .internalError(suberror: skiff_kvm_run_internal_suberror(run))
            case UInt32(SKIFF_KVM_EXIT_FAIL_ENTRY.rawValue):
                return .failedEntry(reason: skiff_kvm_run_fail_entry_reason(run))
            case UInt32(SKIFF_KVM_EXIT_INTR.rawValue):
                continue
            case skiff_kvm_exit_ioapic_eoi():
                // Split irqchip: an EOI for a level-triggered vector. The monitor's IOAPIC keeps no
                // remote IRR (its lines are edges), so there is nothing to clear.
                continue
            case let other:
                return .unexpectedExit(reason: other)
            }
        }
    }

    /// Kicks the vCPU out of KVM_RUN so it sees the stop request.
    public func kick() {
        skiff_kvm_run_set_immediate_exit(run, 1)
        if let thread = thread.withLock({ $0 }) { pthread_kill(thread, VCPUSignal.number) }
    }
}

/// The signal used to interrupt KVM_RUN; its handler does nothing, the EINTR is the point.
enum VCPUSignal {
    static let number = __libc_current_sigrtmin() + 3
    static let installed = Mutex(false)

    /// The thread may have inherited a mask that blocks the signal (test runners, GUI hosts);
    /// a blocked signal would never interrupt KVM_RUN.
    static func unblockForThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, number)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static func install() {
        installed.withLock { done in
            if done { return }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, nil)
            done = true
        }
    }
}

/// One CPUID leaf as KVM reports and accepts it (kvm_cpuid_entry2 without the padding).
public struct CPUIDEntry: Equatable, Sendable {
    public var function: UInt32
    public var index: UInt32
    public var flags: UInt32
    public var eax: UInt32
    public var ebx: UInt32
    public var ecx: UInt32
    public var edx: UInt32

    public init(function: UInt32, index: UInt32 = 0, flags: UInt32 = 0, eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0)
    {
        self.function = function
        self.index = index
        self.flags = flags
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
    }
}

/// Turns the host's KVM_GET_SUPPORTED_CPUID into what one vCPU of an N-CPU micro-VM should see:
/// its own APIC id and the CPU count, the hypervisor bit, and no features the monitor does not
/// emulate (MONITOR/MWAIT, the performance-monitoring unit), and the TSC-deadline timer when KVM
/// has it (KVM_CAP_TSC_DEADLINE_TIMER; KVM_GET_SUPPORTED_CPUID never lists it).
public enum CPUIDPolicy {
    public static let leafFeatures: UInt32 = 1
    public static let leafCacheTopology: UInt32 = 4
    public static let leafThermal: UInt32 = 6
    public static let leafPerformanceMonitoring: UInt32 = 0xA
    public static let leafExtendedTopology: UInt32 = 0xB
    public static let ecxMonitor: UInt32 = 1 << 3
    public static let ecxTSCDeadline: UInt32 = 1 << 24
    public static let ecxHypervisor: UInt32 = 1 << 31
    public static let edxHyperThreading: UInt32 = 1 << 28

    public static func adjust(_ supported: [CPUIDEntry], cpuIndex: Int, cpuCount: Int, tscDeadline: Bool = false) -> [CPUIDEntry] {
        let apicID = UInt32(cpuIndex)
        let count = UInt32(max(1, cpuCount))
        return supported.map { original in
            var entry = original
            switch entry.function {
            case leafFeatures:
                entry.ebx = (entry.ebx & 0x0000_FFFF) | (apicID << 24) | ((count & 0xFF) << 16)
                entry.ecx = (entry.ecx | ecxHypervisor) & ~ecxMonitor
                if tscDeadline { entry.ecx |= ecxTSCDeadline }
                if count > 1 { entry.edx |= edxHyperThreading } else { entry.edx &= ~edxHyperThreading }
            case leafCacheTopology:
                // Cores per package - 1 in EAX[31:26]; threads sharing the cache left as reported.
                entry.eax = (entry.eax & 0x03FF_FFFF) | (((count - 1) & 0x3F) << 26)
            case leafThermal:
                entry.ecx &= ~UInt32(1 << 3)  // no energy-performance bias MSR
            case leafPerformanceMonitoring:
                entry.eax = 0
                entry.ebx = 0
                entry.ecx = 0
                entry.edx = 0
            case leafExtendedTopology:
                entry.edx = apicID
                switch entry.index {
                case 0:  // SMT level: one thread per core
                    entry.eax = 0
                    entry.ebx = 1
                    entry.ecx = (1 << 8) | 0
                case 1:  // core level: all vCPUs in one package
                    entry.eax = UInt32(bitWidth(count))
                    entry.ebx = count
                    entry.ecx = (2 << 8) | 1
                default:
                    entry.eax = 0
                    entry.ebx = 0
                    entry.ecx = entry.index
                }
            default:
                break
            }
            return entry
        }
    }

    /// Bits needed to number `count` APIC ids (the shift for the next topology level).
    static func bitWidth(_ count: UInt32) -> Int {
        var width = 0
        while (UInt32(1) << width) < count { width += 1 }
        return width
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim

/// The open /dev/kvm: checks the API version and the capabilities the monitor relies on, and
/// answers system-wide questions (supported CPUID, vCPU run-page size).
public final class KVMSystem: Sendable {
    public static let defaultPath = "/dev/kvm"
    let fd: Int32

    public init(path: String = KVMSystem.defaultPath) throws(VMMError) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .kvmUnavailable(path: path, errno: errno) }
        self.fd = fd
        let version = skiff_kvm_get_api_version(fd)
        guard version == 12 else {
            close(fd)
            throw .kvmAPIMismatch(version: version)
        }
        for (cap, name) in [
            (SKIFF_KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"), (SKIFF_KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"),
            (SKIFF_KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"), (SKIFF_KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"),
        ] {
            guard skiff_kvm_check_extension(fd, Int(cap.rawValue)) > 0 else {
                close(fd)
                throw .kvmCapabilityMissing(name)
            }
        }
    }

    deinit { close(fd) }

    public func has(_ cap: skiff_kvm_cap) -> Bool { skiff_kvm_check_extension(fd, Int(cap.rawValue)) > 0 }
    /// For capabilities whose numbers come from kvm_split_shim.h.
    public func has(capability: Int) -> Bool { skiff_kvm_check_extension(fd, capability) > 0 }

    /// The most vCPUs KVM recommends for one VM.
    public var recommendedCPUs: Int { Int(max(1, skiff_kvm_check_extension(fd, Int(SKIFF_KVM_CAP_NR_VCPUS.rawValue)))) }
    public var maximumCPUs: Int { Int(max(1, skiff_kvm_check_extension(fd, Int(SKIFF_KVM_CAP_MAX_VCPUS.rawValue)))) }

    public func vcpuMapSize() throws(VMMError) -> Int {
        let size = skiff_kvm_get_vcpu_mmap_size(fd)
        guard size > 0 else { throw .kvmCall("KVM_GET_VCPU_MMAP_SIZE", errno: errno) }
        return Int(size)
    }

    public func supportedCPUID() throws(VMMError) -> [CPUIDEntry] {
        var capacity: UInt32 = 256
        var raw = [kvm_cpuid_entry2](repeating: kvm_cpuid_entry2(), count: Int(capacity))
        let rc = raw.withUnsafeMutableBufferPointer { skiff_kvm_get_supported_cpuid(fd, $0.baseAddress, &capacity) }
        guard rc == 0 else { throw .kvmCall("KVM_GET_SUPPORTED_CPUID", errno: errno) }
        return raw.prefix(Int(capacity)).map {
            CPUIDEntry(function: $0.function, index: $0.index, flags: $0.flags, eax: $0.eax, ebx: $0.ebx, ecx: $0.ecx, edx: $0.edx)
        }
    }
}

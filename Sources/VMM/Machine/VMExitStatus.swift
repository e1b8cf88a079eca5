/// How a micro-VM ended, with the exit code `skiff vm run` returns and a message for the user.
public enum VMExitStatus: Equatable, Sendable, CustomStringConvertible {
    /// The guest pulled the i8042 reset line or KVM reported a shutdown/reset system event
    /// (reboot, or power-off in our test guests): a clean end.
    case guestStopped
    case tripleFault(rip: UInt64?)
    case kvmInternalError(suberror: UInt32)
    case entryFailed(reason: UInt64)
    /// Stopped by SIGINT/SIGTERM or the caller.
    case stoppedByHost
    case hostFailure(String)

    public var exitCode: Int32 {
        switch self {
        case .guestStopped: return 0
        case .hostFailure: return 1
        case .tripleFault: return 3
        case .kvmInternalError: return 4
        case .entryFailed: return 5
        case .stoppedByHost: return 130
        }
    }

    public var description: String {
        switch self {
        case .guestStopped: return "the guest shut down (reset line or power-off); the VM stopped cleanly"
        case .tripleFault(let rip):
            return
                "the guest triple-faulted\(rip.map { " at rip 0x\(String($0, radix: 16))" } ?? ""): the kernel crashed before it could report why; check --kernel and --cmdline"
        case .kvmInternalError(let sub):
            return "KVM could not emulate a guest instruction (internal error, suberror \(sub)); the guest was stopped"
        case .entryFailed(let reason): return "KVM refused to enter the guest (hardware entry failure 0x\(String(reason, radix: 16)))"
        case .stoppedByHost: return "the VM was stopped by a signal"
        case .hostFailure(let why): return "the monitor failed: \(why)"
        }
    }
}

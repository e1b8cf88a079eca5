/// Why a container's micro-VM did not run it. The text says what to look at; the console's last
/// lines come with it when the guest got that far.
enum MicroVMError: Error, CustomStringConvertible {
    /// The guest never greeted, broke the protocol, or failed a request outside the container's
    /// own program (`detail` holds the last console lines and QEMU's own messages).
    case agentFailed(String, detail: String)

    var description: String {
        switch self {
        case .agentFailed(let what, let detail):
            return "the micro-VM did not start the container: \(what)\(detail)"
        }
    }
}

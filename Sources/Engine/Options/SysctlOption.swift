/// `--sysctl KEY=VALUE`: only kernel parameters that belong to the container's own namespaces,
/// as docker allows (IPC: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*; network: net.*,
/// not with --network host). Others would change the host for everyone and are refused.
enum SysctlOption {
    static func parse(_ values: [String], hostNetwork: Bool) throws -> [String: String]? {
        guard !values.isEmpty else { return nil }
        var result: [String: String] = [:]
        for text in values {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw EngineError.invalidOption("invalid --sysctl '\(text)': give KEY=VALUE, e.g. net.ipv4.ip_forward=1")
            }
            let key = String(text[..<equals]).replacingSlashes()
            let value = String(text[text.index(after: equals)...])
            let ipc =
                [
                    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                    "kernel.shmmni", "kernel.shm_rmid_forced",
                ].contains(key) || key.hasPrefix("fs.mqueue.")
            let network = key.hasPrefix("net.")
            guard ipc || network else {
                throw EngineError.invalidOption(
                    "--sysctl \(key) is not namespaced: it would change the host, so it is refused (as docker does)")
            }
            if network && hostNetwork {
                throw EngineError.invalidOption("--sysctl \(key) cannot be set with --network host: it would change the host's network")
            }
            result[key] = value
        }
        return result
    }
}

extension String {
    /// sysctl accepts net/ipv4/ip_forward for net.ipv4.ip_forward.
    func replacingSlashes() -> String { String(map { $0 == "/" ? "." : $0 }) }
}

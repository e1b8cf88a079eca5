extension Engine {
    /// `--link NAME[:ALIAS]`: docker's legacy links, which today amount to hosts entries for the
    /// linked container's address under its name and the alias. The container must be running
    /// on a bridge network (docker: "Cannot link to a non running container").
    func linkHosts(_ link: String) throws -> [String] {
        let parts = link.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, !name.isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw EngineError.invalidOption("invalid --link '\(link)': use NAME[:ALIAS]")
        }
        let target = try store.resolve(name)
        guard liveStatus(target).isRunning, let address = target.networkSettings?.ipAddress else {
            throw EngineError.invalidOption("cannot link to \(target.name): it is not running on a bridge network")
        }
        let names = [target.name] + (parts.count > 1 && parts[1] != target.name ? [parts[1]] : [])
        return names.map { "\($0):\(address)" }
    }
}

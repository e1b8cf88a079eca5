/// `run` and `create` capture IMAGE and everything after it verbatim (the command's own options
/// belong to it), which would swallow `--help` given before the image: it is help when it comes
/// first, where no image name can start with a dash.
enum PassthroughHelp {
    static func requested(_ captured: [String]) -> Bool {
        guard let first = captured.first else { return false }
        return first == "--help" || first == "-h"
    }
}

/// `--label key=value` (a key alone gets an empty value, as in docker).
enum LabelInput {
    static func parse(_ entries: [String]) throws -> [String: String] {
        var labels: [String: String] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            labels[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return labels
    }
}

import OCISpec

/// Checks a resolved profile's actions and operators when the container is created, so a typo in
/// a `seccomp=FILE` profile is reported by `create`/`run` (exit 125) instead of at start.
enum SeccompCheck {
    static let actions: Set<String> = [
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_LOG", "SCMP_ACT_ALLOW",
    ]
    static let operators: Set<String> = [
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
        "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
    ]

    static func validate(_ profile: Seccomp) throws {
        guard actions.contains(profile.defaultAction) else {
            throw EngineError.invalidOption("unknown defaultAction '\(profile.defaultAction)'")
        }
        for rule in profile.syscalls ?? [] {
            guard actions.contains(rule.action) else {
                throw EngineError.invalidOption("unknown action '\(rule.action)' for \(rule.names.joined(separator: ","))")
            }
            for arg in rule.args ?? [] {
                guard operators.contains(arg.op) else { throw EngineError.invalidOption("unknown operator '\(arg.op)'") }
                guard arg.index < 6 else { throw EngineError.invalidOption("argument index \(arg.index) is out of range 0-5") }
            }
        }
    }
}

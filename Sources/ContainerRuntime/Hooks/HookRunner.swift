import LinuxSupport
import OCISpec

/// Runs OCI hooks: each gets the container state as JSON on stdin; a non-zero exit or a timeout
/// fails the hook (and, for all but poststart/poststop, the operation).
enum HookRunner {
    static func run(_ hooks: [Hook]?, kind: String, state: State) throws {
        guard let hooks, !hooks.isEmpty else { return }
        let input = (try? RuntimeJSON.encode(state)) ?? []
        for hook in hooks {
            try run(hook, kind: kind, input: input)
        }
    }

    /// poststart and poststop: a failing hook is a warning, and the hooks after it still run (the
    /// spec: "the remaining hooks and lifecycle continue as if the hook had succeeded").
    static func runWarning(_ hooks: [Hook]?, kind: String, state: State) {
        guard let hooks, !hooks.isEmpty else { return }
        let input = (try? RuntimeJSON.encode(state)) ?? []
        for hook in hooks {
            do {
                try run(hook, kind: kind, input: input)
            } catch {
                RuntimeWarnings.emit("\(error)")
            }
        }
    }

    private static func run(_ hook: Hook, kind: String, input: [UInt8]) throws {
        let args = hook.args ?? [hook.path]
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(
                path: hook.path, args: args.isEmpty ? [hook.path] : args, env: hook.env ?? [],
                stdin: input, timeout: hook.timeout.map { Double($0) })
        } catch {
            throw RuntimeError.hookFailed(kind: kind, path: hook.path, reason: "\(error)")
        }
        if result.timedOut {
            throw RuntimeError.hookFailed(kind: kind, path: hook.path, reason: "timed out after \(hook.timeout ?? 0)s")
        }
        if result.exitCode != 0 {
            throw RuntimeError.hookFailed(kind: kind, path: hook.path, reason: "exit status \(result.exitCode)")
        }
    }
}

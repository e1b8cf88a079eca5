#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime
import LinuxSupport

/// `spec`: write a default config.json.
enum SpecCommand {
    static let spec = CommandSpec(
        name: "spec", summary: "Write a default config.json into the bundle.", usage: "",
        flags: [
            .value("--bundle", "-b", placeholder: "DIR", help: "Bundle directory to write config.json into."),
            .bool("--rootless", help: "A config for running without root: user namespace, no cgroup limits."),
        ]
    ) { context in
        let bundle = context.arguments.string("bundle") ?? "."
        let path = (bundle.hasSuffix("/") ? bundle : bundle + "/") + "config.json"
        if FileIO.exists(path) {
            throw RuntimeError.invalidBundle(path: bundle, reason: "config.json already exists: remove it first")
        }
        let spec = DefaultSpec.make(rootless: context.arguments.flag("rootless"), uid: getuid(), gid: getgid())
        try FileIO.write(path, try RuntimeJSON.encode(spec, pretty: true, sortedKeys: true) + [10])
        return 0
    }
}

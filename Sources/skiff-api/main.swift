#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import DockerAPI
import Engine
import OCISpec
import Registry

// `skiff-api`: the process `skiff system service` becomes (execve). The Docker API server and
// SwiftNIO live in this executable and not in `skiff`, whose every command would otherwise pay
// about 1 ms more at start (a 60% larger binary: more pages and more Swift metadata to scan).
// `skiff system service` checks the options and its help; this parses what it was given.

func fail(_ message: String, code: Int32 = 125) -> Never {
    let text = "skiff: error: \(message)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(code)
}

var values: [String: String] = [:]
var insecure: [String] = []
var arguments = CommandLine.arguments.dropFirst()
let known: Set = [
    "--engine-version", "--skiff", "--root", "--runtime-root", "--host", "--time", "--default-registry", "--insecure", "--authfile",
    "--cert-dir",
]
while let name = arguments.popFirst() {
    guard known.contains(name), let value = arguments.popFirst() else {
        fail("skiff-api is started by `skiff system service`; unknown or incomplete argument '\(name)'", code: 2)
    }
    if name == "--insecure" { insecure.append(value) } else { values[name] = value }
}
guard let skiff = values["--skiff"], let root = values["--root"], let runtimeRoot = values["--runtime-root"],
    let host = values["--host"], let time = values["--time"].flatMap(Double.init)
else {
    fail("skiff-api needs --skiff, --root, --runtime-root, --host and --time: start it with `skiff system service`", code: 2)
}

do {
    let address = try ServiceAddress(parsing: host)
    var registry = RegistryOptions()
    registry.insecureRegistries = Set(insecure)
    if let authfile = values["--authfile"] { registry.credentials = CredentialStore(skiffFile: authfile) }
    if let certDir = values["--cert-dir"] { registry.trust.directories = [certDir] }
    // Monitors and `skiff exec` children are the `skiff` binary, as when the CLI starts them.
    let engine = try Engine(root: root, runtimeRoot: runtimeRoot, executable: skiff)
    // `docker cp` of a stopped micro-VM container asks two or three times (the path stat, then
    // the copy): its files-only VM waits a few seconds for the next request instead of booting again.
    // SKIFF_FILES_BOOT_LINGER (seconds) sets another wait, as the tests do.
    let linger = getenv("SKIFF_FILES_BOOT_LINGER").flatMap { Double(String(cString: $0)) } ?? 3
    Engine.lingerFilesOnlyBoots(seconds: linger)
    let service = DockerService(
        engine: engine, engineVersion: values["--engine-version"] ?? "0.1.0-dev",
        defaultRegistry: values["--default-registry"] ?? ImageReference.dockerHub, registryOptions: registry)
    signal(SIGPIPE, SIG_IGN)
    // execve keeps the signal mask and ignored signals of `skiff` (whose async main blocks and
    // ignores some): SIGTERM, SIGINT and SIGHUP must end the service. They stay blocked in every
    // thread (NIO's start after this) and one thread takes them with sigwait, to stop cleanly.
    for number in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { signal(number, SIG_DFL) }
    var stopping = sigset_t()
    sigemptyset(&stopping)
    for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&stopping, number) }
    pthread_sigmask(SIG_SETMASK, &stopping, nil)
    let server = APIServer(service: service)
    let stopSignals = stopping
    DispatchQueue.global().async {
        var set = stopSignals
        var received: Int32 = 0
        sigwait(&set, &received)
        server.stop()
    }
    let note = "skiff: serving the Docker Engine API \(APIVersion.current) on \(address)" + (time > 0 ? " until \(time)s idle\n" : "\n")
    _ = note.withCString { write(2, $0, strlen($0)) }
    try server.serve(at: address, idleSeconds: time)
} catch {
    fail("\(error)")
}

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime

// skiff's guest agent: PID 1 of a micro-VM that runs one container (`skiff run --vm`). The
// runtime's init stage is this binary re-executed inside the container, as with skiff-runtime:
// dispatch to it before anything else runs.
if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "init",
    let fdText = getenv("_SKIFF_INIT_FD"), let fd = Int32(String(cString: fdText))
{
    ContainerInit.main(socket: fd)
}

guard getpid() == 1 else {
    FileHandleOutput.standardError("skiff-agent: the agent runs as PID 1 of a skiff micro-VM (skiff run --vm); it does nothing elsewhere\n")
    exit(2)
}
signal(SIGPIPE, SIG_IGN)
Agent.main()

#if canImport(Glibc)
import Glibc
#endif
import ContainerRuntime

RuntimeTrace.mark("process start")
// The init stage is this binary re-executed inside the container: dispatch to it before
// anything else runs, so no argument parsing or other start-up cost is paid there.
if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "init",
    let fdText = getenv("_SKIFF_INIT_FD"), let fd = Int32(String(cString: fdText))
{
    ContainerInit.main(socket: fd)
}

// A caller that ignores SIGCHLD would make the kernel reap our children behind our back, and
// waitpid would then block until every child, the container included, has exited.
signal(SIGCHLD, SIG_DFL)
// A peer that went away (init failing, a closed console) is an error to report, not a reason to die.
signal(SIGPIPE, SIG_IGN)

exit(SkiffRuntimeCLI.run(Array(CommandLine.arguments.dropFirst())))

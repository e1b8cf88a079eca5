import ArgumentParser
import Engine
import LinuxSupport

/// `skiff vm kernel`: skiff's default guest kernel, which `run --vm` builds on first use.
struct VMKernel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Build or show skiff's default guest kernel (what run --vm boots without --kernel).",
        subcommands: [VMKernelBuild.self, VMKernelShow.self, VMKernelConfig.self]
    )
}

struct VMKernelBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the guest kernel from Debian's linux-source-6.1 unless it is cached, and make it the default.",
        discussion: """
            About 11 minutes on 2 cores; the kernel is cached in $SKIFF_STORE/kernels (default \
            /var/lib/skiff/kernels) by the hash of skiff's configuration and the source's version. \
            Needs linux-source-6.1, build-essential, bc, bison, flex, libelf-dev and libssl-dev.
            """
    )

    func run() throws {
        print(try GuestKernel().build())
    }
}

struct VMKernelShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print the default guest kernel's path, or fail when it is not built yet.")

    func run() throws {
        let kernel = GuestKernel()
        guard FileIO.exists(kernel.defaultPath) else {
            printError("skiff: no guest kernel at \(kernel.defaultPath) yet: the first run --vm builds it, or skiff vm kernel build")
            throw ExitCode(1)
        }
        print(kernel.defaultPath)
    }
}

struct VMKernelConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Print the kernel configuration fragment skiff builds its guest kernel with.")

    func run() throws {
        print(GuestKernel.configFragment, terminator: "")
    }
}

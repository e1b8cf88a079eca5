import ArgumentParser
import LinuxSupport
import VMM

/// `skiff vm initramfs`: writes a busybox-based initramfs for `skiff vm run --initrd`, so a user
/// can boot a kernel without building a root filesystem by hand.
struct VMInitramfs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "initramfs",
        abstract: "Write a busybox initramfs (cpio newc) with an /init for micro-VMs.",
        discussion:
            "The default /init mounts /proc, /sys and /dev, prints \(Initramfs.readyMarker), runs a shell on the console (or the command given as skiff.run=cmd,arg,... on the kernel command line) and reboots, which ends the VM."
    )

    @Option(name: .shortAndLong, help: "Where to write the archive.")
    var output: String

    @Option(help: "A statically linked busybox (Debian: busybox-static).")
    var busybox: String = "/bin/busybox"

    @Option(help: "A script to use as /init instead of the default.")
    var initScript: String?

    func run() throws {
        let busyboxBytes: [UInt8]
        do { busyboxBytes = try FileIO.read(busybox) } catch {
            throw ValidationError("cannot read busybox at \(busybox): \(error); install busybox-static or pass --busybox")
        }
        var script = Initramfs.defaultInit
        if let initScript {
            do { script = try FileIO.readString(initScript) } catch {
                throw ValidationError("cannot read --init-script \(initScript): \(error)")
            }
        }
        try FileIO.write(output, Initramfs.archive(Initramfs.busyboxEntries(busybox: busyboxBytes, initScript: script)))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import ImageStore
import LinuxSupport

/// What a container's micro-VM boots, for its runs and for the files-only boots of `cp`: the
/// backend, the guest kernel and agent initramfs, the image's layer disks and the container's
/// scratch disk.
struct MicroVMBootPlan {
    var backend: any MicroVMBackend
    var kernel: String
    var initrd: String
    var layers: [String]
    var scratch: String
    /// Seconds from launch to the agent's hello (`VMContainerRun.bootTimeout`).
    var bootTimeout: Double

    /// `needsShares`: the container has volumes or directory binds for the guest (the backend
    /// must serve 9p; a files-only boot serves none).
    static func make(engine: Engine, record: EngineContainer, settings: MicroVMSettings, needsShares: Bool) throws -> MicroVMBootPlan {
        let directory = engine.store.directory(for: record.id)
        let backend = try MicroVMBackends.select(settings.backend, needsShares: needsShares, executable: engine.executable)
        let config = try EngineConfig.load(root: engine.store.root)
        return MicroVMBootPlan(
            backend: backend,
            kernel: try GuestArtifacts.kernel(settings.kernel, config: config, root: engine.store.root),
            initrd: try GuestArtifacts.initrd(
                GuestArtifacts.initrdOverride(settings.initrd, config: config), root: engine.store.root, executable: engine.executable),
            layers: try engine.images.guestDisks(containerID: record.id),
            scratch: try GuestArtifacts.scratchDisk(containerDirectory: directory, root: engine.store.root),
            bootTimeout: VMContainerRun.bootTimeout(configured: config.vm?.bootTimeout))
    }

    /// The disks as the backend attaches them: the layers read-only, lowest first, then the scratch disk.
    var disks: [(path: String, serial: String, readOnly: Bool)] {
        layers.enumerated().map { (path: $0.element, serial: "layer\($0.offset)", readOnly: true) }
            + [(path: scratch, serial: "scratch", readOnly: false)]
    }

    /// Boots these disks, kernel and initramfs with the rest of `launch` (its agent socket is
    /// made here); returns the VM and the host's end of the agent's stream.
    func boot(_ launch: MicroVMLaunch) throws -> (vm: any RunningMicroVM, agent: Int32) {
        var launch = launch
        launch.kernel = kernel
        launch.initrd = initrd
        launch.disks = disks
        let (ours, theirs) = try Descriptors.socketPair()
        launch.agentSocket = theirs
        // The backend's child has its copy of `theirs`.
        defer { close(theirs) }
        do {
            return (try backend.launch(launch), ours)
        } catch {
            close(ours)
            throw error
        }
    }

    /// The same disks as the agent finds them.
    var guestRootfs: GuestRootfs {
        GuestRootfs(
            layers: layers.indices.map { GuestDisk(serial: "layer\($0)", filesystem: "erofs") },
            scratch: GuestDisk(serial: "scratch", filesystem: "ext4"))
    }
}

/// One VM at a time on a container's disks: its run and the files-only boots of `cp` both write
/// the scratch disk, and two guest kernels writing one ext4 would wreck it. Whoever boots a VM on
/// them holds an exclusive `flock` on `<container>/vm.lock` until that VM is gone (the VM's
/// process inherits the lock, so it outlasts a killed parent as long as the VM does).
enum MicroVMDiskLock {
    static func path(containerDirectory: String) -> String { containerDirectory + "/vm.lock" }

    /// The lock, or nil when another holds it.
    static func tryAcquire(containerDirectory: String) throws -> FileLock? {
        try FileLock.tryLock(path: path(containerDirectory: containerDirectory), exclusive: true)
    }

    /// The lock, waiting up to `seconds` for another holder to finish; the error says who may hold it.
    static func acquire(containerDirectory: String, container: String, seconds: Double) throws -> FileLock {
        let deadline = MonotonicClock.seconds() + seconds
        while true {
            if let lock = try tryAcquire(containerDirectory: containerDirectory) { return lock }
            guard MonotonicClock.seconds() < deadline else {
                throw EngineError.startFailed(
                    "the disks of container \(container) stayed in use for \(Int(seconds)) s (a `skiff cp` of the stopped container "
                        + "boots a VM on them, or its last VM is still shutting down): try again once that copy has ended")
            }
            usleep(50_000)
        }
    }
}

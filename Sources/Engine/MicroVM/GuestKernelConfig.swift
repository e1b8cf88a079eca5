/// skiff's default guest kernel's configuration: a fragment applied on top of `make allnoconfig`
/// of Debian's linux-source-6.1 (`GuestKernel`). It lives in the binary so that an installed skiff
/// (no source tree) can build its guest on first use; `skiff vm kernel config` prints it.
enum GuestKernelConfig {
    static let fragment = """
        # skiff's default guest kernel: a config fragment applied on top of `make allnoconfig`, in the
        # spirit of Firecracker's guest configs. Everything built in (no modules), no PCI, no ACPI:
        # devices are virtio-mmio announced on the command line by `skiff vm run`.
        CONFIG_64BIT=y
        CONFIG_SMP=y
        CONFIG_NR_CPUS=64
        CONFIG_X86_MPPARSE=y
        CONFIG_X86_LOCAL_APIC=y
        CONFIG_X86_IO_APIC=y
        CONFIG_HYPERVISOR_GUEST=y
        CONFIG_PARAVIRT=y
        CONFIG_KVM_GUEST=y
        CONFIG_PVH=y
        CONFIG_HIGH_RES_TIMERS=y
        CONFIG_NO_HZ_IDLE=y
        CONFIG_PRINTK=y
        CONFIG_BUG=y
        CONFIG_MULTIUSER=y
        CONFIG_POSIX_TIMERS=y
        CONFIG_FUTEX=y
        CONFIG_EPOLL=y
        CONFIG_SIGNALFD=y
        CONFIG_TIMERFD=y
        CONFIG_EVENTFD=y
        CONFIG_SHMEM=y
        CONFIG_AIO=y
        CONFIG_FILE_LOCKING=y
        CONFIG_BINFMT_ELF=y
        CONFIG_BINFMT_SCRIPT=y
        CONFIG_BLK_DEV_INITRD=y
        CONFIG_RD_GZIP=y
        # CONFIG_MODULES is not set
        # CONFIG_PCI is not set
        # CONFIG_ACPI is not set
        # Console: 8250 UART at 0x3f8, and the i8042 for reboot=k
        CONFIG_TTY=y
        CONFIG_UNIX98_PTYS=y
        CONFIG_SERIAL_8250=y
        CONFIG_SERIAL_8250_CONSOLE=y
        CONFIG_SERIO=y
        CONFIG_SERIO_I8042=y
        # virtio-mmio devices from the command line
        CONFIG_VIRTIO_MENU=y
        CONFIG_VIRTIO=y
        CONFIG_VIRTIO_MMIO=y
        CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y
        CONFIG_BLOCK=y
        CONFIG_BLK_DEV=y
        CONFIG_VIRTIO_BLK=y
        CONFIG_NET=y
        CONFIG_INET=y
        CONFIG_IPV6=y
        CONFIG_PACKET=y
        CONFIG_UNIX=y
        CONFIG_NETDEVICES=y
        CONFIG_NET_CORE=y
        CONFIG_VIRTIO_NET=y
        CONFIG_VSOCKETS=y
        CONFIG_VIRTIO_VSOCKETS=y
        # Filesystems: ext4 root disks, overlayfs for container layers, the kernel's own
        CONFIG_EXT4_FS=y
        CONFIG_OVERLAY_FS=y
        CONFIG_PROC_FS=y
        CONFIG_SYSFS=y
        CONFIG_TMPFS=y
        CONFIG_DEVTMPFS=y
        CONFIG_DEVTMPFS_MOUNT=y
        # Containers inside the VM (later issues)
        CONFIG_NAMESPACES=y
        CONFIG_UTS_NS=y
        CONFIG_SYSVIPC=y
        CONFIG_POSIX_MQUEUE=y
        CONFIG_IPC_NS=y
        CONFIG_PID_NS=y
        CONFIG_NET_NS=y
        CONFIG_USER_NS=y
        CONFIG_CGROUPS=y
        CONFIG_MEMCG=y
        CONFIG_CGROUP_PIDS=y
        CONFIG_CGROUP_SCHED=y
        CONFIG_SECCOMP=y
        # Containers in micro-VMs (skiff run --vm): the agent's transport where a backend has no vsock
        # (a virtio-console port), the image's layers as erofs disks, volumes over virtio-9p, and what
        # the runtime library applies inside the guest (sysctls, seccomp filters, cgroup2 device
        # programs, CPU quotas, time namespaces).
        CONFIG_VIRTIO_CONSOLE=y
        CONFIG_MISC_FILESYSTEMS=y
        CONFIG_EROFS_FS=y
        CONFIG_EROFS_FS_XATTR=y
        CONFIG_NETWORK_FILESYSTEMS=y
        CONFIG_NET_9P=y
        CONFIG_NET_9P_VIRTIO=y
        CONFIG_9P_FS=y
        CONFIG_SYSCTL=y
        CONFIG_PROC_SYSCTL=y
        CONFIG_SECCOMP_FILTER=y
        CONFIG_BPF_SYSCALL=y
        CONFIG_CGROUP_BPF=y
        CONFIG_CFS_BANDWIDTH=y
        CONFIG_CGROUP_FREEZER=y
        CONFIG_CPUSETS=y
        CONFIG_TIME_NS=y
        CONFIG_INOTIFY_USER=y
        CONFIG_FHANDLE=y
        CONFIG_TMPFS_XATTR=y

        """
}

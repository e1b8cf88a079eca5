import LinuxSupport
import OCISpec

/// The seccomp profile every container gets unless `--privileged` or `seccomp=unconfined`:
/// docker's policy written out as data. Everything not listed fails with EPERM; the syscalls that
/// only a holder of some capability may use (mount, ptrace, reboot, ...) are allowed only when the
/// container has that capability; `clone` may not create namespaces and `clone3` reports ENOSYS
/// (so libcs fall back to `clone`) unless the container has CAP_SYS_ADMIN.
public enum DefaultSeccompProfile {
    static let eperm: UInt32 = 1
    static let enosys: UInt32 = 38

    /// Syscalls any container may make.
    static let allowed: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod",
        "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range",
        "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
        "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
        "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
        "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
        "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
        "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
        "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
        "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
        "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
        "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
        "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
        "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl",
        "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
        "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
        "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read",
        "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
        "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
        "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
        "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
        "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
        "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
        "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl",
        "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
        "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
        "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit",
        "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
        "wait4", "waitid", "waitpid", "write", "writev",
    ]

    /// Syscalls allowed only with a capability.
    static let byCapability: [(String, [String])] = [
        (
            "CAP_SYS_ADMIN",
            [
                "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
                "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
                "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
            ]
        ),
        // open_by_handle_at reads any file of a filesystem by handle, bypassing the mount
        // namespace (the "shocker" escape): only for containers given CAP_DAC_READ_SEARCH.
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ]

    /// Every CLONE_NEW* flag but time's.
    static let namespaceCloneFlags = UInt64(
        [
            NamespaceFlags.mount, NamespaceFlags.cgroup, NamespaceFlags.uts, NamespaceFlags.ipc,
            NamespaceFlags.user, NamespaceFlags.pid, NamespaceFlags.network,
        ].reduce(0, |))

    /// The personalities docker lets any container set: PER_LINUX, UNAME26, PER_LINUX32,
    /// PER_LINUX32|UNAME26, and the query value 0xffffffff.
    static let personalities: [UInt64] = [0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff]

    public static let profile: SeccompProfile = {
        var rules: [SeccompProfile.Rule] = [.init(names: allowed, action: "SCMP_ACT_ALLOW")]
        for value in personalities {
            rules.append(
                .init(names: ["personality"], action: "SCMP_ACT_ALLOW", args: [SeccompArg(index: 0, value: value, op: "SCMP_CMP_EQ")]))
        }
        // AF_VSOCK (40) sockets reach the host's hypervisor services: refused, every other family allowed.
        rules.append(.init(names: ["socket"], action: "SCMP_ACT_ALLOW", args: [SeccompArg(index: 0, value: 40, op: "SCMP_CMP_NE")]))
        rules.append(
            .init(
                names: ["arch_prctl", "modify_ldt"], action: "SCMP_ACT_ALLOW",
                includes: .init(arches: ["amd64", "x32", "386"])))
        rules.append(
            .init(
                names: ["sync_file_range2", "swapcontext"], action: "SCMP_ACT_ALLOW",
                includes: .init(arches: ["ppc64le"])))
        rules.append(
            .init(
                names: ["arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls"],
                action: "SCMP_ACT_ALLOW", includes: .init(arches: ["arm", "arm64"])))
        for (cap, names) in byCapability {
            rules.append(.init(names: names, action: "SCMP_ACT_ALLOW", includes: .init(caps: [cap])))
        }
        rules.append(
            .init(
                names: ["clone"], action: "SCMP_ACT_ALLOW",
                args: [SeccompArg(index: 0, value: namespaceCloneFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")],
                excludes: .init(caps: ["CAP_SYS_ADMIN"])))
        rules.append(.init(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: enosys, excludes: .init(caps: ["CAP_SYS_ADMIN"])))
        return SeccompProfile(
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: eperm,
            architectures: SeccompProfile.nativeArchitectures, syscalls: rules)
    }()
}

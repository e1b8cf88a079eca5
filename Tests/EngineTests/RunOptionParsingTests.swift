import ContainerRuntime
import Engine
import OCISpec
import Testing

/// Parsing of the run options that become mounts, limits and security settings.
@Suite struct RunOptionParsingTests {
    @Test func capabilityMath() throws {
        let all = CapabilityNames.all
        let defaults = CapabilityNames.defaults
        #expect(try CapabilityTweaks.compute(add: [], drop: [], privileged: false, all: all) == defaults)
        let added = try CapabilityTweaks.compute(add: ["net_admin", "CAP_SYS_PTRACE"], drop: ["MKNOD"], privileged: false, all: all)
        #expect(added.contains("CAP_NET_ADMIN") && added.contains("CAP_SYS_PTRACE"))
        #expect(!added.contains("CAP_MKNOD"))
        #expect(added.count == defaults.count + 1)
        // drop ALL then add: exactly the added ones.
        #expect(
            try CapabilityTweaks.compute(add: ["NET_BIND_SERVICE"], drop: ["ALL"], privileged: false, all: all) == ["CAP_NET_BIND_SERVICE"])
        #expect(try CapabilityTweaks.compute(add: [], drop: ["all"], privileged: false, all: all) == [])
        // add ALL minus drops.
        let everything = try CapabilityTweaks.compute(add: ["ALL"], drop: ["SYS_ADMIN"], privileged: false, all: all)
        #expect(everything.count == all.count - 1 && !everything.contains("CAP_SYS_ADMIN"))
        // privileged ignores the rest; "all" is what the caller may hand out.
        let limited = Array(all.prefix(10))
        #expect(try CapabilityTweaks.compute(add: [], drop: ["ALL"], privileged: true, all: limited) == limited)
        // An added capability listed twice appears once.
        #expect(try CapabilityTweaks.compute(add: ["CHOWN"], drop: [], privileged: false, all: all) == defaults)
        #expect(throws: EngineError.self) { try CapabilityTweaks.compute(add: ["NET_WIZARD"], drop: [], privileged: false, all: all) }
        #expect(throws: EngineError.self) { try CapabilityTweaks.compute(add: [], drop: ["bogus"], privileged: false, all: all) }
    }

    @Test func ulimits() throws {
        #expect(try UlimitOption.parse("nofile=1024:2048") == Rlimit(type: "RLIMIT_NOFILE", hard: 2048, soft: 1024))
        #expect(try UlimitOption.parse("nproc=64") == Rlimit(type: "RLIMIT_NPROC", hard: 64, soft: 64))
        #expect(try UlimitOption.parse("core=-1") == Rlimit(type: "RLIMIT_CORE", hard: UInt64.max, soft: UInt64.max))
        #expect(try UlimitOption.parse("CPU=5:-1") == Rlimit(type: "RLIMIT_CPU", hard: UInt64.max, soft: 5))
        // Later wins per name.
        #expect(try UlimitOption.parseAll(["nofile=10", "core=0", "nofile=20"]).map(\.soft) == [0, 20])
        for bad in ["nofile", "files=10", "nofile=abc", "nofile=10:5", "nofile=1:2:3", "nofile=-1", "nofile=", "=5"] {
            #expect(throws: EngineError.self, "\(bad)") { try UlimitOption.parse(bad) }
        }
    }

    @Test func tmpfsOptions() throws {
        let plain = try TmpfsOption.parse("/run")
        #expect(plain == Mount(destination: "/run", type: "tmpfs", source: "tmpfs", options: ["rw", "noexec", "nosuid", "nodev"]))
        let custom = try TmpfsOption.parse("/cache:exec,size=64m,mode=1777,uid=1000,ro")
        #expect(custom.options == ["nosuid", "nodev", "exec", "ro", "size=64m", "mode=1777", "uid=1000"])
        #expect(try TmpfsOption.parse("/t:size=10%,size=20k").options?.last == "size=20k")
        for bad in ["run", "/", "/x:size=big", "/x:mode=999", "/x:mode=rw", "/x:uid=me", "/x:bogus", "/x:color=red"] {
            #expect(throws: EngineError.self, "\(bad)") { try TmpfsOption.parse(bad) }
        }
    }

    @Test func volumeArguments() throws {
        #expect(try VolumeArgument(parsing: "/h:/c") == .bind(source: "/h", destination: "/c", readOnly: false))
        #expect(try VolumeArgument(parsing: "/h:/c/:ro") == .bind(source: "/h", destination: "/c", readOnly: true))
        #expect(try VolumeArgument(parsing: "data:/var/lib/x:rw") == .named(name: "data", destination: "/var/lib/x", readOnly: false))
        #expect(try VolumeArgument(parsing: "/only//path/") == .anonymous(destination: "/only/path"))
        for bad in ["rel", "data:rel", "/h:/", "a:/x", "bad name:/x", "/h:/c:rx", "/h::/c", ":/c", "-x:/c"] {
            #expect(throws: EngineError.self, "\(bad)") { try VolumeArgument(parsing: bad) }
        }
    }

    /// docker's propagation modes on a bind: kept apart from ro/rw, one at most, binds only.
    @Test func volumePropagation() throws {
        #expect(try VolumeArgument(parsing: "/h:/c:ro,rslave") == .bind(source: "/h", destination: "/c", readOnly: true))
        #expect(VolumeArgument.propagation("/h:/c:ro,rslave") == "rslave")
        #expect(VolumeArgument.propagation("/h:/c:shared") == "shared")
        #expect(VolumeArgument.propagation("/h:/c:ro") == nil)
        #expect(VolumeArgument.propagation("/h:/c") == nil)
        #expect(try VolumeArgument(parsing: "data:/c:rprivate") == .named(name: "data", destination: "/c", readOnly: false))
        for bad in ["data:/c:rslave", "/h:/c:rslave,shared", "/h:/c:sideways"] {
            #expect(throws: EngineError.self, "\(bad)") { try VolumeArgument(parsing: bad) }
        }
    }

    @Test func securityOptions() throws {
        let defaults = try SecurityOptions(parsing: [])
        #expect(!defaults.noNewPrivileges && defaults.seccomp == .builtin)
        let set = try SecurityOptions(parsing: ["no-new-privileges", "seccomp=unconfined"])
        #expect(set.noNewPrivileges && set.seccomp == .unconfined)
        #expect(try SecurityOptions(parsing: ["no-new-privileges:true", "no-new-privileges=false"]).noNewPrivileges == false)
        #expect(try SecurityOptions(parsing: ["seccomp=/etc/p.json"]).seccomp == .file("/etc/p.json"))
        for bad in [["apparmor"], ["label"], ["systempaths=confined"], ["mask=/x"], ["seccomp"], ["no-new-privileges=maybe"], ["bogus"]] {
            #expect(throws: EngineError.self, "\(bad)") { try SecurityOptions(parsing: bad) }
        }
        // AppArmor and SELinux as the host has them: applied, dropped with a warning, or refused.
        let bare = SecurityModules.Host(appArmor: false, seLinux: false)
        let withAppArmor = SecurityModules.Host(appArmor: true, seLinux: false)
        let withSELinux = SecurityModules.Host(appArmor: false, seLinux: true)
        #expect(try SecurityOptions(parsing: ["apparmor=docker-default"], host: withAppArmor).appArmorProfile == "docker-default")
        #expect(try SecurityOptions(parsing: ["apparmor=unconfined"], host: withAppArmor).appArmorProfile == nil)
        let dropped = try SecurityOptions(parsing: ["apparmor=docker-default", "label=type:x"], host: bare)
        #expect(dropped.appArmorProfile == nil && dropped.dropped.count == 2)
        #expect(try SecurityOptions(parsing: ["label=disable"], host: withSELinux).dropped.isEmpty)
        #expect(throws: EngineError.self) { try SecurityOptions(parsing: ["label=type:x"], host: withSELinux) }
        #expect(try SecurityOptions(parsing: ["systempaths=unconfined"]).systemPathsUnconfined)
    }

    @Test func cgroupStatsParsing() {
        let v1 = CgroupStatsParser.v1(
            memoryUsage: "10485760\n", memoryStat: "cache 100\ntotal_inactive_file 1048576\n",
            memoryLimit: "9223372036854771712\n", cpuacctUsage: "123456789\n", pidsCurrent: "3\n", pidsMax: "max\n")
        #expect(v1 == CgroupSample(cpuNanoseconds: 123_456_789, memoryUsage: 9_437_184, memoryLimit: nil, pids: 3, pidsLimit: nil))
        let v2 = CgroupStatsParser.v2(
            memoryCurrent: "2097152\n", memoryStat: "anon 4096\ninactive_file 1048576\n", memoryMax: "67108864\n",
            cpuStat: "usage_usec 2500\nuser_usec 2000\n", pidsCurrent: "7\n", pidsMax: "20\n")
        #expect(v2 == CgroupSample(cpuNanoseconds: 2_500_000, memoryUsage: 1_048_576, memoryLimit: 67_108_864, pids: 7, pidsLimit: 20))
        #expect(CgroupStatsParser.cpuPercent(previous: 0, current: 500_000_000, wallNanoseconds: 1_000_000_000) == 50)
        #expect(CgroupStatsParser.cpuPercent(previous: 10, current: 5, wallNanoseconds: 1) == 0)
    }

    /// The OOM killer's count from either hierarchy; failcnt and SIGKILL only where v1 lacks it.
    @Test func oomKillParsing() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"
        #expect(CgroupStatsParser.oomKilled(oomControl: v1, failcnt: "0\n", memoryEvents: nil, exitCode: 137))
        #expect(
            !CgroupStatsParser.oomKilled(
                oomControl: "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", failcnt: "12\n", memoryEvents: nil, exitCode: 137))
        let old = "oom_kill_disable 0\nunder_oom 0\n"
        #expect(CgroupStatsParser.oomKilled(oomControl: old, failcnt: "3\n", memoryEvents: nil, exitCode: 137))
        #expect(!CgroupStatsParser.oomKilled(oomControl: old, failcnt: "3\n", memoryEvents: nil, exitCode: 1))
        #expect(!CgroupStatsParser.oomKilled(oomControl: old, failcnt: "0\n", memoryEvents: nil, exitCode: 137))
        let v2 = "low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\noom_group_kill 0\n"
        #expect(CgroupStatsParser.oomKilled(oomControl: nil, failcnt: nil, memoryEvents: v2, exitCode: 137))
        #expect(!CgroupStatsParser.oomKilled(oomControl: nil, failcnt: nil, memoryEvents: "max 3\noom 0\noom_kill 0\n", exitCode: 137))
        #expect(!CgroupStatsParser.oomKilled(oomControl: nil, failcnt: nil, memoryEvents: nil, exitCode: 137))
    }

    @Test func topKeepsTheContainersRows() throws {
        let ps = """
              PID TTY          TIME CMD
                1 ?        00:00:01 init
              420 ?        00:00:00 sleep
              421 pts/0    00:00:00 sh
            """
        #expect(try Engine.filterPs(output: ps, pids: [420]) == ["  PID TTY          TIME CMD", "  420 ?        00:00:00 sleep"])
        #expect(throws: EngineError.self) { try Engine.filterPs(output: "COMMAND\nsleep\n", pids: [1]) }
    }
}

/// `--mount` as the `-v`/`--tmpfs` it stands for.
@Suite struct MountOptionTests {
    @Test func longFormBecomesShortForm() throws {
        #expect(try MountOption.parse("type=bind,source=/h,target=/c,readonly") == .volume("/h:/c:ro"))
        #expect(try MountOption.parse("type=bind,src=/h,dst=/c,ro=false") == .volume("/h:/c"))
        #expect(try MountOption.parse("source=data,target=/var/lib/data") == .volume("data:/var/lib/data"))
        #expect(try MountOption.parse("type=volume,target=/cache") == .volume("/cache"))
        #expect(
            try MountOption.parse("type=tmpfs,destination=/run,tmpfs-size=64m,tmpfs-mode=1770") == .tmpfs("/run:size=67108864,mode=1770"))
        #expect(try MountOption.parse("type=tmpfs,target=/t,readonly") == .tmpfs("/t:ro"))
        #expect(try MountOption.parse("type=bind,source=/h,target=/c,readonly,bind-propagation=rslave") == .volume("/h:/c:ro,rslave"))
        #expect(try MountOption.parse("type=bind,source=/h,target=/c,bind-propagation=shared") == .volume("/h:/c:shared"))
        for bad in [
            "type=bind,target=/c", "type=bind,source=rel,target=/c", "type=volume,source=/abs,target=/c", "source=v",
            "type=nfs,target=/c", "type=tmpfs,source=x,target=/t", "type=tmpfs,target=/t,tmpfs-size=lots",
            "type=bind,source=/h,target=/c,bind-propagation=sideways", "type=volume,source=v,target=/c,bind-propagation=rslave",
            "type=volume,target=/c,readonly", "color=red,target=/c",
            "type=bind,source=/h,target=/c,tmpfs-size=1k",
        ] {
            #expect(throws: EngineError.self, "\(bad)") { try MountOption.parse(bad) }
        }
    }
}

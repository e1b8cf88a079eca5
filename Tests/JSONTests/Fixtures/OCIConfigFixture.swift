/// A config.json as `runc spec` writes it (tab-indented), extended with the fields a real
/// engine adds: hooks, annotations, id mappings, sysctl, cgroup resources and a seccomp profile.
let ociConfigFixture = #"""
    {
    	"ociVersion": "1.0.2-dev",
    	"process": {
    		"terminal": true,
    		"user": {
    			"uid": 0,
    			"gid": 0,
    			"additionalGids": [
    				10,
    				4294967294
    			]
    		},
    		"args": [
    			"sh"
    		],
    		"env": [
    			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    			"TERM=xterm"
    		],
    		"cwd": "/",
    		"capabilities": {
    			"bounding": [
    				"CAP_AUDIT_WRITE",
    				"CAP_KILL",
    				"CAP_NET_BIND_SERVICE"
    			],
    			"effective": [
    				"CAP_AUDIT_WRITE",
    				"CAP_KILL",
    				"CAP_NET_BIND_SERVICE"
    			],
    			"permitted": [
    				"CAP_AUDIT_WRITE",
    				"CAP_KILL",
    				"CAP_NET_BIND_SERVICE"
    			],
    			"ambient": [
    				"CAP_AUDIT_WRITE",
    				"CAP_KILL",
    				"CAP_NET_BIND_SERVICE"
    			]
    		},
    		"rlimits": [
    			{
    				"type": "RLIMIT_NOFILE",
    				"hard": 1024,
    				"soft": 1024
    			}
    		],
    		"noNewPrivileges": true,
    		"oomScoreAdj": -1000,
    		"apparmorProfile": "skiff-default"
    	},
    	"root": {
    		"path": "rootfs",
    		"readonly": true
    	},
    	"hostname": "runc",
    	"mounts": [
    		{
    			"destination": "/proc",
    			"type": "proc",
    			"source": "proc"
    		},
    		{
    			"destination": "/dev",
    			"type": "tmpfs",
    			"source": "tmpfs",
    			"options": [
    				"nosuid",
    				"strictatime",
    				"mode=755",
    				"size=65536k"
    			]
    		},
    		{
    			"destination": "/dev/pts",
    			"type": "devpts",
    			"source": "devpts",
    			"options": [
    				"nosuid",
    				"noexec",
    				"newinstance",
    				"ptmxmode=0666",
    				"mode=0620",
    				"gid=5"
    			]
    		},
    		{
    			"destination": "/dev/shm",
    			"type": "tmpfs",
    			"source": "shm",
    			"options": [
    				"nosuid",
    				"noexec",
    				"nodev",
    				"mode=1777",
    				"size=65536k"
    			]
    		},
    		{
    			"destination": "/dev/mqueue",
    			"type": "mqueue",
    			"source": "mqueue",
    			"options": [
    				"nosuid",
    				"noexec",
    				"nodev"
    			]
    		},
    		{
    			"destination": "/sys",
    			"type": "sysfs",
    			"source": "sysfs",
    			"options": [
    				"nosuid",
    				"noexec",
    				"nodev",
    				"ro"
    			]
    		},
    		{
    			"destination": "/sys/fs/cgroup",
    			"type": "cgroup",
    			"source": "cgroup",
    			"options": [
    				"nosuid",
    				"noexec",
    				"nodev",
    				"relatime",
    				"ro"
    			]
    		}
    	],
    	"linux": {
    		"resources": {
    			"devices": [
    				{
    					"allow": false,
    					"access": "rwm"
    				}
    			],
    			"memory": {
    				"limit": 536870912,
    				"swap": -1,
    				"reservation": 9223372036854771712
    			},
    			"cpu": {
    				"shares": 1024,
    				"quota": 50000,
    				"period": 100000,
    				"cpus": "0-1"
    			},
    			"pids": {
    				"limit": 4096
    			}
    		},
    		"namespaces": [
    			{
    				"type": "pid"
    			},
    			{
    				"type": "network"
    			},
    			{
    				"type": "ipc"
    			},
    			{
    				"type": "uts"
    			},
    			{
    				"type": "mount"
    			}
    		],
    		"maskedPaths": [
    			"/proc/acpi",
    			"/proc/asound",
    			"/proc/kcore",
    			"/proc/keys",
    			"/proc/latency_stats",
    			"/proc/timer_list",
    			"/proc/timer_stats",
    			"/proc/sched_debug",
    			"/sys/firmware",
    			"/proc/scsi"
    		],
    		"readonlyPaths": [
    			"/proc/bus",
    			"/proc/fs",
    			"/proc/irq",
    			"/proc/sys",
    			"/proc/sysrq-trigger"
    		],
    		"uidMappings": [
    			{
    				"containerID": 0,
    				"hostID": 100000,
    				"size": 65536
    			}
    		],
    		"gidMappings": [
    			{
    				"containerID": 0,
    				"hostID": 100000,
    				"size": 65536
    			}
    		],
    		"sysctl": {
    			"net.ipv4.ip_forward": "1",
    			"kernel.shm_rmid_forced": "1"
    		},
    		"cgroupsPath": "/skiff/c1",
    		"seccomp": {
    			"defaultAction": "SCMP_ACT_ERRNO",
    			"defaultErrnoRet": 1,
    			"architectures": [
    				"SCMP_ARCH_X86_64",
    				"SCMP_ARCH_X86",
    				"SCMP_ARCH_X32"
    			],
    			"syscalls": [
    				{
    					"names": [
    						"read",
    						"write",
    						"exit_group",
    						"futex"
    					],
    					"action": "SCMP_ACT_ALLOW"
    				},
    				{
    					"names": [
    						"personality"
    					],
    					"action": "SCMP_ACT_ALLOW",
    					"args": [
    						{
    							"index": 0,
    							"value": 4294967295,
    							"op": "SCMP_CMP_EQ"
    						}
    					]
    				}
    			]
    		}
    	},
    	"hooks": {
    		"createRuntime": [
    			{
    				"path": "/usr/bin/netns-setup",
    				"args": [
    					"netns-setup",
    					"--bridge=skiff0",
    					"--note=é/ü \"quoted\""
    				],
    				"env": [
    					"HOOK=1"
    				],
    				"timeout": 5
    			}
    		]
    	},
    	"annotations": {
    		"org.opencontainers.image.ref.name": "busybox:1.36",
    		"io.skiff.created": "2026-11-23T16:44:53Z"
    	}
    }
    """#

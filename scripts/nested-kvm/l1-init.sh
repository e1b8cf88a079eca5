#!/bin/busybox sh
# /init of the nested-KVM harness's L1 (scripts/nested-kvm/run.sh builds the initramfs). Sets up
# the machine, loads kvm_amd, runs each test with its own timeouts and stdin from /dev/null, prints
# one line per test on the serial console and powers off:
#   SKIFF-NESTED RESULT <test> pass|fail|skip <seconds>s <detail>
# `/init test NAME` runs one test by hand (from a shell in L1).
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root SKIFF_VM_BOOT_TIMEOUT=240
kernel=/var/lib/skiff/kernels/default/vmlinux
# skiff vm run's default line plus what keeps a TCG-nested boot short (docs/nested-kvm-tests.md).
cmdline="console=ttyS0 reboot=k panic=1 pci=off nomodule quiet initcall_blacklist=cmos_init i8042.noaux i8042.nomux i8042.dumbkbd"

# --- the tests: each prints its detail on stdout and returns 0 pass, 1 fail, 2 skip ---------------

# Debian's busybox sh runs its own applets before anything on PATH (FEATURE_PREFER_APPLETS), so the
# real tools are called by their paths.
IP=/usr/sbin/ip
MKE2FS=/usr/sbin/mke2fs

# Every line of a file folded into one, for a result's detail.
oneline() { tail -n "${2:-6}" "$1" 2>/dev/null | tr '\n\r\t' '   ' | cut -c 1-600; }

# (a) The default kernel boots to skiff's agent on skiff's monitor: SKIFF_PROBE=1 makes the agent
# mount what it needs and end the guest with reboot(2) at once. A kernel panic also ends the VM
# with exit 0 (panic=1 reboots), so the proof is the kernel's own "reboot: Restarting system",
# printed only when userspace (the agent as PID 1) calls reboot.
t_vm_probe() {
  timeout -s KILL 300 skiff vm run --kernel "$kernel" --initrd /nested/agent.cpio --memory 256 \
    --cmdline "$cmdline SKIFF_PROBE=1" </dev/null >/tmp/vm-probe.out 2>&1
  rc=$?
  if [ $rc = 0 ] && grep -q "reboot: Restarting system" /tmp/vm-probe.out && ! grep -q "Kernel panic" /tmp/vm-probe.out; then
    echo "the agent ended the guest (exit 0, reboot from userspace)"; return 0
  fi
  echo "exit $rc: $(oneline /tmp/vm-probe.out)"; return 1
}

# (b) virtio-net between L1 and L2 over a tap made here: the guest pings L1, then waits until an
# echo request from L1 has arrived (ICMP InEchos in /proc/net/snmp) and reboots.
t_vm_net_ping() {
  tap=sknest0
  $IP tuntap add dev $tap mode tap || { echo "ip tuntap add failed"; return 1; }
  $IP addr add 10.231.0.1/24 dev $tap && $IP link set $tap up
  : >/tmp/vm-net.out
  timeout -s KILL 300 skiff vm run --kernel "$kernel" --initrd /nested/net.cpio --memory 256 --net tap=$tap \
    --cmdline "$cmdline" </dev/null >/tmp/vm-net.out 2>&1 &
  vm=$!
  i=0
  while [ $i -lt 2400 ] && ! grep -q L2-NET-READY /tmp/vm-net.out && kill -0 $vm 2>/dev/null; do
    sleep 0.1; i=$((i + 1))
  done
  pinged=no
  if grep -q L2-NET-READY /tmp/vm-net.out; then
    i=0
    while [ $i -lt 30 ]; do
      if ping -c 1 -W 2 10.231.0.2 >/dev/null 2>&1; then pinged=yes; break; fi
      i=$((i + 1))
    done
  fi
  wait $vm
  rc=$?
  $IP link del $tap
  if [ $rc = 0 ] && [ $pinged = yes ] && grep -q L2-PINGED-L1 /tmp/vm-net.out && grep -q L2-GOT-PING /tmp/vm-net.out; then
    echo "L2 pinged 10.231.0.1 and answered L1's ping (exit 0)"; return 0
  fi
  echo "exit $rc, L1 ping answered: $pinged: $(oneline /tmp/vm-net.out)"; return 1
}


# What of a removed container still runs: QEMU, a monitor (a skiff process), the runtime. Polled for
# up to 10 s, since the last of them may still be exiting when the command returns. Zombies do not
# count: a detached monitor that ended is reparented to this shell, PID 1, which reaps it late.
running() {
  for pid in $(pidof "$@"); do
    [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = Z ] || [ ! -e /proc/$pid ] || echo $pid
  done
}
leftover_processes() {
  i=0
  while [ $i -lt 100 ]; do
    procs=$(running qemu-system-x86_64 skiff skiff-runtime)
    [ -z "$procs" ] && break
    sleep 0.1; i=$((i + 1))
  done
  for pid in $procs; do
    printf '%s(%s) ' "$pid" "$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null | cut -c 1-120)"
  done
}

# (c) `skiff run --vm --rm busybox sh -c 'echo hi; exit 3'`: the output, the exit code, and that
# --rm left no container and no process.
t_run_vm() {
  backend=$1
  timeout -s KILL 400 skiff run --vm --vm-backend "$backend" --network none --rm busybox sh -c 'echo hi; exit 3' \
    </dev/null >/tmp/run-$backend.out 2>/tmp/run-$backend.err
  rc=$?
  out=$(cat /tmp/run-$backend.out)
  procs=$(leftover_processes)
  left=$(skiff ps -a -q 2>/dev/null | wc -l)
  if [ $rc = 3 ] && [ "$out" = hi ] && [ -z "$procs" ] && [ "$left" = 0 ]; then
    echo "printed hi, exit 3, nothing left"; return 0
  fi
  echo "exit $rc (want 3), stdout '$(oneline /tmp/run-$backend.out)' (want 'hi'), containers left $left, processes left '$procs', stderr: $(oneline /tmp/run-$backend.err)"
  return 1
}

# (d) `skiff run -d --vm`, `skiff exec` (output and exit code), `skiff rm -f` (nothing left).
t_exec_vm() {
  backend=$1
  timeout -s KILL 400 skiff run -d --vm --vm-backend "$backend" --network none busybox sleep 600 \
    </dev/null >/tmp/exec-$backend.id 2>/tmp/exec-$backend.err
  rc=$?
  id=$(tail -n 1 /tmp/exec-$backend.id)
  if [ $rc != 0 ]; then
    [ -n "$id" ] && timeout -s KILL 120 skiff rm -f "$id" </dev/null >/dev/null 2>&1
    echo "run -d exit $rc: $(oneline /tmp/exec-$backend.err)"; return 1
  fi
  timeout -s KILL 300 skiff exec "$id" sh -c 'echo exec-ok; exit 4' </dev/null >/tmp/exec-$backend.out 2>&1
  erc=$?
  out=$(cat /tmp/exec-$backend.out)
  timeout -s KILL 120 skiff rm -f "$id" </dev/null >/tmp/exec-$backend.rm 2>&1
  rrc=$?
  left=$(skiff ps -a -q 2>/dev/null | grep -c "^$(echo "$id" | cut -c 1-12)" || true)
  procs=$(leftover_processes)
  if [ $erc = 4 ] && [ "$out" = exec-ok ] && [ $rrc = 0 ] && [ "$left" = 0 ] && [ -z "$procs" ]; then
    echo "exec printed exec-ok and exited 4; rm -f left no container, no QEMU, no monitor"; return 0
  fi
  echo "exec exit $erc (want 4) output '$(oneline /tmp/exec-$backend.out)'; rm -f exit $rrc: $(oneline /tmp/exec-$backend.rm 2); containers left $left; processes left '$procs'"
  return 1
}

# The monitor with 2 vCPUs and a virtio-blk disk together (one unexplained triple fault seen once,
# ../shared/guide/nested-kvm.md): boot, write a file on the disk, end.
# `vm-smp-disk-verbose` (run only when named with --only) boots with the guide's command line, every
# boot line on the emulated serial port, as when the triple fault was seen.
t_vm_smp_disk() {
  line="$cmdline"
  [ "$1" = verbose ] && line="console=ttyS0 reboot=k panic=1"
  rm -f /tmp/disk.ext4
  $MKE2FS -q -t ext4 -F /tmp/disk.ext4 16M >/tmp/mke2fs.out 2>&1 || { echo "mke2fs failed: $(oneline /tmp/mke2fs.out)"; return 1; }
  timeout -s KILL 300 skiff vm run --kernel "$kernel" --initrd /nested/net.cpio --memory 256 --cpus 2 \
    --disk /tmp/disk.ext4 --cmdline "$line skiff.disk=1" </dev/null >/tmp/vm-smp.out 2>&1
  rc=$?
  # What L2 wrote reached the image (no debugfs in L1: the text is looked for in the raw image).
  written=no
  grep -q written-in-l2 /tmp/disk.ext4 && written=yes
  rm -f /tmp/disk.ext4
  if [ $rc = 0 ] && [ $written = yes ] && grep -q "L2-DISK-OK nproc=2" /tmp/vm-smp.out; then
    echo "2 vCPUs, a file written on /dev/vda is in the image (exit 0)"; return 0
  fi
  echo "exit $rc, file in the image: $written: $(oneline /tmp/vm-smp.out)"; return 1
}

# (e) A container in a micro-VM on skiff's backend on a user bridge network: the netns made by
# the CNI path of process containers, the VM's tap mirrored to the veth, a published port. The
# container serves a file with busybox httpd; L1 fetches it through 127.0.0.1:PORT (portmap's
# DNAT) and from the container's address (the bridge), the guest holds the address inspect
# shows, a second VM container on the network fetches it by the first one's name (/etc/hosts),
# and `rm -f` and `network rm` leave no container, process, veth, tap, netns, bridge or rule.
# Skipped when L1 lacks what bridge networking needs (run.sh packs it when the host has it).
bridge_needs() {
  if [ -s /nested/net-modules/missing ]; then
    echo "missing kernel modules (scripts/install-deps.sh fetches them): $(oneline /nested/net-modules/missing 40)"; return 2
  fi
  for tool in /usr/sbin/iptables /usr/sbin/tc /usr/bin/nsenter /usr/lib/cni/bridge /usr/lib/cni/host-local \
    /usr/lib/cni/portmap; do
    [ -x $tool ] || { echo "missing $tool in L1 (run.sh copies it from the host; scripts/install-deps.sh)"; return 2; }
  done
  if [ -s /tmp/net-modules.err ]; then echo "$(oneline /tmp/net-modules.err 40)"; return 1; fi
  return 0
}
# The value of a Go template of `skiff inspect` for a container.
inspect() { timeout -s KILL 60 skiff inspect -f "$2" "$1" </dev/null 2>/dev/null; }
# Polls an HTTP GET of http://HOST:PORT/index.html until the body is want or the deadline
# (seconds) passes; prints what it got last (body or nc's error). busybox nc, not wget: Debian's
# busybox 1.35 wget died of SIGSEGV in L1 and in the guest before sending a SYN (and on the host
# whenever it cannot connect), which looked like a network that drops TCP.
http_get() {
  printf 'GET /index.html HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" | nc -w 10 "$1" "$2" 2>&1 | tr -d '\r' | sed '1,/^$/d'
}
fetch_until() {
  host=$1 port=$2 want=$3 deadline=$(($(cut -d. -f1 /proc/uptime) + $4))
  while :; do
    got=$(http_get "$host" "$port")
    [ "$got" = "$want" ] && { echo "$got"; return 0; }
    [ "$(cut -d. -f1 /proc/uptime)" -ge $deadline ] && { echo "'$got'"; return 1; }
    sleep 1
  done
}
# What the serial log (run.sh --log) gets when the bridge test fails: the state of L1's network
# and the guest's console, not the result line (which stays short).
bridge_diagnostics() {
  {
    echo "--- bridge test diagnostics: ip addr, ip route, iptables -t nat -S, netns, container logs/console"
    $IP addr; $IP route
    /usr/sbin/iptables -t nat -S
    ls -l /run/skiff/netns
    [ -n "$web" ] && timeout -s KILL 30 skiff logs "$web"
    [ -n "$web" ] && tail -n 30 /var/lib/skiff/containers/$web*/console.log
    for id in $(ls /run/skiff/netns 2>/dev/null); do
      echo "netns $id:"; nsenter --net=/run/skiff/netns/$id $IP addr
      nsenter --net=/run/skiff/netns/$id $IP -s link
      for dev in eth0 tap0; do nsenter --net=/run/skiff/netns/$id /usr/sbin/tc -s filter show dev $dev parent ffff:; done
    done
    if [ -n "$address" ]; then
      echo "L1 pings $address:"; ping -c 2 -W 2 "$address"; $IP neigh
      echo "L1 GETs $address:80 and 127.0.0.1:$port:"; http_get "$address" 80; http_get 127.0.0.1 $port
      grep -E '^(Tcp|Ip):' /proc/net/snmp; head -n 20 /proc/net/nf_conntrack
    fi
    if [ -n "$web" ]; then
      echo "in the guest:"
      timeout -s KILL 60 skiff exec "$web" sh -c 'ip addr; ip route; ping -c 2 -W 2 $(ip route | sed -n "s/default via \([^ ]*\).*/\1/p"); ip neigh; cat /proc/net/dev /proc/net/snmp; ps'
    fi
    echo "problems: $problems"
    dmesg | tail -n 15
    echo "--- end of diagnostics"
  } 2>&1 | sed 's/^/SKIFF-NESTED-DEBUG /' >/dev/console
}
t_vm_bridge() {
  detail=$(bridge_needs)
  need=$?
  [ $need = 0 ] || { echo "$detail"; return $need; }
  net=nestnet port=18080 content="served-from-l2-$$"
  web="" client="" problems=""
  bad() { problems="$problems $*;"; }
  timeout -s KILL 60 skiff network create $net </dev/null >/tmp/bridge-net.out 2>&1 || {
    echo "network create failed: $(oneline /tmp/bridge-net.out)"; return 1; }
  timeout -s KILL 400 skiff run -d --name web --vm --vm-backend skiff --network $net -p 127.0.0.1:$port:80 busybox \
    sh -c "mkdir -p /www && echo $content > /www/index.html && exec httpd -f -p 80 -h /www" \
    </dev/null >/tmp/bridge-web.id 2>/tmp/bridge-web.err
  rc=$?
  web=$(tail -n 1 /tmp/bridge-web.id)
  if [ $rc != 0 ]; then
    bad "run -d exit $rc: $(oneline /tmp/bridge-web.err)"
  else
    address=$(inspect "$web" "{{.NetworkSettings.Networks.$net.IPAddress}}")
    # Through the published port (portmap's DNAT of 127.0.0.1), polled while the guest boots.
    got=$(fetch_until 127.0.0.1 $port "$content" 120) || bad "127.0.0.1:$port gave $got"
    # Straight to the container's address over the bridge.
    if [ -z "$address" ]; then
      bad "inspect shows no address"
    else
      got=$(fetch_until "$address" 80 "$content" 30) || bad "$address:80 gave $got"
      # The guest's NIC holds the address inspect shows.
      timeout -s KILL 120 skiff exec "$web" ip -4 addr show </dev/null >/tmp/bridge-ip.out 2>&1
      grep -q "inet $address/" /tmp/bridge-ip.out || bad "the guest's addresses are not $address: $(oneline /tmp/bridge-ip.out 3)"
      # A second VM container on the network reaches the first by its name.
      timeout -s KILL 400 skiff run --rm --vm --vm-backend skiff --network $net busybox \
        sh -c "printf 'GET /index.html HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n' | nc -w 10 web 80 | tr -d '\\r' | sed '1,/^\$/d'" </dev/null >/tmp/bridge-client.out 2>&1
      crc=$?
      [ $crc = 0 ] && [ "$(cat /tmp/bridge-client.out)" = "$content" ] ||
        bad "the second container's GET http://web/ exit $crc: $(oneline /tmp/bridge-client.out 3)"
    fi
  fi
  [ -z "$problems" ] || bridge_diagnostics
  if [ -n "$web" ]; then
    timeout -s KILL 120 skiff rm -f "$web" </dev/null >/tmp/bridge-rm.out 2>&1 || bad "rm -f: $(oneline /tmp/bridge-rm.out 2)"
  fi
  left=$(skiff ps -a -q 2>/dev/null | wc -l)
  [ "$left" = 0 ] || bad "containers left: $left"
  procs=$(leftover_processes)
  [ -z "$procs" ] || bad "processes left: $procs"
  links=$($IP -o link show 2>/dev/null | grep -E ' (veth[^:]*|tap[^:]*):' | cut -d: -f2 | tr '\n' ' ')
  [ -z "$links" ] || bad "interfaces left: $links"
  namespaces=$(ls /run/skiff/netns 2>/dev/null | tr '\n' ' ')
  [ -z "$namespaces" ] || bad "namespaces left under /run/skiff/netns: $namespaces"
  rules=$(/usr/sbin/iptables -t nat -S 2>/dev/null | grep -E -e '--dport '"$port"'|CNI-DN-' | tr '\n' ' ')
  [ -z "$rules" ] || bad "port rules left: $rules"
  timeout -s KILL 60 skiff network rm $net </dev/null >/tmp/bridge-netrm.out 2>&1 || bad "network rm: $(oneline /tmp/bridge-netrm.out 2)"
  bridges=$($IP -o link show type bridge 2>/dev/null | cut -d: -f2 | tr '\n' ' ')
  [ -z "$bridges" ] || bad "bridges left after network rm: $bridges"
  masquerade=$(/usr/sbin/iptables -t nat -S POSTROUTING 2>/dev/null | grep -c 'skiff network' || true)
  [ "$masquerade" = 0 ] || bad "masquerade rules left after network rm: $masquerade"
  if [ -z "$problems" ]; then
    echo "fetched $content via 127.0.0.1:$port and $address:80, the guest has $address, 'web' reached by name from a second VM; nothing left after rm -f and network rm"
    return 0
  fi
  echo "$problems"
  return 1
}

run_one() {
  case "$1" in
    vm-probe) t_vm_probe ;;
    vm-net-ping) t_vm_net_ping ;;
    vm-smp-disk) t_vm_smp_disk ;;
    vm-smp-disk-verbose) t_vm_smp_disk verbose ;;
    run-vm-qemu) t_run_vm qemu ;;
    exec-vm-qemu) t_exec_vm qemu ;;
    # Need `--vm-backend skiff` for containers (branch vm-backend): reported skip while refused.
    run-vm-skiff) t_run_vm skiff ;;
    exec-vm-skiff) t_exec_vm skiff ;;
    run-vm-skiff-bridge) t_vm_bridge ;;
    *) echo "no test named $1"; return 1 ;;
  esac
}
# The QEMU-in-L1 variants (run-vm-qemu, exec-vm-qemu) run only when named with --only: QEMU's TCG
# inside this TCG machine took 40-90 s alone but ran past its 400 s limit beside the full test
# suite, and the QEMU backend's container path is tested directly on the host (MicroVMContainerTests).
tests="vm-probe vm-net-ping vm-smp-disk run-vm-skiff exec-vm-skiff run-vm-skiff-bridge"

if [ "$1" = test ]; then run_one "$2"; exit $?; fi

# --- PID 1: set up L1 ------------------------------------------------------------------------------
# The initramfs's root cannot be pivot_root'ed from, which the monitor's jail does: move everything
# onto a tmpfs first (switch_root frees the initramfs's copy) and run again from there.
if [ -z "$SKIFF_NESTED_ROOT" ]; then
  /bin/busybox mkdir -p /newroot
  /bin/busybox mount -t tmpfs -o mode=0755,size=90% tmpfs /newroot
  for entry in /*; do
    case "$entry" in /newroot|/proc|/sys|/dev) ;; *) /bin/busybox cp -a "$entry" /newroot/ ;; esac
  done
  /bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev
  export SKIFF_NESTED_ROOT=1
  exec /bin/busybox switch_root /newroot /init
fi
# Applets in /bin only, last on PATH: the real mke2fs, ip and friends stay what they are.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /sys/fs/cgroup
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
controllers=$(sed 's/\([a-z_]*\)/+\1/g' /sys/fs/cgroup/cgroup.controllers)
echo "$controllers" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
hostname nested-l1
ip link set lo up
exec </dev/null
setup=""
for module in irqbypass kvm ccp kvm-amd tun overlay; do
  insmod /nested/modules/$module.ko 2>/tmp/insmod.err || setup="$setup insmod $module: $(oneline /tmp/insmod.err 2);"
done
# The bridge-network test's modules (run.sh packed those the host has, in load order): their
# failures go to a file that test reads, never into l1-kvm's verdict.
: > /tmp/net-modules.err
for module in $(cat /nested/net-modules/order 2>/dev/null); do
  insmod /nested/net-modules/$module.ko 2>/tmp/insmod.err || echo "insmod $module: $(oneline /tmp/insmod.err 2);" >> /tmp/net-modules.err
done
if [ -c /dev/kvm ] && [ -z "$setup" ]; then
  echo "SKIFF-NESTED RESULT l1-kvm pass $(cut -d' ' -f1 /proc/uptime)s /dev/kvm from kvm_amd, $(grep -c ^processor /proc/cpuinfo) CPUs, $(grep MemTotal /proc/meminfo | tr -s ' ')"
else
  echo "SKIFF-NESTED RESULT l1-kvm fail $(cut -d' ' -f1 /proc/uptime)s no /dev/kvm:$setup $(dmesg | grep -i -E 'kvm|svm' | tail -n 3 | tr '\n' ' ')"
fi

# --only names the tests to run, in its order (and may name tests outside the default list).
only=$(tr ',' ' ' < /nested/only 2>/dev/null)
repeat=$(cat /nested/repeat 2>/dev/null)
round=1
while [ "$round" -le "${repeat:-1}" ]; do
  for name in ${only:-$tests}; do
    label=$name
    [ "${repeat:-1}" -gt 1 ] && label="$name#$round"
    start=$(cut -d. -f1 /proc/uptime)
    detail=$(run_one "$name" 2>&1)
    rc=$?
    case $rc in 0) verdict=pass ;; 2) verdict=skip ;; *) verdict=fail ;; esac
    end=$(cut -d. -f1 /proc/uptime)
    echo "SKIFF-NESTED RESULT $label $verdict $((end - start))s $(printf '%s' "$detail" | tr '\n\r' '  ')"
  done
  round=$((round + 1))
done
echo "SKIFF-NESTED DONE $(cut -d' ' -f1 /proc/uptime)s"
sync
poweroff -f

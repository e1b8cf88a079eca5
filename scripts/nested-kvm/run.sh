#!/usr/bin/env bash
# The nested-KVM harness: proves skiff's own monitor boots Linux on a host whose /dev/kvm cannot
# (kvm_pvm) or that has none. QEMU in TCG mode with -cpu max emulates AMD SVM; Debian's kernel
# inside it (L1) loads kvm_amd, and there `skiff vm run` and `skiff run --vm` boot skiff's guest
# kernel (L2). docs/nested-kvm-tests.md says what each test proves.
#
# Builds an L1 initramfs (busybox, the kvm modules, the skiff binaries with every library they
# link, mkfs.erofs, mke2fs, iproute2, QEMU with its firmware, the guest kernel, the agent's
# initramfs, an L2 initramfs for the ping test and an image store holding busybox), boots it under
# `timeout` and `nice`, and prints the result lines L1 printed on its serial port:
#   SKIFF-NESTED RESULT <test> pass|fail|skip <seconds>s <detail>
# then `SKIFF-NESTED DONE`. Exit status: 0 when L1 ran to its end (whatever the results), 1 when
# it did not, 2 when this host lacks something (the reason on stderr, as `SKIFF-NESTED MISSING`).
#
# Usage: scripts/nested-kvm/run.sh [--bin DIR] [--log FILE] [--timeout SECONDS] [--only TESTS] [--repeat N]
#   --bin DIR      where skiff, skiff-runtime and skiff-agent are (default: .build/debug)
#   --log FILE     keep L1's whole serial log there (default: only the result lines are printed)
#   --timeout S    the whole L1 run, QEMU killed after it (default: 1080, 18 minutes)
#   --only TESTS   comma-separated test names to run in L1, in that order (default: the usual
#                  list; vm-smp-disk-verbose runs only when named)
#   --repeat N     run the tests N times (results named TEST#1 ... TEST#N), to catch rare failures
# Environment: SKIFF_NESTED_LINUX (a Debian linux-image package unpacked with dpkg -x; default
# /var/lib/skiff/nested-kvm/linux, which scripts/install-deps.sh fills), SKIFF_STORE (the guest
# kernel is $SKIFF_STORE/kernels/default/vmlinux, from kernel/build.sh; default /var/lib/skiff),
# SKIFF_NESTED_NICE (QEMU's nice level, default 10: other work on the host goes first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin="$repo/.build/debug"
log=""
limit=1080
only=""
repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$(cd "$2" && pwd); shift 2 ;;
    --log) log=$(realpath -m "$2"); shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "usage: $0 [--bin DIR] [--log FILE] [--timeout SECONDS] [--only TESTS] [--repeat N]" >&2; exit 64 ;;
  esac
done

missing() { echo "SKIFF-NESTED MISSING $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || missing "needs root (the image store, taps and mknod while building the L1 initramfs)"
qemu=/usr/bin/qemu-system-x86_64
[ -x "$qemu" ] || missing "qemu-system-x86_64 (apt-get install qemu-system-x86)"
# grep without -q reads the whole list: with -q it may exit at the match, busybox then dies of SIGPIPE and
# pipefail calls the check failed (seen once, as "MISSING" on a host that has it).
[ -x /bin/busybox ] && /bin/busybox --list | grep -x cpio >/dev/null || missing "a static busybox with cpio (apt-get install busybox-static)"
guest_kernel="${SKIFF_STORE:-/var/lib/skiff}/kernels/default/vmlinux"
[ -r "$guest_kernel" ] || missing "the guest kernel $guest_kernel (kernel/build.sh)"
linux="${SKIFF_NESTED_LINUX:-/var/lib/skiff/nested-kvm/linux}"
l1_kernel=$(ls "$linux"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
[ -n "$l1_kernel" ] || missing "an L1 kernel under $linux/boot (scripts/install-deps.sh unpacks Debian's linux-image-amd64 there)"
modules=$(ls -d "$linux"/lib/modules/*/kernel | head -n 1)
for tool in skiff skiff-runtime skiff-agent; do
  [ -x "$bin/$tool" ] || missing "$bin/$tool (swift build)"
done
for tool in /usr/bin/mkfs.erofs /usr/sbin/mke2fs /usr/sbin/ip /usr/bin/umoci; do
  [ -x "$tool" ] || missing "$tool (scripts/install-deps.sh)"
done

work=$(mktemp -d /tmp/skiff-nested.XXXXXX)
qemu_pid=""
cleanup() {
  # The QEMU this script started, by its PID (timeout's, which passes the signal on to QEMU).
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
started=$(date +%s)
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,proc,sys,dev,tmp,run,root,nested/modules,var/lib/skiff/kernels/default}

# A file and every shared library `ldd` lists for it, at the same paths.
libraries() {
  ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' || true
}
copy_with_libraries() {
  local file=$1 destination=${2:-$1}
  mkdir -p "$root$(dirname "$destination")"
  cp -L "$file" "$root$destination"
  for library in $(libraries "$file"); do
    [ -e "$root$library" ] || { mkdir -p "$root$(dirname "$library")"; cp -L "$library" "$root$library"; }
  done
}

cp /bin/busybox "$root/bin/busybox"
for tool in skiff skiff-runtime skiff-agent; do copy_with_libraries "$bin/$tool" "/usr/local/bin/$tool"; done
copy_with_libraries /usr/bin/mkfs.erofs
copy_with_libraries /usr/sbin/mke2fs
ln -s mke2fs "$root/usr/sbin/mkfs.ext4"
[ -r /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
copy_with_libraries /usr/sbin/ip
copy_with_libraries "$qemu"
mkdir -p "$root/usr/share"
cp -rL /usr/share/qemu "$root/usr/share/qemu"
[ -d /usr/lib/x86_64-linux-gnu/qemu ] && mkdir -p "$root/usr/lib/x86_64-linux-gnu" && cp -rL /usr/lib/x86_64-linux-gnu/qemu "$root/usr/lib/x86_64-linux-gnu/"
for module in virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd drivers/net/tun fs/overlayfs/overlay; do
  [ -r "$modules/$module.ko" ] || missing "$modules/$module.ko (scripts/install-deps.sh)"
  cp "$modules/$module.ko" "$root/nested/modules/"
done
cp "$guest_kernel" "$root/var/lib/skiff/kernels/default/vmlinux"

# Bridge networking for run-vm-skiff-bridge, all optional: what is missing here is left out, and
# that test reports itself skipped with the reason. The modules in load order, dependencies first
# (each module's `depends=` and `softdep=` in Debian 6.1's package: libcrc32c's init fails without
# crc32c_generic): the bridge and veth the CNI bridge plugin makes, nf_tables with the xtables
# matches and targets that iptables-nft (Debian's iptables) needs for skiff's masquerade rule and
# portmap's DNAT/SNAT chains, and the tc ingress qdisc, u32 filter and mirred action that join the
# VM's tap to the container's veth.
net_modules="net/llc/llc net/802/stp net/bridge/bridge drivers/net/veth net/netfilter/nfnetlink crypto/crc32c_generic lib/libcrc32c
  net/netfilter/nf_tables net/netfilter/x_tables net/netfilter/nft_compat net/ipv4/netfilter/nf_defrag_ipv4
  net/ipv6/netfilter/nf_defrag_ipv6 net/netfilter/nf_conntrack net/netfilter/nf_nat net/netfilter/nft_chain_nat
  net/netfilter/xt_MASQUERADE net/netfilter/xt_conntrack net/netfilter/xt_addrtype net/netfilter/xt_comment
  net/netfilter/xt_nat net/netfilter/xt_tcpudp net/netfilter/xt_mark net/netfilter/xt_multiport net/sched/sch_ingress net/sched/cls_u32
  net/sched/act_mirred"
mkdir -p "$root/nested/net-modules"
: > "$root/nested/net-modules/missing"
for module in $net_modules; do
  if [ -r "$modules/$module.ko" ]; then
    cp "$modules/$module.ko" "$root/nested/net-modules/"
    basename "$module" >> "$root/nested/net-modules/order"
  else
    echo "$module.ko" >> "$root/nested/net-modules/missing"
  fi
done
# tc and nsenter (the engine joins the VM's tap to the veth with them; busybox's applets are not
# enough), iptables-nft under the names the engine and portmap call (/etc/alternatives resolved)
# with the extensions it loads, and the CNI plugins the bridge path runs.
for tool in /usr/sbin/tc /usr/bin/nsenter; do
  if [ -x "$tool" ]; then copy_with_libraries "$tool"; fi
done
if [ -x /usr/sbin/xtables-nft-multi ]; then
  copy_with_libraries /usr/sbin/xtables-nft-multi
  for name in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -s xtables-nft-multi "$root/usr/sbin/$name"
  done
  xtables=/usr/lib/x86_64-linux-gnu/xtables
  if [ -d "$xtables" ]; then mkdir -p "$root$xtables" && cp -L "$xtables"/*.so "$root$xtables/"; fi
  for file in /etc/protocols /etc/services /etc/ethertypes; do
    if [ -r "$file" ]; then cp -L "$file" "$root/etc/"; fi
  done
fi
for plugin in bridge host-local portmap firewall loopback; do
  if [ -x "/usr/lib/cni/$plugin" ]; then copy_with_libraries "/usr/lib/cni/$plugin"; fi
done

# The agent's initramfs, as the engine builds it (GuestArtifacts.initrd): the agent as /init.
agent="$work/agent"
mkdir -p "$agent/dev"
mknod "$agent/dev/console" c 5 1
cp "$bin/skiff-agent" "$agent/init"
(cd "$agent" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) > "$root/nested/agent.cpio"
# The ping test's L2 initramfs: busybox and a script that configures eth0.
"$bin/skiff" vm initramfs --output "$root/nested/net.cpio" --init-script "$here/l2-net-init.sh" >/dev/null

# An image store holding busybox, made here with the built skiff and packed as L1's /var/lib/skiff.
store="$work/store"
"$repo/scripts/make-busybox-image.sh" "$work/busybox.tar"
loaded=$(SKIFF_ROOT="$store" SKIFF_RUNTIME_ROOT="$work/runtime" "$bin/skiff" load -i "$work/busybox.tar")
image=$(printf '%s\n' "$loaded" | sed -n 's/^Loaded image: //p' | head -n 1)
SKIFF_ROOT="$store" SKIFF_RUNTIME_ROOT="$work/runtime" "$bin/skiff" tag "$image" busybox:latest
rm -f "$work/busybox.tar"
cp -a "$store/." "$root/var/lib/skiff/"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"
printf 'nameserver 127.0.0.1\n' > "$root/etc/resolv.conf"
echo nested-l1 > "$root/etc/hostname"
cp "$here/l1-init.sh" "$root/init"
chmod 755 "$root/init"
printf '%s\n' "$only" > "$root/nested/only"
printf '%s\n' "$repeat" > "$root/nested/repeat"

(cd "$root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) > "$work/l1.cpio"
built=$(date +%s)
echo "SKIFF-NESTED BUILT $((built - started))s initramfs $(($(stat -c %s "$work/l1.cpio") >> 20)) MiB" >&2
rm -rf "$root" "$agent" "$store" "$work/runtime"

serial="${log:-$work/serial.log}"
: > "$serial"
timeout -k 10 "$limit" nice -n "${SKIFF_NESTED_NICE:-10}" "$qemu" -accel tcg -cpu max -m 3G -smp 2 -machine q35 \
  -display none -monitor none -serial "file:$serial" -no-reboot -nodefaults \
  -kernel "$l1_kernel" -initrd "$work/l1.cpio" \
  -append "console=ttyS0 panic=-1 quiet" </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!
status=0
wait "$qemu_pid" || status=$?
qemu_pid=""
finished=$(date +%s)
tr -d '\r' < "$serial" | grep '^SKIFF-NESTED ' || true
echo "SKIFF-NESTED L1 $((finished - built))s (QEMU exit $status), total $((finished - started))s" >&2
if ! tr -d '\r' < "$serial" | grep '^SKIFF-NESTED DONE' >/dev/null; then
  echo "L1 did not reach its end (QEMU exit $status; 124 is the timeout). Last serial lines:" >&2
  tr -d '\r' < "$serial" | tail -n 40 >&2
  cat "$work/qemu.out" >&2
  exit 1
fi

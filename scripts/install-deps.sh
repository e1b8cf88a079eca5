#!/usr/bin/env bash
# Installs the Debian packages skiff builds against and tests with. Idempotent; needs root.
set -euo pipefail
packages=(
  busybox-static            # test and default images
  libseccomp-dev libarchive-dev libzstd-dev
  runc crun podman containerd  # peers to compare with, and clients that drive skiff-runtime
  buildah                   # bench/build and BuildahComparisonTests compare skiff build with it
  skopeo umoci docker-registry # registries and image tooling for tests
  apache2-utils attr libssl-dev openssl # htpasswd, setfattr, token signing for image tests; libcrypto for SHA-256, libssl for HTTPClient's TLS
  containernetworking-plugins iproute2 e2fsprogs
  erofs-utils               # run --vm: the image's layers as read-only erofs disks (mkfs.ext4 makes the scratch disk)
  iptables                  # bridge networking: the portmap/firewall CNI plugins and skiff's masquerade rule
  qemu-system-x86           # run --vm's QEMU backend; bench/vm compares skiff vm with qemu-system-x86_64 -M microvm
  strace                    # diagnosing the monitor's KVM calls
  gcc python3               # VMM tests build a freestanding guest; the virtio-net test uses python3
  libcurl4-openssl-dev      # only for a target that links FoundationNetworking (skiff no longer does: HTTPClient)
  procps tar                # `skiff top` runs the host's ps; cp tests build tar streams with GNU tar
  docker-compose            # the Docker API test drives skiff system service with compose 1.29 (Debian's, on its docker-py)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The nested-KVM harness (scripts/nested-kvm/run.sh) boots Debian's kernel as its L1 and loads
# kvm_amd there: the package's vmlinuz and the modules L1 needs (kvm_amd and what it needs, tun for
# taps, overlay for containers; for the bridge-network test the bridge, veth, nf_tables with the
# xtables pieces iptables-nft and the portmap plugin use, and tc's ingress/u32/mirred, with their
# dependencies: scripts/nested-kvm/run.sh lists them in load order), unpacked with dpkg -x (not
# installed: this host boots its own kernel). Skipped with a note when the download fails.
nested=/var/lib/skiff/nested-kvm/linux
nested_modules="virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd drivers/net/tun fs/overlayfs/overlay
  net/llc/llc net/802/stp net/bridge/bridge drivers/net/veth net/netfilter/nfnetlink crypto/crc32c_generic lib/libcrc32c
  net/netfilter/nf_tables net/netfilter/x_tables net/netfilter/nft_compat net/ipv4/netfilter/nf_defrag_ipv4
  net/ipv6/netfilter/nf_defrag_ipv6 net/netfilter/nf_conntrack net/netfilter/nf_nat net/netfilter/nft_chain_nat
  net/netfilter/xt_MASQUERADE net/netfilter/xt_conntrack net/netfilter/xt_addrtype net/netfilter/xt_comment
  net/netfilter/xt_nat net/netfilter/xt_tcpudp net/netfilter/xt_mark net/netfilter/xt_multiport net/sched/sch_ingress net/sched/cls_u32
  net/sched/act_mirred"
nested_complete=yes
ls "$nested"/boot/vmlinuz-* >/dev/null 2>&1 || nested_complete=no
for module in $nested_modules; do ls "$nested"/lib/modules/*/kernel/$module.ko >/dev/null 2>&1 || nested_complete=no; done
if [ $nested_complete = no ]; then
  image=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  unpack=$(mktemp -d /tmp/skiff-nested-linux.XXXXXX)
  if [ -n "$image" ] && (cd "$unpack" && apt-get download -qq "$image" 2>/dev/null) && dpkg -x "$unpack"/*.deb "$unpack/tree"; then
    rm -rf "$nested.tmp" && mkdir -p "$nested.tmp/boot"
    cp "$unpack"/tree/boot/vmlinuz-* "$unpack"/tree/boot/config-* "$nested.tmp/boot/"
    for module in $nested_modules; do
      source=$(ls "$unpack"/tree/lib/modules/*/kernel/$module.ko)
      mkdir -p "$nested.tmp/${source#"$unpack"/tree/}" && rmdir "$nested.tmp/${source#"$unpack"/tree/}"
      cp "$source" "$nested.tmp/${source#"$unpack"/tree/}"
    done
    rm -rf "$nested" && mv "$nested.tmp" "$nested"
  else
    echo "install-deps: could not fetch linux-image-amd64 for the nested-KVM tests; they will be skipped" >&2
  fi
  rm -rf "$unpack"
fi

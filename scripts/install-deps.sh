#!/usr/bin/env bash
# Installs the Debian packages skiff builds against and tests with. Idempotent; needs root.
set -euo pipefail
packages=(
  busybox-static            # test and default images
  libseccomp-dev libarchive-dev libzstd-dev
  runc crun podman containerd  # peers to compare with, and clients that drive skiff-runtime
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

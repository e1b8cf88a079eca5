#!/usr/bin/env bash
# Builds a busybox OCI image archive from Debian's busybox-static with umoci, no network needed.
# Usage: scripts/make-busybox-image.sh OUTPUT.tar
set -euo pipefail
out=$(realpath -m "$1")
work=$(mktemp -d /tmp/skiff-busybox-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
umoci init --layout layout >/dev/null
umoci new --image layout:latest
umoci unpack --image layout:latest bundle >/dev/null
mkdir -p bundle/rootfs/bin bundle/rootfs/etc bundle/rootfs/tmp bundle/rootfs/root
cp /bin/busybox bundle/rootfs/bin/busybox
for applet in $(/bin/busybox --list); do
  [ -e "bundle/rootfs/bin/$applet" ] || ln -s busybox "bundle/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > bundle/rootfs/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > bundle/rootfs/etc/group
umoci repack --image layout:latest bundle
umoci config --image layout:latest --config.cmd sh --config.env PATH=/bin >/dev/null
(cd layout && tar -cf "$out" .)

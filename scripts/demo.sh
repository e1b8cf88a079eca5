#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the main job: a container from the
# default busybox image, with no internet access needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --static-swift-stdlib
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
bundle=$(mktemp -d /tmp/skiff-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for tool in sh echo cat ls ps hostname id uname; do ln -sf busybox "$bundle/rootfs/bin/$tool"; done
( cd "$bundle" && "$bin/skiff-runtime" spec )
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sh", "-c", "echo hello from a skiff container; hostname; id; ps"/' "$bundle/config.json"
"$bin/skiff-runtime" run --bundle "$bundle" "skiff-demo-$$"

#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the main job: a container from the
# default busybox image (built locally from Debian's busybox-static), with no internet access.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Static Swift runtime and Foundation: each container start runs `skiff` twice (the command and
# its monitor), and skiff-runtime (a fully static executable) for the container's init stage.
swift build -c release --static-swift-stdlib --product skiff-runtime
swift build -c release --static-swift-stdlib --product skiff
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)

image=$(mktemp /tmp/skiff-busybox.XXXXXX.tar)
trap 'rm -f "$image"' EXIT
scripts/make-busybox-image.sh "$image"
loaded=$("$bin/skiff" load -i "$image" | sed -n 's/^Loaded image: //p')
"$bin/skiff" tag "$loaded" busybox:latest
"$bin/skiff" run --rm busybox sh -c 'echo hello from a skiff container; hostname; id; ps'

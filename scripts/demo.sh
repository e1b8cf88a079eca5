#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the main job: a container from the
# default busybox image (built locally from Debian's busybox-static), with no internet access.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Static Swift runtime and Foundation: each container start runs `skiff` twice (the command and
# its monitor), and skiff-runtime (a fully static executable) for the container's init stage.
# skiff-agent is PID 1 of `run --vm` guests and skiff-api serves `skiff system service`; both
# are found beside skiff.
for product in skiff-runtime skiff skiff-agent skiff-api; do
  swift build -c release --static-swift-stdlib --product "$product"
done
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)

# Install in /usr/local: the binaries, a man page per command (skiff-run(1), ...) and bash completion.
install -m 0755 "$bin/skiff" "$bin/skiff-runtime" "$bin/skiff-agent" "$bin/skiff-api" /usr/local/bin/
/usr/local/bin/skiff generate-docs --man /usr/local/share/man/man1
mkdir -p /etc/bash_completion.d
/usr/local/bin/skiff completion bash > /etc/bash_completion.d/skiff

image=$(mktemp /tmp/skiff-busybox.XXXXXX.tar)
trap 'rm -f "$image"' EXIT
scripts/make-busybox-image.sh "$image"
loaded=$(skiff load -i "$image" | sed -n 's/^Loaded image: //p')
skiff tag "$loaded" busybox:latest
skiff run --rm busybox sh -c 'echo hello from a skiff container; hostname; id; ps'

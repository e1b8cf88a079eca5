#!/usr/bin/env bash
# Builds skiff's default guest kernel ahead of time (CI, images): installs the Debian packages the
# build needs (as root), then runs `skiff vm kernel build`, the code a first `run --vm` runs too.
# The configuration is in the skiff binary (Sources/Engine/MicroVM/GuestKernelConfig.swift;
# `skiff vm kernel config` prints it). The kernel is cached by the hash of that configuration and
# linux-source's version, and a cached build is reused:
#   ${SKIFF_STORE:-/var/lib/skiff}/kernels/<hash>/{vmlinux,bzImage,config}
#   ${SKIFF_STORE:-/var/lib/skiff}/kernels/default -> <hash>   (what run --vm and skiff vm run boot)
# SKIFF=/path/to/skiff uses that binary; without it, this tree's debug build (built when needed).
# About 11 minutes on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

need=(linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev xz-utils)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "kernel/build.sh: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

skiff="${SKIFF:-}"
if [ -z "$skiff" ]; then
  output="$(cd "$here/.." && swift build --product skiff 2>&1)" || { echo "$output" >&2; exit 1; }
  skiff="$here/../.build/debug/skiff"
fi
kernel="$("$skiff" vm kernel build)"
mkdir -p "$here/out" && ln -sfn "$kernel" "$here/out/vmlinux"
echo "kernel/build.sh: default guest kernel is $kernel"

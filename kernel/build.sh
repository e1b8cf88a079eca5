#!/usr/bin/env bash
# Builds skiff's default guest kernel from Debian's linux-source-6.1 with kernel/microvm.config,
# and caches it under the store by the hash of the config and the source version:
#   ${SKIFF_STORE:-/var/lib/skiff}/kernels/<hash>/vmlinux   (uncompressed, PVH entry)
#   ${SKIFF_STORE:-/var/lib/skiff}/kernels/<hash>/bzImage
#   ${SKIFF_STORE:-/var/lib/skiff}/kernels/default -> <hash>   (what `skiff vm run` uses without --kernel)
# A cached build is reused. About 4.5 minutes on 2 cores. Needs root for apt-get if packages are missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
store="${SKIFF_STORE:-/var/lib/skiff}/kernels"
jobs="${JOBS:-$(nproc)}"

need=(linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev xz-utils)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "kernel/build.sh: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

tarball="$(ls /usr/src/linux-source-6.1.tar.* | head -n1)"
version="$(dpkg-query -W -f='${Version}' linux-source-6.1)"
hash="$( (cat "$here/microvm.config"; echo "$version") | sha256sum | cut -c1-16)"
out="$store/$hash"
if [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
  echo "kernel/build.sh: cached at $out"
else
  work="$(mktemp -d /tmp/skiff-kernel-XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  tar -xf "$tarball" -C "$work"
  src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)"
  make -C "$src" -s allnoconfig
  "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$here/microvm.config" >/dev/null
  make -C "$src" -s olddefconfig
  # Every option of the fragment must have survived olddefconfig (a dependency may have dropped it).
  while IFS= read -r line; do
    case "$line" in CONFIG_*=y) grep -qx "$line" "$src/.config" || { echo "kernel/build.sh: $line did not stick" >&2; exit 1; } ;; esac
  done < "$here/microvm.config"
  make -C "$src" -s -j"$jobs" vmlinux bzImage
  mkdir -p "$out.tmp"
  cp "$src/vmlinux" "$out.tmp/vmlinux"
  cp "$src/arch/x86/boot/bzImage" "$out.tmp/bzImage"
  cp "$src/.config" "$out.tmp/config"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
mkdir -p "$store"
ln -sfn "$hash" "$store/default"
mkdir -p "$here/out" && ln -sfn "$out/vmlinux" "$here/out/vmlinux"
echo "kernel/build.sh: default guest kernel is $store/default/vmlinux"

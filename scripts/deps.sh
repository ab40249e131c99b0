#!/usr/bin/env bash
# Install what Keel needs to build, run and test, on Debian 12.
# Idempotent: checks first, installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

for p in make qemu-system-arm gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu \
         device-tree-compiler python3 python3-pytest python3-pexpect \
         libcmocka-dev libfdt-dev:$(dpkg --print-architecture) cpio gcc clang lld llvm \
         libclang-rt-14-dev; do
    have_pkg "$p" || need+=("$p")
done

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "[deps] enabling the arm64 architecture for libfdt-dev:arm64"
    $SUDO dpkg --add-architecture arm64
    updated_needed=1
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -ne 0 ] || [ -n "${updated_needed:-}" ]; then
    echo "[deps] installing: ${need[*]}"
    $SUDO apt-get update -qq
    [ ${#need[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# libfdt for aarch64 (linked into Keel's image). libfdt-dev:arm64 cannot be
# installed next to the host's libfdt-dev (used by the unit tests), so its
# package is downloaded and unpacked into the git-ignored cache instead.
top="$(cd "$(dirname "$0")/.." && pwd)"
fdt_dir="$top/.cache/libfdt-arm64"
if [ ! -f "$fdt_dir/usr/lib/aarch64-linux-gnu/libfdt.a" ]; then
    echo "[deps] fetching libfdt-dev:arm64 into .cache/libfdt-arm64"
    tmp="$(mktemp -d)"
    ( cd "$tmp" && { apt-get download -qq libfdt-dev:arm64 2>/dev/null ||
                     { $SUDO apt-get update -qq && apt-get download -qq libfdt-dev:arm64; }; } )
    mkdir -p "$fdt_dir"
    dpkg -x "$tmp"/libfdt-dev_*_arm64.deb "$fdt_dir"
    rm -rf "$tmp"
fi
echo "[deps] all build and test dependencies present"

#!/usr/bin/env bash
# Install what Keel needs to build, run and test, on Debian 12.
# Idempotent: checks first, installs only what is missing.
set -euo pipefail

die() { echo "[deps] error: $*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# QEMU 10 (raspi4b, GICv2 with virtualization on virt, RISC-V H/Sstc/AIA) and
# OpenSBI 1.5 come from bookworm-backports; bookworm's own QEMU 7.2 still
# runs everything except the raspi4b board (tools/keel-run says so).
bpo_list=/etc/apt/sources.list.d/keel-bookworm-backports.list
has_backports() {
    grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/
}
if [ "$(. /etc/os-release; echo "${VERSION_CODENAME:-}")" = bookworm ] && ! has_backports; then
    echo "[deps] enabling Debian's bookworm-backports suite in $bpo_list (QEMU 10, OpenSBI 1.5);"
    echo "[deps] nothing else on this machine changes: backports packages install only when asked for"
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$bpo_list" >/dev/null
    updated_needed=1
fi
qemu_major() { qemu-system-aarch64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p'; }

for p in make gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu \
         gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu gpgv debian-archive-keyring \
         device-tree-compiler python3 python3-pytest python3-pexpect \
         libcmocka-dev libfdt-dev:$(dpkg --print-architecture) cpio gcc clang lld llvm \
         libclang-rt-14-dev u-boot-qemu; do
    have_pkg "$p" || need+=("$p")
done

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "[deps] enabling the arm64 architecture for libfdt-dev:arm64"
    $SUDO dpkg --add-architecture arm64
    updated_needed=1
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -ne 0 ] || [ -n "${updated_needed:-}" ]; then
    $SUDO apt-get update -qq
    [ ${#need[@]} -eq 0 ] || echo "[deps] installing: ${need[*]}"
    [ ${#need[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "${KEEL_QEMU_OLD:-}" != 1 ] && { [ -z "$(qemu_major)" ] || [ "$(qemu_major)" -lt 10 ] ||
        ! have_pkg opensbi || ! have_pkg qemu-system-riscv; }; then
    echo "[deps] installing QEMU 10 and OpenSBI from bookworm-backports"
    [ -n "${updated_needed:-}" ] || $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports \
        qemu-system-arm qemu-system-riscv opensbi >/dev/null
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

# libfdt for riscv64. riscv64 is a Debian architecture from trixie on, not in
# bookworm, so trixie's libfdt-dev (riscv64) is fetched through its signed
# index (scripts/trixie-deb.sh: no foreign architecture, no trixie in apt's
# sources) and unpacked into the git-ignored cache once scripts/libfdt-riscv64.sh
# has shown that it links freestanding with bookworm's riscv64-linux-gnu-gcc.
# It also makes libfdt-lp64.a there, the same objects for a soft-float Keel.
rv_dir="$top/.cache/libfdt-riscv64"
rv_lib=usr/lib/riscv64-linux-gnu
if [ ! -f "$rv_dir/$rv_lib/libfdt.a" ] || [ ! -f "$rv_dir/$rv_lib/libfdt-lp64.a" ]; then
    echo "[deps] fetching trixie's libfdt-dev (riscv64) into .cache/libfdt-riscv64"
    rv_deb="$(bash "$top/scripts/trixie-deb.sh" --arch riscv64 libfdt-dev)" ||
        die "cannot fetch libfdt-dev (riscv64) from trixie"
    rm -rf "$rv_dir.new"
    mkdir -p "$rv_dir.new"
    dpkg-deb -x "$rv_deb" "$rv_dir.new" || die "cannot unpack $rv_deb"
    bash "$top/scripts/libfdt-riscv64.sh" "$rv_dir.new" ||
        die "$(basename "$rv_deb") does not link freestanding with riscv64-linux-gnu-gcc $(riscv64-linux-gnu-gcc -dumpfullversion) (above)"
    basename "$rv_deb" > "$rv_dir.new/.deb"
    rm -rf "$rv_dir"
    mv "$rv_dir.new" "$rv_dir"
fi
echo "[deps] all build and test dependencies present"

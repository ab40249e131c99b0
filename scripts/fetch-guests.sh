#!/usr/bin/env bash
# Fetch the guest images Keel's system tests boot, from Debian's arm64 archive:
#   .cache/guests/Image              Debian's arm64 Linux kernel (raw Image)
#   .cache/guests/initramfs.cpio.gz  busybox initramfs; its /init prints
#                                    "KEEL-GUEST-READY" and then gives a shell
#                                    with the prompt "keel-guest# ";
#                                    /bin/hwdebug is tests/linux/hwdebug.c,
#                                    /bin/mtecheck tests/linux/mtecheck.c,
#                                    /bin/perfcheck tests/linux/perfcheck.c.
#   .cache/boards/bcm2711-rpi-4-b.dtb  the Raspberry Pi 4's device tree from
#                                    the same kernel package, the board DT of
#                                    tools/keel-run --board raspi4b.
# With --arch riscv64 (or --arch all), from Debian 13's riscv64 archive
# instead (or as well), through scripts/trixie-deb.sh (bookworm has no riscv64):
#   .cache/guests/riscv64/Image              trixie's riscv64 kernel (Image)
#   .cache/guests/riscv64/initramfs.cpio.gz  the same initramfs, riscv64
#   .cache/guests/riscv64/kernel.config      that kernel's /boot/config-*
# The default is --arch arm64, all the tests boot so far.
# Idempotent: anything already in the cache is reused.
set -euo pipefail

die() { echo "[guests] error: $*" >&2; exit 1; }
say() { echo "[guests] $*"; }
usage() { echo "usage: $0 [--arch arm64|riscv64|all]..." >&2; exit 2; }

arches=""
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) [ $# -ge 2 ] || usage; a="$2"; shift 2 ;;
        --arch=*) a="${1#--arch=}"; shift ;;
        -h|--help) usage ;;
        *) echo "[guests] error: unknown argument '$1'" >&2; usage ;;
    esac
    case "$a" in
        arm64|riscv64) arches="$arches $a" ;;
        all) arches="$arches arm64 riscv64" ;;
        *) die "unknown architecture '$a' (arm64, riscv64 or all)" ;;
    esac
done
[ -n "$arches" ] || arches=arm64
want() { case " $arches " in *" $1 "*) return 0 ;; esac; return 1; }

here="$(cd "$(dirname "$0")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || dirname "$here")"
cache="$root/.cache/guests"
mkdir -p "$cache"
git -C "$root" check-ignore -q .cache/guests 2>/dev/null || echo '/.cache/' >> "$root/.gitignore"

# The guest's /init, the same for every architecture: set up, load the
# modules in /lib/modules, print KEEL-GUEST-READY, give the console a shell.
guest_init() {
    cat <<'EOF'
#!/bin/sh
# Keel test guest init: set up, announce readiness, hand the console a shell.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=vt100
export PS1='keel-guest# '
for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done
echo
echo KEEL-GUEST-READY
cd /root
# cttyhack gives the shell the real console tty, so job control and ^C work.
setsid cttyhack sh -i || sh -i
poweroff -f
EOF
}

# pack_rootfs DIR OUT: DIR as a gzip'd newc cpio, files owned by root,
# in a stable order.
pack_rootfs() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -R 0:0 --quiet | gzip -9) > "$2"
}

# ---- riscv64 (Debian 13) -----------------------------------------------------
# Bump when the riscv64 initramfs contents change, so caches are rebuilt; the
# kernel's version is part of the stamp as well (its modules are inside).
RV_INITRAMFS_VERSION=2
# The same modules as the arm64 guest's (virtio_console is built in here);
# they are modules (=m) in trixie's riscv64 kernel too, shipped
# xz-compressed (decompressed here, signature kept).
RV_GUEST_MODULES="drivers/virtio/virtio_mmio.ko drivers/block/virtio_blk.ko fs/minix/minix.ko
    net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko"
# RISC-V Image header (Documentation/arch/riscv/boot-image-header.rst):
# text_offset at 0x8, image_size at 0x10, magic2 "RSC\x05" at 0x38.
rv_header() { od -An -t"$2" -j "$3" -N "$4" "$1" | tr -d ' '; }

fetch_riscv64() {
    local rc="$cache/riscv64" kver="" kpkg kdeb bdeb m f
    for tool in dpkg-deb tar cpio gzip xz gpgv od; do
        command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/deps.sh)"
    done
    # shellcheck source=scripts/trixie-deb.sh
    . "$here/trixie-deb.sh"
    TRIXIE_ARCH=riscv64  # read by trixie_deb, trixie_field
    export TRIXIE_ARCH
    mkdir -p "$rc"
    [ -s "$rc/Image" ] && kver="$(cat "$rc/Image.version" 2>/dev/null || true)"
    if [ -n "$kver" ] && [ -s "$rc/initramfs.cpio.gz" ] &&
       [ "$(cat "$rc/initramfs.version" 2>/dev/null)" = "$RV_INITRAMFS_VERSION $kver" ]; then
        say "riscv64 kernel: cached ($rc/Image, $kver)"
        say "riscv64 initramfs: cached ($rc/initramfs.cpio.gz)"
        return 0
    fi
    # Kernel and modules come from one package; a cached Image keeps its
    # version unless that package has left trixie (a point release).
    if [ -n "$kver" ]; then
        say "riscv64 kernel: cached ($rc/Image, $kver)"
        kdeb="$(trixie_deb "linux-image-$kver")" || {
            say "linux-image-$kver is no longer in trixie; fetching the current riscv64 kernel"
            kver=""; }
    fi
    if [ -z "$kver" ]; then
        rm -f "$rc/Image" "$rc/Image.version" "$rc/initramfs.cpio.gz" "$rc/initramfs.version"
        # linux-image-riscv64 is a metapackage: Depends: linux-image-VERSION-riscv64 (= ...).
        kpkg="$(trixie_field linux-image-riscv64 Depends | tr ',|' '\n\n' |
                sed -n 's/^ *\(linux-image-[^ ]*-riscv64\)\( .*\)\{0,1\}$/\1/p' | head -n1)" ||
            die "cannot read linux-image-riscv64 from trixie's index"
        [ -n "$kpkg" ] || die "cannot resolve linux-image-riscv64 to a kernel package"
        kver="${kpkg#linux-image-}"
        say "riscv64 kernel: $kpkg"
        kdeb="$(trixie_deb "$kpkg")" || die "cannot fetch $kpkg (riscv64)"
    fi

    tmp="$(mktemp -d "$rc/build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    # One pass over the 100 MB package: /boot and the three modules.
    # (Debian 13 is merged-/usr: modules in /usr/lib/modules.)
    local pats=("./boot/*")
    for m in $RV_GUEST_MODULES; do pats+=("*/modules/$kver/kernel/$m*"); done
    say "extracting $(basename "$kdeb")"
    mkdir "$tmp/kernel"
    dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp/kernel" --wildcards "${pats[@]}" ||
        die "$(basename "$kdeb") lacks one of: /boot/vmlinu*, $RV_GUEST_MODULES"

    if [ ! -s "$rc/Image" ]; then
        f="$(echo "$tmp"/kernel/boot/vmlinu[xz]-"$kver")"
        [ -f "$f" ] || die "no /boot/vmlinux-$kver or vmlinuz-$kver in $(basename "$kdeb")"
        if [ "$(rv_header "$f" x1 0 2)" = 1f8b ]; then
            say "$(basename "$f") is gzip-compressed; decompressing"
            gzip -dc "$f" > "$tmp/Image"
        else
            cp "$f" "$tmp/Image"
        fi
        local magic toff isize
        magic="$(rv_header "$tmp/Image" x1 $((0x38)) 4)"
        [ "$magic" = 52534305 ] ||
            die "$(basename "$f") is not a RISC-V Image (magic2 '$magic' at 0x38, want 52534305 \"RSC\\x05\")"
        toff="$(rv_header "$tmp/Image" u8 8 8)"
        isize="$(rv_header "$tmp/Image" u8 16 8)"
        cp "$tmp"/kernel/boot/config-"$kver" "$rc/kernel.config" 2>/dev/null || true
        mv "$tmp/Image" "$rc/Image"
        echo "$kver" > "$rc/Image.version"
        say "riscv64 kernel: $rc/Image ($(stat -c %s "$rc/Image") bytes, $kver;" \
            "header: text_offset $(printf 0x%x "$toff"), image_size $(printf 0x%x "$isize"))"
    fi

    bdeb="$(trixie_deb busybox-static)" || die "cannot fetch busybox-static (riscv64)"
    say "building riscv64 initramfs from $(basename "$bdeb")"
    dpkg-deb -x "$bdeb" "$tmp/deb"
    local rootfs="$tmp/root" bb
    mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,lib/modules}
    for bb in "$tmp/deb/usr/bin/busybox" "$tmp/deb/bin/busybox" ""; do [ ! -f "$bb" ] || break; done
    [ -n "$bb" ] || die "no busybox binary in $(basename "$bdeb")"
    install -m 0755 "$bb" "$rootfs/bin/busybox"
    for m in $RV_GUEST_MODULES; do
        f="$(echo "$tmp"/kernel/*/modules/"$kver"/kernel/"$m"* "$tmp"/kernel/*/*/modules/"$kver"/kernel/"$m"* |
             tr ' ' '\n' | grep -v '\*' | head -n1)"
        [ -n "$f" ] || die "module $m missing from $(basename "$kdeb")"
        case "$f" in
            *.ko) install -m 0644 "$f" "$rootfs/lib/modules/" ;;
            *.ko.xz) xz -dc "$f" > "$rootfs/lib/modules/$(basename "$m")" ;;
            *.ko.gz) gzip -dc "$f" > "$rootfs/lib/modules/$(basename "$m")" ;;
            *.ko.zst) command -v zstd >/dev/null || die "$f needs zstd"
                      zstd -qdc "$f" > "$rootfs/lib/modules/$(basename "$m")" ;;
            *) die "module $f: unknown compression" ;;
        esac
    done
    ln -s busybox "$rootfs/bin/sh"
    if ! mknod -m 600 "$rootfs/dev/console" c 5 1 2>/dev/null; then
        say "warning: cannot mknod /dev/console (not root?); /init output may be lost"
    fi
    guest_init > "$rootfs/init"
    chmod 0755 "$rootfs/init"
    pack_rootfs "$rootfs" "$tmp/initramfs.cpio.gz"
    mv "$tmp/initramfs.cpio.gz" "$rc/initramfs.cpio.gz"
    echo "$RV_INITRAMFS_VERSION $kver" > "$rc/initramfs.version"
    rm -rf "$tmp"; trap - EXIT
    say "riscv64 initramfs: $rc/initramfs.cpio.gz ($(stat -c %s "$rc/initramfs.cpio.gz") bytes)"
}

if want riscv64; then fetch_riscv64; fi
if ! want arm64; then say "done"; exit 0; fi

# ---- arm64 (Debian 12) -------------------------------------------------------
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
for tool in apt-get apt-cache dpkg-deb cpio gzip; do
    command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/deps.sh)"
done

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "enabling the arm64 architecture"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq || die "apt-get update failed"
fi

updated=0
# apt_download PKG: download PKG's .deb into $cache (running apt-get update
# once and retrying if the first attempt fails, e.g. stale package lists).
# A copy of every .deb also goes to $KEEL_DOWNLOADS (~/.cache/keel/debs), outside
# the clone, so a fresh clone on the same machine (CI) does not fetch 150 MB again.
downloads="${KEEL_DOWNLOADS:-${XDG_CACHE_HOME:-$HOME/.cache}/keel/debs}"
mkdir -p "$downloads" 2>/dev/null || downloads=""
apt_download() {
    local name="${1%%:*}" f
    if [ -n "$downloads" ]; then
        for f in "$downloads/$name"_*.deb; do
            [ -e "$f" ] && cp "$f" "$cache/" && say "$1: from $downloads" && return 0
        done
    fi
    apt_download_fresh "$1" || return 1
    [ -z "$downloads" ] || cp "$cache/$name"_*.deb "$downloads/" 2>/dev/null || true
}

apt_download_fresh() {
    (cd "$cache" && apt-get download -qq "$1" 2>/dev/null) && return 0
    [ "$updated" = 0 ] || return 1
    say "download of $1 failed; running apt-get update and retrying"
    $SUDO apt-get update -qq || return 1
    updated=1
    (cd "$cache" && apt-get download -qq "$1")
}

# deb_of NAME: the cached .deb for package NAME (arm64), if any.
deb_of() { local f; for f in "$cache/$1"_*_arm64.deb; do [ -e "$f" ] && echo "$f"; break; done; }

# ---- kernel ---------------------------------------------------------------
if [ -s "$cache/Image" ]; then
    say "kernel: cached ($cache/Image)"
else
    kpkg="$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
            sed -n 's/^ *Depends: \(linux-image-[^:]*\).*/\1/p' | head -n1)"
    if [ -z "$kpkg" ]; then
        $SUDO apt-get update -qq || die "apt-get update failed"
        updated=1
        kpkg="$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[^:]*\).*/\1/p' | head -n1)"
    fi
    [ -n "$kpkg" ] || die "cannot resolve linux-image-arm64:arm64 to a kernel package"
    deb="$(deb_of "$kpkg")"
    if [ -z "$deb" ]; then
        say "downloading $kpkg ..."
        apt_download "$kpkg:arm64" || die "cannot download $kpkg:arm64"
        deb="$(deb_of "$kpkg")"
        [ -n "$deb" ] || die "downloaded $kpkg but cannot find its .deb in $cache"
    fi
    say "extracting $(basename "$deb")"
    tmp="$(mktemp -d "$cache/kernel.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb -x "$deb" "$tmp"
    vmlinuz="$(echo "$tmp"/boot/vmlinuz-*)"
    [ -f "$vmlinuz" ] || die "no /boot/vmlinuz-* in $(basename "$deb")"
    if [ "$(head -c2 "$vmlinuz" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
        say "$(basename "$vmlinuz") is gzip-compressed; decompressing"
        gzip -dc "$vmlinuz" > "$tmp/Image"
    else
        cp "$vmlinuz" "$tmp/Image"
    fi
    magic="$(dd if="$tmp/Image" bs=1 skip=$((0x38)) count=4 2>/dev/null | od -An -tx1 | tr -d ' ')"
    [ "$magic" = 41524d64 ] || die "$(basename "$vmlinuz") is not an arm64 Image (magic '$magic' at 0x38)"
    mv "$tmp/Image" "$cache/Image"
    echo "${kpkg#linux-image-}" > "$cache/Image.version"
    rm -rf "$tmp"; trap - EXIT
    say "kernel: $cache/Image ($(stat -c %s "$cache/Image") bytes, ${kpkg#linux-image-})"
fi

# ---- initramfs ------------------------------------------------------------
# Bump when the initramfs layout changes, so caches are rebuilt; the test
# programs' sources (tests/linux) are in it too, so editing them rebuilds it.
INITRAMFS_VERSION="7-$(cat "$root"/tests/linux/* | sha1sum | cut -c1-12)"
GUEST_MODULES="drivers/virtio/virtio_mmio.ko drivers/block/virtio_blk.ko fs/minix/minix.ko
    net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko
    drivers/char/virtio_console.ko"
if [ "$(cat "$cache/initramfs.version" 2>/dev/null)" != "$INITRAMFS_VERSION" ]; then
    rm -f "$cache/initramfs.cpio.gz"
fi
if [ -s "$cache/initramfs.cpio.gz" ]; then
    say "initramfs: cached ($cache/initramfs.cpio.gz)"
else
    deb="$(deb_of busybox-static)"
    if [ -z "$deb" ]; then
        say "downloading busybox-static ..."
        apt_download busybox-static:arm64 || die "cannot download busybox-static:arm64"
        deb="$(deb_of busybox-static)"
        [ -n "$deb" ] || die "downloaded busybox-static but cannot find its .deb in $cache"
    fi
    say "building initramfs from $(basename "$deb")"
    tmp="$(mktemp -d "$cache/initramfs.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb -x "$deb" "$tmp/deb"
    rootfs="$tmp/root"
    mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
    install -m 0755 "$tmp/deb/bin/busybox" "$rootfs/bin/busybox"
    # A few modules of the same kernel, for virtio devices (passed through or
    # Keel's): the virtio-mmio transport, virtio-blk, the minix filesystem,
    # virtio-net (with the failover modules it needs; /init loads them in
    # name order, which puts each after what it depends on), virtio-console.
    kdeb="$(deb_of "linux-image-$(cat "$cache/Image.version")")"
    [ -n "$kdeb" ] || die "kernel package for $(cat "$cache/Image.version") not in $cache"
    dpkg-deb -x "$kdeb" "$tmp/kernel"
    mkdir -p "$rootfs/lib/modules"
    for m in $GUEST_MODULES; do
        install -m 0644 "$tmp/kernel"/lib/modules/*/kernel/"$m" "$rootfs/lib/modules/" ||
            die "module $m missing from $(basename "$kdeb")"
    done
    ln -s busybox "$rootfs/bin/sh"
    # /bin/hwdebug: hardware breakpoints and watchpoints through ptrace
    # (tests/linux/hwdebug.c), freestanding, so no arm64 libc is needed.
    command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc not found (run scripts/deps.sh)"
    aarch64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
        -O2 -Wall -Wextra -Werror -o "$rootfs/bin/hwdebug" "$root/tests/linux/hwdebug.c" ||
        die "cannot build tests/linux/hwdebug.c"
    # /bin/mtecheck: memory tagging from a Linux process (tests/linux/mtecheck.c)
    aarch64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
        -O2 -Wall -Wextra -Werror -o "$rootfs/bin/mtecheck" "$root/tests/linux/mtecheck.c" ||
        die "cannot build tests/linux/mtecheck.c"
    # /bin/perfcheck: perf_event_open on the hardware events (tests/linux/perfcheck.c)
    aarch64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
        -O2 -Wall -Wextra -Werror -o "$rootfs/bin/perfcheck" "$root/tests/linux/perfcheck.c" ||
        die "cannot build tests/linux/perfcheck.c"
    # The kernel opens /dev/console for init before anything is mounted.
    if ! mknod -m 600 "$rootfs/dev/console" c 5 1 2>/dev/null; then
        say "warning: cannot mknod /dev/console (not root?); /init output may be lost"
    fi
    guest_init > "$rootfs/init"
    chmod 0755 "$rootfs/init"
    pack_rootfs "$rootfs" "$tmp/initramfs.cpio.gz"
    mv "$tmp/initramfs.cpio.gz" "$cache/initramfs.cpio.gz"
    echo "$INITRAMFS_VERSION" > "$cache/initramfs.version"
    rm -rf "$tmp"; trap - EXIT
    say "initramfs: $cache/initramfs.cpio.gz ($(stat -c %s "$cache/initramfs.cpio.gz") bytes)"
fi
# ---- board device trees ---------------------------------------------------
boards="$root/.cache/boards"
PI4_DTB=bcm2711-rpi-4-b.dtb
if [ -s "$boards/$PI4_DTB" ]; then
    say "raspi4b DT: cached ($boards/$PI4_DTB)"
else
    kdeb="$(deb_of "linux-image-$(cat "$cache/Image.version")")"
    [ -n "$kdeb" ] || die "kernel package for $(cat "$cache/Image.version") not in $cache"
    mkdir -p "$boards"
    tmp="$(mktemp -d "$boards/dtb.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp" --wildcards "./usr/lib/linux-image-*/broadcom/$PI4_DTB" ||
        die "no broadcom/$PI4_DTB in $(basename "$kdeb")"
    mv "$tmp"/usr/lib/linux-image-*/broadcom/"$PI4_DTB" "$boards/$PI4_DTB"
    rm -rf "$tmp"; trap - EXIT
    say "raspi4b DT: $boards/$PI4_DTB (from $(basename "$kdeb"))"
fi
say "done"

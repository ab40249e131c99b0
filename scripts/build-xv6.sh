#!/bin/bash
# Builds MIT's xv6-riscv (kept unmodified in ../shared/guests/xv6-riscv, or
# $KEEL_XV6_SRC) into build/xv6: its kernel (kernel/kernel, an ELF entered in
# M-mode at 0x80000000) and its file system image (fs.img: README and the
# user programs, written by tools/xv6-mkfs because the shared copy has no
# mkfs/). The source is copied first: it stays untouched. Exits 2 when the
# source is not there, so callers can tell "no xv6 here" from a failed build.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${KEEL_XV6_SRC:-../shared/guests/xv6-riscv}
OUT=build/xv6
CROSS=${CROSS:-riscv64-linux-gnu-}
UPROGS="cat echo forktest grep init kill ln ls mkdir rm sh stressfs usertests grind wc zombie keeltests"

if [ ! -f "$SRC/kernel/main.c" ]; then
    echo "[xv6] no xv6-riscv source at $SRC (set KEEL_XV6_SRC)" >&2
    exit 2
fi
mkdir -p "$OUT"
# rsync is not assumed: copy what changed (cp -u), keep what was built.
cp -ru "$SRC"/. "$OUT"/
# Keel's driver of xv6's own usertests (tests/xv6/keeltests.c): it includes
# user/usertests.c as it is, and builds by xv6's own rule for user programs.
cp -u tests/xv6/keeltests.c "$OUT"/user/
targets="kernel/kernel"
for p in $UPROGS; do targets="$targets user/_$p"; done
make -s -C "$OUT" TOOLPREFIX="$CROSS" $targets
files="$OUT/README"
for p in $UPROGS; do files="$files $OUT/user/_$p"; done
python3 tools/xv6-mkfs "$OUT/fs.img" $files
echo "[xv6] kernel: $OUT/kernel/kernel, file system: $OUT/fs.img"

#!/usr/bin/env bash
# scripts/libfdt-riscv64.sh DIR: for trixie's libfdt-dev (riscv64) unpacked in
# DIR (scripts/deps.sh does it into .cache/libfdt-riscv64):
#  1. writes DIR/usr/lib/riscv64-linux-gnu/libfdt-lp64.a, the same objects
#     marked soft-float. Trixie builds them for lp64d (double-float ABI), which
#     ld refuses to link with lp64 objects, the ABI of code that leaves the FP
#     registers alone (Linux, and Keel as on arm64 with -mgeneral-regs-only);
#     libfdt has no floating-point instruction or argument, which is checked
#     on the disassembly first. Their .riscv.attributes go too, so that an
#     image linked with them does not claim F and D.
#  2. checks that each archive links with bookworm's riscv64-linux-gnu-gcc into
#     a freestanding image (-ffreestanding -nostdlib, medany, static PIE, only
#     libgcc) that calls fdt_check_header: it prints what libfdt leaves
#     undefined, fails if that is not exactly what Keel's own libc (src/lib)
#     provides (RV_FDT_NEEDS), and links again with stubs for exactly those,
#     warnings fatal.
set -euo pipefail

die() { echo "[deps] error: $*" >&2; exit 1; }
say() { echo "[deps] $*"; }

[ $# -eq 1 ] && [ -d "$1" ] || die "usage: $0 DIR (an unpacked libfdt-dev riscv64 .deb)"
d="$(cd "$1" && pwd)"
top="$(cd "$(dirname "$0")/.." && pwd)"
lib="$d/usr/lib/riscv64-linux-gnu"
X=riscv64-linux-gnu-
for tool in ${X}gcc ${X}ar ${X}objdump ${X}objcopy python3; do
    command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/deps.sh)"
done
[ -f "$lib/libfdt.a" ] && [ -f "$d/usr/include/libfdt.h" ] ||
    die "$d has no usr/lib/riscv64-linux-gnu/libfdt.a or usr/include/libfdt.h"

# What libfdt.a may take from Keel's own libc (src/lib), the same as on arm64;
# anything else (a glibc-only or _FORTIFY_SOURCE symbol) fails the check.
RV_FDT_NEEDS="__stack_chk_fail __stack_chk_guard memchr memcmp memcpy memmove memset strchr strlen strnlen strrchr strtoul"

t="$(mktemp -d)"
trap 'rm -rf "$t"' EXIT

# ---- 1. libfdt-lp64.a ------------------------------------------------------
# objdump -d instruction lines: "  addr:<TAB>encoding<SPACES><TAB>mnemonic operands
# [# comment]"; only the mnemonic and the operands are looked at.
fp="$(${X}objdump -d "$lib/libfdt.a" | awk -F'\t' '/^ +[0-9a-f]+:\t/ && NF >= 3 {
          sub(/#.*/, "", $3); print $3 }' |
      grep -P '^(c\.)?f[a-z.]+(\s|$)|\bf(t|s|a)[0-9]+\b|\bfcsr\b|\bfrm\b|\bfflags\b' || true)"
[ -z "$fp" ] || die "libfdt.a (riscv64) uses floating point, so no soft-float copy:
$(echo "$fp" | head -5)"
mkdir "$t/obj"
(cd "$t/obj" && ${X}ar x "$lib/libfdt.a") || die "cannot unpack $lib/libfdt.a"
members="$(${X}ar t "$lib/libfdt.a")"
python3 - "$t/obj" $members <<'PY' || die "cannot mark libfdt's objects soft-float"
import os, struct, sys
d = sys.argv[1]
for m in sys.argv[2:]:
    f = os.path.join(d, m)
    b = bytearray(open(f, "rb").read())
    # ELF64, little-endian, EM_RISCV (243); e_flags at 0x30, float ABI in bits 1-2.
    if b[:4] != b"\x7fELF" or b[4] != 2 or b[5] != 1 or struct.unpack_from("<H", b, 18)[0] != 243:
        sys.exit(f"{m}: not a 64-bit little-endian RISC-V ELF object")
    flags = struct.unpack_from("<I", b, 0x30)[0]
    struct.pack_into("<I", b, 0x30, flags & ~0x6)
    open(f, "wb").write(b)
PY
for m in $members; do
    ${X}objcopy --remove-section .riscv.attributes "$t/obj/$m" || die "objcopy failed on $m"
done
rm -f "$lib/libfdt-lp64.a"
# shellcheck disable=SC2086
(cd "$t/obj" && ${X}ar rcsD "$lib/libfdt-lp64.a" $members) || die "cannot write libfdt-lp64.a"

# ---- 2. freestanding link check -----------------------------------------------
cat > "$t/t.c" <<'C'
#include <libfdt.h>
static const unsigned long blob[8];
int keel_fdt_probe(void);
int keel_fdt_probe(void) { return fdt_check_header(blob); }
void _start(void);
void _start(void) { for (;;) (void)keel_fdt_probe(); }
C
{
    echo "unsigned long __stack_chk_guard;"
    for s in $RV_FDT_NEEDS; do
        [ "$s" = __stack_chk_guard ] || echo "void $s(void); void $s(void) {}"
    done
} > "$t/stubs.c"
need="$(printf '%s\n' $RV_FDT_NEEDS | LC_ALL=C sort | xargs)"
# undefined_in LOG: the symbols a failed link left undefined, sorted.
undefined_in() { sed -n "s/.*undefined reference to \`\(.*\)'.*/\1/p" "$1" | LC_ALL=C sort -u | xargs; }
cc_include="$(${X}gcc -print-file-name=include)"

for abi in lp64d lp64; do
    if [ $abi = lp64d ]; then march=rv64gc a="$lib/libfdt.a"
    else march=rv64imac_zicsr_zifencei a="$lib/libfdt-lp64.a"; fi
    cflags=(-march="$march" -mabi="$abi" -mcmodel=medany -O2 -std=gnu11 -Wall -Werror
            -ffreestanding -fno-builtin -fno-pic -fno-pie -fno-stack-protector
            -nostdinc -isystem "$cc_include" -I"$top/src/include/libc" -idirafter "$d/usr/include")
    # shellcheck disable=SC2054 # (commas inside -Wl, options)
    ld=("${X}gcc" -march="$march" -mabi="$abi" -nostdlib -static-pie -Wl,--no-dynamic-linker
        -Wl,--fatal-warnings -Wl,-e,_start)
    ${X}gcc "${cflags[@]}" -c "$t/t.c" -o "$t/t.o" || die "cannot compile the test ($abi)"
    ${X}gcc "${cflags[@]}" -w -c "$t/stubs.c" -o "$t/stubs.o" || die "cannot compile the stubs ($abi)"
    # fdt_check_header alone, then every object of the archive: both must
    # fail, on undefined references only.
    for what in one all; do
        # shellcheck disable=SC2054
        if [ $what = one ]; then objs=("$a"); else objs=(-Wl,--whole-archive "$a" -Wl,--no-whole-archive); fi
        if "${ld[@]}" -o "$t/t.elf" "$t/t.o" "${objs[@]}" -lgcc 2>"$t/$what.log"; then
            die "the $abi test linked without Keel's libc: not a freestanding link?"
        fi
        if grep -v "undefined reference to\|ld returned 1 exit status\|: in function" "$t/$what.log" | grep -q .; then
            cat "$t/$what.log" >&2
            die "linking libfdt ($abi) fails for another reason than undefined symbols"
        fi
    done
    got="$(undefined_in "$t/all.log")"
    if [ $abi = lp64d ]; then
        say "libfdt (riscv64): fdt_check_header leaves undefined: $(undefined_in "$t/one.log")"
        say "libfdt (riscv64): the whole libfdt.a leaves undefined: $got"
    fi
    [ "$got" = "$need" ] || die "libfdt ($abi) needs '$got'; Keel's libc provides '$need'"
    "${ld[@]}" -o "$t/t.elf" "$t/t.o" "$t/stubs.o" -Wl,--whole-archive "$a" -Wl,--no-whole-archive -lgcc ||
        die "libfdt ($abi) does not link even with all of '$need' defined"
    say "libfdt (riscv64, $abi, $(basename "$a")): links freestanding (medany, static PIE) with libgcc + those symbols"
done

#!/usr/bin/env python3
"""Check that boot.S can relocate keel.elf: fail the build otherwise.

boot.S applies the dynamic relocations with the MMU off, before any C runs,
and knows only the RELATIVE type (R_AARCH64_RELATIVE, R_RISCV_RELATIVE) and
skips NONE. It writes whole
64-bit words, which must be aligned: with the MMU off every data access is
Device memory, where an unaligned one faults. And nothing in .text may need
patching: code is PC-relative, a relocation there means an `ldr xN, =sym`
literal (or similar) slipped in, which would be wrong until relocated.

Reads the ELF itself (ELF-64 Object File Format; AAELF64 and the RISC-V ELF
psABI for the types), so
it does not depend on which binutils or LLVM tools built Keel.
"""
import struct
import sys

SHT_RELA = 4
# architecture -> (NONE, RELATIVE)
RELOC_TYPES = {"aarch64": (0, 1027), "riscv64": (0, 3), "riscv64m": (0, 3)}


def sections(elf):
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3a)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names_off = hdrs[shstrndx][4]
    for h in hdrs:
        name = elf[names_off + h[0]:elf.index(b"\0", names_off + h[0])].decode()
        yield name, h[1], h[3], h[4], h[5]  # name, type, addr, file offset, size


def main(arch, path):
    r_none, r_relative = RELOC_TYPES[arch]
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        sys.exit(f"check-relocs: {path} is not a little-endian ELF64 file")
    secs = list(sections(elf))
    text = [(addr, addr + size) for name, _, addr, _, size in secs if name == ".text"]
    errors, count = [], 0
    for name, kind, _, off, size in secs:
        if kind != SHT_RELA:
            continue
        for at in range(off, off + size, 24):
            r_offset, r_info, _ = struct.unpack_from("<QQq", elf, at)
            count += 1
            rtype = r_info & 0xffffffff
            if rtype == r_none:
                continue
            if rtype != r_relative:
                errors.append(f"{r_offset:#x}: relocation type {rtype}, boot.S applies only RELATIVE")
            if r_offset % 8:
                errors.append(f"{r_offset:#x}: unaligned relocated word")
            if any(lo <= r_offset < hi for lo, hi in text):
                errors.append(f"{r_offset:#x}: relocation in .text (an `ldr xN, =symbol`?)")
    for e in errors[:20]:
        print(f"check-relocs: {path}: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    return count


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in RELOC_TYPES:
        sys.exit("usage: check-relocs.py aarch64|riscv64|riscv64m keel.elf")
    main(sys.argv[1], sys.argv[2])

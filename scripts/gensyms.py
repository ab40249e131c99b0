#!/usr/bin/env python3
"""Turn `nm -n` output of keel.elf into an assembly symbol table (.ksyms).

Keel is linked twice: once with an empty table, then with the table of the
first link. .ksyms sits after .text, so text addresses do not move between the
two links (the Makefile checks this).
"""
import sys


def main():
    syms = []
    start = None
    if len(sys.argv) > 1:
        for line in open(sys.argv[1]):
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tT" and not parts[2].startswith("$"):
                syms.append((int(parts[0], 16), parts[2]))
                if parts[2] == "_start":
                    start = syms[-1][0]
        if start is None:
            sys.exit(f"gensyms: no _start in {sys.argv[1]}")
    syms = sorted((a - start, name) for a, name in syms)
    out = ['    .section .ksyms, "a"', "    .balign 8",
           "    .global ksyms_count, ksyms_addrs, ksyms_name_offsets, ksyms_names",
           "ksyms_count:", f"    .quad {len(syms)}", "ksyms_addrs:"]
    out += [f"    .quad 0x{a:x}" for a, _ in syms]
    out.append("ksyms_name_offsets:")
    off = 0
    for _, name in syms:
        out.append(f"    .long {off}")
        off += len(name) + 1
    out.append("ksyms_names:")
    out += [f'    .asciz "{name}"' for _, name in syms]
    print("\n".join(out))


if __name__ == "__main__":
    main()

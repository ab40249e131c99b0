#!/usr/bin/env python3
"""Keel in M-mode on RISC-V harts without the H extension: native against
Keel, in one run.

  micro   build/guests/riscv64m/mbench.elf (bench/guest-riscv64m) under
          -icount shift=0, natively as the board's firmware (QEMU virt
          -bios none) and under Keel: instructions per emulated CSR access,
          per shadow-page fill, per CLINT timer interrupt delivered; the
          difference is Keel's.
  xv6     MIT's xv6 (build/xv6, scripts/build-xv6.sh), 1 hart: wall-clock
          from QEMU's start to the shell's first prompt, and with
          --usertests the wall-clock of `usertests -q` to ALL TESTS PASSED
          (minutes natively, much longer under Keel: not in make bench's
          default run).

usage: bench/mmode.py [--only micro|xv6] [--usertests] [--timeout SECONDS]
"""
import argparse
import os
import re
import subprocess
import sys
import time

import pexpect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = os.environ.get("KEEL_QEMU_RISCV64") or "qemu-system-riscv64"
MBENCH = os.path.join(ROOT, "build", "guests", "riscv64m", "mbench.elf")
XV6 = os.path.join(ROOT, "build", "xv6")
KEEL_RUN = os.path.join(ROOT, "tools", "keel-run")
NATIVE = [QEMU, "-M", "virt", "-cpu", "rv64,h=false", "-bios", "none", "-nographic",
          "-nic", "none"]


def keel_argv(vm, smp=1, icount=False):
    argv = [sys.executable, KEEL_RUN, "--arch", "riscv64", "--no-h", "--smp", str(smp),
            "--mem", "1G", "--vm", vm]
    return argv + (["--icount"] if icount else [])


def mbench(argv, timeout):
    child = pexpect.spawn(argv[0], argv[1:], cwd=ROOT, encoding="utf-8",
                          codec_errors="replace", timeout=timeout)
    try:
        child.expect("MBENCH done")
        out = child.before
    finally:
        child.terminate(force=True)
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"MBENCH (\w+) (\d+)", out)}


def run_micro(args):
    subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "bench", "guest-riscv64m")],
                   check=True)
    native = mbench(NATIVE + ["-m", "256M", "-icount", "shift=0", "-kernel", MBENCH],
                    args.timeout)
    keel = mbench(keel_argv(f"name=mbench,mem=64M,kernel={MBENCH}", icount=True),
                  args.timeout)
    print("\n| operation (instructions, -icount shift=0) | native | Keel | added |")
    print("| --- | ---: | ---: | ---: |")
    names = {"csr": "CSR access in S-mode (csrr sstatus)",
             "fill": "first load from a page (shadow fill)",
             "timer": "CLINT timer: due store to M handler"}
    for k, label in names.items():
        n, v = native.get(k), keel.get(k)
        print(f"| {label} | {n:,} | {v:,} | {v - n:,} |")


def xv6_prompt(argv, timeout, usertests):
    t0 = time.time()
    child = pexpect.spawn(argv[0], argv[1:], cwd=ROOT, encoding="utf-8",
                          codec_errors="replace", timeout=timeout)
    try:
        child.expect(r"\$ ")
        t1 = time.time()
        ut = None
        if usertests:
            child.send("usertests -q\r")
            i = child.expect(["ALL TESTS PASSED", "FAILED", "panic"])
            ut = (time.time() - t1, ["passed", "FAILED", "panic"][i])
    finally:
        child.terminate(force=True)
    return t1 - t0, ut


def run_xv6(args):
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-xv6.sh")],
                       capture_output=True, text=True)
    if r.returncode:
        print(f"xv6: not built ({r.stderr.strip()})")
        return
    kernel, fs = os.path.join(XV6, "kernel", "kernel"), os.path.join(XV6, "fs.img")
    native = NATIVE + ["-m", "128M", "-smp", "1", "-kernel", kernel,
                       "-global", "virtio-mmio.force-legacy=false",
                       "-drive", f"file={fs},if=none,format=raw,id=x0,snapshot=on",
                       "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"]
    keel = keel_argv(f"name=xv6,cpus=1,mem=128M,kernel={kernel},disk={fs},qemu-compat=on")
    n = xv6_prompt(native, args.timeout, args.usertests)
    k = xv6_prompt(keel, args.timeout, args.usertests)
    print("\n| xv6, 1 hart (wall-clock) | native | Keel | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| QEMU start to the first prompt | {n[0]:.1f} s | {k[0]:.1f} s | {k[0] / n[0]:.2f}x |")
    if args.usertests:
        print(f"| usertests -q | {n[1][0]:.0f} s ({n[1][1]}) | {k[1][0]:.0f} s ({k[1][1]}) | "
              f"{k[1][0] / n[1][0]:.1f}x |")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=("micro", "xv6"))
    p.add_argument("--usertests", action="store_true")
    p.add_argument("--timeout", type=int, default=300)
    args = p.parse_args()
    out = subprocess.run([QEMU, "--version"], capture_output=True, text=True).stdout
    print(f"# Keel in M-mode (no H): {out.splitlines()[0] if out else QEMU}, "
          f"{time.strftime('%Y-%m-%d')}")
    if args.only in (None, "micro"):
        run_micro(args)
    if args.only in (None, "xv6"):
        run_xv6(args)


if __name__ == "__main__":
    main()

"""Keel's console hypercalls (docs/hypercalls.md) from bare-metal guests that
have no UART driver: tests/guests/hvc/hvc_console.c, built for Arm (SMCCC
KEEL_HC_CONSOLE_*) and for RISC-V (tests/guests/riscv64/hvc_console.c
includes it; FIDs 2-4 of Keel's SBI extension). Neither guest ever touches its UART: every
line below, PASS/FAIL and SUMMARY included, reached the console through
the calls, so without them the run shows nothing and fails. Each guest
prints a line in one call and one across a page boundary in two (256
bytes a call), gets -3 for buffers outside its RAM and prints that code,
writes a line byte by byte, and reads the key typed here after
"press a key"."""
import re
import subprocess

import pytest

from conftest import KEEL_FATAL, REPO

RV_KEEL = REPO / "build" / "riscv64" / "keel.bin"
SUMMARY = r"SUMMARY: (\d+) passed, (\d+) failed"
KEY = "k"

# What each guest prints, line by line, in this order.
ACROSS = "hvc console: across a page: " + "".join(chr(ord("a") + i % 26) for i in range(260)) + " end"
LINES = [
    "hvc console: hello from the hypercall",
    ACROSS,
    "hvc console: outside RAM -> -3",
    "hvc console: byte by byte",
    "hvc console: press a key",
    f"hvc console: read {ord(KEY):#04x}",
]

ARCHES = {
    # arch: (make command, guest ELF, keel-run arguments)
    "aarch64": (["make", "-C", "tests/guests", "GUEST_DIRS=tests/guests/hvc", "hvc_console"],
                REPO / "build" / "guests" / "hvc_console.elf", ()),
    "riscv64": (["make", "-C", "tests/guests/riscv64", "hvc_console"],
                REPO / "build" / "guests" / "riscv64" / "hvc_console.elf",
                ("--arch", "riscv64", "--keel", str(RV_KEEL))),
}


def qemu_riscv_ok():
    try:
        out = subprocess.run(["qemu-system-riscv64", "--version"], capture_output=True,
                             text=True).stdout
    except FileNotFoundError:
        return False
    m = re.search(r"version (\d+)", out)
    return bool(m) and int(m.group(1)) >= 10


@pytest.mark.parametrize("arch", list(ARCHES))
def test_console_hypercalls(keel, arch):
    build, elf, args = ARCHES[arch]
    if arch == "riscv64":
        if not qemu_riscv_ok():
            pytest.skip("qemu-system-riscv64 10 or later needed (H extension)")
        if not RV_KEEL.is_file():
            pytest.fail(f"{RV_KEEL} missing: run make first")
    res = subprocess.run(build, cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, f"{' '.join(build)} failed:\n{res.stdout}\n{res.stderr}"

    k = keel(*args, "--smp", "2", "--vm", f"name=hvc,cpus=1,mem=64M,kernel={elf}", timeout=60)
    # The key only once the guest has checked that nothing was typed yet.
    k.expect_exact("hvc console: press a key", 60)
    k.send(KEY)
    m = k.expect(SUMMARY, 60)
    k.expect_eof(30)  # SYSTEM_OFF / SRST shutdown: no VM left, Keel powers the board off
    out = k.output
    assert not KEEL_FATAL.search(out), out[-3000:]
    # A lone VM's lines are not tagged today; accept them either way.
    lines = [l[len("[hvc] "):] if l.startswith("[hvc] ") else l for l in out.splitlines()]
    got = [l for l in lines if l.startswith("hvc console: ")]
    assert got == LINES, "\n".join(got)
    fails = [l for l in lines if "FAIL: " in l]
    assert not fails and m.group(2) == "0", "\n".join(fails)
    assert int(m.group(1)) >= 10, out[-3000:]
    for what in ("CONSOLE_WRITE of 38 bytes returned 38",
                 "a 293-byte line across a page boundary: 256 bytes in the first call",
                 "CONSOLE_READ_BYTE before anything is typed", "CONSOLE_READ_BYTE gave a byte"):
        assert any(l.startswith("PASS: hvc console: " + what) for l in lines), what

"""Keel on RISC-V harts without the H extension (QEMU 10 virt, -cpu
rv64,h=false, -bios none): Keel is the M-mode firmware and runs guests in
U-mode with trap-and-emulate and shadow page tables. MIT's xv6-riscv,
unmodified (it starts in M-mode, programs the CLINT and PMP, drops to
S-mode with Sv39 paging, and takes its disk from the first virtio-mmio
transport): with 1 and 3 harts, running its own user programs and a part of
its usertests; two xv6 VMs side by side, each with its own disk. The
bare-metal test guests of this mode are in test_riscv_mmode_guests.py."""
import os
import re
import subprocess

import pytest

from conftest import KEEL_FATAL, REPO, focus, shell_cmd
from test_multi_vm import wait_each

QEMU_RV = os.environ.get("KEEL_QEMU_RISCV64") or "qemu-system-riscv64"
KEEL_RVM = REPO / "build" / "riscv64m" / "keel.bin"
XV6 = REPO / "build" / "xv6"
PROMPT = "$ "
# usertests that exercise what Keel emulates for xv6: copyin/copyout (the
# kernel walking user page tables, faults on kernel addresses), sbrk (page
# tables growing and shrinking: shadows kept in step), exec (fresh address
# spaces), fork/exit/wait (many satp switches), pipes (sleep/wakeup across
# timer interrupts), and writes to the disk.
USERTESTS = ("copyin", "copyout", "sbrkbasic", "exectest", "pipe1", "exitwait", "writetest")
# What make test runs of xv6's usertests, through tests/xv6/keeltests.c
# (usertests.c unchanged, several tests in one process, without its
# free-page count: about 55 s under Keel): the kernel's copyin/copyout and
# copyinstr over good and bad user addresses, sbrk growing, shrinking and
# its edges (sbrklast, sbrk8000, pgbug, sbrkbugs), the kernel and MAXVA
# unreachable from user space (kernmem, MAXVAplus), writes to text and below
# the stack faulting (textwrite, stacktest), exec with big arguments,
# fork/exit/wait/reparenting, pipes, preemption by the timer, files.
KEELTESTS = ("copyin", "copyout", "copyinstr1", "copyinstr2", "copyinstr3", "rwsbrk",
             "truncate1", "exitiput", "openiput", "opentest", "exectest", "pipe1", "preempt",
             "exitwait", "reparent", "forkfork", "sbrkbasic", "kernmem", "MAXVAplus", "sbrkarg",
             "validatetest", "bsstest", "bigargtest", "argptest", "stacktest", "textwrite",
             "pgbug", "sbrkbugs", "sbrklast", "sbrk8000", "forktest")
# The long runs (minutes): xv6's usertests (a subset, and the whole -q),
# OpenSBI with Debian's Linux as one guest. `make mmode-long` runs them
# (KEEL_MMODE_LONG=1).
LONG = os.environ.get("KEEL_MMODE_LONG") == "1"
long_run = pytest.mark.skipif(not LONG, reason="long: make mmode-long (KEEL_MMODE_LONG=1)")
OPENSBI_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
RV_LINUX = REPO / ".cache" / "guests" / "riscv64"


def qemu_major():
    try:
        out = subprocess.run([QEMU_RV, "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return 0
    m = re.search(r"version (\d+)", out)
    return int(m.group(1)) if m else 0


if qemu_major() < 10:
    pytest.skip(f"{QEMU_RV} 10 or later needed", allow_module_level=True)


@pytest.fixture(scope="module")
def xv6():
    """build/xv6 from the shared xv6-riscv source (scripts/build-xv6.sh)."""
    if not KEEL_RVM.exists():
        pytest.fail(f"{KEEL_RVM} missing: run make first")
    res = subprocess.run(["bash", "scripts/build-xv6.sh"], cwd=REPO, capture_output=True,
                         text=True)
    if res.returncode == 2:
        pytest.skip(res.stderr.strip())
    assert res.returncode == 0, f"scripts/build-xv6.sh failed:\n{res.stdout}\n{res.stderr}"
    return XV6


def xv6_vm(name, cpus, disk):
    return (f"name={name},cpus={cpus},mem=128M,kernel={XV6 / 'kernel' / 'kernel'},"
            f"disk={disk},qemu-compat=on")


def boot(keel, vms, smp, timeout=120):
    args = ["--keel", str(KEEL_RVM), "--arch", "riscv64", "--no-h", "--smp", str(smp),
            "--mem", "1G"]
    for spec in vms:
        args += ["--vm", spec]
    return keel(*args, timeout=timeout)


def run(proc, command, timeout=60):
    """Types @command at xv6's shell (it echoes it) and returns what it
    printed before the next prompt."""
    proc.send(command + "\r")
    proc.expect_exact(command, timeout)
    proc.expect(re.escape(PROMPT), timeout)
    return proc.child.before.replace("\r", "")


def wait_shell(proc, harts=1, timeout=120):
    """The other harts print their line in whatever order they get the
    console lock, and the shell may start before the last of them has."""
    proc.expect_exact("xv6 kernel is booting", timeout)
    waiting = [f"hart {h} starting" for h in range(1, harts)]
    waiting += ["init: starting sh", PROMPT]
    while waiting:
        seen = proc.expect("|".join(map(re.escape, waiting)), timeout).group(0)
        waiting.remove(seen)


def test_xv6_boots_and_runs_its_programs(keel, xv6):
    """xv6 reaches its shell; ls reads the directory from the disk Keel
    emulates; echo, wc and grep run as processes."""
    proc = boot(keel, [xv6_vm("xv6", 1, XV6 / "fs.img")], smp=1)
    wait_shell(proc)
    out = run(proc, "ls")
    assert re.search(r"^usertests\s+2 \d+ \d+$", out, re.M), out
    assert re.search(r"^console\s+3 \d+ 0$", out, re.M), out
    assert "hello from xv6" in run(proc, "echo hello from xv6")
    out = run(proc, "wc README")
    assert re.search(r"\d+ \d+ \d+ README", out), out
    assert "xv6" in run(proc, "grep xv6 README")
    assert not KEEL_FATAL.search(proc.output)


def test_xv6_with_3_harts(keel, xv6):
    """xv6 with 3 harts on 3 cores: every hart starts (all leave reset at
    the entry, xv6's start() sorts them out), the shell runs a program.
    Each idle hart spins in xv6's scheduler, every lock a trapped sstatus
    access: slow under QEMU, hence the long timeouts."""
    proc = boot(keel, [xv6_vm("xv6", 3, XV6 / "fs.img")], smp=3, timeout=240)
    wait_shell(proc, 3, timeout=240)
    assert "hello from 3 harts" in run(proc, "echo hello from 3 harts", timeout=240)
    assert not KEEL_FATAL.search(proc.output)


def test_xv6_runs_a_subset_of_its_usertests(keel, xv6):
    """xv6's own usertests, 31 of them by name, 8 to a process (keeltests):
    each "test NAME: OK", then the driver's ALL PASSED."""
    proc = boot(keel, [xv6_vm("xv6", 1, XV6 / "fs.img")], smp=1)
    wait_shell(proc)
    for i in range(0, len(KEELTESTS), 8):  # xv6's shell: fewer than MAXARGS (10) words
        some = KEELTESTS[i:i + 8]
        out = run(proc, "keeltests " + " ".join(some), timeout=180)
        # between "test NAME: " and its OK come the test's own lines (kernmem's
        # faults as xv6 reports them); a failing test prints FAILED and stops
        for t in some:
            assert f"test {t}: " in out, out
        assert "FAILED" not in out and "keeltests: ALL PASSED" in out, out
    assert not KEEL_FATAL.search(proc.output)


@long_run
def test_xv6_usertests_subset(keel, xv6):
    """A part of xv6's own test suite, each test by name: ALL TESTS PASSED
    for each. Long: every usertests run first and last counts the free
    pages by allocating them all (countfree), minutes under Keel."""
    proc = boot(keel, [xv6_vm("xv6", 1, XV6 / "fs.img")], smp=1)
    wait_shell(proc)
    for t in USERTESTS:
        out = run(proc, f"usertests {t}", timeout=900)
        assert f"test {t}: OK" in out and "ALL TESTS PASSED" in out, out
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    stat = shell_cmd(proc, "stat xv6")
    # the shadow pages were filled, instructions emulated, and nothing else went wrong
    row = re.search(r"^0\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", stat, re.M)
    assert row and int(row.group(1)) > 0 and int(row.group(2)) > 0, stat
    assert not KEEL_FATAL.search(proc.output)


def test_two_xv6_vms_keep_their_own_disks(keel, xv6, tmp_path):
    """Two xv6 VMs of one hart each, each on a copy of the file system: a
    file one of them writes is there in it and not in the other."""
    disks = []
    for n in (1, 2):
        d = tmp_path / f"fs{n}.img"
        d.write_bytes((XV6 / "fs.img").read_bytes())
        disks.append(d)
    proc = boot(keel, [xv6_vm("xv6a", 1, disks[0]), xv6_vm("xv6b", 1, disks[1])], smp=2)
    # the VMs' lines interleave, each tagged with its VM's name
    # (wait_each reads whole lines: the prompts, which end none, come after)
    wait_each(proc, ["xv6a", "xv6b"], "init: starting sh", timeout=120)
    proc.read_for(2)
    run(proc, "echo only-in-a > note")
    assert "only-in-a" in run(proc, "cat note")
    focus(proc, "n", "xv6b")
    assert "cannot open note" in run(proc, "cat note")
    assert "only-in-a" not in run(proc, "ls")
    assert not KEEL_FATAL.search(proc.output)


UBOOT_MMODE = "/usr/lib/u-boot/qemu-riscv64/u-boot.bin"


def test_uboot_mmode_reaches_its_prompt(keel):
    """Debian 12's U-Boot for QEMU virt in M-mode (qemu-riscv64), the
    board's firmware natively, as a guest: its timer and IPIs from the
    emulated CLINT the guest DT names, its prompt, a command."""
    if not os.path.isfile(UBOOT_MMODE):
        pytest.skip(f"{UBOOT_MMODE} missing (u-boot-qemu)")
    proc = boot(keel, [f"name=uboot,cpus=1,mem=128M,kernel={UBOOT_MMODE},load=0x80000000"],
                smp=1, timeout=60)
    proc.expect(r"U-Boot 20\d\d", 60)
    proc.expect("=> ", 60)
    proc.send("version\r")
    proc.expect(r"U-Boot 20\d\d\.\d+", 30)
    proc.expect("=> ", 30)
    proc.send("coninfo\r")
    proc.expect(r"serial", 30)
    assert not KEEL_FATAL.search(proc.output)


@long_run
def test_xv6_usertests_all(keel, xv6):
    """xv6's own `usertests -q`, every quick test, to ALL TESTS PASSED."""
    proc = boot(keel, [xv6_vm("xv6", 1, XV6 / "fs.img")], smp=1)
    wait_shell(proc)
    proc.send("usertests -q\r")
    proc.expect_exact("usertests starting", 60)
    proc.expect(r"ALL TESTS PASSED|FAILED|panic", 3600)
    assert "ALL TESTS PASSED" in proc.child.after, proc.output[-2000:]


@long_run
def test_opensbi_and_linux_as_one_guest(keel, tmp_path):
    """Full machine virtualization without H: OpenSBI's fw_jump (Debian 12's,
    in the guest's M-mode) hands Debian 13's riscv64 Linux its S-mode; Linux
    boots to the initramfs's shell and runs commands."""
    image, initrd = RV_LINUX / "Image", RV_LINUX / "initramfs.cpio.gz"
    if not (os.path.isfile(OPENSBI_JUMP) and image.is_file() and initrd.is_file()):
        pytest.skip("fw_jump.bin or the riscv64 guest images missing "
                    "(scripts/deps.sh, scripts/fetch-guests.sh --arch riscv64)")
    fw = open(OPENSBI_JUMP, "rb").read()
    both = tmp_path / "fw_jump+Image.bin"  # fw_jump jumps to RAM + 2 MiB
    both.write_bytes(fw + bytes((2 << 20) - len(fw)) + image.read_bytes())
    proc = boot(keel, [f"name=linux,cpus=1,mem=512M,kernel={both},load=0x80000000,"
                       f"entry=0x80000000,initrd={initrd},bootargs=console=ttyS0"],
                smp=1, timeout=600)
    proc.expect_exact("OpenSBI", 120)
    proc.expect(r"Linux version 6\.", 300)
    proc.expect_exact("keel-guest# ", 600)
    proc.send("uname -m; grep -c processor /proc/cpuinfo\r")
    proc.expect(r"riscv64\s+1", 120)
    assert not KEEL_FATAL.search(proc.output)

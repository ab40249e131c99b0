"""Keel on QEMU's Raspberry Pi 4 model (tools/keel-run --board raspi4b).

The same build/keel.bin as on virt: QEMU loads it at 0x80000 (it is linked at
virt's 0x40080000) and enters it at EL2 on CPU 0, the three others held in
QEMU's spin loop at 0x300 polling their release words at 0xd8..0xf0. Keel
relocates itself, starts them by spin-table, prints on the PL011 at
0xfe201000 that /chosen/stdout-path names (keel-run sets it to serial0), and
drives the GIC-400 at 0xff841000.. (the DT's bus addresses translated
through /soc's ranges) with the GICv2 driver: a Linux guest on the vGICv2
takes interrupts, and typed input reaches Keel and the guest through the
PL011's receive interrupt.

Skipped when QEMU is older than 9 (no raspi4b) or the Pi's DT is not cached.
"""
import re
import subprocess

import pytest

from conftest import KEEL_FATAL, QEMU, REPO, GuestShell, focus, linux_vm_spec, shell_cmd

PI_DTB = REPO / ".cache" / "boards" / "bcm2711-rpi-4-b.dtb"
IDLE = "idle: CPUs wait in WFI"


def _qemu_major():
    try:
        out = subprocess.run([QEMU, "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return 0
    m = re.search(r"version (\d+)\.", out)
    return int(m.group(1)) if m else 0


QEMU_MAJOR = _qemu_major()
pytestmark = pytest.mark.skipif(
    QEMU_MAJOR < 9, reason=f"QEMU {QEMU_MAJOR} has no raspi4b board (QEMU 9 or newer needed)")


@pytest.fixture
def pi(keel):
    """Factory: pi(*keel_run_args) boots Keel on raspi4b."""
    if not PI_DTB.is_file():
        pytest.skip(f"{PI_DTB.relative_to(REPO)} missing (run scripts/fetch-guests.sh)")

    def boot(*args):
        return keel("--board", "raspi4b", *args, timeout=60)

    return boot


def complaints(out):
    return re.findall(r"^.*cpu\d+ (?:error|warn): .*$", out, re.M)


def test_banner_spin_table_console_ram(pi):
    proc = pi()
    proc.expect_line(r"\[[ \d.]+\] cpu0 info: " + re.escape(IDLE))
    out = proc.output + proc.read_for(1.0)

    assert re.search(r"^Keel \S+ .*type-1 hypervisor for ARMv8-A, running at EL2$", out, re.M), out
    assert "  CPUs:    4 (MPIDR 0 0x1 0x2 0x3), started by spin-table\n" in out, out
    # QEMU's raspi4b gives the ARM [0, 960 MiB); Keel sits at 0x80000 inside it.
    assert re.search(r"^  Memory:  960 MiB in 1 bank 0-0x3bffffff, 9\d\d MiB free for VMs$",
                     out, re.M), out
    assert "  UART:    /soc/serial@7e201000 at 0xfe201000\n" in out, out
    # The GIC-400's frames, translated from the VideoCore bus addresses 0x4004x000.
    assert ("  GIC:     v2, GICD 0xff841000, GICC 0xff842000, GICH 0xff844000, "
            "GICV 0xff846000\n") in out, out
    assert "  PSCI:    none\n" in out, out
    for cpu in range(4):
        assert re.search(rf"^\[[ \d.]+\] cpu{cpu} info: cpu{cpu} online \(MPIDR {cpu:#x}\)$"
                         .replace("0x0", "0"), out, re.M), f"cpu{cpu} not online:\n{out}"
    assert re.search(r"^\[[ \d.]+\] cpu0 info: 4 CPUs online$", out, re.M), out
    assert not KEEL_FATAL.search(out), out
    assert not complaints(out), out


def test_backtrace_at_the_load_address(pi):
    """Relocated: function pointers (the console's ops, the panic path) work
    at 0x80000, and the symbol table names the run-time addresses."""
    proc = pi("--append", "keel.test=panic")
    proc.expect_exact("cpu0: stopped.")
    out = proc.output
    backtrace = out[out.index("Backtrace:"):out.index("cpu0: stopped.")]
    frames = re.findall(r"^  ([0-9a-f]{16}) <([A-Za-z_][\w.]*)\+0x[0-9a-f]+>$", backtrace, re.M)
    assert {"selftest_run", "keel_main"} <= {name for _, name in frames}, backtrace
    # Inside the image at 0x80000, nowhere near the link address 0x40080000.
    assert all(0x80000 <= int(addr, 16) < 0x400000 for addr, _ in frames), backtrace


def test_linux_guest_and_console_input(pi, need_guest):
    """Modules in the Pi's RAM, Linux on the vGICv2 with 2 vCPUs, and typed
    input (the PL011's receive interrupt through the GIC-400) reaching the
    guest's shell and Keel's."""
    proc = pi("--vm", linux_vm_spec(cpus=2, mem="256M"))
    for kind in ("kernel", "ramdisk"):
        m = proc.expect(rf"{kind} +(0x[0-9a-f]+)-(0x[0-9a-f]+) /chosen/vm@0/module@[0-9a-f]+\r*\n")
        base, end = int(m.group(1), 16), int(m.group(2), 16)
        assert 130 << 20 <= base and end < 0x3c000000, (kind, hex(base), hex(end))
    shell = GuestShell(proc).wait_ready(timeout=180)
    assert shell.run("grep -c ^processor /proc/cpuinfo").split() == ["2"]
    assert "hello-from-the-pi" in shell.run("echo hello-from-the-pi")

    focus(proc, "k", "the Keel shell")
    assert re.search(r"^\d+ +linux +running +2 ", shell_cmd(proc, "vms"), re.M)
    assert not KEEL_FATAL.search(proc.output), proc.output


GUESTS = REPO / "build" / "guests"


@pytest.fixture(scope="module")
def bare_metal_guests():
    subprocess.run(["make", "-s", "testguests"], cwd=REPO, check=True, capture_output=True)
    return GUESTS


def test_linux_beside_the_demo_guest_and_a_crash_contained(pi, need_guest, bare_metal_guests):
    """The Pi's four cores split: Linux with 2 vCPUs, the bare-metal demo with
    1, both on vGICv2s. Linux panics; the demo keeps ticking on its virtual
    timer and Keel's shell still answers."""
    proc = pi("--vm", linux_vm_spec(cpus=2, mem="256M"),
              "--vm", f"name=demo,cpus=1,mem=64M,kernel={bare_metal_guests / 'demo.elf'}")
    proc.expect(r"\[demo\] demo demo: bare-metal guest up on 1 vCPU", 60)
    proc.expect(r"\[linux\] KEEL-GUEST-READY", 180)
    shell = GuestShell(proc)
    shell.start("echo cpus=$(nproc)")
    proc.expect(r"\[linux\] cpus=2\r*\n")
    shell.start("echo c > /proc/sysrq-trigger")
    proc.expect(r"\[linux\] .*Kernel panic", 60)
    # Ticks after the panic: the demo's vCPU and its timer interrupts carry on.
    tick = int(proc.expect(r"\[demo\] demo demo: tick (\d+)", 30).group(1))
    assert int(proc.expect(r"\[demo\] demo demo: tick (\d+)", 30).group(1)) == tick + 1
    focus(proc, "k", "the Keel shell")
    vms = shell_cmd(proc, "vms")
    assert re.search(r"^\d+ +demo +running +1 ", vms, re.M), vms
    assert not KEEL_FATAL.search(proc.output), proc.output


@pytest.mark.parametrize("guests", [("gic", "psci"), ("timer", "smp")],
                         ids=["gic+psci", "timer+smp"])
def test_bare_metal_test_guests(pi, bare_metal_guests, guests):
    """The test guests, two side by side with 2 vCPUs each, on the Pi's vGICv2s."""
    specs = []
    for g in guests:
        specs += ["--vm", f"name={g},cpus=2,mem=64M,kernel={bare_metal_guests / (g + '.elf')}"]
    proc = pi(*specs)
    results = {}
    for _ in guests:
        m = proc.expect(r"\[(\w+)\] SUMMARY: (\d+) passed, (\d+) failed", 120)
        results[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    out = proc.output
    for g in guests:
        passed, failed = results[g]
        fails = re.findall(rf"^\[{g}\] FAIL: .*$", out, re.M)
        # The one known imprecision (docs/irqchip.md): ISPENDR of an SPI in another vCPU's LR.
        unexplained = [f for f in fails if "ISPENDR read on cpu 0 shows it pending" not in f]
        assert passed > 0 and not unexplained, (g, results[g], fails)
    assert not KEEL_FATAL.search(out), out


@pytest.mark.parametrize("guests", [("gic", "psci"), ("timer", "smp")],
                         ids=lambda g: "+".join(g))
def test_test_guests_sharing_cores(pi, bare_metal_guests, guests):
    """Two test guests of 2 vCPUs each on the Pi's CPUs 0 and 1 only: each
    CPU is home to two vCPUs (docs/scheduling.md), switched on a GIC-400
    without FEAT_ECV or a guest PMU, the vGICv2's list registers saved and
    restored in its GICH frame."""
    specs = []
    for g in guests:
        specs += ["--vm", f"name={g},cpus=2,mem=64M,affinity=0x3,"
                          f"kernel={bare_metal_guests / (g + '.elf')}"]
    proc = pi(*specs)
    for _ in guests:
        m = proc.expect(r"\[(\w+)\] SUMMARY: (\d+) passed, (\d+) failed", 180)
        g = m.group(1)
        fails = re.findall(rf"^\[{g}\] FAIL: .*$", proc.output, re.M)
        # the known imprecision of test_bare_metal_test_guests, when the holder runs elsewhere
        unexplained = [f for f in fails if "ISPENDR read on cpu 0 shows it pending" not in f]
        assert int(m.group(2)) > 0 and not unexplained, (m.group(0), fails)
    assert not KEEL_FATAL.search(proc.output), proc.output

"""Keel on its own in QEMU: the boot banner, bring-up of every CPU, the
fault and panic dumps (keel.test=...), and the loglevel= option."""
import re

import pytest

from conftest import KEEL_FATAL, KEEL_LOG_LINE

# Keel's last boot line when there is nothing to run.
IDLE = "idle: CPUs wait in WFI"
SYMBOL = r"<([A-Za-z_][\w.]*)\+0x[0-9a-f]+>"
MEM_MIB = {"512M": 512, "1G": 1024, "2G": 2048}


def boot_alone(keel, *args, smp=2, gic=3, mem="1G"):
    """Boot Keel without VMs up to its idle line; returns (process, output)."""
    proc = keel("--smp", str(smp), "--gic", str(gic), "--mem", mem, *args)
    proc.expect_line(r"\[[ \d.]+\] cpu0 info: " + re.escape(IDLE), timeout=30)
    return proc, proc.output


def banner_field(out, name):
    m = re.search(rf"^  {name}:(\s+)(.*)$", out, re.M)
    assert m, f"banner has no '{name}:' line:\n{out}"
    return m.group(1), m.group(2)


# Keel does not drive a GICv2 yet and says so; that is the one complaint allowed.
GICV2_UNSUPPORTED = "GICv2: Keel drives GICv3 only for now"
# Known bug (see the system-test report): on a GICv2 board every CPU reaching
# keel_idle() calls gic_ack(), which reads ICC_IAR1_EL1; without the GICv3
# system-register interface that read is UNDEFINED (EC 0x00) and Keel faults.
# With several CPUs faulting at once the dumps garble (console_force_unlock()
# resets the ticket lock under the other CPUs), so match loosely.
def gicv2_idle_fault(out):
    return (re.search(r"\*\*\* Keel fault on cpu\d+: Synchronous exception at EL2", out)
            and ("<gic_ack+0x0>" in out or "EC  0x00 Unknown reason" in out))


@pytest.mark.parametrize("smp, gic, mem", [
    pytest.param(smp, gic, mem, id=f"smp{smp}-gic{gic}-{mem}")
    for smp, gic, mem in [(1, 2, "512M"), (1, 3, "1G"), (2, 2, "2G"), (2, 3, "512M"),
                          (4, 2, "1G"), (4, 3, "2G")]
])
def test_banner_and_cpus(keel, smp, gic, mem):
    proc = keel("--smp", str(smp), "--gic", str(gic), "--mem", mem)
    # Up to cpu0's idle line, or the start of a fault dump, whichever comes first.
    proc.expect(r"cpu0 info: " + re.escape(IDLE) + r"|\*\*\* Keel (fault|panic)", timeout=30)
    # Every CPU is idle (or dying) now: give a fault on the way into WFI, or
    # the rest of a dump, a moment to show.
    out = proc.output + proc.read_for(1.0)

    assert re.search(r"^Keel \S+ .*type-1 hypervisor", out, re.M), out
    # The fields line up: "CPUs:" then four spaces, and so on.
    pad, cpus = banner_field(out, "CPUs")
    assert pad == "    " and re.match(rf"{smp} \(MPIDR ", cpus), cpus
    assert len(re.match(r"\d+ \(MPIDR ([^)]*)\)", cpus).group(1).split()) == smp, cpus
    pad, memory = banner_field(out, "Memory")
    assert pad == "  " and memory.startswith(f"{MEM_MIB[mem]} MiB"), memory
    pad, gic_line = banner_field(out, "GIC")
    assert pad == "     " and gic_line.startswith(f"v{gic},"), gic_line
    assert f"  CPUs:    {smp} " in out
    assert f"  Memory:  {MEM_MIB[mem]} MiB" in out
    assert f"  GIC:     v{gic}," in out

    if gic == 2 and gicv2_idle_fault(out):
        pytest.xfail("known Keel bug: GICv2 board faults in gic_ack() from keel_idle()")
    assert not KEEL_FATAL.search(out), out

    for cpu in range(smp):
        assert re.search(rf"^\[[ \d.]+\] cpu{cpu} info: cpu{cpu} online \(MPIDR ", out, re.M), \
            f"cpu{cpu} did not come online:\n{out}"
    assert re.search(rf"^\[[ \d.]+\] cpu0 info: {smp} CPUs online$", out, re.M), out
    assert re.search(r"^\[[ \d.]+\] cpu0 info: no VM configured", out, re.M), out
    complaints = [line for line in re.findall(r"^.*cpu\d+ (?:error|warn): .*$", out, re.M)
                  if not (gic == 2 and GICV2_UNSUPPORTED in line)]
    assert not complaints, out


def test_fault_dump(keel):
    proc = keel("--smp", "2", "--append", "keel.test=fault")
    proc.expect_exact("cpu0: stopped.")
    out = proc.output

    assert "cpu0 warn: keel.test=fault: failing on purpose" in out
    dump = out[out.index("*** Keel fault on cpu0"):]
    assert re.search(r"^\*\*\* Keel fault on cpu0: Synchronous exception at EL2 \*\*\*$",
                     dump, re.M), dump
    assert re.search(r"^  EC  0x25 Data abort \(current EL\)$", dump, re.M), dump
    assert re.search(r"^  ESR [0-9a-f]{16}  FAR 0000000000000010$", dump, re.M), dump
    for reg in [f"x{i}" for i in range(31)] + ["sp"]:
        assert re.search(rf"^  (?:.*  )?{reg} +[0-9a-f]{{16}}\b", dump, re.M), \
            f"no {reg} in\n{dump}"
    assert re.search(r"^  PC  [0-9a-f]{16} <selftest_fault\+0x[0-9a-f]+>$", dump, re.M), dump
    # The caller: keel_main today, selftest_run if that stops being inlined.
    assert re.search(r"^  LR  [0-9a-f]{16} <(keel_main|selftest_run)\+0x[0-9a-f]+>$",
                     dump, re.M), dump

    backtrace = dump[dump.index("Backtrace:"):dump.index("cpu0: stopped.")]
    frames = re.findall(rf"^  [0-9a-f]{{16}} {SYMBOL}$", backtrace, re.M)
    assert frames, backtrace
    assert {"keel_main", "boot_primary"} & set(frames), backtrace
    assert dump.rstrip().endswith("cpu0: stopped.")


def test_aborting_device_access_is_recovered(keel):
    """A guarded device access (forwarded passthrough registers) that aborts at
    EL2 returns an error to its caller instead of stopping the CPU."""
    proc = keel("--smp", "2", "--append", "keel.test=fixup")
    proc.expect_exact("idle: CPUs wait in WFI")
    out = proc.output
    assert "keel.test=fixup: aborted device read and write recovered; Keel goes on" in out, out
    assert "*** Keel fault" not in out and "stopped." not in out, out


@pytest.mark.parametrize("test, reason", [
    ("panic", r"keel\.test=panic requested"),
    ("check", r"CHECK failed: v == 0 at src/core/selftest\.c:\d+"),
], ids=["panic", "check"])
def test_panic_dump(keel, test, reason):
    proc = keel("--smp", "2", "--append", f"keel.test={test}")
    proc.expect_exact("cpu0: stopped.")
    out = proc.output

    assert f"cpu0 warn: keel.test={test}: failing on purpose" in out
    assert re.search(rf"^\*\*\* Keel panic on cpu0: {reason} \*\*\*$", out, re.M), out
    backtrace = out[out.index("Backtrace:"):out.index("cpu0: stopped.")]
    frames = re.findall(rf"^  [0-9a-f]{{16}} {SYMBOL}$", backtrace, re.M)
    assert len(frames) >= 3, backtrace
    assert "selftest_run" in frames and "keel_main" in frames, frames
    if test == "check":
        assert frames[0].startswith("selftest_check"), frames
    assert "*** Keel fault" not in out  # a panic, not a fault while panicking


def test_unknown_loglevel_warns(keel):
    _, out = boot_alone(keel, "--append", "loglevel=chatty")
    assert re.search(r"^\[[ \d.]+\] cpu0 warn: unknown log level 'chatty' "
                     r"\(error, warn, info, debug, trace\)$", out, re.M), out
    assert "Command line: loglevel=chatty" in out
    assert "no VM configured" in out  # and Keel carried on at its default level


def test_loglevel_debug_accepted(keel):
    _, out = boot_alone(keel, "--append", "loglevel=debug")
    assert "unknown log level" not in out
    assert "Command line: loglevel=debug" in out
    # debug includes info
    assert re.search(r"^\[[ \d.]+\] cpu0 info: 2 CPUs online$", out, re.M), out
    assert not KEEL_FATAL.search(out)


def test_loglevel_warn_hides_info(keel):
    # The panic dump is a fixed end point, so absence can be checked without waiting.
    proc = keel("--smp", "2", "--append", "loglevel=warn keel.test=panic")
    proc.expect_exact("cpu0: stopped.")
    out = proc.output
    assert "Command line: loglevel=warn keel.test=panic" in out
    levels = re.findall(r"^\[[ \d.]+\] cpu\d+ (\w+):", out, re.M)
    assert levels == ["warn"], out  # only "keel.test=panic: failing on purpose"
    assert all(m.group(1) == "warn" for m in KEEL_LOG_LINE.finditer(out))

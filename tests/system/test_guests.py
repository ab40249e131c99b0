"""Bare-metal test guests (tests/guests/) under Keel.

Builds the guests with `make -C tests/guests`, then boots each one under Keel
in QEMU with 1, 2 and 4 vCPUs, on a 4-CPU board with a GICv3 and again with a
GICv2 (the VM then sees a vGICv2), and asserts that the guest printed
`SUMMARY: N passed, 0 failed` with N > 0, no FAIL line, and that QEMU exited
by itself (the guest's PSCI SYSTEM_OFF leaves no VM running, so Keel powers
the board off). Every guest in tests/guests/*.c is run.

Two pairs of guests also run side by side on each GIC, two VMs of 2 vCPUs
each on the same board, each with its own vGIC and console (lines tagged
"[name] ").

The pmu guest runs again under -icount (QEMU implements INST_RETIRED only
there), and on CPU models with older PMUs: a PMUv3p1 one (cortex-a76: no
MDCR_EL2.HCCD, so Keel traps PMCR_EL0) and an Armv8.0 PMUv3 one (cortex-a72:
no MDCR_EL2.HPMD, the PMU hidden, which the sysregs guest checks).

A check that fails on a known, not yet fixed Keel bug (KNOWN_KEEL_BUGS) makes
its run an xfail instead, as long as every FAIL line is one of them.

Each run's console goes to build/systest/guests/<guest>-<n>cpu.log (GICv3)
or <guest>-gicv2-<n>cpu.log.

Environment:
  KEEL_BIN                    Keel image (default build/keel.bin)
  KEEL_QEMU                   QEMU binary (default qemu-system-aarch64; tools/keel-run reads it)
  KEEL_SYSTEST_TIMEOUT_SCALE  multiply the timeouts (slow or busy machines)
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUEST_DIR = REPO / "tests" / "guests"
GUEST_BUILD = REPO / "build" / "guests"
LOG_DIR = REPO / "build" / "systest" / "guests"
KEEL_RUN = REPO / "tools" / "keel-run"
KEEL_BIN = Path(os.environ.get("KEEL_BIN", REPO / "build" / "keel.bin"))
TIMEOUT = 90 * float(os.environ.get("KEEL_SYSTEST_TIMEOUT_SCALE", "1"))

GUESTS = sorted(p.stem for p in GUEST_DIR.glob("*.c"))
VCPUS = (1, 2, 4)
# The whole matrix on both GICs: the GICv2 half adds about half a minute
# (21 runs of 1-5 s and two pairs, measured on 2 shared cores).
GICS = (3, 2)
# "v3"/"v2", not "gicv3": `-k gic` still picks the gic guest alone (`-k "gic and v2"`)
GIC_IDS = [f"v{v}" for v in GICS]

# Checks that fail on Keel bugs found and not fixed yet, by (guest, GIC
# version): bug -> the FAIL messages it causes (regexes, after "FAIL: ").
# Drop an entry once its bug is fixed.
KNOWN_KEEL_BUGS = {
    ("gic", 2): {
        # A known limitation, not planned: Keel reads only the list registers of
        # the vCPU on its own CPU, so an SPI pending in another vCPU's interface
        # shows Keel's view (not pending) there; see docs/irqchip.md.
        "vGIC: an SPI pending in another vCPU's list register reads as not pending (ISPENDR)": (
            r"gic: ITARGETSR: ISPENDR read on cpu 0 shows it pending",
        ),
    },
}


# Checks that fail on a limitation of QEMU's model rather than of Keel, by
# (guest, CPU model), as KNOWN_KEEL_BUGS.
KNOWN_QEMU_BUGS = {
    ("pmu", "cortex-a76"): {
        # Fixed upstream in August 2025 ("target/arm: Trap PMCR when
        # MDCR_EL2.TPMCR is set"); QEMU 10.0.2 still lacks it.
        "QEMU does not trap PMCR_EL0 on MDCR_EL2.TPMCR: the guest sees and clears the "
        "PMCR_EL0.DP Keel keeps set where there is no MDCR_EL2.HCCD, and its cycle counter "
        "then counts Keel's EL2": (
            r"pmu: cpu \d+: at entry: PMCR_EL0\.E and DP clear",
            r"pmu: cpu \d+: after CPU_OFF and CPU_ON: PMCR_EL0\.E and DP clear",
            r"pmu: cpu \d+: PMCCNTR_EL0 filtered to EL2 alone",
        ),
    },
}


def gic_args(gic):
    return () if gic == 3 else ("--gic", str(gic))


def gic_tag(gic):
    """Log names: GICv3's as they always were."""
    return "" if gic == 3 else f"-gicv{gic}"
SUMMARY = re.compile(r"SUMMARY: (\d+) passed, (\d+) failed")
FAIL = re.compile(r"FAIL: ")
KEEL_FATAL = re.compile(r"\*\*\* Keel (fault|panic)|cpu\d+: stopped\.")

QEMU = os.environ.get("KEEL_QEMU") or "qemu-system-aarch64"

for tool in (QEMU, "dtc", "make"):
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed (run scripts/deps.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def built_guests():
    if not KEEL_BIN.exists():
        pytest.fail(f"{KEEL_BIN} missing: run make first")
    res = subprocess.run(["make", "-C", str(GUEST_DIR)], capture_output=True, text=True)
    assert res.returncode == 0, f"make -C tests/guests failed:\n{res.stdout}\n{res.stderr}"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return {g: GUEST_BUILD / f"{g}.elf" for g in GUESTS}


def test_guests_build(built_guests):
    assert GUESTS, "no guests in tests/guests"
    for guest, elf in built_guests.items():
        assert elf.exists(), f"{elf} not built"
        with open(elf, "rb") as f:
            hdr = f.read(20)
        assert hdr[:4] == b"\x7fELF" and hdr[18:20] == (183).to_bytes(2, "little"), \
            f"{elf} is not an aarch64 ELF"


def run_guest(elf, guest, cpus, more=(), log_name=None, args=(), smp=4, vm_keys=None):
    """Boots one guest under Keel (and the VMs of @more, (elf, name, cpus)
    each) on an @smp-CPU board, with more keel-run @args and @vm_keys
    (e.g. {"affinity": "0x1"}) for every VM; returns (console text, exit
    code or None on timeout, log path)."""
    cmd = [sys.executable, str(KEEL_RUN), "--keel", str(KEEL_BIN), "--smp", str(smp), *args]
    keys = "".join(f",{k}={v}" for k, v in (vm_keys or {}).items())
    for e, g, n in ((elf, guest, cpus), *more):
        cmd += ["--vm", f"name={g},cpus={n},mem=64M,kernel={e}{keys}"]
    log = LOG_DIR / (log_name or f"{guest}-{cpus}cpu.log")
    log.parent.mkdir(parents=True, exist_ok=True)  # callers from other modules skip built_guests
    try:
        res = subprocess.run(cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=TIMEOUT)
        out, code = res.stdout, res.returncode
    except subprocess.TimeoutExpired as e:
        out, code = e.stdout or b"", None
    text = out.decode("utf-8", "replace").replace("\r", "")
    log.write_text("# " + " ".join(cmd) + "\n" + text)
    return text, code, log


def known_fails(stream, guest, gic, bugs=None):
    """The known Keel bugs (or @bugs) that explain every FAIL in @stream, or
    None if some FAIL is not one of them (or there is none)."""
    bugs = KNOWN_KEEL_BUGS.get((guest, gic), {}) if bugs is None else bugs
    seen = [bug for bug, pats in bugs.items()
            if any(re.search("FAIL: " + p, stream) for p in pats)]
    explained = sum(len(re.findall("FAIL: " + p, stream)) for pats in bugs.values() for p in pats)
    fails = len(FAIL.findall(stream))
    return seen if fails and explained == fails else None


def check_run(text, code, log, tag="", guest="", gic=3, bugs=None):
    """One VM's output (the lines starting with @tag) shows a clean pass.

    With several VMs, Keel's console multiplexer writes the VM with input
    focus straight through, so another VM's line may cut one of its lines in
    two (each piece tagged): the pieces are joined back into one stream, and
    PASS/FAIL/SUMMARY are searched in it rather than line by line."""
    if tag:
        lines = [l[len(tag):] for l in text.splitlines() if l.startswith(tag)]
        stream = "".join(lines)
    else:
        lines, stream = text.splitlines(), text
    fails = [l for l in lines if "FAIL" in l] or ["(a FAIL line cut in pieces)"]
    tail = "\n".join(text.splitlines()[-25:])
    assert code is not None, f"QEMU still running after {TIMEOUT:.0f} s (see {log}):\n{tail}"
    assert not KEEL_FATAL.search(text), f"Keel crashed (see {log}):\n{tail}"
    m = SUMMARY.search(stream)
    assert m, f"no {tag}SUMMARY line (see {log}):\n{tail}"
    passed, failed = int(m.group(1)), int(m.group(2))
    known = known_fails(stream, guest, gic, bugs)
    if known and failed == len(FAIL.findall(stream)) and code == 0:
        pytest.xfail(f"known {'QEMU' if bugs else 'Keel'} bug(s) (see {log}): " + "; ".join(known))
    assert failed == 0 and not FAIL.search(stream), \
        f"{failed} check(s) failed (see {log}):\n" + "\n".join(fails)
    assert passed > 0, f"no check passed (see {log})"
    assert code == 0, f"QEMU exit code {code} (see {log}):\n{tail}"


@pytest.mark.parametrize("cpus", VCPUS, ids=[f"{n}cpu" for n in VCPUS])
@pytest.mark.parametrize("gic", GICS, ids=GIC_IDS)
@pytest.mark.parametrize("guest", GUESTS)
def test_guest(built_guests, guest, gic, cpus):
    text, code, log = run_guest(built_guests[guest], guest, cpus, args=gic_args(gic),
                                log_name=f"{guest}{gic_tag(gic)}-{cpus}cpu.log")
    # a lone VM's console is not tagged today; accept it either way
    tag = f"[{guest}] " if re.search(rf"^\[{guest}\] SUMMARY", text, re.M) else ""
    check_run(text, code, log, tag, guest, gic)


# Every feature QEMU's "max" CPU has, pointer authentication (the fast
# implementation-defined algorithm) and SVE included, and MTE with tag memory
# on the board: what keel-run's default CPU leaves out for Keel to hide.
FULL_CPU = ("--cpu", "max,pauth-impdef=on", "--qemu-arg=-machine", "--qemu-arg=mte=on")


@pytest.mark.parametrize("cpus", (1, 2), ids=("1cpu", "2cpu"))
@pytest.mark.parametrize("guest", [g for g in ("sysregs", "traps") if g in GUESTS])
def test_guest_on_full_max_cpu(built_guests, guest, cpus):
    text, code, log = run_guest(built_guests[guest], guest, cpus, log_name=f"{guest}-max-{cpus}cpu.log",
                                args=FULL_CPU)
    tag = f"[{guest}] " if re.search(rf"^\[{guest}\] SUMMARY", text, re.M) else ""
    check_run(text, code, log, tag)


@pytest.mark.parametrize("gic", GICS, ids=GIC_IDS)
def test_pmu_guest_under_icount(built_guests, gic):
    """INST_RETIRED, which QEMU counts only under -icount: the loop counted to
    the instruction, and HVCs adding none of Keel's on each of 4 vCPUs."""
    text, code, log = run_guest(built_guests["pmu"], "pmu", 4, args=("--icount", *gic_args(gic)),
                                log_name=f"pmu{gic_tag(gic)}-icount.log")
    tag = "[pmu] " if re.search(r"^\[pmu\] SUMMARY", text, re.M) else ""
    check_run(text, code, log, tag, "pmu", gic)
    assert not re.search(r"SKIP: .*INST_RETIRED", text), f"INST_RETIRED not checked (see {log})"


@pytest.mark.parametrize("cpu,guest", [("cortex-a76", "pmu"), ("cortex-a72", "sysregs")],
                         ids=["pmuv3p1-a76", "pmuv3-a72"])
def test_pmu_on_older_cpus(built_guests, cpu, guest):
    """A PMUv3p1 CPU: the guest has the PMU with PMCR_EL0 trapped; an Armv8.0
    PMUv3 one: hidden (PMUVer 0, no DT node, RAZ/WI)."""
    text, code, log = run_guest(built_guests[guest], guest, 2, args=("--cpu", cpu),
                                log_name=f"{guest}-{cpu}.log")
    assert re.search(r"PMU: +" + ("PMUVer 4, .*PMCR_EL0 trapped" if guest == "pmu" else
                                  "hidden from guests: PMUv3 without FEAT_PMUv3p1"), text), \
        f"Keel's banner does not say how it treats the PMU (see {log})"
    tag = f"[{guest}] " if re.search(rf"^\[{guest}\] SUMMARY", text, re.M) else ""
    check_run(text, code, log, tag, guest, 3, KNOWN_QEMU_BUGS.get((guest, cpu), {}))


PAIRS = [p for p in (("gic", "smp"), ("timer", "psci")) if all(g in GUESTS for g in p)]


@pytest.mark.parametrize("gic", GICS, ids=GIC_IDS)
@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
def test_guests_side_by_side(built_guests, pair, gic):
    a, b = pair
    text, code, log = run_guest(built_guests[a], a, 2, more=[(built_guests[b], b, 2)],
                                log_name=f"{a}+{b}{gic_tag(gic)}.log", args=gic_args(gic))
    # both VMs checked before an xfail of one ends the test
    known = []
    for g in pair:
        try:
            check_run(text, code, log, f"[{g}] ", g, gic)
        except pytest.xfail.Exception as e:
            known.append(str(e))
    if known:
        pytest.xfail("; ".join(known))

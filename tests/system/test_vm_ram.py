"""Guest RAM zeroed on first touch (src/core/vm_ram.c).

Keel hands a VM its RAM unzeroed and unmapped, and zeroes and maps each
2 MiB block when the guest (a Stage-2 fault) or Keel (loading images,
virtqueues) first touches it. What must hold: every boot sees zeroes
wherever Keel loaded nothing, though the blocks were used before (here by
the same VM's previous boot, which filled them all: tests/guests/ramzero),
and a VM that touches little of its RAM costs little (the shell's `stat`
counts the blocks filled).
"""
import re

import pytest

from conftest import KEEL_FATAL, ESC, built_test_guests, shell_cmd

BOOTS = 3


@pytest.fixture(scope="module")
def guests():
    return built_test_guests("ramzero", "demo")


@pytest.mark.parametrize("gic", (3, 2), ids=("gicv3", "gicv2"))
def test_ram_reads_zero_at_every_boot(keel, guests, gic):
    proc = keel("--smp", "2", "--gic", str(gic),
                "--vm", f"name=ramzero,cpus=1,mem=64M,kernel={guests / 'ramzero.elf'}",
                "--vm", f"name=idle,cpus=1,mem=256M,kernel={guests / 'demo.elf'}",
                timeout=60)
    for boot in range(1, BOOTS + 1):
        m = proc.expect(r"\[ramzero\] (PASS|FAIL): RAM (0x[0-9a-f]+)-(0x[0-9a-f]+) \((\d+) MiB\) "
                        r"reads zero: (\d+) non-zero words", 60)
        assert m.group(1) == "PASS", f"boot {boot}: {m.group(0)}"
        assert int(m.group(4)) >= 60, m.group(0)   # nearly all of its 64 MiB was checked
        proc.expect(r"\[ramzero\] ramzero: RAM filled", 60)
    proc.send(ESC + "k")
    proc.expect("keel> ")
    out = shell_cmd(proc, "stop ramzero")
    stat = shell_cmd(proc, "stat ramzero")
    boots = int(re.search(r"vm ramzero: \w+, boot (\d+),", stat).group(1))
    assert boots >= BOOTS, stat
    # the demo guest next to it, which runs from its first 2 MiB, touched almost none
    stat = shell_cmd(proc, "stat idle")
    touched = int(re.search(r"RAM touched (\d+) of 256 MiB", stat).group(1))
    assert 2 <= touched <= 8, stat
    assert not KEEL_FATAL.search(proc.output), out


@pytest.fixture(scope="module")
def mte_guest():
    return built_test_guests("mte", "demo")


@pytest.mark.parametrize("cpus", (1, 2), ids=("1cpu", "2cpu"))
def test_mte_tags_zeroed_at_every_start(keel, mte_guest, cpus):
    """A VM with keel,mte (issue 14): its checks pass, and the Allocation Tags
    it leaves behind (0xa on every granule of its block) read 0 when it is
    started again from the shell: Keel zeroes tags with the data. A VM
    without keel,mte beside it sees no MTE. Fails without arch_zero_tags()."""
    proc = keel("--smp", "3", "--append", "keel.stay-up",
                "--vm", f"name=mte,cpus={cpus},mem=64M,mte=on,kernel={mte_guest / 'mte.elf'}",
                "--vm", f"name=plain,cpus=1,mem=64M,kernel={mte_guest / 'mte.elf'}",
                timeout=60)
    for run in (1, 2):
        proc.expect(r"\[mte\] mte: block 0x[0-9a-f]+ left tagged 0xa", 60)
        m = proc.expect(r"\[mte\] SUMMARY: (\d+) passed, (\d+) failed", 30)
        assert int(m.group(1)) >= 10 and m.group(2) == "0", f"run {run}:\n{proc.output}"
        proc.expect(r"vm mte: powered off", 30)
        if run == 1:
            proc.send(ESC + "k")
            proc.expect("keel> ")
            shell_cmd(proc, "start mte")
    assert re.search(r"\[plain\] PASS: mte: hidden: ID_AA64PFR1_EL1.MTE 0", proc.output), proc.output
    assert "[mte] FAIL" not in proc.output and "[plain] FAIL" not in proc.output, proc.output
    assert not KEEL_FATAL.search(proc.output), proc.output

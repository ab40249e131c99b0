"""The hostile guest (tests/guests/hostile/hostile.c) against Keel.

- beside Linux: the hostile guest's random run on 2 vCPUs next to a Linux
  VM; Keel must not fault, Linux must keep answering with its memory
  intact, the Keel shell must still answer and no page may be lost;
- race: CPU_ON of vCPU 1 against SYSTEM_RESET from another vCPU, boot
  after boot; a vCPU started by an earlier boot must never run in a later
  one, and the free page count is the same after the round as before;
- lifecycle: 1,000 restarts of one VM, and two VMs restarting
  concurrently, without losing a page.

Run lengths come from the environment, so `make soak` runs the same tests
for an hour:
  KEEL_HOSTILE_SECONDS                 random run beside Linux (default 15)
  KEEL_HOSTILE_SEED                    its seed (default fixed; printed by the guest)
  KEEL_HOSTILE_CHECK_EVERY             seconds between Linux checks during the run (default 10)
  KEEL_RACE_RESETS                     restarts per race round (default 500)
  KEEL_LIFECYCLE_RESTARTS              one VM (default 1000)
  KEEL_LIFECYCLE_CONCURRENT_RESTARTS   each of two VMs at once (default 250)
"""
import os
import re
import subprocess
import time

import pexpect
import pytest

from conftest import (GuestShell, linux_vm_spec, KEEL_FATAL, REPO, clean, focus, free_pages,
                      scaled, shell_cmd)

GUEST = REPO / "build" / "guests" / "hostile.elf"
LRPRIO = REPO / "build" / "guests" / "lrprio.elf"


def env_int(name, default):
    return int(os.environ.get(name, str(default)), 0)


HOSTILE_SECONDS = env_int("KEEL_HOSTILE_SECONDS", 15)
HOSTILE_SEED = os.environ.get("KEEL_HOSTILE_SEED", "0x6b65656c")
CHECK_EVERY = env_int("KEEL_HOSTILE_CHECK_EVERY", 10)
RACE_RESETS = env_int("KEEL_RACE_RESETS", 200)
LIFECYCLE_RESTARTS = env_int("KEEL_LIFECYCLE_RESTARTS", 300)
CONCURRENT_RESTARTS = env_int("KEEL_LIFECYCLE_CONCURRENT_RESTARTS", 100)

# What the race and reset guests print; anything a stale vCPU does.
BOOT = r"hostile boot (\d+)\.(\d+)"
STALE = r"HOSTILE STALE"
ROUND_DONE = r"hostile (race|reset) done: round (\d+), (\d+) restarts, (\d+) stale vCPUs, " \
             r"(\d+) early CPU_ON answers"


@pytest.fixture(scope="module")
def hostile_guest():
    res = subprocess.run(["make", "-s", "testguests"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, f"make testguests failed:\n{res.stdout}\n{res.stderr}"
    assert GUEST.is_file() and LRPRIO.is_file()
    return GUEST





def vm_boots(proc, name):
    out = shell_cmd(proc, f"stat {name}")
    return int(re.search(rf"vm {re.escape(name)}: \w+, boot (\d+)", out).group(1))


def joined(text, tag):
    """One VM's console stream: its tagged pieces, joined. Keel's console
    multiplexer cuts a VM's half-written line when another VM's line goes
    out, and tags the rest anew; with the line ends dropped, a string the VM
    printed is found whole again."""
    return "".join(line[len(tag):] for line in text.split("\n") if line.startswith(tag))


def assert_keel_healthy(text, what):
    m = KEEL_FATAL.search(text)
    assert not m, f"Keel fault/panic/stopped CPU {what}:\n{text[max(0, m.start() - 2000):m.end() + 2000]}"


def read_new(proc, seconds):
    """Console text that arrives within `seconds` (cleaned), consumed.
    KeelProcess.read_for leaves what it read in pexpect's buffer, so each
    call would return everything since the last match again: over an hour
    of soak that grows without bound."""
    try:
        proc.child.expect(r"[\s\S]+", timeout=scaled(seconds))
    except pexpect.TIMEOUT:
        return ""
    except pexpect.EOF:
        raise AssertionError(f"QEMU exited; log: {proc.log_path}") from None
    return clean(proc.child.before + proc.child.after)


def linux_answers(proc, command, marker, timeout=90):
    """Sends a command to the Linux VM (which has focus) without waiting
    for its echo (another VM's line may cut it), and waits until Linux's
    output contains marker. Returns the console text read meanwhile."""
    text = ""
    proc.send(command + "\r")
    end = time.time() + scaled(timeout)
    while time.time() < end:
        text += read_new(proc, 1)
        if marker in joined(text, "[linux] "):
            return text
    raise AssertionError(f"Linux did not answer {command!r} within {timeout}s "
                         f"(log: {proc.log_path}):\n{text[-3000:]}")


def linux_ready(proc, timeout=240):
    """Waits for Linux's ready marker and prompt. While the hostile guest
    runs, Keel's warnings about it (32 a second) cut Linux's line as often,
    down to one character per tagged line: the marker is looked for in the
    joined stream."""
    text = ""
    end = time.time() + scaled(timeout)
    while time.time() < end:
        text += read_new(proc, 1)
        stream = joined(text, "[linux] ")
        if "KEEL-GUEST-READY" in stream and "keel-guest# " in stream.split("KEEL-GUEST-READY")[-1]:
            return text
    raise AssertionError(f"Linux not ready within {timeout}s (log: {proc.log_path}):\n"
                         f"{text[-3000:]}")


class Transcript:
    """Console text read while following a long run: kept in pieces (an
    hour of soak is megabytes; appending to one string would copy it all
    every second), with the recent tail at hand for the checks."""

    def __init__(self, text=""):
        self.pieces, self.tail = [text], text[-20000:]

    def add(self, text):
        self.pieces.append(text)
        self.tail = (self.tail + text)[-20000:]
        return text

    def text(self):
        return "".join(self.pieces)


def hostile_counts(text):
    return {k: int(v) for k, v in re.findall(r"hostile count (\S+) (\d+)", text)}


@pytest.mark.usefixtures("need_guest")
def test_hostile_guest_beside_linux(keel, hostile_guest):
    bootargs = f"hostile.seconds={HOSTILE_SECONDS} hostile.seed={HOSTILE_SEED}"
    proc = keel("--smp", "4",
                "--vm", linux_vm_spec("linux", cpus=2, mem="256M"),
                "--vm", f"name=hostile,cpus=2,mem=64M,kernel={hostile_guest},bootargs={bootargs}",
                timeout=180)
    # The hostile guest's first run starts with Linux's boot; once Linux is
    # up, it is stopped mid-run (that too must be safe) and the measured run
    # starts from the shell after Linux has data to lose.
    boot = linux_ready(proc)
    assert_keel_healthy(boot, "while Linux booted beside the hostile guest")
    shell = GuestShell(proc)
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    # Not shell_cmd(): the hostile guest's rate-limited warnings may land in
    # the middle of the command's echo ("stop [ 12.17] cpu2 warn: ... hostile").
    proc.send("stop hostile\r")
    proc.expect(r"vm hostile: stopped")
    proc.expect("keel> ")
    focus(proc, "0", "linux")
    shell.run("dd if=/dev/urandom of=/tmp/blob bs=1M count=16 2>/dev/null")
    out = shell.run("sha256sum /tmp/blob")
    before = re.search(r"\b([0-9a-f]{64})\b", out).group(1)
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    pages_before = free_pages(proc)

    t0 = time.time()
    proc.send("start hostile\r")
    log = Transcript(proc.expect(r"vm hostile: restarting \(boot \d+\)").group(0))
    focus(proc, "0", "linux")
    # Linux must keep answering while the run lasts.
    deadline = t0 + scaled(HOSTILE_SECONDS + 240)
    next_check, checks = time.time() + min(CHECK_EVERY, HOSTILE_SECONDS / 3), 0
    while "HOSTILE DONE" not in log.tail:
        assert time.time() < deadline, \
            f"no HOSTILE DONE after {HOSTILE_SECONDS + 240}s (log: {proc.log_path})"
        before_new = log.tail[-300:]
        if time.time() >= next_check:
            checks += 1
            new = log.add(linux_answers(proc, f"echo during-$((1000+{checks}))",
                                        f"during-{1000 + checks}"))
            next_check = time.time() + CHECK_EVERY
        else:
            new = log.add(read_new(proc, 1))
        assert_keel_healthy(before_new + new, "during the hostile run")
    # The done line may have come in halves: read on to the power-off after it.
    end = time.time() + scaled(60)
    while "vm hostile: powered off" not in log.tail:
        assert time.time() < end, f"hostile VM not off (log: {proc.log_path})"
        log.add(read_new(proc, 1))
    run_time = time.time() - t0
    run = log.text()
    done = re.search(r"HOSTILE DONE: seed (\S+), (\d+) ms on (\d+) vCPU\(s\), (\d+) ops, (\d+) anomalies, "
                     r"(\d+) unexpected, (\d+) registers changed, (\d+) SGIs lost([^\n]*)", run)
    assert done, run[-3000:]
    counts = hostile_counts(run)
    summary = f"seed {done.group(1)}, counts {counts} (log: {proc.log_path})"
    assert not done.group(9).strip(), f"a vCPU got stuck: {summary}"
    assert "HOSTILE STUCK" not in run, summary
    assert counts.get("anomalies") == 0, f"Keel answered against its documentation: {summary}"
    assert counts.get("unexpected") == 0, f"an exception outside an op: {summary}"
    assert counts.get("regs-bad") == 0, f"a register changed across a trap: {summary}"
    # It did do what it is for.
    for what in ("loads", "stores", "sea", "undef", "iabt", "hvc", "smc", "psci", "sysreg-r",
                 "sysreg-w", "sgi-sent", "sgi-recv", "irq-other", "regs-checked"):
        assert counts.get(what, 0) > 0, f"no {what}: {summary}"
    assert checks >= 1
    # Nothing lost once everything is permissive again (lost before list registers
    # followed priority and group changes: test_queued_interrupt_priority_change_is_seen).
    assert counts.get("sgi-lost") == 0, f"SGIs lost: {summary}"

    # Linux: alive, its data intact.
    run += linux_answers(proc, "echo after-$((6*7))", "after-42")
    run += linux_answers(proc, "sha256sum /tmp/blob", before)
    # (what was read while following Linux's boot and the run is not in proc.output)
    assert not re.search(r"cpu\d+ warn: vm linux", boot + run + proc.output), \
        "Keel warned about the Linux VM"

    # The Keel shell answers and nothing leaked.
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    vms = shell_cmd(proc, "vms")
    assert re.search(r"^0\s+linux\s+running\s+2", vms, re.M), vms
    assert re.search(r"^1\s+hostile\s+off\s+2", vms, re.M), vms
    pages_after = free_pages(proc)
    assert pages_after == pages_before, f"{pages_before - pages_after} pages lost"
    assert_keel_healthy(boot + run + proc.output, "at the end")
    print(f"hostile run: {HOSTILE_SECONDS}s requested, {run_time:.1f}s wall, {summary}")


def test_queued_interrupt_priority_change_is_seen(keel, hostile_guest):
    """The hostile guest's lost SGIs, reduced: SGIs queued at a priority
    PMR masks, then raised, must be taken, and so must a later one."""
    proc = keel("--smp", "1", "--vm", f"name=lrprio,cpus=1,mem=64M,kernel={LRPRIO}", timeout=60)
    m = proc.expect(r"SUMMARY: (\d+) passed, (\d+) failed")
    assert not KEEL_FATAL.search(proc.output), proc.output[-3000:]
    assert int(m.group(1)) == 3 and int(m.group(2)) == 0, proc.output[-2000:]


def arm(proc, names):
    """Waits until each VM (race or reset mode) armed its shared region and
    powered off; the Keel shell then has focus."""
    pending = set(names)
    while pending:
        m = proc.expect(r"vm (\S+): powered off", 120)
        pending.discard(m.group(1))
    assert "hostile armed" in proc.output
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")


def run_rounds(proc, names, restarts, mode, per_boot_timeout=60):
    """Starts a round on each VM and follows the restarts to the end.
    Fails as soon as Keel faults, a stale vCPU shows up or the VMs stop
    making progress."""
    for n in names:
        proc.send(f"start {n}\r")
        proc.expect(rf"vm {re.escape(n)}: restarting \(boot \d+\)")
    pending, boots = set(names), 0
    pats = [ROUND_DONE, BOOT, STALE, KEEL_FATAL.pattern, r"cpu\d+ (?:warn|error): vm \S+[^\n]*\n"]
    while pending:
        try:
            m = proc.expect(pats, per_boot_timeout)
        except AssertionError as e:
            raise AssertionError(f"the VMs stopped restarting after {boots} boots:\n{e}") from None
        text = m.group(0)
        if re.match(ROUND_DONE, text):
            assert m.group(1) == mode, text
            assert int(m.group(3)) == restarts, text
            assert int(m.group(4)) == 0 and int(m.group(5)) == 0, \
                f"a vCPU of an earlier boot ran in a later one: {text} (log: {proc.log_path})"
            # The line is tagged when there are two VMs; which one it was
            # shows in the power-off that follows.
            off = proc.expect(r"vm (\S+): powered off", 60)
            pending.discard(off.group(1))
        elif re.match(BOOT, text):
            boots += 1
        elif "more guest-caused messages suppressed" in text:
            continue  # the per-VM limit on Keel's lines about a resetting guest at work
        else:
            raise AssertionError(f"after {boots} boots: {text!r} (log: {proc.log_path}):\n"
                                 f"{proc.output[-3000:]}")
    return boots


@pytest.mark.parametrize("vcpus", [2, 3], ids=["2vcpu", "3vcpu"])
def test_cpu_on_races_system_reset(keel, hostile_guest, vcpus):
    """vCPU 0 calls CPU_ON for vCPU 1 in a loop while SYSTEM_RESET comes
    from vCPU 0 right behind it, from vCPU 1 as it starts, or (3 vCPUs)
    from vCPU 2 at any time; every boot's first CPU_ON of vCPU 1 must
    succeed and vCPU 1 must enter with this boot's context."""
    proc = keel("--smp", str(vcpus), "--append", "keel.stay-up", "--shmem", "name=state,size=4K",
                "--vm", f"name=race,cpus={vcpus},mem=8M,kernel={hostile_guest},shmem=state,"
                        f"bootargs=hostile.mode=race hostile.resets={RACE_RESETS}", timeout=60)
    arm(proc, ["race"])
    before = free_pages(proc)
    t0 = time.time()
    boots = run_rounds(proc, ["race"], RACE_RESETS, "race")
    elapsed = time.time() - t0
    assert vm_boots(proc, "race") == RACE_RESETS + 2
    after = free_pages(proc)
    assert after == before, f"{before - after} pages lost over {RACE_RESETS} racing restarts"
    assert boots == RACE_RESETS
    assert_keel_healthy(proc.output, "in the race")
    print(f"race ({vcpus} vCPUs): {RACE_RESETS} restarts in {elapsed:.1f}s")


def reset_vm(name):
    return (f"name={name},cpus=1,mem=8M,kernel={GUEST},shmem={name}-state,"
            f"bootargs=hostile.mode=reset hostile.resets={{n}}")


@pytest.mark.parametrize("vms,restarts", [(1, LIFECYCLE_RESTARTS), (2, CONCURRENT_RESTARTS)],
                         ids=["one-vm", "two-vms-concurrently"])
def test_lifecycle_restarts_lose_no_page(keel, hostile_guest, vms, restarts):
    names = ["a", "b"][:vms]
    args = ["--smp", "2", "--append", "keel.stay-up"]
    for n in names:
        args += ["--shmem", f"name={n}-state,size=4K", "--vm", reset_vm(n).format(n=restarts)]
    proc = keel(*args, timeout=60)
    arm(proc, names)
    before = free_pages(proc)
    t0 = time.time()
    run_rounds(proc, names, restarts, "reset")
    elapsed = time.time() - t0
    for n in names:
        assert vm_boots(proc, n) == restarts + 2
    after = free_pages(proc)
    assert after == before, f"{before - after} pages lost over {restarts} restarts of {names}"
    assert_keel_healthy(proc.output, "in the restarts")
    for n in names:
        assert_log_rate_limited(proc.output, n)
    print(f"lifecycle: {restarts} restarts of {names} in {elapsed:.1f}s")


VM_LOG_BURST = 32  # keel/vm.h


def assert_log_rate_limited(output, name):
    """A VM resetting itself as fast as it can must not flood Keel's console:
    its lines go through the per-VM limit, VM_LOG_BURST a second (a
    one-second bucket of Keel's clock may straddle two limiter windows)."""
    times = [float(t) for t in re.findall(
        rf"^\[\s*(\d+\.\d+)\] cpu\d+ (?:info|warn): vm {re.escape(name)}: ", output, re.M)]
    assert times, f"no Keel lines about vm {name}"
    buckets = {}
    for t in times:
        buckets[int(t)] = buckets.get(int(t), 0) + 1
    worst = max(buckets.values())
    span = times[-1] - times[0]
    assert worst <= 2 * VM_LOG_BURST + 2, f"{worst} Keel lines about vm {name} in one second"
    assert len(times) <= (VM_LOG_BURST + 1) * (span + 2), \
        f"{len(times)} Keel lines about vm {name} in {span:.1f}s"


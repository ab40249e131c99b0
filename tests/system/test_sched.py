"""The vCPU scheduler (issue 9): vCPUs of one or more VMs sharing a
physical core, with per-VM priorities (keel-run prio=, higher first) and
time slices (keel-run timeslice=), beside cores that hold one vCPU and
stay exclusive (docs/scheduling.md).

The loads are the sched guest (tests/guests/sched/sched.c): `spin` counts
loop iterations per second and per window, `duty` alternates busy and
idle windows, `latency` measures how late its timer interrupts arrive.
Its seconds and windows are absolute counter time (Keel gives every VM
CNTVOFF_EL2 = 0), so the figures of VMs running side by side line up.

- equal priorities on one core: two spinning VMs (1 and 2 vCPUs each)
  get the same share within 10%, and a third VM alone on its own core
  keeps a whole core;
- a high-priority spinning VM takes the core from a low one, which makes
  no progress until it is gone and then resumes; a high-priority duty VM
  leaves the low one exactly its idle windows;
- wake-up latency of a high-priority VM beside a spinning low one (virtual
  and physical timer) and beside a Linux VM in a busy loop, bounded well
  under one time slice; on an exclusive core, as the baseline;
- Linux with 4 vCPUs on one core: boots, timer and IPIs on every vCPU,
  4 parallel CPU-bound jobs, CPU hotplug; Linux on two cores beside two
  spinning VMs, one on each: all of them progress;
- a VM on a shared core crashing (its vectors faulting, or hung with
  interrupts masked), restarted from Keel's shell, powered off: its
  neighbour keeps running; restarts of a VM whose vCPUs share a core lose
  no page;
- the test guest matrix (timer, smp, gic, psci, sysregs, pmu, debug) with
  2 vCPUs on one core, on a GICv3 and a GICv2: per-vCPU state kept
  across switches.

Environment:
  KEEL_SCHED_RESTARTS   restarts in the page-loss test (default 100)
"""
import os
import re
import time

import pytest

from conftest import (GuestShell, KEEL_FATAL, REPO, built_test_guests, clean, focus, free_pages,
                      linux_vm_spec)
from test_guests import check_run, run_guest
from test_hostile import joined
from test_linux import GUEST_OOPS, parse_interrupts, row
from test_multi_vm import SHELL_BANNER, wait_each, wait_ready

# keel-run's keys for issue 9 (keel,priority, keel,time-slice-us)
PRIO_KEY = "prio"
SLICE_KEY = "timeslice"
# The time slice every timing bound below is written against: long next to
# what a loaded host adds to QEMU's timers (p99 of a few ms natively).
SLICE_MS = 50
# Short for the fair-share test: many turns each, so the host's jitter on
# QEMU's thread averages out over the run.
FAIR_SLICE_MS = 10
HIGH, LOW = 200, 50
DUTY_MS = 50
RESTARTS = int(os.environ.get("KEEL_SCHED_RESTARTS", "100"), 0)
MATRIX = ("timer", "smp", "gic", "psci", "sysregs", "pmu", "debug")

SEC = re.compile(r"SCHED-SEC s=(\d+) cpu=(\d+) iters=(\d+) even=(\d+) odd=(\d+)")
SPIN_BEGIN = re.compile(r"SCHED-SPIN-BEGIN begin=(\d+) end=(\d+) vcpus=(\d+)")
DUTY_BEGIN = re.compile(r"SCHED-DUTY-BEGIN begin=(\d+) end=(\d+)")
DUTY = re.compile(r"SCHED-DUTY cpu=(\d+) busy=(\d+) windows=(\d+) wake_avg_ns=(\d+) "
                  r"wake_max_ns=(\d+)")
LAT = re.compile(r"SCHED-LAT .*?freq=\d+")
VECTOR_STOP = r"vm {} vcpu \d+: its exception vector at 0x200 \(VBAR_EL1 0\) faults itself; " \
              r"vCPU stopped"


@pytest.fixture(scope="module")
def sched_elf():
    return built_test_guests("sched", *MATRIX) / "sched.elf"


# ---- VM specs ----

def placed(affinity, prio=None, slice_ms=None):
    """keel-run keys placing a VM on @affinity's cores, alone or not."""
    keys = {"affinity": hex(affinity)}
    if prio is not None:
        keys[PRIO_KEY] = str(prio)
    if slice_ms is not None:
        keys[SLICE_KEY] = f"{slice_ms}ms"
    return keys


def timed(affinity, prio=None):
    """Placed, with the slice the timing bounds assume."""
    return placed(affinity, prio, SLICE_MS)


def sched_vm(elf, name, cpus=1, keys=None, **args):
    """A --vm spec running the sched guest; @args become its sched.* bootargs."""
    spec = [f"name={name}", f"cpus={cpus}", "mem=16M", f"kernel={elf}"]
    spec += [f"{k}={v}" for k, v in (keys or {}).items()]
    spec.append("bootargs=" + " ".join(f"sched.{k}={v}" for k, v in args.items()))
    return ",".join(spec)


# ---- what the guest printed ----

class Spin:
    """A spin run: its whole seconds and, per second, iterations in all,
    even and odd windows summed over its vCPUs."""

    def __init__(self, stream, name):
        m = SPIN_BEGIN.search(stream)
        assert m, f"vm {name} never began spinning:\n{stream[-2000:]}"
        self.name, self.begin, self.end = name, int(m.group(1)), int(m.group(2))
        self.secs = {}
        for s, _, iters, even, odd in SEC.findall(stream):
            acc = self.secs.setdefault(int(s), [0, 0, 0])
            for i, v in enumerate((iters, even, odd)):
                acc[i] += int(v)

    def seconds(self):
        return range(self.begin, self.end)

    def sum(self, secs, field=0):
        return sum(self.secs.get(s, (0, 0, 0))[field] for s in secs)

    def each(self, secs, field=0):
        return [self.secs.get(s, (0, 0, 0))[field] for s in secs]


def fields(line):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def latency(stream, name):
    m = LAT.search(stream)
    assert m, f"vm {name} printed no SCHED-LAT line:\n{stream[-2000:]}"
    return m.group(0), fields(m.group(0))


def duty(stream, name):
    m = DUTY_BEGIN.search(stream)
    assert m, f"vm {name} never began its duty cycle:\n{stream[-2000:]}"
    cpus = [fields(d.group(0)) for d in DUTY.finditer(stream)]
    assert cpus, f"vm {name} printed no SCHED-DUTY line:\n{stream[-2000:]}"
    return int(m.group(1)), int(m.group(2)), cpus


def assert_clean(text, *names):
    m = KEEL_FATAL.search(text)
    assert not m, f"Keel in trouble:\n{text[max(0, m.start() - 2000):m.end() + 1000]}"
    for n in names:
        stream = joined(text, f"[{n}] ")
        assert re.search(r"SUMMARY: \d+ passed, 0 failed", stream) and "FAIL" not in stream, \
            f"vm {n}: {stream[-2000:]}"


def run_to_end(keel, *args, timeout=90):
    """Boots Keel with these VMs and waits until every one powered off."""
    proc = keel(*args, timeout=timeout)
    proc.expect_eof(timeout)
    refused = re.search(r"keel-run: error: .*", proc.output)
    assert not refused, f"{refused.group(0)} (log: {proc.log_path})"
    return proc.output


def spinning(proc, *names, timeout=30):
    """Waits until each VM began spinning, in whatever order."""
    wait_each(proc, names, "SCHED-SPIN-BEGIN", timeout=timeout)


def read_until(proc, done, timeout):
    """Console lines (cleaned) until done(text) holds."""
    text, end = "", time.time() + timeout
    while not done(text):
        assert time.time() < end, \
            f"gave up after {timeout}s (log: {proc.log_path}):\n{text[-3000:]}"
        proc.expect(r"\r?\n", timeout)
        text += clean(proc.child.before) + "\n"
    return text


# ---- Keel's shell and the guests' console commands ----

def keel_shell(proc):
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")


def progress(proc, name, key, cpus=1):
    """A spin VM's iterations so far, all vCPUs (its 'p' command)."""
    focus(proc, key, name)
    proc.send("p")
    total = 0
    for c in range(cpus):
        m = proc.expect(rf"\[{re.escape(name)}\] SCHED-PROGRESS cpu={c} total=(\d+) t=\d+\r*\n")
        total += int(m.group(1))
    return total


def restart(proc, name, boot):
    """From the Keel shell, without waiting for the echo (guest lines may cut it)."""
    proc.send(f"restart {name}\r")
    proc.expect(rf"vm {re.escape(name)}: restarting \(boot {boot}\)")


# ---- equal priorities ----

@pytest.mark.parametrize("vcpus", [1, 2], ids=["1vcpu", "2vcpu"])
def test_equal_priority_vms_share_one_core_evenly(keel, sched_elf, vcpus):
    """a and b share core 0 with their vCPUs; x has core 1 to itself."""
    fair = placed(0x1, slice_ms=FAIR_SLICE_MS)
    text = run_to_end(keel, "--smp", "2",
                      "--vm", sched_vm(sched_elf, "a", vcpus, fair, mode="spin", seconds=6),
                      "--vm", sched_vm(sched_elf, "b", vcpus, fair, mode="spin", seconds=6),
                      "--vm", sched_vm(sched_elf, "x", 1, placed(0x2), mode="spin", seconds=6))
    assert_clean(text, "a", "b", "x")
    a, b, x = (Spin(joined(text, f"[{n}] "), n) for n in "abx")
    both = range(max(a.begin, b.begin), min(a.end, b.end))
    assert len(both) >= 3, f"a spun {a.seconds()}, b {b.seconds()}: too little overlap"
    per_sec = {v.name: v.each(both) for v in (a, b)}
    print(f"{vcpus} vCPU(s) each, seconds {list(both)}: {per_sec}, x alone {x.each(both)}")
    for name, counts in per_sec.items():
        assert all(counts), f"vm {name} had a second without progress: {per_sec}"
    sa, sb = a.sum(both), b.sum(both)
    assert abs(sa - sb) <= 0.10 * (sa + sb) / 2, f"a {sa}, b {sb}: shares differ by more than 10%"
    # x's core is its own: its throughput against a's or b's says nothing
    # more, since the host's two QEMU threads need not run alike (a CI run
    # saw core 0's four vCPUs together do 1.56 times what x alone did).
    assert all(x.each(range(x.begin, x.end))), f"x stalled: {x.each(range(x.begin, x.end))}"
    for n, mask in (("a", "0x1"), ("b", "0x1"), ("x", "0x2")):
        assert re.search(rf"vm {n}: starting, \d+ vCPUs? on CPUs {mask},", text), n


# ---- priorities ----

def test_high_priority_vm_takes_the_core_from_a_low_one(keel, sched_elf):
    text = run_to_end(keel, "--smp", "1",
                      "--vm", sched_vm(sched_elf, "low", 1, timed(0x1, LOW), mode="spin",
                                       seconds=9),
                      "--vm", sched_vm(sched_elf, "high", 1, timed(0x1, HIGH), mode="spin",
                                       seconds=3, delay=2000))
    assert_clean(text, "low", "high")
    low, high = Spin(joined(text, "[low] "), "low"), Spin(joined(text, "[high] "), "high")
    before = range(low.begin, high.begin)
    during = high.seconds()
    after = range(high.end, low.end)
    print(f"low {low.secs}, high {high.secs}")
    assert before and after, f"low spun {low.seconds()}, high {high.seconds()}"
    assert low.sum(before) > 0, "low made no progress before high began"
    assert low.sum(during) <= 0.01 * high.sum(during), \
        f"low ran beside high: {low.each(during)} against {high.each(during)}"
    assert all(low.each(after)), f"low did not resume after high powered off: {low.each(after)}"


def test_low_priority_vm_gets_only_the_high_ones_idle_windows(keel, sched_elf):
    """high is busy in the even DUTY_MS windows and idle in the odd ones;
    low counts its iterations in the same windows."""
    text = run_to_end(keel, "--smp", "1",
                      "--vm", sched_vm(sched_elf, "low", 1, timed(0x1, LOW), mode="spin",
                                       seconds=8, window=DUTY_MS),
                      "--vm", sched_vm(sched_elf, "high", 1, timed(0x1, HIGH), mode="duty",
                                       seconds=3, duty=DUTY_MS, delay=1500))
    assert_clean(text, "low", "high")
    low = Spin(joined(text, "[low] "), "low")
    begin, end, high = duty(joined(text, "[high] "), "high")
    during = range(begin, end)
    alone = [s for s in low.seconds() if s not in during]
    busy, idle = low.sum(during, 1), low.sum(during, 2)
    print(f"low in high's busy windows {low.each(during, 1)}, idle windows {low.each(during, 2)}, "
          f"alone {low.each(alone)}; high {high}")
    assert all(low.each(during, 2)), f"low missed the idle windows of a second: {low.secs}"
    # Sharing them alike would give it about half as much there as in the idle
    # windows; what it may get is high's lateness waking up on a loaded host.
    assert busy <= 0.20 * idle, f"low ran in high's busy windows: {busy} against {idle} idle"
    # The idle windows are half of each second: about half of what low does alone.
    alone_rate = low.sum(alone) / len(alone)
    assert idle / len(during) >= 0.25 * alone_rate, \
        f"low used the idle windows poorly: {idle / len(during):.0f}/s against {alone_rate:.0f}/s"
    slow = [h for h in high if h["wake_avg_ns"] > SLICE_MS * 1e6 / 4]
    assert not slow, f"high waited for the core at its busy windows: {high}"


# ---- wake-up latency ----

LAT_CASES = {
    # the baseline: the latency VM alone on its core, the spinning one on another
    "exclusive": ("2", placed(0x1), placed(0x2), "virt"),
    "shared": ("1", timed(0x1, HIGH), timed(0x1, LOW), "virt"),
    "shared-phys": ("1", timed(0x1, HIGH), timed(0x1, LOW), "phys"),
}


def check_latency(line, f, what):
    """A wake-up that waits for the other vCPU's slice to end takes most of
    one: 45 ms at the median with 50 ms slices and equal priorities. The
    last percent is the host's: a loaded host deschedules QEMU's busy
    thread for tens of ms at times (a shared core keeps it busy, an
    exclusive one lets it sleep), so p99 and max are printed, not bounded."""
    print(f"latency {what}: {line}")
    assert f["n"] > 0
    assert f["p50_ns"] < SLICE_MS * 1e6 / 10, f"{what}: median wake-up late: {line}"
    assert f["p90_ns"] < SLICE_MS * 1e6 / 4, f"{what}: p90 wake-up late: {line}"


@pytest.mark.parametrize("case", list(LAT_CASES))
def test_wakeup_latency_beside_a_spinning_vm(keel, sched_elf, case):
    smp, lat_keys, spin_keys, timer = LAT_CASES[case]
    text = run_to_end(keel, "--smp", smp,
                      "--vm", sched_vm(sched_elf, "lat", 1, lat_keys, mode="latency", count=200,
                                       timer=timer, delay=1500),
                      "--vm", sched_vm(sched_elf, "spin", 1, spin_keys, mode="spin", seconds=5))
    assert_clean(text, "lat", "spin")
    line, f = latency(joined(text, "[lat] "), "lat")
    check_latency(line, f, case)
    spin = Spin(joined(text, "[spin] "), "spin")
    meanwhile = range(max(f["begin"], spin.begin), min(f["end"] + 1, spin.end))
    assert meanwhile and all(spin.each(meanwhile)), \
        f"the spinning VM stalled while the latency VM slept: {spin.secs}, latency {line}"


@pytest.mark.usefixtures("need_guest")
def test_wakeup_latency_beside_busy_linux(keel, sched_elf):
    """The latency VM runs once while Linux boots, then again from the shell
    while Linux, on the same core, runs a busy loop."""
    proc = keel("--smp", "1",
                "--vm", linux_vm_spec("linux", cpus=1, mem="256M", **timed(0x1, LOW)),
                "--vm", sched_vm(sched_elf, "lat", 1, timed(0x1, HIGH), mode="latency",
                                 count=200), timeout=120)
    text = read_until(proc, lambda t: "vm lat: powered off" in t and linux_ready(t), 180)
    check_latency(*latency(joined(text, "[lat] "), "lat"), "beside Linux booting")
    proc.read_for(1)
    GuestShell(proc).run("while :; do :; done &")
    keel_shell(proc)
    proc.send("start lat\r")
    text = read_until(proc, lambda t: "vm lat: powered off" in t, 60)
    check_latency(*latency(joined(text, "[lat] "), "lat"), "beside Linux in a busy loop")
    focus(proc, "0", "linux")
    GuestShell(proc).start("echo alive-$((6*7))")
    proc.expect(r"\[linux\] alive-42")
    assert not KEEL_FATAL.search(proc.output) and not GUEST_OOPS.search(proc.output)


def linux_ready(text):
    stream = joined(text, "[linux] ")
    return "KEEL-GUEST-READY" in stream and SHELL_BANNER in stream.split("KEEL-GUEST-READY")[-1]


# ---- Linux ----

BUSY_FN = "b(){ taskset $1 timeout $2 sh -c 'while :;do :;done';}"
JOB_FN = "j(){ n=0; while [ $n -lt 3000 ]; do n=$((n+1)); done;}"


@pytest.mark.usefixtures("need_guest")
def test_linux_with_four_vcpus_on_one_core(keel):
    proc = keel("--smp", "1", "--vm", linux_vm_spec("linux", cpus=4, mem="256M", **placed(0x1)),
                timeout=60)
    sh = GuestShell(proc).wait_ready(timeout=240)
    assert sh.run("nproc").strip() == "4"
    assert sh.run("cat /sys/devices/system/cpu/online").strip() == "0-3"
    before = parse_interrupts(sh.run("cat /proc/interrupts"))
    sh.run(BUSY_FN)
    sh.run("b 2 1 & b 4 1 & b 8 1 & b 1 1; wait", timeout=60)
    after = parse_interrupts(sh.run("cat /proc/interrupts"))
    t0, t1 = row(before, r"\b27\b.*arch_timer$"), row(after, r"\b27\b.*arch_timer$")
    assert all(t1[c] > t0[c] for c in range(4)), f"arch_timer: {t0} -> {t1}"
    ipis = [sum(row(r, "^" + n + "$")[c] for n in ("Rescheduling interrupts",
                                                  "Function call interrupts"))
            for r in (before, after) for c in range(4)]
    assert all(ipis[4 + c] > ipis[c] for c in range(4)), f"IPIs per CPU: {ipis[:4]} -> {ipis[4:]}"
    sh.run(JOB_FN)
    out = sh.run("j & j & j & j & wait; echo jobs-$((2*2))", timeout=120)
    assert "jobs-4" in out, out
    for state, online in (("0", "0"), ("1", "0-3")):
        for cpu in (1, 2, 3):
            sh.run(f"echo {state} > /sys/devices/system/cpu/cpu{cpu}/online", timeout=60)
        assert sh.run("cat /sys/devices/system/cpu/online").strip() == online
    assert sh.run("nproc").strip() == "4"
    # the PMU and debug registers, switched lazily, as perf and gdb use them on each vCPU
    for cpu in range(4):
        out = sh.run(f"taskset {1 << cpu} perfcheck; taskset {1 << cpu} hwdebug", timeout=60)
        assert "PERFCHECK DONE 0" in out and "HWDEBUG DONE 0" in out, f"cpu {cpu}: {out}"
    assert not KEEL_FATAL.search(proc.output) and not GUEST_OOPS.search(proc.output)


@pytest.mark.usefixtures("need_guest")
def test_three_vms_on_two_cores_all_progress(keel, sched_elf):
    """Linux's two vCPUs on cores 0 and 1, a spinning VM beside each."""
    proc = keel("--smp", "2",
                "--vm", linux_vm_spec("linux", cpus=2, mem="256M", **placed(0x3)),
                "--vm", sched_vm(sched_elf, "a", 1, placed(0x1), mode="spin", seconds=0,
                                 quiet=1),
                "--vm", sched_vm(sched_elf, "b", 1, placed(0x2), mode="spin", seconds=0,
                                 quiet=1), timeout=120)
    wait_ready(proc, ["linux"], timeout=180)
    first = {n: progress(proc, n, k) for n, k in (("a", "1"), ("b", "2"))}
    focus(proc, "0", "linux")
    sh = GuestShell(proc)
    sh.run(BUSY_FN)
    sh.run("b 1 3 & b 2 3; wait", timeout=60)
    out = sh.run("echo linux-$((6*7))")
    assert "linux-42" in out, out
    second = {n: progress(proc, n, k) for n, k in (("a", "1"), ("b", "2"))}
    print(f"spin iterations before Linux's busy loops {first}, after {second}")
    for n in first:
        assert second[n] > first[n], f"vm {n} stalled: {first[n]} -> {second[n]}"
    assert not KEEL_FATAL.search(proc.output) and not GUEST_OOPS.search(proc.output)


# ---- lifecycle on a shared core ----

def test_crash_restart_and_poweroff_beside_a_running_vm(keel, sched_elf):
    """victim (2 vCPUs) and steady share core 0; steady must keep going
    through each of victim's ends."""
    spin = dict(mode="spin", seconds=0, quiet=1)
    proc = keel("--smp", "1", "--vm", sched_vm(sched_elf, "victim", 2, placed(0x1), **spin),
                "--vm", sched_vm(sched_elf, "steady", 1, placed(0x1), **spin), timeout=60)
    spinning(proc, "victim", "steady")
    seen = [progress(proc, "steady", "1")]

    def steady_goes_on(what):
        time.sleep(1)
        seen.append(progress(proc, "steady", "1"))
        assert seen[-1] > seen[-2], f"steady stalled after victim {what}: {seen}"

    focus(proc, "0", "victim")
    proc.send("c")
    for _ in range(2):
        proc.expect(VECTOR_STOP.format("victim"))
    steady_goes_on("crashed (vectors faulting)")
    for boot, how in ((2, "h"), (3, "o")):
        keel_shell(proc)
        restart(proc, "victim", boot)
        spinning(proc, "victim")
        focus(proc, "0", "victim")
        proc.send(how)
        proc.expect(r"\[victim\] SCHED-CRASH hang" if how == "h" else r"vm victim: powered off")
        steady_goes_on("hung" if how == "h" else "powered off")
    keel_shell(proc)
    proc.send("vms\r")
    proc.expect(r"\n1\s+steady\s+running")
    assert not KEEL_FATAL.search(proc.output)


def test_restarts_of_a_vm_sharing_a_core_lose_no_page(keel, sched_elf):
    """churn's two vCPUs and steady share core 0; churn is restarted from
    the shell, each time until both its vCPUs run again."""
    spin = dict(mode="spin", seconds=0, quiet=1)
    proc = keel("--smp", "1", "--vm", sched_vm(sched_elf, "churn", 2, placed(0x1), **spin),
                "--vm", sched_vm(sched_elf, "steady", 1, placed(0x1), **spin), timeout=60)
    spinning(proc, "churn", "steady")
    first = progress(proc, "steady", "1")
    keel_shell(proc)
    before = free_pages(proc)
    t0 = time.time()
    for boot in range(2, RESTARTS + 2):
        restart(proc, "churn", boot)
        # both of its vCPUs running again before the next one
        spinning(proc, "churn")
    elapsed = time.time() - t0
    after = free_pages(proc)
    assert after == before, f"{before - after} pages lost over {RESTARTS} restarts"
    assert progress(proc, "steady", "1") > first, "steady stalled during the restarts"
    assert not KEEL_FATAL.search(proc.output)
    print(f"{RESTARTS} restarts of a 2-vCPU VM on a shared core in {elapsed:.1f}s")


# ---- the test guest matrix, two vCPUs on one core ----

@pytest.mark.parametrize("gic", [3, 2], ids=["v3", "v2"])
@pytest.mark.parametrize("guest", MATRIX)
def test_guest_with_two_vcpus_on_one_core(sched_elf, guest, gic):
    elf = REPO / "build" / "guests" / f"{guest}.elf"
    text, code, log = run_guest(elf, guest, 2, smp=1, vm_keys=placed(0x1),
                                args=("--gic", str(gic)),
                                log_name=f"{guest}-gicv{gic}-shared-2cpu.log")
    tag = f"[{guest}] " if re.search(rf"^\[{guest}\] SUMMARY", text, re.M) else ""
    check_run(text, code, log, tag, guest, gic)


# ---- the shell: sched, prio, affinity ----

def sched_rows(proc):
    """`sched`'s table: {(vm, vcpu): (cpu, mode, state, prio, run_ms)}."""
    keel_shell(proc)
    proc.send("sched\r")
    proc.expect(r"cpu\s+mode\s+vm\s+vcpu\s+state\s+prio\s+cpus\s+run_ms\s+switches\r*\n")
    proc.expect("keel> ")
    rows = {}
    for m in re.finditer(r"^(\d+)\s+(shared|excl)\s+(\S+)\s+(\d+)\s+(\w+)\s+(\d+)\s+0x[0-9a-f]+"
                         r"\s+(\d+)\s+\d+\s*$", clean(proc.child.before), re.M):
        rows[(m.group(3), int(m.group(4)))] = (int(m.group(1)), m.group(2), m.group(5),
                                               int(m.group(6)), int(m.group(7)))
    return rows


def shell(proc, command, answer):
    keel_shell(proc)
    proc.send(command + "\r")
    proc.expect(answer)


def gain(proc, name, key, seconds=1.0):
    """How far a spinning VM gets in @seconds of wall-clock time."""
    before = progress(proc, name, key)
    time.sleep(seconds)
    return progress(proc, name, key) - before


def test_shell_prio_and_affinity_change_a_running_schedule(keel, sched_elf):
    """a and b spin on core 0 at equal priority; `prio b 200` gives b the
    core, `affinity a 0 0x2` moves a to the free core 1, where it runs
    beside b again; `sched` shows each step."""
    spin = dict(mode="spin", seconds=0, quiet=1)
    proc = keel("--smp", "2", "--vm", sched_vm(sched_elf, "a", 1, placed(0x1), **spin),
                "--vm", sched_vm(sched_elf, "b", 1, placed(0x1), **spin), timeout=60)
    spinning(proc, "a", "b")
    rows = sched_rows(proc)
    assert rows[("a", 0)][:2] == (0, "shared") and rows[("b", 0)][:2] == (0, "shared"), rows
    assert rows[("a", 0)][3] == rows[("b", 0)][3] == 128, rows
    assert gain(proc, "a", "0") > 0 and gain(proc, "b", "1") > 0
    shell(proc, "prio b 200", r"vm b: priority 200")
    time.sleep(0.2)
    # a cannot answer its console now: its time on the CPU says it all
    first = sched_rows(proc)
    time.sleep(1)
    second = sched_rows(proc)
    ran = {n: second[(n, 0)][4] - first[(n, 0)][4] for n in ("a", "b")}
    assert ran["a"] <= 5 and ran["b"] >= 500, f"ms on the CPU over 1 s with b above a: {ran}"
    shell(proc, "affinity a 0 0x2", r"vm a vcpu 0: CPUs 0x2")
    time.sleep(0.2)
    rows = sched_rows(proc)
    assert rows[("a", 0)][:2] == (1, "excl") and rows[("b", 0)][:2] == (0, "excl"), rows
    assert gain(proc, "a", "0") > 0 and gain(proc, "b", "1") > 0
    shell(proc, "affinity a 0 0x4", r"affinity: no CPU of this machine in the mask")
    shell(proc, "prio b 256", r"prio: '256' is not a priority")
    assert not KEEL_FATAL.search(proc.output)

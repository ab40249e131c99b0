"""Keel's virtio-blk RAM disks against a hostile driver: the bare-metal
guest tests/guests/hostile/virtio_hostile.c drives the virtio-mmio
transport directly (descriptors outside its RAM, looping chains, bad
indirect tables, wrapping lengths, queues set up against the spec, features
never offered, requests past the capacity or to a read-only disk, a storm of
notifications, a second vCPU notifying all along) and checks each answer
against the spec and Keel's headers. It prints one line per case,
"virtio-hostile: <case>: ok" or "...: FAIL <why>", then a summary.

On Arm it runs next to a Linux VM whose own disk sits at the same
guest-physical address: Linux writes and checks data (sha256) before the
storm, during it and after, and must finish its I/O during the storm in a
bounded time. Keel must not fault, must say in its log why each queue broke
(every reason the cases provoke), and must keep those lines to its per-VM
limit. On RISC-V the guest runs alone.

The images carry a pattern the guest knows: 512-byte sectors of 64
little-endian words, word j of sector s being tag << 48 | s << 16 | j (tag
"RW" on the read-write disk, "RO" on the read-only one).
"""
import re
import struct
import subprocess
import time

import pytest

from conftest import ESC, KEEL_FATAL, REPO, linux_vm_spec, scaled
from test_hostile import assert_log_rate_limited, joined, read_new
from test_riscv import RV_ARGS

GUEST = REPO / "build" / "guests" / "virtio_hostile.elf"
RV_GUEST = REPO / "build" / "guests" / "riscv64" / "virtio_hostile.elf"

RW_SECTORS, RW_TAG = 2048, 0x5257  # tests/guests/hostile/virtio_hostile.c
RO_SECTORS, RO_TAG = 128, 0x524F

# Why a queue broke, as Keel's log names it (virtq_strerror): every one the cases provoke.
REASONS = {
    "queue size not a power of 2 up to 32768",
    "queue area misaligned",
    "outside the VM's memory",
    "queue areas overlap",
    "available idx beyond the queue size",
    "head index outside the descriptor table",
    "next index outside the table",
    "descriptor chain loops",
    "too many buffers in a chain",
    "chain of 4 GiB or more",
    "device-readable buffer after a device-writable one",
    "bad indirect descriptor",
    "chain does not frame a request",
}
BROKEN = re.compile(r"cpu\d+ warn: vm vh: virtio-blk (\d) \(slot (\d+) at (0x[0-9a-f]+)\): "
                    r"queue 0 broken \(([^)]*)\); the device needs a reset")
SUMMARY = re.compile(r"virtio-hostile: summary: (\d+) cases, (\d+) failed, (\d+) breaks")

LINUX_IO_MIB = 8

# The shell's `dev <vm>` rows: requests, read, written, flushes, errors, reset (bad chains).
_DEV = (r"^{n}\s+virtio-blk\s+slot \d+\s+{addr}\s+\d+ KiB ro={ro} requests=(\d+) read=(\d+) "
        r"written=(\d+) flushes=(\d+) errors=(\d+) resets=(\d+)\b.*$")
DEV_ROWS = {
    "vh": _DEV.format(n=0, addr="0xa003e00", ro="no") + r"[\s\S]*" +
          _DEV.format(n=1, addr="0xa003c00", ro="yes"),
    "linux": _DEV.format(n=0, addr="0xa003e00", ro="no"),
}


def pattern_image(path, tag, sectors):
    with open(path, "wb") as f:
        for s in range(sectors):
            f.write(struct.pack("<64Q", *((tag << 48) | (s << 16) | j for j in range(64))))


@pytest.fixture(scope="module")
def guests():
    res = subprocess.run(["make", "-s", "testguests"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, f"make testguests failed:\n{res.stdout}\n{res.stderr}"
    assert GUEST.is_file() and RV_GUEST.is_file()


def disks(tmp_path):
    rw, ro = tmp_path / "rw.img", tmp_path / "ro.img"
    pattern_image(rw, RW_TAG, RW_SECTORS)
    pattern_image(ro, RO_TAG, RO_SECTORS)
    return f"{rw};{ro}:ro"


KEEL_LINE = re.compile(r"^\[\s*\d+\.\d{6}\] cpu\d+ |^\[keel\] ")


class Console:
    """Everything the console printed, read as it comes (and checked for a
    Keel fault at once). A VM's stream: its tagged pieces joined (Keel's
    lines cut the VMs' lines, test_hostile.joined), or with one VM, whatever
    is not Keel's own lines; either way without line ends."""

    def __init__(self, proc, tagged=True):
        self.proc, self.tagged, self.pieces = proc, tagged, []

    def read(self, seconds=1):
        text = read_new(self.proc, seconds)
        self.pieces.append(text)
        if KEEL_FATAL.search(text):
            whole = self.text()
            m = KEEL_FATAL.search(whole)
            raise AssertionError(f"Keel fault/panic (log: {self.proc.log_path}):\n"
                                 f"{whole[max(0, m.start() - 3000):m.end() + 2000]}")
        return text

    def text(self):
        return "".join(self.pieces)

    def stream(self, vm):
        if self.tagged:
            return joined(self.text(), f"[{vm}] ")
        return "".join(line for line in self.text().split("\n") if not KEEL_LINE.match(line))

    def _wait(self, get, what, timeout, since, where):
        end = time.time() + scaled(timeout)
        while True:
            m = re.search(what, get()[since:], re.S | re.M)
            if m:
                return m
            if time.time() > end:
                raise AssertionError(f"no {what!r} from {where} within {timeout}s "
                                     f"(log: {self.proc.log_path}):\n{get()[-3000:]}")
            self.read(1)

    def wait(self, what, vm, timeout, since=0):
        """Reads until @what (a regex) is in @vm's stream, after offset @since of it."""
        return self._wait(lambda: self.stream(vm), what, timeout, since, f"vm {vm}")

    def shell(self, command, pattern):
        """A Keel shell command (the shell has focus); waits for @pattern in what follows."""
        since = len(self.text())
        self.proc.send(command + "\r")
        return self._wait(self.text, pattern, 30, since, "the Keel shell")

    def focus(self, key, name):
        """Console input to another VM (conftest.focus, without losing what is read)."""
        since = len(self.text())
        self.proc.send(ESC + key)
        self._wait(self.text, re.escape(f"[keel] console input goes to {name}."), 30, since,
                   "Keel")


class Linux:
    """Commands to the Linux VM's shell (console input on it), each
    followed by a marker only its output can contain."""

    def __init__(self, con):
        self.con, self.n = con, 0

    def run(self, command, timeout=120):
        self.n += 1
        marker = f"K{100 + self.n}"
        since = len(self.con.stream("linux"))
        line = f"{command};echo K$((100+{self.n}))"
        assert len(line) + len("keel-guest# ") < 80, line
        self.con.proc.send(line + "\r")
        self.con.wait(re.escape(marker), "linux", timeout, since)
        return self.con.stream("linux")[since:]

    def sha(self, command):
        out = self.run(command)
        m = re.search(r"\b([0-9a-f]{64})\b", out)
        assert m, f"no sha256 in {out[-500:]!r}"
        return m.group(1)

    def io_round(self, r):
        """Writes LINUX_IO_MIB MiB of fresh random data to the disk at
        r * LINUX_IO_MIB MiB and reads it back past the page cache: its
        sha256 (checked), and how long the write and the read took."""
        n = LINUX_IO_MIB
        self.run(f"dd if=/dev/urandom of=r{r} bs=1M count={n} 2>$N")
        want = self.sha(f"sha256sum r{r}")
        t0 = time.time()
        self.run(f"dd if=r{r} of=$D bs=1M seek={r * n} conv=fsync 2>$N")
        self.run("echo 3 >/proc/sys/vm/drop_caches")
        got = self.sha(f"dd if=$D bs=1M skip={r * n} count={n} 2>$N|sha256sum")
        took = time.time() - t0
        assert got == want, f"round {r}: Linux read back {got}, wrote {want}"
        return want, took


def cases_of(stream):
    """(case, result) for every case line: the stream has no line ends, but
    each of the guest's lines starts with "virtio-hostile: "."""
    out = []
    for rec in re.split(r"(?=virtio-hostile: )", stream):
        m = re.match(r"virtio-hostile: (.+?): (ok$|FAIL.*)", rec.strip(), re.S)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def check_cases(stream, min_cases):
    cases = cases_of(stream)
    failed = [f"{name}: {res[:300]}" for name, res in cases if res != "ok"]
    assert not failed, "hostile cases failed:\n" + "\n".join(failed)
    m = SUMMARY.search(stream)
    assert m, stream[-3000:]
    assert int(m.group(2)) == 0 and int(m.group(1)) == len(cases) >= min_cases, \
        (m.group(0), len(cases))
    for what in ("storm", "racer", "rw: last-break-after-a-quiet-second", "rw: sweep-outside-ram",
                 "rw: chain-loop", "ro: read-write", "rw: indirect-nested", "rw: access-rules",
                 "ro: data-straddles-ram-end"):
        assert (what, "ok") in cases, f"case {what} did not run"
    return int(m.group(3))


def check_keel_log(text, breaks):
    """Keel named every reason, about the right device, kept to its per-VM
    limit, and accounted for every break: a line, or in the count of lines
    it suppressed (the guest's last break, after a quiet second, makes it
    print the last count)."""
    lines = BROKEN.findall(text)
    reasons = {r for _, _, _, r in lines}
    assert REASONS <= reasons, f"not in Keel's log: {sorted(REASONS - reasons)}"
    assert {(d, a) for d, _, a, _ in lines} <= {("0", "0xa003e00"), ("1", "0xa003c00"),
                                                ("0", "0x10008000"), ("1", "0x10007000")}, \
        set(lines)
    assert re.search(r"vm vh: \d+ more guest-caused messages suppressed", text), \
        "the sweep and the storm were not rate limited"
    assert_log_rate_limited(text, "vh")
    # Besides the broken queues, only the refused register accesses (a few dozen) go through it.
    shown = len(re.findall(r"cpu\d+ warn: vm vh(?: vcpu \d+)?: (?!\d+ more guest-caused)", text))
    suppressed = sum(int(n) for n in re.findall(
        r"cpu\d+ warn: vm vh: (\d+) more guest-caused messages suppressed", text))
    assert breaks <= shown + suppressed <= breaks + 100, \
        f"{breaks} breaks; Keel printed {shown} lines about vh and suppressed {suppressed}"
    return f"{breaks} breaks, Keel printed {shown} lines about them and suppressed {suppressed}"


@pytest.mark.usefixtures("need_guest", "guests")
def test_hostile_virtio_driver_beside_linux(keel, tmp_path):
    linux_disk = tmp_path / "linux.img"
    with open(linux_disk, "wb") as f:
        f.truncate(4 * LINUX_IO_MIB << 20)
    t_start = time.time()
    proc = keel("--smp", "3", "--mem", "1G",
                "--vm", linux_vm_spec("linux", cpus=1, mem="256M", disk=str(linux_disk)),
                "--vm", f"name=vh,cpus=2,mem=32M,kernel={GUEST},disk={disks(tmp_path)}",
                timeout=60)
    con = Console(proc)
    con.wait(r"KEEL-GUEST-READY.*keel-guest# ", "linux", 120)
    con.focus("0", "linux")
    linux = Linux(con)
    linux.run("cd /tmp;D=/dev/vda;N=/dev/null")
    sums = [None] * 3
    sums[0], t_before = linux.io_round(0)

    # The storm, with Linux's I/O in the middle of it.
    con.wait(r"storm: waiting", "vh", 120)
    con.focus("1", "vh")
    since = len(con.stream("vh"))
    proc.send("s")
    con.wait(r"storm: started", "vh", 30, since)
    con.focus("0", "linux")
    sums[1], t_during = linux.io_round(1)
    con.focus("1", "vh")
    proc.send("e")
    con.wait(r"virtio-hostile: summary: ", "vh", 120)
    con.focus("0", "linux")
    sums[2], t_after = linux.io_round(2)
    # Everything Linux wrote is still there.
    for r in range(3):
        n = LINUX_IO_MIB
        got = linux.sha(f"dd if=$D bs=1M skip={r * n} count={n} 2>$N|sha256sum")
        assert got == sums[r], f"Linux's round {r} data changed"
    con.wait(r"SUMMARY: \d+ passed, \d+ failed", "vh", 30)
    # Keel's counters: the read-only disk never written, the broken chains counted, and
    # Linux's disk, at the same address in its VM, without an error.
    con.focus("k", "the Keel shell")
    devs = {}
    for vm in ("vh", "linux"):
        m = con.shell(f"dev {vm}", DEV_ROWS[vm])
        g = [int(x) for x in m.groups()]
        devs[vm] = [tuple(g[i:i + 6]) for i in range(0, len(g), 6)]
    (rw_req, _, _, _, rw_err, rw_bad), (_, ro_read, ro_written, _, ro_err, _) = devs["vh"]
    assert rw_req > 300 and rw_err > 0 and rw_bad > 1000, devs
    assert ro_read > 0 and ro_written == 0 and ro_err > 0, devs
    (l_req, _, l_written, _, l_err, l_bad), = devs["linux"]
    assert l_req > 0 and l_written >= 3 * LINUX_IO_MIB << 20 and l_err == 0 and l_bad == 0, devs

    text, vh = con.text(), con.stream("vh")
    breaks = check_cases(vh, min_cases=150)
    storm = re.search(r"storm: (\d+) notifications \(\d+ from the racer\), \d+ breaks", vh)
    assert storm and int(storm.group(1)) >= 100000, vh[-2000:]
    # Linux kept its pace: a generous bound on its I/O during the storm.
    assert t_during < 4 * max(t_before, t_after) + 30, \
        f"Linux's I/O: {t_before:.1f}s before the storm, {t_during:.1f}s during, " \
        f"{t_after:.1f}s after"
    logged = check_keel_log(text, breaks)
    assert not re.search(r"cpu\d+ (?:warn|error): vm linux", text), "Keel warned about Linux"
    assert not KEEL_FATAL.search(text + proc.output)
    print(f"virtio hostile beside Linux: {logged}; {storm.group(0)}; Linux I/O "
          f"{t_before:.1f}s / {t_during:.1f}s / {t_after:.1f}s; {time.time() - t_start:.0f}s")


@pytest.mark.usefixtures("guests")
def test_riscv_hostile_virtio_driver(keel, tmp_path):
    t_start = time.time()
    proc = keel(*RV_ARGS, "--smp", "2", "--mem", "512M",
                "--vm", f"name=vh,cpus=2,mem=32M,kernel={RV_GUEST},disk={disks(tmp_path)}",
                timeout=60)
    con = Console(proc, tagged=False)
    con.wait(r"storm: waiting", "vh", 120)
    since = len(con.stream("vh"))
    proc.send("s")
    con.wait(r"storm: started", "vh", 30, since)
    end = time.time() + scaled(2)
    while time.time() < end:
        con.read(0.5)
    proc.send("e")
    con.wait(r"SUMMARY: \d+ passed, \d+ failed", "vh", 120)
    text = con.text()
    breaks = check_cases(con.stream("vh"), min_cases=145)
    logged = check_keel_log(text, breaks)
    assert not KEEL_FATAL.search(text)
    print(f"virtio hostile on RISC-V: {logged}; {time.time() - t_start:.0f}s")

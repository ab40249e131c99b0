"""Keel's virtio-blk RAM disks and virtio-net port against a hostile
driver: the bare-metal guest tests/guests/hostile/virtio_hostile.c (its
network part in virtio_hostile_net.inc) drives the virtio-mmio transport
directly (descriptors outside its RAM, looping chains, bad indirect tables,
wrapping lengths, queues set up against the spec, features never offered,
requests past the capacity or to a read-only disk; frames too short, too
long, with offload headers, from spoofed, group or zero sources, to reserved
groups, device-writable transmit and device-readable receive buffers,
receive chains too small; a storm of notifications and broadcast frames)
and checks each answer against the spec and Keel's headers. It prints one
line per case, "virtio-hostile: <case>: ok" or "...: FAIL <why>", then a
summary.

On Arm it runs (one vCPU) on network "lan" next to two Linux VMs on it,
linux (10.0.0.1, with a disk at the same guest-physical address as the
guest's first) and peer (10.0.0.2). Before the storm, during it and after,
linux writes and checks data on its disk (sha256), and the two ping each
other and move NET_MIB MiB through nc (md5 on both ends); during the storm
both must finish within a generous bound of their pace outside it. While
the guest's network cases run, the Linux VMs get no more frames than the
guest says it relayed (none of the thousands refused or not relayed), and
they still reach each other after it spoofed their MACs. Keel's `dev`
counters must show the guest's dropped and refused frames and its breaks
exactly, the Linux VMs' traffic, and the drops of their bounded queues in
the storm. Keel must not fault, must say in its log why each queue broke
(every reason the cases provoke), and must keep those lines to its per-VM
limit. On RISC-V the guest runs alone (two harts, a racer on the second),
its network port with nobody else on the network: no receive or spoofing
cases.

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
BROKEN = re.compile(r"cpu\d+ warn: vm vh: virtio-(blk \d|net 0) \(slot (\d+) at (0x[0-9a-f]+)\): "
                    r"queue (\d) broken \(([^)]*)\); the device needs a reset")
SUMMARY = re.compile(r"virtio-hostile: summary: (\d+) cases, (\d+) failed, (\d+) breaks")

LINUX_IO_MIB = 8
NET_MIB = 8

# The shell's `dev <vm>`: a row per device, "<n> <type> slot <s> <address> ... key=value ...".
DEV_ROW = re.compile(r"^(\d+)\s+(virtio-\w+)\s+slot (\d+)\s+(0x[0-9a-f]+)\s+(.*?)\s*$", re.M)


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
    """Commands to a Linux VM's shell (console input on it), each followed
    by a marker only its output can contain. A command ending in "&" runs
    in the background."""

    def __init__(self, con, vm="linux"):
        self.con, self.vm, self.n = con, vm, 0

    def run(self, command, timeout=120):
        self.n += 1
        marker = f"K{100 + self.n}"
        since = len(self.con.stream(self.vm))
        line = f"{command}{' ' if command.endswith('&') else ';'}echo K$((100+{self.n}))"
        assert len(line) + len("keel-guest# ") < 80, line
        self.con.proc.send(line + "\r")
        self.con.wait(re.escape(marker), self.vm, timeout, since)
        return self.con.stream(self.vm)[since:]

    def sha(self, command):
        out = self.run(command)
        m = re.search(r"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])", out)
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

    def pings(self, addr, count=2):
        out = self.run(f"ping -c {count} -W 2 {addr}", timeout=60)
        m = re.search(r"(\d+) packets transmitted, (\d+) packets received", out)
        assert m, out[-500:]
        return int(m.group(2))


def net_round(con, linux, peer, r, storm=False):
    """The Linux VMs ping each other, then NET_MIB MiB of fresh random data
    go from linux to peer through nc, md5 checked on both ends: how long
    the pings and the transfer took, and how many pings were lost. In the
    storm the flooder may fill only its share of each peer's inbound queue
    (core/vnet.c), so the peers' frames to each other still find room: at
    most one ping of four may be lost (ICMP is not retransmitted, and a
    share can still overflow in a burst); outside it, none."""
    pings = 4 if storm else 2
    lost = 0
    con.focus("1", "peer")
    peer.run(f"nc -l -p {5000 + r}|md5sum>g{r} &")
    con.focus("0", "linux")
    linux.run(f"dd if=/dev/urandom of=x{r} bs=1M count={NET_MIB} 2>$N")
    want = re.search(r"(?<![0-9a-f])([0-9a-f]{32})(?![0-9a-f])",
                     linux.run(f"md5sum x{r}")).group(1)
    t0 = time.time()
    got = linux.pings("10.0.0.2", pings)
    assert got >= pings - storm, f"round {r}: linux's pings to peer: {got} of {pings}"
    lost += pings - got
    linux.run(f"nc 10.0.0.2 {5000 + r} <x{r}", timeout=300)
    con.focus("1", "peer")
    for _ in range(10):
        got = peer.run(f"cat g{r}")
        if re.search(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", got):
            break
        peer.run("sleep 1")
    assert want in got, f"round {r}: linux sent {want}, peer received {got[-300:]!r}"
    got = peer.pings("10.0.0.1", pings)
    assert got >= pings - storm, f"round {r}: peer's pings to linux: {got} of {pings}"
    lost += pings - got
    took = time.time() - t0
    con.focus("0", "linux")
    return took, lost


def dev_rows(con, vm):
    """The shell's `dev <vm>` (the shell has focus): {slot: (type, address,
    {key: value})}, values that are numbers as ints."""
    since = len(con.text())
    con.shell(f"dev {vm}", rf"dev {vm}\s*\n[\s\S]*keel> ")  # the prompt after its rows
    rows = {}
    for m in DEV_ROW.finditer(con.text()[since:]):
        kv = dict(t.split("=", 1) for t in m.group(5).split() if "=" in t)
        rows[int(m.group(3))] = (m.group(2), m.group(4),
                                 {k: int(v) if v.isdigit() else v for k, v in kv.items()})
    return rows


def net_seen(rows, slot):
    """Frames that reached a port: put into its VM's buffers, or dropped on the way in."""
    kind, _, kv = rows[slot]
    assert kind == "virtio-net", rows
    return kv["rx"] + kv["dropped"]


def cases_of(stream):
    """(case, result) for every case line: the stream has no line ends, but
    each of the guest's lines starts with "virtio-hostile: "."""
    out = []
    for rec in re.split(r"(?=virtio-hostile: )", stream):
        m = re.match(r"virtio-hostile: (.+?): (ok$|FAIL.*)", rec.strip(), re.S)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


NET_CASES = ("net: identity", "net: features-not-offered", "net: tx-layouts",
             "net: tx-short-and-long-frames", "net: tx-offload-header",
             "net: tx-group-or-zero-source", "net: tx-reserved-destinations",
             "net: tx-mac-flood-to-itself", "net: tx-device-writable-buffer", "net: tx-outside-ram",
             "net: tx-chain-loop", "net: tx-too-long", "net: tx-indices-out-of-range",
             "net: tx-indirect-not-negotiated", "net: tx-before-driver-ok")
NET_PEER_CASES = ("net: rx-layouts", "net: tx-spoofed-source", "net: rx-device-readable-buffer",
                  "net: rx-outside-ram", "net: rx-chains-too-small", "net: rx-after-reset",
                  "net: rx-broadcast-after-the-storm")
NET_COUNTED = re.compile(r"virtio-hostile: net: counted tx-dropped (\d+) refused (\d+) "
                         r"rx-short (\d+) breaks (\d+) relayed (\d+)")


def check_cases(stream, min_cases, net_cases=(), racer=True):
    cases = cases_of(stream)
    failed = [f"{name}: {res[:300]}" for name, res in cases if res != "ok"]
    assert not failed, "hostile cases failed:\n" + "\n".join(failed)
    m = SUMMARY.search(stream)
    assert m, stream[-3000:]
    assert int(m.group(2)) == 0 and int(m.group(1)) == len(cases) >= min_cases, \
        (m.group(0), len(cases))
    for what in ("storm", "rw: last-break-after-a-quiet-second", "rw: sweep-outside-ram",
                 "rw: chain-loop", "ro: read-write", "rw: indirect-nested", "rw: access-rules",
                 "ro: data-straddles-ram-end") + ("racer",) * racer + tuple(net_cases):
        assert (what, "ok") in cases, f"case {what} did not run"
    return int(m.group(3))


# Why the network port's queues broke (transmit: queue 1, receive: queue 0).
NET_TX_REASONS = {
    "chain does not frame a request",
    "device-readable buffer after a device-writable one",
    "outside the VM's memory",
    "descriptor chain loops",
    "too many buffers in a chain",
    "chain of 4 GiB or more",
    "head index outside the descriptor table",
    "next index outside the table",
    "available idx beyond the queue size",
    "bad indirect descriptor",
}
NET_RX_REASONS = {
    "chain does not frame a request",
    "device-readable buffer after a device-writable one",
    "outside the VM's memory",
}
DEVICES = {("blk 0", "0xa003e00"), ("blk 1", "0xa003c00"), ("net 0", "0xa003a00"),
           ("blk 0", "0x10008000"), ("blk 1", "0x10007000"), ("net 0", "0x10006000")}


def check_keel_log(text, breaks, net_rx=True):
    """Keel named every reason, about the right device and queue, kept to
    its per-VM limit, and accounted for every break: a line, or in the count
    of lines it suppressed (the guest's last break, after a quiet second,
    makes it print the last count)."""
    lines = BROKEN.findall(text)
    reasons = {(d.split()[0], q, r) for d, _, _, q, r in lines}
    want = {("blk", "0", r) for r in REASONS} | {("net", "1", r) for r in NET_TX_REASONS}
    if net_rx:
        want |= {("net", "0", r) for r in NET_RX_REASONS}
    assert want <= reasons, f"not in Keel's log: {sorted(want - reasons)}"
    assert {(d, a) for d, _, a, _, _ in lines} <= DEVICES, set(lines)
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


def check_vh_net(row, counted, storm_frames):
    """The hostile port's counters against what the guest says it caused:
    every dropped and refused frame an error, every break a reset, every
    small receive chain a drop, every storm frame sent."""
    tx_dropped, refused, rx_short, breaks, _ = counted
    assert row["errors"] == tx_dropped + refused, (row, counted)
    assert row["resets"] == breaks, (row, counted)
    assert row["dropped"] >= rx_short, (row, counted)
    assert row["tx"] >= storm_frames + refused, (row, counted)


@pytest.mark.usefixtures("need_guest", "guests")
def test_hostile_virtio_driver_beside_linux(keel, tmp_path):
    linux_disk = tmp_path / "linux.img"
    with open(linux_disk, "wb") as f:
        f.truncate(4 * LINUX_IO_MIB << 20)
    t_start = time.time()
    proc = keel("--smp", "3", "--mem", "1G",
                "--vm", linux_vm_spec("linux", cpus=1, mem="256M", disk=str(linux_disk),
                                      net="lan"),
                "--vm", linux_vm_spec("peer", cpus=1, mem="192M", net="lan"),
                "--vm", f"name=vh,cpus=1,mem=32M,kernel={GUEST},disk={disks(tmp_path)},net=lan",
                timeout=60)
    con = Console(proc)
    linux, peer = Linux(con, "linux"), Linux(con, "peer")
    con.wait(r"KEEL-GUEST-READY.*keel-guest# ", "linux", 180)
    # (a VM without console input is line buffered: peer's prompt shows once it has focus)
    con.wait(r"KEEL-GUEST-READY", "peer", 180)
    con.focus("1", "peer")
    peer.run("cd /tmp;N=/dev/null;ip a add 10.0.0.2/24 dev eth0")
    peer.run("ip l set eth0 up")
    con.focus("0", "linux")
    linux.run("cd /tmp;D=/dev/vda;N=/dev/null")
    linux.run("ip a add 10.0.0.1/24 dev eth0;ip l set eth0 up")
    sums = [None] * 3
    sums[0], t_before = linux.io_round(0)
    n_before, _ = net_round(con, linux, peer, 0)

    # The network cases, with the Linux VMs up: what reached them meanwhile.
    con.wait(r"net: waiting for 'n'", "vh", 180)
    con.focus("k", "the Keel shell")
    seen = {vm: net_seen(dev_rows(con, vm), slot) for vm, slot in (("linux", 30), ("peer", 31))}
    con.focus("2", "vh")
    since = len(con.stream("vh"))
    proc.send("n")
    con.wait(r"virtio-hostile: net: cases done", "vh", 240, since)
    counted = tuple(int(x) for x in NET_COUNTED.search(con.stream("vh")).groups())
    con.focus("k", "the Keel shell")
    for vm, slot in (("linux", 30), ("peer", 31)):
        got = net_seen(dev_rows(con, vm), slot) - seen[vm]
        # Relayed: the guest's good frames; not one of the thousands refused or reserved.
        assert got <= counted[4], f"{vm} got {got} frames from the cases, {counted[4]} relayed"
    # The spoofed frames stole nothing: the Linux VMs still reach each other.
    con.focus("0", "linux")
    assert linux.pings("10.0.0.2") == 2, "linux cannot reach peer after the spoofing"
    con.focus("1", "peer")
    assert peer.pings("10.0.0.1") == 2, "peer cannot reach linux after the spoofing"

    # The storm, with Linux's I/O and transfer in the middle of it.
    con.wait(r"storm: waiting", "vh", 120)
    con.focus("2", "vh")
    since = len(con.stream("vh"))
    proc.send("s")
    con.wait(r"storm: started", "vh", 30, since)
    con.focus("0", "linux")
    sums[1], t_during = linux.io_round(1)
    n_during, lost = net_round(con, linux, peer, 1, storm=True)
    con.focus("2", "vh")
    since = len(con.stream("vh"))
    proc.send("e")
    # Back up after the storm, the port must get what linux broadcasts: ARP for a stranger.
    con.wait(r"net: waiting for 10.0.0.1 to ask for 10.0.0.77", "vh", 180, since)
    con.focus("0", "linux")
    linux.run("ping -c 6 10.0.0.77 >$N 2>&1 &")
    con.wait(r"virtio-hostile: summary: ", "vh", 180, since)
    sums[2], t_after = linux.io_round(2)
    n_after, _ = net_round(con, linux, peer, 2)
    # Everything Linux wrote is still there.
    for r in range(3):
        n = LINUX_IO_MIB
        got = linux.sha(f"dd if=$D bs=1M skip={r * n} count={n} 2>$N|sha256sum")
        assert got == sums[r], f"Linux's round {r} data changed"
    con.wait(r"SUMMARY: \d+ passed, \d+ failed", "vh", 30)
    text, vh = con.text(), con.stream("vh")
    breaks = check_cases(vh, min_cases=175, net_cases=NET_CASES + NET_PEER_CASES, racer=False)
    storm = re.search(r"storm: (\d+) notifications \(\d+ from the racer\), \d+ breaks", vh)
    assert storm and int(storm.group(1)) >= 100000, vh[-2000:]
    frames = re.search(r"storm: (\d+) broadcast frames", vh)
    assert frames and int(frames.group(1)) >= 50000, vh[-2000:]
    peers = re.search(r"net: peers ([0-9a-f:]{17}) and ([0-9a-f:]{17})", vh)
    assert peers and peers.groups() == ("02:4b:45:4c:00:01", "02:4b:45:4c:00:02"), vh[-2000:]

    # Keel's counters: the read-only disk never written, the broken chains counted, and
    # Linux's disk, at the same address in its VM, without an error; the network ports.
    con.focus("k", "the Keel shell")
    devs = {vm: dev_rows(con, vm) for vm in ("vh", "linux", "peer")}
    rw, ro, port = devs["vh"][31][2], devs["vh"][30][2], devs["vh"][29]
    assert rw["requests"] > 300 and rw["errors"] > 0 and rw["resets"] > 1000, devs
    assert ro["read"] > 0 and ro["written"] == 0 and ro["errors"] > 0, devs
    assert port[:2] == ("virtio-net", "0xa003a00"), devs
    check_vh_net(port[2], counted, int(frames.group(1)))
    lblk, lnet, pnet = devs["linux"][31], devs["linux"][30], devs["peer"][31]
    assert lblk[0] == "virtio-blk" and lblk[2]["errors"] == 0 and lblk[2]["resets"] == 0, devs
    assert lblk[2]["written"] >= 3 * LINUX_IO_MIB << 20, devs
    for kind, _, kv in (lnet, pnet):
        assert kind == "virtio-net" and kv["net"] == "lan", devs
        assert kv["errors"] == 0 and kv["resets"] == 0, devs
        # The storm overflowed their bounded queues: dropped there, and counted.
        assert kv["dropped"] > 0, devs
    assert lnet[2]["tx_bytes"] >= 3 * NET_MIB << 20, devs
    assert pnet[2]["rx_bytes"] >= 3 * NET_MIB << 20, devs

    # Linux kept its pace: a generous bound on its I/O and transfer during the storm.
    assert t_during < 4 * max(t_before, t_after) + 30, \
        f"Linux's I/O: {t_before:.1f}s before the storm, {t_during:.1f}s during, " \
        f"{t_after:.1f}s after"
    assert n_during < 4 * max(n_before, n_after) + 30, \
        f"Linux's network: {n_before:.1f}s before the storm, {n_during:.1f}s during, " \
        f"{n_after:.1f}s after"
    logged = check_keel_log(text, breaks)
    assert not re.search(r"cpu\d+ (?:warn|error): vm (?:linux|peer)", text), \
        "Keel warned about a Linux VM"
    assert not KEEL_FATAL.search(text + proc.output)
    print(f"virtio hostile beside Linux: {logged}; {storm.group(0)}; {frames.group(0)}; "
          f"net {counted}; Linux I/O {t_before:.1f}s / {t_during:.1f}s / {t_after:.1f}s, "
          f"network {n_before:.1f}s / {n_during:.1f}s ({lost} of 8 pings lost) / {n_after:.1f}s; "
          f"{time.time() - t_start:.0f}s")


@pytest.mark.usefixtures("guests")
def test_riscv_hostile_virtio_driver(keel, tmp_path):
    t_start = time.time()
    proc = keel(*RV_ARGS, "--smp", "2", "--mem", "512M", "--append", "keel.stay-up",
                "--vm", f"name=vh,cpus=2,mem=32M,kernel={RV_GUEST},disk={disks(tmp_path)},"
                        f"net=lan", timeout=60)
    con = Console(proc, tagged=False)
    con.wait(r"net: waiting for 'n'", "vh", 120)
    proc.send("a")
    con.wait(r"storm: waiting", "vh", 120)
    since = len(con.stream("vh"))
    proc.send("s")
    con.wait(r"storm: started", "vh", 30, since)
    end = time.time() + scaled(2)
    while time.time() < end:
        con.read(0.5)
    proc.send("e")
    con.wait(r"SUMMARY: \d+ passed, \d+ failed", "vh", 120)
    text, vh = con.text(), con.stream("vh")
    breaks = check_cases(vh, min_cases=160, net_cases=NET_CASES)
    counted = tuple(int(x) for x in NET_COUNTED.search(vh).groups())
    frames = re.search(r"storm: (\d+) broadcast frames", vh)
    assert frames and int(frames.group(1)) >= 50000, vh[-2000:]
    logged = check_keel_log(text, breaks, net_rx=False)
    con.focus("k", "the Keel shell")
    port = dev_rows(con, "vh")[5]
    assert port[:2] == ("virtio-net", "0x10006000"), port
    check_vh_net(port[2], counted, int(frames.group(1)))
    assert not KEEL_FATAL.search(text)
    print(f"virtio hostile on RISC-V: {logged}; net {counted}; {time.time() - t_start:.0f}s")

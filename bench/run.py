#!/usr/bin/python3
"""Keel benchmarks: the same guest on native QEMU and under Keel, in one run.

`make bench` runs this as `/usr/bin/python3 bench/run.py` (standard library
plus pexpect).  See bench/README.md for what is measured and how.

  linux   Debian's arm64 kernel + busybox initramfs (.cache/guests/):
          boot time to the KEEL-GUEST-READY marker, and a CPU-bound workload
          (dd if=/dev/zero | sha256sum), with and without -icount shift=0.
  micro   build/guests/bench.elf, when it exists: exit-path micro-benchmarks
          under -icount shift=0 (lines "BENCH <name> <instructions-per-op>"),
          on a GICv3 board and again on a GICv2 one (the guest sees a vGICv2).
  sched   build/guests/schedbench.elf, when it exists: vCPUs sharing a CPU
          under -icount shift=0,sleep=off: the cost of a switch, a virtual
          timer's wake-up beside a busy lower-priority VM against an exclusive
          CPU, and the fairness of two busy VMs (arm64 only).
  blk     the Linux guest with a disk: QEMU's own virtio-blk natively, a Keel
          RAM disk under Keel; sequential O_DIRECT reads and writes (dd) timed
          in the guest, Keel's exits per request from its shell.
  net     two Linux guests: two QEMUs with QEMU's own virtio-net joined by a
          socket natively, two VMs on one Keel network under Keel; ping round
          trips and nc throughput from one to the other, Keel's exits per frame.

Both again for RISC-V (--arch riscv64; both architectures by default): Debian's
riscv64 kernel and initramfs (.cache/guests/riscv64/) natively under OpenSBI
and under Keel in HS-mode, and build/guests/riscv64/bench.elf
(bench/guest-riscv64).

Prints a table (metric, native, keel, ratio = keel/native) and writes
build/bench/results.json.  Console logs of every run go to build/bench/logs/.
"""
import argparse
import collections
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time

try:
    import pexpect
except ImportError:  # pragma: no cover - depends on the host
    sys.exit("bench: pexpect is missing: run with /usr/bin/python3 "
             "(Debian's python3-pexpect, installed by scripts/deps.sh)")

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
OUT_DIR = os.path.join(ROOT, "build", "bench")
LOG_DIR = os.path.join(OUT_DIR, "logs")
GUEST_DIR = os.path.join(ROOT, ".cache", "guests")
KEEL_RUN = os.path.join(ROOT, "tools", "keel-run")
MICRO_ELF = os.path.join(ROOT, "build", "guests", "bench.elf")
RV_GUEST_DIR = os.path.join(GUEST_DIR, "riscv64")
RV_MICRO_ELF = os.path.join(ROOT, "build", "guests", "riscv64", "bench.elf")

DEFAULT_CPU = "max,pauth=off,sve=off"   # tools/keel-run's default
QEMU = os.environ.get("KEEL_QEMU") or "qemu-system-aarch64"   # tools/keel-run reads it too
LINUX_MEM = "512M"      # guest RAM, native and under Keel
KEEL_BOARD_MEM = "1G"   # board RAM under Keel: the guest's 512M + Keel's own
BOOTARGS = "console=ttyAMA0"
# RISC-V: what tools/keel-run uses for --arch riscv64 (its QEMU, firmware and CPU).
RV_QEMU = os.environ.get("KEEL_QEMU_RISCV64") or "qemu-system-riscv64"
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
RV_DEFAULT_CPU = "rv64"   # QEMU 10: H and Sstc on
# earlycon=sbi, as Keel's own tests boot it: the kernel's first line then
# comes out at once (over the SBI's debug console), not when ttyS0 probes.
RV_BOOTARGS = "console=ttyS0 earlycon=sbi"
# sleep=off: while the hart idles, the virtual clock jumps to the next timer
# instead of following the host's clock, so RISC-V boot figures repeat
# exactly (with plain shift=0 `Run /init` moved by up to 4% from run to run).
RV_ICOUNT = "shift=0,sleep=off"
MARKER = "KEEL-GUEST-READY"
PROMPT = "keel-guest# "
# Commands are typed in chunks, each echoed before the next is sent: Keel's
# vPL011 has a 32-entry RX FIFO, and Keel at d30ce00 dropped the bytes of a
# burst beyond it (a 33rd byte typed at once was lost).  Chunks also keep a
# lost byte from going unnoticed: its echo never comes and the run fails.
CHUNK = 16

BOOT_TIMEOUT = 120      # QEMU start to the shell prompt
CMD_TIMEOUT = 30        # short shell commands
POWEROFF_TIMEOUT = 30   # `poweroff -f` to QEMU's exit
MICRO_TIMEOUT = 180     # one micro-benchmark guest run


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench] {msg}", flush=True)


# ---------------------------------------------------------------------------
# Commands: native QEMU and Keel (through tools/keel-run --dry-run)
# ---------------------------------------------------------------------------

def native_cmd(cpu, smp, mem, kernel, icount, initrd=None, append=None, dtb=None, gic=3):
    """Plain QEMU 'virt' board: no EL2/EL3, so the guest starts at EL1."""
    cmd = [QEMU, "-M", f"virt,gic-version={gic}", "-cpu", cpu, "-smp", str(smp), "-m", mem,
           "-nographic", "-nic", "none", "-kernel", kernel]
    if initrd:
        cmd += ["-initrd", initrd]
    if append is not None:
        cmd += ["-append", append]
    if dtb:
        cmd += ["-dtb", dtb]
    if icount:
        cmd += ["-icount", "shift=0"]
    return cmd


def rv_native_cmd(cpu, smp, mem, kernel, icount, initrd=None, append=None, dtb=None):
    """QEMU's riscv virt board with OpenSBI in M-mode: the guest starts in
    S-mode, as it starts in VS-mode under Keel (which runs in HS-mode under
    the same OpenSBI)."""
    cmd = [RV_QEMU, "-M", "virt", "-cpu", cpu, "-smp", str(smp), "-m", mem, "-nographic",
           "-nic", "none", "-bios", OPENSBI, "-kernel", kernel]
    if initrd:
        cmd += ["-initrd", initrd]
    if append is not None:
        cmd += ["-append", append]
    if dtb:
        cmd += ["-dtb", dtb]
    if icount:
        # a string is the -icount option itself (the blk bench's plain shift=0)
        cmd += ["-icount", icount if isinstance(icount, str) else RV_ICOUNT]
    return cmd


def keel_cmd(cpu, smp, icount, vm_spec, gic=3, arch="aarch64", board_mem=KEEL_BOARD_MEM,
             append=None):
    """The QEMU command tools/keel-run would run.

    keel-run dumps the board DTB and merges the VM nodes first (a QEMU run of
    its own); asking it for the command with --dry-run keeps that out of the
    wall-clock measurement of the run itself. @vm_spec is one --vm spec or a
    list of them. On RISC-V, a string @icount is the -icount option to use
    instead of RV_ICOUNT. @append: Keel's own command line.
    """
    cmd = [sys.executable, KEEL_RUN, "--dry-run", "--smp", str(smp), "--mem", board_mem,
           "--cpu", cpu]
    if append:
        cmd += ["--append", append]
    for spec in [vm_spec] if isinstance(vm_spec, str) else vm_spec:
        cmd += ["--vm", spec]
    cmd += ["--arch", "riscv64"] if arch == "riscv64" else ["--gic", str(gic)]
    if icount:
        cmd.append("--icount")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    if res.returncode != 0:
        raise BenchError(f"tools/keel-run --dry-run failed: {res.stderr.strip()}")
    lines = [l for l in res.stdout.splitlines() if l.strip() and not l.startswith("#")]
    if not lines:
        raise BenchError("tools/keel-run --dry-run printed no QEMU command")
    argv = shlex.split(lines[-1])
    if icount and arch == "riscv64":
        # as natively (see RV_ICOUNT)
        argv[argv.index("-icount") + 1] = icount if isinstance(icount, str) else RV_ICOUNT
    return argv


def qemu_version(qemu=QEMU):
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


def git_rev():
    try:
        res = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=30)
        return res.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


# ---------------------------------------------------------------------------
# A QEMU process driven through its serial console
# ---------------------------------------------------------------------------

class Console:
    def __init__(self, argv, label):
        os.makedirs(LOG_DIR, exist_ok=True)
        self.label = label
        self.log_path = os.path.join(LOG_DIR, f"{label}.log")
        self.logfile = open(self.log_path, "w", encoding="utf-8", errors="replace")
        self.logfile.write("# " + shlex.join(argv) + "\n")
        self.logfile.flush()
        self.start = time.monotonic()
        self.proc = pexpect.spawn(argv[0], argv[1:], cwd=ROOT, encoding="utf-8",
                                  codec_errors="replace", echo=False, timeout=BOOT_TIMEOUT)
        self.proc.logfile_read = self.logfile

    def _fail(self, what, timeout, exc):
        if isinstance(exc, pexpect.TIMEOUT):
            kind = f"timed out after {timeout}s"
        else:
            last = [l.strip() for l in (self.proc.before or "").splitlines() if l.strip()]
            kind = "QEMU exited" + (f" ({last[-1][:160]!r})" if last else "")
        return BenchError(f"{self.label}: {kind} waiting for {what} (log: "
                          f"{os.path.relpath(self.log_path, ROOT)})")

    def expect(self, pattern, timeout, what):
        try:
            self.proc.expect(pattern, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            raise self._fail(what, timeout, exc) from None
        return self.proc.match

    def expect_exact(self, text, timeout, what):
        try:
            self.proc.expect_exact(text, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            raise self._fail(what, timeout, exc) from None
        return self.proc.before

    def type_line(self, line, timeout=CMD_TIMEOUT):
        """Type a command and Enter, each chunk echoed before the next."""
        for i in range(0, len(line), CHUNK):
            chunk = line[i:i + CHUNK]
            self.proc.send(chunk)
            self.expect_exact(chunk, timeout, f"the echo of {chunk!r}")
        self.proc.send("\r")

    def run(self, line, timeout=CMD_TIMEOUT):
        """Run a shell command; return what it printed (up to the next prompt)."""
        self.type_line(line)
        return self.expect_exact(PROMPT, timeout, f"the prompt after {line!r}")

    def wait_exit(self, timeout):
        try:
            self.proc.expect(pexpect.EOF, timeout=timeout)
            return True
        except pexpect.TIMEOUT:
            return False

    def poweroff(self):
        """`poweroff -f` in the guest; QEMU must then exit by itself (under
        Keel: the VM's PSCI SYSTEM_OFF, then Keel powers the board off)."""
        self.proc.send("poweroff -f\r")
        if not self.wait_exit(POWEROFF_TIMEOUT):
            raise BenchError(f"{self.label}: QEMU still running {POWEROFF_TIMEOUT}s after "
                             "poweroff -f")

    def close(self):
        if self.proc.isalive():
            self.proc.close(force=True)   # our own QEMU child: SIGHUP/SIGINT, then SIGKILL
        else:
            self.proc.close()
        self.logfile.close()


# ---------------------------------------------------------------------------
# Linux: boot time and a CPU-bound workload
# ---------------------------------------------------------------------------

RE_RUN_INIT = r"\[\s*(\d+\.\d+)\] Run /init as init process"
RE_NOW = r"now at (\d+) nsecs"
RE_KEEL_VM_START = r"\[\s*(\d+\.\d+)\] cpu\d+ info: vm linux: starting"
# The first shell command, typed ahead as soon as the kernel says it runs
# /init (the console is open by then and the tty keeps the line): the shell
# finds it waiting when it first reads, so the guest never idles between the
# marker and the command (under -icount an idle guest's clock follows the
# host's), and the time it prints is repeatable.  Typed after the marker
# instead, it races the shell's first read and often loses, adding tens of
# ms of idle (host) time.
# 25 bytes, sent at once: inside the 32-entry vPL011 RX FIFO (on RISC-V,
# Keel's console queues 256 bytes ahead of its vNS16550's 16-byte FIFO).
FIRST_CMD = "head -3 /proc/timer_list"
# A shell function printing CLOCK_MONOTONIC in ns (busybox date has no %N).
NOW_FUNC = "n(){ grep -m1 'now at' /proc/timer_list;}"


class LinuxArch:
    """One architecture's Linux benchmark: the guest's files and command
    line, the QEMU commands, and what the native board has that Keel's VM
    does not (for the native run on Keel's device set)."""

    def __init__(self, name, title, label, guest_dir, bootargs, first_line, keel_bin,
                 trim_nodes, trim_props, virtio_parent, trim_cpu, trimmed_what,
                 features_cmd=None, trimmed_workload=False):
        self.name, self.title, self.label = name, title, label
        self.guest_dir, self.bootargs, self.first_line = guest_dir, bootargs, first_line
        self.keel_bin = keel_bin
        self.trim_nodes, self.trim_props = trim_nodes, trim_props
        self.virtio_parent, self.trim_cpu, self.trimmed_what = virtio_parent, trim_cpu, trimmed_what
        self.features_cmd = features_cmd
        self.trimmed_workload = trimmed_workload

    def files(self):
        return (os.path.join(self.guest_dir, "Image"),
                os.path.join(self.guest_dir, "initramfs.cpio.gz"))

    def cpu(self, args):
        return args.rv_cpu if self.name == "riscv64" else args.cpu

    def size(self, args):
        return args.rv_size if self.name == "riscv64" else args.size

    def native(self, cpu, icount, dtb=None):
        kernel, initrd = self.files()
        make = rv_native_cmd if self.name == "riscv64" else native_cmd
        return make(cpu, 1, LINUX_MEM, kernel, icount, initrd=initrd, append=self.bootargs,
                    dtb=dtb)

    def keel(self, cpu, icount):
        kernel, initrd = self.files()
        spec = (f"name=linux,cpus=1,mem={LINUX_MEM},kernel={kernel},initrd={initrd},"
                f"bootargs={self.bootargs}")
        return keel_cmd(cpu, 1, icount, spec, arch=self.name)

    def trimmed_cpu(self, cpu):
        """The native CPU with what Keel hides from its guests switched off
        (a property --cpu sets already is left as it is)."""
        add = [kv for kv in self.trim_cpu.split(",")
               if kv and kv.split("=")[0] + "=" not in cpu]
        return ",".join([cpu] + add)


AARCH64 = LinuxArch(
    "aarch64", "Linux guest", "linux", GUEST_DIR, BOOTARGS, r"Booting Linux on physical CPU",
    "build/keel.bin",
    # Nodes of QEMU's virt DTB that Keel does not give its Linux VM (the
    # guest DT Keel builds has cpus, memory, the GIC without ITS, timer,
    # pmu, psci, one PL011, apb-pclk, aliases and chosen), and /chosen seeds
    # it does not provide.
    ("/pcie@10000000", "/platform-bus@c000000", "/flash@0", "/fw-cfg@9020000",
     "/gpio-keys", "/pl031@9010000", "/pl061@9030000", "/intc@8000000/its@8080000"),
    (("/chosen", "kaslr-seed"), ("/chosen", "rng-seed")), "/",
    "",  # nothing to switch off: Keel's guests have the host's PMU (issue 14)
    "native on Keel's device set")
RISCV64 = LinuxArch(
    "riscv64", "RISC-V Linux guest", "rv-linux", RV_GUEST_DIR, RV_BOOTARGS, r"\] Linux version ",
    "build/riscv64/keel.bin",
    # Keel's guest DT has cpus, memory, the PLIC, one NS16550A, aliases and
    # chosen. Kept natively although Keel's VM has none of them: the CLINT,
    # which OpenSBI needs for its timer and IPIs, and the test device and
    # syscon poweroff/reboot nodes, through which it powers off.
    ("/platform-bus@4000000", "/pmu", "/fw-cfg@10100000", "/flash@20000000",
     "/soc/rtc@101000", "/soc/pci@30000000"),
    (("/chosen", "rng-seed"),), "/soc",
    # Keel's guests see no H (no nested virtualization; src/arch/riscv64/guest_dt.c).
    "h=false",
    "native on Keel's device set and ISA",
    features_cmd="grep -m1 ^isa /proc/cpuinfo",
    # The ISA changes the workload's instructions too (page zeroing).
    trimmed_workload=True)


def sha256_of_zeros(mib):
    h = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(mib):
        h.update(block)
    return h.hexdigest()


def linux_boot(con, r, system, arch):
    """From QEMU's start to the shell's prompt: the boot figures into @r."""
    if system == "keel":
        m = con.expect(RE_KEEL_VM_START, BOOT_TIMEOUT, "Keel starting the VM")
        r["wall_vm_start_s"] = time.monotonic() - con.start
        r["keel_vm_start_s"] = float(m.group(1))
    con.expect(arch.first_line, BOOT_TIMEOUT, "the kernel's first line")
    r["wall_kernel_s"] = time.monotonic() - con.start
    m = con.expect(RE_RUN_INIT, BOOT_TIMEOUT, "the kernel's 'Run /init'")
    r["guest_init_s"] = float(m.group(1))
    con.proc.send(FIRST_CMD + "\r")
    con.expect_exact(MARKER, BOOT_TIMEOUT, MARKER)
    r["wall_marker_s"] = time.monotonic() - con.start
    m = con.expect(RE_NOW, CMD_TIMEOUT, "the first command's output")
    r["guest_first_cmd_s"] = int(m.group(1)) / 1e9
    con.expect_exact(PROMPT, CMD_TIMEOUT, "the prompt")


def linux_workload(con, r, label, work_mib, expect_hash):
    """dd | sha256sum between two CLOCK_MONOTONIC reads; the digest is checked."""
    con.run(NOW_FUNC)
    cmd = f"n;dd if=/dev/zero bs=1M count={work_mib}|sha256sum;n"
    t0 = time.monotonic()
    out = con.run(cmd, timeout=work_timeout(work_mib))
    r["work_wall_s"] = time.monotonic() - t0
    nows = [int(x) for x in re.findall(RE_NOW, out)]
    digest = re.search(r"\b([0-9a-f]{64})\s+-", out)
    if len(nows) != 2 or not digest or f"{work_mib}+0 records out" not in out:
        raise BenchError(f"{label}: unexpected workload output: {out.strip()!r}")
    if digest.group(1) != expect_hash:
        raise BenchError(f"{label}: wrong sha256 from the guest: {digest.group(1)} "
                         f"(expected {expect_hash})")
    r["work_guest_s"] = (nows[1] - nows[0]) / 1e9


def linux_run(label, argv, system, work_mib, expect_hash, arch=AARCH64):
    """One boot (+ workload if work_mib): a dict of measurements."""
    r = {"label": label, "system": system, "command": shlex.join(argv)}
    con = Console(argv, label)
    try:
        linux_boot(con, r, system, arch)
        if arch.features_cmd:
            out = con.run(arch.features_cmd).replace("\r", "").strip().splitlines()
            r["features"] = out[-1].split(":", 1)[-1].strip() if out else ""
        if work_mib:
            linux_workload(con, r, label, work_mib, expect_hash)
        con.poweroff()
        r["wall_total_s"] = time.monotonic() - con.start
    finally:
        con.close()
    return r


def work_timeout(mib):
    return 60 + mib // 2   # 256 MiB takes 8-15 s here, with or without icount (RISC-V: ~20 s)


def trimmed_native_dtb(arch, cpu):
    """QEMU's own virt DTB for the Linux run, cut down to Keel's guest devices.

    Dumped with the CPU the run will have (@cpu: arch.trimmed_cpu()), so that
    its CPU nodes describe that CPU.
    """
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, f"{arch.label}-native-trimmed.dtb")
    dump = arch.native(cpu, False)
    dump[dump.index("-M") + 1] += f",dumpdtb={path}"
    res = subprocess.run(dump, capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0 or not os.path.isfile(path):
        raise BenchError(f"dumping QEMU's DTB failed: {res.stderr.strip()}")
    nodes = subprocess.run(["fdtget", "-l", path, arch.virtio_parent], capture_output=True,
                           text=True, timeout=30).stdout.split()
    parent = arch.virtio_parent.rstrip("/")
    remove = list(arch.trim_nodes) + [f"{parent}/{n}" for n in nodes
                                      if n.startswith("virtio_mmio@")]
    for node in remove:
        subprocess.run(["fdtput", "-r", path, node], capture_output=True, timeout=30)
    for node, prop in arch.trim_props:
        subprocess.run(["fdtput", "-d", path, node, prop], capture_output=True, timeout=30)
    return path


# ---------------------------------------------------------------------------
# virtio-blk: sequential reads and writes of a disk, measured in the guest
# ---------------------------------------------------------------------------

BLK_SEED = b"keel bench virtio-blk image"
# Plain shift=0 on both architectures, RISC-V included: natively the guest
# idles while QEMU's block layer does the I/O in its own threads, and with
# sleep=off (RV_ICOUNT) every such wait would make the virtual clock jump to
# the next timer instead of following the host's.
BLK_ICOUNT = "shift=0"
# The guest's shell functions, one line each (prompt + line inside 80 columns):
#   n  CLOCK_MONOTONIC and the CPU's idle and iowait sleep times (ns) so far
#   c  drop the page cache, then the disk's counters (/sys/block/vda/stat)
#   t  dd with 1 MiB blocks and the given operands between two n, then the
#      counters again
BLK_FUNCS = (
    "n(){ grep -E 'now at|_sleeptime' /proc/timer_list;}",
    "c(){ echo 3 >/proc/sys/vm/drop_caches;cat /sys/block/vda/stat;}",
    't(){ c;n;dd bs=1M "$@";n;cat /sys/block/vda/stat;}',
)
BLK_OPS = {
    "read": "t if=/dev/vda of=/dev/null count={n} iflag=direct",
    "write": "t if=/dev/zero of=/dev/vda count={n} oflag=direct conv=fsync",
}
# The disk's first n MiB through a digest (sha256, or md5: a quarter of the
# guest's time, for the other checks).
BLK_CHECK = "dd if=/dev/vda bs=1M count={n} iflag=direct|{algo}sum"
RE_SLEEP = re.compile(r"\.(?:idle|iowait)_sleeptime\s*:\s*(\d+) nsecs")
RE_DISKSTAT = re.compile(r"^\s*\d+(?:\s+\d+){10,}\s*$", re.M)
# /sys/block/<dev>/stat (Documentation/block/stat.rst): (requests, sectors)
# completed. An fsync's flush counts as a write: Linux 6.1 sends it as an
# empty REQ_OP_WRITE | REQ_PREFLUSH (blkdev_issue_flush).
DISKSTAT = {"read": (0, 2), "write": (4, 6)}
KEEL_ESC = "\x1d"   # Ctrl-]: Keel's console escape (QEMU's -nographic keeps Ctrl-a)
KEEL_PROMPT = "keel> "
KEEL_VM = "linux"   # the VM's name in Keel's shell


def blk_image(mib):
    """build/bench/blk.img: @mib MiB of SHAKE-256 output (deterministic,
    incompressible), made when missing or different; its sha256 and md5."""
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "blk.img")
    data = hashlib.shake_256(BLK_SEED).digest(mib << 20)
    if not os.path.isfile(path) or os.path.getsize(path) != len(data) or \
            open(path, "rb").read() != data:
        with open(path, "wb") as f:
            f.write(data)
    return path, {algo: hashlib.new(algo, data).hexdigest() for algo in ("sha256", "md5")}


def blk_board_mem(mib):
    """Keel's board RAM: the VM's 512 MiB, the image as a module and Keel's
    copy of it (rounded up to a power of two), the kernel and Keel's own."""
    copy = 1 << max(mib - 1, 1).bit_length()
    need = 512 + mib + copy + 128 + 160
    return f"{-(-need // 1024)}G"


def blk_argv(arch, args, system, icount, img):
    """Native: QEMU's own virtio-blk on the virt board's virtio-mmio bus, the
    file through QEMU's block layer. Keel: the same file as a RAM disk."""
    kernel, initrd = arch.files()
    cpu = arch.cpu(args)
    opt = BLK_ICOUNT if icount else False
    if system == "native":
        make = rv_native_cmd if arch is RISCV64 else native_cmd
        argv = make(cpu, 1, LINUX_MEM, kernel, False, initrd=initrd, append=arch.bootargs)
        if icount:
            argv += ["-icount", BLK_ICOUNT]
        return argv + ["-global", "virtio-mmio.force-legacy=false",
                       "-drive", f"file={img.replace(',', ',,')},if=none,format=raw,id=d0",
                       "-device", "virtio-blk-device,drive=d0"]
    spec = (f"name={KEEL_VM},cpus=1,mem={LINUX_MEM},kernel={kernel},initrd={initrd},"
            f"disk={img},bootargs={arch.bootargs}")
    return keel_cmd(cpu, 1, opt, spec, arch=arch.name,
                    board_mem=blk_board_mem(os.path.getsize(img) >> 20))


def keel_shell(con, commands, back=("0", KEEL_VM)):
    """Runs commands in Keel's shell (console focus moved there and back to
    the VM with the escape key; @back: that key and the VM's name, or None to
    leave the focus with the shell); returns their outputs."""
    con.proc.send(KEEL_ESC + "k")
    con.expect(r"\[keel\] console input goes to the Keel shell\.", CMD_TIMEOUT,
               "the Keel shell's focus")
    con.expect_exact(KEEL_PROMPT, CMD_TIMEOUT, "the Keel shell's prompt")
    outs = []
    for cmd in commands:
        con.proc.send(cmd + "\r")
        con.expect_exact(cmd, CMD_TIMEOUT, f"the echo of {cmd!r} in the Keel shell")
        outs.append(con.expect_exact(KEEL_PROMPT, CMD_TIMEOUT,
                                     f"the Keel shell after {cmd!r}").replace("\r", ""))
    if back is None:
        return outs
    con.proc.send(KEEL_ESC + back[0])
    con.expect(rf"\[keel\] console input goes to {re.escape(back[1])}\.", CMD_TIMEOUT,
               "the VM's focus")
    return outs


def keel_stat(stat):
    """Exits by reason, summed over the VM's vCPUs, and "injected", from the
    output of the shell's `stat`."""
    lines = stat.splitlines()
    header = next((l.split() for l in lines if l.startswith("vcpu ")), None)
    if not header:
        raise BenchError(f"unexpected output of Keel's stat: {stat.strip()!r}")
    c = dict.fromkeys(header[1:], 0)
    for l in lines:
        f = l.split()
        if len(f) == len(header) and f[0].isdigit():
            for name, v in zip(header[1:], f[1:]):
                c[name] += int(v)
    return c


def keel_counters(con):
    """The VM's exits by reason (summed over vCPUs, and "injected") from
    `stat`, and its first disk's counters from `dev`."""
    stat, dev = keel_shell(con, [f"stat {KEEL_VM}", f"dev {KEEL_VM}"])
    c = keel_stat(stat)
    m = re.search(r"virtio-blk .*?requests=(\d+) read=(\d+) written=(\d+) flushes=(\d+)", dev)
    if not m:
        raise BenchError(f"unexpected output of Keel's dev: {dev.strip()!r}")
    for key, v in zip(("dev_requests", "dev_read", "dev_written", "dev_flushes"), m.groups()):
        c[key] = int(v)
    return c


def blk_op(con, label, kind, count):
    """One timed dd (@kind read or write, @count MiB) in the guest: guest
    time, idle time and the disk's counters from before to after."""
    cmd = BLK_OPS[kind].format(n=count)
    t0 = time.monotonic()
    out = con.run(cmd, timeout=work_timeout(count)).replace("\r", "")
    wall = time.monotonic() - t0
    nows = [(m.start(), int(m.group(1))) for m in re.finditer(RE_NOW, out)]
    stats = [[int(x) for x in l.split()] for l in RE_DISKSTAT.findall(out)]
    if len(nows) != 2 or len(stats) != 2 or f"{count}+0 records out" not in out:
        raise BenchError(f"{label}: unexpected output of {cmd!r}: {out.strip()!r}")
    split = nows[1][0]
    idle = [sum(int(x) for x in RE_SLEEP.findall(part)) for part in (out[:split], out[split:])]
    req, sect = DISKSTAT[kind]
    guest = (nows[1][1] - nows[0][1]) / 1e9
    op = {"mib": count, "guest_s": guest, "idle_s": (idle[1] - idle[0]) / 1e9,
          "wall_s": wall, "requests": stats[1][req] - stats[0][req],
          "sectors": stats[1][sect] - stats[0][sect]}
    op["busy_s"] = op["guest_s"] - op["idle_s"]
    if count:
        op["mib_per_s"] = count / guest if guest > 0 else None
        if op["sectors"] != count * 2048:
            raise BenchError(f"{label}: {kind} of {count} MiB moved {op['sectors']} sectors")
    return op


def blk_exits(before, after, base):
    """Keel's counters from @before to @after, less the same for the
    count=0 run (@base: the typing, the console and the timer), per request."""
    d = {k: (after[k] - before[k]) - base.get(k, 0) for k in after}
    reqs = d["dev_requests"]
    out = {"requests": reqs}
    for k, v in d.items():
        if not k.startswith("dev_"):
            out[k] = v
            out[f"{k}_per_request"] = v / reqs if reqs > 0 else None
    out["all_per_request"] = (sum(v for k, v in d.items()
                                  if not k.startswith("dev_") and k != "injected") / reqs
                              if reqs > 0 else None)
    return out


def blk_check(con, label, mib, algo, want, what):
    out = con.run(BLK_CHECK.format(n=mib, algo=algo), timeout=work_timeout(mib))
    m = re.search(r"\b([0-9a-f]{32,64})\s+-", out)
    if not m or m.group(1) != want:
        raise BenchError(f"{label}: {algo} of the disk's first {mib} MiB {what} is "
                         f"{m.group(1) if m else out.strip()!r}, expected {want}")


def blk_run(label, argv, system, arch, mib, reps, want, icount):
    """One boot: per kind (read, then write) a count=0 dd and @reps timed
    ones, then a digest of what the disk holds (@want: the image's). Under
    -icount: Keel's counters around each dd (the exits do not depend on the
    clock), the image's sha256 and the md5 of the zeroes written. Without
    it, only the image's md5: each check is a full read and hash in the
    guest, and the runs are the same code."""
    r = {"label": label, "system": system, "command": shlex.join(argv),
         "host_load": os.getloadavg()[0]}   # the no-icount figures follow it
    exits = system == "keel" and icount
    counters = (lambda: keel_counters(con)) if exits else (lambda: None)
    con = Console(argv, label)
    try:
        linux_boot(con, {}, system, arch)
        r["wall_boot_s"] = time.monotonic() - con.start
        for f in BLK_FUNCS:
            con.run(f)
        size = re.search(r"^(\d+)\s*$", con.run("cat /sys/block/vda/size").replace("\r", ""),
                         re.M)
        if not size or int(size.group(1)) != mib * 2048:
            raise BenchError(f"{label}: /dev/vda is not {mib} MiB "
                             f"({size.group(1) if size else 'no size'} sectors)")
        # what the driver negotiated (bit i = feature i) and the request size limits
        m = re.search(r"^([01]{32,})\s*$", con.run("cat /sys/block/vda/device/features"), re.M)
        if m:
            r["features"] = [i for i, bit in enumerate(m.group(1)) if bit == "1"]
        out = con.run("cd /sys/block/vda/queue;cat max_segments max_sectors_kb;cd")
        m = re.search(r"^(\d+)\s*\n\s*(\d+)\s*$", out.replace("\r", ""), re.M)
        if m:
            r["max_segments"], r["max_sectors_kb"] = int(m.group(1)), int(m.group(2))
        r["wall_checks_s"] = 0
        for kind in ("read", "write"):
            ops = r[kind] = []
            k0 = counters()
            r[f"{kind}_base"] = blk_op(con, label, kind, 0)
            k = counters()
            base = {key: k[key] - k0[key] for key in k} if exits else None
            for _ in range(reps):
                op = blk_op(con, label, kind, mib)
                if exits:
                    k_next = counters()
                    op["keel"] = blk_exits(k, k_next, base)
                    k = k_next
                ops.append(op)
            t0 = time.monotonic()
            if kind == "read":
                algo = "sha256" if icount else "md5"
                blk_check(con, label, mib, algo, want[algo], "as read")
            elif icount:
                blk_check(con, label, mib, "md5", hashlib.md5(bytes(mib << 20)).hexdigest(),
                          "after writing zeroes")
            r["wall_checks_s"] += time.monotonic() - t0
        con.poweroff()
        r["wall_total_s"] = time.monotonic() - con.start
    finally:
        con.close()
    return r


# (kind, key in an op, metric, unit, digits)
BLK_METRICS = (
    ("read", "mib_per_s", "read {mib} MiB (O_DIRECT): throughput, guest time", "MiB/s", 1),
    ("write", "mib_per_s", "write {mib} MiB (O_DIRECT, fsync): throughput, guest time",
     "MiB/s", 1),
    ("read", "busy_s", "read: guest busy time (idle excluded)", "ms", 2),
    ("write", "busy_s", "write: guest busy time (idle excluded)", "ms", 2),
    ("read", "requests", "read: requests", "", 0),
    ("write", "requests", "write: requests (the fsync's flush included)", "", 0),
)
# Keel only: (key in op["keel"], what)
BLK_EXIT_METRICS = (("mmio_per_request", "MMIO exits per request"),
                    ("irq_per_request", "IRQ exits per request"),
                    ("all_per_request", "exits per request, all reasons"))


def blk_plan(args):
    return [(system, icount) for icount in ([True] if args.quick else [True, False])
            for system in ("native", "keel")]


def blk_rows(runs, modes, mib):
    def samples(system, mode, kind, key, sub=None):
        out = []
        for r in runs:
            if r["system"] == system and r["mode"] == mode:
                for op in r.get(kind, []):
                    v = (op.get("keel") or {}).get(key) if sub else op.get(key)
                    out.append(v * 1000 if v is not None and key == "busy_s" else v)
        return out

    rows = []
    for mode in modes:
        for kind, key, name, unit, digits in BLK_METRICS:
            s = {sys_: samples(sys_, mode, kind, key) for sys_ in ("native", "keel")}
            n, k = median(s["native"]), median(s["keel"])
            if n is None and k is None:
                continue
            rows.append({"metric": name.format(mib=mib), "mode": mode, "unit": unit,
                         "digits": digits, "native": n, "keel": k,
                         "ratio": k / n if n and k is not None else None, "samples": s})
        for kind in ("read", "write"):
            for key, what in BLK_EXIT_METRICS:
                s = samples("keel", mode, kind, key, sub=True)
                k = median(s)
                if k is not None:
                    rows.append({"metric": f"{kind}: Keel's {what}", "mode": mode, "unit": "",
                                 "digits": 2, "native": None, "keel": k, "ratio": None,
                                 "samples": {"keel": s}})
    return rows


def within_budget(plan, prefix, deadline, skipped):
    """The (system, icount) runs of @plan with their mode and label
    ("<prefix>-<system>-<mode>"); those past @deadline are logged and put
    in @skipped instead."""
    for system, icount in plan:
        mode = "icount" if icount else "no-icount"
        label = f"{prefix}-{system}-{mode}"
        if time.monotonic() > deadline:
            skipped.append(label)
            log(f"{label}: skipped, over the time budget (--budget)")
            continue
        yield system, icount, mode, label


def run_blk(args, deadline, arch=AARCH64):
    linux_check_files(arch)
    mib = args.blk_size
    img, want = blk_image(mib)
    work = os.path.join(OUT_DIR, "blk-native.img")   # native QEMU writes to its file
    runs, skipped, errors = [], [], []
    for system, icount, mode, label in within_budget(blk_plan(args), f"{arch.label}-blk",
                                                     deadline, skipped):
        log(f"{label}: boot, then {args.repeat} x dd of {mib} MiB from and to /dev/vda")
        try:
            if system == "native":
                shutil.copyfile(img, work)
            argv = blk_argv(arch, args, system, icount, work if system == "native" else img)
            r = blk_run(label, argv, system, arch, mib, args.repeat, want, icount)
        except BenchError as e:
            msg = str(e) if str(e).startswith(label) else f"{label}: {e}"
            print(f"bench: {msg}", file=sys.stderr)
            errors.append(msg)
            continue
        r["mode"] = mode
        runs.append(r)
        med = {kind: median(op["mib_per_s"] for op in r[kind]) for kind in ("read", "write")}
        log(f"{label}: read {med['read']:.1f} MiB/s, write {med['write']:.1f} MiB/s "
            f"(guest time, median); host load average {r['host_load']:.1f}")
    modes = ["icount"] if args.quick else ["icount", "no-icount"]
    view = {}
    for r in runs:
        view.setdefault(r["system"], {k: r[k] for k in ("features", "max_segments",
                                                         "max_sectors_kb") if k in r})
    return {"arch": arch.name, "size_mib": mib, "image": os.path.relpath(img, ROOT),
            "guest_view": view,
            "image_digests": want, "icount": BLK_ICOUNT, "repeat": args.repeat,
            "rows": blk_rows(runs, modes, mib), "runs": runs, "skipped": skipped,
            "errors": errors,
            "notes": {
                "native": "QEMU's virtio-blk-device on the virt board's virtio-mmio bus, "
                          "over a copy of the image through QEMU's block layer (raw, "
                          "cache=writeback: the host's page cache)",
                "keel": "the image as a keel,disk module; Keel serves requests from its "
                        "RAM copy inside the QueueNotify exit",
                "guest time": "CLOCK_MONOTONIC around dd in the guest; under -icount "
                              f"{BLK_ICOUNT} busy time is instructions (1 ns each), but "
                              "idle time (natively: waiting for QEMU's I/O threads) "
                              "follows the host's clock",
                "busy": "guest time less the CPU's idle and iowait sleep time "
                        "(/proc/timer_list)",
                "exits per request": "-icount runs: Keel's stat and dev counters around "
                                     "the dd, less the same around a count=0 dd, per request "
                                     "Keel served (the fsync's flush not counted)"}}


def print_blk(section, arch=AARCH64):
    print()
    print(f"virtio-blk, {arch.title} (1 vCPU, {LINUX_MEM}; disk of {section['size_mib']} MiB; "
          f"medians of {section['repeat']} dd per boot; ratio = keel/native; icount: -icount "
          f"{section['icount']})")
    table = []
    for r in section["rows"]:
        name = r["metric"] + (f" ({r['unit']})" if r["unit"] else "")
        table.append([name, r["mode"], fmt(r["native"], r["digits"]),
                      fmt(r["keel"], r["digits"]), fmt(r["ratio"], 3, "x")])
    if table:
        print_table(["metric", "mode", "native", "keel", "ratio"], table, left=2)
    else:
        print("(nothing measured)")
    view = section["guest_view"]
    if "native" in view and "keel" in view:
        nat, kel = view["native"], view["keel"]
        print(f"the guest's view: max_segments {nat.get('max_segments')} natively, "
              f"{kel.get('max_segments')} under Keel; feature bits negotiated only natively "
              f"{sorted(set(nat.get('features', [])) - set(kel.get('features', [])))}, "
              f"only under Keel "
              f"{sorted(set(kel.get('features', [])) - set(nat.get('features', [])))}")
    if section["skipped"]:
        print("skipped (time budget): " + ", ".join(section["skipped"]))
    for e in section["errors"]:
        print(f"FAILED: {e}")


# ---------------------------------------------------------------------------
# virtio-net: two Linux VMs, ping round trips and a bulk transfer between them
# ---------------------------------------------------------------------------

NET_VMS = ("a", "b")    # a pings b and sends to it; Keel's console index = position
NET_IP = {"a": "10.0.0.1", "b": "10.0.0.2"}
NET_MAC = {"a": "02:4b:45:4c:00:01", "b": "02:4b:45:4c:00:02"}   # Keel's defaults for them
NET_NAME = "lan"
NET_MEM = "256M"        # each VM's RAM (natively: each QEMU's); the data sits in tmpfs
NET_BOARD_MEM = "1G"    # Keel's board: the two VMs, their images and Keel
NET_PINGS = 20
NET_PING_INTERVAL = "0.2"
NET_TCP_PORT = 5000
# QEMU's device made as close to Keel's as its properties allow: no mergeable
# receive buffers (the driver then posts the same single-buffer receive
# chains as under Keel), no control queue, MTU 1500 offered. The checksum and
# segmentation offloads go by themselves: the socket netdev has no vnet
# header, and QEMU then offers none of them.
NET_NATIVE_DEV = ("mrg_rxbuf=off,ctrl_vq=off,ctrl_rx=off,ctrl_vlan=off,ctrl_mac_addr=off,"
                  "ctrl_guest_offloads=off,guest_announce=off,host_mtu=1500")
# The guests' shell functions (prompt + line inside 80 columns):
#   n  CLOCK_MONOTONIC and the CPU's idle and iowait sleep (ns), as for virtio-blk
#   q  the timer's and the NIC's interrupt counts
#   p  eth0's frames received and sent (rx_packets, then tx_packets)
#   s  q, TCP's counters and p between two marker lines
NET_FUNCS = (
    "n(){ grep -E 'now at|_sleeptime' /proc/timer_list;}",
    "q(){ grep -E '_timer|-timer|virtio' /proc/interrupts;}",
    "p(){ cat /sys/class/net/eth0/statistics/[rt]x_packets;}",
    "s(){ echo s0;q;grep Tcp: /proc/net/snmp;p;echo s1;}",
)
NET_DATA = "/tmp/x"
NET_GOT = "/tmp/got"
# The receiver, in the background with its output in a file: nothing it
# prints can then come between the sender's command and its output.
NET_RECEIVE = f"(s;n;nc -l -p {NET_TCP_PORT} >{NET_GOT};n;s)>/tmp/r 2>&1 &"
NET_SEND = f"s;n;nc {NET_IP['b']} {NET_TCP_PORT} <{NET_DATA};n;s"
RE_NET_S = re.compile(r"^s0$(.*?)^s1$", re.S | re.M)
RE_NET_IRQ = re.compile(r"^\s*\d+:\s+(\d+)\s.*?(\S+)\s*$", re.M)
RE_PING = re.compile(r"seq=(\d+) ttl=\d+ time=(\d+(?:\.\d+)?) ms")
RE_NET_DEV = re.compile(r"^\s*\d+\s+virtio-net\s.*?\bnet=(\S+) mac=(\S+) (.*)$", re.M)


def net_timeout(mib):
    return 60 + 3 * mib   # Keel without icount moved 1-2 MiB/s here on a loaded host


def free_tcp_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (for QEMU's socket netdev)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def net_native_argv(arch, args, vm, port, icount):
    """One of the two native QEMUs: the virt board with QEMU's own
    virtio-net-device, its frames on a TCP socket to the other QEMU (a
    listens, b connects). Under icount plain shift=0 on RISC-V too: with
    sleep=off, a guest waiting for the other QEMU would jump to its next
    timer."""
    kernel, initrd = arch.files()
    make = rv_native_cmd if arch is RISCV64 else native_cmd
    argv = make(arch.cpu(args), 1, NET_MEM, kernel, "shift=0" if icount else False,
                initrd=initrd, append=arch.bootargs)
    end = "listen" if vm == NET_VMS[0] else "connect"
    return argv + ["-global", "virtio-mmio.force-legacy=false",
                   "-netdev", f"socket,id=n0,{end}=127.0.0.1:{port}",
                   "-device", f"virtio-net-device,netdev=n0,mac={NET_MAC[vm]},{NET_NATIVE_DEV}"]


def net_keel_argv(arch, args, icount):
    """Keel with two physical CPUs and the two VMs, one vCPU each, on one network."""
    kernel, initrd = arch.files()
    specs = [f"name={vm},cpus=1,mem={NET_MEM},kernel={kernel},initrd={initrd},net={NET_NAME},"
             f"bootargs={arch.bootargs}" for vm in NET_VMS]
    return keel_cmd(arch.cpu(args), len(NET_VMS), icount, specs, arch=arch.name,
                    board_mem=NET_BOARD_MEM)


class NetNative:
    """The two native guests, each on the console of its own QEMU."""
    system = "native"

    def __init__(self, arch, args, label, port, icount):
        self.cons = {}
        self.commands = {}
        for vm in NET_VMS:
            argv = net_native_argv(arch, args, vm, port, icount)
            self.commands[vm] = shlex.join(argv)
            self.cons[vm] = Console(argv, f"{label}-{vm}")
            if vm == NET_VMS[0]:
                # b connects at its start: a's QEMU must be listening by then
                self.cons[vm].expect(arch.first_line, BOOT_TIMEOUT, "the kernel's first line")
        for vm, con in self.cons.items():
            con.expect_exact(MARKER, BOOT_TIMEOUT, MARKER)
            con.expect_exact(PROMPT, CMD_TIMEOUT, "the prompt")

    def run(self, vm, line, timeout=CMD_TIMEOUT):
        return self.cons[vm].run(line, timeout).replace("\r", "")

    def counters(self):
        return None

    def close(self):
        for con in self.cons.values():
            con.close()


class NetKeel:
    """The two VMs on Keel's one console: their lines come tagged "[a] ",
    and input goes to the VM with the focus (the first, at start)."""
    system = "keel"

    def __init__(self, argv, label):
        self.commands = {"keel": shlex.join(argv)}
        self.con = Console(argv, label)
        self.focus = NET_VMS[0]
        self.wait_ready()

    def wait_ready(self):
        """Until both VMs printed the marker, then each one's prompt. A line
        of one VM can cut another's in two, each piece tagged: each VM's
        pieces are joined before the marker is looked for. Keel holds back
        a VM's partial line (its prompt) while the VM does not have the
        focus, so each VM is given the focus and an Enter for a new prompt."""
        streams = dict.fromkeys(NET_VMS, "")
        end = time.monotonic() + BOOT_TIMEOUT
        while not all(MARKER in v for v in streams.values()):
            self.con.expect(r"\r?\n", max(1.0, end - time.monotonic()),
                            f"both VMs' {MARKER}")
            line = clean_line(self.con.proc.before)
            for vm in NET_VMS:
                if line.startswith(f"[{vm}] "):
                    streams[vm] += line[len(vm) + 3:]
        for vm in NET_VMS:
            self.to(vm)
            self.con.proc.send("\r")
            self.con.expect(rf"\[{vm}\] {re.escape(PROMPT)}", CMD_TIMEOUT, f"{vm}'s prompt")

    def to(self, vm):
        if vm != self.focus:
            self.con.proc.send(KEEL_ESC + str(NET_VMS.index(vm)))
            self.con.expect(rf"\[keel\] console input goes to {vm}\.", CMD_TIMEOUT,
                            f"{vm}'s focus")
            self.focus = vm

    def run(self, vm, line, timeout=CMD_TIMEOUT):
        """A command in @vm's shell; its output without the tags (the other
        VM's lines dropped)."""
        self.to(vm)
        self.con.type_line(line)
        self.con.expect(rf"\[{vm}\] {re.escape(PROMPT)}", timeout, f"the prompt after {line!r}")
        tag = f"[{vm}] "
        return "\n".join(l[len(tag):] for l in
                         (clean_line(x) for x in self.con.proc.before.split("\n"))
                         if l.startswith(tag))

    def counters(self):
        """Per VM: exits by reason and "injected" (stat), and the port's
        counters (dev)."""
        cmds = [f"{c} {vm}" for vm in NET_VMS for c in ("stat", "dev")]
        outs = dict(zip(cmds, keel_shell(self.con, cmds,
                                         back=(str(NET_VMS.index(self.focus)), self.focus))))
        c = {}
        for vm in NET_VMS:
            c[vm] = keel_stat(outs[f"stat {vm}"])
            m = RE_NET_DEV.search(outs[f"dev {vm}"])
            if not m or m.group(1) != NET_NAME:
                raise BenchError(f"unexpected output of Keel's dev {vm}: "
                                 f"{outs[f'dev {vm}'].strip()!r}")
            c[vm]["dev"] = {k: int(v) for k, v in (kv.split("=", 1)
                                                   for kv in m.group(3).split())}
        return c

    def close(self):
        self.con.close()


def clean_line(text):
    """A console line without CRs and escape sequences (the prompt's cursor query)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")


def net_s(label, block):
    """The output of s: interrupts, TCP's counters, eth0's frames."""
    r = {"timer_irqs": 0, "nic_irqs": 0}
    for m in RE_NET_IRQ.finditer(block):
        if "timer" in m.group(2):
            r["timer_irqs"] += int(m.group(1))
        elif m.group(2).startswith("virtio"):
            r["nic_irqs"] += int(m.group(1))
    tcp = re.findall(r"^Tcp: (.*)$", block, re.M)
    if len(tcp) == 2:
        r.update((k, int(v)) for k, v in zip(tcp[0].split(), tcp[1].split())
                 if k in ("InSegs", "OutSegs", "RetransSegs"))
    frames = re.findall(r"^(\d+)\s*$", block, re.M)
    if len(frames) != 2 or "RetransSegs" not in r:
        raise BenchError(f"{label}: unexpected counters from the guest: {block.strip()!r}")
    r["rx_frames"], r["tx_frames"] = int(frames[0]), int(frames[1])
    return r


def net_window(label, out):
    """s;n;...;n;s output: the guest time, busy time and counter deltas in between."""
    blocks = RE_NET_S.findall(out)
    rest = RE_NET_S.sub("", out)
    nows = [m for m in re.finditer(RE_NOW, rest)]
    if len(blocks) != 2 or len(nows) != 2:
        raise BenchError(f"{label}: unexpected output: {out.strip()!r}")
    idle = [sum(int(x) for x in RE_SLEEP.findall(rest[m.end():e]))
            for m, e in ((nows[0], nows[1].start()), (nows[1], len(rest)))]
    before, after = net_s(label, blocks[0]), net_s(label, blocks[1])
    guest = (int(nows[1].group(1)) - int(nows[0].group(1))) / 1e9
    w = {"guest_s": guest, "idle_s": (idle[1] - idle[0]) / 1e9}
    w["busy_s"] = w["guest_s"] - w["idle_s"]
    w.update((k, after[k] - before[k]) for k in after)
    return w


def net_delta(before, after):
    """Keel's counters from @before to @after, per VM."""
    d = {}
    for vm in NET_VMS:
        d[vm] = {k: after[vm][k] - before[vm][k] for k in after[vm] if k != "dev"}
        d[vm]["dev"] = {k: after[vm]["dev"][k] - before[vm]["dev"][k] for k in after[vm]["dev"]}
    return d


def net_per(delta, units):
    """Exits by reason, all reasons, and interrupts injected, per unit (a
    frame the VM sent or received, or a ping round trip)."""
    exits = {k: v for k, v in delta.items() if k != "dev"}
    exits["all"] = sum(v for k, v in exits.items() if k != "injected")
    return {k: v / units if units else None for k, v in exits.items()}


def net_ping(sh, label):
    """NET_PINGS pings from a to b after a warm-up (ARP): every round trip ping
    printed, in ms, and Keel's exits per round trip. For the exits, the
    pings run as a one-letter shell function with their output in a file,
    and the same counted around a function that does nothing is subtracted:
    what is left is the pings' own, without typing, the prompt or ping's
    lines on the console (two or three exits a character)."""
    warm = sh.run("a", f"ping -c 3 -W 2 {NET_IP['b']}", timeout=CMD_TIMEOUT)
    if not RE_PING.search(warm):
        raise BenchError(f"{label}: b does not answer a's pings: {warm.strip()!r}")
    sh.run("a", f"g(){{ ping -c {NET_PINGS} -i {NET_PING_INTERVAL} {NET_IP['b']} >/tmp/p;}}")
    sh.run("a", "h(){ :;}")
    k0 = sh.counters()
    sh.run("a", "h")
    k1 = sh.counters()
    sh.run("a", "g", timeout=CMD_TIMEOUT + NET_PINGS)
    k2 = sh.counters()
    out = sh.run("a", "cat /tmp/p")
    rtt = [float(t) for _, t in RE_PING.findall(out)]
    if len(rtt) != NET_PINGS:
        raise BenchError(f"{label}: {len(rtt)} of {NET_PINGS} pings answered: "
                         f"{out.strip()!r}")
    p = {"rtt_ms": rtt, "median_ms": statistics.median(rtt), "min_ms": min(rtt),
         "max_ms": max(rtt)}
    if k0:
        base, d = net_delta(k0, k1), net_delta(k1, k2)
        p["keel"] = {}
        for vm in NET_VMS:
            less = {k: v - base[vm][k] for k, v in d[vm].items() if k != "dev"}
            p["keel"][vm] = {"exits": d[vm], "baseline": base[vm],
                             "per_round_trip": net_per(less, NET_PINGS)}
    return p


def net_transfer(sh, label, mib):
    """@mib MiB of random data from a to b through nc: the sender's window
    (guest time, busy time, its counters), the receiver's, the digests, and
    Keel's counters around the sender's command."""
    out = sh.run("a", f"dd if=/dev/urandom of={NET_DATA} bs=1M count={mib}",
                 timeout=net_timeout(mib))
    if f"{mib}+0 records out" not in out:
        raise BenchError(f"{label}: making the data failed: {out.strip()!r}")
    m = re.search(r"\b([0-9a-f]{32})\s", sh.run("a", f"md5sum {NET_DATA}", timeout=net_timeout(mib)))
    if not m:
        raise BenchError(f"{label}: no md5 of the data")
    sent_md5 = m.group(1)
    sh.run("b", NET_RECEIVE)
    # nc listens by the time this returns (it is printed before the prompt)
    out = sh.run("b", f"until netstat -ltn|grep -q :{NET_TCP_PORT};do sleep .1;done;echo up")
    if "up" not in out.split():
        raise BenchError(f"{label}: b's nc does not listen: {out.strip()!r}")
    k0 = sh.counters()
    t0 = time.monotonic()
    out = sh.run("a", NET_SEND, timeout=net_timeout(mib))
    wall = time.monotonic() - t0
    k1 = sh.counters()
    if re.search(r"^nc: ", out, re.M):
        raise BenchError(f"{label}: a's nc failed: {out.strip()!r}")
    t = {"mib": mib, "wall_s": wall, "sender": net_window(f"{label} (a)", out)}
    out = sh.run("b", f"wait;cat /tmp/r;md5sum {NET_GOT}", timeout=net_timeout(mib))
    t["receiver"] = net_window(f"{label} (b)", out)
    m = re.search(rf"\b([0-9a-f]{{32}})\s+{NET_GOT}", out)
    if not m or m.group(1) != sent_md5:
        raise BenchError(f"{label}: b received data with md5 {m.group(1) if m else None}, "
                         f"a sent {sent_md5}")
    t["md5"] = sent_md5
    t["mib_per_s"] = mib / t["sender"]["guest_s"] if t["sender"]["guest_s"] > 0 else None
    t["wall_mib_per_s"] = mib / wall
    if k0:
        d = net_delta(k0, k1)
        t["keel"] = {vm: {"exits": d[vm],
                          "per_frame": net_per(d[vm], d[vm]["dev"]["tx"] + d[vm]["dev"]["rx"])}
                     for vm in NET_VMS}
    return t


def net_check(r):
    """What Keel's counters say about lost frames: warnings. (TCP's
    retransmissions are no sign: on a loaded host, late ACKs make Linux send
    segments again that were not lost, natively too.)"""
    warn = []
    t = r.get("transfer")
    ping = (r.get("ping") or {}).get("keel")
    if ping and ping["a"]["exits"]["dev"]["tx"] < NET_PINGS:
        warn.append(f"{r['label']}: Keel's counters around the pings saw only "
                    f"{ping['a']['exits']['dev']['tx']} frames from a")
    keel = t and t.get("keel")
    if keel:
        a, b = keel["a"]["exits"]["dev"], keel["b"]["exits"]["dev"]
        for vm in NET_VMS:
            dev = keel[vm]["exits"]["dev"]
            if dev.get("dropped") or dev.get("errors"):
                warn.append(f"{r['label']}: Keel's port of {vm} counted dropped="
                            f"{dev.get('dropped')} errors={dev.get('errors')}")
        # Keel's shell reads one VM's counters after the other's, and a
        # frame sent in between (the connection's last ones) counts on one
        # side only: a difference of a frame or two is that.
        if abs(a["tx"] - b["rx"]) > 2 or abs(b["tx"] - a["rx"]) > 2:
            warn.append(f"{r['label']}: a sent {a['tx']} frames and b received {b['rx']}; "
                        f"b sent {b['tx']} and a received {a['rx']}")
    return warn


def net_run(arch, args, label, system, icount, mib):
    """One boot of the two guests: ping round trips, then the transfer."""
    r = {"label": label, "system": system, "host_load": os.getloadavg()[0]}
    start = time.monotonic()
    if system == "native":
        sh = NetNative(arch, args, label, free_tcp_port(), icount)
    else:
        sh = NetKeel(net_keel_argv(arch, args, icount), label)
    try:
        r["commands"] = sh.commands
        r["wall_boot_s"] = time.monotonic() - start
        r["features"] = {}
        for vm in NET_VMS:
            for f in NET_FUNCS:
                sh.run(vm, f)
            out = sh.run(vm, f"ip a add {NET_IP[vm]}/24 dev eth0 && ip l set eth0 up && "
                             "echo up")
            if "up" not in out.split():
                raise BenchError(f"{label}: eth0 of {vm} did not come up: {out.strip()!r}")
            m = re.search(r"^([01]{32,})\s*$", sh.run(vm, "cat /sys/class/net/eth0/device/features"),
                          re.M)
            if m:
                r["features"][vm] = [i for i, bit in enumerate(m.group(1)) if bit == "1"]
        r["ping"] = net_ping(sh, label)
        r["transfer"] = t = net_transfer(sh, label, mib)
        # CPU time of both guests (and of Keel) for the transfer. Under Keel
        # with icount, the vCPUs run round robin on one clock, so a's busy
        # time has b's (and Keel's on b's behalf) in it already.
        t["work_s"] = t["sender"]["busy_s"] + (0 if system == "keel" and icount else
                                                t["receiver"]["busy_s"])
        frames = t["sender"]["tx_frames"]
        t["work_per_frame_us"] = t["work_s"] / frames * 1e6 if frames else None
        r["wall_total_s"] = time.monotonic() - start
    finally:
        sh.close()
    r["warnings"] = net_check(r)
    return r


def net_plan(args):
    """Native and Keel, without and with -icount shift=0 (RISC-V: Keel with
    shift=0,sleep=off); --quick: with it only."""
    return [(system, icount) for icount in ((True,) if args.quick else (False, True))
            for system in ("native", "keel")]


# (path in a run, metric, unit, digits, where): where "both" shows the
# metric in both modes, "no-icount" only there, "guest-clock" everywhere but
# natively under icount, where a guest that waits for the other's QEMU
# counts host time.
NET_METRICS = (
    (("ping", "median_ms"), "ping a to b: median round trip of {pings}", "ms", 3,
     "guest-clock"),
    (("transfer", "mib_per_s"), "nc {mib} MiB a to b: throughput, a's guest time", "MiB/s", 2,
     "guest-clock"),
    (("transfer", "wall_mib_per_s"), "nc: throughput, wall-clock", "MiB/s", 2, "no-icount"),
    (("transfer", "sender", "busy_s"), "nc: a's CPU busy (its idle excluded)", "s", 3,
     "no-icount"),
    (("transfer", "receiver", "busy_s"), "nc: b's CPU busy", "s", 3, "no-icount"),
    (("transfer", "work_s"), "nc: CPU time of a and b (icount: instructions of both and "
     "Keel's, G)", "s", 3, "both"),
    (("transfer", "work_per_frame_us"), "nc: the same per frame a sent (icount: k insns)",
     "us", 1, "both"),
    (("transfer", "sender", "tx_frames"), "nc: frames a sent", "", 0, "both"),
    (("transfer", "sender", "rx_frames"), "nc: frames a received (ACKs)", "", 0, "both"),
    (("transfer", "sender", "nic_irqs"), "nc: a's NIC interrupts", "", 0, "both"),
    (("transfer", "receiver", "nic_irqs"), "nc: b's NIC interrupts", "", 0, "both"),
    (("transfer", "sender", "timer_irqs"), "nc: a's timer interrupts", "", 0, "both"),
    (("transfer", "receiver", "timer_irqs"), "nc: b's timer interrupts", "", 0, "both"),
    (("transfer", "sender", "RetransSegs"), "nc: TCP segments a sent again", "", 0, "both"),
)
# Keel only: (workload, per-what key, what) -> one row per VM: MMIO, IRQ, all, injected
NET_EXIT_ROWS = (("ping", "per_round_trip", "exits per ping round trip"),
                 ("transfer", "per_frame", "exits per frame it sent or received"))
NET_EXIT_KEYS = ("mmio", "irq", "all", "injected")


def net_get(run, path):
    for key in path:
        run = run.get(key) if isinstance(run, dict) else None
    return run


def net_rows(runs, modes, mib):
    rows = []
    for mode in modes:
        sel = {s: [r for r in runs if r["system"] == s and r["mode"] == mode]
               for s in ("native", "keel")}
        for path, name, unit, digits, where in NET_METRICS:
            if where == "no-icount" and mode != "no-icount":
                continue
            s = {k: [net_get(r, path) for r in v] for k, v in sel.items()}
            if where == "guest-clock" and mode == "icount":
                s["native"] = []
            n, k = median(s["native"]), median(s["keel"])
            if n is None and k is None:
                continue
            rows.append({"metric": name.format(mib=mib, pings=NET_PINGS), "mode": mode,
                         "unit": unit, "digits": digits, "native": n, "keel": k,
                         "ratio": k / n if n and k is not None else None, "samples": s})
        for work, per, what in NET_EXIT_ROWS:
            for vm in NET_VMS:
                vals = [net_get(r, (work, "keel", vm, per)) for r in sel["keel"]]
                vals = [v for v in vals if v]
                if not vals:
                    continue
                k = {key: median(v.get(key) for v in vals) for key in NET_EXIT_KEYS}
                rows.append({"metric": f"{work}: {vm}'s Keel {what}: "
                                       + ", ".join(NET_EXIT_KEYS),
                             "mode": mode, "unit": "", "digits": 2, "native": None,
                             "keel": k, "ratio": None})
    return rows


def run_net(args, deadline, arch=AARCH64):
    linux_check_files(arch)
    mib = args.net_size
    runs, skipped, errors, warnings = [], [], [], []
    for system, icount, mode, label in within_budget(net_plan(args), f"{arch.label}-net",
                                                     deadline, skipped):
        log(f"{label}: two guests, {NET_PINGS} pings and nc of {mib} MiB from a to b")
        try:
            r = net_run(arch, args, label, system, icount, mib)
        except BenchError as e:
            msg = str(e) if str(e).startswith(label) else f"{label}: {e}"
            print(f"bench: {msg}", file=sys.stderr)
            errors.append(msg)
            continue
        r["mode"] = mode
        runs.append(r)
        warnings += r["warnings"]
        log(f"{label}: ping median {r['ping']['median_ms']:.3f} ms, nc "
            f"{r['transfer']['mib_per_s']:.2f} MiB/s guest time "
            f"({r['transfer']['wall_mib_per_s']:.2f} wall); host load average "
            f"{r['host_load']:.1f}")
    features = {}
    for r in runs:
        features.setdefault(r["system"], r["features"].get("a"))
    if features.get("native") is not None and features.get("keel") is not None and \
            features["native"] != features["keel"]:
        warnings.append(f"the driver negotiated other features natively ({features['native']}) "
                        f"than under Keel ({features['keel']})")
    return {"arch": arch.name, "size_mib": mib, "pings": NET_PINGS,
            "ping_interval_s": float(NET_PING_INTERVAL), "features": features,
            "rows": net_rows(runs, ["no-icount", "icount"], mib), "runs": runs,
            "skipped": skipped, "errors": errors, "warnings": warnings,
            "notes": {
                "native": "two QEMUs, each one guest with QEMU's virtio-net-device "
                          f"({NET_NATIVE_DEV}), joined by a TCP socket netdev on 127.0.0.1",
                "keel": f"one QEMU, --smp 2, two VMs with one vCPU each on network "
                        f"{NET_NAME!r}; a frame goes to the peer in the sender's QueueNotify "
                        "exit",
                "throughput": "MiB sent divided by the sender's CLOCK_MONOTONIC around "
                              "its nc (which ends when the receiver has closed)",
                "icount": "Keel only: both vCPUs run round robin on one virtual clock, "
                          "so guest time counts the instructions of both VMs and of Keel "
                          "(1 ns each), plus any time both idle; natively each QEMU has a "
                          "clock of its own and a guest waiting for the other counts host "
                          "time",
                "exits": "Keel's stat and dev counters around the pings and a's nc; per "
                         "frame = per frame that VM sent or received"}}


def print_net(section, arch=AARCH64):
    print()
    print(f"virtio-net, {arch.title}s a and b (1 vCPU, {NET_MEM} each; {section['pings']} "
          f"pings, nc of {section['size_mib']} MiB; ratio = keel/native; icount: Keel only)")
    table = []
    for r in section["rows"]:
        name = r["metric"] + (f" ({r['unit']})" if r["unit"] else "")
        if isinstance(r["keel"], dict):
            keel = ", ".join(fmt(r["keel"][k], r["digits"]) for k in NET_EXIT_KEYS)
        else:
            keel = fmt(r["keel"], r["digits"])
        table.append([name, r["mode"], fmt(r["native"], r["digits"]), keel,
                      fmt(r["ratio"], 3, "x")])
    if table:
        print_table(["metric", "mode", "native", "keel", "ratio"], table, left=2)
    else:
        print("(nothing measured)")
    if section["skipped"]:
        print("skipped (time budget): " + ", ".join(section["skipped"]))
    for w in section["warnings"]:
        print(f"WARNING: {w}")
    for e in section["errors"]:
        print(f"FAILED: {e}")


# ---------------------------------------------------------------------------
# Micro-benchmarks (the bench guest is another engineer's: build/guests/bench.elf)
# ---------------------------------------------------------------------------

RE_BENCH = re.compile(r"^BENCH (\S+) ([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$", re.M)


def micro_one(label, argv):
    """Run the bench guest to its PSCI SYSTEM_OFF; {name: value} of its BENCH lines."""
    con = Console(argv, label)
    try:
        if not con.wait_exit(MICRO_TIMEOUT):
            raise BenchError(f"{label}: bench guest still running after {MICRO_TIMEOUT}s "
                             f"(log: {os.path.relpath(con.log_path, ROOT)})")
        out = (con.proc.before or "").replace("\r", "")
    finally:
        con.close()
    results = {}
    for name, value in RE_BENCH.findall(out):
        if name in results:
            raise BenchError(f"{label}: BENCH {name} printed twice")
        results[name] = float(value)
    if not results:
        raise BenchError(f"{label}: the bench guest printed no 'BENCH <name> <value>' line "
                         f"(log: {os.path.relpath(con.log_path, ROOT)})")
    for line in re.findall(r"^FAIL.*$", out, re.M):
        log(f"{label}: warning: the bench guest reported {line.strip()!r}")
    return results


RAW_LOAD = 0x40080000   # where QEMU puts a raw (non-ELF) -kernel: RAM + 0x80000


def flatten_for_native(elf, out):
    """The bench ELF as a raw image QEMU boots like a Linux kernel, or None.

    QEMU (7.2) enters an ELF -kernel with x0 = 0 and puts its 1 MiB DTB at
    0x40000000 only when the ELF starts at or above 0x40100000.  A raw image
    instead is taken for a Linux kernel: loaded at 0x40080000 and entered at
    its first byte at EL1 with x0 = the DTB, as Keel enters its guests.  So an
    ELF loaded at 0x40080000 and entered there (tests/guests' guest.ld) is
    flattened and run that way; any other ELF is given to QEMU as it is.
    """
    data = open(elf, "rb").read()
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1 \
            or struct.unpack_from("<H", data, 18)[0] != 183:
        raise BenchError(f"{elf}: not a little-endian ELF64 aarch64 file")
    entry, phoff = struct.unpack_from("<QQ", data, 24)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    segs = []
    for i in range(phnum):
        ptype, _, off, vaddr, paddr, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        if ptype == 1 and memsz:
            segs.append((vaddr, paddr, off, filesz, memsz))
    if not segs:
        raise BenchError(f"{elf}: no loadable segment")
    low = min(s[1] for s in segs)
    entry_pa = next((entry - v + p for v, p, _, _, m in segs if v <= entry < v + m), None)
    if low != RAW_LOAD or entry_pa != RAW_LOAD:
        return None
    image = bytearray(max(p + f for _, p, _, f, _ in segs) - low)
    for _, paddr, off, filesz, _ in segs:
        image[paddr - low:paddr - low + filesz] = data[off:off + filesz]
    with open(out, "wb") as f:
        f.write(image)
    return out


def micro_rows(nat, kel):
    """One row per benchmark either run printed, in the native run's order."""
    rows = []
    for name in list(nat) + [n for n in kel if n not in nat]:
        n, k = nat.get(name), kel.get(name)
        rows.append({"name": name, "native": n, "keel": k,
                     "keel_minus_native": (k - n) if n is not None and k is not None else None,
                     "ratio": (k / n) if n and k is not None else None})
    return rows


def print_micro(title, rows, digits):
    print()
    print(title)
    print_table(["benchmark", "native", "keel", "keel-native", "ratio"],
                [[r["name"], fmt(r["native"], digits), fmt(r["keel"], digits),
                  fmt(r["keel_minus_native"], digits), fmt(r["ratio"], 2, "x")] for r in rows])


def run_micro(args, gic=3):
    """Exit-path micro-benchmarks: build/guests/bench.elf natively and under Keel,
    on a GICv3 (vGICv3) or a GICv2 (vGICv2) virt board.

    Both runs use -icount shift=0, so the guest's counter counts instructions
    and every figure is exact.  The guest prints `BENCH <name> <value>` lines
    (value = instructions per operation) and ends with PSCI SYSTEM_OFF.
    Returns the JSON section; prints nothing it did not measure.
    """
    elf = args.micro_elf
    if not os.path.isfile(elf):
        print("micro-benchmarks: guest not built yet "
              f"({os.path.relpath(elf, ROOT)} does not exist)")
        return {"status": "guest not built", "elf": os.path.relpath(elf, ROOT)}
    smp = args.micro_cpus
    os.makedirs(OUT_DIR, exist_ok=True)
    raw = flatten_for_native(elf, os.path.join(OUT_DIR, "bench-native.bin"))
    if raw is None:
        log(f"micro: {os.path.relpath(elf, ROOT)} is not loaded and entered at "
            f"{RAW_LOAD:#x}: QEMU gets the ELF itself, and enters it with x0 = 0 "
            "(see bench/README.md)")
    native = native_cmd(args.cpu, smp, "128M", raw or elf, True, gic=gic)
    keel = keel_cmd(args.cpu, smp, True, f"name=bench,cpus={smp},mem=128M,kernel={elf}", gic=gic)
    plural = "s" if smp > 1 else ""
    tag = "" if gic == 3 else f"-gicv{gic}"
    log(f"micro: native ({smp} CPU{plural}, GICv{gic}, icount)")
    nat = micro_one("micro-native" + tag, native)
    log(f"micro: keel ({smp} vCPU{plural}, GICv{gic}, icount)")
    kel = micro_one("micro-keel" + tag, keel)
    rows = micro_rows(nat, kel)
    print_micro(f"micro-benchmarks, GICv{gic} (instructions per operation, -icount shift=0, "
                f"{smp} vCPU{plural})", rows, 1)
    return {"status": "measured", "elf": os.path.relpath(elf, ROOT), "cpus": smp, "gic": gic,
            "icount": "shift=0", "native_image": "raw (x0 = DTB)" if raw else "ELF (x0 = 0)",
            "rows": rows,
            "commands": {"native": shlex.join(native), "keel": shlex.join(keel)}}


def run_rv_micro(args):
    """RISC-V exit-path micro-benchmarks: build/guests/riscv64/bench.elf
    natively (S-mode under OpenSBI) and under Keel (VS-mode), one hart.

    Both runs use -icount, under which the guest's rdinstret is QEMU's own
    instruction count, every privilege mode included, so every figure is
    exact (bench/guest-riscv64/bench.c). One hart: the only IPI measured is
    to the sender itself. Returns the JSON section.
    """
    elf = args.rv_micro_elf
    if not os.path.isfile(elf):
        print("RISC-V micro-benchmarks: guest not built yet "
              f"({os.path.relpath(elf, ROOT)} does not exist: make testguests builds it)")
        return {"status": "guest not built", "elf": os.path.relpath(elf, ROOT)}
    native = rv_native_cmd(args.rv_cpu, 1, "128M", elf, True)
    keel = keel_cmd(args.rv_cpu, 1, True, f"name=bench,cpus=1,mem=128M,kernel={elf}",
                    arch="riscv64")
    log("rv-micro: native (1 hart, OpenSBI, icount)")
    nat = micro_one("rv-micro-native", native)
    log("rv-micro: keel (1 vCPU, icount)")
    kel = micro_one("rv-micro-keel", keel)
    rows = micro_rows(nat, kel)
    print_micro("RISC-V micro-benchmarks (instructions per operation: rdinstret under "
                f"-icount {RV_ICOUNT}, 1 hart)", rows, 2)
    return {"status": "measured", "elf": os.path.relpath(elf, ROOT), "cpus": 1,
            "icount": RV_ICOUNT, "rows": rows,
            "commands": {"native": shlex.join(native), "keel": shlex.join(keel)}}


# ---------------------------------------------------------------------------
# The scheduler: vCPUs sharing a CPU (build/guests/schedbench.elf)
# ---------------------------------------------------------------------------

SCHED_ELF = os.path.join(ROOT, "build", "guests", "schedbench.elf")
# sleep=off: the native and exclusive wake-ups wait in a WFI that nothing
# else fills, and with plain shift=0 an idle board's clock follows the host's,
# which would put host latency into the figures. Busy boards are unaffected.
SCHED_ICOUNT = "shift=0,sleep=off"
SCHED_MEM = "64M"
SCHED_PRIO_HIGH, SCHED_PRIO_LOW = 200, 100
SCHED_TARGET = {"switch": 800, "wake": 1500}   # Keel's instructions per switch; shared - exclusive
RE_SCHED_OUT = re.compile(r"^(?:\[([\w.-]+)\] )?(BENCH|SAMPLES) (\S+) ([-+0-9. ]+?)\s*$", re.M)
RE_SCHED_FAIL = re.compile(r"^(?:\[[\w.-]+\] )?FAIL.*$", re.M)
RE_SCHED_SUMMARY = r"(?:\[([\w.-]+)\] )?SUMMARY: \d+ passed, \d+ failed"

# One VM of a run (natively: the machine); ends: it powers off by itself.
SchedVM = collections.namedtuple("SchedVM", "name cpus prio bootargs ends")


def sched_params(quick):
    """What the guest is told on its command line (bench/guest/schedbench.c)."""
    return {"switch": {"iters": 500 if quick else 2000, "warmup": 16},
            "latency": {"samples": 50 if quick else 200, "warmup": 4, "period_us": 100,
                        "settle_us": 10000},
            "fair": {"start_ms": 50, "window_ms": 500 if quick else 2000, "gap_us": 20}}


def sched_bootargs(mode, params):
    return " ".join([f"mode={mode}"] + [f"{k}={v}" for k, v in params.items()])


def sched_plan(params):
    """(label, system, physical CPUs, VMs) of every run. Under Keel everything
    shares CPU 0 (affinity=0x1), except the exclusive baseline, alone on it."""
    sw, lat, fair = (sched_bootargs(m, params[m]) for m in ("switch", "latency", "fair"))
    return [
        ("switch-native", "native", 2, [SchedVM("switch", 2, None, sw, True)]),
        ("switch-keel", "keel", 1, [SchedVM("switch", 2, None, sw, True)]),
        ("wake-native", "native", 1, [SchedVM("lat", 1, None, lat, True)]),
        ("wake-keel-exclusive", "keel", 1, [SchedVM("lat", 1, None, lat, True)]),
        ("wake-keel-shared", "keel", 1, [SchedVM("lat", 1, SCHED_PRIO_HIGH, lat, True),
                                         SchedVM("spin", 1, SCHED_PRIO_LOW, "mode=spin", False)]),
        ("fair-native", "native", 1, [SchedVM("a", 1, None, fair, True)]),
        ("fair-keel", "keel", 1, [SchedVM("a", 1, None, fair, True),
                                  SchedVM("b", 1, None, fair, True)]),
    ]


def with_icount(argv, opt):
    argv = list(argv)
    argv[argv.index("-icount") + 1] = opt
    return argv


def sched_argv(args, elf, system, smp, vms):
    if system == "native":
        vm = vms[0]
        return with_icount(native_cmd(args.cpu, smp, "128M", elf, True) + ["-append", vm.bootargs],
                           SCHED_ICOUNT)
    specs = [f"name={vm.name},cpus={vm.cpus},mem={SCHED_MEM},affinity=0x1" +
             (f",prio={vm.prio}" if vm.prio is not None else "") +
             f",kernel={elf},bootargs={vm.bootargs}" for vm in vms]
    # keel.stay-up: the shell's `sched` is read once the VMs are done
    return with_icount(keel_cmd(args.cpu, smp, True, specs, append="keel.stay-up"), SCHED_ICOUNT)


def sched_wait(con, vms):
    """Until every VM that ends has printed libguest's SUMMARY line (each
    tagged with its name when there are several)."""
    waiting = {vm.name for vm in vms if vm.ends}
    while waiting:
        m = con.expect(RE_SCHED_SUMMARY, MICRO_TIMEOUT, "the SUMMARY of " + ", ".join(sorted(waiting)))
        waiting.discard(m.group(1) or vms[0].name)


def sched_output(text, vms):
    """{VM: {"bench": {name: value}, "samples": {name: [values]}}} from a console log."""
    out = {vm.name: {"bench": {}, "samples": {}} for vm in vms}
    for tag, kind, name, values in RE_SCHED_OUT.findall(text):
        got = out.get(tag or vms[0].name)
        if got is None:
            continue
        nums = [float(v) for v in values.split()]
        if kind == "BENCH":
            got["bench"][name] = nums[0]
        else:
            got["samples"].setdefault(name, []).extend(nums)
    return out


def keel_sched_rows(text):
    """The shell's `sched` table as dicts keyed by its header (cpu, mode, vm,
    vcpu, state, prio, cpus, run_ms, switches: the columns may change)."""
    lines = text.splitlines()
    header = next((l.split() for l in lines if l.startswith("cpu ")), [])
    rows = []
    for f in (l.split() for l in lines):
        if len(f) == len(header) and f[0].isdigit():
            rows.append({k: int(v) if v.isdigit() else v for k, v in zip(header, f)})
    return rows


def sched_run(args, elf, label, system, smp, vms):
    """One run: its figures per VM, FAIL lines, and under Keel the shell's
    `sched` table, read after the VMs that end have ended."""
    argv = sched_argv(args, elf, system, smp, vms)
    con = Console(argv, label)
    keel_sched = None
    try:
        if system == "native":
            if not con.wait_exit(MICRO_TIMEOUT):
                raise BenchError(f"{label}: still running after {MICRO_TIMEOUT}s (log: "
                                 f"{os.path.relpath(con.log_path, ROOT)})")
        else:
            sched_wait(con, vms)
            keel_sched = keel_shell(con, ["sched"], back=None)[0]
    finally:
        con.close()
    with open(con.log_path, encoding="utf-8", errors="replace") as f:
        text = f.read().replace("\r", "")
    run = {"label": label, "system": system, "cpus": smp, "command": shlex.join(argv),
           "vms": sched_output(text, vms), "fails": RE_SCHED_FAIL.findall(text)}
    if keel_sched is not None:
        run["keel_sched"] = keel_sched_rows(keel_sched)
    for line in run["fails"]:
        log(f"{label}: warning: the guest reported {line.strip()!r}")
    return run


def sched_get(runs, label, vm, name):
    run = runs.get(label)
    return run["vms"].get(vm, {}).get("bench", {}).get(name) if run else None


def sched_row(metric, native, exclusive, shared, base, target=None):
    """@base: what `added` is shared minus (native or exclusive)."""
    added = minus(shared, base)
    row = {"metric": metric, "native": native, "exclusive": exclusive, "shared": shared,
           "added": added}
    if target is not None:
        row.update(target=target, met=added is not None and added <= target)
    return row


def minus(a, b):
    return a - b if a is not None and b is not None else None


def sched_switch_rows(runs):
    """The hand-off per switch, and its SGI send and the rest apart."""
    nat, kel = ({name: sched_get(runs, label, "switch", name)
                 for name in ("vcpu_switch", "vcpu_switch_sgi_send")}
                for label in ("switch-native", "switch-keel"))
    nat_rest = minus(nat["vcpu_switch"], nat["vcpu_switch_sgi_send"])
    return [
        sched_row("vCPU switch: SGI + WFI hand-off, 2 vCPUs on 1 CPU, per switch",
                  nat["vcpu_switch"], None, kel["vcpu_switch"], nat["vcpu_switch"],
                  SCHED_TARGET["switch"]),
        sched_row("  of which the SGI send (trapped ICC_SGI1R_EL1 write)",
                  nat["vcpu_switch_sgi_send"], None, kel["vcpu_switch_sgi_send"],
                  nat["vcpu_switch_sgi_send"]),
        sched_row("  of which the rest: WFI exit, put, pick, load", nat_rest, None,
                  minus(kel["vcpu_switch"], kel["vcpu_switch_sgi_send"]), nat_rest),
    ]


def sched_wake_rows(runs):
    rows = []
    for stat in ("min", "avg", "max"):
        name = f"vtimer_wake_{stat}"
        nat, exc, sha = (sched_get(runs, label, "lat", name)
                         for label in ("wake-native", "wake-keel-exclusive", "wake-keel-shared"))
        rows.append(sched_row(f"vtimer deadline to handler, in WFI: {stat}", nat, exc, sha, exc,
                              None if stat == "min" else SCHED_TARGET["wake"]))
    return rows


def sched_fairness(runs, params):
    alone = sched_get(runs, "fair-native", "a", "fair_iterations")
    vms = {}
    for vm in ("a", "b"):
        b = runs.get("fair-keel", {}).get("vms", {}).get(vm, {}).get("bench", {})
        if "fair_iterations" not in b:
            continue
        vms[vm] = {"iterations": int(b["fair_iterations"]),
                   "on_cpu_share": b["fair_on_cpu"] / b["fair_window"],
                   "of_native_alone": b["fair_iterations"] / alone if alone else None,
                   "times_away": int(b["fair_times_away"])}
    both = len(vms) == 2 and alone
    ratio = vms["a"]["iterations"] / vms["b"]["iterations"] if both else None
    return {"window_ms": params["fair"]["window_ms"], "slice": "Keel's default (10 ms)",
            "native_alone_iterations": int(alone) if alone else None, "vms": vms,
            "ratio_a_to_b": ratio,
            "keel_per_slice_switch": sched_slice_switch_cost(runs, vms, alone) if both else None}


def sched_slice_switch_cost(runs, vms, alone):
    """Keel's instructions per switch at a slice's end, from the iterations
    the two VMs together fall short of one alone natively: each iteration is
    window/alone instructions, and every time away of either is one switch
    (to within an iteration per switch)."""
    window = runs["fair-keel"]["vms"]["a"]["bench"]["fair_window"]
    lost = alone - vms["a"]["iterations"] - vms["b"]["iterations"]
    switches = vms["a"]["times_away"] + vms["b"]["times_away"]
    return lost * window / alone / switches if switches else None


def sched_switch_count(runs, params):
    """Keel's own count of switches to the switch VM's vCPUs (from `sched`,
    over the whole run), and how many the guest's hand-offs alone make."""
    rows = runs.get("switch-keel", {}).get("keel_sched", [])
    want = 2 * (params["switch"]["iters"] + params["switch"]["warmup"])
    got = sum(r["switches"] for r in rows if r["vm"] == "switch") if rows else None
    return {"keel_counted": got, "hand_offs": want}


def sched_checks(runs, params):
    """What the guests cannot see themselves, from Keel's `sched`."""
    warn = []
    count = sched_switch_count(runs, params)
    if count["keel_counted"] is not None and count["keel_counted"] < count["hand_offs"]:
        warn.append(f"switch-keel: Keel counted {count['keel_counted']} switches, the guest's "
                    f"hand-offs need {count['hand_offs']}")
    for r in runs.get("wake-keel-shared", {}).get("keel_sched", []):
        if r["vm"] == "spin" and (r["state"] not in ("running", "ready") or not r["run_ms"]):
            warn.append(f"wake-keel-shared: the spinning VM was {r['state']} with "
                        f"{r['run_ms']} ms run: not busy beside the wake-ups")
    for label, run in runs.items():
        if run.get("keel_sched") == []:
            warn.append(f"{label}: no table in the output of Keel's sched (see its log)")
        if run["fails"]:
            warn.append(f"{label}: " + "; ".join(l.strip() for l in run["fails"]))
    return warn


def run_sched(args):
    """The scheduler's figures: build/guests/schedbench.elf natively and
    under Keel (vCPUs on one shared CPU, and an exclusive baseline), all
    under -icount shift=0,sleep=off. Returns the JSON section."""
    elf = args.sched_elf
    if not os.path.isfile(elf):
        print("scheduler benchmarks: guest not built yet "
              f"({os.path.relpath(elf, ROOT)} does not exist)")
        return {"status": "guest not built", "elf": os.path.relpath(elf, ROOT)}
    params = sched_params(args.quick)
    runs, errors = {}, []
    for label, system, smp, vms in sched_plan(params):
        log(f"sched: {label} ({', '.join(vm.name for vm in vms)})")
        try:
            runs[label] = sched_run(args, elf, label, system, smp, vms)
        except BenchError as e:
            msg = str(e) if str(e).startswith(label) else f"{label}: {e}"
            print(f"bench: {msg}", file=sys.stderr)
            errors.append(msg)
    section = {"status": "measured", "elf": os.path.relpath(elf, ROOT), "gic": 3,
               "icount": SCHED_ICOUNT, "params": params,
               "rows": sched_switch_rows(runs) + sched_wake_rows(runs),
               "switches": sched_switch_count(runs, params),
               "fairness": sched_fairness(runs, params),
               "warnings": sched_checks(runs, params), "errors": errors,
               "runs": list(runs.values())}
    print_sched(section)
    return section


def print_sched(section):
    print()
    print(f"scheduler, GICv3 (instructions, -icount {section['icount']}; Keel: every vCPU "
          "on CPU 0)")
    print_table(["metric", "native", "exclusive", "shared", "added", "target"],
                [[r["metric"], fmt(r["native"], 1), fmt(r["exclusive"], 1), fmt(r["shared"], 1),
                  fmt(r["added"], 1),
                  f"<= {r['target']} ({'met' if r['met'] else 'missed'})" if "target" in r else ""]
                 for r in section["rows"]])
    print("added: shared - native for the switch (Keel's instructions per switch), "
          "shared - exclusive for the wake-up")
    sw = section["switches"]
    if sw["keel_counted"] is not None:
        print(f"switches Keel counted in the switch run: {sw['keel_counted']} (the guest's "
              f"{sw['hand_offs']} hand-offs, warm-up included, and the vCPUs' start)")
    fair = section["fairness"]
    print()
    print(f"fairness: VMs a and b, equal priority, one CPU, {fair['slice']} slices, "
          f"a {fair['window_ms']} ms counter window; natively alone: "
          f"{fair['native_alone_iterations'] or '-'} iterations")
    print_table(["vm", "iterations", "on CPU", "of native alone", "times away"],
                [[vm, str(v["iterations"]), fmt(100 * v["on_cpu_share"], 2, "%"),
                  fmt(100 * v["of_native_alone"] if v["of_native_alone"] else None, 2, "%"),
                  str(v["times_away"])] for vm, v in sorted(fair["vms"].items())])
    print(f"ratio a/b (iterations): {fmt(fair['ratio_a_to_b'], 5)}; Keel's instructions per "
          f"switch at a slice's end (what a and b fall short of one VM alone): "
          f"{fmt(fair['keel_per_slice_switch'], 0)}")
    for w in section["warnings"]:
        print(f"WARNING: {w}")
    for e in section["errors"]:
        print(f"FAILED: {e}")


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def fmt(v, digits, suffix=""):
    if v is None:
        return "-"
    return f"{v:.{digits}f}{suffix}"


def print_table(header, rows, left=1):
    """Columns sized to fit; the first `left` columns left-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = "  ".join(("{:<%d}" if i < left else "{:>%d}") % w for i, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))


def median(samples):
    vals = [s for s in samples if s is not None]
    return statistics.median(vals) if vals else None


# ---------------------------------------------------------------------------
# The Linux benchmark
# ---------------------------------------------------------------------------

# (key in a run's dict, metric name, unit)
LINUX_METRICS = (
    ("wall_kernel_s", "boot: QEMU start to the kernel's first line, wall-clock", "s"),
    ("wall_marker_s", "boot: QEMU start to KEEL-GUEST-READY, wall-clock", "s"),
    ("guest_init_s", "boot: kernel to 'Run /init', guest time", "s"),
    ("guest_first_cmd_s", "boot: to the first shell command, guest time", "s"),
    ("work_guest_s", "sha256sum {mib} MiB, guest time", "s"),
    ("work_wall_s", "sha256sum {mib} MiB, wall-clock", "s"),
)


def linux_check_files(arch):
    kernel, initrd = arch.files()
    for f in (kernel, initrd):
        if not os.path.isfile(f):
            raise BenchError(f"{os.path.relpath(f, ROOT)} missing: run `bash "
                             f"scripts/fetch-guests.sh --arch {arch.name}` (or `make guests`)")
    if not os.path.isfile(os.path.join(ROOT, arch.keel_bin)):
        raise BenchError(f"{arch.keel_bin} missing: run `make`")


def linux_plan(args):
    """(system, icount, rep, trimmed) of every run, in the order they run."""
    plan = []
    for icount in [True] if args.quick else [True, False]:
        reps = 1 if icount and not args.repeat_icount else args.repeat
        for rep in range(reps):
            for system in ("native", "keel"):
                plan.append((system, icount, rep, False))
    if not args.no_trimmed:
        plan.append(("native-trimmed", True, 0, True))
    return plan


def linux_argv(arch, args, system, icount, trimmed):
    cpu = arch.cpu(args)
    if trimmed:
        cpu = arch.trimmed_cpu(cpu)
        return arch.native(cpu, icount, dtb=trimmed_native_dtb(arch, cpu))
    return arch.keel(cpu, icount) if system == "keel" else arch.native(cpu, icount)


def linux_runs(args, deadline, arch, mib, expect_hash):
    """Every run of linux_plan(): (runs, skipped, errors)."""
    runs, skipped, errors = [], [], []
    for system, icount, rep, trimmed in linux_plan(args):
        mode = "icount" if icount else "no-icount"
        label = f"{arch.label}-{system}-{mode}" + (f"-{rep + 1}" if rep else "")
        if time.monotonic() > deadline:
            skipped.append(label)
            log(f"{label}: skipped, over the time budget (--budget)")
            continue
        work = 0 if trimmed and not arch.trimmed_workload else mib
        log(f"{label}: boot" + (f" + sha256sum of {mib} MiB" if work else ""))
        try:
            argv = linux_argv(arch, args, system, icount, trimmed)
            r = linux_run(label, argv, system, work, expect_hash, arch)
        except BenchError as e:
            # One failed run costs its figures, not the others'.
            msg = str(e) if str(e).startswith(label) else f"{label}: {e}"
            print(f"bench: {msg}", file=sys.stderr)
            errors.append(msg)
            continue
        r.update(mode=mode, rep=rep)
        runs.append(r)
        log(f"{label}: marker after {r['wall_marker_s']:.2f}s wall, guest time at first "
            f"command {r['guest_first_cmd_s']:.4f}s" +
            (f", sha256sum {r['work_guest_s']:.3f}s guest / {r['work_wall_s']:.2f}s wall"
             if "work_guest_s" in r else ""))
    return runs, skipped, errors


def linux_rows(runs, modes, mib, arch):
    """The table: medians of native and keel per metric and mode."""
    def collect(system, mode, key):
        return median(r.get(key) for r in runs if r["system"] == system and r["mode"] == mode)

    rows = []
    for mode in modes:
        for key, name, unit in LINUX_METRICS:
            n, k = collect("native", mode, key), collect("keel", mode, key)
            if n is None and k is None:
                continue
            rows.append({"metric": name.format(mib=mib), "mode": mode, "unit": unit,
                         "native": n, "keel": k, "ratio": k / n if n and k is not None else None,
                         "samples": {s: [r.get(key) for r in runs
                                         if r["system"] == s and r["mode"] == mode]
                                     for s in ("native", "keel")}})
            if len(rows[-1]["samples"]["native"]) > 1:
                rows[-1]["min"] = {s: min(v for v in rows[-1]["samples"][s] if v is not None)
                                   for s in ("native", "keel") if rows[-1]["samples"][s]}
        k = collect("keel", mode, "keel_vm_start_s")
        if k is not None:
            rows.append({"metric": "boot: Keel's start to the VM's entry (Keel's log time)",
                         "mode": mode, "unit": "s", "native": None, "keel": k,
                         "ratio": None})
        if mode == "icount":
            for key in ("guest_init_s", "guest_first_cmd_s", "work_guest_s"):
                n = collect("native-trimmed", mode, key)
                k = collect("keel", mode, key)
                if n is None:
                    continue
                name = dict((a, b) for a, b, _ in LINUX_METRICS)[key].format(mib=mib)
                rows.append({"metric": f"{name}, {arch.trimmed_what}",
                             "mode": mode, "unit": "s", "native": n, "keel": k,
                             "ratio": k / n if n and k is not None else None})
    return rows


def linux_features(runs):
    """What the guest reported of its CPU (RISC-V: /proc/cpuinfo's isa), per system."""
    seen = {}
    for r in runs:
        if "features" in r:
            seen.setdefault(r["system"], r["features"])
    return seen


def run_linux(args, deadline, arch=AARCH64):
    linux_check_files(arch)
    mib = arch.size(args)
    expect_hash = sha256_of_zeros(mib)
    runs, skipped, errors = linux_runs(args, deadline, arch, mib, expect_hash)
    modes = ["icount"] if args.quick else ["icount", "no-icount"]
    icount = RV_ICOUNT if arch is RISCV64 else "shift=0"
    section = {"arch": arch.name, "size_mib": mib, "expected_sha256": expect_hash,
               "rows": linux_rows(runs, modes, mib, arch), "runs": runs,
               "skipped": skipped, "errors": errors,
               "notes": {"guest time": "CLOCK_MONOTONIC read in the guest (/proc/timer_list) "
                                       f"or the kernel's printk time; under -icount {icount} "
                                       "one second of guest time is 1e9 instructions (plus "
                                       "any time the guest idled)",
                         "native-trimmed": "native QEMU given its own virt DTB with the "
                                           "devices Keel does not give its guest removed "
                                           "(" + ", ".join(arch.trim_nodes) +
                                           ", virtio_mmio@*)" +
                                           (", and -cpu ...," + arch.trim_cpu
                                            if arch.trim_cpu else "")}}
    features = linux_features(runs)
    if features:
        section["features"] = features
        if features.get("keel") not in (None, features.get("native-trimmed", features["keel"])):
            section["warnings"] = ["the guest's ISA differs between Keel and the native run "
                                   f"on Keel's device set: {features}"]
    return section


def print_linux(section, arch=AARCH64):
    icount = RV_ICOUNT if arch is RISCV64 else "shift=0"
    print()
    print(f"{arch.title} (1 vCPU, {LINUX_MEM}; ratio = keel/native; "
          f"icount: -icount {icount}, guest time = instructions / 1e9)")
    def digits(r, v):
        # Guest time under icount counts instructions: 0.1 ms is 100,000 of them.
        return 4 if v and (v < 10 or "guest time" in r["metric"]) else 2

    table = []
    for r in section["rows"]:
        table.append([r["metric"], r["mode"], fmt(r["native"], digits(r, r["native"])),
                      fmt(r["keel"], digits(r, r["keel"])), fmt(r["ratio"], 3, "x")])
    if table:
        print_table(["metric", "mode", "native", "keel", "ratio"], table, left=2)
    else:
        print("(nothing measured)")
    if section["skipped"]:
        print("skipped (time budget): " + ", ".join(section["skipped"]))
    for w in section.get("warnings", []):
        print(f"WARNING: {w}")
    for e in section["errors"]:
        print(f"FAILED: {e}")


def parse_args():
    p = argparse.ArgumentParser(
        description="Benchmark Keel against native QEMU (see bench/README.md).")
    p.add_argument("--quick", action="store_true",
                   help="icount runs only, and sha256sum of 64 MiB instead of 256 "
                        "(RISC-V: 32 instead of 128); the scheduler's runs shorter")
    p.add_argument("--only", choices=("linux", "micro", "sched", "blk", "net"),
                   help="run only the Linux benchmark, the micro-benchmarks, the "
                        "scheduler's (arm64), the virtio-blk or the virtio-net benchmark")
    p.add_argument("--arch", choices=("aarch64", "riscv64"),
                   help="run only this architecture's benchmarks (default: both)")
    p.add_argument("--cpu", default=DEFAULT_CPU,
                   help=f"QEMU CPU model, for both native and Keel (default {DEFAULT_CPU})")
    p.add_argument("--rv-cpu", default=RV_DEFAULT_CPU, metavar="MODEL",
                   help=f"the same for RISC-V (default {RV_DEFAULT_CPU})")
    p.add_argument("--size", type=int, metavar="MIB",
                   help="MiB hashed by the workload (default 256, --quick 64)")
    p.add_argument("--rv-size", type=int, metavar="MIB",
                   help="the same for RISC-V, whose emulation is about half as fast here "
                        "(default 128, --quick 32)")
    p.add_argument("--blk-size", type=int, metavar="MIB",
                   help="MiB of the virtio-blk disk, each dd reads or writes all of it "
                        "(default 64, --quick 32)")
    p.add_argument("--net-size", type=int, metavar="MIB",
                   help="MiB sent from one guest to the other through nc in the virtio-net "
                        "benchmark (default 32, --quick 16)")
    p.add_argument("--repeat", type=int, default=3, metavar="N",
                   help="runs of each non-icount configuration; the median is reported "
                        "(default 3)")
    p.add_argument("--repeat-icount", action="store_true",
                   help="repeat the icount runs --repeat times too (they repeat to "
                        "within ~1e-5, so this only checks that)")
    p.add_argument("--no-trimmed", action="store_true",
                   help="skip the extra native boot on Keel's device set")
    p.add_argument("--micro-cpus", type=int, default=2, metavar="N",
                   help="CPUs (native) and vCPUs (Keel) for the micro-benchmark guest "
                        "(default 2)")
    p.add_argument("--micro-elf", default=MICRO_ELF, metavar="PATH",
                   help="micro-benchmark guest (default build/guests/bench.elf)")
    p.add_argument("--sched-elf", default=SCHED_ELF, metavar="PATH",
                   help="scheduler benchmark guest (default build/guests/schedbench.elf)")
    p.add_argument("--rv-micro-elf", default=RV_MICRO_ELF, metavar="PATH",
                   help="RISC-V micro-benchmark guest (default build/guests/riscv64/bench.elf)")
    p.add_argument("--budget", type=float, default=900, metavar="SECONDS",
                   help="start no new Linux run after this many seconds (default 900)")
    p.add_argument("--json", default=os.path.join(OUT_DIR, "results.json"),
                   help="results file (default build/bench/results.json)")
    args = p.parse_args()
    if args.size is None:
        args.size = 64 if args.quick else 256
    if args.rv_size is None:
        args.rv_size = 32 if args.quick else 128
    if args.blk_size is None:
        args.blk_size = 32 if args.quick else 64
    if args.net_size is None:
        args.net_size = 16 if args.quick else 32
    if min(args.size, args.rv_size, args.blk_size, args.net_size, args.repeat,
           args.micro_cpus) < 1:
        p.error("--size, --rv-size, --blk-size, --net-size, --repeat and --micro-cpus must be "
                "at least 1")
    if args.net_size > 128:
        p.error("--net-size: at most 128 (MiB; the data sits in each guest's RAM)")
    if args.blk_size > 512:
        p.error("--blk-size: at most 512 (MiB)")
    return args


def check_tools(args):
    if args.arch in (None, "aarch64") and not shutil.which(QEMU):
        sys.exit(f"bench: {QEMU} not found (run scripts/deps.sh)")
    if args.arch in (None, "riscv64"):
        if not shutil.which(RV_QEMU):
            sys.exit(f"bench: {RV_QEMU} not found (run scripts/deps.sh)")
        if not os.path.isfile(OPENSBI):
            sys.exit(f"bench: {OPENSBI} not found (Debian's opensbi; run scripts/deps.sh)")


def bench_section(key, run, show, args, deadline, arch, results):
    """One Linux benchmark section (run_linux, run_blk, run_net) of @arch
    into results[key], printed with @show; its exit status."""
    try:
        results[key] = run(args, deadline, arch)
        show(results[key], arch)
        return 1 if results[key]["errors"] else 0
    except BenchError as e:
        where = arch.label if key == "linux" else f"{arch.label}-{key}"
        print(f"bench: {where}: {e}", file=sys.stderr)
        results[key] = {"error": str(e)}
        return 1


def bench_linux(args, deadline, arch, results):
    return bench_section("linux", run_linux, print_linux, args, deadline, arch, results)


def bench_blk(args, deadline, arch, results):
    return bench_section("blk", run_blk, print_blk, args, deadline, arch, results)


def bench_net(args, deadline, arch, results):
    return bench_section("net", run_net, print_net, args, deadline, arch, results)


def bench_micro(key, what, run, results):
    """One micro-benchmark pair (@run() measures it) into results[key]; its exit status."""
    print()
    try:
        results[key] = run()
        return 0
    except BenchError as e:
        print(f"bench: {what}: {e}", file=sys.stderr)
        results[key] = {"status": "error", "error": str(e)}
        return 1


def bench_sched(args, results):
    """The scheduler's figures into results["sched"]: arm64 only (Keel
    refuses to share a RISC-V hart)."""
    status = bench_micro("sched", "sched", lambda: run_sched(args), results)
    return status or (1 if results["sched"].get("errors") else 0)


def bench_aarch64(args, deadline, results):
    status = 0
    if args.only in (None, "linux"):
        status |= bench_linux(args, deadline, AARCH64, results)
    if args.only in (None, "micro"):
        for gic, key in ((3, "micro"), (2, "micro_gicv2")):
            status |= bench_micro(key, f"micro (GICv{gic})",
                                  lambda gic=gic: run_micro(args, gic), results)
    if args.only in (None, "sched"):
        status |= bench_sched(args, results)
    if args.only in (None, "blk"):
        status |= bench_blk(args, deadline, AARCH64, results)
    if args.only in (None, "net"):
        status |= bench_net(args, deadline, AARCH64, results)
    return status


def bench_riscv64(args, deadline, results):
    """The RISC-V figures, in results["riscv64"]: they run on another QEMU."""
    rv = results.setdefault("riscv64", {"qemu": qemu_version(RV_QEMU), "cpu": args.rv_cpu,
                                        "firmware": OPENSBI, "size_mib": args.rv_size})
    log(f"RISC-V: {rv['qemu']}; -cpu {args.rv_cpu}")
    status = 0
    if args.only in (None, "linux"):
        status |= bench_linux(args, deadline, RISCV64, rv)
    if args.only in (None, "micro"):
        status |= bench_micro("micro", "rv-micro", lambda: run_rv_micro(args), rv)
    if args.only in (None, "blk"):
        status |= bench_blk(args, deadline, RISCV64, rv)
    if args.only in (None, "net"):
        status |= bench_net(args, deadline, RISCV64, rv)
    return status


def main():
    args = parse_args()
    check_tools(args)
    start = time.monotonic()
    deadline = start + args.budget
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "qemu": qemu_version(),
        "keel": git_rev(),
        "cpu": args.cpu,
        "host": {"cpus": os.cpu_count(), "machine": " ".join(os.uname()[i] for i in (0, 2, 4))},
        "options": {"quick": args.quick, "only": args.only, "arch": args.arch,
                    "size_mib": args.size, "rv_size_mib": args.rv_size,
                    "blk_size_mib": args.blk_size, "net_size_mib": args.net_size,
                    "repeat": args.repeat},
    }
    status = 0
    try:
        if args.arch in (None, "aarch64"):
            log(f"{results['qemu']}; Keel {results['keel']}; -cpu {args.cpu}")
            status |= bench_aarch64(args, deadline, results)
        if args.arch in (None, "riscv64") and args.only != "sched":
            status |= bench_riscv64(args, deadline, results)
    finally:
        results["elapsed_s"] = round(time.monotonic() - start, 1)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    print()
    print(f"bench: {results['elapsed_s']:.0f}s; results in {os.path.relpath(args.json, ROOT)}, "
          f"console logs in {os.path.relpath(LOG_DIR, ROOT)}/")
    return status


if __name__ == "__main__":
    sys.exit(main())

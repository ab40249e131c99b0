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

Prints a table (metric, native, keel, ratio = keel/native) and writes
build/bench/results.json.  Console logs of every run go to build/bench/logs/.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
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

DEFAULT_CPU = "max,pauth=off,sve=off"   # tools/keel-run's default
QEMU = os.environ.get("KEEL_QEMU") or "qemu-system-aarch64"   # tools/keel-run reads it too
LINUX_MEM = "512M"      # guest RAM, native and under Keel
KEEL_BOARD_MEM = "1G"   # board RAM under Keel: the guest's 512M + Keel's own
BOOTARGS = "console=ttyAMA0"
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


def keel_cmd(cpu, smp, icount, vm_spec, gic=3):
    """The QEMU command tools/keel-run would run.

    keel-run dumps the board DTB and merges the VM nodes first (a QEMU run of
    its own); asking it for the command with --dry-run keeps that out of the
    wall-clock measurement of the run itself.
    """
    cmd = [sys.executable, KEEL_RUN, "--dry-run", "--smp", str(smp), "--mem", KEEL_BOARD_MEM,
           "--cpu", cpu, "--gic", str(gic), "--vm", vm_spec]
    if icount:
        cmd.append("--icount")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    if res.returncode != 0:
        raise BenchError(f"tools/keel-run --dry-run failed: {res.stderr.strip()}")
    lines = [l for l in res.stdout.splitlines() if l.strip() and not l.startswith("#")]
    if not lines:
        raise BenchError("tools/keel-run --dry-run printed no QEMU command")
    return shlex.split(lines[-1])


def qemu_version():
    try:
        out = subprocess.run([QEMU, "--version"], capture_output=True, text=True,
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

RE_BOOTING = r"Booting Linux on physical CPU"
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
# 25 bytes, sent at once: inside the 32-entry vPL011 RX FIFO.
FIRST_CMD = "head -3 /proc/timer_list"
# A shell function printing CLOCK_MONOTONIC in ns (busybox date has no %N).
NOW_FUNC = "n(){ grep -m1 'now at' /proc/timer_list;}"


def sha256_of_zeros(mib):
    h = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(mib):
        h.update(block)
    return h.hexdigest()


def linux_argv(system, cpu, icount, dtb=None):
    kernel = os.path.join(GUEST_DIR, "Image")
    initrd = os.path.join(GUEST_DIR, "initramfs.cpio.gz")
    if system == "keel":
        spec = (f"name=linux,cpus=1,mem={LINUX_MEM},kernel={kernel},initrd={initrd},"
                f"bootargs={BOOTARGS}")
        return keel_cmd(cpu, 1, icount, spec)
    return native_cmd(cpu, 1, LINUX_MEM, kernel, icount, initrd=initrd, append=BOOTARGS,
                      dtb=dtb)


def linux_run(label, argv, system, work_mib, expect_hash):
    """One boot (+ workload if work_mib): a dict of measurements."""
    r = {"label": label, "system": system, "command": shlex.join(argv)}
    con = Console(argv, label)
    try:
        if system == "keel":
            m = con.expect(RE_KEEL_VM_START, BOOT_TIMEOUT, "Keel starting the VM")
            r["wall_vm_start_s"] = time.monotonic() - con.start
            r["keel_vm_start_s"] = float(m.group(1))
        con.expect(RE_BOOTING, BOOT_TIMEOUT, "the kernel's first line")
        r["wall_kernel_s"] = time.monotonic() - con.start
        m = con.expect(RE_RUN_INIT, BOOT_TIMEOUT, "the kernel's 'Run /init'")
        r["guest_init_s"] = float(m.group(1))
        con.proc.send(FIRST_CMD + "\r")
        con.expect_exact(MARKER, BOOT_TIMEOUT, MARKER)
        r["wall_marker_s"] = time.monotonic() - con.start
        m = con.expect(RE_NOW, CMD_TIMEOUT, "the first command's output")
        r["guest_first_cmd_s"] = int(m.group(1)) / 1e9
        con.expect_exact(PROMPT, CMD_TIMEOUT, "the prompt")
        if work_mib:
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
        con.poweroff()
        r["wall_total_s"] = time.monotonic() - con.start
    finally:
        con.close()
    return r


def work_timeout(mib):
    return 60 + mib // 2   # 256 MiB takes 8-15 s here, with or without icount


# Nodes of QEMU's virt DTB that Keel does not give its Linux VM (the guest DT
# Keel builds has cpus, memory, the GIC without ITS, timer, psci, one PL011,
# apb-pclk, aliases and chosen), and /chosen seeds it does not provide.
TRIM_NODES = ("/pcie@10000000", "/platform-bus@c000000", "/pmu", "/flash@0",
              "/fw-cfg@9020000", "/gpio-keys", "/pl031@9010000", "/pl061@9030000",
              "/intc@8000000/its@8080000")
TRIM_PROPS = (("/chosen", "kaslr-seed"), ("/chosen", "rng-seed"))


def trimmed_native_dtb(cpu):
    """QEMU's own virt DTB for the Linux run, cut down to Keel's guest devices."""
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "native-trimmed.dtb")
    dump = native_cmd(cpu, 1, LINUX_MEM, os.path.join(GUEST_DIR, "Image"), False)
    dump[dump.index("-M") + 1] += f",dumpdtb={path}"
    res = subprocess.run(dump, capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0 or not os.path.isfile(path):
        raise BenchError(f"dumping QEMU's DTB failed: {res.stderr.strip()}")
    nodes = subprocess.run(["fdtget", "-l", path, "/"], capture_output=True, text=True,
                           timeout=30).stdout.split()
    remove = [n for n in TRIM_NODES] + [f"/{n}" for n in nodes if n.startswith("virtio_mmio@")]
    for node in remove:
        subprocess.run(["fdtput", "-r", path, node], capture_output=True, timeout=30)
    for node, prop in TRIM_PROPS:
        subprocess.run(["fdtput", "-d", path, node, prop], capture_output=True, timeout=30)
    return path


def trimmed_cpu(cpu):
    """Keel hides the PMU from its guests; hide it from the native guest too."""
    return cpu if "pmu=" in cpu else cpu + ",pmu=off"


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
    rows = []
    for name in list(nat) + [n for n in kel if n not in nat]:
        n, k = nat.get(name), kel.get(name)
        rows.append({"name": name, "native": n, "keel": k,
                     "keel_minus_native": (k - n) if n is not None and k is not None else None,
                     "ratio": (k / n) if n and k is not None else None})
    print()
    print(f"micro-benchmarks, GICv{gic} (instructions per operation, -icount shift=0, "
          f"{smp} vCPU{plural})")
    print_table(["benchmark", "native", "keel", "keel-native", "ratio"],
                [[r["name"], fmt(r["native"], 1), fmt(r["keel"], 1),
                  fmt(r["keel_minus_native"], 1), fmt(r["ratio"], 2, "x")] for r in rows])
    return {"status": "measured", "elf": os.path.relpath(elf, ROOT), "cpus": smp, "gic": gic,
            "icount": "shift=0", "native_image": "raw (x0 = DTB)" if raw else "ELF (x0 = 0)",
            "rows": rows,
            "commands": {"native": shlex.join(native), "keel": shlex.join(keel)}}


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


def run_linux(args, deadline):
    for f in ("Image", "initramfs.cpio.gz"):
        if not os.path.isfile(os.path.join(GUEST_DIR, f)):
            raise BenchError(f"{os.path.relpath(GUEST_DIR, ROOT)}/{f} missing: "
                             "run `bash scripts/fetch-guests.sh` (or `make guests`)")
    keel_bin = os.path.join(ROOT, "build", "keel.bin")
    if not os.path.isfile(keel_bin):
        raise BenchError("build/keel.bin missing: run `make`")
    mib = args.size
    expect_hash = sha256_of_zeros(mib)
    modes = [True] if args.quick else [True, False]
    runs, rows, skipped, errors = [], [], [], []

    plan = []
    for icount in modes:
        reps = 1 if icount and not args.repeat_icount else args.repeat
        for rep in range(reps):
            for system in ("native", "keel"):
                plan.append((system, icount, rep, False))
    if not args.no_trimmed:
        plan.append(("native-trimmed", True, 0, True))

    for system, icount, rep, trimmed in plan:
        mode = "icount" if icount else "no-icount"
        label = f"linux-{system}-{mode}" + (f"-{rep + 1}" if rep else "")
        if time.monotonic() > deadline:
            skipped.append(label)
            log(f"{label}: skipped, over the time budget (--budget)")
            continue
        log(f"{label}: boot" + ("" if trimmed else f" + sha256sum of {mib} MiB"))
        try:
            if trimmed:
                argv = linux_argv("native", trimmed_cpu(args.cpu), icount,
                                  dtb=trimmed_native_dtb(args.cpu))
            else:
                argv = linux_argv(system, args.cpu, icount)
            r = linux_run(label, argv, system, 0 if trimmed else mib, expect_hash)
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

    def collect(system, mode, key):
        return median(r.get(key) for r in runs if r["system"] == system and r["mode"] == mode)

    for mode in ["icount", "no-icount"] if not args.quick else ["icount"]:
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
            for key in ("guest_init_s", "guest_first_cmd_s"):
                n = collect("native-trimmed", mode, key)
                k = collect("keel", mode, key)
                if n is None:
                    continue
                name = dict((a, b) for a, b, _ in LINUX_METRICS)[key]
                rows.append({"metric": name + ", native on Keel's device set",
                             "mode": mode, "unit": "s", "native": n, "keel": k,
                             "ratio": k / n if n and k is not None else None})
    return {"size_mib": mib, "expected_sha256": expect_hash, "rows": rows, "runs": runs,
            "skipped": skipped, "errors": errors,
            "notes": {"guest time": "CLOCK_MONOTONIC read in the guest (/proc/timer_list) "
                                    "or the kernel's printk time; under -icount shift=0 one "
                                    "second of guest time is 1e9 instructions",
                      "native-trimmed": "native QEMU given its own virt DTB with the "
                                        "devices Keel does not give its guest removed "
                                        "(" + ", ".join(TRIM_NODES) + ", virtio_mmio@*), "
                                        "and pmu=off, as Keel hides the PMU"}}


def print_linux(section):
    print()
    print(f"Linux guest (1 vCPU, {LINUX_MEM}; ratio = keel/native; "
          "icount: -icount shift=0, guest time = instructions / 1e9)")
    table = []
    for r in section["rows"]:
        table.append([r["metric"], r["mode"], fmt(r["native"], 4 if r["native"] and
                                                   r["native"] < 10 else 2),
                      fmt(r["keel"], 4 if r["keel"] and r["keel"] < 10 else 2),
                      fmt(r["ratio"], 3, "x")])
    if table:
        print_table(["metric", "mode", "native", "keel", "ratio"], table, left=2)
    else:
        print("(nothing measured)")
    if section["skipped"]:
        print("skipped (time budget): " + ", ".join(section["skipped"]))
    for e in section["errors"]:
        print(f"FAILED: {e}")


def main():
    p = argparse.ArgumentParser(
        description="Benchmark Keel against native QEMU (see bench/README.md).")
    p.add_argument("--quick", action="store_true",
                   help="icount runs only, and sha256sum of 64 MiB instead of 256")
    p.add_argument("--only", choices=("linux", "micro"),
                   help="run only the Linux benchmark or only the micro-benchmarks")
    p.add_argument("--cpu", default=DEFAULT_CPU,
                   help=f"QEMU CPU model, for both native and Keel (default {DEFAULT_CPU})")
    p.add_argument("--size", type=int, metavar="MIB",
                   help="MiB hashed by the workload (default 256, --quick 64)")
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
    p.add_argument("--budget", type=float, default=480, metavar="SECONDS",
                   help="start no new Linux run after this many seconds (default 480)")
    p.add_argument("--json", default=os.path.join(OUT_DIR, "results.json"),
                   help="results file (default build/bench/results.json)")
    args = p.parse_args()
    if args.size is None:
        args.size = 64 if args.quick else 256
    if args.size < 1 or args.repeat < 1 or args.micro_cpus < 1:
        p.error("--size, --repeat and --micro-cpus must be at least 1")
    if not shutil.which(QEMU):
        sys.exit(f"bench: {QEMU} not found (run scripts/deps.sh)")

    start = time.monotonic()
    deadline = start + args.budget
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "qemu": qemu_version(),
        "keel": git_rev(),
        "cpu": args.cpu,
        "host": {"cpus": os.cpu_count(), "machine": " ".join(os.uname()[i] for i in (0, 2, 4))},
        "options": {"quick": args.quick, "only": args.only, "size_mib": args.size,
                    "repeat": args.repeat},
    }
    log(f"{results['qemu']}; Keel {results['keel']}; -cpu {args.cpu}")
    status = 0
    try:
        if args.only in (None, "linux"):
            try:
                results["linux"] = run_linux(args, deadline)
                print_linux(results["linux"])
                if results["linux"]["errors"]:
                    status = 1
            except BenchError as e:
                print(f"bench: linux: {e}", file=sys.stderr)
                results["linux"] = {"error": str(e)}
                status = 1
        for gic, key in ((3, "micro"), (2, "micro_gicv2")):
            if args.only not in (None, "micro"):
                break
            print()
            try:
                results[key] = run_micro(args, gic)
            except BenchError as e:
                print(f"bench: micro (GICv{gic}): {e}", file=sys.stderr)
                results[key] = {"status": "error", "error": str(e)}
                status = 1
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

#!/usr/bin/python3
"""Where Keel's instructions go on each exit path: a per-exit trace under icount.

Runs the arm64 micro-benchmark guest (build/guests/bench.elf) under Keel with
QEMU translating one instruction per block and logging each block it
executes (-accel tcg,one-insn-per-tb=on -d exec,nochain), so the log has one
line per executed instruction with its PC and the translation flags, which
tell EL2 (Keel) from EL1 (the guest). Every run of EL2 instructions between
two guest instructions is one exit; exits are grouped by the guest PC that
trapped, and for each group the tool prints how many there were, their
lengths, and for the most common length Keel's functions in the order they
ran with their instruction counts:

  cpu0 after guest 0x40200078 bench_read: 4000 exits, lengths [(151, 1995), ...]
      el2_vectors:7 > guest_sync_classify:2 > guest_dabt:19 > vcpu_handle_dabt:57 > ...

  /usr/bin/python3 bench/exit_trace.py                 # the 12 most frequent exit sites
  /usr/bin/python3 bench/exit_trace.py --top 30 --gic 2
  /usr/bin/python3 bench/exit_trace.py --list 0x40200078   # that site, instruction by instruction
  /usr/bin/python3 bench/exit_trace.py --smp 1 --elf build/guests/schedbench.elf \
      --vm 'name=sw,cpus=2,affinity=0x1,kernel=build/guests/schedbench.elf,bootargs=mode=switch iters=200'

The log streams through a pipe (about 20 M lines for the bench guest; 30 s
to parse here), nothing is kept on disk. Needs a built tree (make) and
build/guests/bench.elf; with --elf, another guest (it must power off).
"""
import argparse
import bisect
import collections
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: the Keel command line)

KEEL_ELF = os.path.join(bench.ROOT, "build", "keel.elf")
OBJDUMP = "aarch64-linux-gnu-objdump"
NM = "aarch64-linux-gnu-nm"
# "Trace <cpu>: <host ptr> [<cs_base>/<pc>/<flags>/<cflags>] <symbol>"
RE_TRACE = re.compile(r"Trace (\d+): \S+ \[[0-9a-f]+/([0-9a-f]+)/([0-9a-f]+)/")


class Symbols:
    """Function symbols of an ELF, for naming a PC."""

    def __init__(self, elf):
        out = subprocess.run([NM, "-n", elf], capture_output=True, text=True, check=True).stdout
        syms = []
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 3 and f[1] in "tTwW":
                syms.append((int(f[0], 16), f[2]))
        self.addrs = [a for a, _ in syms]
        self.names = [n for _, n in syms]

    def name(self, pc):
        i = bisect.bisect_right(self.addrs, pc) - 1
        return self.names[i] if i >= 0 else hex(pc)


def vectors_addrs():
    """Keel's exit vectors: el2_vectors, and el2_vectors_shared, which CPUs
    home to several vCPUs take instead (docs/scheduling.md)."""
    out = subprocess.run([NM, KEEL_ELF], capture_output=True, text=True, check=True).stdout
    found = [int(f[0], 16) for f in (l.split() for l in out.splitlines())
             if len(f) == 3 and f[2] in ("el2_vectors", "el2_vectors_shared")]
    if not found:
        raise SystemExit("exit_trace: no el2_vectors in build/keel.elf")
    return found


def parse(stream):
    for line in stream:
        m = RE_TRACE.match(line)
        if m:
            yield m.group(1), int(m.group(2), 16), m.group(3)


def exits_of(records):
    """{(cpu, guest pc before the exit): [exit as a list of Keel PCs]}.

    Keel's translation flags are those of a lower-EL synchronous vector
    (vectors + 0x400), the first instruction of every guest exit; records
    before one is first seen are Keel booting, not exits.
    """
    sync_vectors = {v + 0x400 for v in el2_vectors}
    flags = None
    last, cur = {}, collections.defaultdict(list)
    groups = collections.defaultdict(list)
    for cpu, pc, fl in records:
        if flags is None:
            if pc not in sync_vectors:
                continue
            flags = fl
        if fl == flags:
            cur[cpu].append(pc)
            continue
        if cur[cpu]:
            if cpu in last:   # not Keel's own start on this CPU
                groups[(cpu, last[cpu])].append(cur[cpu])
            cur[cpu] = []
        last[cpu] = pc
    if flags is None:
        raise SystemExit("exit_trace: no guest exit in the trace (did the guest run?)")
    return groups


def disassembly():
    out = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", KEEL_ELF],
                         capture_output=True, text=True, check=True).stdout
    dis = {}
    for line in out.splitlines():
        addr, sep, insn = line.partition(":\t")
        if sep:
            try:
                dis[int(addr.strip(), 16)] = insn.strip()
            except ValueError:
                pass
    return dis


def summary(groups, keel, guest, top):
    order = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    for (cpu, gpc), exits in order[:top]:
        lens = collections.Counter(len(e) for e in exits)
        common = lens.most_common(1)[0][0]
        where = f"{gpc:#x} {guest.name(gpc)}"
        print(f"cpu{cpu} after guest {where}: {len(exits)} exits, lengths "
              f"{lens.most_common(4)}")
        example = next(e for e in exits if len(e) == common)
        runs = []
        for pc in example:
            f = keel.name(pc)
            if runs and runs[-1][0] == f:
                runs[-1][1] += 1
            else:
                runs.append([f, 1])
        print("    " + " > ".join(f"{f}:{n}" for f, n in runs))


def listing(groups, keel, site):
    dis = disassembly()
    for (cpu, gpc), exits in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if gpc == site:
            common = collections.Counter(len(e) for e in exits).most_common(1)[0][0]
            example = next(e for e in exits if len(e) == common)
            print(f"cpu{cpu}, guest PC {site:#x}: one exit of the most common length, {common}")
            for pc in example:
                print(f"{pc:x}  {keel.name(pc):28s} {dis.get(pc, '')}")
            return
    raise SystemExit(f"exit_trace: no exit after guest PC {site:#x}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--elf", default=bench.MICRO_ELF, help="guest ELF (default: the bench guest)")
    p.add_argument("--gic", type=int, choices=(2, 3), default=3)
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--cpu", default=bench.DEFAULT_CPU)
    p.add_argument("--top", type=int, default=12, help="exit sites to print (most frequent first)")
    p.add_argument("--list", metavar="GUEST_PC", type=lambda s: int(s, 0),
                   help="print one exit after this guest PC instruction by instruction")
    p.add_argument("--smp", type=int, metavar="N",
                   help="physical CPUs (default: --cpus); fewer than the vCPUs shares CPUs")
    p.add_argument("--vm", action="append", metavar="SPEC",
                   help="tools/keel-run VM spec instead of the one bench VM (repeatable; "
                        "--elf names the guest whose symbols are printed). Every VM must "
                        "power off: the trace ends with QEMU")
    args = p.parse_args()
    for f in (KEEL_ELF, args.elf):
        if not os.path.isfile(f):
            raise SystemExit(f"exit_trace: {os.path.relpath(f, bench.ROOT)} missing: run make first")
    specs = args.vm or f"name=bench,cpus={args.cpus},mem=128M,kernel={args.elf}"
    argv = bench.keel_cmd(args.cpu, args.smp or args.cpus, True, specs, gic=args.gic)
    global el2_vectors
    el2_vectors = vectors_addrs()
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "trace")
        os.mkfifo(fifo)
        argv += ["-accel", "tcg,one-insn-per-tb=on", "-d", "exec,nochain", "-D", fifo]
        print("exit_trace: " + shlex.join(argv), file=sys.stderr)
        qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            with open(fifo, errors="replace") as stream:
                groups = exits_of(parse(stream))
        finally:
            try:
                qemu.wait(timeout=300)
            except subprocess.TimeoutExpired:
                qemu.kill()
    keel, guest = Symbols(KEEL_ELF), Symbols(args.elf)
    if args.list is not None:
        listing(groups, keel, args.list)
    else:
        summary(groups, keel, guest, args.top)


if __name__ == "__main__":
    main()

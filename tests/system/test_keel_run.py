"""Host-only checks of tools/keel-run, through --dry-run (QEMU never boots)."""
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys

import pytest

KEEL_RUN = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "keel-run")
MiB = 1 << 20
QEMU = os.environ.get("KEEL_QEMU") or "qemu-system-aarch64"

for tool in (QEMU, "dtc", "fdtget"):
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed (run scripts/deps.sh)", allow_module_level=True)


def make_elf(segments, entry):
    """Minimal ELF64 aarch64 executable; segments = [(vaddr, paddr, data, memsz)]."""
    phoff, phnum = 64, len(segments)
    off = phoff + 56 * phnum
    hdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
                      2, 183, 1, entry, phoff, 0, 0, 64, 56, phnum, 0, 0, 0)
    phdrs, body = b"", b""
    for vaddr, paddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, 5, off + len(body), vaddr, paddr,
                             len(data), memsz, 0x1000)
        body += data
    return hdr + phdrs + body


@pytest.fixture
def files(tmp_path):
    image = bytearray(3 * MiB + 123)
    image[0x38:0x3c] = b"ARM\x64"
    f = {
        "keel": b"\x00\x00\x00\x14",
        "image": bytes(image),
        "initrd": b"initrd" * 1000,
        "raw": b"\x00\x00\x00\x14" * 10,
        # Two segments with a gap and a .bss tail; linked high, loaded low.
        "elf": make_elf([(0xffff000040100000, 0x40100000, b"AAAA", 4),
                         (0xffff000040102000, 0x40102000, b"BB", 0x10)],
                        entry=0xffff000040100000),
    }
    paths = {}
    for name, data in f.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def keel_run(files, *args):
    cmd = [sys.executable, KEEL_RUN, "--dry-run", "--keel", str(files["keel"]), *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def dry_run(files, *args):
    res = keel_run(files, *args)
    assert res.returncode == 0, res.stderr
    dtb = re.search(r"^# dtb: (.*)$", res.stdout, re.M).group(1)
    cmd = shlex.split(res.stdout.strip().splitlines()[-1])
    return cmd, dtb


def fdtget(dtb, node, prop, kind="x"):
    out = subprocess.run(["fdtget", "-t", kind, dtb, node, prop],
                         capture_output=True, text=True)
    if out.returncode:
        return None
    return [int(v, 16) for v in out.stdout.split()] if kind == "x" else out.stdout.strip()


def loaders(cmd):
    """{file: addr} of the -device loader arguments."""
    out = {}
    for i, arg in enumerate(cmd):
        if arg == "-device" and cmd[i + 1].startswith("loader,"):
            kv = dict(p.split("=", 1) for p in cmd[i + 1].split(",")[1:])
            assert kv["force-raw"] == "on"
            out[kv["file"]] = int(kv["addr"], 16)
    return out


def test_machine_options(files):
    cmd, _ = dry_run(files, "--smp", "2", "--mem", "1G", "--gic", "2", "--icount",
                     "--append", "loglevel=debug keel.test=fault", "--qemu-arg=-s")
    assert cmd[0] == QEMU
    assert cmd[cmd.index("-M") + 1] == "virt,virtualization=on,gic-version=2"
    assert cmd[cmd.index("-smp") + 1] == "2"
    assert cmd[cmd.index("-m") + 1] == "1024M"
    assert cmd[cmd.index("-cpu") + 1] == "max,pauth=off,sve=off"
    assert cmd[cmd.index("-icount") + 1] == "shift=0"
    assert cmd[cmd.index("-append") + 1] == "loglevel=debug keel.test=fault"
    assert cmd[cmd.index("-kernel") + 1] == str(files["keel"])
    assert "-nographic" in cmd and cmd[-1] == "-s"
    assert not loaders(cmd)


def test_linux_vm(files):
    cmd, dtb = dry_run(files, "--mem", "2G", "--vm",
                       f"name=linux,cpus=2,mem=512M,kernel={files['image']},"
                       f"initrd={files['initrd']},bootargs=\"console=ttyAMA0,115200 earlycon\"")
    mods = loaders(cmd)
    kaddr, iaddr = mods[str(files["image"])], mods[str(files["initrd"])]
    top = 0x40000000 + 2 * 1024 * MiB
    for addr in (kaddr, iaddr):
        assert addr % (2 * MiB) == 0
    assert kaddr + files["image"].stat().st_size <= top and top - kaddr < 6 * MiB
    assert iaddr + files["initrd"].stat().st_size <= kaddr

    vm = "/chosen/vm@0"
    assert fdtget(dtb, vm, "compatible", "s") == "keel,vm"
    assert fdtget(dtb, vm, "keel,name", "s") == "linux"
    assert fdtget(dtb, vm, "cpus") == [2]
    assert fdtget(dtb, vm, "keel,cpu-affinity") == [0x3]
    assert fdtget(dtb, vm, "memory") == [0, 512 * MiB]
    assert fdtget(dtb, vm, "#address-cells") == [2]
    assert fdtget(dtb, vm, "keel,console", "s") == ""
    kmod, imod = f"{vm}/module@{kaddr:x}", f"{vm}/module@{iaddr:x}"
    assert fdtget(dtb, kmod, "compatible", "s") == "multiboot,kernel multiboot,module"
    assert fdtget(dtb, kmod, "reg") == [0, kaddr, 0, files["image"].stat().st_size]
    assert fdtget(dtb, kmod, "bootargs", "s") == "console=ttyAMA0,115200 earlycon"
    assert fdtget(dtb, kmod, "keel,load") is None
    assert fdtget(dtb, imod, "compatible", "s") == "multiboot,ramdisk multiboot,module"
    assert fdtget(dtb, imod, "reg") == [0, iaddr, 0, files["initrd"].stat().st_size]
    # The board's own nodes survive the merge.
    assert fdtget(dtb, "/chosen", "stdout-path", "s").startswith("/pl011@")


def test_raw_and_elf_vms(files):
    cmd, dtb = dry_run(files, "--smp", "4",
                       "--vm", f"name=raw,kernel={files['raw']},console=off,affinity=0x4",
                       "--vm", f"name=elf,kernel={files['elf']},mem=64M,"
                       "bootargs=unquoted, rest of spec")
    mods = loaders(cmd)
    raddr = mods.pop(str(files["raw"]))
    (eflat, eaddr), = mods.items()
    assert raddr % (2 * MiB) == 0 and eaddr % (2 * MiB) == 0 and eaddr < raddr

    raw = "/chosen/vm@0"
    assert fdtget(dtb, raw, "keel,console", "s") is None
    assert fdtget(dtb, raw, "keel,cpu-affinity") == [0x4]
    assert fdtget(dtb, raw, "memory") == [0, 128 * MiB]
    assert fdtget(dtb, f"{raw}/module@{raddr:x}", "keel,load") == [0, 0x40080000]
    assert fdtget(dtb, f"{raw}/module@{raddr:x}", "keel,entry") == [0, 0x40080000]

    elf = "/chosen/vm@1"
    assert fdtget(dtb, elf, "keel,cpu-affinity") == [0x1]  # first core left free
    emod = f"{elf}/module@{eaddr:x}"
    assert fdtget(dtb, emod, "keel,load") == [0, 0x40100000]
    assert fdtget(dtb, emod, "keel,entry") == [0, 0x40100000]
    assert fdtget(dtb, emod, "bootargs", "s") == "unquoted, rest of spec"
    with open(eflat, "rb") as f:
        flat = f.read()
    assert flat == b"AAAA" + bytes(0x2000 - 4) + b"BB" + bytes(0xe)
    assert fdtget(dtb, emod, "reg") == [0, eaddr, 0, len(flat)]


@pytest.mark.parametrize("spec, args, problem", [
    ("name=a,kernel={image},colour=red", [], "unknown key 'colour'"),
    ("name=a,kernel={missing}", [], "not found"),
    ("name=a,kernel={image},initrd={missing}", [], "not found"),
    ("name=a,kernel={image},cpus=9", ["--smp", "16"], "cpus=9 is not 1..8"),
    ("name=a,kernel={image},mem=2000M", ["--mem", "2G"], "memory"),
    ("name=a,kernel={image},affinity=0x10", ["--smp", "4"], "cpu 4"),
    ("name=a,kernel={image},load=0x40080000", [], "load="),
    ("name=a,kernel={image},affinity=0", [], "affinity must name at least one cpu"),
    ("name=a,kernel={image},prio=256", [], "prio=256 is not 0..255"),
    ("name=a,kernel={image},prio=-1", [], "prio=-1 is not 0..255"),
    ("name=a,kernel={image},prio=high", [], "prio=high is not a number"),
    ("name=a,kernel={image},timeslice=99us", [], "timeslice=99us is outside 100us..1000ms"),
    ("name=a,kernel={image},timeslice=1001", [], "timeslice=1001 is outside"),
    ("name=a,kernel={image},timeslice=0", [], "timeslice=0 is outside"),
    ("name=a,kernel={image},timeslice=1s", [], "timeslice=1s is not a number of us or ms"),
])
def test_bad_vm(files, spec, args, problem):
    spec = spec.format(image=files["image"], missing=files["image"].parent / "nope")
    res = keel_run(files, *args, "--vm", spec)
    assert res.returncode == 2
    assert res.stderr.startswith("keel-run: error: vm 'a': ")
    assert problem in res.stderr and res.stderr.count("\n") == 1
    assert res.stdout == ""


def test_shared_cpus_pass_through(files):
    """Overlapping masks, masks with fewer CPUs than vCPUs and more vCPUs than
    --smp reach Keel as written: Keel places vCPUs and shares cores."""
    _, dtb = dry_run(files, "--smp", "4",
                     "--vm", f"name=a,kernel={files['raw']},cpus=2,affinity=0x3",
                     "--vm", f"name=b,kernel={files['raw']},affinity=0x2",
                     "--vm", f"name=c,kernel={files['raw']},cpus=3,affinity=0x1")
    assert fdtget(dtb, "/chosen/vm@0", "keel,cpu-affinity") == [0x3]
    assert fdtget(dtb, "/chosen/vm@1", "keel,cpu-affinity") == [0x2]
    assert fdtget(dtb, "/chosen/vm@2", "keel,cpu-affinity") == [0x1]
    assert fdtget(dtb, "/chosen/vm@2", "cpus") == [3]
    _, dtb = dry_run(files, "--smp", "2", "--vm", f"name=a,kernel={files['raw']},cpus=4")
    assert fdtget(dtb, "/chosen/vm@0", "keel,cpu-affinity") == [0x3]


def test_default_affinity_when_cpus_run_out(files):
    """Free CPUs while there are enough (explicit masks first), else every CPU."""
    _, dtb = dry_run(files, "--smp", "4",
                     "--vm", f"name=a,kernel={files['raw']},cpus=2",
                     "--vm", f"name=b,kernel={files['raw']},affinity=0x1",
                     "--vm", f"name=c,kernel={files['raw']},cpus=2")
    assert fdtget(dtb, "/chosen/vm@0", "keel,cpu-affinity") == [0x6]
    assert fdtget(dtb, "/chosen/vm@1", "keel,cpu-affinity") == [0x1]
    assert fdtget(dtb, "/chosen/vm@2", "keel,cpu-affinity") == [0xf]  # only CPU 3 was free


def test_prio_and_timeslice(files):
    _, dtb = dry_run(files, "--smp", "4",
                     "--vm", f"name=a,kernel={files['raw']},prio=0,timeslice=500us",
                     "--vm", f"name=b,kernel={files['raw']},prio=255,timeslice=10ms",
                     "--vm", f"name=c,kernel={files['raw']},timeslice=20",
                     "--vm", f"name=d,kernel={files['raw']}")
    want = [([0], [500]), ([255], [10000]), (None, [20000]), (None, None)]
    for i, (prio, slice_us) in enumerate(want):
        assert fdtget(dtb, f"/chosen/vm@{i}", "keel,priority") == prio
        assert fdtget(dtb, f"/chosen/vm@{i}", "keel,time-slice-us") == slice_us


def test_too_much_memory_across_vms(files):
    res = keel_run(files, "--mem", "512M",
                   "--vm", f"name=a,kernel={files['raw']},mem=256M",
                   "--vm", f"name=b,kernel={files['raw']},mem=256M")
    assert res.returncode == 2
    assert res.stderr.startswith("keel-run: error: vm 'b': out of memory")


def test_missing_keel_image(files, tmp_path):
    res = subprocess.run([sys.executable, KEEL_RUN, "--keel", str(tmp_path / "keel.bin")],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.startswith("keel-run: error: ") and "not found (run make)" in res.stderr


def fake_qemu(tmp_path, version):
    """A stand-in QEMU that only answers --version (and fails anything else)."""
    path = tmp_path / f"qemu-{version}"
    path.write_text("#!/bin/sh\n"
                    f'[ "$1" = --version ] && echo "QEMU emulator version {version} (fake)" && exit 0\n'
                    "echo 'fake QEMU: only --version' >&2; exit 1\n")
    path.chmod(0o755)
    return path


def test_board_needs_newer_qemu(files, tmp_path):
    old = fake_qemu(tmp_path, "7.2.22")
    res = keel_run(files, "--qemu", str(old), "--board", "raspi4b")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == (f"keel-run: error: --board raspi4b needs QEMU 9 or later, but {old} is "
                          "QEMU 7.2.22; give a newer one with --qemu or KEEL_QEMU\n")


def test_board_version_from_keel_qemu(files, tmp_path):
    # KEEL_QEMU is the default --qemu; a new enough QEMU passes the version
    # check, and raspi4b needs nothing else of QEMU before it runs (its DT is
    # a file: here the unit tests' Pi-like one).
    fake = fake_qemu(tmp_path, "10.0.2")
    board_dtb = tmp_path / "rpi4.dtb"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(board_dtb), UNIT_RPI4_DTS],
                   check=True)
    env = dict(os.environ, KEEL_QEMU=str(fake))
    res = subprocess.run([sys.executable, KEEL_RUN, "--dry-run", "--keel", str(files["keel"]),
                          "--board", "raspi4b", "--board-dtb", str(board_dtb)],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert shlex.split(res.stdout.strip().splitlines()[-1])[0] == str(fake)


def test_virt_runs_on_qemu_7(files, tmp_path):
    # The version check passes for virt on 7.2; the fake then fails the DTB dump.
    res = keel_run(files, "--qemu", str(fake_qemu(tmp_path, "7.2.22")))
    assert res.returncode == 2
    assert "dumping QEMU's DTB failed: fake QEMU: only --version" in res.stderr


def test_unreadable_qemu_version(files, tmp_path):
    odd = tmp_path / "odd-qemu"
    odd.write_text("#!/bin/sh\necho 'something else'\n")
    odd.chmod(0o755)
    res = keel_run(files, "--qemu", str(odd))
    assert res.returncode == 2
    assert res.stderr == f"keel-run: error: cannot tell the version of {odd} from its --version output\n"
# ---- --board raspi4b ----

PI_DTB = os.path.join(os.path.dirname(__file__), "..", "..", ".cache", "boards",
                      "bcm2711-rpi-4-b.dtb")
UNIT_RPI4_DTS = os.path.join(os.path.dirname(__file__), "..", "unit", "dts", "rpi4.dts")


def qemu_major():
    out = subprocess.run([QEMU, "--version"], capture_output=True, text=True)
    m = re.search(r"version (\d+)\.", out.stdout)
    return int(m.group(1)) if m else 0


@pytest.fixture
def pi_dtb():
    if qemu_major() < 9:
        pytest.skip("QEMU older than 9 has no raspi4b (keel-run refuses it; "
                    "test_raspi4b_refused_on_old_qemu checks that)")
    if not os.path.isfile(PI_DTB):
        pytest.skip(".cache/boards/bcm2711-rpi-4-b.dtb missing (run scripts/fetch-guests.sh)")
    return PI_DTB


def test_raspi4b_vm(files, pi_dtb):
    cmd, dtb = dry_run(files, "--board", "raspi4b", "--vm",
                       f"name=linux,cpus=2,mem=256M,kernel={files['image']},"
                       f"initrd={files['initrd']}")
    assert cmd[cmd.index("-M") + 1] == "raspi4b"
    assert cmd[cmd.index("-m") + 1] == "2048M"  # the only size QEMU's raspi4b takes
    assert "-smp" not in cmd and "-cpu" not in cmd
    # Modules in the ARM's 960 MiB from 0, above QEMU's DTB at 128 MiB.
    mods = loaders(cmd)
    kaddr, iaddr = mods[str(files["image"])], mods[str(files["initrd"])]
    assert kaddr + files["image"].stat().st_size <= 0x3c000000
    assert 130 * MiB <= iaddr < kaddr
    # Debian's Pi DT, with Keel's console on the PL011 (serial0) and the RAM QEMU gives.
    assert fdtget(dtb, "/", "compatible", "s") == "raspberrypi,4-model-b brcm,bcm2711"
    assert fdtget(dtb, "/chosen", "stdout-path", "s") == "serial0:115200n8"
    assert fdtget(dtb, "/aliases", "serial0", "s") == "/soc/serial@7e201000"
    assert fdtget(dtb, "/memory@0", "reg") == [0, 0, 0x3c000000]
    assert fdtget(dtb, "/cpus/cpu@1", "enable-method", "s") == "spin-table"
    assert fdtget(dtb, "/chosen/vm@0", "keel,cpu-affinity") == [0x3]
    assert fdtget(dtb, f"/chosen/vm@0/module@{kaddr:x}", "reg") == \
        [0, kaddr, 0, files["image"].stat().st_size]


@pytest.mark.parametrize("args, problem", [
    (["--smp", "2"], "fixed smp"),
    (["--mem", "1G"], "fixed mem"),
    (["--gic", "3"], "fixed gic"),
    (["--cpu", "max"], "fixed cpu"),
    (["--disk", "x.img"], "virtio-mmio"),
    (["--host-disk", "x.img"], "virtio-mmio"),
])
def test_raspi4b_fixed_machine(files, args, problem):
    res = keel_run(files, "--board", "raspi4b", *args)
    assert res.returncode == 2 and problem in res.stderr, res.stderr


def test_board_dtb_only_for_raspi4b(files):
    res = keel_run(files, "--board-dtb", str(files["raw"]))
    assert res.returncode == 2 and "--board-dtb is for --board raspi4b" in res.stderr


def drives_and_devices(cmd):
    """The -drive and -device virtio-blk-device arguments, in command-line order."""
    return [(a, cmd[i + 1]) for i, a in enumerate(cmd)
            if a == "-drive" or (a == "-device" and cmd[i + 1].startswith("virtio-blk"))]


@pytest.fixture
def host_disk(tmp_path):
    path = tmp_path / "host.img"
    with open(path, "wb") as f:
        f.truncate(64 * MiB)
    return path


def test_host_disk_and_slices(files, tmp_path, host_disk):
    passthrough = tmp_path / "pt.img"
    passthrough.write_bytes(bytes(MiB))
    cmd, dtb = dry_run(files, "--smp", "2", "--disk", str(passthrough), "--host-disk",
                       str(host_disk),
                       "--vm", f"name=a,kernel={files['raw']},slice=0:16M;16M:2048s:ro",
                       "--vm", f"name=b,kernel={files['raw']},slice=32M:16M")
    # QEMU fills transports from the top in command-line order: --disk first.
    (d0, f0), (v0, dev0), (d1, f1), (v1, dev1) = drives_and_devices(cmd)
    assert f0.startswith(f"file={passthrough},") and "id=disk0" in f0
    assert dev0 == "virtio-blk-device,drive=disk0"
    assert f1.startswith(f"file={host_disk},") and "id=hostdisk" in f1
    assert dev1 == "virtio-blk-device,drive=hostdisk"
    assert cmd[cmd.index("-global") + 1] == "virtio-mmio.force-legacy=false"
    assert fdtget(dtb, "/chosen", "keel,host-disk", "s") == "/virtio_mmio@a003c00"
    s0, s1, b0 = "/chosen/vm@0/slice-0", "/chosen/vm@0/slice-1", "/chosen/vm@1/slice-0"
    assert fdtget(dtb, s0, "compatible", "s") == "keel,disk-slice"
    assert fdtget(dtb, s0, "keel,sectors") == [0, 0, 0, 32768]
    assert fdtget(dtb, s0, "keel,read-only", "s") is None
    assert fdtget(dtb, s1, "keel,sectors") == [0, 32768, 0, 2048]
    assert fdtget(dtb, s1, "keel,read-only", "s") == ""
    assert fdtget(dtb, b0, "keel,sectors") == [0, 65536, 0, 32768]


def test_host_disk_alone_and_on_riscv(files, host_disk):
    cmd, dtb = dry_run(files, "--host-disk", str(host_disk))
    assert fdtget(dtb, "/chosen", "keel,host-disk", "s") == "/virtio_mmio@a003e00"
    cmd, dtb = dry_run(files, "--arch", "riscv64", "--host-disk", str(host_disk))
    assert fdtget(dtb, "/chosen", "keel,host-disk", "s") == "/soc/virtio_mmio@10008000"
    # --disk alone keeps QEMU's own transports (legacy) and names no host disk
    cmd, dtb = dry_run(files, "--disk", str(host_disk))
    assert "-global" not in cmd and fdtget(dtb, "/chosen", "keel,host-disk", "s") is None


@pytest.mark.parametrize("slices, host, problem", [
    ("0:16M", False, "vm 'a': slice= needs --host-disk"),
    ("60M:8M", True, "vm 'a': slice of sectors 122880-139263 goes past the end of --host-disk "
                     "(131072 sectors)"),
    ("0:16M;8M:1M", True, "vm 'a': slice of sectors 16384-18431 overlaps vm 'a''s sectors "
                          "0-32767"),
    ("0:0", True, "vm 'a': slice='0:0' is empty"),
    ("0:16M:rw", True, "expected START:SIZE or START:SIZE:ro"),
    ("x:1M", True, "slice= start 'x' is not a size"),
    ("0:1M;1M:1M;2M:1M;3M:1M;4M:1M", True, "a VM may have at most 4"),
])
def test_bad_slices(files, host_disk, slices, host, problem):
    args = ["--host-disk", str(host_disk)] if host else []
    res = keel_run(files, *args, "--vm", f"name=a,kernel={files['raw']},slice={slices}")
    assert res.returncode == 2 and problem in res.stderr, res.stderr


def test_slices_of_two_vms_overlap(files, host_disk):
    res = keel_run(files, "--smp", "2", "--host-disk", str(host_disk),
                   "--vm", f"name=a,kernel={files['raw']},slice=0:16M",
                   "--vm", f"name=b,kernel={files['raw']},slice=15M:2M")
    assert res.returncode == 2
    assert res.stderr == ("keel-run: error: vm 'b': slice of sectors 30720-34815 overlaps "
                          "vm 'a''s sectors 0-32767\n")


def test_net_mac_and_hvc_keys(files):
    _, dtb = dry_run(files, "--smp", "2",
                     "--vm", f"name=a,kernel={files['raw']},net=lan,mac=52:54:00:ab:cd:ef,hvc=on",
                     "--vm", f"name=b,kernel={files['raw']},net=lan")
    assert fdtget(dtb, "/chosen/vm@0", "keel,net", "s") == "lan"
    assert fdtget(dtb, "/chosen/vm@0", "keel,mac-address", "bx") == "52 54 0 ab cd ef"
    assert fdtget(dtb, "/chosen/vm@0", "keel,virtio-console", "bx") == ""
    assert fdtget(dtb, "/chosen/vm@1", "keel,net", "s") == "lan"
    assert fdtget(dtb, "/chosen/vm@1", "keel,mac-address", "bx") is None
    assert fdtget(dtb, "/chosen/vm@1", "keel,virtio-console", "bx") is None


@pytest.mark.parametrize("spec,problem", [
    ("net=a b", "must be 1 to 15 letters"),
    ("net=abcdefghijklmnop", "must be 1 to 15 letters"),
    ("mac=52:54:00:00:00:01", "mac= needs net="),
    ("net=lan,mac=53:54:00:00:00:01", "is a multicast address"),
    ("net=lan,mac=00:00:00:00:00:00", "is all zeroes"),
    ("net=lan,mac=52:54:00:00:01", "is not six hex bytes"),
    ("hvc=yes", "hvc=yes must be on or off"),
])
def test_bad_net_keys(files, spec, problem):
    res = keel_run(files, "--vm", f"name=a,kernel={files['raw']},{spec}")
    assert res.returncode == 2 and problem in res.stderr, res.stderr

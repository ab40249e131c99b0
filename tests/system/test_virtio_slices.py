"""Slices of a host disk (issue 11, second backing): a virtio-blk disk Keel
drives itself (keel-run --host-disk, /chosen/keel,host-disk), cut into sector
ranges that VMs see as virtio-blk disks of their own (keel-run slice=,
keel,disk-slice nodes). Two Linux VMs write their slices and power off; the
image file on the host holds each VM's data at its slice's offset and nothing
else changed; a second boot of Keel on the same file finds the data. A VM
cannot reach past its slice, and Keel refuses slices that overlap, slices
without a host disk and passthrough of the host disk."""
import hashlib
import re

import pytest

from conftest import GuestShell, KEEL_FATAL, focus, linux_vm_spec, shell_cmd
from test_multi_vm import wait_ready
from test_riscv import RV_ARGS, RV_GUESTS

MiB = 1 << 20
DISK_SIZE = 64 * MiB
# (name, first byte, size) of each VM's slice; each VM writes DATA bytes at DATA_AT in it.
SLICES = [("a", 8 * MiB, 16 * MiB), ("b", 32 * MiB, 16 * MiB)]
DATA_AT = 1 * MiB
DATA = 1536 << 10
SHA = re.compile(r"\b([0-9a-f]{64})\b")


def make_host_disk(path):
    """DISK_SIZE bytes of a pattern that differs per 512-byte sector, so a write
    at the wrong offset shows."""
    pattern = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() * 16
                       for i in range(DISK_SIZE // 512))
    path.write_bytes(pattern)
    return pattern


def slice_spec(start, size, ro=False):
    return f"{start >> 20}M:{size >> 20}M" + (":ro" if ro else "")


def vm_args(smp=2):
    args = ["--smp", str(smp), "--mem", "1G"]
    for name, start, size in SLICES:
        args += ["--vm", linux_vm_spec(name, cpus=1, mem="160M", slice=slice_spec(start, size))]
    return args


def tagged(proc, name, regex, timeout=60):
    """A line the VM @name printed, tagged by the console multiplexer."""
    return proc.expect(rf"\[{name}\] {regex}", timeout)


def type_line(proc, command):
    """Type a command into the focused VM's shell without waiting for it; it
    must fit the guest's 80 columns with the prompt (see GuestShell.run)."""
    assert len("keel-guest# ") + len(command) < 80, command
    GuestShell(proc).start(command)


def write_slice(proc, name, size):
    """In the focused VM: random data at DATA_AT, flushed (conv=fsync: FLUSH);
    a write past the end fails. Returns the data's sha256."""
    type_line(proc, "cd /tmp; cat /sys/block/vda/size")
    tagged(proc, name, rf"{size // 512}\r*\n")
    type_line(proc, f"dd if=/dev/urandom of=p bs=1k count={DATA >> 10} 2>/dev/null")
    type_line(proc, "sha256sum p")
    digest = tagged(proc, name, r"([0-9a-f]{64})").group(1)
    type_line(proc, f"dd if=p of=/dev/vda bs=1M seek={DATA_AT >> 20} conv=fsync 2>/dev/null"
              ";echo w=$?")
    tagged(proc, name, r"w=0")
    # Past the slice's end: Linux itself refuses (the capacity is the slice's).
    type_line(proc, f"dd if=p of=/dev/vda seek={size // 512} count=1 2>/dev/null;echo past=$?")
    tagged(proc, name, r"past=1")
    return digest


def read_slice(proc, name):
    type_line(proc, f"dd if=/dev/vda bs=1k skip={DATA_AT >> 10} count={DATA >> 10} 2>/dev/null"
              "|sha256sum")
    return tagged(proc, name, r"([0-9a-f]{64})").group(1)


def check_image(path, pristine, written):
    """Each VM's data where its slice puts it; every other byte as it was."""
    image = path.read_bytes()
    assert len(image) == DISK_SIZE
    expect = bytearray(pristine)
    for name, start, _ in SLICES:
        at = start + DATA_AT
        got = image[at:at + DATA]
        assert hashlib.sha256(got).hexdigest() == written[name], \
            f"vm {name}'s data is not at byte {at:#x} of the host disk"
        expect[at:at + DATA] = got
    assert image == bytes(expect), "bytes outside what the VMs wrote changed"


@pytest.mark.usefixtures("need_guest")
def test_two_vms_share_a_host_disk_and_their_data_persists(keel, tmp_path):
    disk = tmp_path / "host.img"
    pristine = make_host_disk(disk)
    proc = keel("--host-disk", str(disk), *vm_args(), timeout=120)
    proc.expect(r"virtio-blk host disk at 0xa003e00: 131072 sectors \(64 MiB\), flush")
    wait_ready(proc, ["a", "b"])
    written = {"a": write_slice(proc, "a", SLICES[0][2])}
    focus(proc, "n", "b")
    written["b"] = write_slice(proc, "b", SLICES[1][2])
    assert written["a"] != written["b"]
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    dev = shell_cmd(proc, "dev b")
    row = re.search(r"^0\s+virtio-blk\s+slot 31\s+0xa003e00\s+16384 KiB ro=no requests=(\d+) "
                    r"read=(\d+) written=(\d+) flushes=(\d+) errors=(\d+) resets=(\d+) "
                    r"backing=host:65536-98303$", dev, re.M)
    assert row, dev
    requests, _, written_bytes, flushes, errors, resets = map(int, row.groups())
    assert written_bytes >= DATA and flushes > 0 and errors == 0 and resets == 0, dev
    assert re.search(r"^host disk at 0xa003e00: 131072 sectors; \d+ requests", dev, re.M), dev
    # Power both off: Keel flushes the disk and turns the machine off.
    focus(proc, "0", "a")
    GuestShell(proc).start("poweroff -f")
    proc.expect(r"vm a: powered off")
    focus(proc, "1", "b")
    GuestShell(proc).start("poweroff -f")
    proc.expect_eof(timeout=30)
    assert not KEEL_FATAL.search(proc.output)
    check_image(disk, pristine, written)

    # A second boot on the same image: each VM finds its data.
    proc = keel("--host-disk", str(disk), *vm_args(), timeout=120)
    wait_ready(proc, ["a", "b"])
    assert read_slice(proc, "a") == written["a"]
    focus(proc, "n", "b")
    assert read_slice(proc, "b") == written["b"]
    assert not KEEL_FATAL.search(proc.output)


@pytest.mark.usefixtures("need_guest")
def test_slices_that_overlap_or_take_the_host_disk_are_refused(keel, tmp_path):
    disk = tmp_path / "host.img"
    disk.write_bytes(bytes(DISK_SIZE))
    # --no-check: keel-run lets Keel see them
    a = linux_vm_spec("a", cpus=1, mem="128M", affinity="0x1", slice="0:16M")
    b = linux_vm_spec("b", cpus=1, mem="128M", affinity="0x2", slice="8M:16M")
    c = linux_vm_spec("c", cpus=1, mem="128M", affinity="0x4", identity="on",
                      passthrough="/virtio_mmio@a003e00")
    d = linux_vm_spec("d", cpus=1, mem="128M", affinity="0x8", slice="60M:8M")
    proc = keel("--no-check", "--smp", "4", "--mem", "1G", "--host-disk", str(disk),
                "--vm", a, "--vm", b, "--vm", c, "--vm", d, timeout=60)
    proc.expect(r"\(b\): its keel,disk-slice \(sectors 16384-49151\) overlaps vm a's \(sectors "
                r"0-32767\) on the host disk; VM not started")
    proc.expect(r"\(c\): a passed-through device is the host disk Keel drives itself")
    proc.expect(r"\(d\): its keel,disk-slice \(first sector 122880, 16384 sectors\) goes past "
                r"the end of the host disk \(131072 sectors\)")
    proc.expect(r"vm a: starting")
    # No host disk at all: a slice is refused, the VM without one boots.
    proc = keel("--no-check", "--smp", "2", "--mem", "1G", "--vm", a,
                "--vm", linux_vm_spec("e", cpus=1, mem="128M", affinity="0x2"), timeout=60)
    proc.expect(r"\(a\): a keel,disk-slice, but Keel drives no host disk")
    proc.expect(r"vm e: starting")


@pytest.mark.usefixtures("need_guest")
def test_passthrough_disk_beside_the_host_disk(keel, tmp_path):
    """--disk keeps the top transport for passthrough, --host-disk takes the
    next one: one VM drives the first itself, another has a slice of the
    second, and each write lands in its own file."""
    passed, disk = tmp_path / "pt.img", tmp_path / "host.img"
    passed.write_bytes(bytes(8 * MiB) + b"KEEL-DISK-MARKER" + bytes(8 * MiB - 16))
    pristine = make_host_disk(disk)
    proc = keel("--smp", "2", "--mem", "1G", "--disk", str(passed), "--host-disk", str(disk),
                "--vm", linux_vm_spec("p", cpus=1, mem="160M", identity="on",
                                      passthrough="/virtio_mmio@a003e00"),
                "--vm", linux_vm_spec("s", cpus=1, mem="160M", slice="0:16M"), timeout=120)
    proc.expect(r"virtio-blk host disk at 0xa003c00: 131072 sectors \(64 MiB\), flush")
    wait_ready(proc, ["p", "s"])
    type_line(proc, "dd if=/dev/vda bs=1M skip=8 count=1 2>/dev/null | head -c 16; echo")
    tagged(proc, "p", "KEEL-DISK-MARKER")
    type_line(proc, "echo P-WROTE-THIS|dd of=/dev/vda bs=1M seek=4 conv=fsync;echo w=$?")
    tagged(proc, "p", r"w=0")
    focus(proc, "n", "s")
    type_line(proc, "echo S-WROTE-THIS|dd of=/dev/vda bs=1M seek=4 conv=fsync;echo w=$?")
    tagged(proc, "s", r"w=0")
    type_line(proc, "cat /sys/block/vda/size")
    tagged(proc, "s", r"32768\r*\n")
    assert not KEEL_FATAL.search(proc.output)
    image, mine = disk.read_bytes(), passed.read_bytes()
    assert image[4 * MiB:4 * MiB + 13] == b"S-WROTE-THIS\n"
    assert image[4 * MiB + 13:] == pristine[4 * MiB + 13:] and image[:4 * MiB] == pristine[:4 * MiB]
    assert mine[4 * MiB:4 * MiB + 13] == b"P-WROTE-THIS\n" and b"S-WROTE" not in mine


def test_riscv_slice_is_written_through_to_the_host_disk(keel, tmp_path):
    for f in ("Image", "initramfs.cpio.gz"):
        if not (RV_GUESTS / f).is_file():
            pytest.skip(f"{RV_GUESTS / f} missing (run scripts/fetch-guests.sh --arch riscv64)")
    disk = tmp_path / "host.img"
    pristine = make_host_disk(disk)
    name, start, size = SLICES[1]
    proc = keel(*RV_ARGS, "--smp", "1", "--mem", "512M", "--host-disk", str(disk), "--vm",
                f"name={name},cpus=1,mem=160M,kernel={RV_GUESTS / 'Image'},"
                f"initrd={RV_GUESTS / 'initramfs.cpio.gz'},slice={slice_spec(start, size)},"
                "bootargs=console=ttyS0 earlycon=sbi", timeout=120)
    proc.expect(r"virtio-blk host disk at 0x10008000: 131072 sectors \(64 MiB\), flush")
    sh = GuestShell(proc).wait_ready(timeout=120)
    out = sh.run("cat /sys/block/vda/size")
    assert str(size // 512) in out, out
    sh.run(f"cd /tmp; dd if=/dev/urandom of=p bs=1k count={DATA >> 10} 2>/dev/null")
    digest = SHA.search(sh.run("sha256sum p")).group(1)
    out = sh.run(f"dd if=p of=/dev/vda bs=1M seek={DATA_AT >> 20} conv=fsync 2>/dev/null"
                 ";echo w=$?", timeout=60)
    assert "w=0" in out, out
    sh.start("poweroff -f")
    proc.expect_eof(timeout=30)
    assert not KEEL_FATAL.search(proc.output)
    image = disk.read_bytes()
    at = start + DATA_AT
    assert hashlib.sha256(image[at:at + DATA]).hexdigest() == digest
    assert image[:at] == pristine[:at] and image[at + DATA:] == pristine[at + DATA:]

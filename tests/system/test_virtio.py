"""Keel's own virtio-blk devices (issue 11, first step): disk images loaded
into RAM like the kernel (keel-run disk=PATH[:ro], keel,disk modules), one
virtio-mmio transport each where QEMU's virt board puts them. A Linux VM
mounts a minix filesystem on one, writes and reads back a file, finds a
read-only one refusing writes, and after the shell's restart finds its disk
as the image was (each boot works on a fresh copy)."""
import hashlib
import re
import shutil
import subprocess

import pytest

from conftest import GuestShell, KEEL_FATAL, focus, linux_vm_spec, shell_cmd
from test_riscv import RV_ARGS, RV_GUESTS

MARKER = b"KEEL-VDISK-MARKER"


def make_disk(path, marker=MARKER):
    """A 16 MiB minix filesystem with a raw marker at 8 MiB (past its data)."""
    with open(path, "wb") as f:
        f.truncate(16 << 20)
    mkfs = shutil.which("mkfs.minix") or "/sbin/mkfs.minix"  # util-linux, Essential in Debian
    subprocess.run([mkfs, str(path)], check=True, capture_output=True)
    with open(path, "r+b") as f:
        f.seek(8 << 20)
        f.write(marker)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_marker(sh, dev):
    return sh.run(f"dd if={dev} bs=1M skip=8 count=1 2>/dev/null|head -c17;echo")


def check_rw_disk(sh, dev="/dev/vda"):
    """Mount, write a file, read it back through a fresh mount (checksums)."""
    out = sh.run(f"mkdir -p /mnt && mount -t minix {dev} /mnt && echo mounted")
    assert "mounted" in out, out
    sh.run("dd if=/dev/urandom of=/mnt/f bs=1k count=300 2>/dev/null")
    want = sh.run("md5sum /mnt/f").split()[0]
    sh.run("umount /mnt && echo 3 > /proc/sys/vm/drop_caches")
    out = sh.run(f"mount -t minix {dev} /mnt && md5sum /mnt/f")
    assert re.search(rf"\b{want}\b", out), f"read back {out!r}, wrote {want}"
    sh.run("umount /mnt")


def check_ro_disk(sh, dev="/dev/vdb", name="vdb"):
    """Read-only: the flag, a ro mount, the marker; a write fails."""
    assert sh.run(f"cat /sys/block/{name}/ro").strip().endswith("1")
    out = read_marker(sh, dev)
    assert MARKER.decode() in out, out
    out = sh.run(f"mount -t minix -o ro {dev} /mnt && echo mounted")
    assert "mounted" in out, out
    out = sh.run("touch /mnt/g; echo rc=$?")
    assert "rc=0" not in out, out
    sh.run("umount /mnt")
    out = sh.run(f"dd if=/dev/zero of={dev} count=1 conv=fsync; echo rc=$?")
    assert "rc=0" not in out, out


@pytest.mark.usefixtures("need_guest")
def test_two_ram_disks_rw_and_ro(keel, tmp_path):
    rw, ro = tmp_path / "rw.img", tmp_path / "ro.img"
    rw_sum, ro_sum = make_disk(rw), make_disk(ro)
    proc = keel("--smp", "2", "--mem", "1G", "--vm",
                linux_vm_spec("l", cpus=2, mem="256M", disk=f"{rw};{ro}:ro"), timeout=60)
    sh = GuestShell(proc).wait_ready()
    # The first disk in the highest slot, as QEMU places its transports.
    out = sh.run("ls /sys/bus/platform/devices | grep virtio_mmio")
    assert "a003e00.virtio_mmio" in out and "a003c00.virtio_mmio" in out, out
    check_rw_disk(sh)
    check_ro_disk(sh)
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    dev = shell_cmd(proc, "dev l")
    rows = re.findall(r"^(\d)\s+virtio-blk\s+slot (\d+)\s+(0x\w+)\s+16384 KiB ro=(yes|no) "
                      r"requests=(\d+) read=(\d+) written=(\d+) flushes=(\d+) errors=(\d+)",
                      dev, re.M)
    assert [r[:4] for r in rows] == [("0", "31", "0xa003e00", "no"),
                                     ("1", "30", "0xa003c00", "yes")], dev
    assert int(rows[0][4]) > 0 and int(rows[0][5]) > 0 and int(rows[0][6]) >= 300 << 10, dev
    # Linux refuses writes to a read-only disk itself: none reaches the device.
    assert int(rows[1][5]) > 0 and int(rows[1][6]) == 0, dev
    assert not KEEL_FATAL.search(proc.output)
    # The modules stay pristine: the guest wrote to its copies.
    assert hashlib.sha256(rw.read_bytes()).hexdigest() == rw_sum
    assert hashlib.sha256(ro.read_bytes()).hexdigest() == ro_sum


@pytest.mark.usefixtures("need_guest")
def test_ram_disk_is_pristine_after_restart(keel, tmp_path):
    disk = tmp_path / "d.img"
    make_disk(disk)
    proc = keel("--smp", "1", "--mem", "1G", "--vm",
                linux_vm_spec("l", cpus=1, mem="192M", disk=str(disk)), timeout=60)
    sh = GuestShell(proc).wait_ready()
    sh.run("mkdir -p /mnt && mount -t minix /dev/vda /mnt && echo gone > /mnt/f")
    sh.run("umount /mnt")
    sh.run("dd if=/dev/zero of=/dev/vda bs=1M seek=8 count=1 conv=fsync")
    out = read_marker(sh, "/dev/vda")
    assert MARKER.decode() not in out, out
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    proc.send("restart l\r")
    proc.expect(r"vm l: restarting \(boot 2\)", 30)
    focus(proc, "0", "l")
    sh.wait_ready()
    out = read_marker(sh, "/dev/vda")
    assert MARKER.decode() in out, out
    sh.run("mkdir -p /mnt")
    out = sh.run("mount -t minix /dev/vda /mnt && ls /mnt; echo listed")
    assert "listed" in out and not re.search(r"^f\s*$", out, re.M), out
    assert not KEEL_FATAL.search(proc.output)


def test_riscv_two_ram_disks_rw_and_ro(keel, tmp_path):
    for f in ("Image", "initramfs.cpio.gz"):
        if not (RV_GUESTS / f).is_file():
            pytest.skip(f"{RV_GUESTS / f} missing (run scripts/fetch-guests.sh --arch riscv64)")
    rw, ro = tmp_path / "rw.img", tmp_path / "ro.img"
    make_disk(rw)
    make_disk(ro)
    proc = keel(*RV_ARGS, "--smp", "2", "--mem", "1G", "--vm",
                f"name=l,cpus=2,mem=256M,kernel={RV_GUESTS / 'Image'},"
                f"initrd={RV_GUESTS / 'initramfs.cpio.gz'},disk={rw};{ro}:ro,"
                "bootargs=console=ttyS0 earlycon=sbi", timeout=120)
    sh = GuestShell(proc).wait_ready(timeout=120)
    out = sh.run("ls /sys/bus/platform/devices | grep virtio_mmio")
    assert "10008000.virtio_mmio" in out and "10007000.virtio_mmio" in out, out
    check_rw_disk(sh)
    check_ro_disk(sh)
    out = sh.run("grep virtio /proc/interrupts")
    assert re.search(r"PLIC\s+8\s", out) and re.search(r"PLIC\s+7\s", out), out
    assert not KEEL_FATAL.search(proc.output)


# Interleaved fsync'd writes, run as `sh /t CPU HOST RAM COUNT`: one to the
# RAM disk, then one to the passed-through disk, from one CPU, nothing
# printed in between (dd's default block is 512 bytes).
INTERLEAVED = ["c=$1;h=$2;r=$3;n=$4;i=0;f=conv=fsync;exec 2>/dev/null",
               "w(){ echo $1|taskset -c $c dd of=/dev/$2 seek=$s $f;}",
               "while [ $i -lt $n ];do i=$((i+1));s=$((200+c*64+i))",
               "w r$c.$i $r;w h$c.$i $h;done;echo T$c-ok"]


@pytest.mark.usefixtures("need_guest")
def test_ram_disk_beside_a_passed_through_disk(keel, tmp_path):
    """QEMU's own virtio-blk at 0x0a003e00, passed through, and a RAM disk in
    the same VM: the RAM disk skips the forwarded slot and takes the next one
    down; each disk is its own (markers, a write reaching only the host file).
    Writes alternating between the two from both CPUs all complete: the
    window of virtio slots covers the forwarded one, and a vCPU whose last
    MMIO exit was to the RAM disk used to have the window catch the passed-
    through disk's next access as an empty slot's (a QueueNotify lost, or an
    InterruptStatus read as 0: a hung dd, or an interrupt storm)."""
    host, ram = tmp_path / "host.img", tmp_path / "ram.img"
    make_disk(host, b"KEEL-HOST-DISK-MK")
    ram_sum = make_disk(ram)
    proc = keel("--smp", "2", "--mem", "1G", "--disk", str(host), "--vm",
                linux_vm_spec("l", cpus=2, mem="256M", identity="on",
                              passthrough="/virtio_mmio@a003e00", disk=str(ram)), timeout=90)
    sh = GuestShell(proc).wait_ready()
    out = sh.run("ls /sys/bus/platform/devices | grep virtio_mmio")
    assert "a003e00.virtio_mmio" in out and "a003c00.virtio_mmio" in out, out
    # Which vdX is which depends on probe order: find them by their markers.
    found = {}
    for dev in ("vda", "vdb"):
        out = read_marker(sh, f"/dev/{dev}")
        found["host" if "KEEL-HOST-DISK-MK" in out else "ram" if MARKER.decode() in out
              else out] = dev
    assert set(found) == {"host", "ram"}, found
    sh.run(f"echo to-host|dd of=/dev/{found['host']} bs=512 seek=100 conv=fsync")
    sh.run(f"echo to-ram|dd of=/dev/{found['ram']} bs=512 seek=100 conv=fsync")
    out = sh.run(f"dd if=/dev/{found['ram']} bs=512 skip=100 count=1 2>/dev/null|head -c6;echo")
    assert "to-ram" in out, out
    for line in INTERLEAVED:
        sh.run(f"echo '{line}' >> /t")
    n, h, r = 8, found["host"], found["ram"]
    out = sh.run(f"sh /t 0 {h} {r} {n} & sh /t 1 {h} {r} {n}; wait", timeout=60)
    assert "T0-ok" in out and "T1-ok" in out, out
    for c in (0, 1):  # the RAM disk's copies, read back in the guest
        out = sh.run(f"dd if=/dev/{r} skip={200 + c * 64 + n} count=1 2>/dev/null|head -c5")
        assert f"r{c}.{n}" in out, out
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    dev = shell_cmd(proc, "dev l")
    assert re.search(r"^0\s+virtio-blk\s+slot 30\s+0xa003c00\s", dev, re.M), dev
    assert not KEEL_FATAL.search(proc.output)
    data = host.read_bytes()
    assert data[100 * 512:100 * 512 + 7] == b"to-host" and b"to-ram" not in data
    for c in (0, 1):
        for i in range(1, n + 1):
            sector = (200 + c * 64 + i) * 512
            assert data[sector:sector + 8].split(b"\n")[0] == f"h{c}.{i}".encode(), (c, i)
    assert hashlib.sha256(ram.read_bytes()).hexdigest() == ram_sum  # the module stays pristine

"""Keel on RISC-V (HS-mode under OpenSBI, QEMU 10's riscv virt with the H
extension): the bare-metal RISC-V test guests (tests/guests/riscv64), each
checking one promise from inside a VM, alone and side by side, and two VMs
meeting over shared memory and Keel's SBI doorbell; Debian's riscv64 Linux
with 1, 2 and 4 vCPUs and two Linux VMs at once; the Keel shell (vms, stat,
stop, start, restart); a virtio-mmio disk passed through to one Linux VM;
U-Boot's S-mode build listing the SBI extensions Keel offers."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import (KEEL_FATAL, KEEL_RUN, LOG_DIR, REPO, TIMEOUT_SCALE, GuestShell, clean,
                      focus, shell_cmd)
from test_multi_vm import wait_ready

QEMU_RV = os.environ.get("KEEL_QEMU_RISCV64") or "qemu-system-riscv64"
KEEL_RV = REPO / "build" / "riscv64" / "keel.bin"
GUEST_DIR = REPO / "tests" / "guests" / "riscv64"
GUEST_BUILD = REPO / "build" / "guests" / "riscv64"
RV_GUESTS = REPO / ".cache" / "guests" / "riscv64"
UBOOT_SMODE = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin"
SUMMARY = re.compile(r"SUMMARY: (\d+) passed, (\d+) failed")
TIMEOUT = 120 * TIMEOUT_SCALE
RV_ARGS = ("--arch", "riscv64", "--keel", str(KEEL_RV))


def qemu_major():
    try:
        out = subprocess.run([QEMU_RV, "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return 0
    m = re.search(r"version (\d+)", out)
    return int(m.group(1)) if m else 0


if qemu_major() < 10:
    pytest.skip(f"{QEMU_RV} 10 or later needed (H extension, Sstc)", allow_module_level=True)


@pytest.fixture(scope="module")
def rv_guests():
    if not KEEL_RV.exists():
        pytest.fail(f"{KEEL_RV} missing: run make first")
    res = subprocess.run(["make", "-C", str(GUEST_DIR)], capture_output=True, text=True)
    assert res.returncode == 0, f"make -C tests/guests/riscv64 failed:\n{res.stdout}\n{res.stderr}"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return GUEST_BUILD


def run_vms(vms, log_name, smp=4, args=(), keys=""):
    """Keel with the VMs (name, elf, cpus) until the machine powers off; (text, code, log).
    keys: more --vm keys for every VM ("shmem=ring")."""
    cmd = [sys.executable, str(KEEL_RUN), *RV_ARGS, "--smp", str(smp), "--mem", "1G", *args]
    for name, elf, cpus in vms:
        cmd += ["--vm", f"name={name},cpus={cpus},mem=64M,kernel={elf}" + (f",{keys}" if keys else "")]
    log = LOG_DIR / log_name
    try:
        res = subprocess.run(cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=TIMEOUT)
        out, code = res.stdout, res.returncode
    except subprocess.TimeoutExpired as e:
        out, code = e.stdout or b"", None
    text = out.decode("utf-8", "replace").replace("\r", "")
    log.write_text("# " + " ".join(cmd) + "\n" + text)
    return text, code, log


def check_guest(text, code, log, name, several=False):
    """@name's lines show a clean pass: a SUMMARY with no failure, no FAIL."""
    tag = f"[{name}] "
    lines = [l[len(tag):] if l.startswith(tag) else l for l in text.splitlines()
             if l.startswith(tag) or not several]
    stream = "".join(l + "\n" for l in lines) if not several else "".join(lines)
    tail = "\n".join(text.splitlines()[-25:])
    assert code is not None, f"QEMU still running after {TIMEOUT:.0f} s (see {log}):\n{tail}"
    assert not KEEL_FATAL.search(text), f"Keel crashed (see {log}):\n{tail}"
    m = SUMMARY.search(stream)
    assert m, f"no SUMMARY from {name} (see {log}):\n{tail}"
    fails = [l for l in lines if "FAIL: " in l]
    assert int(m.group(2)) == 0 and not fails, f"{name} (see {log}):\n" + "\n".join(fails)
    assert int(m.group(1)) > 0
    assert code == 0, f"QEMU exit code {code} (see {log}):\n{tail}"


RUNS = [("sbi", 1), ("sbi", 4), ("timer", 1), ("timer", 3), ("plic", 1), ("plic", 2),
        ("mmio", 1), ("mmio", 2), ("smp", 2), ("smp", 4)]


@pytest.mark.parametrize("guest,cpus", RUNS, ids=[f"{g}-{n}cpu" for g, n in RUNS])
def test_riscv_guest(rv_guests, guest, cpus):
    text, code, log = run_vms([(guest, rv_guests / f"{guest}.elf", cpus)],
                              f"riscv-{guest}-{cpus}cpu.log")
    check_guest(text, code, log, guest)


# A hart without Sstc: the guests' timer is SBI set_timer, which Keel serves
# with its own timer and hvip.VSTIP.
NO_SSTC = ("--cpu", "rv64,sstc=false")


@pytest.mark.parametrize("guest,cpus", [("timer", 3), ("sbi", 2)], ids=["timer-3cpu", "sbi-2cpu"])
def test_riscv_guest_without_sstc(rv_guests, guest, cpus):
    text, code, log = run_vms([(guest, rv_guests / f"{guest}.elf", cpus)],
                              f"riscv-{guest}-{cpus}cpu-nosstc.log", args=NO_SSTC)
    assert "guests' timer: SBI set_timer" in text
    check_guest(text, code, log, guest)


def test_riscv_guests_side_by_side(rv_guests):
    """Two VMs on their own harts: each passes, the SBI calls of one (IPIs,
    fences, HSM, shutdown) never reach the other."""
    vms = [("sbi", rv_guests / "sbi.elf", 2), ("smp", rv_guests / "smp.elf", 2)]
    text, code, log = run_vms(vms, "riscv-sbi+smp.log")
    for name, _, _ in vms:
        check_guest(text, code, log, name, several=True)


def vm_stream(text, name):
    """@name's console output with the tags taken out: the VM with focus
    writes straight through, so its lines may come in pieces between other
    VMs' lines; joined, they read as it wrote them."""
    tag = f"[{name}] "
    return "".join(l[len(tag):] for l in text.splitlines() if l.startswith(tag))


def test_riscv_doorbell_between_two_vms(rv_guests):
    """Two VMs of the doorbell guest share a region: Keel's SBI extension
    (version, doorbell, bad ids), each VM's message read by the other and a
    doorbell each way, taken as the region's PLIC source 80 + id. Their
    region is id 1: id 0 exists but neither maps it, so ringing it is refused."""
    elf = rv_guests / "doorbell.elf"
    vms = [("left", elf, 1), ("right", elf, 1)]
    text, code, log = run_vms(vms, "riscv-doorbell.log", smp=2,
                              args=("--shmem", "name=unused,size=4K",
                                    "--shmem", "name=ring,size=64K"), keys="shmem=ring")
    for name, peer in (("left", "right"), ("right", "left")):
        check_guest(text, code, log, name, several=True)
        out = vm_stream(text, name)
        assert "FAIL" not in out, f"{name} (see {log}):\n{out}"
        assert f"own name from the root's model: 'keel,{name}'" in out, out
        assert f"message from the peer: 'hello from {peer}'" in out, out
        assert "PASS: DOORBELL of id 0, a region not mapped: error -3" in out, out
        assert re.search(r"PASS: doorbells received: [1-9]\d*, each claimed as source 81", out), out


# ---- Linux --------------------------------------------------------------------

@pytest.fixture
def rv_linux(keel):
    for f in ("Image", "initramfs.cpio.gz"):
        if not (RV_GUESTS / f).is_file():
            pytest.skip(f"{RV_GUESTS / f} missing (run scripts/fetch-guests.sh --arch riscv64)")

    def start(vms, smp=4, mem="2G", more=(), vm_mem="512M"):
        """vms: (name, cpus) or (name, cpus, "more=keys,of=the --vm spec")."""
        args = [*RV_ARGS, "--smp", str(smp), "--mem", mem]
        for name, cpus, *keys in vms:
            args += ["--vm", f"name={name},cpus={cpus},mem={vm_mem},kernel={RV_GUESTS / 'Image'},"
                             f"initrd={RV_GUESTS / 'initramfs.cpio.gz'},"
                             + "".join(k + "," for k in keys)
                             + "bootargs=console=ttyS0 earlycon=sbi"]
        return keel(*args, *more, timeout=120)

    return start


@pytest.mark.parametrize("cpus", [1, 2, 4], ids=["1cpu", "2cpu", "4cpu"])
def test_riscv_linux_boots_smp(rv_linux, cpus):
    k = rv_linux([("linux", cpus)])
    sh = GuestShell(k).wait_ready(timeout=180)
    out = k.output
    assert "SBI implementation ID=0x4b454c" in out, "the guest did not see Keel's SBI"
    assert "riscv-plic" in out and "ttyS0" in out
    assert sh.run("nproc").strip() == str(cpus)
    irqs = sh.run("cat /proc/interrupts")
    timer = next(l for l in irqs.splitlines() if "riscv-timer" in l)
    counts = [int(x) for x in timer.split()[1:1 + cpus]]
    assert all(c > 0 for c in counts), f"a vCPU took no timer interrupt:\n{irqs}"
    assert re.search(r"PLIC\s+10\s.*ttyS0", irqs), irqs
    assert not KEEL_FATAL.search(k.output)


def test_riscv_linux_without_sstc(rv_linux):
    """Linux's timer through SBI set_timer (no Sstc on the hart) ticks on both vCPUs."""
    k = rv_linux([("linux", 2)], smp=2, more=NO_SSTC)
    sh = GuestShell(k).wait_ready(timeout=180)
    assert "sstc" not in sh.run("grep -m1 isa /proc/cpuinfo")
    sh.run("sleep 1")
    timer = next(l for l in sh.run("cat /proc/interrupts").splitlines() if "riscv-timer" in l)
    assert all(int(c) > 0 for c in timer.split()[1:3]), timer


def test_riscv_two_linux_vms(rv_linux):
    """Two Linux VMs of 2 vCPUs each on a 4-hart board: both reach their shell."""
    k = rv_linux([("a", 2), ("b", 2)])
    k.expect(r"\[a\] KEEL-GUEST-READY|\[b\] KEEL-GUEST-READY", timeout=180)
    first = "a" if "[a] KEEL-GUEST-READY" in clean(k.child.after) else "b"
    other = "b" if first == "a" else "a"
    k.expect(rf"\[{other}\] KEEL-GUEST-READY", timeout=180)
    assert not KEEL_FATAL.search(k.output)


def test_riscv_linux_poweroff_stops_only_its_vm(rv_linux):
    """SBI SRST shutdown from one Linux VM powers off that VM; the other keeps running."""
    k = rv_linux([("linux", 2), ("other", 2)])
    for _ in range(2):  # in either order
        k.expect(r"\[(?:linux|other)\] KEEL-GUEST-READY", timeout=180)
    # Input goes to the first VM, "linux"; an unfocused VM's lines wait for their newline.
    k.send("\r")
    k.expect(r"\[linux\] keel-guest# ", timeout=30)
    k.send("poweroff -f\r")
    k.expect(r"vm linux: SBI system shutdown", timeout=60)
    k.expect(r"vm linux: powered off", timeout=30)
    assert "all VMs are off" not in clean(k.read_for(2))
    focus(k, "n", "other")
    k.send("echo still-$((6*7))\r")
    k.expect(r"still-42", timeout=30)


# ---- the Keel shell -----------------------------------------------------------

def wait_all(k, patterns, timeout=180):
    """Until each regex matched once, in whatever order they come."""
    pending = list(patterns)
    while pending:
        m = k.expect(pending, timeout)
        pending = [p for p in pending if not re.fullmatch(p, m.group(0))]


def exit_rows(stat):
    """`stat`'s table, {vcpu: {reason: count}}, after checking RISC-V's column names."""
    head = re.search(r"^vcpu((?:[ \t]+\w+)+)[ \t]*$", stat, re.M)
    assert head, stat
    names = head.group(1).split()
    assert names == ["sbi", "mmio", "vinsn", "irq", "other", "injected"], stat
    rows = {}
    for m in re.finditer(r"^(\d+)((?:[ \t]+\d+){6})[ \t]*$", stat, re.M):
        rows[int(m.group(1))] = dict(zip(names, map(int, m.group(2).split())))
    return rows


def vm_row(vms, name):
    """`vms`'s line for @name: (id, state, vcpus, cpus, MiB, exits)."""
    m = re.search(rf"^(\d+) +{re.escape(name)} +(\w+) +(\d+) +(0x[0-9a-f]+) +(\d+) MiB +(\d+) *$",
                  vms, re.M)
    assert m, vms
    return int(m.group(1)), m.group(2), int(m.group(3)), m.group(4), int(m.group(5)), int(m.group(6))


def test_riscv_shell_vms_stat_restart(rv_linux, rv_guests):
    """`vms` lists a Linux VM running and a bare-metal one that powered itself
    off, with their exits; `stat` counts them by RISC-V's exit reasons per
    vCPU; `restart` reboots Linux (boot 2) and `start` runs the powered-off
    VM again."""
    sbi = f"name=sbi,cpus=1,mem=64M,kernel={rv_guests / 'sbi.elf'}"
    k = rv_linux([("linux", 2)], smp=3, more=("--vm", sbi))
    wait_all(k, [r"\[linux\] KEEL-GUEST-READY", r"\[sbi\] SUMMARY: \d+ passed, 0 failed",
                 r"vm sbi: powered off"])
    focus(k, "k", "the Keel shell")
    k.expect("keel> ")
    vms = shell_cmd(k, "vms")
    assert vm_row(vms, "linux")[:5] == (0, "running", 2, "0x3", 512), vms
    assert vm_row(vms, "sbi")[:5] == (1, "off", 1, "0x4", 64), vms
    assert vm_row(vms, "linux")[5] > 0 and vm_row(vms, "sbi")[5] > 0, vms

    stat = shell_cmd(k, "stat linux")
    assert re.search(r"^vm linux: running, boot 1, RAM at IPA 0x80000000,", stat, re.M), stat
    rows = exit_rows(stat)
    assert sorted(rows) == [0, 1], stat
    # vCPU 0 started vCPU 1 (HSM) and drives the UART; both take SBI calls (IPIs, fences).
    assert all(r["sbi"] > 0 for r in rows.values()), stat
    assert rows[0]["mmio"] > 0 and rows[0]["injected"] > 0, stat
    total = sum(sum(v for n, v in r.items() if n != "injected") for r in rows.values())
    assert total >= vm_row(vms, "linux")[5], f"{stat}\n{vms}"
    stat = shell_cmd(k, "stat sbi")
    assert re.search(r"^vm sbi: off, boot 1,", stat, re.M), stat
    rows = exit_rows(stat)
    assert sorted(rows) == [0] and rows[0]["sbi"] > 100, stat

    k.send("restart linux\r")
    k.expect(r"vm linux: restarting \(boot 2\)", 60)
    k.expect(r"\[linux\] KEEL-GUEST-READY", 180)
    assert re.search(r"^vm linux: running, boot 2,", shell_cmd(k, "stat linux"), re.M)
    k.send("start sbi\r")
    k.expect(r"vm sbi: restarting \(boot 2\)", 60)
    k.expect(r"\[sbi\] SUMMARY: \d+ passed, 0 failed", 120)
    k.expect(r"vm sbi: powered off", 30)
    focus(k, "0", "linux")
    GuestShell(k).start("echo back-$((6*7)) $(nproc)")
    k.expect(r"\[linux\] back-42 2")
    assert not KEEL_FATAL.search(k.output)


def test_riscv_shell_stop_and_start(rv_linux):
    """`stop` stops a Linux VM (no exits while stopped), `start` boots it
    again from its images (boot 2) and refuses a running one."""
    k = rv_linux([("linux", 1)], smp=1)
    GuestShell(k).wait_ready(timeout=180)
    focus(k, "k", "the Keel shell")
    k.expect("keel> ")
    k.send("stop linux\r")
    k.expect(r"vm linux: stopped")
    k.expect("keel> ")
    vms = shell_cmd(k, "vms")
    assert vm_row(vms, "linux")[1] == "stopped", vms
    quiet = k.read_for(2)
    assert not quiet.strip(), f"the stopped VM printed:\n{quiet}"
    assert vm_row(shell_cmd(k, "vms"), "linux")[5] == vm_row(vms, "linux")[5], "exits while stopped"
    k.send("start linux\r")
    k.expect(r"vm linux: restarting \(boot 2\)", 60)
    k.expect("KEEL-GUEST-READY", 180)
    assert "vm linux is running already" in shell_cmd(k, "start linux")
    assert re.search(r"^vm linux: running, boot 2,", shell_cmd(k, "stat linux"), re.M)
    focus(k, "0", "linux")
    sh = GuestShell(k)
    sh.keel.send("\r")
    sh.wait_prompt()
    assert sh.run("echo again-$((6*7))").strip() == "again-42"
    assert not KEEL_FATAL.search(k.output)


# ---- passthrough ----------------------------------------------------------------

# QEMU riscv virt's virtio-mmio transports: 0x10001000..0x10008000 (PLIC sources
# 1..8); the first -device fills the highest.
RV_DISK_SLOT = "/soc/virtio_mmio@10008000"


def test_riscv_keel_run_places_linux_image_by_its_header(tmp_path):
    """keel-run knows a RISC-V Linux Image (RSC\\x05 at 0x38): no keel,load, so
    Keel puts it text_offset above wherever the VM's RAM is (identity, ipa-base);
    a raw file still gets the default load address."""
    image = bytearray(2 << 20)
    image[0x08:0x10] = (0x200000).to_bytes(8, "little")
    image[0x38:0x3c] = b"RSC\x05"
    (tmp_path / "Image").write_bytes(image)
    (tmp_path / "raw").write_bytes(b"\x13\x00\x00\x00" * 16)
    res = subprocess.run([sys.executable, str(KEEL_RUN), *RV_ARGS, "--dry-run", "--smp", "2",
                          "--vm", f"name=lin,identity=on,mem=256M,kernel={tmp_path / 'Image'}",
                          "--vm", f"name=raw,mem=64M,kernel={tmp_path / 'raw'}"],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    dts = open(re.search(r"^# dts: (.*)$", res.stdout, re.M).group(1)).read()
    vms = dict(re.findall(r'keel,name = "(\w+)";(.*?)\n\t\t\};', dts, re.S))
    assert "keel,load" not in vms["lin"], vms["lin"]
    assert "keel,load = <0x0 0x80200000>;" in vms["raw"], vms["raw"]


def test_riscv_passthrough_disk_belongs_to_one_vm(rv_linux, tmp_path):
    """A virtio-mmio transport with a virtio-blk disk behind it, passed
    through to one Linux VM (identity-mapped RAM: the device DMAs to
    host-physical addresses): Linux drives it as /dev/vda (every request
    completes through the host PLIC source Keel forwards to the vPLIC and
    completes when the guest does), also after a restart; the other VM has no
    such device: at its address it reads its own empty slot (DeviceID 0)."""
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(16 << 20)
    mkfs = shutil.which("mkfs.minix") or "/sbin/mkfs.minix"  # util-linux, Essential in Debian
    subprocess.run([mkfs, str(disk)], check=True, capture_output=True)
    with open(disk, "r+b") as f:
        f.seek(8 << 20)
        f.write(b"KEEL-DISK-MARKER")
    k = rv_linux([("disk", 1, f"identity=on,passthrough={RV_DISK_SLOT}"), ("other", 1)],
                 smp=2, vm_mem="256M", more=("--disk", str(disk)))
    # Both shells up, and the other VM's banner out: lines it prints while
    # the command is typed split the echo with "[other] " tags (CI saw it).
    wait_ready(k, ["disk", "other"])
    shell = GuestShell(k)
    # The raw sector the host wrote, read through the passed-through device.
    shell.start("dd if=/dev/vda bs=1M skip=8 count=1 2>/dev/null | head -c 16; echo")
    k.expect(r"\[disk\] KEEL-DISK-MARKER")
    shell.start("mkdir -p /mnt && mount -t minix /dev/vda /mnt && echo hi>/mnt/f")
    shell.start("umount /mnt && mount -t minix /dev/vda /mnt && cat /mnt/f")
    k.expect(r"\[disk\] hi\r*\n")
    # 4 MiB out and back in: many requests, each one interrupt.
    shell.start("dd if=/dev/urandom of=/mnt/big bs=64k count=64 2>/dev/null")
    shell.start("sync; md5sum /mnt/big")
    written = k.expect(r"\[disk\] ([0-9a-f]{32})  /mnt/big").group(1)
    shell.start("umount /mnt && echo 3 >/proc/sys/vm/drop_caches")
    shell.start("mount -t minix /dev/vda /mnt && md5sum /mnt/big")
    assert k.expect(r"\[disk\] ([0-9a-f]{32})  /mnt/big").group(1) == written
    shell.start("umount /mnt && grep virtio0 /proc/interrupts")
    irqs = int(k.expect(r"\[disk\]\s+\d+:\s+(\d+)\s+.*PLIC\s+8 .*virtio0").group(1))
    assert irqs > 20, f"{irqs} interrupts from the disk"
    # The other VM has no such device: at its address, its own empty slot (DeviceID 0).
    focus(k, "n", "other")
    shell.start("ls /sys/block | grep -c vd; echo listed")
    k.expect(r"\[other\] 0\r*\n")
    shell.start("devmem 0x10008000 32; devmem 0x10008008 32")
    k.expect(r"\[other\] 0x74726976\r*\n\[other\] 0x00000000\r*\n")
    # A restart hands the device to the new boot: its interrupt is forwarded again.
    focus(k, "k", "the Keel shell")
    k.expect("keel> ")
    k.send("restart disk\r")
    k.expect(r"vm disk: restarting \(boot 2\)", 60)
    k.expect(r"\[disk\] KEEL-GUEST-READY", 180)
    focus(k, "0", "disk")
    shell.start("mkdir -p /mnt && mount -t minix /dev/vda /mnt && md5sum /mnt/big")
    assert k.expect(r"\[disk\] ([0-9a-f]{32})  /mnt/big").group(1) == written
    shell.start("umount /mnt && echo unmounted")
    k.expect(r"\[disk\] unmounted")
    assert not KEEL_FATAL.search(k.output)
    with open(disk, "rb") as f:
        assert b"hi\n" in f.read(), "the guest's write did not reach the host disk"


# ---- U-Boot --------------------------------------------------------------------

def test_riscv_uboot_smode_lists_keel_sbi(keel):
    if not os.path.isfile(UBOOT_SMODE):
        pytest.skip(f"{UBOOT_SMODE} missing (Debian's u-boot-qemu)")
    k = keel(*RV_ARGS, "--smp", "2", "--mem", "1G",
             "--vm", f"name=uboot,cpus=1,mem=256M,kernel={UBOOT_SMODE},load=0x80200000",
             timeout=60)
    k.expect(r"=> ", timeout=60)
    k.send("sbi\r")
    m = k.expect(r"(?s)SBI (\d+\.\d+).*?Extensions:(.*?)=> ", timeout=30)
    assert m.group(1) == "2.0", m.group(0)
    exts = m.group(2)
    for name in ("Hart State Management", "System Reset", "IPI", "RFENCE", "Timer"):
        assert name in exts, f"{name} missing from U-Boot's sbi list:\n{exts}"

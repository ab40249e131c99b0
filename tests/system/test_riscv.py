"""Keel on RISC-V (HS-mode under OpenSBI, QEMU 10's riscv virt with the H
extension): the bare-metal RISC-V test guests (tests/guests/riscv64), each
checking one promise from inside a VM, alone and side by side; Debian's
riscv64 Linux with 1, 2 and 4 vCPUs and two Linux VMs at once; U-Boot's
S-mode build listing the SBI extensions Keel offers."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import (KEEL_FATAL, KEEL_RUN, LOG_DIR, REPO, TIMEOUT_SCALE, GuestShell, clean,
                      focus)

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
    doorbell each way, taken as the region's PLIC source 80 + id."""
    elf = rv_guests / "doorbell.elf"
    vms = [("left", elf, 1), ("right", elf, 1)]
    text, code, log = run_vms(vms, "riscv-doorbell.log", smp=2,
                              args=("--shmem", "name=ring,size=64K"), keys="shmem=ring")
    for name, peer in (("left", "right"), ("right", "left")):
        check_guest(text, code, log, name, several=True)
        out = vm_stream(text, name)
        assert "FAIL" not in out, f"{name} (see {log}):\n{out}"
        assert f"own name from the root's model: 'keel,{name}'" in out, out
        assert f"message from the peer: 'hello from {peer}'" in out, out
        assert re.search(r"PASS: doorbells received: [1-9]\d*, each claimed as source 80", out), out


# ---- Linux --------------------------------------------------------------------

@pytest.fixture
def rv_linux(keel):
    for f in ("Image", "initramfs.cpio.gz"):
        if not (RV_GUESTS / f).is_file():
            pytest.skip(f"{RV_GUESTS / f} missing (run scripts/fetch-guests.sh --arch riscv64)")

    def start(vms, smp=4, mem="2G", more=()):
        args = [*RV_ARGS, "--smp", str(smp), "--mem", mem, *more]
        for name, cpus in vms:
            args += ["--vm", f"name={name},cpus={cpus},mem=512M,kernel={RV_GUESTS / 'Image'},"
                             f"initrd={RV_GUESTS / 'initramfs.cpio.gz'},"
                             "bootargs=console=ttyS0 earlycon=sbi"]
        return keel(*args, timeout=120)

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

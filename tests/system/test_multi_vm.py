"""Several VMs side by side: console multiplexer, Keel shell, lifecycle,
passthrough and rejected configurations (the partitioning issue)."""
import re
import shutil
import subprocess

import pytest

from conftest import GuestShell, clean, linux_vm_spec, KEEL_FATAL, focus, free_pages, shell_cmd




SHELL_BANNER = "Enter 'help' for a list of built-in commands."


def wait_each(proc, names, *markers, timeout=120):
    """Waits until every named VM printed each of @markers (any order).

    The VM with input focus writes straight through, so another VM's whole
    line can cut one of its lines in two, each piece tagged ("[a] K", "[b]
    ...", "[a] EEL-GUEST-READY"): each VM's pieces are joined into one stream
    and the markers are looked for there."""
    streams = {n: "" for n in names}
    pending = set(names)
    while pending:
        proc.expect(r"\r?\n", timeout)
        line = clean(proc.child.before)
        for n in names:
            tag = f"[{n}] "
            if line.startswith(tag):
                streams[n] += line[len(tag):]
                if all(m in streams[n] for m in markers):
                    pending.discard(n)


def wait_ready(proc, names, timeout=120):
    """Waits until every named VM printed its ready marker and its shell's
    banner, then lets the prompts out: the other VMs' late lines would
    split the echo of the first typed command (CI saw "[a] ip", "[b] Enter
    'help'...", "[a] a add")."""
    wait_each(proc, names, "KEEL-GUEST-READY", SHELL_BANNER, timeout=timeout)
    proc.read_for(1)


@pytest.mark.usefixtures("need_guest")
@pytest.mark.parametrize("gic", [3, 2], ids=["gicv3", "gicv2"])
def test_two_linux_vms_share_the_console(keel, gic):
    proc = keel("--smp", "4", "--gic", str(gic), "--vm", linux_vm_spec("a", cpus=2, mem="256M"),
                "--vm", linux_vm_spec("b", cpus=2, mem="256M"), timeout=120)
    wait_ready(proc, ["a", "b"])
    shell = GuestShell(proc)
    # Input goes to the first VM with a console; its lines carry its tag.
    shell.start("echo a-$((6*7)) nproc=$(nproc)")
    proc.expect(r"\[a\] a-42 nproc=2")
    focus(proc, "n", "b")
    shell.start("echo b-$((6*8)) nproc=$(nproc)")
    proc.expect(r"\[b\] b-48 nproc=2")
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    vms = shell_cmd(proc, "vms")
    assert re.search(r"^0\s+a\s+running\s+2\s+0x3\s+256 MiB", vms, re.M), vms
    assert re.search(r"^1\s+b\s+running\s+2\s+0xc\s+256 MiB", vms, re.M), vms
    stat = shell_cmd(proc, "stat b")
    assert re.search(r"vm b: running", stat), stat
    assert re.search(r"^0\s+\d+", stat, re.M) and re.search(r"^1\s+\d+", stat, re.M), stat
    assert not KEEL_FATAL.search(proc.output)


@pytest.mark.usefixtures("need_guest")
@pytest.mark.parametrize("gic", [3, 2], ids=["gicv3", "gicv2"])
def test_crashed_vm_restarts_without_leaking_memory(keel, gic):
    proc = keel("--smp", "2", "--gic", str(gic), "--vm", linux_vm_spec("a", cpus=1, mem="192M"),
                "--vm", linux_vm_spec("b", cpus=1, mem="192M"), timeout=120)
    wait_ready(proc, ["a", "b"])
    shell = GuestShell(proc)
    shell.start("echo c > /proc/sysrq-trigger")
    proc.expect(r"\[a\] .*Kernel panic", 60)
    # The other VM is unaffected.
    focus(proc, "n", "b")
    shell.start("echo still-alive")
    proc.expect(r"\[b\] still-alive")
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    before = free_pages(proc)
    for boot in range(2, 22):
        proc.send("restart a\r")
        proc.expect(rf"vm a: restarting \(boot {boot}\)", 60)
    after = free_pages(proc)
    assert after == before, f"restarting 20 times lost {before - after} pages"
    proc.expect(r"\[a\] KEEL-GUEST-READY", 90)
    focus(proc, "0", "a")
    GuestShell(proc).start("echo back-$((20+1))")
    proc.expect(r"\[a\] back-21")
    focus(proc, "1", "b")
    GuestShell(proc).start("echo b-still-alive")
    proc.expect(r"\[b\] b-still-alive")
    assert not KEEL_FATAL.search(proc.output)


@pytest.mark.usefixtures("need_guest")
def test_powered_off_vm_leaves_the_other_running(keel):
    proc = keel("--smp", "2", "--vm", linux_vm_spec("a", cpus=1, mem="192M"),
                "--vm", linux_vm_spec("b", cpus=1, mem="192M"), timeout=120)
    wait_ready(proc, ["a", "b"])
    GuestShell(proc).start("poweroff -f")
    proc.expect(r"vm a: powered off")
    focus(proc, "n", "b")
    GuestShell(proc).start("echo b-after-poweroff")
    proc.expect(r"\[b\] b-after-poweroff")
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    assert re.search(r"^0\s+a\s+off", shell_cmd(proc, "vms"), re.M)
    proc.send("start a\r")
    proc.expect(r"vm a: restarting \(boot 2\)")
    proc.expect(r"\[a\] KEEL-GUEST-READY", 90)


@pytest.mark.usefixtures("need_guest")
@pytest.mark.parametrize("gic", [3, 2], ids=["gicv3", "gicv2"])
def test_passthrough_disk_belongs_to_one_vm(keel, tmp_path, gic):
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(16 << 20)
    mkfs = shutil.which("mkfs.minix") or "/sbin/mkfs.minix"  # util-linux, Essential in Debian
    subprocess.run([mkfs, str(disk)], check=True, capture_output=True)
    with open(disk, "r+b") as f:
        f.seek(8 << 20)
        f.write(b"KEEL-DISK-MARKER")
    proc = keel("--smp", "4", "--gic", str(gic), "--disk", str(disk),
                "--vm", linux_vm_spec("disk", cpus=2, mem="256M", identity="on",
                                      passthrough="/virtio_mmio@a003e00"),
                "--vm", linux_vm_spec("other", cpus=1, mem="128M"), timeout=120)
    wait_ready(proc, ["disk", "other"])
    shell = GuestShell(proc)
    # The raw sector the host wrote, read through the passed-through device.
    shell.start("dd if=/dev/vda bs=1M skip=8 count=1 2>/dev/null | head -c 16; echo")
    proc.expect(r"\[disk\] KEEL-DISK-MARKER")
    shell.start("mkdir -p /mnt && mount -t minix /dev/vda /mnt && echo hi>/mnt/f")
    shell.start("umount /mnt && mount -t minix /dev/vda /mnt && cat /mnt/f")
    proc.expect(r"\[disk\] hi\r*\n")
    shell.start("umount /mnt && echo unmounted")
    proc.expect(r"\[disk\] unmounted")
    # The other VM has no such device: at its address, its own empty slot (DeviceID 0).
    focus(proc, "n", "other")
    shell.start("ls /sys/block | grep -c vd; echo listed")
    proc.expect(r"\[other\] 0\r*\n")
    shell.start("devmem 0x0a003e00 32; devmem 0x0a003e08 32")
    proc.expect(r"\[other\] 0x74726976\r*\n\[other\] 0x00000000\r*\n")
    with open(disk, "rb") as f:
        assert b"hi\n" in f.read(), "the guest's write did not reach the host disk"


BAD_VMS = r"""
/ {
    chosen {
        %(nodes)s
    };
};
"""

# (node body, the reason Keel must give)
BAD_CASES = {
    "too-many-cpus": ("cpus = <9>; memory = <0x0 0x4000000>;", "cpus must be 1..8"),
    "no-memory": ("cpus = <1>;", r"no memory size"),
    "empty-affinity": ("cpus = <1>; keel,cpu-affinity = <0x0>; memory = <0x0 0x4000000>; "
                       "%(module)s", "keel,cpu-affinity is empty"),
    "missing-cpus": ("cpus = <1>; keel,cpu-affinity = <0x100>; memory = <0x0 0x4000000>;",
                     "CPUs this machine does not have"),
    "huge": ("cpus = <1>; keel,cpu-affinity = <0x4>; memory = <0x1 0x0>; %(module)s",
             "not enough free memory"),
    "no-kernel": ("cpus = <1>; keel,cpu-affinity = <0x4>; memory = <0x0 0x4000000>;",
                  "no multiboot,kernel module"),
    "module-outside-ram": ("cpus = <1>; keel,cpu-affinity = <0x4>; memory = <0x0 0x4000000>; "
                           "%(module_far)s", "a module lies outside RAM"),
    "keel-uart": ("cpus = <1>; keel,cpu-affinity = <0x4>; memory = <0x0 0x4000000>; "
                  "keel,passthrough = \"/pl011@9000000\"; %(module)s",
                  "overlaps Keel's own UART"),
    "no-such-device": ("cpus = <1>; keel,cpu-affinity = <0x4>; memory = <0x0 0x4000000>; "
                       "keel,passthrough = \"/nothing@0\"; %(module)s", "does not exist"),
    "ipa-on-devices": ("cpus = <1>; keel,cpu-affinity = <0x4>; memory = <0x0 0x4000000>; "
                       "keel,ipa-base = <0x0 0x8000000>; %(module)s", "keel,ipa-base puts RAM over"),
    "oversize-kernel": ("cpus = <1>; keel,cpu-affinity = <0x4>; memory = <0x0 0x1000000>; "
                        "%(module_linux)s", "do not fit"),
}


@pytest.mark.usefixtures("need_guest")
def test_bad_configurations_are_rejected_and_the_rest_boot(keel, tmp_path):
    # A valid VM first (cpu 0); its kernel module's address is reused below.
    dry = subprocess.run(["tools/keel-run", "--dry-run", "--smp", "4",
                          "--vm", linux_vm_spec("good", cpus=1, mem="256M")],
                         capture_output=True, text=True, check=True)
    dts = open(re.search(r"# dts: (\S+)", dry.stdout).group(1)).read()
    kernel = re.search(r"module@([0-9a-f]+) \{\s*compatible = \"multiboot,kernel\"[^}]*?"
                       r"reg = <([^>]+)>", dts)
    reg = kernel.group(2)
    module = ('module@0 { compatible = "multiboot,kernel", "multiboot,module"; '
              'reg = <0x0 0x40000000 0x0 0x1000>; keel,load = <0x0 0x40080000>; };')
    module_far = ('module@0 { compatible = "multiboot,kernel", "multiboot,module"; '
                  'reg = <0x10 0x0 0x0 0x1000>; };')
    module_linux = ('module@0 { compatible = "multiboot,kernel", "multiboot,module"; '
                    f'reg = <{reg}>; }};')
    nodes = []
    for i, (name, (body, _)) in enumerate(BAD_CASES.items()):
        body = body % {"module": module, "module_far": module_far, "module_linux": module_linux}
        nodes.append(f'vm@{0x10 + i:x} {{ compatible = "keel,vm"; #address-cells = <2>; '
                     f'#size-cells = <2>; keel,name = "{name}"; {body} }};')
    extra = tmp_path / "bad.dts"
    extra.write_text(BAD_VMS % {"nodes": "\n        ".join(nodes)})
    proc = keel("--smp", "4", "--no-check", "--dts-append", str(extra),
                "--vm", linux_vm_spec("good", cpus=1, mem="256M"), timeout=120)
    proc.expect(r"\[good\] KEEL-GUEST-READY|KEEL-GUEST-READY", 120)
    out = proc.output
    for i, (name, (_, reason)) in enumerate(BAD_CASES.items()):
        line = re.search(rf"^.*cpu\d error: .*\({re.escape(name)}\).*$|"
                         rf"^.*cpu\d error: vm {re.escape(name)}: .*$", out, re.M)
        assert line, f"no error line names VM {name}:\n{out[-3000:]}"
        assert re.search(reason, out), f"VM {name}: expected {reason!r}:\n{out[-3000:]}"
    assert "vm good: starting" in out
    assert not KEEL_FATAL.search(out)
    shell = GuestShell(proc)
    shell.start("echo good-vm-alive")
    proc.expect(r"good-vm-alive\r*\n")


@pytest.mark.usefixtures("need_guest")
def test_guest_ram_at_a_chosen_ipa_base(keel):
    """keel,ipa-base moves guest RAM; the guest DT and Linux follow it."""
    proc = keel("--smp", "2", "--vm", linux_vm_spec("high", cpus=1, mem="256M",
                                                   **{"ipa-base": "0x80000000"}), timeout=120)
    proc.expect(r"vm high: starting, 1 vCPU on CPUs 0x1, 256 MiB, entry 0x80000000")
    shell = GuestShell(proc).wait_ready()
    out = shell.run("grep -i 'system ram' /proc/iomem")
    assert re.search(r"80000000-8fffffff : System RAM", out), out

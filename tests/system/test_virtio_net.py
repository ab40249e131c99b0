"""Keel's virtual networks (keel-run net=NAME, keel,net): a virtio-net port
per VM on a named network of Keel's L2 switch. Two Linux VMs on one network
ping each other both ways and move 64 MiB through nc with matching
checksums; a third VM on another network reaches neither; the shell's
`dev` counts the traffic. And the virtio-console port (hvc=on): hvc0 in
Linux, its output tagged on Keel's console, input reaching it with focus."""
import re
import time

import pytest

from conftest import GuestShell, KEEL_FATAL, clean, focus, linux_vm_spec, shell_cmd
from test_multi_vm import wait_ready
from test_riscv import RV_ARGS, RV_GUESTS

TRANSFER_MIB = 16


def net_up(sh, tag, addr):
    out = sh.run(f"ip a add {addr}/24 dev eth0 && ip l set eth0 up && echo up-{tag}")
    assert f"up-{tag}" in out, out


def ping(sh, addr, count=3):
    out = sh.run(f"ping -c {count} -W 2 {addr}", timeout=30)
    m = re.search(r"(\d+) packets transmitted, (\d+) packets received", out)
    assert m, out
    return int(m.group(2))


def dev_row(dev, vm_type="virtio-net"):
    m = re.search(rf"^\d+\s+{vm_type}\s+slot (\d+)\s+(0x\w+)\s+(.*)$", dev, re.M)
    assert m, dev
    return m.group(1), m.group(2), dict(kv.split("=", 1) for kv in m.group(3).split())


@pytest.mark.usefixtures("need_guest")
def test_two_vms_on_one_network_and_one_apart(keel):
    proc = keel("--smp", "3", "--mem", "2G",
                "--vm", linux_vm_spec("a", cpus=1, mem="384M", net="lan"),
                "--vm", linux_vm_spec("b", cpus=1, mem="384M", net="lan"),
                "--vm", linux_vm_spec("c", cpus=1, mem="256M", net="other"), timeout=180)
    wait_ready(proc, ["a", "b", "c"])
    sh = GuestShell(proc)
    out = sh.run("cat /sys/class/net/eth0/address")
    assert "02:4b:45:4c:00:01" in out, out
    net_up(sh, "a", "10.0.0.1")
    focus(proc, "n", "b")
    net_up(sh, "b", "10.0.0.2")
    assert ping(sh, "10.0.0.1") == 3
    focus(proc, "n", "c")
    net_up(sh, "c", "10.0.0.3")
    # Another network: no answer, not even to ARP.
    assert ping(sh, "10.0.0.1", count=2) == 0
    assert ping(sh, "10.0.0.2", count=2) == 0
    focus(proc, "0", "a")
    assert ping(sh, "10.0.0.2") == 3
    # 64 MiB from b to a through nc; both sides checksum what they moved.
    focus(proc, "1", "b")
    sh.start(f"nc -l -p 5000 | md5sum > /tmp/got; echo b-done")
    focus(proc, "0", "a")
    sh.run(f"dd if=/dev/urandom of=/tmp/x bs=1M count={TRANSFER_MIB} 2>/dev/null", timeout=60)
    out = sh.run("md5sum /tmp/x", timeout=30)
    want = re.search(r"\b([0-9a-f]{32})\b", out).group(1)
    t0 = time.monotonic()
    sh.run("nc 10.0.0.2 5000 < /tmp/x; echo a-sent", timeout=240)
    print(f"{TRANSFER_MIB} MiB through nc in {time.monotonic() - t0:.1f} s")
    focus(proc, "1", "b")
    out = sh.run("sleep 1; cat /tmp/got")
    assert want in out, f"sent {want}, received {out!r}"
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    slot, addr, a = dev_row(shell_cmd(proc, "dev a"))
    assert (slot, addr) == ("31", "0xa003e00")
    assert a["net"] == "lan" and a["mac"] == "02:4b:45:4c:00:01", a
    assert int(a["tx_bytes"]) >= TRANSFER_MIB << 20, a
    _, _, c = dev_row(shell_cmd(proc, "dev c"))
    assert c["net"] == "other" and int(c["rx"]) == 0, c
    assert not KEEL_FATAL.search(proc.output)


@pytest.mark.usefixtures("need_guest")
def test_virtio_console_is_hvc0(keel):
    proc = keel("--smp", "1", "--vm",
                linux_vm_spec("l", cpus=1, mem="256M", hvc="on"), timeout=90)
    sh = GuestShell(proc).wait_ready()
    out = sh.run("ls /sys/class/tty | grep hvc0; echo hvc-from-linux > /dev/hvc0")
    assert "hvc0" in out, out
    assert re.search(r"^\[l/hvc\] hvc-from-linux", clean(proc.output), re.M), out
    # Focus on the hvc port: what is typed there reaches /dev/hvc0.
    sh.start("head -c 6 /dev/hvc0 > /tmp/in; echo got-$(cat /tmp/in)")
    focus(proc, "n", "l/hvc")
    proc.send("hello!\r")
    proc.expect(r"\[l\] got-hello!", 20)  # the tty echoes on hvc0; the result is on the UART
    focus(proc, "0", "l")
    focus(proc, "k", "the Keel shell")
    proc.expect("keel> ")
    _, _, row = dev_row(shell_cmd(proc, "dev l"), "virtio-console")
    assert row["port"] == "hvc0" and int(row["in"]) == 7 and int(row["out"]) >= 15, row
    assert not KEEL_FATAL.search(proc.output)


def rv_linux_spec(name, **extra):
    spec = [f"name={name}", "cpus=1", "mem=256M", f"kernel={RV_GUESTS / 'Image'}",
            f"initrd={RV_GUESTS / 'initramfs.cpio.gz'}"]
    spec += [f"{k}={v}" for k, v in extra.items()]
    return ",".join(spec + ["bootargs=console=ttyS0 earlycon=sbi"])


def test_riscv_network_and_hvc(keel):
    for f in ("Image", "initramfs.cpio.gz"):
        if not (RV_GUESTS / f).is_file():
            pytest.skip(f"{RV_GUESTS / f} missing (run scripts/fetch-guests.sh --arch riscv64)")
    proc = keel(*RV_ARGS, "--smp", "2", "--mem", "1G",
                "--vm", rv_linux_spec("a", net="lan", hvc="on"),
                "--vm", rv_linux_spec("b", net="lan", mac="52:54:00:12:34:56"), timeout=150)
    wait_ready(proc, ["a", "b"], timeout=150)
    sh = GuestShell(proc)
    net_up(sh, "a", "10.0.0.1")
    out = sh.run("echo rv-hvc > /dev/hvc0; grep virtio /proc/interrupts")
    # a's net port in the highest slot (PLIC source 8), its console port below.
    assert re.search(r"PLIC\s+8\s", out) and re.search(r"PLIC\s+7\s", out), out
    assert re.search(r"^\[a/hvc\] rv-hvc", clean(proc.output), re.M)
    focus(proc, "n", "a/hvc")
    focus(proc, "n", "b")
    out = sh.run("cat /sys/class/net/eth0/address")
    assert "52:54:00:12:34:56" in out, out
    net_up(sh, "b", "10.0.0.2")
    assert ping(sh, "10.0.0.1") == 3
    sh.run("dd if=/dev/urandom of=/tmp/x bs=1M count=4 2>/dev/null")
    want = re.search(r"\b([0-9a-f]{32})\b", sh.run("md5sum /tmp/x")).group(1)
    focus(proc, "0", "a")
    sh.start("nc -l -p 5000 | md5sum > /tmp/got")
    focus(proc, "1", "b")
    sh.run("nc 10.0.0.1 5000 < /tmp/x; echo sent", timeout=120)
    focus(proc, "0", "a")
    out = sh.run("sleep 1; cat /tmp/got")
    assert want in out, f"sent {want}, received {out!r}"
    assert not KEEL_FATAL.search(proc.output)

"""Isolation between VMs and inter-VM communication (the partitioning issue):
a guest that attacks what is not its own, and shared memory with doorbells."""
import re

import pytest

from conftest import GuestShell, built_test_guests, linux_vm_spec, KEEL_FATAL

ESC = "\x1d"


@pytest.fixture(scope="module")
def demo_guests():
    return built_test_guests("attack", "demo")


def sha256_of_blob(shell):
    out = shell.run("sha256sum /tmp/blob")
    return re.search(r"\b([0-9a-f]{64})\b", out).group(1)


@pytest.mark.usefixtures("need_guest")
def test_attacking_guest_is_contained(keel, demo_guests):
    proc = keel("--smp", "3",
                "--vm", linux_vm_spec("linux", cpus=2, mem="256M"),
                "--vm", f"name=attack,cpus=1,mem=64M,kernel={demo_guests / 'attack.elf'}",
                timeout=120)
    proc.expect(r"vm attack: powered off", 60)
    proc.expect(r"\[linux\] KEEL-GUEST-READY", 90)
    # Linux holds data whose checksum we know...
    shell = GuestShell(proc)
    shell.start("dd if=/dev/urandom of=/tmp/blob bs=1M count=16 2>/dev/null")
    shell.start("sha256sum /tmp/blob")
    before = proc.expect(r"\b([0-9a-f]{64})\b").group(1)
    # ...while the attacker runs again, now from the Keel shell.
    proc.send(ESC + "k")
    proc.expect("keel> ")
    proc.send("start attack\r")
    proc.expect(r"vm attack: restarting \(boot 2\)")
    summary = proc.expect(r"SUMMARY: (\d+) passed, (\d+) failed", 60)
    assert int(summary.group(2)) == 0 and int(summary.group(1)) >= 20, proc.output[-3000:]
    proc.expect(r"vm attack: powered off")
    out = proc.output
    for ipa in ("0x44000000", "0x80000000", "0xbe000000", "0xc000000", "0x8080000"):
        assert re.search(rf"vm attack vcpu 0: read at IPA {ipa}\b", out), ipa
        assert re.search(rf"vm attack vcpu 0: write at IPA {ipa}\b", out), ipa
    # The Linux VM next to it runs on, its memory intact.
    proc.send(ESC + "0")
    proc.expect(r"console input goes to linux")
    shell.start("sha256sum /tmp/blob")
    after = proc.expect(r"\b([0-9a-f]{64})\b").group(1)
    assert after == before, "the other VM's memory changed"
    assert not KEEL_FATAL.search(proc.output)


@pytest.mark.usefixtures("need_guest")
def test_shared_memory_and_doorbell_between_linux_and_bare_metal(keel, demo_guests):
    proc = keel("--smp", "3", "--shmem", "name=ring,size=64K",
                "--vm", linux_vm_spec("linux", cpus=2, mem="256M", shmem="ring"),
                "--vm", f"name=demo,cpus=1,mem=64M,kernel={demo_guests / 'demo.elf'},shmem=ring",
                timeout=120)
    proc.expect(r"\[demo\] demo demo: posted 'hello from demo' in mailbox 0, doorbell rang 1 peer",
                60)
    proc.expect(r"\[linux\] KEEL-GUEST-READY", 90)
    shell = GuestShell(proc)
    # Linux reads the demo's mailbox 0 (text at +0x104) with devmem (mmap of
    # /dev/mem: arm64's read() of /dev/mem only allows RAM).
    shell.start("for o in 0 4 8 12; do devmem $((0xb000104+o)) 32; done")
    words = [int(proc.expect(r"\[linux\] (0x[0-9A-Fa-f]{8})\r*\n").group(1), 16)
             for _ in range(4)]
    text = b"".join(w.to_bytes(4, "little") for w in words)
    assert text.startswith(b"hello from demo"), text
    # ...and answers in mailbox 1: "hi!" then the sequence number.
    shell.start("devmem 0xb000204 32 0x00216968; devmem 0xb000200 32 1; echo posted")
    proc.expect(r"\[linux\] posted")
    proc.expect(r"\[demo\] demo demo: message from peer: hi!", 30)
    # The demo's doorbells reached Linux's vGIC (Linux has no driver for them).
    proc.send(ESC + "k")
    proc.expect("keel> ")
    proc.send("stat linux\r")
    m = proc.expect(r"doorbells received (\d+)")
    assert int(m.group(1)) >= 1
    assert not KEEL_FATAL.search(proc.output)

#!/usr/bin/env python3
"""Writes the small committed seed corpora, tests/fuzz/<harness>/seeds/.

Each harness reads its input as a little program (see the harness's
comment); these seeds are short programs that reach the interesting states
quickly: a typical guest driver sequence, a VM configuration like the ones
keel-run writes, and so on. libFuzzer grows its own corpus from them in
build/fuzz/corpus/. Run from anywhere: python3 tests/fuzz/gen_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(*v):
    return bytes(x & 0xff for x in v)


def u16(v):
    return struct.pack("<H", v & 0xffff)


def u32(v):
    return struct.pack("<I", v & 0xffffffff)


def u64(v):
    return struct.pack("<Q", v & 0xffffffffffffffff)


def write(harness, name, data):
    d = os.path.join(HERE, harness, "seeds")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def esr_seeds():
    # esr, raw, register value, device value
    def rec(esr, raw=0, reg=0x8081828384858687, dev=0xfedcba9876543280):
        return u64(esr) + u32(raw) + u64(reg) + u64(dev)
    write("esr", "ldr-w1", rec(0x93810006))           # ldr w1, [x0] at stage 2
    write("esr", "ldrsb-x2", rec(0x93a28006 | 1 << 15, 1))
    write("esr", "str-x3", rec(0x93c30046 | 1 << 15))
    write("esr", "hvc-sys-brk", rec(0x5a000000) + rec(0x62000000 | 0x300000) + rec(0xf2000000, 77))


# vpl011: op (bit 7: raw offset), size index, offset (reg index + lane), value
VPL_REGS = [0x000, 0x004, 0x018, 0x020, 0x024, 0x028, 0x02c, 0x030, 0x034, 0x038, 0x03c,
            0x040, 0x044, 0x048, 0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc]
VPL_CTL = [0x02c, 0x030, 0x034, 0x038, 0x044, 0x004]


def vpl_rd(reg, size_idx=2):
    return u8(0, size_idx, VPL_REGS.index(reg), 0)


def vpl_wr(reg, val, size_idx=2):
    return u8(2, size_idx, VPL_REGS.index(reg), 0) + u64(val)


def vpl_ctl(reg, val):
    return u8(4, 2, 0, 0, VPL_CTL.index(reg)) + u32(val)


def vpl_rx(data):
    return u8(5, 0, 0, 0, len(data) - 1) + data


def vpl011_seeds():
    # Linux's probe and console setup: IDs, baud rate, FIFO on, interrupts unmasked.
    linux = b"".join(vpl_rd(0xfe0 + 4 * i) for i in range(8))
    linux += vpl_wr(0x024, 13) + vpl_wr(0x028, 1) + vpl_ctl(0x02c, 0x70)
    linux += vpl_ctl(0x030, 0x301) + vpl_ctl(0x038, 0x50) + vpl_wr(0x000, ord("A"))
    linux += vpl_rx(b"hello\n") + vpl_rd(0x03c) + vpl_rd(0x040)
    linux += b"".join(vpl_rd(0x000) for _ in range(7)) + vpl_rd(0x018)
    write("vpl011", "linux-probe", linux)
    # Loopback with the modem outputs toggled, then an overrun with the FIFO off.
    loop = vpl_ctl(0x030, 0x381) + vpl_wr(0x000, 0x55) + vpl_ctl(0x030, 0x3f81) + vpl_rd(0x03c)
    loop += vpl_ctl(0x030, 0x301) + vpl_rx(b"xy") + vpl_rd(0x004) + vpl_rd(0x000) + vpl_rd(0x000)
    write("vpl011", "loopback-overrun", loop)
    # Byte-lane accesses like earlycon's.
    write("vpl011", "byte-lanes", u8(2, 0, 0, 0) + u64(0x41) + u8(0, 1, 2, 1) + u8(0, 0, 9, 3))



# vns16550: op (bit 7: raw offset), offset byte (% 8), then per op: size index
# (0: 1 byte), value byte and top byte for writes; n-1 and bytes for input.
NS_CTL = [1, 2, 3, 4, 1, 2]


def ns_rd(off, size_idx=0):
    return u8(0, off, size_idx)


def ns_wr(off, val, size_idx=0):
    return u8(2, off, size_idx, val, 0)


def ns_rx(data):
    return u8(5, 0, len(data) - 1) + data


def vns16550_seeds():
    # Linux's autoconfig: IER probe, loopback MSR, EFR/FCR, IIR FIFO bits, the
    # variant probes, then startup's THRE and TX-enable tests and RX enabled.
    probe = ns_rd(1) + ns_wr(1, 0) + ns_rd(1) + ns_wr(1, 0x0f) + ns_rd(1) + ns_wr(1, 0)
    probe += ns_rd(4) + ns_rd(3) + ns_wr(4, 0x1a) + ns_rd(6) + ns_wr(4, 0)
    probe += ns_wr(3, 0xbf) + ns_wr(2, 0) + ns_wr(3, 0) + ns_wr(2, 1) + ns_rd(2)
    probe += ns_wr(3, 0x80) + ns_rd(2) + ns_wr(3, 0xbf) + ns_rd(2) + ns_wr(3, 0xe0) + ns_rd(2)
    probe += ns_wr(3, 0) + ns_wr(2, 0x21) + ns_rd(2) + ns_wr(2, 1) + ns_wr(1, 0x40) + ns_rd(1)
    probe += ns_wr(2, 7) + ns_wr(4, 0x10) + b"".join(ns_wr(0, i) for i in range(20))
    probe += ns_rd(5) + b"".join(ns_rd(0) for _ in range(17)) + ns_wr(4, 0) + ns_wr(2, 0)
    probe += ns_wr(1, 2) + ns_rd(2) + ns_wr(1, 0) + ns_wr(1, 2) + ns_rd(2) + ns_wr(1, 0)
    probe += ns_wr(4, 0x0b) + ns_wr(1, 5) + ns_wr(2, 0x81) + ns_rx(b"root\r") + ns_rd(2)
    probe += ns_rd(5) + b"".join(ns_rd(0) for _ in range(5)) + ns_rd(2)
    write("vns16550", "linux-probe", probe)
    # xv6: divisor, FIFO on, RX and TX interrupts; polled output, ISR reads, input.
    xv6 = ns_wr(1, 0) + ns_wr(3, 0x80) + ns_wr(0, 3) + ns_wr(1, 0) + ns_wr(3, 3) + ns_wr(2, 7)
    xv6 += ns_wr(1, 3) + ns_rd(2) + ns_rd(5) + ns_wr(0, ord("$")) + ns_rd(2)
    xv6 += ns_rx(b"ls\n") + ns_rd(2) + ns_rd(5) + ns_rd(0) + ns_rd(5) + ns_rd(0) + ns_rd(0)
    write("vns16550", "xv6", xv6)
    # Overrun in both modes, modem status through loopback, the line status interrupt.
    ovr = ns_wr(1, 0x0f) + ns_rx(b"ab") + ns_rd(2) + ns_rd(5) + ns_wr(2, 0xc1)
    ovr += ns_rx(bytes(range(20))) + ns_rd(2) + ns_rd(5) + ns_wr(4, 0x1f) + ns_rd(2) + ns_rd(6)
    ovr += ns_wr(4, 0x10) + ns_rd(6) + ns_wr(2, 0x43) + ns_rd(2)
    write("vns16550", "overrun-modem", ovr)
    # Accesses of the wrong sizes and outside the window.
    bad = ns_rd(0, 5) + ns_wr(0, 0x41, 6) + ns_rd(5, 7) + ns_rd(2, 8) + u8(0x80) + u16(0x100) + u8(0)
    write("vns16550", "bad-sizes", bad)


# vplic: layout, ndev choice, vCPUs, keep byte; then ops (op % 12): reads and
# writes take an offset (kind, context, operand) and a size index (0: 4 bytes);
# level and set_hw take bit 7 of the op as their flag (0x88 and 0x8a set it).
PL_NDEVS = [1, 2, 31, 32, 33, 63, 95, 127, 1023]


def pl_config(layout, ndev, vcpus):
    return u8(layout, PL_NDEVS.index(ndev), vcpus, 1)


def pl_rd_claim(ctx):
    return u8(0, 4, ctx, 0)                        # kind 4: claim/complete


def pl_wr(kind_bytes, val):
    return u8(2) + kind_bytes + u8(0, 1, val)      # value: fin_u8 % 9


def pl_prio(src, val):
    return pl_wr(u8(0, 0) + u16(src), val)


def pl_enable(ctx, word, val):
    return u8(2, 2, ctx, word, 0, 0) + u64(val)


def pl_threshold(ctx, val):
    return pl_wr(u8(0x84, ctx), val)               # kind 4 with bit 7: threshold


def pl_level(src, level):
    return u8(0x88 if level else 4) + u16(src)     # 0x88 % 12 == 4, bit 7: high


def pl_pulse(src):
    return u8(5) + u16(src)


def pl_guest(ctx):
    return u8(7, ctx, 0x09)                        # claim, complete what was claimed


def vplic_seeds():
    # Linux on 4 vCPUs, S-mode contexts: probe, a level line, claim loop, EOI.
    linux = pl_config(0, 95, 4)
    for c in range(4):
        linux += pl_threshold(c, 7)
    linux += b"".join(pl_prio(s, 1) for s in (1, 10, 33, 95))
    linux += b"".join(pl_threshold(c, 0) for c in range(4))
    linux += pl_enable(2, 0, 1 << 10) + pl_enable(0, 1, 1 << 1)
    linux += pl_level(10, True) + pl_guest(2) + pl_level(10, False) + pl_guest(2)
    linux += pl_pulse(33) + pl_guest(0) + pl_level(10, True) + pl_prio(10, 0) + pl_rd_claim(2)
    linux += pl_prio(10, 1) + pl_guest(2)
    write("vplic", "linux-4cpu", linux)
    # QEMU's layout as xv6 drives it, with a hardware-backed source and a reset.
    xv6 = pl_config(1, 95, 2) + pl_prio(10, 1) + pl_prio(1, 1)
    xv6 += pl_enable(3, 0, (1 << 10) | (1 << 1)) + pl_threshold(3, 0)
    xv6 += u8(0x8a) + u16(1) + pl_pulse(1) + pl_level(10, True) + pl_guest(3) + pl_guest(3)
    xv6 += pl_pulse(1) + pl_rd_claim(3) + pl_pulse(1) + u8(10)
    write("vplic", "xv6-m-and-s", xv6)
    # Every source and 32 contexts: priorities and enables at the ends, edges held in service.
    big = pl_config(0, 1023, 32) + pl_prio(1023, 7) + pl_prio(1, 3)
    big += pl_enable(31, 31, 1 << 31) + pl_enable(0, 0, 2) + pl_threshold(31, 6)
    big += pl_pulse(1023) + pl_pulse(1) + pl_rd_claim(31) + pl_pulse(1023) + pl_guest(31)
    big += pl_guest(0) + pl_guest(31)
    write("vplic", "1023-sources-32-contexts", big)

def smccc_seeds():
    # setup: nr_vcpus-1, ram base index, mem, v2, bhb, ssb, layout, powers x8
    setup = u8(3, 0, 16, 1, 0, 1, 0) + u8(2, 0, 0, 0, 0, 0, 0, 0)

    def call(vcpu, id_idx, args, how=1):
        # vcpu, how (low 2 bits set: pick from the table), id index, x0 upper?, 3 args, flip
        return u8(vcpu, how, id_idx, 0) + b"".join(args) + u64(0x1234)
    mpidr1 = u8(0, 1, 0)                   # MPIDR of vCPU 1
    entry = u8(1) + u32(0x80000)           # an address inside RAM
    ctx = u8(2, 0x42)
    # PSCI_VERSION, CPU_ON(1) 32 and 64 bit, AFFINITY_INFO, FEATURES, SMCCC_VERSION, doorbell
    seq = call(0, 0, [u8(2, 0)] * 3)
    seq += call(0, 3, [mpidr1, entry, ctx]) + call(0, 21, [mpidr1, entry, ctx])
    seq += call(1, 4, [mpidr1, u8(2, 0), u8(2, 0)]) + call(0, 10, [u8(2, 3), u8(2, 0), u8(2, 0)])
    seq += call(2, 26, [u8(2, 0)] * 3) + call(0, 27, [u8(4) + u64(0x80008000), u8(2, 0), u8(2, 0)])
    seq += call(0, 33, [u8(2, 1), u8(2, 0), u8(2, 0)]) + call(1, 2, [u8(2, 0)] * 3)
    write("smccc", "psci-boot", setup + seq)


GICD_REGS = [0x0, 0x4, 0x8, 0xc, 0x10, 0x80, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400,
             0x800, 0xc00, 0xd00, 0xe00, 0xf00, 0xf10, 0xf20, 0x6000, 0x6100, 0xffe8]
SIZES = [4, 4, 4, 8, 1, 2, 4, 8]


def vgic_step(op, vcpu, size_idx, rest=b""):
    return u8(op, vcpu, size_idx) + rest


def gicd_off(reg, idx):
    return u8(0, GICD_REGS.index(reg), idx)


def vgic_seeds():
    head = u8(0, 1, 3)                                  # Aff0 layout, 2 vCPUs, 4 LRs
    setup = vgic_step(0x1f, 0, 0, u8(3) + (u8(1, 1) + u32(0xffffffff)) * 3 + u32(0xffff) * 2)
    inject40 = vgic_step(6, 0, 0, u8(1, 0, 2 | (8 << 2)))  # SPI 40, edge
    flush0, ack0, eoi0 = vgic_step(11, 0, 0), vgic_step(13, 0, 0, u8(0)), vgic_step(14, 0, 0, u8(0))
    route1 = vgic_step(2, 0, 3, gicd_off(0x6100, 8) + u64(1))   # IROUTER40 -> vCPU 1
    level33 = vgic_step(7, 0, 0, u8(2 | (1 << 2), 1))           # SPI 33 line high
    read_pend = vgic_step(0, 1, 0, gicd_off(0x200, 1))
    sgi = vgic_step(10, 0, 0, u8(3) + u16(2) + u8(0))           # SGI 3 to vCPU 1
    flush1, ack1 = vgic_step(11, 1, 0), vgic_step(13, 1, 0, u8(0))
    cpend = vgic_step(2, 0, 0, gicd_off(0x280, 1) + u64(0xffffffff))
    write("vgic", "spi-life", head + setup + inject40 + flush0 + ack0 + route1 + inject40 +
          eoi0 + flush1 + level33 + read_pend + flush0 + ack0 + cpend + sgi + flush1 + ack1 +
          vgic_step(14, 1, 0, u8(0)) + vgic_step(0x8f, 1, 0))
    # Group disable with interrupts queued, then a GICR sweep of the SGI frame.
    gicr = b"".join(vgic_step(4, 0, 0, u8(0, f, i, 0)) for f in range(3) for i in range(20))
    write("vgic", "ctlr-gicr", head + setup + inject40 + level33 + vgic_step(2, 0, 0, gicd_off(0, 0) +
          u64(0)) + gicr + vgic_step(2, 1, 0, gicd_off(0, 0) + u64(2)))


V2_REGS = [0x000, 0x004, 0x008, 0x00c, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400,
           0x800, 0x820, 0xc00, 0xe00, 0xf00, 0xf10, 0xf20, 0xf30, 0xfe8, 0xfd0]


def v2_off(reg, idx):
    return u8(0, V2_REGS.index(reg), idx)


def v2_setup(nr_vcpus):
    """quick_setup: both groups on, three SPI words enabled and routed to vCPU 0, SGIs enabled."""
    spis = b"".join(u8(w, 1) + u32(0xffffffff) + u8(1) * 8 for w in range(3))
    return vgic_step(0x1f, 0, 0, u8(3) + spis + (u8(1) + u32(0xffff)) * nr_vcpus)


def vgicv2_seeds():
    setup = v2_setup(4)
    sgir = lambda v, how, lst: vgic_step(4, v, 0, u8(how, lst))  # how: filter | SGI << 4
    flush = lambda v: vgic_step(11, v, 0)
    ack = lambda v: vgic_step(13, v, 0, u8(0))
    eoi = lambda v: vgic_step(14, v, 0, u8(0))
    spi40 = u8(0x88)                                            # pick_spi: 32 + 8
    target40 = lambda v, t: vgic_step(10, v, 0, spi40 + u8(0, t))
    inject40 = vgic_step(6, 0, 0, spi40)
    read_spend = vgic_step(0, 0, 3, v2_off(0xf20, 5))           # SPENDSGIR, SGI 5's byte
    dir40 = vgic_step(5, 0, 0, u8(0, 2, 0, 0x88))               # GICC_DIR: CPUID 2, INTID 40
    ipi = sgir(1, 0x10, 1) + flush(0) + ack(0) + eoi(0) + sgir(0, 0x21, 0) + flush(1) + ack(1) + eoi(1)
    spi = (target40(0, 1) + inject40 + flush(0) + ack(0) + target40(1, 2) + inject40 + eoi(0) +
           flush(0) + flush(1) + ack(1) + dir40 + vgic_step(0x8f, 1, 0))
    write("vgicv2", "linux-ipi-spi", u8(3, 3) + setup + ipi + spi)
    # SGI 5 to vCPU 0 from vCPUs 1 and 2; one source cleared; both LRs' worth delivered.
    two = sgir(1, 0x50, 1) + sgir(2, 0x50, 1) + read_spend + vgic_step(2, 0, 3, v2_off(0xf10, 5) + u64(2))
    two += read_spend + flush(0) + ack(0) + eoi(0) + vgic_step(0x8f, 0, 0) + flush(0) + ack(0) + eoi(0)
    write("vgicv2", "sgi-two-sources", u8(2, 1) + v2_setup(3) + two)


# host_dt.c's program (see common/host_dt.c): a base board, then edits.
STRINGS = ["linux", "bare", "vm@0", "ring", "ring2", "", "shm",
           "a-name-longer-than-the-thirty-one-characters-kept",
           "/virtio_mmio@a000000", "/virtio_mmio@a000200", "/virtio_mmio@a000400",
           "/dev@10000000", "/dev@7fffff0000", "/dev@big", "dev0", "dev1", "serial0"]
PROPS = ["compatible", "cpus", "memory", "keel,name", "keel,cpu-affinity", "keel,console",
         "keel,identity", "keel,ipa-base", "keel,passthrough", "keel,shmem", "#address-cells",
         "#size-cells", "reg", "bootargs", "keel,load", "keel,entry", "size", "keel,ipa",
         "interrupts", "status", "keel,priority", "keel,time-slice-us"]
ADDR_40000000 = 9   # index in host_dt.c's addrs64[]
ADDR_0C000000 = 6


def board(ncpus=4, ram_gib=1):
    # cpus-1, k (one bank), bank sizes, then the six passthrough candidates as they are
    return u8(ncpus - 1, 0, ram_gib * 4 - 1, 0) + u8(0) * 6


def vm(name=None, cpus=None, mem_2m=32, console=True, kernel_at=0x10, kernel_2m=1):
    k = (1 if name is not None else 0) | (2 if cpus else 0) | (8 if console else 0)
    b = u8(0, k)
    if name is not None:
        b += u8(STRINGS.index(name))
    if cpus:
        b += u8(cpus - 1)
    b += u8(mem_2m - 1)
    # module: kernel, with reg and keel,load; base = RAM + kernel_at * 2 MiB
    b += u8(0, 4) + u8(0, kernel_at, kernel_2m * 32 - 1) + u8(ADDR_40000000)
    return b


def vm_prop(name, kind, value):
    return u8(3, PROPS.index(name), kind) + value


def strs(*names):
    return u8(len(names) - 1) + b"".join(u8(STRINGS.index(n)) for n in names) + u8(0xff)


def shmem(size_4k=16):
    return u8(2, 0, size_4k - 1)


def config_programs():
    pair = board() + shmem() + vm("linux", cpus=2, mem_2m=64) + vm_prop("keel,shmem", 4, strs("ring"))
    pair += vm("bare", kernel_at=0x40) + vm_prop("keel,shmem", 4, strs("ring"))
    pair += vm_prop("keel,passthrough", 4, strs("/virtio_mmio@a000000"))
    # identity, ipa-base, affinity, an alias, a device listed by two VMs
    odd = board(ncpus=8, ram_gib=2) + vm("vm@0", cpus=3) + vm_prop("keel,identity", 0, b"")
    odd += vm_prop("keel,cpu-affinity", 1, u8(5)) + vm_prop("keel,passthrough", 4, strs("dev0"))
    odd += vm(None, kernel_at=0x30) + vm_prop("keel,ipa-base", 3, u8(ADDR_0C000000))
    odd += vm_prop("keel,passthrough", 4, strs("/virtio_mmio@a000000", "/virtio_mmio@a000200"))
    # more modules than Keel keeps (16), spread over several VMs
    many = board()
    for i in range(6):
        many += vm(None, kernel_at=0x20 + 4 * i) + u8(6, 1, 0, 0, 0x21 + 4 * i, 3)
    return {"keel-run-pair": pair, "identity-alias-affinity": odd, "many-modules": many}


def cell(v):
    # random_prop() kind 1, one cell: pick_u32() reads a literal after a byte >= 0xe0
    return u8(0xe0) + u32(v)


def sharing_program():
    # two VMs on overlapping cores, one with more vCPUs than its cores, scheduling keys
    prog = board(ncpus=4) + vm("linux", cpus=3) + vm_prop("keel,cpu-affinity", 1, cell(0x3))
    prog += vm_prop("keel,priority", 1, cell(200)) + vm_prop("keel,time-slice-us", 1, cell(500))
    prog += vm("bare", kernel_at=0x40) + vm_prop("keel,cpu-affinity", 1, cell(0x6))
    return prog + vm(None, cpus=2, kernel_at=0x50)


def vm_config_seeds():
    for name, prog in config_programs().items():
        write("vm_config", name, u8(7) + prog)
    # the first byte's bit 6: an architecture that runs one vCPU per core
    write("vm_config", "shared-cores", u8(7) + sharing_program())
    write("vm_config", "shared-cores-refused", u8(0x47) + sharing_program())


def guest_dt_seeds():
    for name, prog in config_programs().items():
        write("guest_dt", "parser-" + name, u8(1) + prog)
    # straight: k (UART, bootargs), a name, 4 vCPUs, RAM size, bootargs, initrd, buffer size
    k = 0x20 | 0x80
    straight = u8(0, k, 4) + b"demo" + u8(4, 31) + u16(20) + b"console=ttyAMA0 quiet"[:20]
    straight += u64(0x48000000) + u8(1) + u32(0x100000) + u8(0) + u8(0xff)
    write("guest_dt", "straight-linux", straight)
    write("guest_dt", "straight-tiny-buffer", u8(0, 0x20, 1) + b"x" + u8(1, 0) + u8(0, 0x10))


# virtq: flags (bit 0 read-only, bits 1-2 capacity 64/63/1/0 sectors, bits
# 3-5 all set: an empty slot), a disk seed; then ops (op % 14). Registers by
# index into fuzz_virtq.c's regs[], sizes by index into its sizes[] (0: 4
# bytes); requests by index into its types[] (0 IN, 3 OUT, 6 FLUSH, 7 GET_ID,
# 9 DISCARD), sector and length in sectors as one byte each.
VQ_REGS = [0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044,
           0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0,
           0x0b4, 0x0b8, 0x0bc, 0x0c0, 0x0fc]


def vq_rd(reg, size_idx=0):
    return u8(0, 0, VQ_REGS.index(reg), size_idx)


def vq_wr(reg, val, size_idx=0):
    return u8(2, 0, VQ_REGS.index(reg), size_idx, 8) + u32(val)   # value kind 8: raw u32


def vq_probe(want_idx=0, num_log2=8, base=0):
    return u8(4, 0, want_idx, num_log2, base)                     # want 0: Linux's features


def vq_req(type_idx, sector, nsect, nseg=1, many=0, indirect=1, fill=0x5a):
    r = u8(5, type_idx, 0, sector, 0, nsect, many)
    return r + (u8(nseg - 1) if nsect else b"") + u8(indirect, fill)


def vq_get_id(length):
    return u8(5, 7, 0, 0, 170, length, 0) + (u8(0) if length else b"") + u8(1, 0)


def vq_batch(reqs):                                               # (type_idx, sector, nsect)
    return u8(7, len(reqs) - 1) + b"".join(u8(t, 0, sec, 0, n) for t, sec, n in reqs)


def vq_desc(slot, gpa_off, len_idx, flags, nxt):
    # not indirect; an address in chunks A/B; a length from lens[]
    return u8(100) + u16(slot) + u8(40, 0) + u16(gpa_off) + u8(0, len_idx, flags) + u16(nxt)


def vq_chain(descs, head):
    return u8(8, len(descs) - 1, 0) + b"".join(descs) + u16(head) + u8(0)


def virtq_seeds():
    linux = u8(0, 1) + vq_probe() + vq_req(0, 0, 8, 4) + vq_req(3, 3, 2, 2, indirect=0)
    linux += vq_req(0, 3, 2, 2) + vq_req(6, 0, 0) + vq_get_id(20) + u8(11, 1)
    linux += vq_batch([(0, 1, 1), (3, 5, 2), (0, 5, 2)]) + vq_rd(0x060) + u8(12)
    write("virtq", "linux-io", linux)
    ro = u8(1, 2) + vq_probe(0, 4, 3) + vq_req(3, 0, 1) + vq_req(0, 0, 1) + vq_req(9, 0, 1)
    ro += vq_req(0, 64, 1) + vq_req(0, 63, 2, 1, many=1)
    write("virtq", "read-only-edges", ro)
    loop = u8(0, 3) + vq_probe(0, 3, 0) + vq_chain([vq_desc(0, 0x100, 2, 1, 0)], 0)
    loop += vq_rd(0x070) + vq_rd(0x060) + u8(11, 1) + vq_probe()
    write("virtq", "hostile-loop", loop)
    bad = u8(0, 4) + vq_wr(0x070, 3) + vq_wr(0x024, 1) + vq_wr(0x020, 1) + vq_wr(0x070, 0xb)
    bad += vq_wr(0x038, 100) + vq_wr(0x080, 0x40010000) + vq_wr(0x090, 0x40011000)
    bad += vq_wr(0x0a0, 0x40012000) + vq_wr(0x044, 1) + vq_wr(0x070, 0xf) + vq_rd(0x044)
    write("virtq", "bad-queue", bad)
    storm = u8(4, 5) + vq_probe(1, 2, 31) + u8(10, 40) + bytes(40) + vq_req(0, 0, 1)
    storm += vq_req(0, 1, 1) + vq_get_id(33) + u8(0x8a) + vq_req(0, 0, 1)
    write("virtq", "storm-one-sector", storm)
    empty = u8(0x38, 0) + b"".join(vq_rd(r) for r in VQ_REGS) + vq_probe() + u8(13, 0, 0)
    write("virtq", "empty-slot", empty)


# virtio_net: flags (bits 1-3: peer ports 1-3 get a pinned address), then
# ops (op % 16). Frames: a length by index into fuzz_virtio_net.c's lens[]
# (4: 42, 5: 60, 8: 1514, 9: 1515, 11: 1518, 12: 1519), destination and
# source by index into its pool (0: the VM's address, 1-7 others; 8
# broadcast, 9 multicast, 10 reserved, 11 zero), tagged or not, a seed.
VN_LENS = [0, 6, 13, 14, 42, 60, 64, 590, 1514, 1515, 1516, 1518, 1519, 2000]


def vn_frame(len_idx, dst, src, tagged=0, seed=0):
    return u8(0, len_idx, dst, src, tagged, seed)


def vn_probe(want_idx=0, rnum_log2=8, tnum_log2=8):
    return u8(3, 0, want_idx, rnum_log2, tnum_log2, 0, 0)         # want 0: Linux-like, 1: MAC only


def vn_post(sizes, nseg=1):
    # sizes by index into rx sizes[] (0: 1530, 2: 1526, 5: 612, 6: 100, 8: 12)
    r = u8(7, len(sizes) - 1, 0)                                 # count, then direct
    for s in sizes:
        r += u8(0, s, nseg - 1) + (u16(6) + u8(200)) * (nseg - 1)  # cuts: 6 bytes, then the rest
    return r


def vn_tx_one(frame, hdr=b"\x00", nseg=1, indirect=0):
    # hdr: one byte < 200 for a clean header, or 200+ then flags, gso selector, num_buffers
    cuts = (u16(5) + u8(200)) * (nseg - 1)
    return u8(4, 0, 0, indirect) + frame + hdr + u8(100, nseg - 1) + cuts


def vn_deliver(frame):
    return u8(8) + frame


def vn_peer(port, frame):
    return u8(10, port - 1) + frame


def virtio_net_seeds():
    up = u8(0x0e) + vn_probe() + vn_post([0, 0, 0, 0])
    traffic = up + vn_tx_one(vn_frame(4, 8, 0)) + vn_peer(1, vn_frame(4, 0, 1))
    traffic += vn_peer(2, vn_frame(8, 0, 2, seed=3)) + vn_tx_one(vn_frame(8, 2, 0), nseg=3)
    traffic += vn_deliver(vn_frame(11, 0, 3, tagged=1)) + vn_deliver(vn_frame(5, 0, 3))
    traffic += vn_deliver(vn_frame(5, 0, 3, seed=9)) + vn_peer(3, vn_frame(6, 8, 3))
    traffic += u8(13, 1) + vn_post([0, 0]) + vn_tx_one(vn_frame(5, 9, 0), nseg=4, indirect=1)
    write("virtio_net", "linux-traffic", traffic)
    limits = u8(0x0e) + vn_probe() + vn_post([6, 8, 2, 5]) + vn_deliver(vn_frame(11, 0, 1, tagged=1))
    limits += vn_deliver(vn_frame(9, 0, 1)) + vn_deliver(vn_frame(8, 0, 1))
    limits += vn_deliver(vn_frame(2, 0, 1)) + vn_deliver(vn_frame(7, 0, 1))
    limits += vn_tx_one(vn_frame(2, 1, 0)) + vn_tx_one(vn_frame(3, 1, 0))
    limits += vn_tx_one(vn_frame(9, 1, 0)) + vn_tx_one(vn_frame(11, 1, 0, tagged=1))
    limits += vn_tx_one(vn_frame(12, 1, 0, tagged=1)) + vn_tx_one(vn_frame(5, 1, 0), u8(200, 1, 0, 0))
    limits += vn_tx_one(vn_frame(5, 1, 0), u8(200, 2, 200, 1, 0))
    write("virtio_net", "limits", limits)
    # transmitq1, one descriptor in the ring: 1530 bytes at A + 0x100, device-writable
    hostile = up + u8(11, 1, 0, 0) + u8(200) + u16(0) + u8(40, 0) + u16(0x100) + u8(0, 7, 2)
    hostile += u16(0) + u16(0) + u8(0) + vn_deliver(vn_frame(5, 0, 1)) + u8(0, 0, 15, 0)
    hostile += u8(14) + vn_probe()
    write("virtio_net", "hostile-tx", hostile)
    switch = u8(0x02) + vn_probe() + vn_post([0])
    switch += vn_peer(1, vn_frame(5, 8, 4)) + vn_peer(2, vn_frame(5, 4, 5)) + vn_peer(2, vn_frame(5, 0, 1))
    switch += vn_peer(3, vn_frame(5, 10, 6)) + vn_peer(3, vn_frame(5, 8, 9)) + u8(15, 1, 4)
    switch += vn_peer(1, vn_frame(5, 4, 6)) + u8(15, 0, 8) + vn_peer(2, vn_frame(5, 0, 0))
    switch += vn_peer(2, vn_frame(5, 8, 5)) + u8(0x8a, 0, 19, 0x40)     # port 1: 20 made-up sources
    switch += vn_peer(3, vn_frame(5, 5, 6)) + u8(15, 2, 9) + vn_peer(3, vn_frame(5, 8, 6))
    write("virtio_net", "switch-churn", switch)
    minimal = u8(0) + vn_probe(1, 2, 1) + vn_post([0, 0]) + vn_tx_one(vn_frame(4, 8, 0))
    minimal += vn_tx_one(vn_frame(4, 8, 0)) + vn_deliver(vn_frame(4, 0, 1)) + u8(13, 1)
    minimal += vn_deliver(vn_frame(4, 0, 1)) + vn_deliver(vn_frame(4, 0, 1)) + u8(0x8e)
    write("virtio_net", "minimal-driver", minimal)

if __name__ == "__main__":
    esr_seeds()
    vpl011_seeds()
    vns16550_seeds()
    vplic_seeds()
    smccc_seeds()
    vgic_seeds()
    vgicv2_seeds()
    vm_config_seeds()
    guest_dt_seeds()
    virtq_seeds()
    virtio_net_seeds()

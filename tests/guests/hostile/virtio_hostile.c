/*
 * virtio_hostile: a bare-metal guest that drives Keel's emulated
 * virtio-mmio transport and virtio-blk device (RAM disks, keel,disk
 * modules) directly, with no driver between it and the registers, and
 * hands them what a broken or hostile driver could: descriptors pointing
 * outside the VM, chains that loop, bad indirect tables, lengths that
 * wrap, queues set up against the spec, features never offered, requests
 * the device must refuse, and a storm of notifications. Each answer is
 * checked against what virtio 1.2 and Keel's headers (keel/virtio_mmio.h,
 * keel/virtq.h, keel/virtio_blk.h) promise:
 *  - a request the device can frame but not serve: a status byte
 *    (VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP), the queue going on;
 *  - a queue or chain that breaks the rules: nothing used, Status with
 *    DEVICE_NEEDS_RESET, the configuration change bit in InterruptStatus
 *    and the interrupt line up once DRIVER_OK was set (none before), no
 *    further request served; then a reset (Status = 0) clears Status,
 *    InterruptStatus, QueueReady and the line, and a clean
 *    re-initialisation reads the disk's known content again;
 *  - features never offered, or VIRTIO_F_VERSION_1 missing: FEATURES_OK
 *    stays clear, and nothing after it is accepted.
 * Data checks are against a pattern the system test writes into the disk
 * images (tests/system/test_virtio_hostile.py): 512-byte sectors of 64
 * little-endian words, word j of sector s being tag << 48 | s << 16 | j,
 * tag 0x5257 ("RW") on the first disk (read-write, 1 MiB) and 0x524f
 * ("RO") on the second (read-only, 64 KiB). Writes to the read-write disk
 * are put back before the case ends.
 *
 * Output: one line per case, "virtio-hostile: <case>: ok" or
 * "virtio-hostile: <case>: FAIL <first thing that was wrong>", then
 * "virtio-hostile: summary: N cases, M failed, B breaks". Breaking
 * cases are paced (PACE_US apart) so that each of Keel's rate-limited log
 * lines about a broken queue comes out and names its reason; the sweep
 * and the storm that follow are not, so the limit shows.
 *
 * With a network port (keel,net), the virtio-net cases follow the disks'
 * (virtio_hostile_net.inc, which says what they check).
 *
 * The storm: after the cases the guest prints "virtio-hostile: storm:
 * waiting" and waits for an 's' on its console; it then writes QueueNotify
 * as fast as it can (an idle live queue, a queue the device lacks, the
 * empty slot, a broken device), breaking and re-initialising the device
 * every STORM_ROUND notifications, until it reads an 'e' and has done at
 * least STORM_MIN notifications (the racer's included, below); with a
 * network port, it also sends broadcast frames, at least NET_STORM_MIN. The
 * VMs beside it do their disk I/O and move data over the network meanwhile.
 *
 * With a second vCPU, it runs a racer the whole time: QueueNotify on both
 * disks (and both queues of the network port) and reads of their
 * registers, in a loop, so that every case also
 * meets notifications from another CPU at any point (they cannot change
 * an answer the cases check: they can only make the device take a chain
 * a moment earlier, or look at a queue that is not live).
 *
 * The same source builds for AArch64 (tests/guests/hostile, libguest) and
 * for RISC-V (tests/guests/riscv64/virtio_hostile.c includes it); the
 * few differences (where the transports are, the interrupt controller,
 * the console's receive register) are at the top.
 */
#include <string.h>
#include "libguest.h"

/* ---- what differs between the architectures ---- */
#if defined(__aarch64__)
#define VH_ARCH "aarch64"
#define VH_DISK0 0x0a003e00UL      /* slot 31: Keel's first disk, as QEMU's virt fills its slots */
#define VH_STRIDE 0x200UL
#define VH_EMPTY_SLOT 0x0a000000UL /* slot 0: no disk there */
#define VH_KEEL_ADDR 0x40080000UL  /* where Keel itself is in host memory (KEEL_LINK_ADDR) */
/* Guest-physical addresses without RAM: 0, QEMU virt's GIC, UART, the slot window, PCIe. */
static const u64 vh_holes[] = { 0x0, 0x1000, 0x08000000, 0x08010000, 0x080a0000, 0x09000000,
                                0x09010000, 0x0a000000, VH_DISK0, 0x0c000000, 0x10000000,
                                0x3eff0000, 0x3f000000, 0x3ffffe00 };
/* slot 31 - n on SPI 16 + slot: INTID 32 + 16 + slot */
static u32 vh_line_of(unsigned int disk) { return 32 + 16 + 31 - disk; }
static inline void vh_wmb(void) { dsb(sy); }
static inline void vh_rmb(void) { dsb(sy); }
static u64 vh_now_us(void) { return ticks_to_us(cntvct()); }
static int vh_getc(void)
{
    if (readl(machine.uart_base + 0x18) & BIT(4)) /* UARTFR.RXFE */
        return -1;
    return (int)(readl(machine.uart_base) & 0xff);
}
static void vh_line_init(u32 line) { (void)line; }
/* A level SPI: pending in the distributor while the line is up (it is never enabled here). */
static bool vh_line_high(u32 line) { return gic_irq_pending(line); }
static bool vh_line_low(u32 line) { return !gic_irq_pending(line); }
static void vh_line_drain(u32 line) { (void)line; }
/* Keel refuses an access with a synchronous external abort at the address. */
static bool vh_fault_ok(const struct fault *f, u64 addr, bool store)
{
    (void)store;
    return ESR_EC(f->esr) == EC_DABT_CUR && f->far == addr;
}
/* @fn on the second vCPU, if the VM has one. */
static bool vh_start_racer(void (*fn)(void *))
{
    if (machine.nr_cpus < 2 || smp_boot(1) != PSCI_RET_SUCCESS)
        return false;
    on_cpu_async(1, fn, NULL);
    return true;
}
static bool vh_racer_done(void) { return cpu_idle_wait(1, 10000000); }
#elif defined(__riscv)
#define VH_ARCH "riscv64"
#define VH_DISK0 0x10008000UL      /* slot 7 */
#define VH_STRIDE 0x1000UL
#define VH_EMPTY_SLOT 0x10001000UL /* slot 0 */
#define VH_KEEL_ADDR 0x80200000UL
/* 0, the CLINT's place (not emulated), the PLIC, the UART, the slot window, PCIe */
static const u64 vh_holes[] = { 0x0, 0x1000, 0x02000000, 0x0c000000, 0x0c200000, 0x10000000,
                                0x10001000, VH_DISK0, 0x10100000, 0x30000000, 0x40000000,
                                0x7ffffe00 };
/* slot 7 - n on PLIC source 1 + slot */
static u32 vh_line_of(unsigned int disk) { return 1 + 7 - disk; }
static inline void vh_wmb(void) { __asm__ volatile("fence iorw, iorw" ::: "memory"); }
static inline void vh_rmb(void) { __asm__ volatile("fence iorw, iorw" ::: "memory"); }
static u64 vh_now_us(void) { return ticks_to_us(rdtime()); }
static int vh_getc(void)
{
    if (!(readb(uart_reg(UART_LSR)) & BIT(0))) /* LSR.DR */
        return -1;
    return readb(uart_reg(UART_RBR));
}
static u64 plic(u64 off) { return machine.plic_base + off; }
static int plic_ctx(void) { return machine.plic_context[hart_id()]; }
/* Priority 1, enabled in this hart's context: claimable (sie.SEIE stays clear: no trap). */
static void vh_line_init(u32 src)
{
    writel(plic(PLIC_PRIORITY(src)), 1);
    writel(plic(PLIC_ENABLE(plic_ctx(), src)),
           readl(plic(PLIC_ENABLE(plic_ctx(), src))) | (u32)BIT(src % 32));
}
static bool vh_pending(u32 src) { return readl(plic(PLIC_PENDING(src))) & BIT(src % 32); }
/* Claims and completes whatever is pending: a level source still up pends again. */
static void vh_line_drain(u32 src)
{
    (void)src;
    for (int i = 0; i < 8; i++) {
        u32 c = readl(plic(PLIC_CLAIM(plic_ctx())));
        if (!c)
            break;
        writel(plic(PLIC_CLAIM(plic_ctx())), c);
    }
}
/* The gateway latches a request: once drained, pending again only if the line is still up. */
static bool vh_line_high(u32 src) { return vh_pending(src); }
static bool vh_line_low(u32 src) { vh_line_drain(src); return !vh_pending(src); }
/* Keel refuses an access with a load or store access fault at the address. */
static bool vh_fault_ok(const struct fault *f, u64 addr, bool store)
{
    return f->scause == (store ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS) && f->stval == addr;
}
static unsigned long racer_hart;
static bool vh_start_racer(void (*fn)(void *))
{
    if (machine.nr_harts < 2)
        return false;
    racer_hart = machine.hartid[machine.hartid[0] == hart_id() ? 1 : 0];
    if (hart_boot(racer_hart))
        return false;
    on_hart_async(racer_hart, fn, NULL);
    return true;
}
static bool vh_racer_done(void) { return hart_idle_wait(racer_hart, 10000000); }
#else
#error "virtio_hostile: unknown architecture"
#endif

#define SZ_2M (2UL << 20)
#define SZ_4G (4UL << 30)

/* ---- virtio-mmio registers (virtio 1.2, 4.2.2) and status bits (2.1) ---- */
#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_VENDOR_ID 0x00c
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK 0x064
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DESC_HIGH 0x084
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW 0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_SHM_SEL 0x0ac
#define REG_SHM_LEN_LOW 0x0b0
#define REG_SHM_BASE_HIGH 0x0bc
#define REG_QUEUE_RESET 0x0c0
#define REG_CONFIG_GENERATION 0x0fc
#define REG_CONFIG 0x100
#define CONFIG_SIZE 60 /* struct virtio_blk_config up to unused1, as Keel fills it */

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VENDOR_KEEL 0x4c45454b

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64
#define S_NEGOTIATING (S_ACKNOWLEDGE | S_DRIVER)
#define S_FEATURES (S_NEGOTIATING | S_FEATURES_OK)
#define S_UP (S_FEATURES | S_DRIVER_OK)

#define INT_VRING 1
#define INT_CONFIG 2

/* Feature bits: virtio-blk's (5.2.3), then the reserved ones (chapter 6). */
#define F_BLK_SIZE_MAX 1
#define F_BLK_SEG_MAX 2
#define F_BLK_GEOMETRY 4
#define F_BLK_RO 5
#define F_BLK_BLK_SIZE 6
#define F_BLK_FLUSH 9
#define F_BLK_MQ 12
#define F_BLK_DISCARD 13
#define F_BLK_WRITE_ZEROES 14
#define F_INDIRECT_DESC 28
#define F_EVENT_IDX 29
#define F_VERSION_1 32
#define F_ACCESS_PLATFORM 33
#define F_RING_PACKED 34
#define F_IN_ORDER 35
#define FEAT_BASE (BIT(F_VERSION_1) | BIT(F_INDIRECT_DESC) | BIT(F_BLK_SEG_MAX) | \
                   BIT(F_BLK_BLK_SIZE) | BIT(F_BLK_FLUSH))

/* Descriptors (2.7.5) and ring flags (2.7.6). */
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
#define AVAIL_NO_INTERRUPT 1

/* virtio-blk requests (5.2.6). */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define SECTOR 512
#define QUEUE_NUM_MAX 256 /* what Keel's virtio-blk offers */
#define SEG_MAX 62        /* its seg_max: VIRTQ_MAX_SEGS - 2 */

/* What the system test puts in the images. */
#define RW_SECTORS 2048
#define RO_SECTORS 128
#define RW_TAG 0x5257
#define RO_TAG 0x524f
#define NEW_TAG 0x4e57 /* data a case writes, then puts back */

#define QSIZE 16          /* the queue size of a clean initialisation */
#define PACE_US 40000     /* between breaks while the cases run: under Keel's 32 lines a second */
#define STORM_MIN 100000  /* notifications at least */
#define STORM_ROUND 10000 /* notifications between breaks in the storm */
#define STORM_MAX_US (240UL * 1000000)
#define SIGNAL_MAX_US (300UL * 1000000)

/* ---- the rings: each disk has its own ---- */
struct vdesc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

struct vused_elem {
    u32 id;
    u32 len;
};

struct vused {
    u16 flags, idx;
    struct vused_elem ring[QUEUE_NUM_MAX]; /* then avail_event, at ring[size] */
};

struct vqmem {
    struct vdesc desc[QUEUE_NUM_MAX];                       /* Descriptor Area, 4 KiB */
    u16 avail[QUEUE_NUM_MAX + 3] __aligned(4096);           /* flags, idx, ring, used_event */
    struct vused used __aligned(4096);                      /* Device Area */
    u16 avail_event_room;                                   /* its avail_event at 256 entries */
    struct vdesc itable[80] __aligned(4096);                /* indirect tables */
    u8 hdr[32] __aligned(16);                               /* request header */
    u8 status[16] __aligned(16);                            /* status byte */
};

struct vdev {
    const char *name;
    unsigned int index;
    u64 base;
    u32 line;
    u64 sectors;
    u16 tag;
    bool ro;
    struct vqmem *q;
    /* the areas of the current initialisation: normally in *q */
    struct vdesc *desc;
    u16 *avail;
    struct vused *used;
    u32 qsel;          /* its queue: 0 on a disk; the network port has one struct per queue */
    u32 qsize;         /* of the current initialisation */
    bool quiet;        /* the driver asked for no used buffer notification (EVENT_IDX) */
    u16 avail_idx;     /* the driver's next available idx */
    u16 used_idx;      /* used entries taken */
    bool live;         /* DRIVER_OK was set in this initialisation */
};

static struct vqmem qmem[2] __aligned(4096);
static u8 data[80 * SECTOR] __aligned(4096);
static u8 data2[4 * SECTOR] __aligned(4096);
static struct vdev disks[2];
static u64 ram_end;
static volatile bool racing;
static volatile u64 racer_notifies; /* written by the racer alone */

static u64 pa(const volatile void *p)
{
    return (u64)(unsigned long)p;
}

/* ---- cases ---- */
static char case_name[96];
static bool case_failed;
static char case_why[240];
static unsigned int nr_cases, nr_failed, nr_breaks;
static bool pace = true;

static void __printf(1, 2) case_start(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(case_name, sizeof(case_name), fmt, ap);
    va_end(ap);
    case_failed = false;
    case_why[0] = 0;
}

/* Records the first thing that went wrong in the case; returns @cond. */
static bool __printf(2, 3) check(bool cond, const char *fmt, ...)
{
    va_list ap;

    if (cond || case_failed)
        return cond;
    case_failed = true;
    va_start(ap, fmt);
    vsnprintf(case_why, sizeof(case_why), fmt, ap);
    va_end(ap);
    return cond;
}

static void case_end(void)
{
    nr_cases++;
    if (case_failed) {
        nr_failed++;
        printf("virtio-hostile: %s: FAIL %s\n", case_name, case_why);
    } else {
        printf("virtio-hostile: %s: ok\n", case_name);
    }
}

/* ---- the transport ---- */
static u32 rd(const struct vdev *d, u32 off)
{
    vh_rmb();
    return readl(d->base + off);
}

static void wr(const struct vdev *d, u32 off, u32 v)
{
    vh_wmb(); /* the rings before the register write that makes the device look at them */
    writel(d->base + off, v);
}

static void wr64(const struct vdev *d, u32 low, u64 v)
{
    wr(d, low, (u32)v);
    wr(d, low + 4, (u32)(v >> 32));
}

static void dev_reset(struct vdev *d)
{
    wr(d, REG_STATUS, 0);
    d->live = false;
}

/* Status 0, ACKNOWLEDGE, DRIVER, @feat, FEATURES_OK: whether FEATURES_OK stuck. */
static bool negotiate(struct vdev *d, u64 feat)
{
    dev_reset(d);
    wr(d, REG_STATUS, S_ACKNOWLEDGE);
    wr(d, REG_STATUS, S_NEGOTIATING);
    wr(d, REG_DRIVER_FEATURES_SEL, 0);
    wr(d, REG_DRIVER_FEATURES, (u32)feat);
    wr(d, REG_DRIVER_FEATURES_SEL, 1);
    wr(d, REG_DRIVER_FEATURES, (u32)(feat >> 32));
    wr(d, REG_STATUS, S_FEATURES);
    return rd(d, REG_STATUS) & S_FEATURES_OK;
}

static void queue_regs(struct vdev *d, u32 num, u64 desc, u64 driver, u64 device)
{
    wr(d, REG_QUEUE_SEL, d->qsel);
    wr(d, REG_QUEUE_NUM, num);
    wr64(d, REG_QUEUE_DESC_LOW, desc);
    wr64(d, REG_QUEUE_DRIVER_LOW, driver);
    wr64(d, REG_QUEUE_DEVICE_LOW, device);
}

/* Zeroed rings of @qsize entries, the driver's indices at 0 (4.2.3.2). */
static void rings_clear(struct vdev *d, u32 qsize)
{
    memset(d->q, 0, sizeof(*d->q));
    vh_wmb();
    d->desc = d->q->desc;
    d->avail = d->q->avail;
    d->used = &d->q->used;
    d->quiet = false;
    d->qsize = qsize;
    d->avail_idx = d->used_idx = 0;
}

static void queue_regs_std(struct vdev *d, u32 qsize)
{
    queue_regs(d, qsize, pa(d->desc), pa(d->avail), pa(d->used));
}

/* A full, clean initialisation (3.1.1): whether the device is live. */
static bool dev_up_feat(struct vdev *d, u64 feat, u32 qsize)
{
    dev_reset(d); /* before the rings change under a live queue */
    rings_clear(d, qsize);
    if (!negotiate(d, feat))
        return false;
    queue_regs_std(d, qsize);
    wr(d, REG_QUEUE_READY, 1);
    if (rd(d, REG_QUEUE_READY) != 1)
        return false;
    wr(d, REG_STATUS, S_UP);
    d->live = rd(d, REG_STATUS) == S_UP;
    return d->live;
}

static bool dev_up(struct vdev *d)
{
    return dev_up_feat(d, FEAT_BASE, QSIZE);
}

/* ---- requests ---- */
static void desc_set(struct vdesc *t, unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
    WRITE_ONCE(t[i].addr, addr);
    WRITE_ONCE(t[i].len, len);
    WRITE_ONCE(t[i].flags, flags);
    WRITE_ONCE(t[i].next, next);
}

static void hdr_set(struct vdev *d, u32 type, u64 sector)
{
    u8 *h = d->q->hdr;

    memset(h, 0, sizeof(d->q->hdr));
    for (int i = 0; i < 4; i++)
        h[i] = (u8)(type >> (8 * i));
    for (int i = 0; i < 8; i++)
        h[8 + i] = (u8)(sector >> (8 * i));
    memset(d->q->status, 0xff, sizeof(d->q->status));
}

/* Puts @head in the next available ring entry (published by avail_publish()). */
static void avail_add(struct vdev *d, u16 head)
{
    WRITE_ONCE(d->avail[2 + d->avail_idx % d->qsize], head);
    d->avail_idx++;
}

static void avail_publish(struct vdev *d, u16 idx)
{
    vh_wmb(); /* the ring entries before idx (2.7.13) */
    WRITE_ONCE(d->avail[1], idx);
}

static void notify(struct vdev *d)
{
    wr(d, REG_QUEUE_NOTIFY, d->qsel);
}

static u16 used_idx_now(struct vdev *d)
{
    vh_rmb();
    return READ_ONCE(d->used->idx);
}

/* Takes the next used element, if there is one. */
static bool used_next(struct vdev *d, u32 *id, u32 *len)
{
    struct vused_elem e;

    if (used_idx_now(d) == d->used_idx)
        return false;
    vh_rmb();
    e = d->used->ring[d->used_idx % d->qsize];
    d->used_idx++;
    *id = e.id;
    *len = e.len;
    return true;
}

/*
 * The used buffer notification that goes with a completion (avail flags
 * 0): InterruptStatus bit 0 and the line; acknowledged, so the next
 * interrupt is seen afresh.
 */
static void take_vring_irq(struct vdev *d, bool want)
{
    u32 is = rd(d, REG_INTERRUPT_STATUS);

    check(!!(is & INT_VRING) == want, "InterruptStatus %#x after a completion (used buffer bit "
          "expected %s)", is, want ? "set" : "clear");
    check(!(is & INT_CONFIG), "InterruptStatus %#x: configuration change bit on a good request",
          is);
    if (want)
        check(vh_line_high(d->line), "interrupt line low with InterruptStatus %#x", is);
    wr(d, REG_INTERRUPT_ACK, is);
    check(rd(d, REG_INTERRUPT_STATUS) == 0, "InterruptStatus not clear after InterruptACK");
    check(vh_line_low(d->line), "interrupt line still up after InterruptACK");
}

#define ST_NONE 0x100  /* nothing came back in the used ring */
#define ST_BAD_ID 0x101 /* something else than the chain did */

/* Makes @head available, notifies, takes what came back: its status byte, or ST_*. */
static unsigned int submit(struct vdev *d, u16 head, u32 *used_len)
{
    u32 id, len;

    avail_add(d, head);
    avail_publish(d, d->avail_idx);
    notify(d);
    if (!used_next(d, &id, &len))
        return ST_NONE;
    take_vring_irq(d, !(READ_ONCE(d->avail[0]) & AVAIL_NO_INTERRUPT) && !d->quiet);
    if (used_len)
        *used_len = len;
    if (id != head)
        return ST_BAD_ID;
    return READ_ONCE(d->q->status[0]);
}

static bool is_in(u32 type)
{
    return type == T_IN || type == T_GET_ID;
}

/*
 * One request laid out the usual way in descriptors @first..: the 16-byte
 * header, @len bytes of data at @addr (device-writable for IN and GET_ID),
 * the status byte. Only builds it; returns the head.
 */
static u16 build_req(struct vdev *d, unsigned int first, u32 type, u64 sector, u64 addr, u32 len)
{
    struct vdesc *t = d->desc;
    unsigned int n = first;

    hdr_set(d, type, sector);
    desc_set(t, n, pa(d->q->hdr), 16, D_NEXT, (u16)(n + 1));
    n++;
    if (len) {
        desc_set(t, n, addr, len, D_NEXT | (is_in(type) ? D_WRITE : 0), (u16)(n + 1));
        n++;
    }
    desc_set(t, n, pa(d->q->status), 1, D_WRITE, 0);
    return (u16)first;
}

static unsigned int blk(struct vdev *d, u32 type, u64 sector, u64 addr, u32 len, u32 *used_len)
{
    return submit(d, build_req(d, 0, type, sector, addr, len), used_len);
}

/* ---- the disks' content ---- */
static u64 pat(u16 tag, u64 sector, unsigned int j)
{
    return (u64)tag << 48 | sector << 16 | j;
}

static void pat_fill(u8 *buf, u16 tag, u64 sector, unsigned int n)
{
    for (unsigned int s = 0; s < n; s++)
        for (unsigned int j = 0; j < SECTOR / 8; j++) {
            u64 w = pat(tag, sector + s, j);
            memcpy(buf + s * SECTOR + j * 8, &w, 8);
        }
}

/* Whether @n sectors in @buf hold @tag's pattern from @sector on. */
static bool pat_ok(const u8 *buf, u16 tag, u64 sector, unsigned int n)
{
    for (unsigned int s = 0; s < n; s++)
        for (unsigned int j = 0; j < SECTOR / 8; j++) {
            u64 w;
            memcpy(&w, buf + s * SECTOR + j * 8, 8);
            if (w != pat(tag, sector + s, j)) {
                check(false, "sector %lu word %u: %#lx, expected %#lx", (unsigned long)(sector + s),
                      j, (unsigned long)w, (unsigned long)pat(tag, sector + s, j));
                return false;
            }
        }
    return true;
}

/* A good read of @n sectors from @sector: the disk's pattern. */
static bool good_read(struct vdev *d, u64 sector, unsigned int n, u16 tag)
{
    u32 used;
    unsigned int st;

    memset(data, 0x5a, n * SECTOR);
    st = blk(d, T_IN, sector, pa(data), n * SECTOR, &used);
    if (!check(st == BLK_S_OK, "good read of sector %lu: status %#x", (unsigned long)sector, st))
        return false;
    check(used == n * SECTOR + 1, "good read: used len %u, expected %u", used, n * SECTOR + 1);
    return pat_ok(data, tag, sector, n);
}

static bool good_read_disk(struct vdev *d)
{
    return good_read(d, 1, 1, d->tag) && good_read(d, d->sectors - 1, 1, d->tag);
}

/* Writes @tag's pattern to @n sectors of the read-write disk: its status. */
static unsigned int write_pat(struct vdev *d, u64 sector, unsigned int n, u16 tag)
{
    pat_fill(data, tag, sector, n);
    return blk(d, T_OUT, sector, pa(data), n * SECTOR, NULL);
}

/* ---- breaking cases ---- */

/* A reset and a clean initialisation must bring the device back. */
static void recover(struct vdev *d)
{
    dev_reset(d);
    check(rd(d, REG_STATUS) == 0, "Status %#x after the reset", rd(d, REG_STATUS));
    check(rd(d, REG_INTERRUPT_STATUS) == 0, "InterruptStatus %#x after the reset",
          rd(d, REG_INTERRUPT_STATUS));
    wr(d, REG_QUEUE_SEL, 0);
    check(rd(d, REG_QUEUE_READY) == 0, "QueueReady still 1 after the reset");
    check(vh_line_low(d->line), "interrupt line still up after the reset");
    if (!check(dev_up(d), "no clean initialisation after the reset (Status %#x, QueueReady %u)",
               rd(d, REG_STATUS), rd(d, REG_QUEUE_READY)))
        return;
    check(good_read_disk(d), "no good read after the reset");
}

/*
 * The driver just handed the device something that breaks its queue
 * (@used_before: the used idx before): DEVICE_NEEDS_RESET, nothing used,
 * the configuration change interrupt once DRIVER_OK was set (2.1.2) and
 * none before, nothing served any more; then recover().
 */
static void expect_broken(struct vdev *d, u16 used_before)
{
    u32 st = rd(d, REG_STATUS), is = rd(d, REG_INTERRUPT_STATUS);
    bool was_live = d->live;

    nr_breaks++;
    check(st & S_NEEDS_RESET, "Status %#x: no DEVICE_NEEDS_RESET", st);
    check(used_idx_now(d) == used_before, "used idx moved from %u to %u", used_before,
          used_idx_now(d));
    if (was_live) {
        check(is & INT_CONFIG, "InterruptStatus %#x: no configuration change bit", is);
        check(vh_line_high(d->line), "interrupt line low after DEVICE_NEEDS_RESET");
    } else {
        check(!(is & INT_CONFIG), "InterruptStatus %#x: configuration change before DRIVER_OK",
              is);
    }
    /* The driver cannot clear it, and the device serves nothing more. */
    wr(d, REG_STATUS, S_UP);
    st = rd(d, REG_STATUS);
    check(st & S_NEEDS_RESET, "Status %#x: DEVICE_NEEDS_RESET gone without a reset", st);
    if (was_live) {
        u16 head = build_req(d, 12, T_IN, 0, pa(data2), SECTOR);
        avail_add(d, head);
        avail_publish(d, d->avail_idx);
        notify(d);
        check(used_idx_now(d) == used_before, "a request was served after DEVICE_NEEDS_RESET");
        check(READ_ONCE(d->q->status[0]) == 0xff, "a status was written after DEVICE_NEEDS_RESET");
    }
    if (pace)
        udelay(PACE_US);
    recover(d);
}

/* Makes the chain at @head available and expects it to break the device. */
static void submit_broken(struct vdev *d, u16 head)
{
    u16 before = used_idx_now(d);

    avail_add(d, head);
    avail_publish(d, d->avail_idx);
    notify(d);
    expect_broken(d, before);
}

/* ---- the cases ---- */

static void cases_identity(struct vdev *d)
{
    u32 lo, hi;
    u64 f, cap;

    case_start("%s: identity", d->name);
    check(rd(d, REG_MAGIC) == MMIO_MAGIC, "MagicValue %#x", rd(d, REG_MAGIC));
    check(rd(d, REG_VERSION) == 2, "Version %u", rd(d, REG_VERSION));
    check(rd(d, REG_DEVICE_ID) == 2, "DeviceID %u", rd(d, REG_DEVICE_ID));
    check(rd(d, REG_VENDOR_ID) == MMIO_VENDOR_KEEL, "VendorID %#x", rd(d, REG_VENDOR_ID));
    wr(d, REG_DEVICE_FEATURES_SEL, 0);
    lo = rd(d, REG_DEVICE_FEATURES);
    wr(d, REG_DEVICE_FEATURES_SEL, 1);
    hi = rd(d, REG_DEVICE_FEATURES);
    f = (u64)hi << 32 | lo;
    check((f & FEAT_BASE) == FEAT_BASE && (f & BIT(F_EVENT_IDX)), "DeviceFeatures %#lx",
          (unsigned long)f);
    check(!!(f & BIT(F_BLK_RO)) == d->ro, "DeviceFeatures %#lx: VIRTIO_BLK_F_RO %s",
          (unsigned long)f, d->ro ? "missing" : "offered on a writable disk");
    wr(d, REG_DEVICE_FEATURES_SEL, 2);
    check(rd(d, REG_DEVICE_FEATURES) == 0, "DeviceFeatures word 2: %#x",
          rd(d, REG_DEVICE_FEATURES));
    cap = rd(d, REG_CONFIG) | (u64)rd(d, REG_CONFIG + 4) << 32;
    check(cap == d->sectors, "capacity %lu sectors, expected %lu", (unsigned long)cap,
          (unsigned long)d->sectors);
    wr(d, REG_QUEUE_SEL, 0);
    check(rd(d, REG_QUEUE_NUM_MAX) == QUEUE_NUM_MAX, "QueueNumMax %u", rd(d, REG_QUEUE_NUM_MAX));
    wr(d, REG_QUEUE_SEL, 1);
    check(rd(d, REG_QUEUE_NUM_MAX) == 0, "queue 1 (none): QueueNumMax %u",
          rd(d, REG_QUEUE_NUM_MAX));
    check(dev_up(d), "no clean initialisation (Status %#x)", rd(d, REG_STATUS));
    good_read_disk(d);
    case_end();
}

static void case_empty_slot(void)
{
    struct vdev e = { .name = "empty", .base = VH_EMPTY_SLOT };

    case_start("empty-slot");
    check(rd(&e, REG_MAGIC) == MMIO_MAGIC, "MagicValue %#x", rd(&e, REG_MAGIC));
    check(rd(&e, REG_DEVICE_ID) == 0, "DeviceID %u", rd(&e, REG_DEVICE_ID));
    wr(&e, REG_STATUS, S_UP);
    wr(&e, REG_QUEUE_NOTIFY, 0);
    check(rd(&e, REG_STATUS) == 0, "Status %#x", rd(&e, REG_STATUS));
    case_end();
}

/* FEATURES_OK refused for @feat: it stays clear, and neither a queue nor DRIVER_OK is taken. */
static void case_features_refused(struct vdev *d, const char *what, u64 feat, bool word2)
{
    u32 st;

    case_start("%s: features-%s", d->name, what);
    dev_reset(d);
    rings_clear(d, QSIZE);
    wr(d, REG_STATUS, S_ACKNOWLEDGE);
    wr(d, REG_STATUS, S_NEGOTIATING);
    wr(d, REG_DRIVER_FEATURES_SEL, 0);
    wr(d, REG_DRIVER_FEATURES, (u32)feat);
    wr(d, REG_DRIVER_FEATURES_SEL, 1);
    wr(d, REG_DRIVER_FEATURES, (u32)(feat >> 32));
    if (word2) {
        wr(d, REG_DRIVER_FEATURES_SEL, 2);
        wr(d, REG_DRIVER_FEATURES, 1);
    }
    wr(d, REG_STATUS, S_FEATURES);
    st = rd(d, REG_STATUS);
    check(st == S_NEGOTIATING, "Status %#x after FEATURES_OK with %#lx%s: FEATURES_OK must stay "
          "clear", st, (unsigned long)feat, word2 ? " and a bit in word 2" : "");
    queue_regs_std(d, QSIZE);
    wr(d, REG_QUEUE_READY, 1);
    check(rd(d, REG_QUEUE_READY) == 0, "QueueReady taken without FEATURES_OK");
    wr(d, REG_STATUS, S_UP);
    st = rd(d, REG_STATUS);
    check(!(st & (S_DRIVER_OK | S_FEATURES_OK | S_NEEDS_RESET)), "Status %#x after DRIVER_OK", st);
    /* A request made available meanwhile is not served. */
    avail_add(d, build_req(d, 0, T_IN, 0, pa(data), SECTOR));
    avail_publish(d, d->avail_idx);
    notify(d);
    check(used_idx_now(d) == 0, "a request was served without FEATURES_OK");
    check(dev_up(d), "no clean initialisation after the reset");
    good_read_disk(d);
    case_end();
}

static void cases_features(struct vdev *d)
{
    static const struct {
        const char *what;
        unsigned int bit;
    } never[] = {
        { "size-max", F_BLK_SIZE_MAX }, { "geometry", F_BLK_GEOMETRY }, { "mq", F_BLK_MQ },
        { "discard", F_BLK_DISCARD }, { "write-zeroes", F_BLK_WRITE_ZEROES },
        { "access-platform", F_ACCESS_PLATFORM }, { "ring-packed", F_RING_PACKED },
        { "in-order", F_IN_ORDER }, { "bit-63", 63 },
    };
    char what[48];

    for (unsigned int i = 0; i < ARRAY_SIZE(never); i++) {
        snprintf(what, sizeof(what), "not-offered-%s", never[i].what);
        case_features_refused(d, what, FEAT_BASE | BIT(never[i].bit), false);
    }
    if (!d->ro)
        case_features_refused(d, "not-offered-ro", FEAT_BASE | BIT(F_BLK_RO), false);
    case_features_refused(d, "not-offered-word-2", FEAT_BASE, true);
    case_features_refused(d, "no-version-1", FEAT_BASE & ~BIT(F_VERSION_1), false);
    case_features_refused(d, "none", 0, false);
}

/* Features written after FEATURES_OK do not count: INDIRECT_DESC added then stays off. */
static void case_features_frozen(struct vdev *d)
{
    struct vdesc *it = d->q->itable;

    case_start("%s: features-frozen-after-features-ok", d->name);
    dev_reset(d); /* before the rings change under a live queue */
    rings_clear(d, QSIZE);
    check(negotiate(d, FEAT_BASE & ~BIT(F_INDIRECT_DESC)), "FEATURES_OK refused");
    wr(d, REG_DRIVER_FEATURES_SEL, 0);
    wr(d, REG_DRIVER_FEATURES, (u32)FEAT_BASE);
    queue_regs_std(d, QSIZE);
    wr(d, REG_QUEUE_READY, 1);
    wr(d, REG_STATUS, S_UP);
    d->live = check(rd(d, REG_STATUS) == S_UP, "Status %#x", rd(d, REG_STATUS));
    check(good_read(d, 2, 1, d->tag), "no good read");
    hdr_set(d, T_IN, 0);
    desc_set(it, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(it, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 2);
    desc_set(it, 2, pa(d->q->status), 1, D_WRITE, 0);
    desc_set(d->desc, 0, pa(it), 3 * 16, D_INDIRECT, 0);
    submit_broken(d, 0);
    case_end();
}

static void case_status_sequence(struct vdev *d)
{
    u32 st;

    case_start("%s: queue-ready-before-features-ok", d->name);
    dev_reset(d);
    rings_clear(d, QSIZE);
    wr(d, REG_STATUS, S_ACKNOWLEDGE);
    wr(d, REG_STATUS, S_NEGOTIATING);
    wr(d, REG_DRIVER_FEATURES_SEL, 0);
    wr(d, REG_DRIVER_FEATURES, (u32)FEAT_BASE);
    wr(d, REG_DRIVER_FEATURES_SEL, 1);
    wr(d, REG_DRIVER_FEATURES, (u32)(FEAT_BASE >> 32));
    queue_regs_std(d, QSIZE);
    wr(d, REG_QUEUE_READY, 1);
    check(rd(d, REG_QUEUE_READY) == 0, "QueueReady taken before FEATURES_OK");
    check(!(rd(d, REG_STATUS) & S_NEEDS_RESET), "Status %#x", rd(d, REG_STATUS));
    wr(d, REG_STATUS, S_NEGOTIATING | S_DRIVER_OK);
    check(rd(d, REG_STATUS) == S_NEGOTIATING, "DRIVER_OK taken before FEATURES_OK: Status %#x",
          rd(d, REG_STATUS));
    wr(d, REG_STATUS, S_FEATURES);
    check(rd(d, REG_STATUS) == S_FEATURES, "FEATURES_OK refused: Status %#x", rd(d, REG_STATUS));
    wr(d, REG_QUEUE_READY, 1);
    check(rd(d, REG_QUEUE_READY) == 1, "QueueReady refused after FEATURES_OK");
    wr(d, REG_STATUS, S_UP);
    d->live = check(rd(d, REG_STATUS) == S_UP, "Status %#x", rd(d, REG_STATUS));
    good_read_disk(d);
    case_end();

    case_start("%s: status-bits-stay", d->name);
    check(dev_up(d), "no clean initialisation");
    wr(d, REG_STATUS, S_ACKNOWLEDGE);
    st = rd(d, REG_STATUS);
    check(st == S_UP, "Status %#x after writing ACKNOWLEDGE alone (bits cleared)", st);
    wr(d, REG_STATUS, S_UP | S_NEEDS_RESET);
    st = rd(d, REG_STATUS);
    check(st == S_UP, "Status %#x after the driver wrote DEVICE_NEEDS_RESET", st);
    good_read_disk(d);
    case_end();

    case_start("%s: queue-registers-frozen-while-ready", d->name);
    check(dev_up(d), "no clean initialisation");
    wr(d, REG_QUEUE_NUM, 3);
    wr64(d, REG_QUEUE_DESC_LOW, 8);
    wr64(d, REG_QUEUE_DRIVER_LOW, ram_end);
    wr64(d, REG_QUEUE_DEVICE_LOW, 0x1);
    check(!(rd(d, REG_STATUS) & S_NEEDS_RESET), "Status %#x", rd(d, REG_STATUS));
    good_read_disk(d);
    case_end();

    case_start("%s: queue-select-missing", d->name);
    check(dev_up(d), "no clean initialisation");
    for (u32 sel = 1; sel; sel = sel == 1 ? 7 : sel == 7 ? 0xffffffffu : 0) {
        wr(d, REG_QUEUE_SEL, sel);
        check(rd(d, REG_QUEUE_NUM_MAX) == 0, "queue %#x: QueueNumMax %u", sel,
              rd(d, REG_QUEUE_NUM_MAX));
        wr(d, REG_QUEUE_READY, 1);
        check(rd(d, REG_QUEUE_READY) == 0, "queue %#x: QueueReady 1", sel);
        wr(d, REG_QUEUE_NOTIFY, sel);
    }
    wr(d, REG_QUEUE_SEL, 0);
    check(rd(d, REG_STATUS) == S_UP, "Status %#x", rd(d, REG_STATUS));
    good_read_disk(d);
    case_end();

    case_start("%s: queue-disable-enable", d->name);
    check(dev_up(d), "no clean initialisation");
    wr(d, REG_QUEUE_READY, 0);
    check(rd(d, REG_QUEUE_READY) == 0, "QueueReady 1 after writing 0");
    {
        u16 before = used_idx_now(d);
        avail_add(d, build_req(d, 0, T_IN, 0, pa(data), SECTOR));
        avail_publish(d, d->avail_idx);
        notify(d);
        check(used_idx_now(d) == before, "a disabled queue served a request");
    }
    rings_clear(d, QSIZE);
    queue_regs_std(d, QSIZE);
    wr(d, REG_QUEUE_READY, 1);
    check(rd(d, REG_QUEUE_READY) == 1, "QueueReady refused");
    good_read_disk(d);
    case_end();
}

/* A queue the spec forbids: refused at QueueReady, DEVICE_NEEDS_RESET. */
static void case_queue_setup(struct vdev *d, const char *what, u32 num, u64 desc, u64 driver,
                             u64 device)
{
    case_start("%s: queue-%s", d->name, what);
    dev_reset(d); /* before the rings change under a live queue */
    rings_clear(d, QSIZE);
    check(negotiate(d, FEAT_BASE), "FEATURES_OK refused");
    queue_regs(d, num, desc, driver, device);
    wr(d, REG_QUEUE_READY, 1);
    check(rd(d, REG_QUEUE_READY) == 0, "QueueReady 1: the queue was enabled");
    expect_broken(d, 0);
    case_end();
}

static void cases_queue_setup(struct vdev *d)
{
    static const u32 nums[] = { 0, 3, 100, 255, 257, 512, 32768, 65536, 0xffffffffu };
    struct vqmem *q = d->q;
    u64 desc = pa(q->desc), avail = pa(q->avail), used = pa(&q->used);
    char what[48];

    for (unsigned int i = 0; i < ARRAY_SIZE(nums); i++) {
        snprintf(what, sizeof(what), "num-%u", nums[i]);
        case_queue_setup(d, what, nums[i], desc, avail, used);
    }
    case_queue_setup(d, "desc-misaligned-8", QSIZE, desc + 8, avail, used);
    case_queue_setup(d, "desc-misaligned-1", QSIZE, desc + 1, avail, used);
    case_queue_setup(d, "avail-misaligned-1", QSIZE, desc, avail + 1, used);
    case_queue_setup(d, "used-misaligned-2", QSIZE, desc, avail, used + 2);
    case_queue_setup(d, "avail-overlaps-desc", QSIZE, desc, desc + 16 * QSIZE - 2, used);
    case_queue_setup(d, "used-is-avail", QSIZE, desc, avail, avail);
    case_queue_setup(d, "used-inside-desc", QSIZE, desc, avail, desc + 64);
    case_queue_setup(d, "desc-at-0", QSIZE, 0, avail, used);
    case_queue_setup(d, "desc-at-ram-end", QSIZE, ram_end, avail, used);
    case_queue_setup(d, "desc-straddles-ram-end", QSIZE, ram_end - 128, avail, used);
    case_queue_setup(d, "avail-in-mmio-hole", QSIZE, desc, vh_holes[2], used);
    case_queue_setup(d, "used-at-1T", QSIZE, desc, avail, 1UL << 40);
    case_queue_setup(d, "desc-high-word", QSIZE, desc | 1UL << 32, avail, used);
    case_queue_setup(d, "used-wraps", QSIZE, desc, avail, 0xffffffffffffffc0UL);
    case_queue_setup(d, "avail-wraps", QSIZE, desc, 0xfffffffffffffff0UL, used);
    case_queue_setup(d, "desc-at-keel-own-window", QSIZE, d->base & ~0xfffUL, avail, used);
}

/* One request with its data buffer at @addr (@len bytes), IN and OUT: each must break. */
static void case_data_outside(struct vdev *d, const char *what, u64 addr, u32 len)
{
    u64 sector = 9;

    case_start("%s: data-outside-%s", d->name, what);
    check(dev_up(d), "no clean initialisation");
    submit_broken(d, build_req(d, 0, T_IN, sector, addr, len));
    if (!d->ro) {
        submit_broken(d, build_req(d, 0, T_OUT, sector, addr, len));
        check(good_read(d, sector, 1, d->tag), "the disk changed after an OUT from outside RAM");
    }
    case_end();
}

static void cases_outside(struct vdev *d)
{
    char what[48];
    struct vdesc *t = d->q->desc;
    volatile u8 *guard = (volatile u8 *)(unsigned long)(ram_end - SECTOR);

    for (unsigned int i = 0; i < ARRAY_SIZE(vh_holes); i++) {
        snprintf(what, sizeof(what), "hole-%#lx", (unsigned long)vh_holes[i]);
        case_data_outside(d, what, vh_holes[i], SECTOR);
    }
    case_data_outside(d, "ram-end", ram_end, SECTOR);
    case_data_outside(d, "ram-end+2M", ram_end + SZ_2M, SECTOR);
    case_data_outside(d, "ipa-top", (1UL << 39) - SECTOR, SECTOR);
    case_data_outside(d, "1T", 1UL << 40, SECTOR);
    case_data_outside(d, "2^63", 1UL << 63, SECTOR);
    case_data_outside(d, "top", 0xfffffffffffffe00UL, SECTOR);

    /* Straddling the end of RAM: refused whole, the part inside RAM untouched. */
    case_start("%s: data-straddles-ram-end", d->name);
    check(dev_up(d), "no clean initialisation");
    for (unsigned int i = 0; i < SECTOR; i++)
        guard[i] = 0xa5;
    submit_broken(d, build_req(d, 0, T_IN, 4, ram_end - SECTOR, 2 * SECTOR));
    for (unsigned int i = 0; i < SECTOR; i++)
        if (!check(guard[i] == 0xa5, "byte %u before the end of RAM written", i))
            break;
    if (!d->ro) {
        submit_broken(d, build_req(d, 0, T_OUT, 4, ram_end - SECTOR, 2 * SECTOR));
        check(good_read(d, 4, 1, d->tag), "the disk changed");
    }
    case_end();

    case_start("%s: header-outside", d->name);
    check(dev_up(d), "no clean initialisation");
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    desc_set(t, 0, ram_end - 8, 16, D_NEXT, 1);
    submit_broken(d, 0);
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    desc_set(t, 0, vh_holes[5], 16, D_NEXT, 1);
    submit_broken(d, 0);
    case_end();

    case_start("%s: status-outside", d->name);
    check(dev_up(d), "no clean initialisation");
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    desc_set(t, 2, ram_end, 1, D_WRITE, 0);
    submit_broken(d, 0);
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    desc_set(t, 2, 0xffffffffffffffffUL, 1, D_WRITE, 0);
    submit_broken(d, 0);
    case_end();

    /*
     * Keel's own load address in host memory, as a guest-physical address:
     * on Arm it is this VM's RAM (RAM starts at 0x40000000), on RISC-V the
     * guest's own image. The device must see the guest's bytes there, not
     * Keel's: they go to the disk and come back as written.
     */
    if (!d->ro && VH_KEEL_ADDR >= machine.ram_base && VH_KEEL_ADDR + SECTOR <= ram_end) {
        const u8 *k = (const u8 *)VH_KEEL_ADDR;
        unsigned int st;

        case_start("%s: keel-load-address-is-guest-ram", d->name);
        check(dev_up(d), "no clean initialisation");
        st = blk(d, T_OUT, 20, VH_KEEL_ADDR, SECTOR, NULL);
        check(st == BLK_S_OK, "OUT from %#lx: status %#x", VH_KEEL_ADDR, st);
        memset(data2, 0, SECTOR);
        st = blk(d, T_IN, 20, pa(data2), SECTOR, NULL);
        check(st == BLK_S_OK, "IN: status %#x", st);
        check(!memcmp(data2, k, SECTOR), "the disk got other bytes than the guest's at %#lx",
              VH_KEEL_ADDR);
        check(write_pat(d, 20, 1, d->tag) == BLK_S_OK, "restoring sector 20");
        check(good_read(d, 20, 1, d->tag), "sector 20 not restored");
        case_end();
    }
}

static void cases_chains(struct vdev *d)
{
    struct vdesc *t = d->q->desc;
    unsigned int st;
    u32 used;

    case_start("%s: head-out-of-range", d->name);
    check(dev_up(d), "no clean initialisation");
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    submit_broken(d, QSIZE);
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    submit_broken(d, 0xffff);
    case_end();

    case_start("%s: next-out-of-range", d->name);
    check(dev_up(d), "no clean initialisation");
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, QSIZE);
    submit_broken(d, 0);
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    desc_set(t, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 0xffff);
    submit_broken(d, 0);
    case_end();

    case_start("%s: chain-loop", d->name);
    check(dev_up(d), "no clean initialisation");
    /* next pointing back: 0 -> 1 -> 2 -> 1 (device-writable ones, so the order stays right) */
    hdr_set(d, T_IN, 0);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(t, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 2);
    desc_set(t, 2, pa(data2), SECTOR, D_NEXT | D_WRITE, 1);
    submit_broken(d, 0);
    /* onto itself */
    hdr_set(d, T_IN, 0);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 0);
    submit_broken(d, 0);
    /* through every entry and round again: longer than the queue */
    hdr_set(d, T_IN, 0);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    for (unsigned int i = 1; i < QSIZE; i++)
        desc_set(t, i, pa(data) + (i - 1) * 16, 16, D_NEXT | D_WRITE,
                 (u16)(i + 1 < QSIZE ? i + 1 : 1));
    submit_broken(d, 0);
    case_end();

    /* As many descriptors as the queue has: allowed. */
    case_start("%s: chain-of-queue-size", d->name);
    check(dev_up(d), "no clean initialisation");
    hdr_set(d, T_IN, 40);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    for (unsigned int i = 1; i < QSIZE - 1; i++)
        desc_set(t, i, pa(data) + (i - 1) * SECTOR, SECTOR, D_NEXT | D_WRITE, (u16)(i + 1));
    desc_set(t, QSIZE - 1, pa(d->q->status), 1, D_WRITE, 0);
    memset(data, 0, (QSIZE - 2) * SECTOR);
    st = submit(d, 0, &used);
    check(st == BLK_S_OK, "status %#x", st);
    pat_ok(data, d->tag, 40, QSIZE - 2);
    case_end();

    /* seg_max: 62 data buffers are served, one more breaks the queue. */
    case_start("%s: chain-seg-max", d->name);
    check(dev_up_feat(d, FEAT_BASE, 128), "no clean initialisation with 128 entries");
    for (unsigned int extra = 0; extra < 2; extra++) {
        unsigned int n = SEG_MAX + extra;
        hdr_set(d, T_IN, 100);
        desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
        for (unsigned int i = 1; i <= n; i++)
            desc_set(t, i, pa(data) + (i - 1) * SECTOR, SECTOR, D_NEXT | D_WRITE, (u16)(i + 1));
        desc_set(t, n + 1, pa(d->q->status), 1, D_WRITE, 0);
        if (!extra) {
            memset(data, 0, n * SECTOR);
            st = submit(d, 0, &used);
            check(st == BLK_S_OK, "%u buffers: status %#x", n, st);
            check(used == n * SECTOR + 1, "used len %u", used);
            pat_ok(data, d->tag, 100, n);
        } else {
            submit_broken(d, 0);
        }
    }
    case_end();

    case_start("%s: readable-after-writable", d->name);
    check(dev_up(d), "no clean initialisation");
    hdr_set(d, T_OUT, 0);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(t, 1, pa(d->q->status), 1, D_NEXT | D_WRITE, 2);
    desc_set(t, 2, pa(data), SECTOR, 0, 0);
    submit_broken(d, 0);
    case_end();

    case_start("%s: no-writable-buffer", d->name);
    check(dev_up(d), "no clean initialisation");
    hdr_set(d, T_IN, 0);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(t, 1, pa(data), SECTOR, 0, 0);
    submit_broken(d, 0);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(t, 1, pa(d->q->status), 0, D_WRITE, 0); /* zero bytes writable */
    submit_broken(d, 0);
    case_end();

    /* A zero-length buffer is a buffer of nothing, wherever it points. */
    case_start("%s: zero-length-buffer-anywhere", d->name);
    check(dev_up(d), "no clean initialisation");
    hdr_set(d, T_IN, 6);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(t, 1, 0xdead000000000000UL, 0, D_NEXT | D_WRITE, 2);
    desc_set(t, 2, pa(data), SECTOR, D_NEXT | D_WRITE, 3);
    desc_set(t, 3, ram_end, 0, D_NEXT | D_WRITE, 4);
    desc_set(t, 4, pa(d->q->status), 1, D_WRITE, 0);
    memset(data, 0, SECTOR);
    st = submit(d, 0, NULL);
    check(st == BLK_S_OK, "status %#x", st);
    pat_ok(data, d->tag, 6, 1);
    case_end();

    case_start("%s: length-overflow", d->name);
    check(dev_up(d), "no clean initialisation");
    /* 16 + 0xfffffff0 bytes in one chain: 2^32 */
    submit_broken(d, build_req(d, 0, T_IN, 0, machine.ram_base, 0xfffffff0u));
    submit_broken(d, build_req(d, 0, T_IN, 0, machine.ram_base, 0xffffffffu));
    submit_broken(d, build_req(d, 0, T_IN, 0, pa(data), 0xffffffffu));
    /* addr + len wrapping 2^64: exactly to 0, and past it */
    submit_broken(d, build_req(d, 0, T_IN, 0, 0xfffffffffffffe00UL, 0x200));
    submit_broken(d, build_req(d, 0, T_IN, 0, 0xffffffffffffff00UL, 0x200));
    submit_broken(d, build_req(d, 0, T_IN, 0, 0xffffffffffffffffUL, 0xffffffffu));
    /* a header of 4 GiB - 1 */
    build_req(d, 0, T_IN, 0, pa(data), SECTOR);
    desc_set(t, 0, pa(d->q->hdr), 0xffffffffu, D_NEXT, 1);
    submit_broken(d, 0);
    case_end();

    /* What completed before the bad chain is still delivered. */
    case_start("%s: good-then-bad", d->name);
    check(dev_up(d), "no clean initialisation");
    {
        u16 before = used_idx_now(d);
        u32 id, len;

        build_req(d, 0, T_IN, 30, pa(data), SECTOR);
        desc_set(t, 4, pa(d->q->hdr), 16, D_NEXT, 5);
        desc_set(t, 5, pa(data2), SECTOR, D_NEXT | D_WRITE, 5); /* a loop */
        memset(data, 0, SECTOR);
        avail_add(d, 0);
        avail_add(d, 4);
        avail_publish(d, d->avail_idx);
        notify(d);
        check(used_idx_now(d) == (u16)(before + 1), "used idx %u, expected %u", used_idx_now(d),
              before + 1);
        check(used_next(d, &id, &len) && id == 0, "the good chain was not used");
        check(READ_ONCE(d->q->status[0]) == BLK_S_OK, "good chain status %#x",
              READ_ONCE(d->q->status[0]));
        pat_ok(data, d->tag, 30, 1);
        expect_broken(d, (u16)(before + 1));
    }
    case_end();

    case_start("%s: avail-idx-jump", d->name);
    static const u16 jumps[] = { QSIZE + 1, 0x8000, 0xffff };
    for (unsigned int i = 0; i < ARRAY_SIZE(jumps); i++) {
        check(dev_up(d), "no clean initialisation");
        build_req(d, 0, T_IN, 0, pa(data), SECTOR);
        for (unsigned int j = 0; j < QSIZE; j++)
            WRITE_ONCE(d->avail[2 + j], 0);
        avail_publish(d, jumps[i]);
        notify(d);
        expect_broken(d, 0);
    }
    /* exactly the queue size ahead: every entry, all served */
    check(dev_up(d), "no clean initialisation");
    hdr_set(d, T_IN, 50);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(t, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 2);
    desc_set(t, 2, pa(d->q->status), 1, D_WRITE, 0);
    for (unsigned int j = 0; j < QSIZE; j++)
        avail_add(d, 0);
    avail_publish(d, d->avail_idx);
    notify(d);
    check(used_idx_now(d) == QSIZE, "a full ring: used idx %u, expected %u", used_idx_now(d),
          QSIZE);
    d->used_idx = used_idx_now(d);
    check(!(rd(d, REG_STATUS) & S_NEEDS_RESET), "a full ring broke the device");
    wr(d, REG_INTERRUPT_ACK, rd(d, REG_INTERRUPT_STATUS));
    vh_line_drain(d->line);
    pat_ok(data, d->tag, 50, 1);
    case_end();
}

static void cases_indirect(struct vdev *d)
{
    struct vdesc *t = d->q->desc, *it = d->q->itable;
    unsigned int st;
    u32 used;

#define INDIRECT_STD(first_sector)                                      \
    do {                                                                \
        hdr_set(d, T_IN, first_sector);                                 \
        desc_set(it, 0, pa(d->q->hdr), 16, D_NEXT, 1);                  \
        desc_set(it, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 2);         \
        desc_set(it, 2, pa(d->q->status), 1, D_WRITE, 0);               \
        desc_set(t, 0, pa(it), 3 * 16, D_INDIRECT, 0);                  \
    } while (0)

    case_start("%s: indirect-good", d->name);
    check(dev_up(d), "no clean initialisation");
    INDIRECT_STD(11);
    memset(data, 0, SECTOR);
    st = submit(d, 0, &used);
    check(st == BLK_S_OK, "status %#x", st);
    pat_ok(data, d->tag, 11, 1);
    /* longer than the queue: bounded by its own length (Linux does this) */
    hdr_set(d, T_IN, 200);
    desc_set(it, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    for (unsigned int i = 1; i <= 2 * QSIZE; i++)
        desc_set(it, i, pa(data) + (i - 1) * SECTOR, SECTOR, D_NEXT | D_WRITE, (u16)(i + 1));
    desc_set(it, 2 * QSIZE + 1, pa(d->q->status), 1, D_WRITE, 0);
    desc_set(t, 0, pa(it), (2 * QSIZE + 2) * 16, D_INDIRECT, 0);
    memset(data, 0, 2 * QSIZE * SECTOR);
    st = submit(d, 0, &used);
    check(st == BLK_S_OK, "a table longer than the queue: status %#x", st);
    pat_ok(data, d->tag, 200, 2 * QSIZE);
    /* after normal descriptors (2.7.5.3.2) */
    hdr_set(d, T_IN, 12);
    desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    desc_set(t, 1, pa(it), 2 * 16, D_INDIRECT | D_WRITE, 0);
    desc_set(it, 0, pa(data), SECTOR, D_NEXT | D_WRITE, 1);
    desc_set(it, 1, pa(d->q->status), 1, D_WRITE, 0);
    memset(data, 0, SECTOR);
    st = submit(d, 0, &used);
    check(st == BLK_S_OK, "normal then indirect: status %#x", st);
    pat_ok(data, d->tag, 12, 1);
    case_end();

    case_start("%s: indirect-loop", d->name);
    check(dev_up(d), "no clean initialisation");
    INDIRECT_STD(0);
    desc_set(it, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 0);
    submit_broken(d, 0);
    INDIRECT_STD(0);
    desc_set(it, 2, pa(d->q->status), 1, D_NEXT | D_WRITE, 2);
    submit_broken(d, 0);
    case_end();

    case_start("%s: indirect-nested", d->name);
    check(dev_up(d), "no clean initialisation");
    INDIRECT_STD(0);
    desc_set(it, 1, pa(it), 3 * 16, D_INDIRECT, 0);
    submit_broken(d, 0);
    INDIRECT_STD(0);
    desc_set(it, 0, pa(it) + 16 * 40, 3 * 16, D_INDIRECT, 0);
    submit_broken(d, 0);
    case_end();

    case_start("%s: indirect-bad-length", d->name);
    static const u32 lens[] = { 0, 8, 24, 47, 0xfffffff0u };
    for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++) {
        check(dev_up(d), "no clean initialisation");
        INDIRECT_STD(0);
        desc_set(t, 0, pa(it), lens[i], D_INDIRECT, 0);
        submit_broken(d, 0);
    }
    case_end();

    case_start("%s: indirect-with-next", d->name);
    check(dev_up(d), "no clean initialisation");
    INDIRECT_STD(0);
    desc_set(t, 0, pa(it), 3 * 16, D_INDIRECT | D_NEXT, 1);
    desc_set(t, 1, pa(d->q->status), 1, D_WRITE, 0);
    submit_broken(d, 0);
    case_end();

    case_start("%s: indirect-next-out-of-range", d->name);
    check(dev_up(d), "no clean initialisation");
    INDIRECT_STD(0);
    desc_set(it, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 3);
    submit_broken(d, 0);
    case_end();

    case_start("%s: indirect-table-outside", d->name);
    static const u64 where[] = { 0, 0x09000000, 0x1000 };
    check(dev_up(d), "no clean initialisation");
    INDIRECT_STD(0);
    desc_set(t, 0, ram_end, 3 * 16, D_INDIRECT, 0);
    submit_broken(d, 0);
    INDIRECT_STD(0);
    desc_set(t, 0, ram_end - 32, 3 * 16, D_INDIRECT, 0);
    submit_broken(d, 0);
    for (unsigned int i = 0; i < ARRAY_SIZE(where); i++) {
        INDIRECT_STD(0);
        desc_set(t, 0, where[i], 3 * 16, D_INDIRECT, 0);
        submit_broken(d, 0);
    }
    INDIRECT_STD(0);
    desc_set(t, 0, 0xfffffffffffffff0UL, 3 * 16, D_INDIRECT, 0);
    submit_broken(d, 0);
    case_end();

    case_start("%s: indirect-data-outside", d->name);
    check(dev_up(d), "no clean initialisation");
    INDIRECT_STD(0);
    desc_set(it, 1, ram_end, SECTOR, D_NEXT | D_WRITE, 2);
    submit_broken(d, 0);
    case_end();

    case_start("%s: indirect-not-negotiated", d->name);
    check(dev_up_feat(d, FEAT_BASE & ~BIT(F_INDIRECT_DESC), QSIZE), "no clean initialisation");
    INDIRECT_STD(0);
    submit_broken(d, 0);
    case_end();
#undef INDIRECT_STD
}

/* A request the device answers with a status byte; the queue goes on. */
static void case_status(struct vdev *d, u32 type, u64 sector, u64 addr, u32 len,
                        unsigned int want, const char *what)
{
    unsigned int st = blk(d, type, sector, addr, len, NULL);

    check(st == want, "%s: status %#x, expected %#x", what, st, want);
    check(!(rd(d, REG_STATUS) & S_NEEDS_RESET), "%s: DEVICE_NEEDS_RESET", what);
}

static void cases_requests(struct vdev *d)
{
    struct vdesc *t = d->q->desc;
    u64 cap = d->sectors;
    unsigned int st;
    u32 used;
    char id[24];

    case_start("%s: read-write", d->name);
    check(dev_up(d), "no clean initialisation");
    check(good_read(d, 0, 8, d->tag), "reading sectors 0-7");
    if (d->ro) {
        /* 5.2.6.2: IOERR and nothing written */
        check(write_pat(d, 3, 1, NEW_TAG) == BLK_S_IOERR, "a write to the read-only disk: not "
              "IOERR");
        check(write_pat(d, 0, 8, NEW_TAG) == BLK_S_IOERR, "an 8-sector write: not IOERR");
        check(good_read(d, 0, 8, d->tag), "the read-only disk changed");
    } else {
        check(write_pat(d, 50, 3, NEW_TAG) == BLK_S_OK, "a write: not OK");
        check(good_read(d, 50, 3, NEW_TAG), "not read back as written");
        check(write_pat(d, 50, 3, d->tag) == BLK_S_OK, "putting it back");
        check(good_read(d, 49, 5, d->tag), "not put back");
    }
    st = blk(d, T_FLUSH, 0, 0, 0, &used);
    check(st == BLK_S_OK, "FLUSH: status %#x", st);
    memset(id, 0x55, sizeof(id));
    st = blk(d, T_GET_ID, 0, pa(data2), 20, &used);
    memcpy(id, data2, 20);
    id[20] = 0;
    check(st == BLK_S_OK, "GET_ID: status %#x", st);
    check(!strcmp(id, d->index ? "keel-disk1" : "keel-disk0"), "GET_ID: '%s'", id);
    case_end();

    case_start("%s: past-capacity", d->name);
    check(dev_up(d), "no clean initialisation");
    case_status(d, T_IN, cap, pa(data), SECTOR, BLK_S_IOERR, "IN at the capacity");
    case_status(d, T_IN, cap - 1, pa(data), 2 * SECTOR, BLK_S_IOERR, "IN across the capacity");
    case_status(d, T_IN, 1UL << 63, pa(data), SECTOR, BLK_S_IOERR, "IN at 2^63");
    case_status(d, T_IN, ~0UL, pa(data), SECTOR, BLK_S_IOERR, "IN at 2^64 - 1");
    case_status(d, T_IN, ~0UL - 3, pa(data), 8 * SECTOR, BLK_S_IOERR, "IN wrapping 2^64");
    pat_fill(data, NEW_TAG, cap - 1, 2);
    case_status(d, T_OUT, cap - 1, pa(data), 2 * SECTOR, BLK_S_IOERR, "OUT across the capacity");
    case_status(d, T_OUT, cap, pa(data), SECTOR, BLK_S_IOERR, "OUT at the capacity");
    case_status(d, T_OUT, ~0UL, pa(data), SECTOR, BLK_S_IOERR, "OUT at 2^64 - 1");
    check(good_read(d, cap - 1, 1, d->tag), "the last sector changed");
    case_end();

    case_start("%s: partial-sectors", d->name);
    check(dev_up(d), "no clean initialisation");
    case_status(d, T_IN, 0, pa(data), 100, BLK_S_IOERR, "IN of 100 bytes");
    case_status(d, T_IN, 0, pa(data), SECTOR + 1, BLK_S_IOERR, "IN of 513 bytes");
    case_status(d, T_IN, 0, pa(data), SECTOR - 1, BLK_S_IOERR, "IN of 511 bytes");
    pat_fill(data, NEW_TAG, 5, 2);
    case_status(d, T_OUT, 5, pa(data), SECTOR - 1, BLK_S_IOERR, "OUT of 511 bytes");
    case_status(d, T_OUT, 5, pa(data), 1000, BLK_S_IOERR, "OUT of 1000 bytes");
    check(good_read(d, 5, 2, d->tag), "sectors 5-6 changed");
    case_end();

    case_start("%s: unknown-types", d->name);
    check(dev_up(d), "no clean initialisation");
    static const u32 types[] = { 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 16, 0x7fffffff, 0x80000000,
                                 0xffffffffu };
    for (unsigned int i = 0; i < ARRAY_SIZE(types); i++) {
        char what[32];
        snprintf(what, sizeof(what), "type %#x", types[i]);
        hdr_set(d, types[i], 0);
        desc_set(t, 0, pa(d->q->hdr), 16, D_NEXT, 1);
        desc_set(t, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 2);
        desc_set(t, 2, pa(d->q->status), 1, D_WRITE, 0);
        st = submit(d, 0, NULL);
        check(st == BLK_S_UNSUPP, "%s: status %#x, expected UNSUPP", what, st);
    }
    check(good_read(d, 0, 1, d->tag), "the disk changed");
    case_end();

    case_start("%s: short-header", d->name);
    check(dev_up(d), "no clean initialisation");
    for (u32 len = 0; len < 16; len += len < 8 ? 8 : 7) {
        hdr_set(d, T_IN, 0);
        if (len) {
            desc_set(t, 0, pa(d->q->hdr), len, D_NEXT, 1);
            desc_set(t, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 2);
            desc_set(t, 2, pa(d->q->status), 1, D_WRITE, 0);
        } else {
            desc_set(t, 0, pa(d->q->status), 1, D_WRITE, 0);
        }
        st = submit(d, 0, NULL);
        check(st == BLK_S_IOERR, "a %u-byte header: status %#x, expected IOERR", len, st);
    }
    /* the same 16 bytes cut in two: a whole header */
    hdr_set(d, T_IN, 8);
    desc_set(t, 0, pa(d->q->hdr), 8, D_NEXT, 1);
    desc_set(t, 1, pa(d->q->hdr) + 8, 8, D_NEXT, 2);
    desc_set(t, 2, pa(data), SECTOR, D_NEXT | D_WRITE, 3);
    desc_set(t, 3, pa(d->q->status), 1, D_WRITE, 0);
    memset(data, 0, SECTOR);
    st = submit(d, 0, NULL);
    check(st == BLK_S_OK, "a header in two buffers: status %#x", st);
    pat_ok(data, d->tag, 8, 1);
    case_end();

    if (!d->ro) {
        /* header and data in one buffer, the status in the data's last byte's neighbour */
        case_start("%s: one-buffer-out", d->name);
        check(dev_up(d), "no clean initialisation");
        hdr_set(d, T_OUT, 60);
        memcpy(data, d->q->hdr, 16);
        pat_fill(data + 16, NEW_TAG, 60, 1);
        desc_set(t, 0, pa(data), 16 + SECTOR, D_NEXT, 1);
        desc_set(t, 1, pa(d->q->status), 1, D_WRITE, 0);
        st = submit(d, 0, &used);
        check(st == BLK_S_OK, "status %#x", st);
        check(good_read(d, 60, 1, NEW_TAG), "not written as one buffer");
        check(write_pat(d, 60, 1, d->tag) == BLK_S_OK, "putting it back");
        check(good_read(d, 60, 1, d->tag), "not put back");
        case_end();
    }

    case_start("%s: interrupt-suppression", d->name);
    check(dev_up(d), "no clean initialisation");
    WRITE_ONCE(d->avail[0], AVAIL_NO_INTERRUPT);
    check(good_read(d, 2, 1, d->tag), "read with VIRTQ_AVAIL_F_NO_INTERRUPT");
    WRITE_ONCE(d->avail[0], 0);
    check(good_read(d, 2, 1, d->tag), "read with the interrupt asked for again");
    case_end();
}

/* ---- the transport's own rules (keel/virtio_mmio.h "Accesses", 4.2.2) ---- */

/* A register access Keel must refuse: an abort (Arm) or access fault (RISC-V) at the address. */
static void access_refused(struct vdev *d, u32 off, unsigned int size, bool store)
{
    u64 a = d->base + off;
    struct fault f;
    bool taken;

    fault_expect();
    switch (size * (store ? -1 : 1)) {
    case 1: (void)readb(a); break;
    case 2: (void)readw(a); break;
    case 4: (void)readl(a); break;
    case 8: (void)readq(a); break;
    case -1: writeb(a, 0); break;
    case -2: writew(a, 0); break;
    case -4: writel(a, 0); break;
    case -8: writeq(a, 0); break;
    }
    taken = fault_taken(&f);
    check(taken && vh_fault_ok(&f, a, store), "%u-byte %s at offset %#x: %s", size,
          store ? "store" : "load", off, taken ? "another fault" : "no fault");
}

/*
 * Accesses Keel cannot take as one register access. Arm: a pair, and a
 * load with writeback (no instruction syndrome, ISV 0): an abort, and
 * nothing written (an STP of zeros to Status would reset the device).
 * RISC-V: AMOs and LR are not decoded: an access fault (an SC with no
 * reservation may also just fail, without an access); a compressed load
 * is decoded and reads the register.
 */
#if defined(__aarch64__)
static void odd_accesses(struct vdev *d)
{
    u64 a = d->base + REG_MAGIC, s = d->base + REG_STATUS, p;
    u32 v0 = 1, v1 = 2;
    struct fault f;
    bool taken;

    fault_expect();
    __asm__ volatile("ldp %w0, %w1, [%2]" : "+r"(v0), "+r"(v1) : "r"(a) : "memory");
    taken = fault_taken(&f);
    check(taken && vh_fault_ok(&f, a, false) && v0 == 1 && v1 == 2,
          "LDP from the registers: %s, %#x %#x", taken ? "fault" : "no fault", v0, v1);
    fault_expect();
    __asm__ volatile("stp wzr, wzr, [%0]" :: "r"(s) : "memory");
    taken = fault_taken(&f);
    check(taken && vh_fault_ok(&f, s, true), "STP to Status: %s", taken ? "fault" : "no fault");
    fault_expect();
    __asm__ volatile("stp xzr, xzr, [%0]" :: "r"(d->base + REG_QUEUE_NOTIFY) : "memory");
    taken = fault_taken(&f);
    check(taken, "STP to QueueNotify: no fault");
    p = a;
    fault_expect();
    __asm__ volatile("ldr %w0, [%1], #4" : "+r"(v0), "+r"(p) :: "memory");
    taken = fault_taken(&f);
    check(taken && vh_fault_ok(&f, a, false) && p == a && v0 == 1,
          "post-indexed LDR: %s, base %#lx", taken ? "fault" : "no fault", (unsigned long)p);
}
#else
static void odd_accesses(struct vdev *d)
{
    u64 a = d->base + REG_MAGIC, s = d->base + REG_STATUS;
    unsigned long v = 1;
    struct fault f;
    bool taken;

    fault_expect();
    __asm__ volatile("amoswap.w %0, zero, (%1)" : "+r"(v) : "r"(s) : "memory");
    taken = fault_taken(&f);
    check(taken && vh_fault_ok(&f, s, true) && v == 1, "AMOSWAP.W of 0 to Status: %s",
          taken ? "another fault" : "no fault");
    fault_expect();
    __asm__ volatile("amoadd.w %0, %0, (%1)" : "+r"(v) : "r"(a) : "memory");
    taken = fault_taken(&f);
    check(taken && vh_fault_ok(&f, a, true), "AMOADD.W: %s", taken ? "another fault" : "no fault");
    fault_expect();
    __asm__ volatile("lr.w %0, (%1)" : "+r"(v) : "r"(a) : "memory");
    taken = fault_taken(&f);
    check(taken && (vh_fault_ok(&f, a, false) || vh_fault_ok(&f, a, true)) && v == 1,
          "LR.W: %s", taken ? "another fault" : "no fault");
    /* no reservation: the SC may fail without an access (QEMU's does), or fault */
    v = 0;
    fault_expect();
    __asm__ volatile("sc.w %0, zero, (%1)" : "+r"(v) : "r"(s) : "memory");
    taken = fault_taken(&f);
    check(taken ? vh_fault_ok(&f, s, true) : v != 0, "SC.W of 0 to Status: %s",
          taken ? "another fault" : "succeeded");
    {
        register unsigned long ra asm("a0") = a;
        register unsigned long rv asm("a1") = 0;
        __asm__ volatile(".option push\n.option rvc\nc.lw %0, 0(%1)\n.option pop"
                         : "=r"(rv) : "r"(ra) : "memory");
        check(rv == MMIO_MAGIC, "C.LW of MagicValue: %#lx", rv);
    }
}
#endif

static void case_access_rules(struct vdev *d)
{
    /* registers the spec makes write-only, and offsets without a register: read 0 */
    static const u32 zero[] = { REG_DEVICE_FEATURES_SEL, REG_DRIVER_FEATURES,
                                REG_DRIVER_FEATURES_SEL, REG_QUEUE_SEL, REG_QUEUE_NUM,
                                REG_QUEUE_NOTIFY, REG_INTERRUPT_ACK, REG_QUEUE_DESC_LOW,
                                REG_QUEUE_DEVICE_HIGH, REG_SHM_SEL, REG_QUEUE_RESET, 0x018, 0x040,
                                0x0c4, 0x0f8 };
    /* read-only registers: writes change nothing */
    static const u32 ro[] = { REG_MAGIC, REG_VERSION, REG_DEVICE_ID, REG_VENDOR_ID,
                              REG_DEVICE_FEATURES, REG_QUEUE_NUM_MAX, REG_INTERRUPT_STATUS,
                              REG_CONFIG_GENERATION, REG_SHM_LEN_LOW, REG_SHM_BASE_HIGH };
    u32 before[ARRAY_SIZE(ro)];
    u64 cap = 0, a = d->base + REG_CONFIG;

    case_start("%s: access-rules", d->name);
    check(dev_up(d), "no clean initialisation");
    /* Below 0x100 only aligned 32-bit accesses: a byte of 0 to Status must not reset it. */
    access_refused(d, REG_STATUS, 1, true);
    access_refused(d, REG_STATUS, 2, true);
    access_refused(d, REG_STATUS, 1, false);
    access_refused(d, REG_STATUS, 2, false);
    access_refused(d, REG_QUEUE_DESC_LOW, 8, false);
    access_refused(d, REG_QUEUE_DESC_LOW, 8, true);
    access_refused(d, REG_QUEUE_NOTIFY, 2, true);
    access_refused(d, REG_MAGIC, 8, false);
    /* the configuration space: 8, 16 and 32 bits, never 64 */
    access_refused(d, REG_CONFIG, 8, false);
    access_refused(d, REG_CONFIG + 8, 8, true);
    if (VH_STRIDE > 0x200) { /* the rest of the slot's page */
        access_refused(d, 0x200, 4, false);
        access_refused(d, 0x200, 4, true);
        access_refused(d, VH_STRIDE - 4, 4, false);
    }
    odd_accesses(d);
    check(rd(d, REG_STATUS) == S_UP, "Status %#x after the refused accesses", rd(d, REG_STATUS));
    for (unsigned int i = 0; i < 8; i++)
        cap |= (u64)readb(a + i) << (8 * i);
    check(cap == d->sectors, "capacity read bytewise: %lu", (unsigned long)cap);
    cap = 0;
    for (unsigned int i = 0; i < 4; i++)
        cap |= (u64)readw(a + 2 * i) << (16 * i);
    check(cap == d->sectors, "capacity read in 16-bit halves: %lu", (unsigned long)cap);
    check(readl(a + 12) == SEG_MAX, "seg_max %u", readl(a + 12));
    check(readl(a + 20) == SECTOR, "blk_size %u", readl(a + 20));
    check(readw(a + 34) == 1, "num_queues %u", readw(a + 34));
    check(readl(a + CONFIG_SIZE) == 0 && readl(a + 0xfc) == 0 && readb(a + 0xff) == 0,
          "bytes past the configuration space do not read 0");
    writel(a, 0xdeadbeef);
    writeb(a + 4, 0x55);
    writew(a + 34, 7);
    check((readl(a) | (u64)readl(a + 4) << 32) == d->sectors && readw(a + 34) == 1,
          "the configuration space took a write");
    for (unsigned int i = 0; i < ARRAY_SIZE(zero); i++)
        check(rd(d, zero[i]) == 0, "offset %#x reads %#x, not 0", zero[i], rd(d, zero[i]));
    check(rd(d, REG_SHM_LEN_LOW) == 0xffffffff && rd(d, REG_SHM_BASE_HIGH) == 0xffffffff,
          "shared memory registers do not read -1 (none)");
    for (unsigned int i = 0; i < ARRAY_SIZE(ro); i++)
        before[i] = rd(d, ro[i]);
    for (unsigned int i = 0; i < ARRAY_SIZE(ro); i++)
        wr(d, ro[i], ~before[i]);
    for (unsigned int i = 0; i < ARRAY_SIZE(ro); i++)
        check(rd(d, ro[i]) == before[i], "offset %#x took a write: %#x, was %#x", ro[i],
              rd(d, ro[i]), before[i]);
    check(rd(d, REG_STATUS) == S_UP, "Status %#x", rd(d, REG_STATUS));
    good_read_disk(d);
    case_end();
}

/* ---- boundaries and orders the spec allows ---- */

/* The areas, and a buffer, flush against the end of RAM: inside, so served. */
static void case_ram_end_exact(struct vdev *d)
{
    u8 *last = (u8 *)(unsigned long)(ram_end - SECTOR);
    unsigned int st;

    case_start("%s: ram-end-exact", d->name);
    check(dev_up(d), "no clean initialisation");
    memset(last, 0, SECTOR);
    st = blk(d, T_IN, 3, ram_end - SECTOR, SECTOR, NULL);
    check(st == BLK_S_OK, "IN into the last sector of RAM: status %#x", st);
    pat_ok(last, d->tag, 3, 1);
    if (!d->ro) {
        st = blk(d, T_OUT, 3, ram_end - SECTOR, SECTOR, NULL);
        check(st == BLK_S_OK, "OUT from the last sector of RAM: status %#x", st);
        check(good_read(d, 3, 1, d->tag), "sector 3 changed");
    }
    /* descriptors, used ring, available ring in the last 512 bytes, the last flush with the end */
    dev_reset(d);
    rings_clear(d, QSIZE);
    d->desc = (struct vdesc *)(unsigned long)(ram_end - 512);
    d->used = (struct vused *)(unsigned long)(ram_end - 256);
    d->avail = (u16 *)(unsigned long)(ram_end - (6 + 2 * QSIZE));
    memset(last, 0, SECTOR);
    vh_wmb();
    check(negotiate(d, FEAT_BASE), "FEATURES_OK refused");
    queue_regs(d, QSIZE, pa(d->desc), pa(d->avail), pa(d->used));
    wr(d, REG_QUEUE_READY, 1);
    check(rd(d, REG_QUEUE_READY) == 1, "a queue ending at the end of RAM refused");
    wr(d, REG_STATUS, S_UP);
    d->live = check(rd(d, REG_STATUS) == S_UP, "Status %#x", rd(d, REG_STATUS));
    for (unsigned int i = 0; i < 2 * QSIZE; i++) /* round the rings twice */
        if (!good_read(d, i, 1, d->tag))
            break;
    /* the areas back where the other cases expect them */
    check(dev_up(d), "no clean initialisation back in place");
    case_end();
}

/* QueueNum 1: one descriptor, so a request is an indirect table, and a chain of two breaks. */
static void case_queue_num_1(struct vdev *d)
{
    struct vdesc *it = d->q->itable;
    unsigned int st;

    case_start("%s: queue-num-1", d->name);
    check(dev_up_feat(d, FEAT_BASE, 1), "a queue of 1 refused");
    for (unsigned int i = 0; i < 3; i++) {
        hdr_set(d, T_IN, 90 + i);
        desc_set(it, 0, pa(d->q->hdr), 16, D_NEXT, 1);
        desc_set(it, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 2);
        desc_set(it, 2, pa(d->q->status), 1, D_WRITE, 0);
        desc_set(d->desc, 0, pa(it), 3 * 16, D_INDIRECT, 0);
        memset(data, 0, SECTOR);
        st = submit(d, 0, NULL);
        check(st == BLK_S_OK, "request %u: status %#x", i, st);
        pat_ok(data, d->tag, 90 + i, 1);
    }
    hdr_set(d, T_IN, 0);
    desc_set(d->desc, 0, pa(d->q->hdr), 16, D_NEXT, 1);
    submit_broken(d, 0);
    case_end();
}

/* VIRTIO_F_EVENT_IDX (2.7.7, 2.7.10): avail_event written, used_event obeyed. */
static void case_event_idx(struct vdev *d)
{
    u16 *used_event = &d->q->avail[2 + QSIZE];
    u16 *avail_event = (u16 *)&d->q->used.ring[QSIZE];

    case_start("%s: event-idx", d->name);
    check(dev_up_feat(d, FEAT_BASE | BIT(F_EVENT_IDX), QSIZE), "no initialisation with EVENT_IDX");
    check(good_read(d, 1, 1, d->tag), "first read");
    check(READ_ONCE(*avail_event) == d->avail_idx, "avail_event %u after the ring emptied, not %u",
          READ_ONCE(*avail_event), d->avail_idx);
    /* used_event far ahead: completions without a notification */
    WRITE_ONCE(*used_event, (u16)(d->used_idx + 100));
    d->quiet = true;
    for (unsigned int i = 0; i < 3; i++)
        check(good_read(d, 2 + i, 1, d->tag), "read %u with used_event ahead", i);
    /* used_event at the next one: notified again */
    WRITE_ONCE(*used_event, d->used_idx);
    d->quiet = false;
    check(good_read(d, 9, 1, d->tag), "read with used_event reached");
    check(!(rd(d, REG_STATUS) & S_NEEDS_RESET), "Status %#x", rd(d, REG_STATUS));
    case_end();
}

/* Chains made available before DRIVER_OK: looked at when it is set (2.1.2, 3.1.1). */
static void case_before_driver_ok(struct vdev *d)
{
    u32 id, len;

    for (int bad = 0; bad < 2; bad++) {
        case_start("%s: %s-chain-before-driver-ok", d->name, bad ? "bad" : "good");
        dev_reset(d);
        rings_clear(d, QSIZE);
        check(negotiate(d, FEAT_BASE), "FEATURES_OK refused");
        queue_regs_std(d, QSIZE);
        wr(d, REG_QUEUE_READY, 1);
        build_req(d, 0, T_IN, 33, pa(data), SECTOR);
        if (bad)
            desc_set(d->desc, 1, pa(data), SECTOR, D_NEXT | D_WRITE, 1);
        memset(data, 0, SECTOR);
        avail_add(d, 0);
        avail_publish(d, d->avail_idx);
        notify(d);
        check(used_idx_now(d) == 0, "served before DRIVER_OK");
        wr(d, REG_STATUS, S_UP);
        d->live = true;
        if (bad) {
            expect_broken(d, 0);
        } else {
            check(rd(d, REG_STATUS) == S_UP, "Status %#x", rd(d, REG_STATUS));
            check(used_next(d, &id, &len) && id == 0, "not served at DRIVER_OK");
            check(READ_ONCE(d->q->status[0]) == BLK_S_OK, "status %#x", READ_ONCE(d->q->status[0]));
            take_vring_irq(d, true);
            pat_ok(data, d->tag, 33, 1);
        }
        case_end();
    }
}

/*
 * The data buffer laid over the queue's own areas: the device writes the
 * disk's bytes over the descriptors, the available ring or the used ring.
 * Nothing the spec promises the driver then; the device must stay inside
 * the VM and come back with a reset.
 */
static void case_data_over_rings(struct vdev *d)
{
    case_start("%s: data-over-own-rings", d->name);
    for (int w = 0; w < 3; w++) {
        u64 where = w == 0 ? pa(d->q->desc) : w == 1 ? pa(d->q->avail) : pa(&d->q->used);
        u32 st;

        check(dev_up(d), "no clean initialisation");
        avail_add(d, build_req(d, 0, T_IN, 0, where, SECTOR));
        avail_publish(d, d->avail_idx);
        notify(d);
        notify(d);
        st = rd(d, REG_STATUS);
        check((st & ~S_NEEDS_RESET) == S_UP, "Status %#x", st);
        if (st & S_NEEDS_RESET) {
            nr_breaks++;
            if (pace)
                udelay(PACE_US);
        }
        recover(d);
    }
    case_end();
}

/* ---- every 2 MiB outside this VM's RAM, as far as host RAM may reach ---- */

/*
 * A guest sees only guest-physical addresses. Had Keel taken one for a
 * host-physical address anywhere, a buffer at the host address of Keel's
 * image, of another VM's RAM (2 MiB aligned chunks) or of its own page
 * tables would have been used. From the end of this VM's RAM, every 2 MiB
 * up to 1 GiB above its base (where QEMU's RAM is, with the system tests'
 * --mem 1G: RAM starts at the same address on the host), then every
 * SWEEP_SPARSE up to 4 GiB above it: an OUT from there must break the
 * device without writing the disk, and an IN to there must break it
 * without writing anything.
 */
#define SWEEP_DENSE (1UL << 30)
#define SWEEP_SPARSE (32UL << 20)
static void sweep(struct vdev *d)
{
    u64 from = (ram_end + SZ_2M - 1) & ~(SZ_2M - 1), to = machine.ram_base + SZ_4G, n = 0;
    u64 t0 = vh_now_us();
    u64 sector = 70;

    case_start("%s: sweep-outside-ram", d->name);
    check(dev_up(d), "no clean initialisation");
    for (u64 a = from; a < to && !case_failed;
         a += a < machine.ram_base + SWEEP_DENSE ? SZ_2M : SWEEP_SPARSE, n++) {
        for (int out = 0; out < 2 && !case_failed; out++) {
            u16 before = used_idx_now(d);
            u32 st;

            avail_add(d, build_req(d, 0, out ? T_OUT : T_IN, sector, a, SECTOR));
            avail_publish(d, d->avail_idx);
            notify(d);
            nr_breaks++;
            st = rd(d, REG_STATUS);
            check(st & S_NEEDS_RESET, "%s at %#lx: Status %#x", out ? "OUT" : "IN",
                  (unsigned long)a, st);
            check(used_idx_now(d) == before, "%s at %#lx: used", out ? "OUT" : "IN",
                  (unsigned long)a);
            check(READ_ONCE(d->q->status[0]) == 0xff, "%s at %#lx: a status was written",
                  out ? "OUT" : "IN", (unsigned long)a);
            dev_reset(d);
            check(dev_up(d), "no clean initialisation after %#lx", (unsigned long)a);
        }
        if (n % 64 == 0)
            check(good_read(d, sector, 1, d->tag), "sector %lu changed (last address %#lx)",
                  (unsigned long)sector, (unsigned long)a);
    }
    check(good_read(d, sector, 1, d->tag), "sector %lu changed", (unsigned long)sector);
    check(good_read_disk(d), "no good read after the sweep");
    case_end();
    printf("virtio-hostile: sweep: %lu addresses from %#lx to %#lx, %lu ms\n", (unsigned long)n,
           (unsigned long)from, (unsigned long)to, (unsigned long)((vh_now_us() - t0) / 1000));
}

/* ---- the racer, on a second vCPU ---- */
static void net_race(void);

static void racer(void *arg)
{
    (void)arg;
    while (READ_ONCE(racing)) {
        for (unsigned int i = 0; i < 2; i++) {
            writel(disks[i].base + REG_QUEUE_NOTIFY, 0);
            (void)readl(disks[i].base + REG_STATUS);
            (void)readl(disks[i].base + REG_INTERRUPT_STATUS);
            (void)readl(disks[i].base + REG_CONFIG);
        }
        net_race();
        WRITE_ONCE(racer_notifies, racer_notifies + 2);
    }
}

/* ---- the notification storm ---- */
static int wait_char(u64 max_us)
{
    u64 end = vh_now_us() + max_us;
    int c;

    while ((c = vh_getc()) < 0) {
        if (vh_now_us() > end)
            return -1;
        udelay(2000); /* not a trap a microsecond while the VM beside boots */
    }
    return c;
}

#include "virtio_hostile_net.inc"

static void storm(void)
{
    struct vdev *d = &disks[0], *r = &disks[1];
    struct vdev empty = { .name = "empty", .base = VH_EMPTY_SLOT };
    u64 n = 0, breaks = 0, t0, end, raced;
    bool stop = false;
    int c;

    case_start("storm");
    check(dev_up(d) && dev_up(r), "no clean initialisation");
    check(!net.present || net_storm_start(), "no clean initialisation of the network port");
    printf("virtio-hostile: storm: waiting for 's'\n");
    do
        c = wait_char(SIGNAL_MAX_US);
    while (c >= 0 && c != 's');
    if (!check(c == 's', "no 's' on the console")) {
        case_end();
        return;
    }
    printf("virtio-hostile: storm: started\n");
    t0 = vh_now_us();
    raced = READ_ONCE(racer_notifies);
    end = t0 + STORM_MAX_US;
    for (;;) {
        bool disk_more = !(stop && n + READ_ONCE(racer_notifies) - raced >= STORM_MIN);

        if (case_failed || !(disk_more || (net.present && net.storm_frames < NET_STORM_MIN)))
            break;
        /* broadcast frames: the peers' bounded queues fill, drop and count */
        if (net.present)
            net_storm_round();
        if (!disk_more)
            goto next; /* the disks had their share: only the network's is missing */
        /* an idle live queue: each costs the device a look at the available idx */
        for (int i = 0; i < STORM_ROUND - 4000; i++)
            wr(d, REG_QUEUE_NOTIFY, 0);
        for (int i = 0; i < 1000; i++)
            wr(d, REG_QUEUE_NOTIFY, i & 1 ? 1 : 0xffffffffu); /* queues it lacks */
        for (int i = 0; i < 1000; i++)
            wr(&empty, REG_QUEUE_NOTIFY, 0);
        for (int i = 0; i < 1000; i++)
            wr(r, REG_QUEUE_NOTIFY, 0);
        n += STORM_ROUND - 1000;
        /* broken, notified, reset, up again */
        hdr_set(d, T_IN, 0);
        desc_set(d->desc, 0, pa(d->q->hdr), 16, D_NEXT, 0);
        avail_add(d, 0);
        avail_publish(d, d->avail_idx);
        for (int i = 0; i < 1000; i++)
            wr(d, REG_QUEUE_NOTIFY, 0);
        n += 1000;
        breaks++;
        nr_breaks++;
        check(rd(d, REG_STATUS) & S_NEEDS_RESET, "a looping chain did not break the device");
        dev_reset(d);
        check(dev_up(d), "no clean initialisation");
        check(good_read(d, (n / STORM_ROUND) % RW_SECTORS, 1, d->tag), "read during the storm");
        check(good_read(r, (n / STORM_ROUND) % RO_SECTORS, 1, r->tag),
              "read of the read-only disk during the storm");
next:
        while ((c = vh_getc()) >= 0)
            stop |= c == 'e';
        if (!check(vh_now_us() < end, "no 'e' within %lu s", STORM_MAX_US / 1000000))
            break;
    }
    {
        u64 us = vh_now_us() - t0;
        raced = READ_ONCE(racer_notifies) - raced;
        n += raced;
        printf("virtio-hostile: storm: %lu notifications (%lu from the racer), %lu breaks in %lu "
               "ms (%lu per ms)\n", (unsigned long)n, (unsigned long)raced,
               (unsigned long)breaks, (unsigned long)(us / 1000),
               (unsigned long)(us >= 1000 ? n / (us / 1000) : n));
        if (net.present)
            printf("virtio-hostile: storm: %lu broadcast frames\n",
                   (unsigned long)net.storm_frames);
    }
    check(good_read_disk(d) && good_read_disk(r), "no good read after the storm");
    case_end();
}

static void disk_init(struct vdev *d, unsigned int index, bool ro)
{
    *d = (struct vdev){
        .name = ro ? "ro" : "rw",
        .index = index,
        .base = VH_DISK0 - index * VH_STRIDE,
        .line = vh_line_of(index),
        .sectors = ro ? RO_SECTORS : RW_SECTORS,
        .tag = ro ? RO_TAG : RW_TAG,
        .ro = ro,
        .q = &qmem[index],
    };
    vh_line_init(d->line);
}

void guest_main(void)
{
    u64 t0 = vh_now_us();

    ram_end = machine.ram_base + machine.ram_size;
    printf("virtio-hostile: %s, RAM %#lx-%#lx, disks at %#lx and %#lx\n", VH_ARCH,
           (unsigned long)machine.ram_base, (unsigned long)ram_end, VH_DISK0,
           VH_DISK0 - VH_STRIDE);
    disk_init(&disks[0], 0, false);
    disk_init(&disks[1], 1, true);
    net_init();
    if (readl(disks[0].base + REG_DEVICE_ID) != 2 || readl(disks[1].base + REG_DEVICE_ID) != 2) {
        printf("virtio-hostile: disks: FAIL DeviceID %u and %u (the VM needs "
               "disk=rw.img;ro.img:ro)\n",
               readl(disks[0].base + REG_DEVICE_ID), readl(disks[1].base + REG_DEVICE_ID));
        report(false, "virtio-hostile: disks");
        return;
    }

    racing = true;
    if (vh_start_racer(racer))
        printf("virtio-hostile: a racer notifies from a second vCPU\n");
    else
        racing = false;
    case_empty_slot();
    for (unsigned int i = 0; i < 2; i++) {
        struct vdev *d = &disks[i];
        cases_identity(d);
        cases_requests(d);
        cases_features(d);
        case_status_sequence(d);
    }
    case_access_rules(&disks[0]);
    case_access_rules(&disks[1]);
    if (pace)
        udelay(1100000); /* Keel's lines about the refused accesses: a new second for the breaks' */
    case_features_frozen(&disks[0]);
    case_before_driver_ok(&disks[0]);
    case_event_idx(&disks[0]);
    case_queue_num_1(&disks[0]);
    case_ram_end_exact(&disks[0]);
    case_ram_end_exact(&disks[1]);
    cases_queue_setup(&disks[0]);
    cases_outside(&disks[0]);
    cases_outside(&disks[1]);
    cases_chains(&disks[0]);
    cases_indirect(&disks[0]);
    case_data_over_rings(&disks[0]);
    /* Unpaced from here: Keel's log limit shows. */
    pace = false;
    sweep(&disks[0]);
    printf("virtio-hostile: cases done: %u cases, %u failed, %u breaks, %lu ms\n", nr_cases,
           nr_failed, nr_breaks, (unsigned long)((vh_now_us() - t0) / 1000));
    if (net.present) {
        pace = true;
        udelay(1100000); /* the sweep's suppressed lines counted: a new second for the port's */
        net_cases();
        pace = false;
    }
    storm();
    if (net.present && net.peers)
        net_case_rx_broadcast_after_storm();
    if (racing) {
        racing = false;
        case_start("racer");
        check(vh_racer_done(), "the racer did not stop");
        check(racer_notifies > 0, "the racer did nothing");
        case_end();
        printf("virtio-hostile: racer: %lu notifications\n", (unsigned long)racer_notifies);
    }
    /*
     * Keel says how many lines it suppressed only when the next one comes
     * after its one-second window: one more break after a quiet second, so
     * every break above is accounted for in its log.
     */
    case_start("rw: last-break-after-a-quiet-second");
    udelay(1100000);
    check(dev_up(&disks[0]), "no clean initialisation");
    hdr_set(&disks[0], T_IN, 0);
    desc_set(disks[0].desc, 0, pa(disks[0].q->hdr), 16, D_NEXT, 0);
    submit_broken(&disks[0], 0);
    case_end();
    printf("virtio-hostile: summary: %u cases, %u failed, %u breaks\n", nr_cases, nr_failed,
           nr_breaks);
    report(nr_failed == 0, "virtio-hostile: %u cases", nr_cases);
    dev_reset(&disks[0]);
    dev_reset(&disks[1]);
}

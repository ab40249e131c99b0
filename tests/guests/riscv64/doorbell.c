/*
 * doorbell: Keel's own SBI extension (SBI_EXT_KEEL, docs/hypercalls.md)
 * and a shared-memory region between two VMs running this guest, from
 * inside one of them. Keel-only: natively there is no such extension.
 *  - the DT: a "keel,shmem" node (reg outside RAM, keel,id, keel,name,
 *    interrupts = <80 + id> with interrupt-parent the PLIC), and the VM's
 *    own name in the root's model ("keel,<name>")
 *  - the extension: probe_extension finds it, VERSION gives 1, DOORBELL
 *    with an id the VM does not map (past its regions, ~0, the valid id
 *    plus 2^32) SBI_ERR_INVALID_PARAM, an unknown FID SBI_ERR_NOT_SUPPORTED
 *  - the rendezvous: each VM claims one of the two slots of the region,
 *    writes a message naming itself there, enables the doorbell's PLIC
 *    source in its S context and sie.SEIE, then rings every RING_EVERY_US
 *    until it has the peer's message, has received a doorbell itself and
 *    the peer says it has received one. Each ring is an edge into the
 *    peer's vPLIC, which keeps it pending even while the peer has not
 *    enabled the source yet; a ring before the peer runs is lost (DOORBELL
 *    says 0 VMs rung), so each side keeps ringing until the peer has heard.
 *    Every S-external interrupt is claimed (the doorbell's source, never
 *    another) and completed; the ring values are 0 or 1, at least one 1.
 */
#include <string.h>
#include "libguest.h"

#define SBI_EXT_KEEL 0x0a4b454cUL /* 0x0A000000 + Keel's SBI implementation ID 0x4B454C */
#define SBI_KEEL_VERSION 0
#define SBI_KEEL_DOORBELL 1
#define KEEL_DOORBELL_LINE 80 /* + keel,id: the doorbell's PLIC source */

#define RENDEZVOUS_US 30000000 /* the peer boots alongside; generous for a busy host */
#define RING_EVERY_US 20000

/* The region: two slots of 256 bytes, each owned by one VM (by a hash of its name). */
#define SLOTS 2
struct slot {
    volatile u32 owner;    /* name_hash() of the VM using it, 0: free */
    volatile u32 received; /* doorbells that VM has claimed */
    volatile u32 seq;      /* bumped once the message is written */
    u32 pad;
    volatile char msg[240];
};

static struct slot *slots;
static u32 shm_id, doorbell_src, me;
static const char *my_name = "?";
static volatile unsigned int received, other_claims, timer_ticks;

static struct sbiret keel_call(unsigned long fid, unsigned long a0)
{
    return sbi_call1(SBI_EXT_KEEL, fid, a0);
}

/* ---- the DT ---- */
static bool test_dt(void)
{
    int node = dt_find_compatible(-1, "keel,shmem"), len, plic;
    const char *model = dt_prop(0, "model", NULL), *name;
    const void *irq;
    u64 base = 0, size = 0;
    u32 plic_phandle;

    bool named = model && !strncmp(model, "keel,", 5) && model[5];

    if (named)
        my_name = model + 5;
    report(named, "own name from the root's model: '%s'", model ? model : "(none)");
    if (!report(node >= 0, "a keel,shmem node in the DT"))
        return false;
    name = dt_prop(node, "keel,name", NULL);
    shm_id = dt_u32(node, "keel,id", ~0U);
    report(name && shm_id != ~0U, "keel,name '%s', keel,id %u", name ? name : "(none)", shm_id);
    report(dt_reg(node, 0, &base, &size) && size >= SLOTS * sizeof(struct slot) &&
           (base + size <= machine.ram_base || base >= machine.ram_base + machine.ram_size),
           "reg %#lx+%#lx, outside RAM", (unsigned long)base, (unsigned long)size);
    irq = dt_prop(node, "interrupts", &len);
    doorbell_src = irq && len == 4 ? dt_be32(irq) : 0;
    report(doorbell_src == KEEL_DOORBELL_LINE + shm_id && doorbell_src <= machine.plic_ndev,
           "interrupts = <%u> (80 + keel,id), a source of the PLIC (riscv,ndev %u)", doorbell_src,
           machine.plic_ndev);
    plic = dt_find_compatible(-1, "riscv,plic0");
    plic_phandle = plic >= 0 ? dt_u32(plic, "phandle", 0) : 0;
    report(plic_phandle && dt_u32(node, "interrupt-parent", 0) == plic_phandle,
           "interrupt-parent is the PLIC (phandle %u)", plic_phandle);
    slots = (struct slot *)base;
    return base && size >= SLOTS * sizeof(struct slot) && doorbell_src == KEEL_DOORBELL_LINE + shm_id;
}

/* The lowest id no keel,shmem node of this VM has. */
static u32 unmapped_id(void)
{
    u32 id = 0;

    for (bool again = true; again;) {
        again = false;
        for (int n = dt_find_compatible(-1, "keel,shmem"); n >= 0;
             n = dt_find_compatible(n, "keel,shmem"))
            if (dt_u32(n, "keel,id", ~0U) == id) {
                id++;
                again = true;
            }
    }
    return id;
}

/* ---- the extension ---- */
static void test_extension(void)
{
    struct sbiret r = sbi_probe_extension(SBI_EXT_KEEL);
    const unsigned long bad[] = { unmapped_id(), ~0UL, ~0U, (1UL << 32) + shm_id };

    report(!r.error && r.value == 1, "probe_extension(%#lx): error %ld, value %ld (1)", SBI_EXT_KEEL,
           r.error, r.value);
    r = keel_call(SBI_KEEL_VERSION, 0);
    report(!r.error && r.value == 1, "VERSION: error %ld, value %ld (1)", r.error, r.value);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        r = keel_call(SBI_KEEL_DOORBELL, bad[i]);
        report(r.error == SBI_ERR_INVALID_PARAM, "DOORBELL of id %#lx, a region not mapped: error %ld",
               bad[i], r.error);
    }
    r = keel_call(0x100, 0);
    report(r.error == SBI_ERR_NOT_SUPPORTED, "unknown FID 0x100: error %ld", r.error);
}

/* ---- the region ---- */
static u32 name_hash(const char *s)
{
    u32 h = 2166136261U; /* FNV-1a */

    while (*s)
        h = (h ^ (u8)*s++) * 16777619U;
    /* LR.W sign-extends: 31 bits compare equal either way; never 0 (free) */
    return (h & 0x7fffffffU) | 1;
}

/* owner: @old -> @new if it was @old; returns what it was. */
static u32 cas_owner(volatile u32 *p, u32 old, u32 new)
{
    u32 was;
    unsigned long fail;

    __asm__ volatile("1: lr.w.aqrl %0, (%2)\n"
                     "   bne %0, %3, 2f\n"
                     "   sc.w.rl %1, %4, (%2)\n"
                     "   bnez %1, 1b\n"
                     "2:"
                     : "=&r"(was), "=&r"(fail) : "r"(p), "r"((unsigned long)old), "r"(new)
                     : "memory");
    return was;
}

/* The slot this VM owned before (a restart), else a free one. */
static bool claim_slot(void)
{
    u32 h = name_hash(my_name);

    for (me = 0; me < SLOTS; me++)
        if (slots[me].owner == h)
            return true;
    for (me = 0; me < SLOTS; me++)
        if (cas_owner(&slots[me].owner, 0, h) == 0)
            return true;
    return false;
}

static void post_message(void)
{
    struct slot *s = &slots[me];
    char text[sizeof(s->msg)];

    snprintf(text, sizeof(text), "hello from %s", my_name);
    s->received = 0;
    for (unsigned int i = 0; i < sizeof(text); i++)
        s->msg[i] = text[i];
    mb(); /* the message before its sequence number, both before any ring */
    s->seq = s->seq + 1;
    mb();
}

static bool peer_posted(void)
{
    return READ_ONCE(slots[!me].seq) != 0;
}

/* ---- interrupts ---- */
static int my_ctx(void) { return machine.plic_context[hart_id()]; }

/* Every claim completed; the doorbell counted, and published for the peer. */
static void ext_handler(struct trap_frame *f)
{
    u64 claim = machine.plic_base + PLIC_CLAIM(my_ctx());
    u32 src;

    while ((src = readl(claim))) {
        if (src == doorbell_src)
            slots[me].received = ++received;
        else
            other_claims++;
        writel(claim, src);
    }
}

static void timer_handler(struct trap_frame *f)
{
    sbi_set_timer(~0UL);
    timer_ticks++;
}

static void doorbell_enable(void)
{
    int ctx = my_ctx();
    u64 en = machine.plic_base + PLIC_ENABLE(ctx, doorbell_src);

    writel(machine.plic_base + PLIC_PRIORITY(doorbell_src), 1);
    writel(machine.plic_base + PLIC_THRESHOLD(ctx), 0);
    writel(en, readl(en) | (u32)BIT(doorbell_src % 32));
    irq_set_handler(IRQ_S_EXT, ext_handler);
    irq_set_handler(IRQ_S_TIMER, timer_handler);
    csr_set(sie, SIE_SEIE | SIE_STIE);
    local_irq_enable();
}

/* WFI until the timer, doorbells taken meanwhile; SIE off around the check, so none is missed. */
static void nap(u64 us)
{
    unsigned int tick = timer_ticks;

    sbi_set_timer(rdtime() + us_to_ticks(us));
    local_irq_disable();
    while (READ_ONCE(timer_ticks) == tick) {
        wfi();
        local_irq_enable();
        local_irq_disable();
    }
    local_irq_enable();
}

static bool rendezvous_done(void)
{
    return peer_posted() && READ_ONCE(received) >= 1 && READ_ONCE(slots[!me].received) >= 1;
}

static void test_rendezvous(void)
{
    u64 start = rdtime(), end = start + us_to_ticks(RENDEZVOUS_US);
    unsigned int rings = 0, reached = 0, odd = 0;
    char peer_msg[sizeof(slots[0].msg)];
    struct sbiret r;

    doorbell_enable();
    while (!rendezvous_done() && rdtime() < end) {
        r = keel_call(SBI_KEEL_DOORBELL, shm_id);
        rings++;
        reached += !r.error && r.value == 1;
        odd += r.error || r.value < 0 || r.value > 1;
        nap(RING_EVERY_US);
    }
    report_info("%u rings in %lu ms, %u reached the peer", rings,
                (unsigned long)(ticks_to_us(rdtime() - start) / 1000), reached);
    report(!odd, "DOORBELL: error 0 and 0 or 1 VMs rung, every time (%u otherwise)", odd);
    report(reached >= 1, "a ring reached the running peer (value 1)");
    report(received >= 1, "doorbells received: %u, each claimed as source %u and completed",
           received, doorbell_src);
    report(!other_claims, "no other source claimed (%u)", other_claims);
    report(slots[!me].received >= 1, "the peer received a doorbell (%u)", slots[!me].received);
    if (!report(peer_posted(), "a message from the peer in slot %u", !me))
        return;
    mb(); /* its sequence number before its message */
    for (unsigned int i = 0; i < sizeof(peer_msg); i++)
        peer_msg[i] = slots[!me].msg[i];
    peer_msg[sizeof(peer_msg) - 1] = 0;
    report(!strncmp(peer_msg, "hello from ", 11) && strcmp(peer_msg + 11, my_name),
           "message from the peer: '%s'", peer_msg);
}

void guest_main(void)
{
    bool dt_ok = test_dt();

    report_info("vm %s: shared memory %u at %p, doorbell source %u, S context %d", my_name, shm_id,
                (void *)slots, doorbell_src, my_ctx());
    test_extension();
    if (!dt_ok || my_ctx() < 0)
        return;
    if (!report(claim_slot(), "slot %u of the region claimed", me))
        return;
    post_message();
    test_rendezvous();
    local_irq_disable();
    csr_clear(sie, SIE_SEIE | SIE_STIE);
}

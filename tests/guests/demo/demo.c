/*
 * The bare-metal demo guest that `make run` starts next to Linux: it prints
 * over its PL011, takes virtual timer interrupts (one line every
 * DEMO_TICK_S seconds), and talks to a peer VM through a Keel shared-memory
 * region ("keel,shmem" node in its DT) and the KEEL_HC_DOORBELL hypercall.
 *
 * Shared-memory layout (the peer may be another demo guest or Linux using
 * devmem): two mailboxes of 256 bytes. A guest claims mailbox 0 or 1 with an
 * exclusive store on the claim word, writes a message and bumps its
 * sequence number, then rings the doorbell. On the doorbell (or a timer tick,
 * for peers that cannot ring), it prints any new message in the other
 * mailbox and answers the first one once.
 */
#include <libfdt.h>
#include "../lib/libguest.h"

#define KEEL_HC_DOORBELL 0xc6000001U
#define DEMO_TICK_S 5

struct mailbox {
    volatile u32 seq;
    volatile char text[252];
};

struct shared {
    volatile u32 claim[2];
    u32 pad[62];
    struct mailbox box[2];
};

static struct shared *shm;
static u32 shm_id, doorbell_intid, me;
static const char *my_name = "demo";
static u32 seen_seq, ticks;
static bool answered;

static void find_shmem(void)
{
    const void *fdt = (const void *)machine.dtb;
    int node = fdt_node_offset_by_compatible(fdt, -1, "keel,shmem"), len;
    const fdt32_t *reg, *id, *irq;
    const char *model = fdt_getprop(fdt, 0, "model", NULL);

    if (model && !strncmp(model, "keel,", 5))
        my_name = model + 5;
    if (node < 0)
        return;
    reg = fdt_getprop(fdt, node, "reg", &len);
    id = fdt_getprop(fdt, node, "keel,id", NULL);
    irq = fdt_getprop(fdt, node, "interrupts", NULL);
    if (!reg || len < 16 || !id || !irq)
        return;
    shm = (struct shared *)(((u64)fdt32_to_cpu(reg[0]) << 32) | fdt32_to_cpu(reg[1]));
    shm_id = fdt32_to_cpu(id[0]);
    doorbell_intid = fdt32_to_cpu(irq[1]) + 32;
}

/* Claims mailbox 0 if nobody has, else mailbox 1. */
static u32 claim_mailbox(void)
{
    for (u32 i = 0; i < 2; i++) {
        u32 old, fail;
        __asm__ volatile("1: ldaxr %w0, [%2]\n"
                         "   cbnz %w0, 2f\n"
                         "   stlxr %w1, %w3, [%2]\n"
                         "   cbnz %w1, 1b\n"
                         "2:"
                         : "=&r"(old), "=&r"(fail) : "r"(&shm->claim[i]), "r"(1) : "memory");
        if (old == 0)
            return i;
    }
    return 1;
}

static void post(const char *text)
{
    struct mailbox *b = &shm->box[me];

    for (unsigned int i = 0; i < sizeof(b->text) - 1 && (i == 0 || text[i - 1]); i++)
        b->text[i] = text[i];
    dsb(ish);
    b->seq = b->seq + 1;
    dsb(ish);
    struct smccc_res r = smccc_hvc(KEEL_HC_DOORBELL, shm_id, 0, 0);
    printf("demo %s: posted '%s' in mailbox %u, doorbell rang %ld peer(s)\n", my_name, text, me,
           (long)r.a0);
}

static void check_peer(void)
{
    struct mailbox *b = &shm->box[!me];
    char text[sizeof(b->text)];

    if (!shm || b->seq == seen_seq)
        return;
    seen_seq = b->seq;
    dsb(ish);
    for (unsigned int i = 0; i < sizeof(text); i++)
        text[i] = b->text[i];
    text[sizeof(text) - 1] = '\0';
    printf("demo %s: message from peer: %s\n", my_name, text);
    if (!answered) {
        char reply[64];
        answered = true;
        snprintf(reply, sizeof(reply), "ack from %s", my_name);
        post(reply);
    }
}

static void on_doorbell(u32 intid, struct ex_frame *f)
{
    printf("demo %s: doorbell (INTID %u)\n", my_name, intid);
    check_peer();
}

/* Through CVAL: DEMO_TICK_S seconds do not fit TVAL's signed 32 bits at 1 GHz (QEMU 10). */
static void arm_tick(void)
{
    vtimer_set_cval(cntvct() + DEMO_TICK_S * cnt_freq());
}

static void on_tick(u32 intid, struct ex_frame *f)
{
    arm_tick();
    ticks++;
    printf("demo %s: tick %u (virtual timer, every %u s)\n", my_name, ticks, DEMO_TICK_S);
    check_peer();
}

void guest_main(void)
{
    char hello[64];

    find_shmem();
    printf("demo %s: bare-metal guest up on %u vCPU(s), RAM %#lx+%lu MiB\n", my_name,
           machine.nr_cpus, machine.ram_base, machine.ram_size >> 20);
    irq_set_handler(machine.timer_ppi[2], on_tick);
    gic_irq_enable(machine.timer_ppi[2]);
    arm_tick();
    vtimer_set_ctl(CNT_CTL_ENABLE);
    if (shm) {
        me = claim_mailbox();
        printf("demo %s: shared memory %u at %p, doorbell INTID %u, mailbox %u\n", my_name,
               shm_id, (void *)shm, doorbell_intid, me);
        irq_set_handler(doorbell_intid, on_doorbell);
        gic_spi_set_edge(doorbell_intid, true);
        gic_irq_enable(doorbell_intid);
        snprintf(hello, sizeof(hello), "hello from %s", my_name);
        post(hello);
    } else {
        printf("demo %s: no shared memory configured\n", my_name);
    }
    local_irq_enable();
    for (;;)
        __asm__ volatile("wfi");
}

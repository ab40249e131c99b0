/*
 * Emulated RISC-V PLIC (riscv-plic-spec 1.0.0), one per VM: the virtual
 * interrupt controller of the RISC-V port, behind struct virqchip_ops as the
 * vGIC is on arm64 (keel/irqchip.h). Line N of the VM is source N.
 *
 * A pure state machine, with the contract of the emulated UARTs
 * (keel/vpl011.h): it knows nothing of VMs, vCPUs or the host PLIC. The MMIO
 * trap path calls vplic_read()/vplic_write(), emulated devices call
 * vplic_set_level() or vplic_pulse(), and what the controller does in
 * return leaves through two callbacks: notify() when a context's external
 * interrupt output changes (the arch sets or clears that vCPU's
 * hvip.VSEIP), hw_complete() when the guest completes a hardware-backed
 * source (Keel completes its own claim of it on the host PLIC). Neither
 * callback may call back into the same struct vplic. Nothing here locks:
 * the caller serialises every call on one controller, and the callbacks run
 * inside those calls, under its lock.
 *
 * Contexts, and what Keel exposes. QEMU's virt board gives each hart two
 * contexts, M-mode (2i) and S-mode (2i+1). A guest runs in VS-mode and has
 * no M-mode, so Keel gives VMs S-mode contexts only (VPLIC_S_ONLY): context
 * i is vCPU i's S-mode, and the guest DT lists one entry per vCPU in
 * interrupts-extended, <&cpuN_intc 9> (9: the supervisor external
 * interrupt), which Linux and the other DT-driven kernels follow. A guest
 * that hard-codes QEMU's numbering (xv6 writes context 2*hart+1) gets
 * VPLIC_M_AND_S: the M-mode contexts exist as registers but their output is
 * wired to nothing, like any context a platform does not connect (the
 * spec's "Interrupt Targets and Hart Contexts"), and its DT lists
 * <&cpuN_intc 11 &cpuN_intc 9> per vCPU as QEMU's does.
 *
 * The model, and why:
 *  - Priorities and thresholds have 3 bits (0-7), the 7 levels of QEMU's
 *    virt PLIC and of SiFive's. Both are WARL by masking: a write keeps its
 *    low 3 bits, so software that writes all-ones to find the implemented
 *    bits reads back 7, as the spec's "Interrupt Priorities" asks (every
 *    combination of the variable bits is a valid level). Priority 0 is
 *    "never interrupt": such a source is neither signalled nor claimed
 *    (Linux masks a source by writing priority 0).
 *  - A context's output (EIP) is "a source is pending, enabled for the
 *    context and of priority above its threshold".
 *  - A claim returns the pending source enabled for the context with the
 *    highest priority, ties going to the lowest ID (spec "Interrupt
 *    Identifiers"), or 0. As the spec's "Interrupt Claim Process" says, the
 *    threshold does not affect it (a hart may poll by claiming with the
 *    threshold at its maximum); only priority 0 keeps a source out. QEMU's
 *    PLIC applies the threshold to claims; no guest that claims after a
 *    notification can tell the difference.
 *  - Gateways (spec "Interrupt Gateways"). A claimed source is in service
 *    until completed, and no new request of it becomes pending meanwhile.
 *    Level-triggered (vplic_set_level): the line rising while the source is
 *    neither pending nor in service makes it pending; a completion while the
 *    line is still high makes it pending again. As on hardware, a request
 *    once forwarded is not retracted: the line falling leaves the pending
 *    bit until a claim takes it (QEMU drops it instead), so a guest may
 *    claim a source whose device no longer asks; drivers are written for
 *    that. Edge-triggered (vplic_pulse): an edge makes the source pending;
 *    an edge while it is in service is remembered (one, not counted) and
 *    becomes pending at completion, so a doorbell that rings while its
 *    handler runs is not lost.
 *  - A completion names a source ID; if that source is not enabled for the
 *    completing context it is silently ignored (spec "Interrupt
 *    Completion"; Linux enables a disabled source around its completion for
 *    that reason). Which context claimed it is not checked. A completion of
 *    a source not in service does nothing.
 *  - Hardware-backed sources (vplic_set_hw): a physical interrupt passed
 *    through. Keel claims it on the host PLIC and calls vplic_pulse() once
 *    per host claim; the host gateway holds the source until Keel completes
 *    that claim, which it does from hw_complete(), called when the guest's
 *    completion ends the source's service. Every pulse of a hardware-backed
 *    source ends in exactly one hw_complete(): at completion, or at
 *    vplic_reset() for a request still pending or in service.
 *
 * Registers (spec "Memory Map"): 32-bit, accessed with 4-byte loads and
 * stores at 4-byte aligned offsets; anything else fails, as does an offset
 * at or beyond vplic_size(), so the caller injects an access fault (QEMU's
 * PLIC accepts only 4-byte accesses too). Inside the window, everything the
 * spec reserves or the controller lacks reads as zero and ignores writes:
 * source 0 and sources above ndev (priority, pending and enable bits), the
 * enable blocks of contexts that do not exist, the rest of each context's
 * 4 KiB page. The pending bits are read-only (a claim is the way to clear
 * one).
 */
#ifndef KEEL_VPLIC_H
#define KEEL_VPLIC_H

#include <keel/types.h>

#define VPLIC_MAX_SOURCES 1023 /* IDs 1..1023: ID 0 means "no interrupt" */
#define VPLIC_MAX_CONTEXTS 32
#define VPLIC_PRIORITY_MAX 7 /* 3 priority bits */
#define VPLIC_WORDS 32       /* 32-bit words of a bitmap over IDs 0..1023 */

/* Register blocks, where the spec's "Memory Map" puts them. */
#define VPLIC_PRIORITY_BASE 0x000000
#define VPLIC_PENDING_BASE 0x001000
#define VPLIC_ENABLE_BASE 0x002000
#define VPLIC_ENABLE_STRIDE 0x80 /* per context */
#define VPLIC_CONTEXT_BASE 0x200000
#define VPLIC_CONTEXT_STRIDE 0x1000 /* per context: threshold at +0, claim/complete at +4 */
#define VPLIC_SIZE(nr_contexts) (VPLIC_CONTEXT_BASE + (u64)(nr_contexts) * VPLIC_CONTEXT_STRIDE)

enum vplic_layout {
    VPLIC_S_ONLY,  /* context i = vCPU i's S-mode: what Keel gives VMs */
    VPLIC_M_AND_S, /* context 2i = vCPU i's M-mode (no output), 2i + 1 = its S-mode: QEMU virt's numbering */
    VPLIC_M_AND_S_WIRED, /* the same numbering, M-mode contexts wired too: guests that have an M-mode */
};

/* A wired context's external interrupt output changed (vplic_context_vcpu says whose). */
typedef void (*vplic_notify_fn)(void *opaque, unsigned int context, bool level);
/* The guest completed hardware-backed @source: end the host's claim of it. */
typedef void (*vplic_complete_fn)(void *opaque, u32 source);

struct vplic_config {
    u32 ndev;              /* sources 1..ndev (the DT's riscv,ndev), 1 to VPLIC_MAX_SOURCES */
    unsigned int nr_vcpus; /* at least 1; the contexts must fit in VPLIC_MAX_CONTEXTS */
    enum vplic_layout layout;
    vplic_notify_fn notify;        /* may be NULL */
    vplic_complete_fn hw_complete; /* may be NULL */
    bool no_level_refire;          /* QEMU's gateway: a completion does not look at the line */
    void *opaque;                  /* passed to both */
};

struct vplic {
    u32 ndev;
    unsigned int nr_vcpus;
    unsigned int nr_contexts;
    enum vplic_layout layout;

    /* Bitmaps over source IDs, bit N of word N / 32 as the pending registers are. */
    u32 pending[VPLIC_WORDS];   /* the IP bits: requests forwarded by the gateways */
    u32 claimed[VPLIC_WORDS];   /* in service: claimed, not completed yet */
    u32 level[VPLIC_WORDS];     /* input lines of level-triggered sources */
    u32 edge_held[VPLIC_WORDS]; /* an edge arrived while in service */
    u32 hw[VPLIC_WORDS];        /* hardware-backed sources */
    u8 priority[VPLIC_MAX_SOURCES + 1];

    u32 enable[VPLIC_MAX_CONTEXTS][VPLIC_WORDS];
    u8 threshold[VPLIC_MAX_CONTEXTS];
    bool eip[VPLIC_MAX_CONTEXTS]; /* output as last computed (and reported, for S contexts) */

    vplic_notify_fn notify;
    vplic_complete_fn hw_complete;
    void *opaque;
    bool no_level_refire;
};

/*
 * Sizes the controller from @cfg and puts it in its reset state: every
 * priority, enable and threshold 0, nothing pending, in service or
 * hardware-backed, every input line low, every output low. 0, or -1 if
 * ndev, the number of contexts or the layout is out of range (nothing is
 * changed).
 * It calls no callback.
 */
int vplic_init(struct vplic *p, const struct vplic_config *cfg);

/*
 * Back to the reset state, keeping the configuration and which sources are
 * hardware-backed. Input lines go low: the devices driving them are reset
 * with the VM. Calls hw_complete() once for every request of a
 * hardware-backed source still pending or in service, so the host claims
 * are ended; never notify(): the caller clears its vCPUs' interrupt state.
 */
void vplic_reset(struct vplic *p);

/* The register window: VPLIC_SIZE(contexts), what the caller maps and the guest DT's reg says. */
u64 vplic_size(const struct vplic *p);
/* The vCPU whose S-mode @context is; false for an M-mode context or one that does not exist. */
bool vplic_context_vcpu(const struct vplic *p, unsigned int context, unsigned int *vcpu);
/* Whether @context is wired to a vCPU's M-mode (VPLIC_M_AND_S_WIRED), and whose. */
bool vplic_context_vcpu_m(const struct vplic *p, unsigned int context, unsigned int *vcpu);
/* The S-mode context of @vcpu (< nr_vcpus). */
unsigned int vplic_vcpu_context(const struct vplic *p, unsigned int vcpu);
/* A context's output now: what notify() last said for it (false if it does not exist). */
bool vplic_eip(const struct vplic *p, unsigned int context);

/* 0 on success, -1 if the access is not allowed (size, alignment, window): the caller injects an access fault */
int vplic_read(struct vplic *p, u64 offset, unsigned int size, u64 *value);
int vplic_write(struct vplic *p, u64 offset, unsigned int size, u64 value);

/* Inputs. False, and nothing done, if @source is not 1..ndev. */
bool vplic_set_level(struct vplic *p, u32 source, bool level); /* a level-triggered line */
bool vplic_pulse(struct vplic *p, u32 source);                  /* an edge */
bool vplic_set_hw(struct vplic *p, u32 source, bool hw);        /* mark hardware-backed */

#endif

/*
 * The isolation test guest: tries to read and write what is not its own
 * (host RAM where other VMs and Keel's allocations live, the pristine boot
 * modules, an unassigned device, the physical GIC's frames that are not
 * emulated for it) and checks that each attempt ends in a synchronous
 * external abort at its own EL1, not in data. (The virtio-mmio slots at
 * 0x0a000000 are every VM's own, emulated empty: tests/guests/mmio.c.)
 * Run next to another VM by tests/system/test_isolation.py, which checks
 * that VM is unharmed.
 *
 * It expects 64 MiB of RAM at 0x40000000 and one vCPU.
 */
#include "../lib/libguest.h"

#define FSC_SYNC_EXTERNAL 0x10

struct target {
    u64 addr;
    const char *what;
};

static const struct target targets[] = {
    { 0x44000000, "host RAM just past this VM's" },
    { 0x60000000, "host RAM (other VMs, Keel's heap)" },
    { 0x80000000, "host RAM (other VMs, Keel's heap)" },
    { 0xa0000000, "host RAM (other VMs, Keel's heap)" },
    { 0xbe000000, "host RAM holding the pristine boot modules" },
    { 0xbfff0000, "the top of host RAM" },
    { 0x0c000000, "the platform bus, where nothing is passed through" },
    { 0x08080000, "the physical GIC ITS" },
    { 0x08010000, "where a GICv2 CPU interface would be" },
    { 0x080c0000, "a redistributor frame of a vCPU this VM does not have" },
    { 0x09010000, "the RTC, a device nobody passed through" },
};

static bool aborts(u64 addr, bool write)
{
    struct fault f;

    fault_expect();
    if (write)
        writel(addr, 0x6b65656c);
    else
        (void)readl(addr);
    if (!fault_taken(&f))
        return false;
    return ESR_EC(f.esr) == EC_DABT_CUR && ESR_FSC(f.esr) == FSC_SYNC_EXTERNAL && f.far == addr;
}

void guest_main(void)
{
    report_prefix_push("attack");
    for (unsigned int i = 0; i < ARRAY_SIZE(targets); i++) {
        const struct target *t = &targets[i];
        report(aborts(t->addr, false), "read of %#lx (%s) aborts", t->addr, t->what);
        report(aborts(t->addr, true), "write of %#lx (%s) aborts", t->addr, t->what);
    }
    /*
     * Keel's image sits at host-physical 0x40080000, which in this VM's
     * address space is ordinary guest RAM: what it reads there must be its
     * own page, not Keel's arm64 Image header (magic "ARM\x64" at 0x38).
     */
    report(readl(0x40080038) != 0x644d5241,
           "IPA 0x40080000 is this VM's own RAM, not Keel's image");
    report_prefix_pop();
}

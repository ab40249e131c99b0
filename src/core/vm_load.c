/*
 * Loading a VM's images per the Linux boot protocol of arm64 and RISC-V
 * (Documentation/arch/arm64/booting.rst, Documentation/arch/riscv/boot.rst,
 * whose Image headers agree on everything read here): the Image goes text_offset bytes
 * above a 2 MiB aligned base (here the start of guest RAM), the DTB in the
 * next 2 MiB above the image, the initrd above that. Raw binaries load where
 * their config says and get the DTB at the top of their RAM instead, since
 * nothing tells Keel how much memory past the file they use.
 *
 * The modules Keel was booted with stay untouched (pristine), so a reset
 * loads them again.
 */
#include <libfdt.h>
#include <keel/guest_dt.h>
#include <keel/log.h>
#include <keel/mem.h>
#include <keel/platform.h>
#include <keel/string.h>
#include <keel/vcpu_arch.h>
#include <keel/vm_load.h>

#define GUEST_DT_MAX (64 * 1024)

/* The fields both architectures' headers share; the magic is the arch's (arch/guest_layout.h). */
struct linux_image_header {
    u32 code0, code1;
    u64 text_offset;
    u64 image_size;
    u64 flags;
    u64 res2, res3, res4;
    u32 magic;
    u32 res5;
};

struct load_plan {
    u64 kernel_ipa, kernel_span, entry, dtb_ipa, initrd_ipa;
};

static int plan_linux(struct vm *vm, struct load_plan *lp)
{
    const struct linux_image_header *h = (const void *)pa_addr(vm->cfg.kernel.base);
    u64 text_offset = h->text_offset, image_size = h->image_size;

    if (image_size == 0) { /* kernels before 3.17: fixed offset, size unknown */
        text_offset = GUEST_IMAGE_OLD_TEXT_OFFSET;
        image_size = vm->cfg.kernel.size;
    }
    lp->kernel_ipa = vm->cfg.ram_ipa + text_offset;
    lp->kernel_span = MAX(image_size, vm->cfg.kernel.size);
    lp->entry = lp->kernel_ipa;
    lp->dtb_ipa = ALIGN_UP(lp->kernel_ipa + lp->kernel_span, SZ_2M);
    lp->initrd_ipa = lp->dtb_ipa + SZ_2M;
    return 0;
}

static void plan_raw(struct vm *vm, struct load_plan *lp)
{
    u64 ram_end = vm->cfg.ram_ipa + vm->cfg.mem_size;

    lp->kernel_ipa = vm->cfg.kernel_load;
    lp->kernel_span = vm->cfg.kernel.size;
    lp->entry = vm->cfg.kernel_entry;
    lp->dtb_ipa = ram_end - SZ_2M;
    lp->initrd_ipa = lp->dtb_ipa - ALIGN_UP(vm->cfg.initrd.size, SZ_2M);
}

static bool fits(struct vm *vm, u64 ipa, u64 size)
{
    return ipa >= vm->cfg.ram_ipa && ipa + size <= vm->cfg.ram_ipa + vm->cfg.mem_size &&
           ipa + size >= ipa;
}

static int vm_write_dt(struct vm *vm, const struct load_plan *lp)
{
    static u8 dt_buf[GUEST_DT_MAX] __aligned(8); /* guarded by loads being one at a time */
    static spinlock_t dt_lock = SPINLOCK_INIT;
    u64 cpu_ids[VM_MAX_VCPUS];
    int err;

    for (unsigned int i = 0; i < vm->cfg.nr_vcpus; i++)
        cpu_ids[i] = arch_vcpu_dt_id(vm->vcpus[i]);
    struct guest_dt_params p = {
        .name = vm->cfg.name,
        .mem_base = vm->cfg.ram_ipa, .mem_size = vm->cfg.mem_size,
        .ncpus = vm->cfg.nr_vcpus, .cpu_ids = cpu_ids,
        .virq = vm->virq,
        .uart = vm->cfg.console, .uart_ns16550a = GUEST_VUART.ns16550a, .uart_base = GUEST_UART_BASE, .uart_line = GUEST_UART_LINE,
        .bootargs = vm->cfg.bootargs[0] ? vm->cfg.bootargs : NULL,
        .initrd_start = vm->cfg.initrd.size ? lp->initrd_ipa : 0,
        .initrd_end = vm->cfg.initrd.size ? lp->initrd_ipa + vm->cfg.initrd.size : 0,
        .timer_ppis = platform.timer_irq,
        .pmu_ppi = platform.pmu_irq,
        .extra = vm_dt_extra_nodes,
        .extra_ctx = vm,
    };
    spin_lock(&dt_lock);
    err = guest_dt_build(dt_buf, sizeof(dt_buf), &p);
    if (!err)
        err = vm_copy_to_guest(vm, ipa_init(lp->dtb_ipa), dt_buf, fdt_totalsize(dt_buf));
    spin_unlock(&dt_lock);
    if (err)
        ERROR("vm %s: cannot build its device tree (%d)", vm->cfg.name, err);
    return err;
}

int vm_load_images(struct vm *vm)
{
    struct load_plan lp;
    const struct linux_image_header *h = (const void *)pa_addr(vm->cfg.kernel.base);

    if (vm->cfg.kernel_raw) {
        plan_raw(vm, &lp);
    } else {
        if (vm->cfg.kernel.size < sizeof(*h) || h->magic != GUEST_IMAGE_MAGIC) {
            ERROR("vm %s: kernel at %#lx is not " GUEST_IMAGE_NAME "; give "
                  "keel,load and keel,entry for a raw binary", vm->cfg.name,
                  pa_addr(vm->cfg.kernel.base));
            return -1;
        }
        plan_linux(vm, &lp);
    }
    if (!fits(vm, lp.kernel_ipa, lp.kernel_span) || !fits(vm, lp.dtb_ipa, SZ_2M) ||
        (vm->cfg.initrd.size && !fits(vm, lp.initrd_ipa, vm->cfg.initrd.size))) {
        ERROR("vm %s: kernel (%lu KiB at IPA %#lx), DTB and initrd (%lu KiB) do not fit in "
              "its %lu MiB of RAM", vm->cfg.name, lp.kernel_span >> 10, lp.kernel_ipa,
              vm->cfg.initrd.size >> 10, vm->cfg.mem_size >> 20);
        return -1;
    }
    vm_copy_to_guest(vm, ipa_init(lp.kernel_ipa), (const void *)pa_addr(vm->cfg.kernel.base),
                     vm->cfg.kernel.size);
    if (vm->cfg.initrd.size)
        vm_copy_to_guest(vm, ipa_init(lp.initrd_ipa), (const void *)pa_addr(vm->cfg.initrd.base),
                         vm->cfg.initrd.size);
    vm->entry = lp.entry;
    vm->dtb_ipa = lp.dtb_ipa;
    return vm_write_dt(vm, &lp);
}

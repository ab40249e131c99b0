# RISC-V without the H extension: Keel is the M-mode firmware (QEMU virt
# -bios none, entered at 0x80000000 on every hart) and runs its guests in
# U-mode with trap-and-emulate and shadow page tables (docs/riscv-mmode.md).
# It shares the mode-independent parts of src/arch/riscv64: the G-stage-
# format table that maps a VM's guest-physical space, the load/store
# decoder, guarded device accesses, the guest DT's CPU nodes.
CROSS ?= riscv64-linux-gnu-
CLANG_TARGET := riscv64-linux-gnu
ARCH_CLANG_FLAGS :=
ARCH_GCC_FLAGS :=
ARCH_ASFLAGS := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mno-relax \
	-idirafter src/arch/riscv64/include
ARCH_CFLAGS := $(ARCH_ASFLAGS) -mcmodel=medany
# QEMU virt's reset vector jumps to the start of RAM when there is no BIOS.
KEEL_LINK_ADDR := 0x80000000
LIBFDT := .cache/libfdt-riscv64/usr/lib/riscv64-linux-gnu/libfdt-lp64.a
RV_SHARED := bitops.c devaccess.c fault.c guest_dt.c hart.c insn.c pgtable.c
ARCH_SRCS := src/drivers/ns16550.c src/drivers/plic.c $(wildcard src/irqchip/vplic*.c) \
	src/irqchip/vclint_ops.c src/drivers/virtio_blk_drv.c $(addprefix src/arch/riscv64/,$(RV_SHARED))
ARCH_OBJS :=
ARCH_LDLIBS :=

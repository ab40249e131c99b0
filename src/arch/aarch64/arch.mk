# AArch64 (EL2): what the Makefile needs to build Keel for this architecture.
CROSS ?= aarch64-linux-gnu-
CLANG_TARGET := aarch64-linux-gnu
ARCH_CLANG_FLAGS := -mno-outline-atomics
ARCH_GCC_FLAGS := -mno-outline-atomics
ARCH_ASFLAGS :=
ARCH_CFLAGS := -mgeneral-regs-only -mstrict-align -march=armv8-a
# One image for every board: Keel relocates itself to wherever it was loaded
# (boot.S, docs/design-notes.md). It is linked where QEMU virt loads it, so
# there the relocation changes nothing and keel.elf's addresses are the ones
# seen at run time (gdb, fault dumps).
KEEL_LINK_ADDR := 0x40080000
LIBFDT := .cache/libfdt-arm64/usr/lib/aarch64-linux-gnu/libfdt.a
# The GIC family: host drivers and the virtual GICs.
ARCH_SRCS := $(wildcard src/drivers/gic*.c src/drivers/pl011.c src/irqchip/vgic*.c) \
	src/drivers/virtio_blk_drv.c
# vgic_lr.c a second time, for the GICv2 list registers (see the file).
ARCH_LDLIBS :=
ARCH_OBJS := $(BUILD)/obj/arch/aarch64/vgic_lr.c.gicv2.o

$(BUILD)/obj/arch/aarch64/vgic_lr.c.gicv2.o: src/arch/aarch64/vgic_lr.c
	@mkdir -p $(dir $@)
	@echo "  CC  $< (GICv2)"; $(CC) $(CFLAGS) -DVGIC_LR_GICV2 -MMD -MP -c $< -o $@

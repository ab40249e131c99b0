# RISC-V with the H extension (HS-mode under OpenSBI): what the Makefile
# needs to build Keel for this architecture.
CROSS ?= riscv64-linux-gnu-
CLANG_TARGET := riscv64-linux-gnu
ARCH_CLANG_FLAGS :=
ARCH_GCC_FLAGS :=
# No floating point in Keel (the guest's FP registers stay live while Keel
# runs on the exit path), and no linker relaxation against gp, which holds
# nothing of Keel's.
ARCH_ASFLAGS := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mno-relax
ARCH_CFLAGS := $(ARCH_ASFLAGS) -mcmodel=medany
# Where OpenSBI's fw_dynamic jumps on QEMU virt (FW_JUMP_ADDR, RAM + 2 MiB);
# Keel relocates itself if loaded elsewhere (U-Boot booti).
KEEL_LINK_ADDR := 0x80200000
# trixie's libfdt re-tagged for the soft-float ABI (scripts/libfdt-riscv64.sh)
LIBFDT := .cache/libfdt-riscv64/usr/lib/riscv64-linux-gnu/libfdt-lp64.a
ARCH_SRCS := src/drivers/ns16550.c src/drivers/plic.c $(wildcard src/irqchip/vplic*.c) \
	src/drivers/virtio_blk_drv.c
ARCH_OBJS :=
ARCH_LDLIBS :=

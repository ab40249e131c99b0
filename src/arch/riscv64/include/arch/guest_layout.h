/*
 * The guest-physical layout of a RISC-V VM: QEMU's riscv virt board
 * (hw/riscv/virt.c memmap), so kernels built for that board find their
 * devices. Keel's emulated devices sit in GUEST_EMUL_BASE..the UART's end
 * (the PLIC first); devices below GUEST_DEVICE_END; guest RAM must not.
 */
#ifndef ARCH_GUEST_LAYOUT_H
#define ARCH_GUEST_LAYOUT_H

#define GUEST_EMUL_BASE 0x0c000000UL /* the PLIC */
#define GUEST_UART_BASE 0x10000000UL
#define GUEST_UART_SIZE 0x1000UL     /* trapped as a page; the DT says 0x100 as QEMU's does */
#define GUEST_UART_LINE 10           /* PLIC source 10, as on virt */
#define GUEST_VUART vuart_ns16550    /* its model (keel/vuart.h) */
#define GUEST_RAM_BASE 0x80000000UL
#define GUEST_DEVICE_END 0x80000000UL

/*
 * The virtio-mmio transports (keel,disk modules): virt's 8 slots a page
 * apart from 0x10001000, slot n on PLIC source 1 + n, each DT node with
 * reg size 0x1000 as QEMU writes them (the registers fill the first 0x200
 * bytes; the rest of the page aborts). No dma-coherent: QEMU's riscv virt
 * does not write it, RISC-V being coherent by default.
 */
#define GUEST_VIRTIO_BASE 0x10001000UL
#define GUEST_VIRTIO_STRIDE 0x1000UL
#define GUEST_VIRTIO_COUNT 8
#define GUEST_VIRTIO_LINE(n) (1 + (n))
#define GUEST_VIRTIO_DMA_COHERENT 0
#define GUEST_IPA_BITS 41            /* Sv39x4 (privileged spec 9.5.1) */

/*
 * The Linux boot protocol's Image (Documentation/arch/riscv/boot-image-header.rst):
 * the magic2 field at 0x38, and a default load offset (the field has always been set).
 */
#define GUEST_IMAGE_MAGIC 0x05435352U /* "RSC\x05" */
#define GUEST_IMAGE_NAME "a RISC-V Image (no RSC\\x05 magic)"
#define GUEST_IMAGE_OLD_TEXT_OFFSET 0x200000

/* Guest DT: no root interrupt-parent: the harts' local controllers must have none (Linux finds them as roots); devices name the PLIC themselves. */
#define GUEST_DT_ROOT_INTERRUPT_PARENT 0

#endif

/*
 * The guest-physical layout of an AArch64 VM: QEMU's virt board
 * (hw/arm/virt.c memmap), so kernels built for that board find their
 * devices. Keel's emulated devices sit in GUEST_EMUL_BASE..the UART's end
 * (the virtual interrupt controller first); devices below GUEST_DEVICE_END;
 * guest RAM must not.
 */
#ifndef ARCH_GUEST_LAYOUT_H
#define ARCH_GUEST_LAYOUT_H

#define GUEST_EMUL_BASE 0x08000000UL
#define GUEST_UART_BASE 0x09000000UL
#define GUEST_UART_SIZE 0x1000UL
#define GUEST_UART_LINE 1 /* its interrupt line (SPI 1 on virt) */
#define GUEST_VUART vuart_pl011 /* its model (keel/vuart.h) */
#define GUEST_RAM_BASE 0x40000000UL
#define GUEST_DEVICE_END 0x0c000000UL

/*
 * The virtio-mmio transports (keel,disk modules): virt's 32 slots of 0x200
 * bytes from 0x0a000000, slot n on SPI 16 + n (line 16 + n), each DT node
 * with reg size 0x200 and dma-coherent, as QEMU writes them.
 */
#define GUEST_VIRTIO_BASE 0x0a000000UL
#define GUEST_VIRTIO_STRIDE 0x200UL
#define GUEST_VIRTIO_COUNT 32
#define GUEST_VIRTIO_LINE(n) (16 + (n))
#define GUEST_VIRTIO_DMA_COHERENT 1
#define GUEST_IPA_BITS 39

/*
 * The Linux boot protocol's Image (Documentation/arch/arm64/booting.rst):
 * the magic at 0x38, and the load offset of kernels whose header gives no
 * image size (before 3.17).
 */
#define GUEST_IMAGE_MAGIC 0x644d5241U /* "ARM\x64" */
#define GUEST_IMAGE_NAME "an arm64 Image (no ARM\\x64 magic)"
#define GUEST_IMAGE_OLD_TEXT_OFFSET 0x80000

/* Guest DT: the GIC is the root's interrupt-parent, as on QEMU's virt. */
#define GUEST_DT_ROOT_INTERRUPT_PARENT 1

#endif

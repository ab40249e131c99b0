# Host unit tests of the host disk: src/drivers/virtio_blk_drv.c (the
# virtio-blk driver) against Keel's own device model (src/vdev: virtio-mmio
# transport, virtio-blk over a RAM image) on a fake register bus, and
# src/core/hdisk.c (its bring-up from the DT, the slices' backings).
# cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make unit-hdisk
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.
# tests/unit/hdisk comes before the aarch64 include path: its arch/io.h is
# the fake bus.

HDISK_SRCS := tests/unit/hdisk/test_hdisk.c tests/unit/fake_arch.c src/drivers/virtio_blk_drv.c \
	src/core/hdisk.c src/core/hdisk_config.c src/core/dt.c src/core/dt_index.c src/lib/str_copy.c \
	src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_blk.c
$(eval $(call unit_suite,hdisk,$(HDISK_SRCS),-Itests/unit/hdisk -Isrc/include \
	-Isrc/arch/aarch64/include -Itests/unit -Wno-unused-parameter,-lfdt))

# Host unit tests of the virtio device models: src/vdev/virtq.c (split
# virtqueues), src/vdev/virtio_mmio.c (the transport) and
# src/vdev/virtio_blk.c, against a fake guest (fake_guest.c: discontiguous
# memory, a Linux-like driver). cmocka, ASan and UBSan; any sanitizer report
# fails the target.
#   make unit-virtio
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.
# No arch include path: the models must build without one.

VIRTIO_SRCS := src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_blk.c \
	tests/unit/virtio/fake_guest.c tests/unit/virtio/virtio_test_util.c \
	tests/unit/virtio/test_virtio.c
$(eval $(call unit_suite,virtio,$(VIRTIO_SRCS),-Isrc/include -Wno-unused-parameter))

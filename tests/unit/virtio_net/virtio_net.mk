# Host unit tests of the virtual network models: src/vdev/virtio_net.c
# (over the split virtqueues and the virtio-mmio transport), src/vdev/netq.c
# (the frame FIFO) and src/vdev/vswitch.c (the L2 table), against
# tests/unit/virtio's fake guest (discontiguous memory, a Linux-like
# driver). cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make unit-virtio-net
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.
# No arch include path: the models must build without one.

VNET_SRCS := src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_net.c src/vdev/netq.c \
	src/vdev/vswitch.c tests/unit/virtio/fake_guest.c tests/unit/virtio/virtio_test_util.c \
	tests/unit/virtio_net/test_virtio_net.c
$(eval $(call unit_suite,virtio_net,$(VNET_SRCS),-Isrc/include -Itests/unit/virtio \
	-Wno-unused-parameter))

# Host unit tests of the virtio console (src/vdev/virtio_console.c) behind
# the virtio-mmio transport over split virtqueues, against the fake guest of
# tests/unit/virtio (fake_guest.c: discontiguous memory, a Linux-like
# driver). cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make unit-virtio-console
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.
# No arch include path: the models must build without one.

VCON_SRCS := src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_console.c \
	tests/unit/virtio/fake_guest.c tests/unit/virtio/virtio_test_util.c \
	tests/unit/virtio_console/test_virtio_console.c
$(eval $(call unit_suite,virtio_console,$(VCON_SRCS),-Isrc/include -Itests/unit/virtio \
	-Wno-unused-parameter))

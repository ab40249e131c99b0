# Host unit tests of the virtual network models: src/vdev/virtio_net.c
# (over the split virtqueues and the virtio-mmio transport), src/vdev/netq.c
# (the frame FIFO) and src/vdev/vswitch.c (the L2 table), against
# tests/unit/virtio's fake guest (discontiguous memory, a Linux-like
# driver). cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make -f tests/unit/virtio_net/virtio_net.mk unit-virtio-net
# or include this file from tests/unit/unit.mk (it is, being
# tests/unit/<dir>/<dir>.mk) and depend on unit-virtio-net.
# Paths are relative to the repository root; everything here has its own
# VNET_ name (Keel's Makefile owns CC and CFLAGS, virtio.mk VIRTIO_*). No
# arch include path: the models must build without one.

VNET_HOSTCC ?= gcc
VNET_OUT := build/unit/virtio_net
VNET_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Itests/unit/virtio
VNET_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VNET_LDLIBS := -lcmocka
VNET_SRCS := src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_net.c src/vdev/netq.c \
	src/vdev/vswitch.c tests/unit/virtio/fake_guest.c tests/unit/virtio/virtio_test_util.c \
	tests/unit/virtio_net/test_virtio_net.c
VNET_OBJS := $(patsubst %.c,$(VNET_OUT)/%.o,$(notdir $(VNET_SRCS)))
VNET_TEST := $(VNET_OUT)/test_virtio_net
VNET_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vnet_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VNET_HOSTCC) $(VNET_CFLAGS) -MMD -MP -c $< -o $@
endef

$(VNET_OUT)/%.o: src/vdev/%.c
	$(vnet_cc)

$(VNET_OUT)/%.o: tests/unit/virtio/%.c
	$(vnet_cc)

$(VNET_OUT)/%.o: tests/unit/virtio_net/%.c
	$(vnet_cc)

$(VNET_TEST): $(VNET_OBJS)
	@echo "  HOSTLD  $@"; $(VNET_HOSTCC) $(VNET_LDFLAGS) -o $@ $^ $(VNET_LDLIBS)

.PHONY: unit-virtio-net
unit-virtio-net: $(VNET_TEST)
	$(VNET_ENV) $(VNET_TEST)

-include $(VNET_OBJS:.o=.d)

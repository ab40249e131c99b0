# Host unit tests of the virtio device models: src/vdev/virtq.c (split
# virtqueues), src/vdev/virtio_mmio.c (the transport) and
# src/vdev/virtio_blk.c, against a fake guest (fake_guest.c: discontiguous
# memory, a Linux-like driver). cmocka, ASan and UBSan; any sanitizer report
# fails the target.
#   make -f tests/unit/virtio/virtio.mk unit-virtio
# or include this file from tests/unit/unit.mk and depend on unit-virtio.
# Paths are relative to the repository root. Keel's Makefile sets CC and
# CFLAGS for the cross build, so everything here has its own VIRTIO_ name.
# No arch include path: the models must build without one.

VIRTIO_HOSTCC ?= gcc
VIRTIO_OUT := build/unit/virtio
VIRTIO_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include
VIRTIO_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VIRTIO_LDLIBS := -lcmocka
VIRTIO_SRCS := src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_blk.c \
	tests/unit/virtio/fake_guest.c tests/unit/virtio/virtio_test_util.c \
	tests/unit/virtio/test_virtio.c
VIRTIO_OBJS := $(patsubst %.c,$(VIRTIO_OUT)/%.o,$(notdir $(VIRTIO_SRCS)))
VIRTIO_TEST := $(VIRTIO_OUT)/test_virtio
VIRTIO_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define virtio_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VIRTIO_HOSTCC) $(VIRTIO_CFLAGS) -MMD -MP -c $< -o $@
endef

$(VIRTIO_OUT)/%.o: src/vdev/%.c
	$(virtio_cc)

$(VIRTIO_OUT)/%.o: tests/unit/virtio/%.c
	$(virtio_cc)

$(VIRTIO_TEST): $(VIRTIO_OBJS)
	@echo "  HOSTLD  $@"; $(VIRTIO_HOSTCC) $(VIRTIO_LDFLAGS) -o $@ $^ $(VIRTIO_LDLIBS)

.PHONY: unit-virtio
unit-virtio: $(VIRTIO_TEST)
	$(VIRTIO_ENV) $(VIRTIO_TEST)

-include $(VIRTIO_OBJS:.o=.d)

# Host unit tests of the virtio console (src/vdev/virtio_console.c) behind
# the virtio-mmio transport over split virtqueues, against the fake guest of
# tests/unit/virtio (fake_guest.c: discontiguous memory, a Linux-like
# driver). cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make -f tests/unit/virtio_console/virtio_console.mk unit-virtio-console
# or include this file from tests/unit/unit.mk (it is, as every suite in a
# subdirectory) and depend on unit-virtio-console. Paths are relative to
# the repository root; everything has its own VCON_ name, as Keel's Makefile
# sets CC and CFLAGS for the cross build. No arch include path: the models
# must build without one.

VCON_HOSTCC ?= gcc
VCON_OUT := build/unit/virtio_console
VCON_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Itests/unit/virtio
VCON_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VCON_LDLIBS := -lcmocka
VCON_SRCS := src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_console.c \
	tests/unit/virtio/fake_guest.c tests/unit/virtio/virtio_test_util.c \
	tests/unit/virtio_console/test_virtio_console.c
VCON_OBJS := $(patsubst %.c,$(VCON_OUT)/%.o,$(notdir $(VCON_SRCS)))
VCON_TEST := $(VCON_OUT)/test_virtio_console
VCON_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vcon_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VCON_HOSTCC) $(VCON_CFLAGS) -MMD -MP -c $< -o $@
endef

$(VCON_OUT)/%.o: src/vdev/%.c
	$(vcon_cc)

$(VCON_OUT)/%.o: tests/unit/virtio/%.c
	$(vcon_cc)

$(VCON_OUT)/%.o: tests/unit/virtio_console/%.c
	$(vcon_cc)

$(VCON_TEST): $(VCON_OBJS)
	@echo "  HOSTLD  $@"; $(VCON_HOSTCC) $(VCON_LDFLAGS) -o $@ $^ $(VCON_LDLIBS)

.PHONY: unit-virtio-console
unit-virtio-console: $(VCON_TEST)
	$(VCON_ENV) $(VCON_TEST)

-include $(VCON_OBJS:.o=.d)

# Host unit tests of the host disk: src/drivers/virtio_blk_drv.c (the
# virtio-blk driver) against Keel's own device model (src/vdev: virtio-mmio
# transport, virtio-blk over a RAM image) on a fake register bus, and
# src/core/hdisk.c (its bring-up from the DT, the slices' backings).
# cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make -f tests/unit/hdisk/hdisk.mk unit-hdisk
# or through tests/unit/unit.mk, which includes this file ("make unit").
# tests/unit/hdisk comes before the aarch64 include path: its arch/io.h is
# the fake bus. Everything here has its own HDISK_ name.

HDISK_HOSTCC ?= gcc
HDISK_OUT := build/unit/hdisk
HDISK_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Itests/unit/hdisk -Isrc/include -Isrc/arch/aarch64/include -Itests/unit
HDISK_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
HDISK_LDLIBS := -lcmocka -lfdt
HDISK_SRCS := tests/unit/hdisk/test_hdisk.c tests/unit/fake_arch.c src/drivers/virtio_blk_drv.c \
	src/core/hdisk.c src/core/hdisk_config.c src/core/dt.c src/lib/str_copy.c \
	src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_blk.c
HDISK_OBJS := $(patsubst %.c,$(HDISK_OUT)/%.o,$(HDISK_SRCS))
HDISK_TEST := $(HDISK_OUT)/test_hdisk
HDISK_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(HDISK_OUT)/%.o: %.c tests/unit/hdisk/hdisk.mk
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(HDISK_HOSTCC) $(HDISK_CFLAGS) -MMD -MP -c $< -o $@

$(HDISK_TEST): $(HDISK_OBJS)
	@echo "  HOSTLD  $@"; $(HDISK_HOSTCC) $(HDISK_LDFLAGS) -o $@ $^ $(HDISK_LDLIBS)

.PHONY: unit-hdisk
unit-hdisk: $(HDISK_TEST)
	$(HDISK_ENV) $(HDISK_TEST)

-include $(HDISK_OBJS:.o=.d)

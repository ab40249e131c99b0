# Host unit tests of src/vdev/vpl011.c (the emulated PL011): cmocka, ASan and
# UBSan, any sanitizer report fails the target.
#   make -f tests/unit/vpl011/vpl011.mk unit-vpl011
# or include this file from tests/unit/unit.mk and depend on unit-vpl011.
# Paths are relative to the repository root. Keel's Makefile sets CC and
# CFLAGS for the cross build, so everything here has its own VPL011_ name.

VPL011_HOSTCC ?= gcc
VPL011_OUT := build/unit/vpl011
VPL011_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/aarch64/include
VPL011_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VPL011_LDLIBS := -lcmocka
VPL011_OBJS := $(VPL011_OUT)/vpl011.o $(VPL011_OUT)/test_vpl011.o
VPL011_TEST := $(VPL011_OUT)/test_vpl011
VPL011_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vpl011_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VPL011_HOSTCC) $(VPL011_CFLAGS) -MMD -MP -c $< -o $@
endef

$(VPL011_OUT)/vpl011.o: src/vdev/vpl011.c
	$(vpl011_cc)

$(VPL011_OUT)/test_vpl011.o: tests/unit/vpl011/test_vpl011.c
	$(vpl011_cc)

$(VPL011_TEST): $(VPL011_OBJS)
	@echo "  HOSTLD  $@"; $(VPL011_HOSTCC) $(VPL011_LDFLAGS) -o $@ $^ $(VPL011_LDLIBS)

.PHONY: unit-vpl011
unit-vpl011: $(VPL011_TEST)
	$(VPL011_ENV) $(VPL011_TEST)

-include $(VPL011_OBJS:.o=.d)

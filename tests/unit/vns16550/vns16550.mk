# Host unit tests of src/vdev/vns16550.c (the emulated NS16550A): cmocka, ASan
# and UBSan, any sanitizer report fails the target.
#   make -f tests/unit/vns16550/vns16550.mk unit-vns16550
# or include this file from tests/unit/unit.mk and depend on unit-vns16550.
# Paths are relative to the repository root. Keel's Makefile sets CC and
# CFLAGS for the cross build, so everything here has its own VNS16550_ name.
# No arch include path: the model must build without one.

VNS16550_HOSTCC ?= gcc
VNS16550_OUT := build/unit/vns16550
VNS16550_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include
VNS16550_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VNS16550_LDLIBS := -lcmocka
VNS16550_OBJS := $(VNS16550_OUT)/vns16550.o $(VNS16550_OUT)/test_vns16550.o
VNS16550_TEST := $(VNS16550_OUT)/test_vns16550
VNS16550_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vns16550_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VNS16550_HOSTCC) $(VNS16550_CFLAGS) -MMD -MP -c $< -o $@
endef

$(VNS16550_OUT)/vns16550.o: src/vdev/vns16550.c
	$(vns16550_cc)

$(VNS16550_OUT)/test_vns16550.o: tests/unit/vns16550/test_vns16550.c
	$(vns16550_cc)

$(VNS16550_TEST): $(VNS16550_OBJS)
	@echo "  HOSTLD  $@"; $(VNS16550_HOSTCC) $(VNS16550_LDFLAGS) -o $@ $^ $(VNS16550_LDLIBS)

.PHONY: unit-vns16550
unit-vns16550: $(VNS16550_TEST)
	$(VNS16550_ENV) $(VNS16550_TEST)

-include $(VNS16550_OBJS:.o=.d)

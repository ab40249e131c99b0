# Host unit tests of src/irqchip/vplic.c (the emulated RISC-V PLIC): cmocka,
# ASan and UBSan, any sanitizer report fails the target.
#   make -f tests/unit/vplic/vplic.mk unit-vplic
# or include this file from tests/unit/unit.mk and depend on unit-vplic.
# Paths are relative to the repository root. Keel's Makefile sets CC and
# CFLAGS for the cross build, so everything here has its own VPLIC_ name.
# No arch include path: the model must build without one.

VPLIC_HOSTCC ?= gcc
VPLIC_OUT := build/unit/vplic
VPLIC_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include
VPLIC_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VPLIC_LDLIBS := -lcmocka
VPLIC_OBJS := $(VPLIC_OUT)/vplic.o $(VPLIC_OUT)/test_vplic.o
VPLIC_TEST := $(VPLIC_OUT)/test_vplic
VPLIC_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vplic_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VPLIC_HOSTCC) $(VPLIC_CFLAGS) -MMD -MP -c $< -o $@
endef

$(VPLIC_OUT)/vplic.o: src/irqchip/vplic.c
	$(vplic_cc)

$(VPLIC_OUT)/test_vplic.o: tests/unit/vplic/test_vplic.c
	$(vplic_cc)

$(VPLIC_TEST): $(VPLIC_OBJS)
	@echo "  HOSTLD  $@"; $(VPLIC_HOSTCC) $(VPLIC_LDFLAGS) -o $@ $^ $(VPLIC_LDLIBS)

.PHONY: unit-vplic
unit-vplic: $(VPLIC_TEST)
	$(VPLIC_ENV) $(VPLIC_TEST)

-include $(VPLIC_OBJS:.o=.d)

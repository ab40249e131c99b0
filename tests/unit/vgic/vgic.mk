# Host unit tests of src/irqchip/vgic.c and vgicv3.c (the vGICv3 distributor
# and redistributor register emulation): cmocka, ASan and UBSan, any sanitizer
# report fails the target.
#   make -f tests/unit/vgic/vgic.mk unit-vgic
# or through tests/unit/unit.mk, which includes this file ("make unit").
# Paths are relative to the repository root. Keel's Makefile sets CC and
# CFLAGS for the cross build, so everything here has its own VGIC_ name.
#
# Known bugs in vgic.c are written as tests that skip themselves with a
# message; VGIC_KNOWN_BUGS=1 in the environment runs them (and they fail).

VGIC_HOSTCC ?= gcc
VGIC_OUT := build/unit/vgic
VGIC_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/aarch64/include
# vgic.c's gicd_typer() takes a struct vm it does not use (yet): -Wextra
# would reject the file, which this suite may not edit.
VGIC_SRC_CFLAGS := -Wno-unused-parameter
VGIC_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VGIC_LDLIBS := -lcmocka
VGIC_OBJS := $(VGIC_OUT)/vgic.o $(VGIC_OUT)/vgicv3.o $(VGIC_OUT)/fake_vgic_deps.o $(VGIC_OUT)/test_vgic.o
VGIC_TEST := $(VGIC_OUT)/test_vgic
VGIC_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vgic_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VGIC_HOSTCC) $(VGIC_CFLAGS) $(1) -MMD -MP -c $< -o $@
endef

$(VGIC_OUT)/vgic.o: src/irqchip/vgic.c tests/unit/vgic/vgic.mk
	$(call vgic_cc,$(VGIC_SRC_CFLAGS))

$(VGIC_OUT)/%.o: src/irqchip/%.c tests/unit/vgic/vgic.mk
	$(call vgic_cc,$(VGIC_SRC_CFLAGS))

$(VGIC_OUT)/fake_vgic_deps.o: tests/unit/vgic/fake_vgic_deps.c tests/unit/vgic/vgic.mk
	$(call vgic_cc,)

$(VGIC_OUT)/test_vgic.o: tests/unit/vgic/test_vgic.c tests/unit/vgic/vgic.mk
	$(call vgic_cc,)

$(VGIC_TEST): $(VGIC_OBJS)
	@echo "  HOSTLD  $@"; $(VGIC_HOSTCC) $(VGIC_LDFLAGS) -o $@ $^ $(VGIC_LDLIBS)

.PHONY: unit-vgic
unit-vgic: $(VGIC_TEST)
	$(VGIC_ENV) $(VGIC_TEST)

-include $(VGIC_OBJS:.o=.d)

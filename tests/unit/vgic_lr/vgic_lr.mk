# Host unit tests of src/arch/aarch64/vgic_lr.c, the list-register policy
# (flush, overflow, spilled interrupts, DIR and EOIcount), against a model of
# the GICv3 virtual CPU interface (fake_ich.c), with src/irqchip/vgic.c for
# injection and the distributor's view: cmocka, ASan and UBSan, any
# sanitizer report fails the target. A few tests run a vGICv2 VM
# (src/irqchip/vgicv2.c) through the same LR policy: SGIs one source per LR.
# Known bugs skip themselves unless VGIC_KNOWN_BUGS=1 (tests/unit/known_bug.h).
#   make -f tests/unit/vgic_lr/vgic_lr.mk unit-vgic-lr
# or through tests/unit/unit.mk, which includes this file ("make unit").
# Paths are relative to the repository root; everything has its own VGIC_LR_
# name, as Keel's Makefile sets CC and CFLAGS for the cross build.

VGIC_LR_HOSTCC ?= gcc
VGIC_LR_OUT := build/unit/vgic_lr
VGIC_LR_DIR := tests/unit/vgic_lr
VGIC_LR_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-DVGIC_HW_FAKE -Isrc/include -Isrc/arch/aarch64/include -Isrc/irqchip -Itests/unit
# vgic.c's gicd_typer() takes a struct vm it does not use
VGIC_LR_VGIC_CFLAGS := -Wno-unused-parameter
VGIC_LR_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VGIC_LR_LDLIBS := -lcmocka
VGIC_LR_OBJS := $(VGIC_LR_OUT)/vgic_lr.o $(VGIC_LR_OUT)/vgic.o $(VGIC_LR_OUT)/vgicv3.o $(VGIC_LR_OUT)/vgicv2.o \
	$(VGIC_LR_OUT)/fake_ich.o \
	$(VGIC_LR_OUT)/test_vgic_lr.o
VGIC_LR_TEST := $(VGIC_LR_OUT)/test_vgic_lr
VGIC_LR_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vgic_lr_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VGIC_LR_HOSTCC) $(VGIC_LR_CFLAGS) $(1) -MMD -MP -c $< -o $@
endef

$(VGIC_LR_OUT)/vgic_lr.o: src/arch/aarch64/vgic_lr.c $(VGIC_LR_DIR)/vgic_lr.mk
	$(call vgic_lr_cc,)

$(VGIC_LR_OUT)/vgic.o: src/irqchip/vgic.c $(VGIC_LR_DIR)/vgic_lr.mk
	$(call vgic_lr_cc,$(VGIC_LR_VGIC_CFLAGS))

$(VGIC_LR_OUT)/vgicv3.o: src/irqchip/vgicv3.c $(VGIC_LR_DIR)/vgic_lr.mk
	$(call vgic_lr_cc,$(VGIC_LR_VGIC_CFLAGS))

$(VGIC_LR_OUT)/vgicv2.o: src/irqchip/vgicv2.c $(VGIC_LR_DIR)/vgic_lr.mk
	$(call vgic_lr_cc,$(VGIC_LR_VGIC_CFLAGS))

$(VGIC_LR_OUT)/%.o: $(VGIC_LR_DIR)/%.c $(VGIC_LR_DIR)/vgic_lr.mk
	$(call vgic_lr_cc,)

$(VGIC_LR_TEST): $(VGIC_LR_OBJS)
	@echo "  HOSTLD  $@"; $(VGIC_LR_HOSTCC) $(VGIC_LR_LDFLAGS) -o $@ $^ $(VGIC_LR_LDLIBS)

.PHONY: unit-vgic-lr
unit-vgic-lr: $(VGIC_LR_TEST)
	$(VGIC_LR_ENV) $(VGIC_LR_TEST)

-include $(VGIC_LR_OBJS:.o=.d)

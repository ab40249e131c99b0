# Host unit tests of src/irqchip/vgicv2.c, the vGICv2 distributor and the
# GICC_DIR page, with src/irqchip/vgic.c for the interrupt state: cmocka,
# ASan and UBSan, any sanitizer report fails the target.
#   make -f tests/unit/vgicv2/vgicv2.mk unit-vgicv2
# or through tests/unit/unit.mk, which includes this file ("make unit").
# The list-register half and vcpu_kick are the vgic suite's fakes
# (tests/unit/vgic/fake_vgic_deps.c): nothing is ever in a list register.
#
# Known bugs are tests that skip themselves with a message, as in the vgic
# suite; VGIC_KNOWN_BUGS=1 in the environment runs them (and they fail).

VGICV2_HOSTCC ?= gcc
VGICV2_OUT := build/unit/vgicv2
VGICV2_DIR := tests/unit/vgicv2
VGICV2_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/aarch64/include -Isrc/irqchip -Itests/unit -Itests/unit/vgic
# vgicv2.c's DIR page read takes a vCPU it does not use
VGICV2_SRC_CFLAGS := -Wno-unused-parameter
VGICV2_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VGICV2_LDLIBS := -lcmocka
VGICV2_OBJS := $(VGICV2_OUT)/vgic.o $(VGICV2_OUT)/vgicv2.o $(VGICV2_OUT)/fake_vgic_deps.o \
	$(VGICV2_OUT)/test_vgicv2.o
VGICV2_TEST := $(VGICV2_OUT)/test_vgicv2
VGICV2_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vgicv2_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VGICV2_HOSTCC) $(VGICV2_CFLAGS) $(1) -MMD -MP -c $< -o $@
endef

$(VGICV2_OUT)/%.o: src/irqchip/%.c $(VGICV2_DIR)/vgicv2.mk
	$(call vgicv2_cc,$(VGICV2_SRC_CFLAGS))

$(VGICV2_OUT)/fake_vgic_deps.o: tests/unit/vgic/fake_vgic_deps.c $(VGICV2_DIR)/vgicv2.mk
	$(call vgicv2_cc,)

$(VGICV2_OUT)/test_vgicv2.o: $(VGICV2_DIR)/test_vgicv2.c $(VGICV2_DIR)/vgicv2.mk
	$(call vgicv2_cc,)

$(VGICV2_TEST): $(VGICV2_OBJS)
	@echo "  HOSTLD  $@"; $(VGICV2_HOSTCC) $(VGICV2_LDFLAGS) -o $@ $^ $(VGICV2_LDLIBS)

.PHONY: unit-vgicv2
unit-vgicv2: $(VGICV2_TEST)
	$(VGICV2_ENV) $(VGICV2_TEST)

-include $(VGICV2_OBJS:.o=.d)

# Host unit tests of src/core/guest_dt.c (with src/arch/aarch64/guest_dt.c and the vGIC's DT part, src/irqchip/vgic_dt.c): cmocka, the host's libfdt, ASan and
# UBSan, then dtc over sample blobs (any dtc warning fails the target).
#   make -f tests/unit/guest_dt/guest_dt.mk unit-guest-dt
# or include this file from tests/unit/unit.mk and depend on unit-guest-dt.
# Paths are relative to the repository root. Keel's Makefile sets CC and
# CFLAGS for the cross build, so everything here has its own GUEST_DT_ name.

GUEST_DT_HOSTCC ?= gcc
GUEST_DT_DTC ?= dtc
GUEST_DT_OUT := build/unit/guest_dt
GUEST_DT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/aarch64/include
GUEST_DT_LDFLAGS := -fsanitize=address,undefined
GUEST_DT_LDLIBS := -lcmocka -lfdt
GUEST_DT_OBJS := $(GUEST_DT_OUT)/guest_dt.o $(GUEST_DT_OUT)/arch_guest_dt.o $(GUEST_DT_OUT)/vgic_dt.o $(GUEST_DT_OUT)/test_guest_dt.o
GUEST_DT_TEST := $(GUEST_DT_OUT)/test_guest_dt
GUEST_DT_SAMPLES := sample sample-min

define guest_dt_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(GUEST_DT_HOSTCC) $(GUEST_DT_CFLAGS) -MMD -MP -c $< -o $@
endef

$(GUEST_DT_OUT)/guest_dt.o: src/core/guest_dt.c
	$(guest_dt_cc)

$(GUEST_DT_OUT)/arch_guest_dt.o: src/arch/aarch64/guest_dt.c
	$(guest_dt_cc)

$(GUEST_DT_OUT)/vgic_dt.o: src/irqchip/vgic_dt.c
	$(guest_dt_cc)

$(GUEST_DT_OUT)/test_guest_dt.o: tests/unit/guest_dt/test_guest_dt.c
	$(guest_dt_cc)

$(GUEST_DT_TEST): $(GUEST_DT_OBJS)
	@echo "  LD  $@"; $(GUEST_DT_HOSTCC) $(GUEST_DT_LDFLAGS) -o $@ $^ $(GUEST_DT_LDLIBS)

.PHONY: unit-guest-dt
unit-guest-dt: $(GUEST_DT_TEST)
	$(GUEST_DT_TEST)
	$(GUEST_DT_TEST) --write-dtb $(GUEST_DT_OUT)
	@for s in $(GUEST_DT_SAMPLES); do \
		b=$(GUEST_DT_OUT)/$$s; \
		echo "  DTC  $$b.dtb"; \
		$(GUEST_DT_DTC) -I dtb -O dts -o $$b.dts $$b.dtb 2> $$b.dtc.log || \
			{ cat $$b.dtc.log; exit 1; }; \
		if [ -s $$b.dtc.log ]; then cat $$b.dtc.log; echo "dtc warned on $$b.dtb"; exit 1; fi; \
	done

-include $(GUEST_DT_OBJS:.o=.d)

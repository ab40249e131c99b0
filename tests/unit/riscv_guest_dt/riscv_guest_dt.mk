# Host unit tests of the RISC-V guest device tree: src/core/guest_dt.c with
# src/arch/riscv64/guest_dt.c and the vPLIC's node (src/irqchip/vplic_ops.c),
# then dtc over the blobs (any dtc warning fails the target). Included by
# tests/unit/unit.mk; everything has its own RVDT_ name.

RVDT_HOSTCC ?= gcc
RVDT_DTC ?= dtc
RVDT_DIR := tests/unit/riscv_guest_dt
RVDT_OUT := build/unit/riscv_guest_dt
RVDT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/riscv64/include
RVDT_SRCS := src/core/guest_dt.c src/arch/riscv64/guest_dt.c src/irqchip/vplic_ops.c \
	src/irqchip/vplic.c src/lib/str_copy.c $(RVDT_DIR)/test_riscv_guest_dt.c
RVDT_OBJS := $(patsubst %.c,$(RVDT_OUT)/%.o,$(RVDT_SRCS))
RVDT_TEST := $(RVDT_OUT)/test_riscv_guest_dt

$(RVDT_OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(RVDT_HOSTCC) $(RVDT_CFLAGS) -MMD -MP -c $< -o $@

$(RVDT_TEST): $(RVDT_OBJS)
	@echo "  HOSTLD  $@"; $(RVDT_HOSTCC) -fsanitize=address,undefined -o $@ $^ -lcmocka -lfdt

.PHONY: unit-riscv-guest-dt
unit-riscv-guest-dt: $(RVDT_TEST)
	$(RVDT_TEST) $(RVDT_OUT)
	@for n in 1 4; do \
		b=$(RVDT_OUT)/guest-$${n}cpu; \
		echo "  DTC  $$b.dtb"; \
		$(RVDT_DTC) -I dtb -O dts -o $$b.dts $$b.dtb 2> $$b.dtc.log || { cat $$b.dtc.log; exit 1; }; \
		if [ -s $$b.dtc.log ]; then cat $$b.dtc.log; echo "dtc warned on $$b.dtb"; exit 1; fi; \
	done

-include $(RVDT_OBJS:.o=.d)

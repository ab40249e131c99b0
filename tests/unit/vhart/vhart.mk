# Host unit tests of src/arch/riscv64m/vhart.c (the virtual hart of Keel in
# M-mode without the H extension: guest CSRs, trapped SYSTEM instructions,
# traps and interrupts): cmocka, ASan and UBSan, any sanitizer report fails
# the target.
#   make -f tests/unit/vhart/vhart.mk unit-vhart
# Included by tests/unit/unit.mk, which runs it in "make unit". Paths are
# relative to the repository root. Keel's Makefile sets CC and CFLAGS for
# the cross build, so everything here has its own VHART_ name.
#
# riscv64m's headers come before riscv64's: <arch/vhart.h> and <arch/mcsr.h>
# are the M-mode port's, <arch/csr.h> (S CSRs, exception codes) is shared.
# When riscv64-linux-gnu-gcc is there, vhart.c is also compiled with it,
# freestanding, as Keel's RISC-V build will.

VHART_HOSTCC ?= gcc
VHART_CROSS_CC ?= riscv64-linux-gnu-gcc
VHART_DIR := tests/unit/vhart
VHART_OUT := build/unit/vhart
VHART_INCLUDES := -Isrc/include -Isrc/arch/riscv64m/include -Isrc/arch/riscv64/include
VHART_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	$(VHART_INCLUDES)
VHART_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VHART_LDLIBS := -lcmocka
# vhart.c decides the guest's PMP with pmp.c's entry decoding
VHART_OBJS := $(VHART_OUT)/vhart.o $(VHART_OUT)/pmp.o $(VHART_OUT)/test_vhart.o
VHART_TEST := $(VHART_OUT)/test_vhart
VHART_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define vhart_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VHART_HOSTCC) $(VHART_CFLAGS) -MMD -MP -c $< -o $@
endef

$(VHART_OUT)/vhart.o: src/arch/riscv64m/vhart.c $(VHART_DIR)/vhart.mk
	$(vhart_cc)

$(VHART_OUT)/pmp.o: src/arch/riscv64m/pmp.c $(VHART_DIR)/vhart.mk
	$(vhart_cc)

$(VHART_OUT)/test_vhart.o: $(VHART_DIR)/test_vhart.c $(VHART_DIR)/vhart.mk
	$(vhart_cc)

$(VHART_TEST): $(VHART_OBJS)
	@echo "  HOSTLD  $@"; $(VHART_HOSTCC) $(VHART_LDFLAGS) -o $@ $^ $(VHART_LDLIBS)

# Freestanding RV64 build: Keel's own libc headers and the compiler's, no
# libc, the flags of the top-level Makefile.
$(VHART_OUT)/vhart.rv64.o: src/arch/riscv64m/vhart.c $(VHART_DIR)/vhart.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $< (riscv64, freestanding)"; $(VHART_CROSS_CC) -std=gnu11 -O2 -Wall -Wextra \
		-Werror -Wno-unused-parameter -ffreestanding -fno-builtin -fno-common -fno-pic \
		-fno-pie -fno-stack-protector -march=rv64imac_zicsr -mabi=lp64 -mcmodel=medany \
		-nostdinc -Isrc/include/libc -isystem $$($(VHART_CROSS_CC) -print-file-name=include) \
		$(VHART_INCLUDES) -MMD -MP -c $< -o $@

VHART_CROSS_OBJ := $(if $(shell command -v $(VHART_CROSS_CC) 2>/dev/null),$(VHART_OUT)/vhart.rv64.o)

.PHONY: unit-vhart
unit-vhart: $(VHART_TEST) $(VHART_CROSS_OBJ)
	$(if $(VHART_CROSS_OBJ),,@echo "  SKIP    riscv64 build of vhart.c: no $(VHART_CROSS_CC)")
	$(VHART_ENV) $(VHART_TEST)

-include $(VHART_OBJS:.o=.d) $(VHART_OUT)/vhart.rv64.d

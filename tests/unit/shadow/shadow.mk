# Host unit tests of src/arch/riscv64m/shadow.c (the guest's Sv39/Sv48 walk
# and the shadow tables of the M-mode port): cmocka, ASan and UBSan, any
# sanitizer report (a leaked table page too) fails the target.
#   make unit-shadow
# Included by tests/unit/unit.mk ("make unit"). Everything has its own
# SHADOW_ name: Keel's Makefile sets CC and CFLAGS for the cross build.
# riscv64m's headers come before riscv64's, which give pgtable.h and csr.h.
# When riscv64-linux-gnu-gcc is there, shadow.c is also compiled with it,
# freestanding, as Keel's RISC-V build will.

SHADOW_HOSTCC ?= gcc
SHADOW_CROSS_CC ?= riscv64-linux-gnu-gcc
SHADOW_DIR := tests/unit/shadow
SHADOW_OUT := build/unit/shadow
SHADOW_INCS := -Isrc/include -Isrc/arch/riscv64m/include -Isrc/arch/riscv64/include
SHADOW_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	$(SHADOW_INCS)
SHADOW_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
SHADOW_OBJS := $(SHADOW_OUT)/shadow.o $(SHADOW_OUT)/test_shadow.o
SHADOW_TEST := $(SHADOW_OUT)/test_shadow
SHADOW_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define shadow_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(SHADOW_HOSTCC) $(SHADOW_CFLAGS) -MMD -MP -c $< -o $@
endef

$(SHADOW_OUT)/shadow.o: src/arch/riscv64m/shadow.c $(SHADOW_DIR)/shadow.mk
	$(shadow_cc)

$(SHADOW_OUT)/test_shadow.o: $(SHADOW_DIR)/test_shadow.c $(SHADOW_DIR)/shadow.mk
	$(shadow_cc)

$(SHADOW_TEST): $(SHADOW_OBJS)
	@echo "  HOSTLD  $@"; $(SHADOW_HOSTCC) $(SHADOW_LDFLAGS) -o $@ $^ -lcmocka

$(SHADOW_OUT)/shadow.rv64.o: src/arch/riscv64m/shadow.c $(SHADOW_DIR)/shadow.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $< (riscv64, freestanding)"; $(SHADOW_CROSS_CC) -std=gnu11 -O2 -Wall -Wextra \
		-Werror -ffreestanding -fno-builtin -fno-common -fno-pic -fno-pie -fno-stack-protector \
		-march=rv64imac_zicsr -mabi=lp64 -mcmodel=medany -nostdinc -Isrc/include/libc \
		-isystem $$($(SHADOW_CROSS_CC) -print-file-name=include) $(SHADOW_INCS) -MMD -MP -c $< -o $@

SHADOW_CROSS_OBJ := $(if $(shell command -v $(SHADOW_CROSS_CC) 2>/dev/null),$(SHADOW_OUT)/shadow.rv64.o)

.PHONY: unit-shadow
unit-shadow: $(SHADOW_TEST) $(SHADOW_CROSS_OBJ)
	$(if $(SHADOW_CROSS_OBJ),,@echo "  SKIP    riscv64 build of shadow.c: no $(SHADOW_CROSS_CC)")
	$(SHADOW_ENV) $(SHADOW_TEST)

-include $(SHADOW_OBJS:.o=.d) $(SHADOW_OUT)/shadow.rv64.d

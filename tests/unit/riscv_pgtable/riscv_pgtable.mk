# Host unit tests of src/arch/riscv64/pgtable.c (Sv39x4 G-stage tables):
# cmocka, ASan and UBSan, any sanitizer report fails the target.
#   make -f tests/unit/riscv_pgtable/riscv_pgtable.mk unit-riscv-pgtable
# Included by tests/unit/unit.mk. Everything has its own RVPT_ name: Keel's
# Makefile sets CC and CFLAGS for the cross build.

RVPT_HOSTCC ?= gcc
RVPT_DIR := tests/unit/riscv_pgtable
RVPT_OUT := build/unit/riscv_pgtable
RVPT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/riscv64/include
RVPT_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
RVPT_OBJS := $(RVPT_OUT)/pgtable.o $(RVPT_OUT)/test_riscv_pgtable.o
RVPT_TEST := $(RVPT_OUT)/test_riscv_pgtable

$(RVPT_OUT)/pgtable.o: src/arch/riscv64/pgtable.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(RVPT_HOSTCC) $(RVPT_CFLAGS) -MMD -MP -c $< -o $@

$(RVPT_OUT)/test_riscv_pgtable.o: $(RVPT_DIR)/test_riscv_pgtable.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(RVPT_HOSTCC) $(RVPT_CFLAGS) -MMD -MP -c $< -o $@

$(RVPT_TEST): $(RVPT_OBJS)
	@echo "  HOSTLD  $@"; $(RVPT_HOSTCC) $(RVPT_LDFLAGS) -o $@ $^ -lcmocka

.PHONY: unit-riscv-pgtable
unit-riscv-pgtable: $(RVPT_TEST)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 $(RVPT_TEST)

-include $(RVPT_OBJS:.o=.d)

# Host unit tests of src/arch/riscv64/insn.c (decoding a trapped guest
# load/store, raw or from htinst, into an MMIO access): cmocka, ASan and
# UBSan, any sanitizer report fails the target.
#   make -f tests/unit/riscv_insn/riscv_insn.mk unit-riscv-insn
# or include this file from tests/unit/unit.mk and depend on unit-riscv-insn.
# Paths are relative to the repository root. Keel's Makefile sets CC and
# CFLAGS for the cross build, so everything here has its own RVINSN_ name.
#
# The test vectors (riscv_insn_vectors.h) are generated from the real
# assembler by gen_vectors.sh and committed; building the tests needs no
# RISC-V toolchain. When riscv64-linux-gnu-gcc is there, insn.c is also
# compiled with it, freestanding, as Keel's RISC-V build will.

RVINSN_HOSTCC ?= gcc
RVINSN_CROSS_CC ?= riscv64-linux-gnu-gcc
RVINSN_DIR := tests/unit/riscv_insn
RVINSN_OUT := build/unit/riscv_insn
RVINSN_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/riscv64/include -I$(RVINSN_DIR)
RVINSN_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
RVINSN_LDLIBS := -lcmocka
RVINSN_OBJS := $(RVINSN_OUT)/insn.o $(RVINSN_OUT)/test_riscv_insn.o
RVINSN_TEST := $(RVINSN_OUT)/test_riscv_insn
RVINSN_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define rvinsn_cc
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(RVINSN_HOSTCC) $(RVINSN_CFLAGS) -MMD -MP -c $< -o $@
endef

$(RVINSN_OUT)/insn.o: src/arch/riscv64/insn.c
	$(rvinsn_cc)

$(RVINSN_OUT)/test_riscv_insn.o: $(RVINSN_DIR)/test_riscv_insn.c
	$(rvinsn_cc)

$(RVINSN_TEST): $(RVINSN_OBJS)
	@echo "  HOSTLD  $@"; $(RVINSN_HOSTCC) $(RVINSN_LDFLAGS) -o $@ $^ $(RVINSN_LDLIBS)

# Freestanding RV64 build of the decoder: Keel's own libc headers and the
# compiler's, no libc, the flags of the top-level Makefile.
$(RVINSN_OUT)/insn.rv64.o: src/arch/riscv64/insn.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (riscv64, freestanding)"; $(RVINSN_CROSS_CC) -std=gnu11 -O2 -Wall -Wextra \
		-Werror -Wno-unused-parameter -ffreestanding -fno-builtin -fno-common -fno-pic \
		-fno-pie -fno-stack-protector -march=rv64imac_zicsr -mabi=lp64 -mcmodel=medany \
		-nostdinc -Isrc/include/libc -isystem $$($(RVINSN_CROSS_CC) -print-file-name=include) \
		-Isrc/include -Isrc/arch/riscv64/include -MMD -MP -c $< -o $@

RVINSN_CROSS_OBJ := $(if $(shell command -v $(RVINSN_CROSS_CC) 2>/dev/null),$(RVINSN_OUT)/insn.rv64.o)

.PHONY: unit-riscv-insn
unit-riscv-insn: $(RVINSN_TEST) $(RVINSN_CROSS_OBJ)
	$(if $(RVINSN_CROSS_OBJ),,@echo "  SKIP    riscv64 build of insn.c: no $(RVINSN_CROSS_CC)")
	$(RVINSN_ENV) $(RVINSN_TEST)

-include $(RVINSN_OBJS:.o=.d) $(RVINSN_OUT)/insn.rv64.d

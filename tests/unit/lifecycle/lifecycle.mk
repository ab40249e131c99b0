# Host unit tests of src/core/vm_lifecycle.c (the VM and vCPU lifecycle state
# machine): cmocka, ASan and UBSan, plus a threaded stress run of the
# CPU_ON / SYSTEM_RESET race under ThreadSanitizer.
#   make unit-lifecycle
# Included by tests/unit/unit.mk ("make unit").

LC_HOSTCC ?= gcc
LC_OUT := build/unit/lifecycle
LC_WARN_COMMON := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -fno-omit-frame-pointer \
	-Isrc/include
LC_WARN := $(LC_WARN_COMMON) -Isrc/arch/aarch64/include
LC_ASAN := -fsanitize=address,undefined -fno-sanitize-recover=all
LC_TSAN := -fsanitize=thread
LC_SRCS := src/core/vm_lifecycle.c tests/unit/lifecycle/test_lifecycle.c
LC_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TSAN_OPTIONS=halt_on_error=1

$(LC_OUT)/test_lifecycle: $(LC_SRCS) tests/unit/lifecycle/lifecycle.mk src/include/keel/vm.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"; $(LC_HOSTCC) $(LC_WARN) $(LC_ASAN) -o $@ $(LC_SRCS) -lcmocka -lpthread

$(LC_OUT)/test_lifecycle_tsan: $(LC_SRCS) tests/unit/lifecycle/lifecycle.mk src/include/keel/vm.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"; $(LC_HOSTCC) $(LC_WARN) $(LC_TSAN) -o $@ $(LC_SRCS) -lcmocka -lpthread

# The same core code against the RISC-V port's vCPU and VM layout: the core
# builds for both ISAs without #ifdef, and its lifecycle must hold on both.
$(LC_OUT)/test_lifecycle_riscv64: $(LC_SRCS) tests/unit/lifecycle/lifecycle.mk src/include/keel/vm.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"; $(LC_HOSTCC) $(LC_WARN_COMMON) -Isrc/arch/riscv64/include $(LC_ASAN) -o $@ \
		$(LC_SRCS) -lcmocka -lpthread

.PHONY: unit-lifecycle
unit-lifecycle: $(LC_OUT)/test_lifecycle $(LC_OUT)/test_lifecycle_tsan $(LC_OUT)/test_lifecycle_riscv64
	$(LC_ENV) $(LC_OUT)/test_lifecycle
	$(LC_ENV) $(LC_OUT)/test_lifecycle_tsan
	$(LC_ENV) $(LC_OUT)/test_lifecycle_riscv64

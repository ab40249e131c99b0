# Host unit tests of src/core/console_guest.c (the VM's console on buffers in
# guest memory, behind Keel's console hypercalls and SBI DBCN), against fakes
# of vm_ipa_span() (a VM whose RAM is three discontiguous host allocations),
# the console multiplexer and the cache maintenance. cmocka, ASan and UBSan.
#   make -f tests/unit/console_guest/console_guest.mk unit-console-guest
# or through tests/unit/unit.mk, which includes this file ("make unit").
# Everything here has its own CONG_ name.

CONG_HOSTCC ?= gcc
CONG_OUT := build/unit/console_guest
CONG_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/aarch64/include
CONG_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
CONG_LDLIBS := -lcmocka
CONG_SRCS := src/core/console_guest.c tests/unit/console_guest/test_console_guest.c
CONG_OBJS := $(patsubst %.c,$(CONG_OUT)/%.o,$(CONG_SRCS))
CONG_TEST := $(CONG_OUT)/test_console_guest
CONG_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(CONG_OUT)/%.o: %.c tests/unit/console_guest/console_guest.mk
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(CONG_HOSTCC) $(CONG_CFLAGS) -MMD -MP -c $< -o $@

$(CONG_TEST): $(CONG_OBJS)
	@echo "  HOSTLD  $@"; $(CONG_HOSTCC) $(CONG_LDFLAGS) -o $@ $^ $(CONG_LDLIBS)

.PHONY: unit-console-guest
unit-console-guest: $(CONG_TEST)
	$(CONG_ENV) $(CONG_TEST)

-include $(CONG_OBJS:.o=.d)

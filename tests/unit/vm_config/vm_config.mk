# Host unit tests of the VM configuration parser: src/core/vm_config.c with
# shmem.c, passthrough.c and dt.c, on device trees each test builds with
# libfdt. cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make -f tests/unit/vm_config/vm_config.mk unit-vm-config
# or through tests/unit/unit.mk, which includes this file ("make unit").
# vm_config.c and shmem.c keep boot state in file statics, so they are
# compiled through tests/fuzz/vm_config/config_unity.c, which can reset it;
# the fakes for VM creation, the allocator and the GIC are the fuzzers'
# (tests/fuzz/common/fake_core.c). Everything here has its own VMCFG_ name.

VMCFG_HOSTCC ?= gcc
VMCFG_OUT := build/unit/vm_config
VMCFG_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Isrc/include -Isrc/arch/aarch64/include -Itests/unit -Itests/fuzz/common
VMCFG_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
VMCFG_LDLIBS := -lcmocka -lfdt
VMCFG_SRCS := tests/unit/vm_config/test_vm_config.c tests/unit/fake_arch.c \
	tests/fuzz/common/fake_core.c tests/fuzz/vm_config/config_unity.c src/core/passthrough.c src/core/vdev_config.c src/core/hdisk_config.c \
	src/core/dt.c src/core/guest_dt.c src/arch/aarch64/guest_dt.c src/drivers/gic.c tests/unit/fake_gic.c src/irqchip/vgic_dt.c \
	src/lib/str_copy.c
VMCFG_OBJS := $(patsubst %.c,$(VMCFG_OUT)/%.o,$(VMCFG_SRCS))
VMCFG_TEST := $(VMCFG_OUT)/test_vm_config
VMCFG_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(VMCFG_OUT)/%.o: %.c tests/unit/vm_config/vm_config.mk
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(VMCFG_HOSTCC) $(VMCFG_CFLAGS) -MMD -MP -c $< -o $@

$(VMCFG_TEST): $(VMCFG_OBJS)
	@echo "  HOSTLD  $@"; $(VMCFG_HOSTCC) $(VMCFG_LDFLAGS) -o $@ $^ $(VMCFG_LDLIBS)

.PHONY: unit-vm-config
unit-vm-config: $(VMCFG_TEST)
	$(VMCFG_ENV) $(VMCFG_TEST)

-include $(VMCFG_OBJS:.o=.d)

# Host unit tests (cmocka), included by the top-level Makefile.
#
#   make unit              build and run every test binary (and every suite in a
#                          subdirectory, see below); fails if any test fails
#   make unit-build        build this directory's test binaries and DTBs, run nothing
#   make unit-test_buddy   build and run one binary (likewise unit-test_dt, ...)
#   make unit-clean        remove build/unit
#
# The sources under test are pure C and build for the host as they are, with
# the system libc headers (not src/include/libc). Everything is built with
# ASan + UBSan and any sanitizer report aborts the test binary.

UNIT_CC ?= gcc
UNIT_BUILD := $(BUILD)/unit
UNIT_DIR := tests/unit
UNIT_DTB_DIR := $(UNIT_BUILD)/dtb
QEMU_AARCH64 ?= $(or $(KEEL_QEMU),qemu-system-aarch64)
DTC ?= dtc

UNIT_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	-Isrc/include -Isrc/arch/aarch64/include -I$(UNIT_DIR)
UNIT_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_LDLIBS := -lcmocka

# Keel's printf would clash with libc's: rename it in both the implementation
# and the test that calls it.
UNIT_PRINTF_DEFS := -Dvsnprintf=keel_vsnprintf -Dsnprintf=keel_snprintf

# test name -> sources it links (the test file itself and fake_arch.c are implied)
UNIT_SRCS_test_buddy := src/core/buddy.c
UNIT_SRCS_test_dt := src/core/dt.c src/core/dt_index.c src/core/early_uart.c src/platform/boards.c src/lib/str_copy.c src/drivers/gic.c \
	$(UNIT_DIR)/fake_gic.c
UNIT_SRCS_test_esr := src/arch/aarch64/esr.c
UNIT_SRCS_test_printf := src/lib/printf.c
UNIT_SRCS_test_pgtable := src/arch/aarch64/pgtable.c
UNIT_SRCS_test_string := src/lib/string.c
UNIT_SRCS_test_sched := src/core/sched_policy.c src/core/timerq.c
UNIT_LIBS_test_dt := -lfdt

UNIT_TESTS := test_buddy test_dt test_esr test_printf test_pgtable test_sched test_string
UNIT_BINS := $(addprefix $(UNIT_BUILD)/,$(UNIT_TESTS))

unit_obj = $(UNIT_BUILD)/obj/$(1:.c=.o)
UNIT_ALL_SRCS := $(UNIT_DIR)/fake_arch.c $(foreach t,$(UNIT_TESTS),$(UNIT_DIR)/$(t).c $(UNIT_SRCS_$(t)))
UNIT_OBJS := $(sort $(foreach s,$(UNIT_ALL_SRCS),$(call unit_obj,$(s))))

$(call unit_obj,src/lib/printf.c) $(call unit_obj,$(UNIT_DIR)/test_printf.c): \
	UNIT_EXTRA_DEFS := $(UNIT_PRINTF_DEFS)
# The same for the string functions: all of them renamed, and no builtins.
UNIT_STRING_DEFS := -fno-builtin $(foreach f,memcpy memmove memset memcmp memchr strlen strnlen \
	strcmp strncmp strchr strrchr strtoul,-D$(f)=keel_$(f))
$(call unit_obj,src/lib/string.c): UNIT_EXTRA_DEFS := $(UNIT_STRING_DEFS)

$(UNIT_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"; $(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_EXTRA_DEFS) $(UNIT_DEFS_$(notdir $*)) \
		-MMD -MP -c $< -o $@

define UNIT_BIN_RULE
$(UNIT_BUILD)/$(1): $(call unit_obj,$(UNIT_DIR)/$(1).c) $(call unit_obj,$(UNIT_DIR)/fake_arch.c) \
		$(foreach s,$(UNIT_SRCS_$(1)),$(call unit_obj,$(s)))
	@echo "  HOSTLD  $$@"; $(UNIT_CC) $(UNIT_LDFLAGS) -o $$@ $$^ $(UNIT_LIBS_$(1)) $(UNIT_LDLIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call UNIT_BIN_RULE,$(t))))

# ---- device trees for test_dt ----
# QEMU virt DTBs: "GIC version:CPUs:memory". Keep in sync with virt_configs[]
# in test_dt.c. GICv2 on virt is limited to 8 CPUs; the 12-CPU one exceeds
# PLAT_MAX_CPUS and has more than 4 GiB of RAM (64-bit size cells).
UNIT_VIRT_CONFIGS := 2:1:256M 2:4:512M 2:8:1G 3:1:256M 3:4:512M 3:8:1G 3:12:5G
unit_cfg = $(word $(2),$(subst :, ,$(1)))
unit_virt_dtb = $(UNIT_DTB_DIR)/virt-gicv$(call unit_cfg,$(1),1)-smp$(call unit_cfg,$(1),2).dtb

define UNIT_VIRT_DTB_RULE
$(call unit_virt_dtb,$(1)): $(UNIT_DIR)/unit.mk
	@mkdir -p $$(dir $$@)
	@echo "  QEMU    $$@"; $(QEMU_AARCH64) \
		-M virt,virtualization=on,gic-version=$(call unit_cfg,$(1),1),dumpdtb=$$@ \
		-cpu max -smp $(call unit_cfg,$(1),2) -m $(call unit_cfg,$(1),3) \
		-nographic -nic none >$$@.log 2>&1 || { cat $$@.log; rm -f $$@; exit 1; }
endef
$(foreach c,$(UNIT_VIRT_CONFIGS),$(eval $(call UNIT_VIRT_DTB_RULE,$(c))))

UNIT_DTS := $(wildcard $(UNIT_DIR)/dts/*.dts)
UNIT_DTBS := $(foreach c,$(UNIT_VIRT_CONFIGS),$(call unit_virt_dtb,$(c))) \
	$(patsubst $(UNIT_DIR)/dts/%.dts,$(UNIT_DTB_DIR)/%.dtb,$(UNIT_DTS))

$(UNIT_DTB_DIR)/%.dtb: $(UNIT_DIR)/dts/%.dts
	@mkdir -p $(dir $@)
	@echo "  DTC     $@"; $(DTC) -Wno-unit_address_vs_reg -I dts -O dtb -o $@ $<

UNIT_DEFS_test_dt := -DUNIT_DTB_DIR=\"$(abspath $(UNIT_DTB_DIR))\"

# ---- running ----
UNIT_ENV := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---- suites in subdirectories ----
# tests/unit/<dir>/<dir>.mk is a suite with a phony target unit-<dir>
# (underscores become dashes) that builds and runs it. Each one found is
# included here and run by "make unit".
#
# Most are one test binary over a few sources, and their .mk only says which:
#   $(eval $(call unit_suite,<dir>,<sources>,<flags>[,<libraries>]))
# compiles each source (a path from the repository's top) with the flags
# below and then <flags> (include paths, warnings) into build/unit/<dir>/,
# links build/unit/<dir>/test_<dir> with cmocka and <libraries>, and runs it
# with UNIT_ENV as unit-<dir>. Everything is rebuilt when the .mk changes.
UNIT_SUITE_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all

define unit_suite
UNIT_OBJS_$(1) := $$(patsubst %.c,$(UNIT_BUILD)/$(1)/%.o,$(2))

$(UNIT_BUILD)/$(1)/%.o: %.c $(UNIT_DIR)/$(1)/$(1).mk
	@mkdir -p $$(dir $$@)
	@echo "  HOSTCC  $$<"; $(UNIT_CC) $(UNIT_SUITE_CFLAGS) $(3) -MMD -MP -c $$< -o $$@

$(UNIT_BUILD)/$(1)/test_$(1): $$(UNIT_OBJS_$(1))
	@echo "  HOSTLD  $$@"; $(UNIT_CC) $(UNIT_LDFLAGS) -o $$@ $$^ $(UNIT_LDLIBS) $(4)

.PHONY: unit-$(subst _,-,$(1))
unit-$(subst _,-,$(1)): $(UNIT_BUILD)/$(1)/test_$(1)
	$(UNIT_ENV) $$<

-include $$(UNIT_OBJS_$(1):.o=.d)
endef

UNIT_SUBMKS := $(foreach f,$(wildcard $(UNIT_DIR)/*/*.mk),\
	$(if $(filter $(notdir $(patsubst %/,%,$(dir $(f)))).mk,$(notdir $(f))),$(f)))
UNIT_SUBTARGETS := $(foreach f,$(UNIT_SUBMKS),unit-$(subst _,-,$(basename $(notdir $(f)))))
include $(UNIT_SUBMKS)

.PHONY: unit unit-build unit-clean $(addprefix unit-,$(UNIT_TESTS))

unit-build: $(UNIT_BINS) $(UNIT_DTBS)

# Runs everything, even after a failure, then fails if anything did.
unit: unit-build
	@fail=""; for t in $(UNIT_BINS); do \
		echo "  RUN     $$t"; \
		$(UNIT_ENV) $$t || fail="$$fail $$(basename $$t)"; \
	done; \
	for s in $(UNIT_SUBTARGETS); do \
		echo "  RUN     $$s"; \
		$(UNIT_ENV) $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) $$s || \
			fail="$$fail $$s"; \
	done; \
	if [ -n "$$fail" ]; then echo "unit tests FAILED:$$fail"; exit 1; fi; \
	echo "unit tests: all $(words $(UNIT_BINS) $(UNIT_SUBTARGETS)) suites passed"

$(addprefix unit-,$(UNIT_TESTS)): unit-%: $(UNIT_BUILD)/% $(UNIT_DTBS)
	$(UNIT_ENV) $<

unit-clean:
	rm -rf $(UNIT_BUILD)

-include $(UNIT_OBJS:.o=.d)

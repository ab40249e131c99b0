# libFuzzer harnesses over Keel's host-buildable units, included by the
# top-level Makefile. See tests/fuzz/README.md.
#
#   make fuzz              run every harness for FUZZ_SECONDS (default 600) each
#   make fuzz-short        every harness for 12 s, two at a time, after the regression inputs (CI)
#   make fuzz-regress      run every committed regression input once
#   make fuzz-<name>       run one harness for FUZZ_SECONDS (fuzz-vgic, fuzz-vgicv2, fuzz-vm-config,
#                          fuzz-riscv-insn, fuzz-virtq, fuzz-virtio-net ...)
#   make fuzz-build        build the harnesses, run nothing
#   make fuzz-clean        remove build/fuzz
#
# Harnesses run one at a time (fuzz-short: two). A crash or a broken invariant fails the target
# and prints the command that reproduces it. Corpora grown during runs stay
# in build/fuzz/corpus/<name>/ (git-ignored); the committed seeds in
# tests/fuzz/<name>/seeds/ are only read. Everything here is prefixed FUZZ_:
# CC and CFLAGS belong to the cross build.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SHORT_SECONDS ?= 12
FUZZ_SHORT_JOBS ?= 2
FUZZ_DIR := tests/fuzz
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer $(FUZZ_SAN) \
	-Isrc/include -Isrc/arch/aarch64/include -I$(FUZZ_DIR)/common
# Coverage feedback comes from Keel's code only: the harnesses' own loops
# over the whole state after every step would otherwise cost most of the
# time in comparison tracing. *_unity.c files include Keel sources.
FUZZ_COV := -fsanitize=fuzzer-no-link
fuzz_cov = $(if $(filter $(FUZZ_DIR)/%,$(1)),$(if $(filter %_unity.c,$(1)),$(FUZZ_COV)),$(FUZZ_COV))
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer

FUZZ_LOG := $(FUZZ_DIR)/common/fuzz_log.c
# Parser and DT generator: the real libfdt-using units, with fakes for
# the allocator, the page tables and the GIC.
FUZZ_CONFIG_SRCS := $(FUZZ_DIR)/vm_config/config_unity.c $(FUZZ_DIR)/common/fake_core.c \
	$(FUZZ_DIR)/common/host_dt.c src/core/passthrough.c src/core/vdev_config.c src/core/hdisk_config.c src/core/dt.c src/core/dt_index.c src/core/guest_dt.c src/arch/aarch64/guest_dt.c \
	src/drivers/gic.c tests/unit/fake_gic.c src/irqchip/vgic_dt.c src/lib/str_copy.c $(FUZZ_LOG)

# harness name -> sources (its own file first)
FUZZ_SRCS_esr := $(FUZZ_DIR)/esr/fuzz_esr.c src/arch/aarch64/esr.c
FUZZ_SRCS_vpl011 := $(FUZZ_DIR)/vpl011/fuzz_vpl011.c src/vdev/vpl011.c
FUZZ_SRCS_vns16550 := $(FUZZ_DIR)/vns16550/fuzz_vns16550.c src/vdev/vns16550.c
FUZZ_SRCS_vplic := $(FUZZ_DIR)/vplic/fuzz_vplic.c src/irqchip/vplic.c
FUZZ_SRCS_smccc := $(FUZZ_DIR)/smccc/fuzz_smccc.c src/arch/aarch64/smccc.c src/core/vm_lifecycle.c $(FUZZ_LOG)
FUZZ_VGIC_COMMON := $(FUZZ_DIR)/vgic/vgic_check.c $(FUZZ_DIR)/vgic/fake_lr.c src/irqchip/vgic.c
FUZZ_SRCS_vgic := $(FUZZ_DIR)/vgic/fuzz_vgic.c $(FUZZ_VGIC_COMMON) src/irqchip/vgicv3.c
FUZZ_SRCS_vgicv2 := $(FUZZ_DIR)/vgicv2/fuzz_vgicv2.c $(FUZZ_VGIC_COMMON) src/irqchip/vgicv2.c
# the vGICv2 harness uses the vgic harness's fake LR half and checks, and vgicv2_add_mmio()
FUZZ_INC_vgicv2 := -I$(FUZZ_DIR)/vgic -Isrc/irqchip
FUZZ_SRCS_vm_config := $(FUZZ_DIR)/vm_config/fuzz_vm_config.c $(FUZZ_CONFIG_SRCS)
FUZZ_SRCS_guest_dt := $(FUZZ_DIR)/guest_dt/fuzz_guest_dt.c $(FUZZ_CONFIG_SRCS)
# RISC-V (HS-mode) load/store decoding; its header is under the riscv64 arch
FUZZ_SRCS_riscv_insn := $(FUZZ_DIR)/riscv_insn/fuzz_riscv_insn.c src/arch/riscv64/insn.c
FUZZ_INC_riscv_insn := -Isrc/arch/riscv64/include
# The virtio harnesses' shared fake VM, hostile steps and transport checks
FUZZ_VIRTIO := $(FUZZ_DIR)/common/fuzz_virtio.c
# virtio-mmio + virtio-blk over split virtqueues, with the unit tests' fake guest
# (fake_guest_fuzz.c includes it, so it is built without coverage like the harness)
FUZZ_SRCS_virtq := $(FUZZ_DIR)/virtq/fuzz_virtq.c $(FUZZ_DIR)/virtq/fake_guest_fuzz.c \
	$(FUZZ_VIRTIO) src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_blk.c
FUZZ_INC_virtq := -Itests/unit/virtio
# virtio-net with the real switch table and port queue, over the same fake guest
FUZZ_SRCS_virtio_net := $(FUZZ_DIR)/virtio_net/fuzz_virtio_net.c $(FUZZ_DIR)/virtq/fake_guest_fuzz.c \
	$(FUZZ_VIRTIO) \
	src/vdev/virtq.c src/vdev/virtio_mmio.c src/vdev/virtio_net.c src/vdev/netq.c src/vdev/vswitch.c
FUZZ_INC_virtio_net := -Itests/unit/virtio
FUZZ_LIBS_vm_config := -lfdt
FUZZ_LIBS_guest_dt := -lfdt

FUZZ_NAMES := esr vpl011 vns16550 vplic smccc vgic vgicv2 vm_config guest_dt riscv_insn virtq \
	virtio_net
FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/bin/fuzz_,$(FUZZ_NAMES))

# Objects per harness: a unit may be built with harness-specific flags.
fuzz_obj = $(FUZZ_BUILD)/obj/$(1)/$(2:.c=.o)

define FUZZ_RULES
$(foreach s,$(FUZZ_SRCS_$(1)),$(eval $(call FUZZ_OBJ_RULE,$(1),$(s))))
$(FUZZ_BUILD)/bin/fuzz_$(1): $(foreach s,$(FUZZ_SRCS_$(1)),$(call fuzz_obj,$(1),$(s)))
	@mkdir -p $$(dir $$@)
	@echo "  FUZZLD  $$@"; $(FUZZ_CC) $(FUZZ_LDFLAGS) -o $$@ $$^ $(FUZZ_LIBS_$(1))
endef

define FUZZ_OBJ_RULE
$(call fuzz_obj,$(1),$(2)): $(2) $(FUZZ_DIR)/fuzz.mk
	@mkdir -p $$(dir $$@)
	@echo "  FUZZCC  $$<"; $(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC_$(1)) $(call fuzz_cov,$(2)) -MMD -MP -c $$< -o $$@
endef

$(foreach h,$(FUZZ_NAMES),$(eval $(call FUZZ_RULES,$(h))))

FUZZ_RUN := bash $(FUZZ_DIR)/run.sh

.PHONY: fuzz fuzz-short fuzz-regress fuzz-build fuzz-clean $(addprefix fuzz-,$(subst _,-,$(FUZZ_NAMES)))

fuzz-build: $(FUZZ_BINS)

# One at a time, each for FUZZ_SECONDS; all of them run even after a failure.
fuzz: fuzz-build
	@fail=""; for h in $(FUZZ_NAMES); do \
		$(FUZZ_RUN) fuzz $(FUZZ_BUILD) $$h $(FUZZ_SECONDS) || fail="$$fail $$h"; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: FAILED:$$fail"; exit 1; fi

# Two at a time (FUZZ_SHORT_JOBS, this machine's cores): each harness is one
# process, and its log is its own file, so only the summaries interleave.
fuzz-short: fuzz-regress
	@printf '%s\n' $(FUZZ_NAMES) | xargs -P $(FUZZ_SHORT_JOBS) -I{} \
		$(FUZZ_RUN) fuzz $(FUZZ_BUILD) {} $(FUZZ_SHORT_SECONDS) || { echo "fuzz-short: FAILED"; exit 1; }

fuzz-regress: fuzz-build
	@fail=""; for h in $(FUZZ_NAMES); do \
		$(FUZZ_RUN) regress $(FUZZ_BUILD) $$h || fail="$$fail $$h"; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz-regress: FAILED:$$fail"; exit 1; fi

$(addprefix fuzz-,$(subst _,-,$(FUZZ_NAMES))): fuzz-%: fuzz-build
	$(FUZZ_RUN) fuzz $(FUZZ_BUILD) $(subst -,_,$*) $(FUZZ_SECONDS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(foreach h,$(FUZZ_NAMES),$(foreach s,$(FUZZ_SRCS_$(h)),$(call fuzz_obj,$(h),$(s:.c=.d))))

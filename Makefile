# Keel: build, run and test.
#   make            build/keel.bin (arm64 Image) and build/keel.elf
#   make run        boot Keel and the demo VMs in QEMU
#   make test       host unit tests + short fuzzing runs + QEMU system tests
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS (600) each (tests/fuzz)
#   make bench      benchmarks
#   make soak       an hour of the hostile guest beside Linux, full-size lifecycle stress
#   make CC=clang   build with clang + lld

# Every architecture builds from the same core; src/arch/$(ARCH)/arch.mk says
# what differs (compiler, link address, its interrupt controllers and
# drivers). `make` builds all of ALL_ARCHES: aarch64 into build/ (where the
# tools and tests have always looked), the others into build/<arch>/.
ARCH ?= aarch64
.DEFAULT_GOAL := all
ALL_ARCHES ?= aarch64 riscv64 riscv64m
BUILD := $(if $(filter aarch64,$(ARCH)),build,build/$(ARCH))
include src/arch/$(ARCH)/arch.mk

ifeq ($(origin CC),default)
CC := $(CROSS)gcc
endif
ifneq ($(findstring clang,$(CC)),)
TARGET_FLAGS := --target=$(CLANG_TARGET) $(ARCH_CLANG_FLAGS)
LD_FLAGS_CC := -fuse-ld=lld
NM := llvm-nm
OBJCOPY := llvm-objcopy
NOLOOPDIST :=
else
TARGET_FLAGS := $(ARCH_GCC_FLAGS)
NM := $(CROSS)nm
OBJCOPY := $(CROSS)objcopy
NOLOOPDIST := -fno-tree-loop-distribute-patterns
LD_FLAGS_CC := -Wl,--no-warn-rwx-segments
endif

GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Freestanding: Keel's own libc headers, the compiler's (stdint, stdarg ...), and
# /usr/include last for libfdt.h only.
ifneq ($(findstring clang,$(CC)),)
CC_INCLUDE := $(shell $(CC) -print-resource-dir)/include
else
CC_INCLUDE := $(shell $(CC) -print-file-name=include)
endif
INCLUDES := -nostdinc -Isrc/include/libc -isystem $(CC_INCLUDE) -Isrc/include \
	-Isrc/arch/$(ARCH)/include -idirafter /usr/include
DEFINES := -DKEEL_LINK_ADDR=$(KEEL_LINK_ADDR) -DKEEL_GIT=\"$(GIT_REV)\"
CFLAGS := $(TARGET_FLAGS) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-ffreestanding -fno-builtin -fno-common -fno-pic -fno-pie -fno-stack-protector \
	-fno-omit-frame-pointer $(ARCH_CFLAGS) \
	-fno-asynchronous-unwind-tables $(INCLUDES) $(DEFINES)
ASFLAGS := $(TARGET_FLAGS) $(ARCH_ASFLAGS) -g $(INCLUDES) $(DEFINES)
# A static PIE: the code is PC-relative already (small code model: adrp/add),
# so the only absolute addresses are pointers in data; the linker lists each
# as an R_AARCH64_RELATIVE relocation, which boot.S applies. -z notext: some of
# those pointers are in read-only data (const tables of function pointers);
# they are written before the MMU gives the image its permissions.
LDFLAGS := $(TARGET_FLAGS) $(LD_FLAGS_CC) -nostdlib -static-pie -Wl,--no-dynamic-linker \
	-Wl,-z,notext -Wl,--build-id=none -Wl,-T,src/arch/$(ARCH)/keel.ld \
	-Wl,--defsym=KEEL_LINK_ADDR=$(KEEL_LINK_ADDR)

SRCS := $(wildcard src/arch/$(ARCH)/*.c src/arch/$(ARCH)/*.S src/core/*.c src/vdev/*.c src/lib/*.c \
	src/platform/*.c) $(ARCH_SRCS)
OBJS := $(patsubst src/%,$(BUILD)/obj/%.o,$(SRCS)) $(ARCH_OBJS)
DEPS := $(OBJS:.o=.d)

.PHONY: all keel run test unit systest soak mmode-long bench deps guests testguests idprobe clean FORCE
all: $(addprefix all-,$(ALL_ARCHES))
keel all-$(ARCH): $(LIBFDT) $(BUILD)/keel.bin
	@:
all-%:
	$(MAKE) ARCH=$* keel

$(LIBFDT):
	@bash scripts/deps.sh

$(BUILD)/obj/lib/string.c.o: CFLAGS += $(NOLOOPDIST)

$(BUILD)/obj/%.c.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.S.o: src/%.S
	@mkdir -p $(dir $@)
	@echo "  AS  $<"; $(CC) $(ASFLAGS) -MMD -MP -c $< -o $@

# Two-pass link: the first image has an empty symbol table; the second embeds
# the symbols of the first. .ksyms follows .text, so no function moves.
$(BUILD)/ksyms0.S:
	@mkdir -p $(BUILD)
	python3 scripts/gensyms.py > $@

$(BUILD)/%.o: $(BUILD)/%.S
	$(CC) $(ASFLAGS) -c $< -o $@

$(BUILD)/keel.stage1.elf: $(OBJS) $(BUILD)/ksyms0.o src/arch/$(ARCH)/keel.ld
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(BUILD)/ksyms0.o $(LIBFDT) $(ARCH_LDLIBS)

$(BUILD)/ksyms.S: $(BUILD)/keel.stage1.elf scripts/gensyms.py
	$(NM) -n $< > $(BUILD)/keel.stage1.nm
	python3 scripts/gensyms.py $(BUILD)/keel.stage1.nm > $@

$(BUILD)/keel.elf: $(OBJS) $(BUILD)/ksyms.o scripts/check-relocs.py
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(BUILD)/ksyms.o $(LIBFDT) $(ARCH_LDLIBS)
	@$(NM) -n $@ | grep -i ' t ' > $(BUILD)/keel.nm
	@grep -i ' t ' $(BUILD)/keel.stage1.nm | cmp -s - $(BUILD)/keel.nm || \
		{ echo "error: functions moved between the two links"; exit 1; }
	@python3 scripts/check-relocs.py $(ARCH) $@ || { rm -f $@; exit 1; }

$(BUILD)/keel.bin: $(BUILD)/keel.elf
	$(OBJCOPY) -O binary $< $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

deps:
	@bash scripts/deps.sh

guests:
	@bash scripts/fetch-guests.sh --arch all

# Bare-metal test and demo guests (tests/guests) -> build/guests/*.elf, the
# RISC-V ones (tests/guests/riscv64, and the RISC-V bench guest) ->
# build/guests/riscv64/*.elf, and the M-mode ones for Keel in M-mode
# (tests/guests/riscv64m) -> build/guests/riscv64m/*.elf
RV_BENCH_GUEST := GUEST_DIRS=bench/guest-riscv64
testguests: $(LIBFDT)
	$(MAKE) -C tests/guests $(if $(filter aarch64,$(ARCH)),CC="$(CC)") GUEST_DIRS="tests/guests/demo bench/guest tests/guests/hostile tests/guests/hvc tests/guests/ramzero tests/guests/sched"
	$(MAKE) -C tests/guests/riscv64 $(RV_BENCH_GUEST)
	$(MAKE) -C tests/guests/riscv64m

# The ID registers of the CPU QEMU emulates, read at EL2 (tools/idprobe/run
# prints them; docs/cpu-features.md is built from its output).
idprobe: $(BUILD)/idprobe.elf

$(BUILD)/idprobe.elf: tools/idprobe/idprobe.c tools/idprobe/idprobe.ld
	@mkdir -p $(BUILD)
	$(CC) $(TARGET_FLAGS) $(LD_FLAGS_CC) -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib -static \
		-mgeneral-regs-only -march=armv8-a -fno-pic -Wl,--build-id=none \
		-Wl,-T,tools/idprobe/idprobe.ld -o $@ tools/idprobe/idprobe.c

# The demo: Debian Linux (2 vCPUs) next to the bare-metal demo guest, sharing
# a memory region with a doorbell. Override RUN_ARGS to run something else.
GUEST_DIR := .cache/guests
RUN_ARGS ?= --smp 4 --shmem name=ring,size=64K \
	--vm 'name=linux,cpus=2,mem=512M,kernel=$(GUEST_DIR)/Image,initrd=$(GUEST_DIR)/initramfs.cpio.gz,shmem=ring,bootargs=console=ttyAMA0' \
	--vm 'name=demo,cpus=1,mem=64M,kernel=build/guests/demo.elf,shmem=ring'

# make run ARCH=riscv64: two Debian riscv64 Linux VMs (2 and 1 vCPUs) sharing
# a memory region, Keel in HS-mode under OpenSBI.
RV_GUEST_DIR := .cache/guests/riscv64
RUN_ARGS_riscv64 ?= --arch riscv64 --smp 4 --shmem name=ring,size=64K \
	--vm 'name=linux,cpus=2,mem=512M,kernel=$(RV_GUEST_DIR)/Image,initrd=$(RV_GUEST_DIR)/initramfs.cpio.gz,shmem=ring,bootargs=console=ttyS0' \
	--vm 'name=linux2,cpus=1,mem=256M,kernel=$(RV_GUEST_DIR)/Image,initrd=$(RV_GUEST_DIR)/initramfs.cpio.gz,shmem=ring,bootargs=console=ttyS0'

run: deps all guests testguests
	tools/keel-run $(if $(filter riscv64,$(ARCH)),$(RUN_ARGS_riscv64),$(RUN_ARGS))

# ---- tests ----
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk

systest: all
	/usr/bin/python3 -m pytest -v --durations=30 tests/system

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-short
	$(MAKE) guests
	$(MAKE) systest

# Not part of `make test`: Keel in M-mode's long runs, xv6's usertests (a
# subset, and the whole -q) and OpenSBI + Debian's Linux as one guest
# (tens of minutes).
mmode-long: deps
	$(MAKE) all
	$(MAKE) guests
	KEEL_MMODE_LONG=1 /usr/bin/python3 -m pytest -v tests/system/test_riscv_mmode.py \
		-k "usertests or opensbi"

# Not part of `make test`: the hostile guest beside Linux for SOAK_SECONDS, the
# CPU_ON/SYSTEM_RESET race for SOAK_RACE_RESETS restarts, and 1,000 restarts
# of one VM and of two VMs at once (tests/system/test_hostile.py).
SOAK_SECONDS ?= 3600
SOAK_RACE_RESETS ?= 5000
SOAK_RESTARTS ?= 1000
soak: deps
	$(MAKE) all
	$(MAKE) guests
	KEEL_HOSTILE_SECONDS=$(SOAK_SECONDS) KEEL_HOSTILE_CHECK_EVERY=60 \
	KEEL_RACE_RESETS=$(SOAK_RACE_RESETS) KEEL_LIFECYCLE_RESTARTS=$(SOAK_RESTARTS) \
	KEEL_LIFECYCLE_CONCURRENT_RESTARTS=$(SOAK_RESTARTS) \
		/usr/bin/python3 -m pytest -v tests/system/test_hostile.py

# bench/run.py runs the micro-benchmarks and the scheduler's only if their
# guests are built: build them here (seconds; they need nothing `all` does not).
bench: deps all guests
	$(MAKE) -C tests/guests $(if $(filter aarch64,$(ARCH)),CC="$(CC)") GUEST_DIRS=bench/guest bench schedbench
	$(MAKE) -C tests/guests/riscv64 $(RV_BENCH_GUEST) bench
	/usr/bin/python3 bench/run.py
	/usr/bin/python3 bench/mmode.py

clean:
	rm -rf $(BUILD)

-include $(DEPS)
